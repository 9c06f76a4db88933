// ConfigHash: stable under formatting, comments, key order and application sections; changes
// with every infrastructure value.
#include <regex>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "nic/config.h"
#include "tests/config/config_test_util.h"

namespace nic {
namespace {

using testing::DumpDiagnostics;
using testing::Parse;

const char* kBase = R"(project_name: demo
namespace: dev
provider: aws
nebari_version: 2025.10.1
amazon_web_services:
  region: us-west-2
  kubernetes_version: '1.29'
  availability_zones: [us-west-2a, us-west-2b]
  node_groups:
    general:
      instance: m5.xlarge
      min_nodes: 1
      max_nodes: 2
    user:
      instance: m5.large
      min_nodes: 0
      max_nodes: 5
      taints: [dedicated=nebari:NoSchedule]
storage:
  type: efs
terraform_state:
  type: remote
security:
  authentication: {type: password}
)";

std::string HashOf(const std::string& yaml) {
  auto r = Parse(yaml);
  EXPECT_TRUE(r.ok()) << DumpDiagnostics(r) << yaml;
  return r.ok() ? ConfigHash(*r.config) : "";
}

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  size_t pos = s.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  if (pos != std::string::npos) s.replace(pos, from.size(), to);
  return s;
}

TEST(ConfigHash, Format) {
  std::string h = HashOf(kBase);
  EXPECT_TRUE(std::regex_match(h, std::regex("sha256:[0-9a-f]{64}"))) << h;
  EXPECT_EQ(h, HashOf(kBase));
}

TEST(ConfigHash, StableUnderFormattingCommentsOrderAndAppSections) {
  const std::string base = HashOf(kBase);
  // Reordered keys, comments, flow style, different quoting and blank lines.
  const std::string reordered = R"(# production cluster
security: {authentication: {type: password}}
terraform_state: {type: remote}
storage: {type: "efs"}
amazon_web_services:
  node_groups:
    user: {max_nodes: 5, min_nodes: 0, instance: "m5.large", taints: ["dedicated=nebari:NoSchedule"]}

    general:   # the default pool
      max_nodes: 2
      instance: m5.xlarge
      min_nodes: 1
  availability_zones:
    - us-west-2a
    - us-west-2b
  kubernetes_version: "1.29"
  region: 'us-west-2'
provider: aws
nebari_version: 2025.10.1
namespace: dev
project_name: "demo"
)";
  EXPECT_EQ(HashOf(reordered), base);
  // Application sections and nebari_version do not describe infrastructure.
  EXPECT_EQ(HashOf(Replace(kBase, "type: password", "type: GitHub")), base);
  EXPECT_EQ(HashOf(std::string(kBase) + "theme: {jupyterhub: {hub_title: Hi}}\n"), base);
  EXPECT_EQ(HashOf(Replace(kBase, "2025.10.1", "2025.2.1")), base);
  // Writing Nebari's defaults out explicitly is the same model as leaving them implicit.
  EXPECT_EQ(HashOf(Replace(kBase, "  region: us-west-2\n",
                           "  region: us-west-2\n  vpc_cidr_block: 10.10.0.0/16\n  eks_endpoint_access: public\n")),
            base);
  EXPECT_EQ(HashOf(Replace(kBase, "storage:\n  type: efs\n", "")), base);
  // The design document's aliases name the same fields.
  EXPECT_EQ(HashOf(Replace(kBase, "instance: m5.large", "instance_type: m5.large")), base);
}

TEST(ConfigHash, ChangesWithEveryInfrastructureValue) {
  const std::string base = HashOf(kBase);
  const std::vector<std::pair<std::string, std::string>> edits = {
      {"project_name: demo", "project_name: demo2"},
      {"namespace: dev", "namespace: prod"},
      {"region: us-west-2\n  kubernetes_version: '1.29'\n  availability_zones: [us-west-2a, us-west-2b]",
       "region: us-east-1\n  kubernetes_version: '1.29'\n  availability_zones: [us-east-1a, us-east-1b]"},
      {"us-west-2a, us-west-2b", "us-west-2a, us-west-2c"},
      {"'1.29'", "'1.30'"},
      {"instance: m5.xlarge", "instance: m5.2xlarge"},
      {"min_nodes: 1", "min_nodes: 2"},
      {"max_nodes: 2", "max_nodes: 3"},
      {"max_nodes: 5", "max_nodes: 5\n      spot: true"},
      {"max_nodes: 5", "max_nodes: 5\n      gpu: true"},
      {"max_nodes: 5", "max_nodes: 5\n      disk_size: 200"},
      {"max_nodes: 5", "max_nodes: 5\n      labels: {a: b}"},
      {"taints: [dedicated=nebari:NoSchedule]", "taints: []"},
      {"dedicated=nebari:NoSchedule", "dedicated=nebari:NoExecute"},
      {"    user:", "    users:"},
      {"storage:\n  type: efs", "storage:\n  type: nfs"},
      {"type: remote", "type: local"},
      {"  region: us-west-2\n", "  region: us-west-2\n  vpc_cidr_block: 10.20.0.0/16\n"},
      {"  region: us-west-2\n", "  region: us-west-2\n  tags: {team: data}\n"},
      {"  region: us-west-2\n", "  region: us-west-2\n  eks_endpoint_access: private\n"},
  };
  std::vector<std::string> seen = {base};
  for (const auto& [from, to] : edits) {
    std::string h = HashOf(Replace(kBase, from, to));
    EXPECT_NE(h, base) << from << " -> " << to;
    for (const auto& other : seen) {
      EXPECT_NE(h, other) << from << " -> " << to;
    }
    seen.push_back(h);
  }
}

TEST(ConfigHash, CanonicalModelLeavesOutNonInfrastructure) {
  auto r = Parse(kBase);
  ASSERT_TRUE(r.ok());
  nlohmann::json m = CanonicalConfigModel(*r.config);
  EXPECT_FALSE(m.contains("nebari_version"));
  EXPECT_FALSE(m.contains("application_sections"));
  EXPECT_EQ(m["node_groups"][0]["name"], "general");
  EXPECT_EQ(m["node_groups"][1]["taints"][0]["effect"], "NoSchedule");
  EXPECT_EQ(m["provider_settings"]["vpc_cidr_block"], "10.10.0.0/16");
}

}  // namespace
}  // namespace nic

namespace nic {
namespace {

// The model is printed by `nic validate --format json` and stored: no credentials in clear, but
// a changed credential still changes the hash.
TEST(ConfigHash, SecretsAreDigestedNotCopied) {
  const std::string yaml = R"(project_name: demo
terraform_state: {type: existing, backend: s3, config: {bucket: b, secret_key: hunter2}}
external_container_reg: {enabled: true, access_key_id: AKIA, secret_access_key: s3cr3t, extcr_account: '1', extcr_region: us-east-1}
)";
  auto r = testing::Parse(yaml);
  ASSERT_TRUE(r.ok()) << testing::DumpDiagnostics(r);
  std::string dump = CanonicalConfigModel(*r.config).dump();
  EXPECT_EQ(dump.find("hunter2"), std::string::npos);
  EXPECT_EQ(dump.find("s3cr3t"), std::string::npos);
  EXPECT_NE(dump.find("\"bucket\":\"b\""), std::string::npos);
  std::string changed = yaml;
  changed.replace(changed.find("s3cr3t"), 6, "other!");
  auto r2 = testing::Parse(changed);
  ASSERT_TRUE(r2.ok());
  EXPECT_NE(ConfigHash(*r.config), ConfigHash(*r2.config));
}

}  // namespace
}  // namespace nic

namespace nic {
namespace {

// ConfigHash hashes CanonicalConfigText, which streams the node groups instead of building the
// model: it must be byte for byte the model's dump(), for every kind of group content
// (escapes, non-ASCII, taints, labels, provider extras, disk sizes, no groups at all).
TEST(ConfigHash, StreamedTextIsTheModelsDump) {
  const std::vector<std::string> configs = {
      kBase,
      R"(project_name: demo
provider: aws
amazon_web_services:
  region: us-west-2
  kubernetes_version: '1.29'
  node_groups:
    general: {instance: m5.xlarge, disk_size: 200, gpu: true, spot: true, single_subnet: true,
              permissions_boundary: 'arn:aws:iam::1:policy/b'}
    user:
      instance: "m5 \"quoted\"\tx\\y"
      labels: {b: "2", a: "Nébari ✓", "k\u0001": "\u007f"}
      taints: [{key: example.com/gpu, value: null, effect: NoExecute}, 'a=b:NoSchedule']
)",
      R"(project_name: demo
provider: gcp
google_cloud_platform:
  region: us-central1
  project: my-project-1
  kubernetes_version: '1.29'
  node_groups:
    gpu: {instance: n1-standard-4, preemptible: true, guest_accelerators: [{name: nvidia-tesla-t4, count: 2}]}
    general: {instance: e2-standard-8, taints: []}
)",
      "project_name: demo\nprovider: local\n",
      "project_name: demo\nprovider: azure\nazure: {region: Central US, storage_account_postfix: abcd}\n",
  };
  for (const auto& yaml : configs) {
    auto r = testing::Parse(yaml);
    ASSERT_TRUE(r.ok()) << testing::DumpDiagnostics(r) << yaml;
    EXPECT_EQ(CanonicalConfigText(*r.config), CanonicalConfigModel(*r.config).dump()) << yaml;
  }
}

}  // namespace
}  // namespace nic

// The state document: round trip, the design's example, migration, and errors that name the
// JSON path of the bad field.
#include <gtest/gtest.h>

#include <regex>

#include "nic/env.h"
#include "nic/state.h"
#include "nic/version.h"
#include "tests/support/test_util.h"

namespace nic {
namespace {

using json = nlohmann::json;

// The §14.2 example, read from the design document in ../shared at test time.
std::string DesignExample() {
  std::string doc = testing::ReadFileOrDie(testing::SharedDir() + "/seeds/nic-design-document.md");
  auto sec = doc.find("### 14.2 State File Example");
  EXPECT_NE(sec, std::string::npos);
  auto start = doc.find("```json", sec);
  auto end = doc.find("```", start + 7);
  return doc.substr(start + 7, end - start - 7);
}

StateDocument SampleDoc() {
  StateDocument d = StateDocument::NewEmpty("aws", "demo", "us-west-2", Env::Default()->NowMicros());
  d.cloud["vpc"] = {{"id", "vpc-1"}, {"cidr", "10.10.0.0/16"},
                    {"subnets", json::array({{{"id", "subnet-a"}, {"cidr", "10.10.0.0/20"}, {"availability_zone", "us-west-2a"}}})}};
  d.cloud["node_groups"] = json::array({{{"name", "general"}, {"instance_types", {"m5.xlarge"}},
                                         {"scaling_config", {{"min_size", 1}, {"max_size", 5}, {"desired_size", 1}}}}});
  d.kubernetes["namespaces"] = json::array({{{"name", "dev"}}});
  d.kubernetes["storage_classes"] = json::array({{{"name", "ebs.csi.gp3"}, {"provisioner", "ebs.csi.aws.com"}}});
  d.kubernetes["service_accounts"] = json::array({{{"name", "default"}, {"namespace", "dev"}}});
  return d;
}

TEST(StateDocument, RoundTripIsExact) {
  StateDocument d = SampleDoc();
  d.serial = 7;
  std::string bytes = SerializeStateDocument(d);
  auto parsed = ParseStateDocument(bytes, "mem");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->serial, 7u);
  EXPECT_EQ(parsed->lineage, d.lineage);
  EXPECT_EQ(parsed->cloud, d.cloud);
  EXPECT_EQ(SerializeStateDocument(parsed.value()), bytes);
  EXPECT_NE(bytes.find("\"checksum\": \"sha256:"), std::string::npos);
  EXPECT_NE(bytes.find("\"format_version\": \"1\""), std::string::npos);
}

TEST(StateDocument, ReadsTheDesignExampleAndAddressesEveryResource) {
  ParseNotes notes;
  auto parsed = ParseStateDocument(DesignExample(), "design §14.2", &notes);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->provider, "aws");
  EXPECT_EQ(parsed->metadata.deploy_count, 5);
  // It predates lineage: one is assigned, and the reader says so.
  EXPECT_EQ(parsed->lineage.size(), 36u);
  ASSERT_FALSE(notes.messages.empty());
  std::set<std::string> addrs;
  for (const auto& r : ListResources(parsed.value())) addrs.insert(r.address);
  for (const char* a : {"cloud.vpc", "cloud.vpc.subnets.subnet-0a1b2c3d", "cloud.cluster", "cloud.node_groups.general",
                        "cloud.node_groups.user", "cloud.storage", "cloud.storage.volumes.vol-0a1b2c3d4e5f6g7h8",
                        "cloud.security_groups.my-nebari-node-sg", "cloud.iam_roles.my-nebari-cluster-role",
                        "kubernetes.namespaces.monitoring", "kubernetes.service_accounts.dev/default",
                        "kubernetes.storage_classes.gp3", "kubernetes.roles.dev/admin", "kubernetes.cluster_roles.cluster-admin"}) {
    EXPECT_TRUE(addrs.count(a)) << "missing address " << a;
  }
  // Arrays of plain values or keyless objects are attributes, not resources.
  for (const auto& a : addrs) {
    EXPECT_EQ(a.find("instance_types"), std::string::npos) << a;
    EXPECT_EQ(a.find("rules"), std::string::npos) << a;
  }
  // vpc + 4 subnets + cluster + 2 node groups + storage + volume + 2 SGs + 2 roles + 3 namespaces
  // + 2 service accounts + storage class + role + cluster role
  EXPECT_EQ(addrs.size(), 22u);
  const json* general = FindResource(parsed.value(), "cloud.node_groups.general");
  ASSERT_NE(general, nullptr);
  EXPECT_EQ((*general)["scaling_config"]["max_size"], 5);
}

TEST(StateDocument, MigratesFormatZeroAndSaysSo) {
  json v0 = {{"version", "0.9.0"}, {"format_version", "0"}, {"provider", "aws"}, {"project_name", "p"},
             {"region", "us-west-2"},
             {"cloud",
              {{"vpc", {{"id", "vpc-1"}, {"subnets", json::array({{{"id", "s-1"}, {"az", "us-west-2a"}}})}}},
               {"node_groups", json::array({{{"name", "general"}, {"instance_type", "m5.xlarge"}, {"min_size", 1}, {"max_size", 5},
                                             {"desired_size", 2}}})}}},
             {"kubernetes", json::object()},
             {"metadata", {{"created_at", "2025-01-27T10:00:00Z"}}}};
  ParseNotes notes;
  auto parsed = ParseStateDocument(v0.dump(), "old.json", &notes);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(notes.migrated_from_format, 0);
  ASSERT_FALSE(notes.messages.empty());
  EXPECT_NE(notes.messages[0].find("format 0 -> 1"), std::string::npos);
  const json* g = FindResource(parsed.value(), "cloud.node_groups.general");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ((*g)["instance_types"], json::array({"m5.xlarge"}));
  EXPECT_EQ((*g)["scaling_config"]["desired_size"], 2);
  EXPECT_FALSE(g->contains("min_size"));
  EXPECT_EQ((*FindResource(parsed.value(), "cloud.vpc.subnets.s-1"))["availability_zone"], "us-west-2a");
  EXPECT_EQ(parsed->format_version, kStateFormatVersion);
}

TEST(StateDocument, RefusesNewerFormatNamingBothVersions) {
  json j = json::parse(SerializeStateDocument(SampleDoc()));
  j["format_version"] = "7";
  j.erase("checksum");
  auto parsed = ParseStateDocument(j.dump(), "future.json");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().code(), ErrorCode::kInvalidState);
  EXPECT_NE(parsed.status().message().find("format_version 7"), std::string::npos) << parsed.status().message();
  EXPECT_NE(parsed.status().message().find("format 1"), std::string::npos) << parsed.status().message();
  EXPECT_EQ(parsed.status().exit_code(), 6);
}

struct BadCase {
  const char* name;
  std::function<void(json&)> mutate;
  const char* path;
  const char* words;
};

TEST(StateDocument, ErrorsNameTheJsonPath) {
  std::vector<BadCase> cases = {
      {"string size", [](json& j) { j["cloud"]["node_groups"][0]["scaling_config"]["min_size"] = "1"; },
       "$.cloud.node_groups[0].scaling_config.min_size", "expected an integer, found string"},
      {"min>max", [](json& j) { j["cloud"]["node_groups"][0]["scaling_config"]["min_size"] = 9; },
       "$.cloud.node_groups[0].scaling_config", "greater than max_size"},
      {"dup", [](json& j) { j["cloud"]["node_groups"].push_back(j["cloud"]["node_groups"][0]); },
       "$.cloud.node_groups[1]", "duplicate resource \"general\""},
      {"provider", [](json& j) { j["provider"] = "digital_ocean"; }, "$.provider", "expected one of"},
      {"serial", [](json& j) { j["serial"] = -3; }, "$.serial", "non-negative integer"},
      {"unknown", [](json& j) { j["extra"] = 1; }, "$.extra", "unknown top-level field"},
      {"label", [](json& j) { j["kubernetes"]["namespaces"][0]["labels"] = {{"a", 1}}; },
       "$.kubernetes.namespaces[0].labels.a", "expected a string"},
      {"time", [](json& j) { j["metadata"]["updated_at"] = "yesterday"; }, "$.metadata.updated_at", "RFC 3339"},
      {"keyless", [](json& j) { j["cloud"]["node_groups"].push_back({{"size", 3}}); }, "$.cloud.node_groups[1]",
       "needs a string \"name\" or \"id\""},
  };
  for (const auto& c : cases) {
    json j = json::parse(SerializeStateDocument(SampleDoc()));
    j.erase("checksum");
    c.mutate(j);
    auto parsed = ParseStateDocument(j.dump(), "bad.json");
    ASSERT_FALSE(parsed.ok()) << c.name;
    const std::string& m = parsed.status().message();
    EXPECT_EQ(parsed.status().code(), ErrorCode::kInvalidState) << c.name;
    EXPECT_EQ(m.rfind("bad.json: ", 0), 0u) << c.name << ": " << m;
    EXPECT_NE(m.find(std::string(c.path) + ":"), std::string::npos) << c.name << ": " << m;
    EXPECT_NE(m.find(c.words), std::string::npos) << c.name << ": " << m;
  }
}

TEST(StateDocument, TruncatedJsonSaysWhere) {
  std::string bytes = SerializeStateDocument(SampleDoc());
  auto parsed = ParseStateDocument(bytes.substr(0, bytes.size() / 2), "cut.json");
  ASSERT_FALSE(parsed.ok());
  EXPECT_TRUE(std::regex_search(parsed.status().message(), std::regex("cut.json: not valid JSON at line [0-9]+, column [0-9]+")))
      << parsed.status().message();
}

TEST(StateDocument, ChecksumDetectsOutsideEditsAndAcceptsVouchedOnes) {
  std::string bytes = SerializeStateDocument(SampleDoc());
  std::string edited = std::regex_replace(bytes, std::regex("\"max_size\": 5"), "\"max_size\": 50");
  ASSERT_NE(edited, bytes);
  auto parsed = ParseStateDocument(edited, "edited.json");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.status().message().find("$.checksum: checksum mismatch"), std::string::npos);
  // Deleting the checksum is how a person vouches for an intended edit.
  std::string vouched = std::regex_replace(edited, std::regex(",\n  \"checksum\": \"sha256:[0-9a-f]+\""), "");
  auto ok = ParseStateDocument(vouched, "vouched.json");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ((*FindResource(ok.value(), "cloud.node_groups.general"))["scaling_config"]["max_size"], 50);
}

// The read path checks the checksum on the file's own bytes when they are what NIC wrote, and
// on the canonical form otherwise; both must agree on what is intact and what is edited. The
// sections must come out with nlohmann's own value types (json::parse is the reference).
TEST(StateDocument, ChecksumHoldsWhetherOrNotTheLayoutIsNics) {
  StateDocument d = SampleDoc();
  d.cloud["numbers"] = {{"neg", -3}, {"pos", 3}, {"zero", 0}, {"float", 2.5}, {"exp", 1e21}};
  std::string bytes = SerializeStateDocument(d);
  auto fast = ParseStateDocument(bytes, "nic.json");
  ASSERT_TRUE(fast.ok()) << fast.status().ToString();
  json ref = json::parse(bytes);
  EXPECT_EQ(fast->cloud["numbers"]["pos"].type(), ref["cloud"]["numbers"]["pos"].type());
  EXPECT_EQ(fast->cloud["numbers"]["neg"].type(), ref["cloud"]["numbers"]["neg"].type());
  EXPECT_EQ(fast->cloud["numbers"]["exp"].type(), ref["cloud"]["numbers"]["exp"].type());
  EXPECT_EQ(fast->cloud.dump(), ref["cloud"].dump());
  EXPECT_EQ(SerializeStateDocument(*fast), bytes);

  // Same content, another layout (4-space indent, keys in the same order): the long check.
  std::string reformatted = nlohmann::ordered_json::parse(bytes).dump(4) + "\n";
  ASSERT_NE(reformatted, bytes);
  auto slow = ParseStateDocument(reformatted, "reformatted.json");
  ASSERT_TRUE(slow.ok()) << slow.status().ToString();
  EXPECT_EQ(slow->cloud, fast->cloud);

  // An edit in either layout is refused.
  for (const std::string& text : {bytes, reformatted}) {
    std::string edited = std::regex_replace(text, std::regex("\"pos\": 3"), "\"pos\": 4");
    ASSERT_NE(edited, text);
    auto parsed = ParseStateDocument(edited, "edited.json");
    ASSERT_FALSE(parsed.ok());
    EXPECT_NE(parsed.status().message().find("$.checksum: checksum mismatch"), std::string::npos);
  }
  // A stored checksum that does not belong to the bytes is refused too.
  std::string wrong = std::regex_replace(bytes, std::regex("sha256:[0-9a-f]{8}"), "sha256:00000000");
  ASSERT_FALSE(ParseStateDocument(wrong, "wrong.json").ok());
}

TEST(StateDocument, PutFindRemoveByAddress) {
  StateDocument d = SampleDoc();
  ASSERT_NE(FindResource(d, "kubernetes.storage_classes.ebs.csi.gp3"), nullptr);  // keys may contain dots
  ASSERT_NE(FindResource(d, "kubernetes.service_accounts.dev/default"), nullptr);
  EXPECT_EQ(FindResource(d, "cloud.node_groups.gpu"), nullptr);
  ASSERT_TRUE(PutResource(d, "cloud.node_groups.gpu", {{"name", "gpu"}, {"instance_types", {"g4dn.xlarge"}}}).ok());
  ASSERT_TRUE(PutResource(d, "kubernetes.priority_classes.nebari.high", {{"name", "nebari.high"}}).ok());
  ASSERT_TRUE(PutResource(d, "cloud.cluster", {{"name", "demo"}, {"version", "1.29"}}).ok());
  EXPECT_EQ((*FindResource(d, "cloud.cluster"))["version"], "1.29");
  EXPECT_NE(FindResource(d, "kubernetes.priority_classes.nebari.high"), nullptr);
  // The value must carry the key the address names.
  EXPECT_FALSE(PutResource(d, "cloud.node_groups.x", {{"name", "y"}}).ok());
  ASSERT_TRUE(RemoveResource(d, "cloud.node_groups.general").ok());
  EXPECT_EQ(FindResource(d, "cloud.node_groups.general"), nullptr);
  EXPECT_EQ(RemoveResource(d, "cloud.node_groups.general").code(), ErrorCode::kNotFound);
  EXPECT_EQ(ListResources(d).size(), 8u);  // 6 sample + gpu + priority class + cluster - general
  EXPECT_TRUE(ValidateStateDocument(d, "mem").ok());
}

TEST(Duration, ParsesTerraformStyle) {
  EXPECT_EQ(ParseDurationMicros("0"), 0);
  EXPECT_EQ(ParseDurationMicros("500ms"), 500000);
  EXPECT_EQ(ParseDurationMicros("1h30m"), int64_t(5400) * 1000000);
  EXPECT_EQ(ParseDurationMicros("2.5s"), 2500000);
  EXPECT_FALSE(ParseDurationMicros("5"));
  EXPECT_FALSE(ParseDurationMicros("soon"));
  EXPECT_EQ(ParseRfc3339("2025-01-27T15:30:00Z"), int64_t(1737991800) * 1000000);
  EXPECT_EQ(ParseRfc3339("2025-01-27T16:30:00+01:00"), int64_t(1737991800) * 1000000);
  EXPECT_FALSE(ParseRfc3339("2025-13-27T15:30:00Z"));
}

}  // namespace
}  // namespace nic

namespace nic {
namespace {

TEST(StateDocument, ArraysInsideCollectionElementsAreAttributes) {
  StateDocument d = StateDocument::NewEmpty("aws", "demo", "us-west-2", Env::Default()->NowMicros());
  // Two subjects with the same name and namespace but different kinds are legal in Kubernetes.
  d.kubernetes["role_bindings"] = json::array({{{"name", "b"}, {"namespace", "dev"},
                                                {"subjects", json::array({{{"kind", "User"}, {"name", "x"}, {"namespace", "dev"}},
                                                                          {{"kind", "ServiceAccount"}, {"name", "x"}, {"namespace", "dev"}}})}}});
  EXPECT_TRUE(ValidateStateDocument(d, "mem").ok());
  auto all = ListResources(d);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].address, "kubernetes.role_bindings.dev/b");
  auto back = ParseStateDocument(SerializeStateDocument(d), "mem");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
}

}  // namespace
}  // namespace nic

#include "nic/crypto.h"

namespace nic {
namespace {

TEST(StateDocument, ChecksumIsTheSha256OfTheDocumentWithoutIt) {
  // The definition users can check by hand (jq 'del(.checksum)' with 2-space indentation).
  ParseNotes notes;
  auto d = ParseStateDocument(DesignExample(), "design", &notes);
  ASSERT_TRUE(d.ok());
  d->cloud["weird"] = {{"pi", 3.25}, {"big", 18446744073709551615ull}, {"neg", -7}, {"s", "ünïcödé \"q\""}, {"n", nullptr}};
  std::string bytes = SerializeStateDocument(d.value());
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(bytes);
  std::string stored = j["checksum"];
  j.erase("checksum");
  EXPECT_EQ(stored, "sha256:" + crypto::Sha256Hex(j.dump(2)));
  EXPECT_EQ(j.dump(2) + "\n", bytes.substr(0, bytes.rfind(",\n  \"checksum\"")) + "\n}\n");
  EXPECT_TRUE(ParseStateDocument(bytes, "again").ok());
}

}  // namespace
}  // namespace nic

#include <gtest/gtest.h>

#include "nic/importer.h"
#include "tests/importer/test_util.h"

namespace nic {
namespace {

using nlohmann::json;
using testing_importer::Fixture;
using testing_importer::ReadAll;

const TerraformResource* Find(const TerraformState& s, const std::string& address) {
  for (const auto& r : s.resources) {
    if (TerraformResourceAddress(r) == address) return &r;
  }
  return nullptr;
}

TEST(TfstateParser, V4HeaderOutputsAndResources) {
  std::string path = Fixture("aws_02.tfstate");
  auto st = ParseTfstate(ReadAll(path), path);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->header.version, 4);
  EXPECT_EQ(st->header.terraform_version, "1.5.7");
  EXPECT_EQ(st->header.serial, 57u);
  EXPECT_EQ(st->header.lineage, "3f2c1d7e-5b6a-4c8d-9e0f-1a2b3c4d5e6f");
  ASSERT_TRUE(st->header.outputs.count("kubernetes_credentials"));
  EXPECT_TRUE(st->header.outputs.at("kubernetes_credentials").sensitive);
  EXPECT_FALSE(st->header.outputs.at("nfs_endpoint").sensitive);

  const auto* subnets = Find(*st, "module.network[0].aws_subnet.main");
  ASSERT_NE(subnets, nullptr);
  EXPECT_EQ(subnets->mode, "managed");
  EXPECT_EQ(subnets->module, "module.network[0]");
  EXPECT_EQ(subnets->each, "list");
  EXPECT_EQ(subnets->provider, "provider[\"registry.terraform.io/hashicorp/aws\"]");
  ASSERT_EQ(subnets->instances.size(), 2u);
  EXPECT_EQ(subnets->instances[1].index_key, json(1));
  EXPECT_EQ(subnets->instances[1].schema_version, 1);
  EXPECT_EQ(TerraformInstanceAddress(*subnets, subnets->instances[1]), "module.network[0].aws_subnet.main[1]");
  EXPECT_EQ(subnets->instances[0].attributes["cidr_block"], "10.10.0.0/18");

  const auto* auth = Find(*st, "module.kubernetes.data.aws_eks_cluster_auth.main");
  ASSERT_NE(auth, nullptr);
  EXPECT_EQ(auth->mode, "data");
  ASSERT_EQ(auth->instances[0].sensitive_paths.size(), 1u);
  EXPECT_EQ(auth->instances[0].sensitive_paths[0][0]["value"], "token");

  const auto* kubeconfig = Find(*st, "local_file.kubeconfig");
  ASSERT_NE(kubeconfig, nullptr);
  EXPECT_EQ(kubeconfig->instances[0].dependencies, std::vector<std::string>{"module.kubernetes.aws_eks_cluster.main"});
}

TEST(TfstateParser, ForEachKeysAreQuotedStrings) {
  std::string path = Fixture("gcp_02.tfstate");
  auto st = ParseTfstate(ReadAll(path), path);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  const auto* iam = Find(*st, "module.kubernetes.google_project_iam_member.main");
  ASSERT_NE(iam, nullptr);
  EXPECT_EQ(iam->each, "map");
  ASSERT_EQ(iam->instances.size(), 6u);
  EXPECT_TRUE(iam->instances[0].index_key.is_string());
  EXPECT_EQ(TerraformInstanceAddress(*iam, iam->instances[2]),
            "module.kubernetes.google_project_iam_member.main[\"roles/logging.logWriter\"]");
}

TEST(TfstateParser, TaintedDeposedAndNestedModules) {
  std::string path = Fixture("edge_v4.tfstate");
  auto st = ParseTfstate(ReadAll(path), path);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  const auto* subnets = Find(*st, "module.network.aws_subnet.main");
  ASSERT_NE(subnets, nullptr);
  EXPECT_EQ(subnets->instances[1].status, "tainted");
  const auto* ng = Find(*st, "module.kubernetes.aws_eks_node_group.main");
  ASSERT_NE(ng, nullptr);
  ASSERT_EQ(ng->instances.size(), 2u);
  EXPECT_EQ(ng->instances[1].deposed, "00000001");
  EXPECT_EQ(TerraformInstanceAddress(*ng, ng->instances[1]),
            "module.kubernetes.aws_eks_node_group.main[0] (deposed 00000001)");
  const auto* sa = Find(*st, "module.addons.module.addon[\"cert-manager\"].module.irsa[0].kubernetes_service_account_v1.irsa");
  ASSERT_NE(sa, nullptr);
  EXPECT_EQ(TerraformInstanceAddress(*sa, sa->instances[0]),
            "module.addons.module.addon[\"cert-manager\"].module.irsa[0].kubernetes_service_account_v1.irsa[0]");
}

TEST(TfstateParser, V3ModulesAndFlatmaps) {
  std::string path = Fixture("v3_aws.tfstate");
  auto st = ParseTfstate(ReadAll(path), path);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->header.version, 3);
  EXPECT_EQ(st->header.terraform_version, "0.11.14");
  ASSERT_TRUE(st->header.outputs.empty());  // v3 outputs live per module

  const auto* vpc = Find(*st, "module.network.aws_vpc.main");
  ASSERT_NE(vpc, nullptr);
  const json& a = vpc->instances[0].attributes;
  EXPECT_EQ(a["cidr_block"], "10.30.0.0/16");
  // A map key with dots stays whole.
  EXPECT_EQ(a["tags"]["kubernetes.io/cluster/qhub-dev"], "shared");
  EXPECT_EQ(a["tags"].size(), 2u);

  const auto* subnets = Find(*st, "module.network.aws_subnet.main");
  ASSERT_NE(subnets, nullptr);
  ASSERT_EQ(subnets->instances.size(), 2u);
  EXPECT_EQ(subnets->instances[0].index_key, json(0));
  EXPECT_EQ(subnets->instances[1].status, "tainted");
  EXPECT_TRUE(subnets->instances[0].attributes["tags"].is_object());

  const auto* sg = Find(*st, "module.network.aws_security_group.main");
  ASSERT_NE(sg, nullptr);
  ASSERT_EQ(sg->instances.size(), 2u);
  EXPECT_EQ(sg->instances[1].deposed, "v3-0");
  const json& ingress = sg->instances[0].attributes["ingress"];
  ASSERT_TRUE(ingress.is_array());
  ASSERT_EQ(ingress.size(), 1u);
  EXPECT_EQ(ingress[0]["protocol"], "-1");
  EXPECT_TRUE(ingress[0]["cidr_blocks"].is_array());

  const auto* cluster = Find(*st, "module.kubernetes.aws_eks_cluster.main");
  ASSERT_NE(cluster, nullptr);
  const json& c = cluster->instances[0].attributes;
  EXPECT_EQ(c["certificate_authority"][0]["data"], "LS0tLS1DQQ==");
  EXPECT_EQ(c["vpc_config"][0]["subnet_ids"].size(), 2u);

  const auto* auth = Find(*st, "module.kubernetes.data.aws_eks_cluster_auth.main");
  ASSERT_NE(auth, nullptr);
  EXPECT_EQ(auth->mode, "data");
}

TEST(TfstateParser, V4AttributesFlatAreUnflattened) {
  std::string text = R"({"version": 4, "terraform_version": "0.12.0", "serial": 1, "lineage": "x",
    "resources": [{"mode": "managed", "type": "aws_vpc", "name": "main", "provider": "provider.aws",
      "instances": [{"schema_version": 1, "attributes_flat": {"id": "vpc-1", "tags.%": "1", "tags.Name": "n"}}]}]})";
  auto st = ParseTfstate(text, "flat.tfstate");
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->resources[0].instances[0].attributes["tags"]["Name"], "n");
}

TEST(TfstateParser, ResourcesBeforeVersionAreHeldUntilTheVersionIsKnown) {
  std::string text = R"({"resources": [{"mode": "managed", "type": "aws_vpc", "name": "main",
      "provider": "p", "instances": [{"attributes": {"id": "vpc-1"}}]}], "version": 4})";
  auto st = ParseTfstate(text, "late.tfstate");
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->resources.size(), 1u);

  std::string bad = R"({"resources": [], "version": 7})";
  auto st2 = ParseTfstate(bad, "late7.tfstate");
  ASSERT_FALSE(st2.ok());
  EXPECT_NE(st2.status().message().find("unsupported tfstate format version 7"), std::string::npos);
}

TEST(TfstateParser, VisitorErrorStopsTheStream) {
  std::string path = Fixture("aws_02.tfstate");
  int seen = 0;
  Status st = StreamTfstate(ReadAll(path), path, nullptr, [&](TerraformResource&&) {
    ++seen;
    return seen == 3 ? Status::Internal("stop here") : Status::OK();
  });
  EXPECT_EQ(st.code(), ErrorCode::kInternal);
  EXPECT_EQ(seen, 3);
}

struct MalformedCase {
  const char* file;
  const char* json_path;  // expected in the message and details
  const char* words;      // expected in the message
};

class MalformedTfstate : public ::testing::TestWithParam<MalformedCase> {};

TEST_P(MalformedTfstate, ErrorNamesFileAndJsonPath) {
  const auto& c = GetParam();
  std::string path = Fixture(c.file);
  auto st = ParseTfstate(ReadAll(path), path);
  ASSERT_FALSE(st.ok()) << c.file;
  EXPECT_EQ(st.status().code(), ErrorCode::kInvalidInput);
  const std::string& m = st.status().message();
  EXPECT_EQ(m.rfind(path + ": ", 0), 0u) << m;
  EXPECT_NE(m.find(c.json_path), std::string::npos) << m;
  EXPECT_NE(m.find(c.words), std::string::npos) << m;
  EXPECT_EQ(st.status().details().at("file"), path);
  EXPECT_EQ(st.status().details().at("json_path").rfind(c.json_path, 0), 0u) << st.status().details().at("json_path");
}

INSTANTIATE_TEST_SUITE_P(
    Fixtures, MalformedTfstate,
    ::testing::Values(
        MalformedCase{"malformed_truncated.tfstate", "$.resources[0]", "truncated JSON"},
        MalformedCase{"malformed_index_key_type.tfstate", "$.resources[0].instances[0].index_key",
                      "expected an integer or a string, found boolean"},
        MalformedCase{"malformed_duplicate_resource.tfstate", "$.resources[1]",
                      "duplicate resource address module.network[0].aws_vpc.main (first at $.resources[0])"},
        MalformedCase{"malformed_duplicate_instance.tfstate", "$.resources[0].instances[1]",
                      "duplicate instance address module.network[0].aws_vpc.main"},
        MalformedCase{"malformed_version_2.tfstate", "$.version", "Terraform 0.12 or later"},
        MalformedCase{"malformed_version_5.tfstate", "$.version", "unsupported tfstate format version 5"},
        MalformedCase{"malformed_version_string.tfstate", "$.version", "expected an integer, found string"},
        MalformedCase{"malformed_attributes_type.tfstate", "$.resources[0].instances[0].attributes",
                      "expected an object, found array"},
        MalformedCase{"malformed_resources_type.tfstate", "$.resources", "expected an array, found object"},
        MalformedCase{"malformed_missing_instances.tfstate", "$.resources[0]",
                      "missing required field \"instances\""}));

TEST(TfstateParser, OtherMalformedDocuments) {
  struct Case { std::string text; std::string path; std::string words; };
  std::vector<Case> cases = {
      {"", "$", "JSON"},
      {"[]", "$", "must be a JSON object"},
      {R"({"version": 4, "resources": [1]})", "$.resources[0]", "expected an object, found integer"},
      {R"({"version": 4, "resources": [{"mode": "managed", "type": "t", "name": "n", "instances": [{"status": "gone"}]}]})",
       "$.resources[0].instances[0].status", "unknown instance status"},
      {R"({"version": 4, "resources": [{"mode": "weird", "type": "t", "name": "n", "instances": []}]})",
       "$.resources[0].mode", "expected \"managed\" or \"data\""},
      {R"({"version": 4, "resources": [{"mode": "managed", "type": 3, "name": "n", "instances": []}]})",
       "$.resources[0].type", "expected a string, found integer"},
      {R"({"serial": 1})", "$", "missing required field \"version\""},
      {R"({"version": 4, "resources": [{"mode": "managed", "type": "t", "name": "n", "instances": [{"sensitive_attributes": {}}]}]})",
       "$.resources[0].instances[0].sensitive_attributes", "expected an array"},
      {R"({"version": 3, "modules": [{"path": ["root"], "resources": {"aws_vpc": {}}}]})",
       "$.modules[0].resources[\"aws_vpc\"]", "type.name"},
      {R"({"version": 1, "modules": []})", "$.version", "Terraform 0.12 or later upgrades it"},
      {R"({"version": 0})", "$.version", "predates Terraform's JSON state format"},
      {R"({"version": 4, "resources": [{"mode": "managed", "type": "t", "name": "n", "instances": [)", "$.resources[0].instances", "truncated JSON"},
  };
  for (const auto& c : cases) {
    auto st = ParseTfstate(c.text, "inline.tfstate");
    ASSERT_FALSE(st.ok()) << c.text;
    EXPECT_EQ(st.status().code(), ErrorCode::kInvalidInput) << c.text;
    const std::string& m = st.status().message();
    EXPECT_NE(m.find("inline.tfstate: " + c.path), std::string::npos) << c.text << " -> " << m;
    EXPECT_NE(m.find(c.words), std::string::npos) << c.text << " -> " << m;
  }
}

}  // namespace
}  // namespace nic

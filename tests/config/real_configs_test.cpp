// Every real file in ../shared/testdata/nebari-configs gives its pinned result. The files are
// read from the shared directory at test time, never copied into the repository.
#include <filesystem>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "nic/config.h"
#include "tests/config/config_test_util.h"
#include "tests/support/test_util.h"

namespace nic {
namespace {

using testing::DumpDiagnostics;
using testing::FindError;
using testing::FindGroup;

std::string ConfigDir() { return testing::SharedDir() + "/testdata/nebari-configs"; }

ConfigLoadResult LoadReal(const std::string& name) { return LoadNebariConfig(ConfigDir() + "/" + name); }

void ExpectDefaultTaints(const NebariConfig& c) {
  for (const auto& g : c.node_groups) {
    if (g.name == "general") {
      EXPECT_TRUE(g.taints.empty()) << g.name;
    } else {
      ASSERT_EQ(g.taints.size(), 1u) << g.name;
      EXPECT_EQ(g.taints[0].key, "dedicated");
      EXPECT_EQ(g.taints[0].value, "nebari");
      EXPECT_EQ(g.taints[0].effect, "NoSchedule");
    }
  }
}

void ExpectGroup(const NebariConfig& c, const std::string& name, const std::string& instance,
                 int64_t min, int64_t max) {
  const NodeGroup* g = FindGroup(c, name);
  ASSERT_NE(g, nullptr) << name;
  EXPECT_EQ(g->instance, instance) << name;
  EXPECT_EQ(g->min_nodes, min) << name;
  EXPECT_EQ(g->max_nodes, max) << name;
}

// Every file in the directory is covered by one of the tests below.
TEST(RealConfigs, EveryFileIsPinned) {
  const std::set<std::string> pinned = {
      "TheSenya__nebari__nebari-config.yaml",
      "nebari-dev__nebari__output.yaml",
      "nebari-dev__nebari__tests_tests_unit_cli_validate_aws.happy.yaml",
      "nebari-dev__nebari__tests_tests_unit_cli_validate_gcp.happy.yaml",
      "nebari-dev__nebari__tests_tests_unit_cli_validate_azure.happy.yaml",
      "NCAR__ncar-aws-binder__qhub-config.yaml",
      "Quansight__jupytercon-qhub-demo__qhub-config.yaml",
      "tarundmsharma__qhub__qhub-config.yaml",
  };
  size_t seen = 0;
  for (const auto& entry : std::filesystem::directory_iterator(ConfigDir())) {
    std::string name = entry.path().filename().string();
    if (entry.path().extension() != ".yaml") continue;
    ++seen;
    EXPECT_TRUE(pinned.count(name)) << "new file without a pinned result: " << name;
  }
  EXPECT_EQ(seen, pinned.size());
}

TEST(RealConfigs, TheSenyaLocalValidatesWithDefaults) {
  auto r = LoadReal("TheSenya__nebari__nebari-config.yaml");
  ASSERT_TRUE(r.ok()) << DumpDiagnostics(r);
  EXPECT_TRUE(r.warnings.empty()) << DumpDiagnostics(r);
  const NebariConfig& c = *r.config;
  EXPECT_EQ(c.provider, "local");
  EXPECT_EQ(c.project_name, "nebari-test");
  EXPECT_EQ(c.namespace_name, "dev");
  EXPECT_EQ(c.nebari_version, "2025.10.1");
  EXPECT_EQ(c.region, "");
  EXPECT_TRUE(c.node_groups.empty());
  EXPECT_EQ(c.terraform_state_type, "remote");
  EXPECT_EQ(c.storage_type, "nfs");
  EXPECT_TRUE(c.provider_settings["kube_context"].is_null());
  EXPECT_EQ(c.provider_settings["node_selectors"]["worker"]["key"], "kubernetes.io/os");
  EXPECT_EQ(c.provider_settings["node_selectors"]["worker"]["value"], "linux");
  // Application sections are kept, untouched.
  EXPECT_EQ(c.application_sections["security"]["authentication"]["type"], "password");
  EXPECT_EQ(c.application_sections["ci_cd"]["type"], "none");
  EXPECT_EQ(c.field_marks.at("project_name").line, 4);
}

TEST(RealConfigs, AwsHappyGetsNebariDefaults) {
  auto r = LoadReal("nebari-dev__nebari__tests_tests_unit_cli_validate_aws.happy.yaml");
  ASSERT_TRUE(r.ok()) << DumpDiagnostics(r);
  const NebariConfig& c = *r.config;
  EXPECT_EQ(c.provider, "aws");
  EXPECT_EQ(c.project_name, "test");
  EXPECT_EQ(c.nebari_version, "2023.7.2.dev23+g53d17964.d20230824");
  EXPECT_EQ(c.region, "us-east-1");
  EXPECT_EQ(c.kubernetes_version, "1.20");
  EXPECT_EQ(c.terraform_state_type, "local");
  EXPECT_EQ(c.storage_type, "efs");
  ASSERT_EQ(c.node_groups.size(), 3u);
  EXPECT_EQ(c.node_groups[0].name, "general");  // sorted by name
  ExpectGroup(c, "general", "m5.2xlarge", 1, 1);
  ExpectGroup(c, "user", "m5.xlarge", 0, 5);
  ExpectGroup(c, "worker", "m5.xlarge", 0, 5);
  ExpectDefaultTaints(c);
  EXPECT_EQ(c.provider_settings["availability_zones"], nlohmann::json({"us-east-1a", "us-east-1b"}));
  EXPECT_EQ(c.provider_settings["vpc_cidr_block"], "10.10.0.0/16");
  EXPECT_EQ(c.provider_settings["eks_endpoint_access"], "public");
  EXPECT_EQ(c.provider_settings["eks_public_access_cidrs"], nlohmann::json({"0.0.0.0/0"}));
  EXPECT_TRUE(c.provider_settings["eks_kms_arn"].is_null());
}

TEST(RealConfigs, GcpHappyGetsNebariDefaults) {
  auto r = LoadReal("nebari-dev__nebari__tests_tests_unit_cli_validate_gcp.happy.yaml");
  ASSERT_TRUE(r.ok()) << DumpDiagnostics(r);
  const NebariConfig& c = *r.config;
  EXPECT_EQ(c.provider, "gcp");
  EXPECT_EQ(c.region, "us-central1");
  EXPECT_EQ(c.kubernetes_version, "1.20");
  EXPECT_EQ(c.provider_settings["project"], "pytest-project");
  EXPECT_EQ(c.provider_settings["release_channel"], "UNSPECIFIED");
  EXPECT_EQ(c.provider_settings["networking_mode"], "ROUTE");
  EXPECT_EQ(c.provider_settings["network"], "default");
  EXPECT_EQ(c.provider_settings["availability_zones"], nlohmann::json::array());
  EXPECT_EQ(c.storage_type, "nfs");
  ExpectGroup(c, "general", "e2-standard-8", 1, 1);
  ExpectGroup(c, "user", "e2-standard-4", 0, 5);
  ExpectGroup(c, "worker", "e2-standard-4", 0, 5);
  ExpectDefaultTaints(c);
}

TEST(RealConfigs, AzureHappyGetsNebariDefaults) {
  auto r = LoadReal("nebari-dev__nebari__tests_tests_unit_cli_validate_azure.happy.yaml");
  ASSERT_TRUE(r.ok()) << DumpDiagnostics(r);
  const NebariConfig& c = *r.config;
  EXPECT_EQ(c.provider, "azure");
  EXPECT_EQ(c.region, "Central US");
  EXPECT_EQ(c.kubernetes_version, "1.20");
  EXPECT_EQ(c.provider_settings["storage_account_postfix"], "abcd");
  EXPECT_EQ(c.provider_settings["authorized_ip_ranges"], nlohmann::json({"0.0.0.0/0"}));
  ExpectGroup(c, "general", "Standard_D8_v3", 1, 1);
  ExpectGroup(c, "user", "Standard_D4_v3", 0, 5);
  ExpectGroup(c, "worker", "Standard_D4_v3", 0, 5);
  ExpectDefaultTaints(c);
}

TEST(RealConfigs, OutputYamlAzureDumpValidatesWithDigitalOceanWarning) {
  auto r = LoadReal("nebari-dev__nebari__output.yaml");
  ASSERT_TRUE(r.ok()) << DumpDiagnostics(r);
  const NebariConfig& c = *r.config;
  EXPECT_EQ(c.provider, "azure");
  EXPECT_EQ(c.project_name, "pytestazurekhjmt");
  EXPECT_EQ(c.nebari_version, "2024.4.1rc1");
  EXPECT_EQ(c.kubernetes_version, "1.29.2");  // unquoted but two dots: a string
  EXPECT_EQ(c.region, "Central US");
  EXPECT_EQ(c.provider_settings["storage_account_postfix"], "rx9o");
  EXPECT_FALSE(c.provider_settings["private_cluster_enabled"].get<bool>());
  ExpectGroup(c, "general", "Standard_D8_v3", 1, 1);
  ExpectGroup(c, "user", "Standard_D4_v3", 0, 5);
  ExpectGroup(c, "worker", "Standard_D4_v3", 0, 5);
  ExpectDefaultTaints(c);
  // The null sections of other providers are ignored; digital_ocean (removed provider) warns.
  ASSERT_EQ(r.warnings.size(), 1u) << DumpDiagnostics(r);
  EXPECT_EQ(r.warnings[0].path, "digital_ocean");
  EXPECT_EQ(r.warnings[0].line, 53);
  EXPECT_EQ(r.warnings[0].column, 1);
}

TEST(RealConfigs, NcarQhubAwsFailsOnQhubEraKeys) {
  auto r = LoadReal("NCAR__ncar-aws-binder__qhub-config.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(r.config.has_value());
  ASSERT_EQ(r.errors.size(), 2u) << DumpDiagnostics(r);
  const ConfigDiagnostic* ci = FindError(r, "ci_cd");
  ASSERT_NE(ci, nullptr) << DumpDiagnostics(r);
  EXPECT_EQ(ci->line, 3);
  EXPECT_EQ(ci->column, 8);
  EXPECT_NE(ci->message.find("predates the supported format"), std::string::npos);
  const ConfigDiagnostic* tv = FindError(r, "terraform_version");
  ASSERT_NE(tv, nullptr) << DumpDiagnostics(r);
  EXPECT_EQ(tv->line, 5);
  EXPECT_EQ(tv->column, 1);
  EXPECT_NE(tv->message.find("predates the supported format"), std::string::npos);
  for (const auto& e : r.errors) EXPECT_EQ(e.file, ConfigDir() + "/NCAR__ncar-aws-binder__qhub-config.yaml");
}

TEST(RealConfigs, QuansightDigitalOceanFails) {
  auto r = LoadReal("Quansight__jupytercon-qhub-demo__qhub-config.yaml");
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.errors.size(), 5u) << DumpDiagnostics(r);
  const ConfigDiagnostic* ci = FindError(r, "ci_cd");
  ASSERT_NE(ci, nullptr);
  EXPECT_EQ(ci->line, 3);
  // 20 characters: longer than Nebari's 16.
  const ConfigDiagnostic* name = FindError(r, "project_name");
  ASSERT_NE(name, nullptr);
  EXPECT_EQ(name->line, 1);
  EXPECT_EQ(name->column, 15);
  EXPECT_EQ(name->found, "'qhub-jupytercon-demo'");
  const ConfigDiagnostic* p = FindError(r, "provider");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->line, 2);
  EXPECT_EQ(p->column, 11);
  EXPECT_EQ(p->found, "'do'");
  const ConfigDiagnostic* d = FindError(r, "digital_ocean");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->line, 43);
  EXPECT_NE(d->message.find("2024.12.1"), std::string::npos);
  const ConfigDiagnostic* typo = FindError(r, "storage.shared_filesytem");
  ASSERT_NE(typo, nullptr) << DumpDiagnostics(r);
  EXPECT_EQ(typo->line, 69);
  EXPECT_EQ(typo->column, 3);
  EXPECT_NE(typo->message.find("Did you mean 'shared_filesystem'?"), std::string::npos);
}

TEST(RealConfigs, TarundmsharmaQhubGcpFails) {
  auto r = LoadReal("tarundmsharma__qhub__qhub-config.yaml");
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.errors.size(), 2u) << DumpDiagnostics(r);
  const ConfigDiagnostic* cds = FindError(r, "cdsdashboards");
  ASSERT_NE(cds, nullptr);
  EXPECT_EQ(cds->line, 53);
  const ConfigDiagnostic* zone = FindError(r, "google_cloud_platform.zone");
  ASSERT_NE(zone, nullptr) << DumpDiagnostics(r);
  EXPECT_EQ(zone->line, 66);
  EXPECT_EQ(zone->column, 3);
  EXPECT_NE(zone->message.find("availability_zones"), std::string::npos);
}

}  // namespace
}  // namespace nic

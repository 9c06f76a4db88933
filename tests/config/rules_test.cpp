// One test per parsing/validation rule, on small inline configs.
#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "nic/config.h"
#include "tests/config/config_test_util.h"

namespace nic {
namespace {

using testing::DumpDiagnostics;
using testing::kAws;
using testing::FindError;
using testing::FindGroup;
using testing::Parse;

// kAws with `line` appended inside the general node group.
std::string AwsGeneral(const std::string& line) { return std::string(kAws) + "      " + line + "\n"; }

TEST(ConfigRules, ProviderInferredFromTheOnlySection) {
  auto r = Parse("project_name: demo\nazure:\n  region: eastus\n  storage_account_postfix: ab12\n");
  ASSERT_TRUE(r.ok()) << DumpDiagnostics(r);
  EXPECT_EQ(r.config->provider, "azure");
  EXPECT_EQ(r.config->region, "eastus");
  EXPECT_EQ(r.config->kubernetes_version, "");  // azure: optional, latest at deploy time
}

TEST(ConfigRules, ProviderDefaultsToLocalWithDefaultSection) {
  auto r = Parse("project_name: demo\n");
  ASSERT_TRUE(r.ok()) << DumpDiagnostics(r);
  EXPECT_EQ(r.config->provider, "local");
  EXPECT_EQ(r.config->provider_settings["node_selectors"]["general"]["key"], "kubernetes.io/os");
}

TEST(ConfigRules, SeveralSectionsWithoutProviderIsAnError) {
  auto r = Parse("project_name: demo\nlocal: {}\nexisting: null\n");
  ASSERT_FALSE(r.ok());
  auto* e = FindError(r, "provider");
  ASSERT_NE(e, nullptr) << DumpDiagnostics(r);
  EXPECT_NE(e->message.find("existing"), std::string::npos);
}

TEST(ConfigRules, UnknownProviderSuggestsNearest) {
  auto r = Parse("project_name: demo\nprovider: awss\n");
  auto* e = FindError(r, "provider");
  ASSERT_NE(e, nullptr) << DumpDiagnostics(r);
  EXPECT_EQ(e->line, 2);
  EXPECT_EQ(e->column, 11);
  EXPECT_NE(e->message.find("Did you mean 'aws'?"), std::string::npos);
}

TEST(ConfigRules, CloudProviderNeedsItsSection) {
  auto r = Parse("project_name: demo\nprovider: gcp\n");
  auto* e = FindError(r, "google_cloud_platform");
  ASSERT_NE(e, nullptr) << DumpDiagnostics(r);
  EXPECT_EQ(e->line, 2);
}

TEST(ConfigRules, DesignDocumentAliasesNormaliseToNebariNames) {
  auto design = Parse(R"(project_name: demo
provider: aws
amazon_web_services:
  region: us-west-2
  kubernetes_version: "1.28"
  vpc_cidr: "10.0.0.0/16"
  node_groups:
    general:
      instance_type: m5.xlarge
      min_size: 2
      max_size: 10
      disk_size: 100
      labels:
        role: general
)");
  ASSERT_TRUE(design.ok()) << DumpDiagnostics(design);
  const NodeGroup* g = FindGroup(*design.config, "general");
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->instance, "m5.xlarge");
  EXPECT_EQ(g->min_nodes, 2);
  EXPECT_EQ(g->max_nodes, 10);
  EXPECT_EQ(g->disk_size.value_or(0), 100);
  EXPECT_EQ(g->labels.at("role"), "general");
  EXPECT_EQ(design.config->provider_settings["vpc_cidr_block"], "10.0.0.0/16");

  auto nebari = Parse(R"(project_name: demo
provider: aws
amazon_web_services:
  region: us-west-2
  kubernetes_version: "1.28"
  vpc_cidr_block: "10.0.0.0/16"
  node_groups:
    general:
      instance: m5.xlarge
      min_nodes: 2
      max_nodes: 10
      disk_size: 100
      labels:
        role: general
)");
  ASSERT_TRUE(nebari.ok()) << DumpDiagnostics(nebari);
  EXPECT_EQ(ConfigHash(*design.config), ConfigHash(*nebari.config));
}

TEST(ConfigRules, AliasAndNameTogetherIsAnError) {
  auto r = Parse(AwsGeneral("instance_type: m5.large"));
  auto* e = FindError(r, "amazon_web_services.node_groups.general.instance_type");
  ASSERT_NE(e, nullptr) << DumpDiagnostics(r);
  EXPECT_EQ(e->line, 12);
}

TEST(ConfigRules, TaintsInBothForms) {
  auto r = Parse(AwsGeneral(R"(taints:
        - gpu=true:NoExecute
        - dedicated:NoSchedule
        - key: example.com/team
          value: data
          effect: PreferNoSchedule
        - key: nullable
          value: null
          effect: NoSchedule)"));
  ASSERT_TRUE(r.ok()) << DumpDiagnostics(r);
  const auto& t = FindGroup(*r.config, "general")->taints;
  ASSERT_EQ(t.size(), 4u);
  EXPECT_EQ(t[0].key, "gpu");
  EXPECT_EQ(t[0].value, "true");
  EXPECT_EQ(t[0].effect, "NoExecute");
  EXPECT_EQ(t[1].key, "dedicated");
  EXPECT_EQ(t[1].value, "");
  EXPECT_EQ(t[2].key, "example.com/team");
  EXPECT_EQ(t[2].effect, "PreferNoSchedule");
  EXPECT_EQ(t[3].value, "");
}

TEST(ConfigRules, BadTaintsAreReportedWithTheirIndex) {
  auto r = Parse(AwsGeneral(R"(taints:
        - dedicated=x:NoRun
        - key: a
          effect: NoSchedule
        - just-a-string)"));
  ASSERT_FALSE(r.ok());
  auto* effect = FindError(r, "amazon_web_services.node_groups.general.taints[0].effect");
  ASSERT_NE(effect, nullptr) << DumpDiagnostics(r);
  EXPECT_EQ(effect->line, 13);
  EXPECT_EQ(effect->found, "'NoRun'");
  EXPECT_NE(FindError(r, "amazon_web_services.node_groups.general.taints[1].value"), nullptr)
      << DumpDiagnostics(r);
  EXPECT_NE(FindError(r, "amazon_web_services.node_groups.general.taints[2]"), nullptr)
      << DumpDiagnostics(r);
}

TEST(ConfigRules, DefaultTaintOnNonGeneralGroupsAndExplicitOptOut) {
  auto r = Parse(std::string(kAws) + R"(    user:
      instance: m5.large
    worker:
      instance: m5.large
      taints: []
)");
  ASSERT_TRUE(r.ok()) << DumpDiagnostics(r);
  EXPECT_TRUE(FindGroup(*r.config, "general")->taints.empty());
  ASSERT_EQ(FindGroup(*r.config, "user")->taints.size(), 1u);
  EXPECT_EQ(FindGroup(*r.config, "user")->taints[0].key, "dedicated");
  EXPECT_EQ(FindGroup(*r.config, "user")->min_nodes, 0);
  EXPECT_EQ(FindGroup(*r.config, "user")->max_nodes, 1);
  EXPECT_TRUE(FindGroup(*r.config, "worker")->taints.empty());
}

TEST(ConfigRules, AwsGpuSpotSingleSubnet) {
  auto r = Parse(AwsGeneral("gpu: true\n      spot: true\n      single_subnet: true\n      permissions_boundary: arn:aws:iam::123456789012:policy/b"));
  ASSERT_TRUE(r.ok()) << DumpDiagnostics(r);
  const NodeGroup* g = FindGroup(*r.config, "general");
  EXPECT_TRUE(g->gpu);
  EXPECT_TRUE(g->spot);
  EXPECT_TRUE(g->single_subnet);
  EXPECT_EQ(g->extra["permissions_boundary"], "arn:aws:iam::123456789012:policy/b");
}

TEST(ConfigRules, AwsLaunchTemplateIsRejected) {
  auto r = Parse(AwsGeneral("launch_template: {ami_id: ami-1}"));
  auto* e = FindError(r, "amazon_web_services.node_groups.general.launch_template");
  ASSERT_NE(e, nullptr) << DumpDiagnostics(r);
  EXPECT_EQ(e->line, 12);
}

TEST(ConfigRules, GcpPreemptibleLabelsAndAccelerators) {
  auto r = Parse(R"(project_name: demo
provider: gcp
google_cloud_platform:
  project: my-project-123
  region: us-central1
  kubernetes_version: '1.29'
  availability_zones: [us-central1-b]
  node_groups:
    gpu:
      instance: n1-standard-8
      preemptible: true
      labels: {accelerator: t4, tier: 2}
      guest_accelerators:
        - name: nvidia-tesla-t4
          count: 2
)");
  ASSERT_TRUE(r.ok()) << DumpDiagnostics(r);
  const NodeGroup* g = FindGroup(*r.config, "gpu");
  ASSERT_NE(g, nullptr);
  EXPECT_TRUE(g->gpu);
  EXPECT_TRUE(g->spot);
  EXPECT_EQ(g->labels.at("tier"), "2");
  EXPECT_EQ(g->extra["guest_accelerators"][0]["count"], 2);
  EXPECT_EQ(g->taints.size(), 1u);  // not "general": default taint
}

TEST(ConfigRules, GcpGpuFlagPointsToGuestAccelerators) {
  auto r = Parse(R"(project_name: demo
provider: gcp
google_cloud_platform:
  project: my-project-123
  region: us-central1
  kubernetes_version: '1.29'
  node_groups:
    general:
      instance: n1-standard-8
      gpu: true
)");
  auto* e = FindError(r, "google_cloud_platform.node_groups.general.gpu");
  ASSERT_NE(e, nullptr) << DumpDiagnostics(r);
  EXPECT_NE(e->message.find("guest_accelerators"), std::string::npos);
}

TEST(ConfigRules, UnknownNodeGroupKeyHasLocationAndSuggestion) {
  auto r = Parse(AwsGeneral("instace_typ: m5.large"));
  ASSERT_FALSE(r.ok());
  auto* e = FindError(r, "amazon_web_services.node_groups.general.instace_typ");
  ASSERT_NE(e, nullptr) << DumpDiagnostics(r);
  EXPECT_EQ(e->line, 12);
  EXPECT_EQ(e->column, 7);
  EXPECT_NE(e->message.find("Did you mean 'instance_type'?"), std::string::npos);
  EXPECT_EQ(e->found, "'instace_typ'");
}

TEST(ConfigRules, UnknownProviderKeyHasSuggestion) {
  auto r = Parse(std::string(kAws) + "  availabilty_zones: [us-west-2a]\n");
  auto* e = FindError(r, "amazon_web_services.availabilty_zones");
  ASSERT_NE(e, nullptr) << DumpDiagnostics(r);
  EXPECT_EQ(e->line, 12);
  EXPECT_EQ(e->column, 3);
  EXPECT_EQ(e->expected, "'availability_zones'");
}

TEST(ConfigRules, UnquotedKubernetesVersionMustBeQuoted) {
  std::string yaml = kAws;
  yaml.replace(yaml.find("'1.29'"), 6, "1.29");
  auto r = Parse(yaml);
  auto* e = FindError(r, "amazon_web_services.kubernetes_version");
  ASSERT_NE(e, nullptr) << DumpDiagnostics(r);
  EXPECT_EQ(e->line, 6);
  EXPECT_EQ(e->column, 23);
  EXPECT_NE(e->message.find("Quote it"), std::string::npos);
  EXPECT_EQ(e->found, "the number 1.29");
}

TEST(ConfigRules, KubernetesVersionFormat) {
  std::string yaml = kAws;
  yaml.replace(yaml.find("'1.29'"), 6, "latest");
  auto r = Parse(yaml);
  auto* e = FindError(r, "amazon_web_services.kubernetes_version");
  ASSERT_NE(e, nullptr) << DumpDiagnostics(r);
  EXPECT_EQ(e->found, "'latest'");
  // Two dots make it a string in YAML: accepted unquoted.
  yaml = kAws;
  yaml.replace(yaml.find("'1.29'"), 6, "1.29.2");
  EXPECT_TRUE(Parse(yaml).ok());
}

TEST(ConfigRules, MinNodesAboveMaxNodes) {
  std::string yaml = kAws;
  yaml.replace(yaml.find("min_nodes: 1"), 12, "min_nodes: 3");
  auto r = Parse(yaml);
  auto* e = FindError(r, "amazon_web_services.node_groups.general.max_nodes");
  ASSERT_NE(e, nullptr) << DumpDiagnostics(r);
  EXPECT_EQ(e->line, 11);
  EXPECT_EQ(e->expected, "an integer >= 3");
  EXPECT_EQ(e->found, "1");
}

TEST(ConfigRules, NumericRangesAndTypes) {
  std::string yaml = kAws;
  yaml.replace(yaml.find("min_nodes: 1"), 12, "min_nodes: -1");
  yaml.replace(yaml.find("max_nodes: 1"), 12, "max_nodes: 0");
  yaml += "      disk_size: lots\n";
  auto r = Parse(yaml);
  EXPECT_EQ(r.errors.size(), 3u) << DumpDiagnostics(r);
  auto* min = FindError(r, "amazon_web_services.node_groups.general.min_nodes");
  ASSERT_NE(min, nullptr);
  EXPECT_EQ(min->expected, "an integer >= 0");
  auto* max = FindError(r, "amazon_web_services.node_groups.general.max_nodes");
  ASSERT_NE(max, nullptr);
  EXPECT_EQ(max->expected, "an integer >= 1");
  auto* disk = FindError(r, "amazon_web_services.node_groups.general.disk_size");
  ASSERT_NE(disk, nullptr);
  EXPECT_EQ(disk->found, "the string 'lots'");
}

TEST(ConfigRules, ProjectNameAndNamespacePatterns) {
  for (const char* bad : {"ab", "1abc", "abc-", "a-very-long-project-name", "has space"}) {
    auto r = Parse(std::string("project_name: '") + bad + "'\n");
    EXPECT_NE(FindError(r, "project_name"), nullptr) << bad;
  }
  for (const char* good : {"abc", "my-nebari", "Proj_1", "abcdefghijklmnop"}) {
    auto r = Parse(std::string("project_name: ") + good + "\n");
    EXPECT_TRUE(r.ok()) << good << "\n" << DumpDiagnostics(r);
  }
  for (const char* bad : {"dev2", "d", "-dev"}) {
    auto r = Parse(std::string("project_name: demo\nnamespace: '") + bad + "'\n");
    EXPECT_NE(FindError(r, "namespace"), nullptr) << bad;
  }
  auto r = Parse("project_name: demo\nnamespace: prod_east\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.config->namespace_name, "prod_east");
}

TEST(ConfigRules, MissingProjectName) {
  auto r = Parse("provider: local\n");
  auto* e = FindError(r, "project_name");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->found, "nothing");
}

TEST(ConfigRules, DuplicateKeysAreErrors) {
  auto r = Parse("project_name: demo\nprovider: local\nproject_name: other\n");
  ASSERT_FALSE(r.ok());
  auto* e = FindError(r, "project_name");
  ASSERT_NE(e, nullptr) << DumpDiagnostics(r);
  EXPECT_EQ(e->line, 3);
  EXPECT_NE(e->message.find("first at line 1"), std::string::npos);
}

TEST(ConfigRules, RequiredFieldsPerProvider) {
  auto aws = Parse("project_name: demo\nprovider: aws\namazon_web_services:\n  node_groups: {general: {instance: m5.large}}\n");
  EXPECT_NE(FindError(aws, "amazon_web_services.region"), nullptr) << DumpDiagnostics(aws);
  EXPECT_NE(FindError(aws, "amazon_web_services.kubernetes_version"), nullptr);
  auto gcp = Parse("project_name: demo\nprovider: gcp\ngoogle_cloud_platform:\n  region: us-east1\n");
  EXPECT_NE(FindError(gcp, "google_cloud_platform.project"), nullptr) << DumpDiagnostics(gcp);
  EXPECT_NE(FindError(gcp, "google_cloud_platform.kubernetes_version"), nullptr);
  auto azure = Parse("project_name: demo\nprovider: azure\nazure:\n  region: eastus\n");
  EXPECT_NE(FindError(azure, "azure.storage_account_postfix"), nullptr) << DumpDiagnostics(azure);
  auto group = Parse(AwsGeneral("").replace(std::string(kAws).find("      instance: m5.xlarge\n"), 26, ""));
  EXPECT_NE(FindError(group, "amazon_web_services.node_groups.general.instance"), nullptr)
      << DumpDiagnostics(group);
}

TEST(ConfigRules, ApplicationSectionsNeverCauseErrors) {
  auto r = Parse(std::string(kAws) + R"(jupyterhub:
  overrides: {anything: [1, 2, {deep: true}]}
  made_up_key: 3
profiles:
  jupyterlab: []
security: {authentication: {type: weird}}
)");
  ASSERT_TRUE(r.ok()) << DumpDiagnostics(r);
  EXPECT_EQ(r.config->application_sections["jupyterhub"]["made_up_key"], 3);
}

TEST(ConfigRules, UnknownTopLevelKeys) {
  auto typo = Parse("project_nam: demo\n");
  auto* e = FindError(typo, "project_nam");
  ASSERT_NE(e, nullptr) << DumpDiagnostics(typo);
  EXPECT_NE(e->message.find("Did you mean 'project_name'?"), std::string::npos);
  auto plugin = Parse("project_name: demo\nmy_plugin_settings: {a: 1}\n");
  ASSERT_TRUE(plugin.ok()) << DumpDiagnostics(plugin);
  ASSERT_EQ(plugin.warnings.size(), 2u) << DumpDiagnostics(plugin);  // + missing nebari_version
}

TEST(ConfigRules, QhubVersionPredatesTheFormat) {
  auto r = Parse("project_name: demo\nqhub_version: 0.4.3\nprovider: local\n");
  auto* e = FindError(r, "qhub_version");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->line, 2);
  EXPECT_NE(e->message.find("predates the supported format"), std::string::npos);
  EXPECT_NE(e->message.find("nebari_version"), std::string::npos);
}

TEST(ConfigRules, StorageTypeRules) {
  auto efs = Parse("project_name: demo\nstorage:\n  type: efs\n");
  auto* e = FindError(efs, "storage.type");
  ASSERT_NE(e, nullptr) << DumpDiagnostics(efs);
  EXPECT_EQ(e->line, 3);
  auto bad = Parse("project_name: demo\nstorage: {type: ebs}\n");
  EXPECT_NE(FindError(bad, "storage.type"), nullptr);
  auto aws = Parse(kAws);
  ASSERT_TRUE(aws.ok());
  EXPECT_EQ(aws.config->storage_type, "efs");
}

TEST(ConfigRules, TerraformState) {
  auto r = Parse("project_name: demo\nterraform_state:\n  type: existing\n  backend: s3\n  config: {bucket: b, region: us-east-1}\n");
  ASSERT_TRUE(r.ok()) << DumpDiagnostics(r);
  EXPECT_EQ(r.config->terraform_state_type, "existing");
  EXPECT_EQ(r.config->terraform_state_backend, "s3");
  EXPECT_EQ(r.config->terraform_state_config.at("bucket"), "b");
  auto bad = Parse("project_name: demo\nterraform_state: {type: cloud}\n");
  EXPECT_NE(FindError(bad, "terraform_state.type"), nullptr);
}

TEST(ConfigRules, AwsZonesAndCidrs) {
  auto r = Parse(std::string(kAws) + "  availability_zones: [us-west-2a, eu-west-1b]\n  vpc_cidr_block: 10.0.0.0/33\n");
  EXPECT_NE(FindError(r, "amazon_web_services.availability_zones[1]"), nullptr) << DumpDiagnostics(r);
  EXPECT_NE(FindError(r, "amazon_web_services.vpc_cidr_block"), nullptr);
  EXPECT_EQ(r.errors.size(), 2u) << DumpDiagnostics(r);
}

TEST(ConfigRules, AzureNodePoolNamesAndResourceGroup) {
  auto r = Parse(R"(project_name: demo
provider: azure
azure:
  region: eastus
  storage_account_postfix: ab12
  resource_group_name: my-rg.
  node_groups:
    User_Pool:
      instance: Standard_D4_v3
)");
  EXPECT_NE(FindError(r, "azure.node_groups.User_Pool"), nullptr) << DumpDiagnostics(r);
  EXPECT_NE(FindError(r, "azure.resource_group_name"), nullptr);
}

TEST(ConfigRules, LocalNodeSelectorsBothForms) {
  auto r = Parse(R"(project_name: demo
provider: existing
existing:
  kube_context: k3s-default
  node_selectors:
    general: {role: general}
    user: {key: node-role, value: user}
)");
  ASSERT_TRUE(r.ok()) << DumpDiagnostics(r);
  const auto& s = r.config->provider_settings["node_selectors"];
  EXPECT_EQ(s["general"], nlohmann::json({{"key", "role"}, {"value", "general"}}));
  EXPECT_EQ(s["user"], nlohmann::json({{"key", "node-role"}, {"value", "user"}}));
  EXPECT_EQ(r.config->provider_settings["kube_context"], "k3s-default");
}

TEST(ConfigRules, ExternalRegistryNeedsAllFieldsWhenEnabled) {
  auto r = Parse("project_name: demo\nexternal_container_reg:\n  enabled: true\n  extcr_account: '123'\n");
  EXPECT_EQ(r.errors.size(), 3u) << DumpDiagnostics(r);
  EXPECT_NE(FindError(r, "external_container_reg.extcr_region"), nullptr);
}

// Every error carries file, line, column, path, expected and found, and all are reported.
TEST(ConfigRules, AllErrorsTogetherAndComplete) {
  auto r = Parse(R"(project_name: x
namespace: dev1
provider: aws
amazon_web_services:
  region: us-west-2
  kubernetes_version: 1.29
  node_groups:
    general:
      instance: m5.large
      min_nodes: 5
      max_nodes: 2
      colour: blue
)");
  ASSERT_EQ(r.errors.size(), 5u) << DumpDiagnostics(r);
  for (const auto& e : r.errors) {
    EXPECT_EQ(e.file, "test.yaml");
    EXPECT_GT(e.line, 0) << FormatDiagnostic(e);
    EXPECT_GT(e.column, 0) << FormatDiagnostic(e);
    EXPECT_FALSE(e.path.empty()) << FormatDiagnostic(e);
    EXPECT_FALSE(e.expected.empty()) << FormatDiagnostic(e);
    EXPECT_FALSE(e.found.empty()) << FormatDiagnostic(e);
  }
  Status st = r.ToStatus();
  EXPECT_EQ(st.code(), ErrorCode::kInvalidConfig);
  EXPECT_NE(st.message().find("5 errors"), std::string::npos);
  EXPECT_NE(st.message().find("test.yaml:12:7"), std::string::npos) << st.message();
}

TEST(ConfigRules, ImmutableFieldsAgainstState) {
  auto r = Parse(kAws);
  ASSERT_TRUE(r.ok());
  StateDocument same;
  same.provider = "aws";
  same.project_name = "demo";
  same.cloud = {{"storage", {{"type", "efs"}}}};
  EXPECT_TRUE(CheckImmutableFields(*r.config, same, "nic-state.json").empty());

  StateDocument other = same;
  other.provider = "gcp";
  other.project_name = "prod";
  other.cloud = {{"storage", {{"type", "nfs"}}}};
  auto errs = CheckImmutableFields(*r.config, other, "nic-state.json");
  ASSERT_EQ(errs.size(), 3u);
  EXPECT_EQ(errs[0].path, "project_name");
  EXPECT_EQ(errs[0].line, 1);
  EXPECT_EQ(errs[0].expected, "prod");
  EXPECT_EQ(errs[0].found, "demo");
  EXPECT_EQ(errs[1].path, "provider");
  EXPECT_EQ(errs[1].line, 2);
  EXPECT_EQ(errs[2].path, "storage.type");
  EXPECT_NE(errs[2].message.find("nic-state.json"), std::string::npos);

  // A volume type in state (design §14.2 "ebs") is compared with the provider section's
  // storage.type only when the config states one.
  StateDocument ebs = same;
  ebs.cloud = {{"storage", {{"type", "ebs"}}}};
  EXPECT_TRUE(CheckImmutableFields(*r.config, ebs, "s").empty());
  auto with_storage = Parse(std::string(kAws) + "  storage: {type: gp3, size: 100}\n");
  ASSERT_TRUE(with_storage.ok()) << DumpDiagnostics(with_storage);
  auto e2 = CheckImmutableFields(*with_storage.config, ebs, "s");
  ASSERT_EQ(e2.size(), 1u);
  EXPECT_EQ(e2[0].path, "amazon_web_services.storage.type");
  EXPECT_EQ(e2[0].line, 12);
}

}  // namespace
}  // namespace nic

namespace nic {
namespace {

TEST(ConfigRules, ExistingProviderWarnsWithoutKubeContext) {
  auto r = testing::Parse("project_name: demo\nnebari_version: 2025.10.1\nprovider: existing\n");
  ASSERT_TRUE(r.ok()) << testing::DumpDiagnostics(r);
  ASSERT_EQ(r.warnings.size(), 1u) << testing::DumpDiagnostics(r);
  EXPECT_EQ(r.warnings[0].path, "existing.kube_context");
  EXPECT_EQ(r.warnings[0].line, 3);
}

TEST(ConfigRules, KubernetesVersionNewerThanNebariSupportsWarns) {
  std::string yaml = kAws;
  yaml.replace(yaml.find("'1.29'"), 6, "'1.35'");
  auto r = testing::Parse(yaml);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.warnings.size(), 1u) << testing::DumpDiagnostics(r);
  EXPECT_NE(r.warnings[0].message.find("1.34"), std::string::npos);
}

TEST(ConfigRules, ErrorFloodIsCapped) {
  std::string yaml = "project_name: demo\nlocal:\n";
  for (int i = 0; i < 50000; ++i) yaml += "  unknown_key_number_" + std::to_string(i) + ": 1\n";
  auto start = std::chrono::steady_clock::now();
  auto r = testing::Parse(yaml);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(ms, 5000);
  EXPECT_EQ(r.errors.size(), 201u);
  EXPECT_NE(r.errors.back().message.find("not reported"), std::string::npos);
}

// The examples of design §14.3 and §7.5 (AWS, local) validate as written.
TEST(ConfigRules, DesignDocumentExamplesValidate) {
  auto full = testing::Parse(R"(project_name: my-production-nebari
namespace: production
provider: aws

amazon_web_services:
  region: us-west-2
  kubernetes_version: "1.28"
  availability_zones:
    - us-west-2a
    - us-west-2b
  vpc_cidr: "10.0.0.0/16"

  node_groups:
    general:
      instance_type: m5.xlarge
      min_size: 2
      max_size: 10
      disk_size: 100
      labels:
        role: general
      taints:
        - key: "workload"
          value: "general"
          effect: "NoSchedule"

    user:
      instance_type: m5.2xlarge
      min_size: 0
      max_size: 20
      disk_size: 200
      labels:
        role: user

    worker:
      instance_type: m5.xlarge
      min_size: 1
      max_size: 50
      disk_size: 100
      labels:
        role: worker

  storage:
    type: ebs
    size: 500
)");
  // "my-production-nebari" is 20 characters: Nebari's 16-character limit applies.
  ASSERT_EQ(full.errors.size(), 1u) << testing::DumpDiagnostics(full);
  EXPECT_EQ(full.errors[0].path, "project_name");
  EXPECT_EQ(full.errors[0].line, 1);

  auto local = testing::Parse(R"(project_name: my-nebari
provider: local
local:
  kube_context: k3s-default
  node_selectors:
    general: {"role": "general"}
    user: {"role": "user"}
  storage:
    type: local-path
    path: /mnt/data
)");
  ASSERT_TRUE(local.ok()) << testing::DumpDiagnostics(local);
  EXPECT_EQ(local.config->provider_settings["storage"]["path"], "/mnt/data");
  EXPECT_EQ(local.config->provider_settings["node_selectors"]["user"]["value"], "user");
}

}  // namespace
}  // namespace nic

namespace nic {
namespace {

TEST(ConfigRules, MissingGeneralGroupWarns) {
  std::string yaml = kAws;
  yaml.replace(yaml.find("    general:"), 12, "    main:");
  auto r = testing::Parse(yaml);
  ASSERT_TRUE(r.ok()) << testing::DumpDiagnostics(r);
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_EQ(r.warnings[0].path, "amazon_web_services.node_groups");
  EXPECT_EQ(r.warnings[0].line, 8);
  // Without "general" every group gets the default taint.
  EXPECT_EQ(r.config->node_groups[0].taints.size(), 1u);
}

}  // namespace
}  // namespace nic

namespace nic {
namespace {

TEST(ConfigRules, BooleansAcceptNebariLaxSpellings) {
  auto r = testing::Parse(AwsGeneral("gpu: yes\n      spot: 'off'\n      single_subnet: True"));
  ASSERT_TRUE(r.ok()) << testing::DumpDiagnostics(r);
  EXPECT_TRUE(testing::FindGroup(*r.config, "general")->gpu);
  EXPECT_FALSE(testing::FindGroup(*r.config, "general")->spot);
  EXPECT_TRUE(testing::FindGroup(*r.config, "general")->single_subnet);
  auto bad = testing::Parse(AwsGeneral("gpu: maybe"));
  auto* e = testing::FindError(bad, "amazon_web_services.node_groups.general.gpu");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->expected, "true or false");
}

TEST(ConfigRules, OneDocumentOnly) {
  auto r = testing::Parse("project_name: demo\n---\nproject_name: other\n");
  ASSERT_EQ(r.errors.size(), 1u) << testing::DumpDiagnostics(r);
  EXPECT_NE(r.errors[0].message.find("2 YAML documents"), std::string::npos);
  EXPECT_EQ(r.errors[0].line, 3);
  // A leading document marker is fine.
  EXPECT_TRUE(testing::Parse("---\nproject_name: demo\n").ok());
}

}  // namespace
}  // namespace nic

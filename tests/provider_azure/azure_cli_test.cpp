// `nic deploy` and `nic plan` for an Azure nebari-config.yaml against the ARM stand-in. This
// version of NIC takes over existing stacks rather than creating new clusters, so the test first
// builds a NIC-tagged stack through the provider (as an earlier run would have), then `deploy
// --adopt-orphans` records it, a re-plan is clean, and a changed node group is updated in place.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "nic/azure_provider.h"
#include "tests/support/python_server.h"
#include "tests/support/test_util.h"

namespace nic::testing {
namespace {

using json = nlohmann::json;

constexpr const char* kToken = "cli-arm-token";
constexpr const char* kSub = "00000000-0000-0000-0000-0000000000c1";

std::string Config(int user_max) {
  return "provider: azure\n"
         "project_name: nebari\n"
         "namespace: dev\n"
         "domain: nebari.example.com\n"
         "azure:\n"
         "  region: East US\n"
         "  kubernetes_version: '1.29.7'\n"
         "  storage_account_postfix: abcd\n"
         "  node_groups:\n"
         "    general:\n"
         "      instance: Standard_D8_v3\n"
         "      min_nodes: 1\n"
         "      max_nodes: 1\n"
         "    user:\n"
         "      instance: Standard_D4_v3\n"
         "      min_nodes: 0\n"
         "      max_nodes: " + std::to_string(user_max) + "\n";
}

json ArmGet(int port, const std::string& path) {
  auto r = RawHttp(port, "GET", std::string("/subscriptions/") + kSub + path, "",
                   {{"Authorization", std::string("Bearer ") + kToken}});
  EXPECT_EQ(r.status, 200) << path << ": " << r.body;
  return json::parse(r.body, nullptr, false);
}

TEST(AzureCli, DeployCreatesTheStackThenPlanIsCleanAndAChangeIsApplied) {
  auto server = PythonServer::Start("arm_server.py", {"--require-token", kToken, "--page-size", "2"});
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  TempDir dir;
  std::string config = dir.Write("nebari-config.yaml", Config(5));
  std::string state = dir.File("nic-state.json");
  std::map<std::string, std::string> env = {{"NIC_AZURE_ARM_ENDPOINT", (*server)->endpoint()},
                                            {"AZURE_SUBSCRIPTION_ID", kSub},
                                            {"NIC_AZURE_TOKEN", kToken}};

  {
    ProviderContext ctx;
    ctx.project_name = "nebari";  // what the CLI tags and discovers with: the config's project_name
    ctx.region = "eastus";
    AzureProviderOptions o;
    o.endpoint = (*server)->endpoint();
    o.subscription_id = kSub;
    o.token = kToken;
    o.poll_initial = std::chrono::milliseconds(1);
    o.env = auth::MapEnv({});
    auto p = NewAzureProvider(ctx, o);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    json general = {{"name", "general"}, {"instance_type", "Standard_D8_v3"},
                    {"scaling_config", {{"min_size", 1}, {"max_size", 1}}}, {"auto_scaling_enabled", true},
                    {"mode", "System"}, {"cluster_name", "nebari-dev"}, {"resource_group_name", "nebari-dev"},
                    {"labels", {{"azure-node-pool", "general"}}}};
    json user = general;
    user["name"] = "user";
    user["labels"] = {{"azure-node-pool", "user"}};
    user["instance_type"] = "Standard_D4_v3";
    user["scaling_config"] = {{"min_size", 0}, {"max_size", 5}};
    user["mode"] = "User";
    user["taints"] = {"dedicated=nebari:NoSchedule"};  // Nebari's default taint for groups other than general
    for (const auto& [coll, v] :
         std::vector<std::pair<std::string, json>>{
             {"cloud.resource_groups", {{"name", "nebari-dev"}, {"location", "eastus"}}},
             {"cloud.cluster", {{"name", "nebari-dev"}, {"resource_group_name", "nebari-dev"}, {"version", "1.29.7"},
                                {"default_node_pool", "general"}, {"default_node_pool_settings", general}}},
             {"cloud.node_groups", general},
             {"cloud.node_groups", user}}) {
      auto r = (*p)->Create(coll, v, "");
      ASSERT_TRUE(r.ok()) << coll << ": " << r.status().ToString();
    }
  }

  auto deploy = RunNic({"deploy", "-f", config, "--state", state, "--auto-approve", "--adopt-orphans"}, env);
  ASSERT_EQ(deploy.exit_code, 0) << deploy.out << deploy.err;
  const int port = (*server)->port();
  json rg = ArmGet(port, "/resourceGroups/nebari-dev?api-version=2021-04-01");
  EXPECT_EQ(rg["location"], "eastus");
  EXPECT_EQ(rg["tags"]["nic.nebari.dev_managed-by"], "nic");
  std::string aks = "/resourceGroups/nebari-dev/providers/Microsoft.ContainerService/managedClusters/nebari-dev";
  json cluster = ArmGet(port, aks + "?api-version=2024-09-01");
  EXPECT_EQ(cluster["properties"]["kubernetesVersion"], "1.29.7");
  json user = ArmGet(port, aks + "/agentPools/user?api-version=2024-09-01");
  EXPECT_EQ(user["properties"]["vmSize"], "Standard_D4_v3");
  EXPECT_EQ(user["properties"]["maxCount"], 5);
  EXPECT_EQ(user["properties"]["mode"], "User");
  json general = ArmGet(port, aks + "/agentPools/general?api-version=2024-09-01");
  EXPECT_EQ(general["properties"]["mode"], "System");

  auto clean = RunNic({"plan", "-f", config, "--state", state, "--detailed-exitcode"}, env);
  EXPECT_EQ(clean.exit_code, 0) << clean.out << clean.err;

  dir.Write("nebari-config.yaml", Config(7));
  auto changed = RunNic({"plan", "-f", config, "--state", state, "--detailed-exitcode"}, env);
  EXPECT_EQ(changed.exit_code, 2) << changed.out << changed.err;
  EXPECT_NE(changed.out.find("user"), std::string::npos) << changed.out;
  auto again = RunNic({"deploy", "-f", config, "--state", state, "--auto-approve"}, env);
  ASSERT_EQ(again.exit_code, 0) << again.out << again.err;
  EXPECT_EQ(ArmGet(port, aks + "/agentPools/user?api-version=2024-09-01")["properties"]["maxCount"], 7);

  // Destroy: AKS refuses to delete the cluster's System pool on its own, so that pool stays
  // recorded until the cluster is deleted, and everything is gone at the end.
  auto destroy = RunNic({"destroy", "-f", config, "--state", state, "--auto-approve", "--format", "json"}, env);
  ASSERT_EQ(destroy.exit_code, 0) << destroy.out << destroy.err;
  EXPECT_NE(destroy.err.find("cloud.node_groups.general goes with cloud.cluster"), std::string::npos) << destroy.err;
  auto gone = RawHttp(port, "GET", std::string("/subscriptions/") + kSub + aks + "?api-version=2024-09-01", "",
                      {{"Authorization", std::string("Bearer ") + kToken}});
  EXPECT_EQ(gone.status, 404) << gone.body;
  auto rg_gone = RawHttp(port, "GET", std::string("/subscriptions/") + kSub + "/resourceGroups/nebari-dev?api-version=2021-04-01",
                         "", {{"Authorization", std::string("Bearer ") + kToken}});
  EXPECT_EQ(rg_gone.status, 404) << rg_gone.body;
  json st = json::parse(ReadFileOrDie(state));
  EXPECT_FALSE(st["cloud"].contains("node_groups") && !st["cloud"]["node_groups"].empty()) << st.dump(1);
  EXPECT_FALSE(st["cloud"].contains("cluster") && !st["cloud"]["cluster"].is_null()) << st.dump(1);
}

// `nic import` of Nebari's Azure Terraform state, then `nic plan` against the same stack live:
// the importer's shapes and the provider's reads agree field by field, so nothing changes.
TEST(AzureCli, ImportedTerraformStackPlansCleanAgainstTheLiveStack) {
  constexpr const char* kFixtureSub = "00000000-0000-4000-8000-000000000000";  // the fixture's ids
  auto server = PythonServer::Start("arm_server.py", {"--require-token", kToken, "--page-size", "2"});
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  {
    ProviderContext ctx;
    ctx.project_name = "nebari";
    ctx.region = "eastus";
    AzureProviderOptions o;
    o.endpoint = (*server)->endpoint();
    o.subscription_id = kFixtureSub;
    o.token = kToken;
    o.poll_initial = std::chrono::milliseconds(1);
    o.env = auth::MapEnv({});
    auto p = NewAzureProvider(ctx, o);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    auto pool = [](const std::string& name, const std::string& vm, int min, int max) {
      return json{{"name", name}, {"instance_type", vm}, {"scaling_config", {{"min_size", min}, {"max_size", max}}},
                  {"auto_scaling_enabled", true}, {"mode", name == "general" ? "System" : "User"},
                  {"labels", {{"azure-node-pool", name}}}, {"cluster_name", "nebari-dev"},
                  {"resource_group_name", "nebari-dev-rg"}};
    };
    for (const auto& [coll, v] : std::vector<std::pair<std::string, json>>{
             {"cloud.resource_groups", {{"name", "nebari-dev-rg"}, {"location", "eastus"}}},
             {"cloud.cluster", {{"name", "nebari-dev"}, {"resource_group_name", "nebari-dev-rg"}, {"version", "1.31.5"},
                                {"oidc_issuer_enabled", true}, {"workload_identity_enabled", true},
                                {"dns_prefix", "nebari-dev"}, {"default_node_pool", "general"},
                                {"default_node_pool_settings", pool("general", "Standard_D8_v3", 1, 1)}}},
             {"cloud.node_groups", pool("general", "Standard_D8_v3", 1, 1)},
             {"cloud.node_groups", pool("user", "Standard_D4_v3", 0, 5)},
             {"cloud.node_groups", pool("worker", "Standard_D4_v3", 0, 5)}}) {
      auto r = (*p)->Create(coll, v, "");
      ASSERT_TRUE(r.ok()) << coll << ": " << r.status().ToString();
    }
  }
  TempDir dir;
  // The fixture's config, with what its Terraform state says: the resource group's name,
  // workload identity on, and no taints on user/worker (the state has none).
  std::string config = dir.Write("nebari-config.yaml",
                                 "project_name: nebari\nnamespace: dev\nprovider: azure\ndomain: nebari.example.com\n"
                                 "terraform_state:\n  type: remote\nazure:\n  region: eastus\n"
                                 "  kubernetes_version: '1.31.5'\n  storage_account_postfix: abcd\n"
                                 "  resource_group_name: nebari-dev-rg\n  workload_identity_enabled: true\n"
                                 "  node_groups:\n"
                                 "    general: {instance: Standard_D8_v3, min_nodes: 1, max_nodes: 1}\n"
                                 "    user: {instance: Standard_D4_v3, min_nodes: 0, max_nodes: 5, taints: []}\n"
                                 "    worker: {instance: Standard_D4_v3, min_nodes: 0, max_nodes: 5, taints: []}\n");
  std::string fixtures = SourceDir() + "/tests/fixtures/tfstate/";
  std::string state = dir.File("nic-state.json");
  auto imp = RunNic({"import", "--from-terraform", "--config", config, "--terraform-state-02", fixtures + "azure_02.tfstate",
                     "--terraform-state-03", fixtures + "azure_03.tfstate", "--output-state", state,
                     "--output-file", dir.File("outputs.json")});
  ASSERT_EQ(imp.exit_code, 0) << imp.out << imp.err;
  std::map<std::string, std::string> env = {{"NIC_AZURE_ARM_ENDPOINT", (*server)->endpoint()},
                                            {"AZURE_SUBSCRIPTION_ID", kFixtureSub},
                                            {"NIC_AZURE_TOKEN", kToken}};
  auto plan = RunNic({"plan", "-f", config, "--state", state, "--detailed-exitcode"}, env);
  EXPECT_EQ(plan.exit_code, 0) << plan.out << plan.err;
  // Every imported Azure resource was read live (resource group, cluster, three pools).
  EXPECT_NE(plan.out.find("refreshed 5 resources"), std::string::npos) << plan.out;
}

TEST(AzureCli, MissingSubscriptionIsAClearConfigError) {
  TempDir dir;
  std::string config = dir.Write("nebari-config.yaml", Config(5));
  auto r = RunNic({"plan", "-f", config, "--state", dir.File("s.json")},
                  {{"AZURE_SUBSCRIPTION_ID", ""}, {"ARM_SUBSCRIPTION_ID", ""}, {"NIC_AZURE_TOKEN", "t"}});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE((r.out + r.err).find("Azure subscription is not set"), std::string::npos) << r.out << r.err;
}

}  // namespace
}  // namespace nic::testing

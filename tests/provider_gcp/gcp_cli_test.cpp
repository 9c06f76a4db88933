// `nic plan` and `nic deploy` for a GCP nebari-config.yaml against the gcp_server.py stand-in:
// the live GKE cluster and node pools are refreshed, a scaling change is planned and applied,
// and a second plan is empty.
#include <gtest/gtest.h>

#include "nic/env.h"
#include "nic/gcp_provider.h"
#include "nic/state.h"
#include "tests/support/python_server.h"
#include "tests/support/test_util.h"

namespace nic::testing {
namespace {

using json = nlohmann::json;

constexpr const char* kToken = "gcp-cli-token";

const char* kConfig = R"(provider: gcp
project_name: nebari
namespace: dev
domain: nebari.example.com
google_cloud_platform:
  project: nic-cli-project
  region: us-central1
  kubernetes_version: '1.29'
  node_groups:
    general:
      instance: e2-highmem-4
      min_nodes: 1
      max_nodes: 1
    user:
      instance: e2-standard-4
      min_nodes: 0
      max_nodes: 6
)";

TEST(GcpCli, PlanAndDeployAScalingChangeAgainstTheStandIn) {
  auto server = PythonServer::Start("gcp_server.py", {"--require-token", kToken, "--op-polls", "1"});
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  const std::map<std::string, std::string> env = {{"NIC_GCP_ENDPOINT", (*server)->endpoint()},
                                                  {"GOOGLE_OAUTH_ACCESS_TOKEN", kToken}};

  // What Terraform made (as far as NIC manages it): the cluster and two node pools, user at max 3.
  ProviderContext ctx;
  ctx.project_name = "nebari";
  ctx.region = "us-central1";
  ctx.cloud_project = "nic-cli-project";
  GcpProviderOptions o;
  o.env = auth::MapEnv(env);
  o.poll_initial = std::chrono::milliseconds(1);
  auto provider = NewGcpProvider(ctx, o);
  ASSERT_TRUE(provider.ok()) << provider.status().ToString();
  auto cluster = (*provider)->Create("cloud.cluster", {{"name", "nebari-dev"}, {"kubernetes_version", "1.29"}}, "t");
  ASSERT_TRUE(cluster.ok()) << cluster.status().ToString();
  json taint = json::array({{{"key", "dedicated"}, {"value", "nebari"}, {"effect", "NO_SCHEDULE"}}});
  auto general = (*provider)->Create("cloud.node_groups", {{"name", "general"}, {"cluster", "nebari-dev"}, {"instance_type", "e2-highmem-4"},
                                                           {"scaling_config", {{"min_size", 1}, {"max_size", 1}}}}, "t");
  auto user = (*provider)->Create("cloud.node_groups", {{"name", "user"}, {"cluster", "nebari-dev"}, {"instance_type", "e2-standard-4"},
                                                        {"scaling_config", {{"min_size", 0}, {"max_size", 3}}}, {"taints", taint}}, "t");
  ASSERT_TRUE(general.ok() && user.ok()) << general.status().ToString() << user.status().ToString();

  TempDir dir;
  const std::string config = dir.File("nebari-config.yaml"), state = dir.File("nic-state.json");
  WriteFileOrDie(config, kConfig);
  StateDocument doc = StateDocument::NewEmpty("gcp", "nebari", "us-central1", Env::Default()->NowMicros());
  doc.cloud["cluster"] = *cluster;
  doc.cloud["node_groups"] = json::array({*general, *user});
  WriteFileOrDie(dir.File("seed.json"), SerializeStateDocument(doc));
  auto push = RunNic({"state", "push", dir.File("seed.json"), "--state", state});
  ASSERT_EQ(push.exit_code, 0) << push.err;

  auto plan = RunNic({"plan", "-f", config, "--state", state, "--format", "json", "--detailed-exitcode"}, env);
  ASSERT_EQ(plan.exit_code, 2) << plan.out << plan.err;
  json p = json::parse(plan.out);
  EXPECT_EQ(p["refreshed"], 3) << p.dump(2);
  int changes = 0;
  for (const auto& c : p["changes"]) {
    if (c["action"] == "no-op") continue;
    ++changes;
    EXPECT_EQ(c["address"], "cloud.node_groups.user") << c.dump(2);
    EXPECT_EQ(c["action"], "update") << c.dump(2);
  }
  EXPECT_EQ(changes, 1) << p.dump(2);

  auto deploy = RunNic({"deploy", "-f", config, "--state", state, "--auto-approve"}, env);
  ASSERT_EQ(deploy.exit_code, 0) << deploy.out << deploy.err;
  auto live = json::parse(RawHttp((*server)->port(), "GET",
                                  "/v1/projects/nic-cli-project/locations/us-central1/clusters/nebari-dev/nodePools/user", "",
                                  {{"Authorization", std::string("Bearer ") + kToken}}).body);
  EXPECT_EQ(live["autoscaling"]["maxNodeCount"], 6) << live.dump();
  auto shown = RunNic({"state", "show", "cloud.node_groups.user", "--state", state, "--format", "json"});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_NE(shown.out.find("\"max_size\": 6"), std::string::npos) << shown.out;

  auto again = RunNic({"plan", "-f", config, "--state", state, "--detailed-exitcode"}, env);
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
}

}  // namespace
}  // namespace nic::testing

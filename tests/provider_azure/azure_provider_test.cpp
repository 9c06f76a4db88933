// The Azure provider against the ARM stand-in (tests/servers/arm_server.py): the Nebari-shaped
// stack created, read back field by field, discovered by tags, updated, retried through 409/412,
// listed across pages, deleted through Location polling, and ARM errors surfaced clearly.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <set>

#include <nlohmann/json.hpp>

#include "nic/azure_provider.h"
#include "nic/fault_transport.h"
#include "tests/support/python_server.h"

namespace nic::testing {
namespace {

using json = nlohmann::json;

constexpr const char* kToken = "arm-test-token";
constexpr const char* kSub = "00000000-0000-0000-0000-0000000000a1";
constexpr const char* kProject = "nebari";
constexpr const char* kRg = "nebari-dev";
constexpr const char* kCluster = "nebari-dev";

class AzureProviderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    // Two pages per list and two status polls per operation make every path the provider
    // follows (nextLink, Azure-AsyncOperation, Location) take more than one request.
    auto s = PythonServer::Start("arm_server.py", {"--require-token", kToken, "--page-size", "2", "--lro-polls", "2"});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(s).value().release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    ASSERT_EQ(RawHttp(server_->port(), "POST", "/_test/reset?data=1").status, 200);
    provider_ = Make();
  }

  static ProviderContext Context() {
    ProviderContext ctx;
    ctx.project_name = kProject;
    ctx.region = "eastus";
    ctx.nic_version = "0.1.0";
    ctx.config_hash = "sha256:0123456789abcdef";
    ctx.user_tags = {{"team", "data"}};
    ctx.wait_timeout_micros = 20LL * 1000 * 1000;
    return ctx;
  }

  static std::unique_ptr<Provider> Make(ProviderContext ctx = Context(), const std::string& token = kToken,
                                        int conflict_retries = 5) {
    AzureProviderOptions o;
    o.endpoint = server_->endpoint();
    o.subscription_id = kSub;
    o.token = token;
    o.poll_initial = std::chrono::milliseconds(1);
    o.poll_max = std::chrono::milliseconds(5);
    o.max_conflict_retries = conflict_retries;
    o.retry.policy.max_attempts = 2;
    o.retry.policy.base_delay = std::chrono::milliseconds(1);
    o.env = auth::MapEnv({});
    auto p = NewAzureProvider(ctx, o);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return p.ok() ? std::move(p).value() : nullptr;
  }

  static json Post(const std::string& target, const json& body) {
    auto r = RawHttp(server_->port(), "POST", target, body.dump(), {{"Content-Type", "application/json"}});
    EXPECT_EQ(r.status, 200) << r.body;
    return json::parse(r.body, nullptr, false);
  }
  static json Requests() { return json::parse(RawHttp(server_->port(), "GET", "/_test/requests").body); }
  static RawHttpResponse Arm(const std::string& method, const std::string& path, const json& body = nullptr) {
    std::map<std::string, std::string> h = {{"Authorization", std::string("Bearer ") + kToken}};
    std::string b;
    if (!body.is_null()) {
      b = body.dump();
      h["Content-Type"] = "application/json";
    }
    return RawHttp(server_->port(), method, path, b, h);
  }

  static json Group() { return {{"name", kRg}, {"location", "eastus"}}; }
  static json Vnet() {
    return {{"name", "nebari-vnet"}, {"resource_group_name", kRg}, {"address_space", {"10.10.0.0/16"}}};
  }
  static json Subnet(const std::string& name, const std::string& cidr) {
    return {{"name", name}, {"resource_group_name", kRg}, {"virtual_network_name", "nebari-vnet"},
            {"address_prefixes", {cidr}}};
  }
  static json General() {
    return {{"name", "general"},
            {"instance_type", "Standard_D8_v3"},
            {"scaling_config", {{"min_size", 1}, {"max_size", 1}}},
            {"auto_scaling_enabled", true},
            {"mode", "System"},
            {"default_node_pool", true},
            {"cluster_name", kCluster},
            {"resource_group_name", kRg}};
  }
  static json User() {
    return {{"name", "user"},
            {"instance_type", "Standard_D4_v3"},
            {"scaling_config", {{"min_size", 0}, {"max_size", 5}}},
            {"auto_scaling_enabled", true},
            {"mode", "User"},
            {"labels", {{"azure-node-pool", "user"}}},
            {"taints", {"dedicated=user:NoSchedule"}},
            {"cluster_name", kCluster},
            {"resource_group_name", kRg}};
  }
  static json Cluster() {
    return {{"name", kCluster},
            {"resource_group_name", kRg},
            {"version", "1.29.7"},
            {"oidc_issuer_enabled", true},
            {"workload_identity_enabled", true},
            {"default_node_pool", "general"},
            {"default_node_pool_settings", General()}};
  }

  // The Nebari-shaped stack, created in dependency order; returns what Create returned.
  std::map<std::string, json> CreateStack() {
    std::map<std::string, json> out;
    auto make = [&](const std::string& addr, const std::string& coll, const json& desired) {
      auto r = provider_->Create(coll, desired, "tok-" + addr);
      EXPECT_TRUE(r.ok()) << addr << ": " << r.status().ToString();
      if (r.ok()) out[addr] = *r;
    };
    make("rg", "cloud.resource_groups", Group());
    make("vpc", "cloud.vpc", Vnet());
    make("subnet.nodes", "cloud.vpc.subnets", Subnet("nodes", "10.10.0.0/20"));
    make("subnet.pods", "cloud.vpc.subnets", Subnet("pods", "10.10.16.0/20"));
    make("identity", "cloud.identities", json{{"name", "nebari-wi"}, {"resource_group_name", kRg}});
    make("cluster", "cloud.cluster", Cluster());
    make("general", "cloud.node_groups", General());
    make("user", "cloud.node_groups", User());
    return out;
  }

  static std::string TagKey(const char* k) { return ToAzureTagKey(k); }

  static PythonServer* server_;
  std::unique_ptr<Provider> provider_;
};

PythonServer* AzureProviderTest::server_ = nullptr;

TEST(AzureTagKey, ReservedCharactersBecomeUnderscores) {
  EXPECT_EQ(ToAzureTagKey("nic.nebari.dev/managed-by"), "nic.nebari.dev_managed-by");
  EXPECT_EQ(ToAzureTagKey("a<b>c%d&e\\f?g/h"), "a_b_c_d_e_f_g_h");
  EXPECT_EQ(ToAzureTagKey("plain.key-1"), "plain.key-1");
}

TEST_F(AzureProviderTest, CreatesTheNebariStackAndReadsItBackFieldByField) {
  auto made = CreateStack();
  ASSERT_EQ(made.size(), 8u);

  const json& rg = made["rg"];
  EXPECT_EQ(rg["name"], kRg);
  EXPECT_EQ(rg["location"], "eastus");
  EXPECT_EQ(rg["tags"][TagKey(kTagManagedBy)], "nic");
  EXPECT_EQ(rg["tags"][TagKey(kTagClusterName)], kProject);
  EXPECT_EQ(rg["tags"][TagKey(kTagResourceType)], "resource-group");
  EXPECT_EQ(rg["tags"][TagKey(kTagConfigHash)], "sha256:0123456789abcdef");
  EXPECT_EQ(rg["tags"]["team"], "data");

  const json& vpc = made["vpc"];
  EXPECT_EQ(vpc["address_space"], json({"10.10.0.0/16"}));
  EXPECT_EQ(vpc["cidr"], "10.10.0.0/16");
  EXPECT_EQ(vpc["resource_group_name"], kRg);
  EXPECT_NE(vpc["id"].get<std::string>().find("/providers/Microsoft.Network/virtualNetworks/nebari-vnet"),
            std::string::npos);

  EXPECT_EQ(made["subnet.pods"]["cidr"], "10.10.16.0/20");
  EXPECT_EQ(made["subnet.pods"]["virtual_network_name"], "nebari-vnet");

  const json& mi = made["identity"];
  EXPECT_FALSE(mi["principal_id"].get<std::string>().empty());
  EXPECT_FALSE(mi["client_id"].get<std::string>().empty());
  EXPECT_EQ(mi["tags"][TagKey(kTagResourceType)], "identity");

  const json& cl = made["cluster"];
  EXPECT_EQ(cl["name"], kCluster);
  EXPECT_EQ(cl["version"], "1.29.7");
  EXPECT_EQ(cl["oidc_issuer_enabled"], true);
  EXPECT_EQ(cl["workload_identity_enabled"], true);
  EXPECT_FALSE(cl["oidc_issuer"].get<std::string>().empty());
  EXPECT_EQ(cl["endpoint"], "https://" + cl["fqdn"].get<std::string>());
  EXPECT_EQ(cl["default_node_pool"], "general");
  EXPECT_FALSE(cl["kubelet_identity"]["client_id"].get<std::string>().empty());
  EXPECT_EQ(cl["tags"][TagKey(kTagResourceType)], "aks-cluster");

  const json& gen = made["general"];
  EXPECT_EQ(gen["instance_type"], "Standard_D8_v3");
  EXPECT_EQ(gen["mode"], "System");
  EXPECT_EQ(gen["cluster_id"], cl["id"]);

  const json& user = made["user"];
  EXPECT_EQ(user["instance_type"], "Standard_D4_v3");
  EXPECT_EQ(user["auto_scaling_enabled"], true);
  EXPECT_EQ(user["scaling_config"]["min_size"], 0);
  EXPECT_EQ(user["scaling_config"]["max_size"], 5);
  EXPECT_EQ(user["labels"], json({{"azure-node-pool", "user"}}));
  EXPECT_EQ(user["taints"], json({"dedicated=user:NoSchedule"}));
  EXPECT_EQ(user["mode"], "User");
  EXPECT_EQ(user["tags"][TagKey(kTagNodePool)], "user");

  // A Read from the recorded identity alone gives the same document.
  auto again = provider_->Read("cloud.node_groups", json{{"id", user["id"]}, {"name", "user"}});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  ASSERT_TRUE(again->has_value());
  EXPECT_EQ(**again, user);
  // And the cluster lists both pools.
  auto pools = Arm("GET", cl["id"].get<std::string>() + "/agentPools?api-version=2024-09-01");
  EXPECT_EQ(json::parse(pools.body)["value"].size(), 2u);
}

TEST_F(AzureProviderTest, DiscoversByTagsAcrossPages) {
  CreateStack();
  // Another cluster's identity and an untagged one must not be found.
  std::string ids = std::string("/subscriptions/") + kSub + "/resourceGroups/" + kRg +
                    "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/";
  ASSERT_EQ(Arm("PUT", ids + "other?api-version=2023-01-31",
                json{{"location", "eastus"},
                     {"tags", {{TagKey(kTagManagedBy), "nic"}, {TagKey(kTagClusterName), "someone-else"}}}})
                .status,
            201);
  ASSERT_EQ(Arm("PUT", ids + "untagged?api-version=2023-01-31", json{{"location", "eastus"}}).status, 201);
  // Five more NIC identities: with two items per page, every list takes several pages.
  for (int i = 0; i < 5; ++i) {
    auto r = provider_->Create("cloud.identities", json{{"name", "extra" + std::to_string(i)}, {"resource_group_name", kRg}}, "");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  Post("/_test/reset", json::object());
  auto found = provider_->Discover(kProject);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  std::set<std::string> addrs;
  for (const auto& ref : *found) addrs.insert(ref.address);
  std::set<std::string> want = {"cloud.resource_groups." + std::string(kRg), "cloud.vpc", "cloud.vpc.subnets.nodes",
                                "cloud.vpc.subnets.pods", "cloud.identities.nebari-wi", "cloud.cluster",
                                "cloud.node_groups.general", "cloud.node_groups.user"};
  for (int i = 0; i < 5; ++i) want.insert("cloud.identities.extra" + std::to_string(i));
  EXPECT_EQ(addrs, want);
  // Dependency order: the resource group first, node groups last.
  EXPECT_EQ(found->front().collection, "cloud.resource_groups");
  EXPECT_EQ(found->back().collection, "cloud.node_groups");
  // 9 tagged resources over 2 per page is 5 pages for /resources alone.
  EXPECT_GE(Requests()["by_method"]["GET"].get<int>(), 5 + 1 + 1 + 1);
}

TEST_F(AzureProviderTest, UpdatesScalingAndLabelsAndRefusesImmutableChanges) {
  auto made = CreateStack();
  json desired = User();
  desired["scaling_config"] = {{"min_size", 1}, {"max_size", 7}};
  desired["labels"] = {{"azure-node-pool", "user"}, {"tier", "interactive"}};
  desired["taints"] = json::array();
  auto up = provider_->Update("cloud.node_groups", made["user"], desired);
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  EXPECT_EQ((*up)["scaling_config"]["min_size"], 1);
  EXPECT_EQ((*up)["scaling_config"]["max_size"], 7);
  EXPECT_EQ((*up)["scaling_config"]["desired_size"], 1);  // the live count moved into the new bounds
  EXPECT_EQ((*up)["labels"]["tier"], "interactive");
  EXPECT_EQ((*up)["taints"], json::array());
  EXPECT_EQ((*up)["instance_type"], "Standard_D4_v3");  // kept

  json bigger = desired;
  bigger["instance_type"] = "Standard_D16_v3";
  auto refused = provider_->Update("cloud.node_groups", made["user"], bigger);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), ErrorCode::kRefused);
  EXPECT_NE(refused.status().message().find("instance_type"), std::string::npos);

  // Cluster: turning workload identity off goes through a full PUT of the live cluster.
  json c = Cluster();
  c["workload_identity_enabled"] = false;
  auto cu = provider_->Update("cloud.cluster", made["cluster"], c);
  ASSERT_TRUE(cu.ok()) << cu.status().ToString();
  EXPECT_EQ((*cu)["workload_identity_enabled"], false);
  EXPECT_EQ((*cu)["fqdn"], made["cluster"]["fqdn"]);

  // Address space of the network: the subnets survive the PUT.
  json v = Vnet();
  v["address_space"] = {"10.10.0.0/16", "10.20.0.0/16"};
  auto vu = provider_->Update("cloud.vpc", made["vpc"], v);
  ASSERT_TRUE(vu.ok()) << vu.status().ToString();
  EXPECT_EQ((*vu)["address_space"].size(), 2u);
  auto sub = provider_->Read("cloud.vpc.subnets", made["subnet.nodes"]);
  ASSERT_TRUE(sub.ok() && sub->has_value());
}

TEST_F(AzureProviderTest, ConflictsAreRetriedAfterARereadAndSurfaceWhenTheyPersist) {
  auto made = CreateStack();
  json desired = User();
  desired["scaling_config"] = {{"min_size", 0}, {"max_size", 9}};
  Post("/_test/inject", {{"method", "PUT"}, {"path_contains", "agentPools/user"}, {"status", 409},
                         {"code", "AnotherOperationInProgress"}, {"message", "an update is running"}, {"count", 1}});
  Post("/_test/inject", {{"method", "PUT"}, {"path_contains", "agentPools/user"}, {"status", 412},
                         {"code", "PreconditionFailed"}, {"message", "etag is stale"}, {"count", 1}});
  Post("/_test/reset", json::object());
  auto up = provider_->Update("cloud.node_groups", made["user"], desired);
  ASSERT_TRUE(up.ok()) << up.status().ToString();
  EXPECT_EQ((*up)["scaling_config"]["max_size"], 9);
  EXPECT_EQ(Requests()["by_method"]["PUT"], 3);  // 409, 412, then the one that worked

  // A DELETE refused with 409 while another operation runs is sent again.
  Post("/_test/inject", {{"method", "DELETE"}, {"path_contains", "userAssignedIdentities/nebari-wi"}, {"status", 409},
                         {"code", "AnotherOperationInProgress"}, {"count", 2}});
  ASSERT_TRUE(provider_->Delete("cloud.identities", made["identity"]).ok());
  auto gone = provider_->Read("cloud.identities", made["identity"]);
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());

  // A conflict that does not clear is reported with the ARM code and the pool.
  auto impatient = Make(Context(), kToken, 1);
  Post("/_test/inject", {{"method", "PUT"}, {"path_contains", "agentPools/user"}, {"status", 409},
                         {"code", "AnotherOperationInProgress"}, {"message", "an upgrade is running"}, {"count", 5}});
  desired["scaling_config"]["max_size"] = 4;
  auto failed = impatient->Update("cloud.node_groups", made["user"], desired);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), ErrorCode::kConflict);
  const std::string msg = failed.status().message();
  EXPECT_NE(msg.find("AnotherOperationInProgress"), std::string::npos) << msg;
  EXPECT_NE(msg.find("agent pool user"), std::string::npos) << msg;
  EXPECT_NE(msg.find("HTTP 409"), std::string::npos) << msg;
}

TEST_F(AzureProviderTest, DeletesFollowLocationPollingUntilGone) {
  auto made = CreateStack();
  Post("/_test/reset", json::object());
  ASSERT_TRUE(provider_->Delete("cloud.node_groups", made["user"]).ok());
  // 1 DELETE, then Azure-AsyncOperation polled until done (2 polls), then nothing else.
  EXPECT_EQ(Requests()["by_method"]["DELETE"], 1);
  auto gone = provider_->Read("cloud.node_groups", made["user"]);
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
  // Deleting again is fine (ARM: 204 for something not there).
  EXPECT_TRUE(provider_->Delete("cloud.node_groups", made["user"]).ok());

  // The default System pool goes only with its cluster.
  Status system = provider_->Delete("cloud.node_groups", made["general"]);
  ASSERT_FALSE(system.ok());
  EXPECT_EQ(system.code(), ErrorCode::kRefused);
  EXPECT_NE(system.message().find("last System pool"), std::string::npos) << system.message();

  for (const char* k : {"cluster", "identity", "subnet.pods", "vpc"}) {
    std::string coll = std::string(k) == "cluster" ? "cloud.cluster"
                       : std::string(k) == "identity" ? "cloud.identities"
                       : std::string(k) == "vpc"      ? "cloud.vpc"
                                                      : "cloud.vpc.subnets";
    Status st = provider_->Delete(coll, made[k]);
    ASSERT_TRUE(st.ok()) << k << ": " << st.ToString();
    auto r = provider_->Read(coll, made[k]);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_FALSE(r->has_value()) << k;
  }
  auto general = provider_->Read("cloud.node_groups", made["general"]);
  ASSERT_TRUE(general.ok());
  EXPECT_FALSE(general->has_value());  // gone with the cluster
  // The resource group goes last: its DELETE answers 202 with only a Location header.
  ASSERT_TRUE(provider_->Delete("cloud.resource_groups", made["rg"]).ok());
  auto rg = provider_->Read("cloud.resource_groups", made["rg"]);
  ASSERT_TRUE(rg.ok());
  EXPECT_FALSE(rg->has_value());
  EXPECT_TRUE(provider_->Delete("cloud.resource_groups", made["rg"]).ok());  // ResourceGroupNotFound = gone
}

TEST_F(AzureProviderTest, ArmErrorsBecomeClearNicErrors) {
  // No resource group yet: 404 ResourceGroupNotFound, naming the call and the resource.
  auto missing = provider_->Create("cloud.vpc", Vnet(), "");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
  EXPECT_NE(missing.status().message().find("ResourceGroupNotFound"), std::string::npos);
  EXPECT_NE(missing.status().message().find("virtual network nebari-vnet"), std::string::npos);
  EXPECT_NE(missing.status().message().find("ARM PUT /subscriptions/"), std::string::npos);

  ASSERT_TRUE(provider_->Create("cloud.resource_groups", Group(), "").ok());
  ASSERT_TRUE(provider_->Create("cloud.cluster", Cluster(), "").ok());
  // 400 with the ARM code and target: min above max.
  json bad = User();
  bad["scaling_config"] = {{"min_size", 6}, {"max_size", 2}};
  auto invalid = provider_->Create("cloud.node_groups", bad, "");
  ASSERT_FALSE(invalid.ok());
  EXPECT_EQ(invalid.status().code(), ErrorCode::kInvalidInput);
  EXPECT_NE(invalid.status().message().find("InvalidParameter"), std::string::npos) << invalid.status().message();
  EXPECT_NE(invalid.status().message().find("agent pool user"), std::string::npos);

  // An operation that ends Failed carries its error.
  Post("/_test/lro-fail", {{"path_contains", "agentPools/user"}, {"code", "QuotaExceeded"},
                           {"message", "Operation could not be completed as it results in exceeding approved quota"}});
  auto quota = provider_->Create("cloud.node_groups", User(), "");
  ASSERT_FALSE(quota.ok());
  EXPECT_NE(quota.status().message().find("QuotaExceeded"), std::string::npos) << quota.status().message();
  EXPECT_NE(quota.status().message().find("ended Failed"), std::string::npos);

  // A wrong token: 401, with what to check.
  auto intruder = Make(Context(), "wrong-token");
  auto denied = intruder->Read("cloud.cluster", Cluster());
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.status().code(), ErrorCode::kUnauthenticated);
  EXPECT_NE(denied.status().message().find("InvalidAuthenticationToken"), std::string::npos);

  // Throttling (429 + Retry-After) is retried by the transport layer and does not surface.
  Post("/_test/inject", {{"method", "GET"}, {"path_contains", "managedClusters"}, {"status", 429},
                         {"code", "TooManyRequests"}, {"retry_after", 0}, {"count", 1}});
  auto read = provider_->Read("cloud.cluster", Cluster());
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_TRUE(read->has_value());
}

TEST_F(AzureProviderTest, TheStackConvergesThroughTransportFaults) {
  // 30% of requests (PUTs, DELETE, operation polls, list pages) fail with 5xx, 429, resets or
  // timeouts; the shared retry policy and ARM's idempotent PUT must still build the same stack.
  auto curl = http::NewCurlTransport();
  http::FaultOptions fo;
  fo.seed = 7;
  fo.rate = 0.3;
  http::FaultInjectingTransport faulty(curl.get(), fo);
  AzureProviderOptions o;
  o.endpoint = server_->endpoint();
  o.subscription_id = kSub;
  o.token = kToken;
  o.transport = &faulty;
  o.poll_initial = std::chrono::milliseconds(1);
  o.poll_max = std::chrono::milliseconds(5);
  o.retry.policy.max_attempts = 10;
  o.retry.policy.base_delay = std::chrono::milliseconds(1);
  o.retry.policy.max_delay = std::chrono::milliseconds(5);
  o.env = auth::MapEnv({});
  auto p = NewAzureProvider(Context(), o);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  provider_ = std::move(p).value();
  auto made = CreateStack();
  ASSERT_EQ(made.size(), 8u);
  EXPECT_GT(faulty.injected(), 5);
  // Read back through a clean provider: the same documents, and exactly two pools.
  auto clean = Make();
  for (const auto& [addr, coll] : std::vector<std::pair<std::string, std::string>>{
           {"vpc", "cloud.vpc"}, {"cluster", "cloud.cluster"}, {"user", "cloud.node_groups"}}) {
    auto r = clean->Read(coll, made[addr]);
    ASSERT_TRUE(r.ok() && r->has_value()) << addr;
    EXPECT_EQ(**r, made[addr]) << addr;
  }
  auto pools = Arm("GET", made["cluster"]["id"].get<std::string>() + "/agentPools?api-version=2024-09-01");
  EXPECT_EQ(json::parse(pools.body)["value"].size(), 2u);
  ASSERT_TRUE(provider_->Delete("cloud.node_groups", made["user"]).ok());
  auto gone = clean->Read("cloud.node_groups", made["user"]);
  ASSERT_TRUE(gone.ok());
  EXPECT_FALSE(gone->has_value());
}

TEST_F(AzureProviderTest, WaitingStopsAtTheContextTimeout) {
  ASSERT_TRUE(provider_->Create("cloud.resource_groups", Group(), "").ok());
  ProviderContext ctx = Context();
  ctx.wait_timeout_micros = 0;
  auto hasty = Make(ctx);
  auto r = hasty->Create("cloud.vpc", Vnet(), "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kTimeout);
  EXPECT_NE(r.status().message().find("virtual network nebari-vnet did not finish"), std::string::npos)
      << r.status().message();
}

TEST(AzureRetryAfter, TheServersRetryAfterIsHonouredWhilePolling) {
  // Operations answer "Retry-After: 30": NIC must wait that long before polling, which a
  // 2-second wait budget cannot cover, so it stops at once (its own 1 ms backoff would not).
  auto s = PythonServer::Start("arm_server.py", {"--lro-polls", "1", "--retry-after", "30"});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ProviderContext ctx;
  ctx.project_name = "nebari";
  ctx.region = "eastus";
  ctx.wait_timeout_micros = 2LL * 1000 * 1000;
  AzureProviderOptions o;
  o.endpoint = (*s)->endpoint();
  o.subscription_id = kSub;
  o.token = "t";
  o.poll_initial = std::chrono::milliseconds(1);
  o.env = auth::MapEnv({});
  auto p = NewAzureProvider(ctx, o);
  ASSERT_TRUE(p.ok());
  ASSERT_TRUE((*p)->Create("cloud.resource_groups", json{{"name", kRg}}, "").ok());  // synchronous
  ASSERT_EQ(RawHttp((*s)->port(), "POST", "/_test/reset").status, 200);
  auto r = (*p)->Create("cloud.vpc", json{{"name", "v"}, {"resource_group_name", kRg}, {"cidr", "10.0.0.0/16"}}, "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kTimeout);
  auto counts = json::parse(RawHttp((*s)->port(), "GET", "/_test/requests").body);
  EXPECT_EQ(counts["by_method"].value("GET", 0), 0);  // never polled
}

TEST(AzureEntra, ClientCredentialsFromTheEnvironmentReachArm) {
  // The stand-in also answers {authority}/{tenant}/oauth2/v2.0/token, handing out the token it
  // requires, so this covers the whole credential path: env -> Entra -> bearer -> ARM.
  auto s = PythonServer::Start("arm_server.py", {"--require-token", "minted", "--client-secret", "s3cret"});
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ProviderContext ctx;
  ctx.project_name = "nebari";
  ctx.region = "eastus";
  auto make = [&](const std::string& secret) {
    AzureProviderOptions o;
    o.endpoint = (*s)->endpoint();
    o.retry.policy.max_attempts = 1;
    o.env = auth::MapEnv({{"AZURE_SUBSCRIPTION_ID", kSub},
                          {"AZURE_TENANT_ID", "tenant-1"},
                          {"AZURE_CLIENT_ID", "client-1"},
                          {"AZURE_CLIENT_SECRET", secret},
                          {"AZURE_AUTHORITY_HOST", (*s)->endpoint()}});
    return NewAzureProvider(ctx, o);
  };
  auto good = make("s3cret");
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  auto rg = (*good)->Create("cloud.resource_groups", json{{"name", kRg}}, "");
  ASSERT_TRUE(rg.ok()) << rg.status().ToString();
  EXPECT_EQ((*rg)["location"], "eastus");
  auto bad = make("wrong");
  ASSERT_TRUE(bad.ok());
  auto denied = (*bad)->Read("cloud.resource_groups", json{{"name", kRg}});
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.status().code(), ErrorCode::kUnauthenticated) << denied.status().ToString();
}

TEST(AzureProviderOptions, SubscriptionAndCredentialsAreRequired) {
  ProviderContext ctx;
  ctx.project_name = "p";
  AzureProviderOptions o;
  o.env = auth::MapEnv({});
  auto none = NewAzureProvider(ctx, o);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), ErrorCode::kInvalidConfig);
  ASSERT_FALSE(none.status().suggestions().empty());
  EXPECT_NE(none.status().suggestions()[0].find("AZURE_SUBSCRIPTION_ID"), std::string::npos);
  o.env = auth::MapEnv({{"AZURE_SUBSCRIPTION_ID", "s"}});
  auto nocred = NewAzureProvider(ctx, o);
  ASSERT_FALSE(nocred.ok());
  EXPECT_NE(nocred.status().message().find("no Azure credentials"), std::string::npos);
  ASSERT_FALSE(nocred.status().suggestions().empty());
  EXPECT_NE(nocred.status().suggestions().back().find("NIC_AZURE_TOKEN"), std::string::npos);
  o.env = auth::MapEnv({{"AZURE_SUBSCRIPTION_ID", "s"}, {"NIC_AZURE_TOKEN", "t"}});
  EXPECT_TRUE(NewAzureProvider(ctx, o).ok());
}

}  // namespace
}  // namespace nic::testing

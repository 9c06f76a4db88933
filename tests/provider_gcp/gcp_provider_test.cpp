// The GCP provider against the gcp_server.py stand-in (GKE container/v1 + Compute compute/v1):
// the Nebari-shaped stack created and read back field by field, discovery by labels, scaling and
// label updates, conflict retries (stale fingerprints and etags, a busy cluster), pagination,
// deletion, and server errors as clear NIC errors.
#include <gtest/gtest.h>

#include <mutex>
#include <set>

#include "nic/fault_transport.h"
#include "nic/gcp_provider.h"
#include "tests/support/provider_checks.h"
#include "tests/support/python_server.h"

namespace nic::testing {
namespace {

using json = nlohmann::json;

constexpr const char* kToken = "gcp-provider-token";
constexpr const char* kProject = "nic-test-project";
constexpr const char* kRegion = "us-central1";
constexpr const char* kName = "nebari";  // Nebari project name: the label's cluster-name
constexpr const char* kClusterName = "nebari-dev";

// Forwards to a curl transport and records "METHOD path?query" of each request.
class RecordingTransport final : public http::Transport {
 public:
  RecordingTransport() : inner_(http::NewCurlTransport()) {}
  Result<http::Response> Send(const http::Request& r) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto url = http::ParseUrl(r.url);
      lines_.push_back(r.method + " " + (url.ok() ? url->path + (url->query.empty() ? "" : "?" + url->query) : r.url));
    }
    return inner_->Send(r);
  }
  int parallelism() const override { return inner_->parallelism(); }
  int Count(const std::string& part) {
    std::lock_guard<std::mutex> lock(mu_);
    int n = 0;
    for (const auto& l : lines_) n += l.find(part) != std::string::npos;
    return n;
  }
  void Clear() {
    std::lock_guard<std::mutex> lock(mu_);
    lines_.clear();
  }

 private:
  std::unique_ptr<http::Transport> inner_;
  std::mutex mu_;
  std::vector<std::string> lines_;
};

// Forwards every request, but throws away the answer of the first ones matching a "METHOD
// path" prefix, as a connection lost after the server acted would.
class AnswerLosingTransport final : public http::Transport {
 public:
  AnswerLosingTransport(http::Transport* inner, std::vector<std::string> lose) : inner_(inner), lose_(std::move(lose)) {}
  Result<http::Response> Send(const http::Request& r) override {
    auto resp = inner_->Send(r);
    auto url = http::ParseUrl(r.url);
    std::string line = r.method + " " + (url.ok() ? url->path : r.url);
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = lose_.begin(); it != lose_.end(); ++it) {
      if (line.rfind(*it, 0) == 0) {
        lose_.erase(it);
        ++lost_;
        return Status::Unavailable("connection reset after the request was sent (injected by the test)");
      }
    }
    return resp;
  }
  int parallelism() const override { return inner_->parallelism(); }
  int lost() const { return lost_; }

 private:
  http::Transport* inner_;
  std::mutex mu_;
  std::vector<std::string> lose_;
  int lost_ = 0;
};

PythonServer& Server() {
  static std::unique_ptr<PythonServer> server = [] {
    auto s = PythonServer::Start("gcp_server.py", {"--require-token", kToken, "--op-polls", "2"});
    if (!s.ok()) {
      ADD_FAILURE() << s.status().ToString();
      std::abort();
    }
    return std::move(s).value();
  }();
  return *server;
}

RawHttpResponse Raw(const std::string& method, const std::string& target, const json& body = json()) {
  return RawHttp(Server().port(), method, target, body.is_null() ? "" : body.dump(),
                 {{"Authorization", std::string("Bearer ") + kToken}, {"Content-Type", "application/json"}});
}

const std::string kLoc = std::string("/v1/projects/") + kProject + "/locations/" + kRegion;
const std::string kCmp = std::string("/compute/v1/projects/") + kProject;

class GcpProviderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(Raw("POST", "/_test/reset?data=1").status, 200);
    provider_ = Make();
  }

  // Options for tests: the recording transport, fast polling, small pages, few HTTP retries.
  GcpProviderOptions Options() {
    GcpProviderOptions o;
    o.transport = &transport_;
    o.poll_initial = std::chrono::milliseconds(1);
    o.poll_max = std::chrono::milliseconds(5);
    o.page_size = 2;
    o.retry.policy.max_attempts = 2;
    o.retry.policy.base_delay = std::chrono::milliseconds(1);
    return o;
  }

  std::unique_ptr<Provider> Make() { return Make(Options()); }
  std::unique_ptr<Provider> Make(GcpProviderOptions o, std::string token = kToken) {
    ProviderContext ctx;
    ctx.project_name = kName;
    ctx.region = kRegion;
    ctx.cloud_project = kProject;
    ctx.nic_version = "1.0.0";
    ctx.config_hash = "sha256:abc123";
    ctx.user_tags = {{"Owner", "Data.Team"}};
    ctx.parallelism = 4;
    ctx.wait_timeout_micros = 20LL * 1000 * 1000;
    o.env = auth::MapEnv({{"NIC_GCP_ENDPOINT", Server().endpoint()}, {"GOOGLE_OAUTH_ACCESS_TOKEN", token}});
    auto p = NewGcpProvider(ctx, std::move(o));
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return p.ok() ? std::move(p).value() : nullptr;
  }

  Provider& prov() { return *provider_; }

  json MustCreate(const std::string& collection, const json& desired) {
    return nic::testing::MustCreate(prov(), collection, desired, "tok");
  }
  json MustRead(const std::string& collection, const json& recorded) {
    return nic::testing::MustRead(prov(), collection, recorded);
  }
  json MustUpdate(const std::string& collection, const json& recorded, const json& desired) {
    return nic::testing::MustUpdate(prov(), collection, recorded, desired);
  }

  static json Pool(const std::string& name, const std::string& machine, int64_t min, int64_t max, bool tainted) {
    json p = {{"name", name},
              {"cluster", kClusterName},
              {"location", kRegion},
              {"instance_type", machine},
              {"disk_size_gb", 120},
              {"scaling_config", {{"min_size", min}, {"max_size", max}}},
              {"labels", {{"dedicated", name}}},
              {"taints", json::array()}};
    if (tainted) p["taints"] = json::array({{{"key", "dedicated"}, {"value", name}, {"effect", "NoSchedule"}}});
    return p;
  }

  // The Nebari-shaped stack: network, subnet, firewall, regional cluster, three node pools.
  void CreateStack() {
    MustCreate("cloud.vpc", {{"name", "nebari-dev-net"}});
    MustCreate("cloud.vpc.subnets", {{"name", "nebari-dev-subnet"}, {"network", "nebari-dev-net"},
                                     {"cidr", "10.10.0.0/16"}, {"region", kRegion},
                                     {"secondary_ip_ranges", json::array({{{"range_name", "pods"}, {"ip_cidr_range", "10.20.0.0/16"}}})}});
    MustCreate("cloud.firewalls", {{"name", "nebari-dev-internal"}, {"network", "nebari-dev-net"},
                                   {"source_ranges", {"10.10.0.0/16"}},
                                   {"allow", json::array({{{"protocol", "tcp"}, {"ports", {"0-65535"}}}})}});
    MustCreate("cloud.cluster", {{"name", kClusterName}, {"location", kRegion}, {"kubernetes_version", "1.29"},
                                 {"network", "nebari-dev-net"}, {"subnetwork", "nebari-dev-subnet"}});
    MustCreate("cloud.node_groups", Pool("general", "e2-highmem-4", 1, 1, false));
    MustCreate("cloud.node_groups", Pool("user", "e2-standard-4", 0, 5, true));
    MustCreate("cloud.node_groups", Pool("worker", "e2-standard-4", 0, 5, true));
  }

  RecordingTransport transport_;
  std::unique_ptr<Provider> provider_;
};

TEST_F(GcpProviderTest, CreatesTheNebariStackAndReadsItBackFieldByField) {
  CreateStack();
  // Every change was an operation polled to DONE (--op-polls 2: PENDING, then two reads:
  // RUNNING, DONE): 3 Compute inserts, the cluster create, the default pool's delete and 3
  // node pool creates.
  EXPECT_EQ(transport_.Count("/operations/operation-"), 2 * 8);

  json vpc = MustRead("cloud.vpc", {{"name", "nebari-dev-net"}});
  EXPECT_EQ(vpc["id"], std::string("projects/") + kProject + "/global/networks/nebari-dev-net");
  EXPECT_EQ(vpc["auto_create_subnetworks"], false);
  EXPECT_EQ(vpc["routing_mode"], "REGIONAL");
  EXPECT_EQ(vpc["project"], kProject);

  json subnet = MustRead("cloud.vpc.subnets", {{"name", "nebari-dev-subnet"}, {"region", kRegion}});
  EXPECT_EQ(subnet["cidr"], "10.10.0.0/16");
  EXPECT_EQ(subnet["region"], kRegion);
  EXPECT_TRUE(subnet["network"].get<std::string>().ends_with("/global/networks/nebari-dev-net")) << subnet.dump();
  EXPECT_EQ(subnet["secondary_ip_ranges"], json::parse(R"([{"range_name":"pods","ip_cidr_range":"10.20.0.0/16"}])"));
  EXPECT_EQ(subnet["private_ip_google_access"], false);

  json fw = MustRead("cloud.firewalls", {{"name", "nebari-dev-internal"}});
  EXPECT_EQ(fw["direction"], "INGRESS");
  EXPECT_EQ(fw["priority"], 1000);
  EXPECT_EQ(fw["source_ranges"], json({"10.10.0.0/16"}));
  EXPECT_EQ(fw["allow"], json::parse(R"([{"protocol":"tcp","ports":["0-65535"]}])"));

  json cluster = MustRead("cloud.cluster", {{"name", kClusterName}, {"location", kRegion}});
  EXPECT_EQ(cluster["id"], std::string("projects/") + kProject + "/locations/us-central1/clusters/nebari-dev");
  EXPECT_EQ(cluster["kubernetes_version"], "1.29");
  EXPECT_EQ(cluster["status"], "RUNNING");
  EXPECT_EQ(cluster["network"], "nebari-dev-net");
  EXPECT_EQ(cluster["subnetwork"], "nebari-dev-subnet");
  EXPECT_EQ(cluster["workload_pool"], std::string(kProject) + ".svc.id.goog");
  EXPECT_TRUE(cluster["endpoint"].get<std::string>().starts_with("https://"));
  EXPECT_FALSE(cluster["ca_certificate"].get<std::string>().empty());
  // The NIC tag schema as GCP labels: no dots or slashes, lower case.
  const json& labels = cluster["resource_labels"];
  EXPECT_EQ(labels["nic_nebari_dev_managed-by"], "nic");
  EXPECT_EQ(labels["nic_nebari_dev_cluster-name"], "nebari");
  EXPECT_EQ(labels["nic_nebari_dev_resource-type"], "gke-cluster");
  EXPECT_EQ(labels["nic_nebari_dev_version"], "1-0-0");
  EXPECT_EQ(labels["nic_nebari_dev_config-hash"], "sha256-abc123");
  EXPECT_EQ(labels["owner"], "data-team");

  // remove_default_node_pool: only the three node groups remain.
  auto pools = json::parse(Raw("GET", kLoc + "/clusters/nebari-dev/nodePools").body);
  ASSERT_EQ(pools["nodePools"].size(), 3u) << pools.dump();

  json user = MustRead("cloud.node_groups", {{"name", "user"}, {"cluster", kClusterName}, {"location", kRegion}});
  EXPECT_EQ(user["id"], std::string(kProject) + "/us-central1/nebari-dev/user");
  EXPECT_EQ(user["instance_type"], "e2-standard-4");
  EXPECT_EQ(user["disk_size_gb"], 120);
  EXPECT_EQ(user["scaling_config"], json::parse(R"({"min_size":0,"max_size":5})"));
  EXPECT_EQ(user["labels"], json::parse(R"({"dedicated":"user"})"));
  EXPECT_EQ(user["taints"], json::parse(R"([{"key":"dedicated","value":"user","effect":"NO_SCHEDULE"}])"));
  EXPECT_EQ(user["status"], "RUNNING");
  EXPECT_EQ(user["resource_labels"]["nic_nebari_dev_node-pool"], "user");
  EXPECT_EQ(user["resource_labels"]["nic_nebari_dev_resource-type"], "node-pool");
  // Terraform's id alone identifies a node pool (an imported state entry).
  json by_id = MustRead("cloud.node_groups", {{"id", std::string(kProject) + "/us-central1/nebari-dev/general"}});
  EXPECT_EQ(by_id["name"], "general");
  EXPECT_EQ(by_id["scaling_config"]["max_size"], 1);
}

TEST_F(GcpProviderTest, CreateRetriedAfterALostAnswerClaimsItsOwnResourceButNotSomeoneElses) {
  // The answers to the network insert, the cluster create and a node pool create are lost after
  // the server acted; the resent requests meet 409 ALREADY_EXISTS, find NIC's own
  // description/labels, wait for the operations already running and carry on.
  AnswerLosingTransport losing(&transport_, {"POST /compute/v1/projects/nic-test-project/global/networks",
                                             "POST /v1/projects/nic-test-project/locations/us-central1/clusters",
                                             "POST /v1/projects/nic-test-project/locations/us-central1/clusters/nebari-dev/nodePools"});
  GcpProviderOptions o = Options();
  o.transport = &losing;
  provider_ = Make(o);
  CreateStack();
  EXPECT_EQ(losing.lost(), 3);
  json cluster = MustRead("cloud.cluster", {{"name", kClusterName}});
  EXPECT_EQ(cluster["status"], "RUNNING");
  auto pools = json::parse(Raw("GET", kLoc + "/clusters/nebari-dev/nodePools").body);
  ASSERT_EQ(pools["nodePools"].size(), 3u) << pools.dump();  // the default pool went too
  for (const auto& p : pools["nodePools"]) EXPECT_EQ(p["status"], "RUNNING") << p.dump();
  EXPECT_EQ(transport_.Count("POST /compute/v1/projects/nic-test-project/global/networks"), 2);

  // Someone else's network with the name NIC wants: refused, not claimed.
  ASSERT_EQ(Raw("POST", kCmp + "/global/networks", {{"name", "foreign-net"}}).status, 200);
  auto r = prov().Create("cloud.vpc", {{"name", "foreign-net"}}, "tok");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kConflict);
  EXPECT_NE(r.status().message().find("already exists and was not created by NIC"), std::string::npos) << r.status().ToString();
  // ... and the same for someone else's node pool.
  ASSERT_EQ(Raw("POST", "/_test/reset").status, 200);
  auto op = json::parse(Raw("POST", kLoc + "/clusters/nebari-dev/nodePools", {{"nodePool", {{"name", "theirs"}, {"initialNodeCount", 1}}}}).body);
  for (int i = 0; i < 2; ++i) Raw("GET", kLoc + "/operations/" + op["name"].get<std::string>());
  auto theirs = prov().Create("cloud.node_groups", Pool("theirs", "e2-standard-2", 0, 2, false), "tok");
  ASSERT_FALSE(theirs.ok());
  EXPECT_EQ(theirs.status().code(), ErrorCode::kConflict) << theirs.status().ToString();
}

TEST_F(GcpProviderTest, DiscoversOnlyResourcesLabelledForThisCluster) {
  CreateStack();
  // Unlabelled look-alikes: a cluster and a network someone else made.
  ASSERT_EQ(Raw("POST", kLoc + "/clusters", {{"cluster", {{"name", "other"}, {"initialNodeCount", 1}}}}).status, 200);
  ASSERT_EQ(Raw("POST", kCmp + "/global/networks", {{"name", "other-net"}}).status, 200);
  auto found = prov().Discover(kName);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  std::set<std::string> addresses;
  for (const auto& ref : *found) addresses.insert(ref.address);
  EXPECT_EQ(addresses, (std::set<std::string>{"cloud.vpc", "cloud.vpc.subnets.nebari-dev-subnet",
                                              "cloud.firewalls.nebari-dev-internal", "cloud.cluster",
                                              "cloud.node_groups.general", "cloud.node_groups.user",
                                              "cloud.node_groups.worker"}));
  for (const auto& ref : *found) {
    if (ref.address == "cloud.node_groups.worker") {
      EXPECT_EQ(ref.value["scaling_config"]["max_size"], 5);
    }
  }
  auto none = prov().Discover("someone-else");
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_TRUE(none->empty());
}

TEST_F(GcpProviderTest, UpdatesScalingLabelsTaintsAndClusterLabels) {
  CreateStack();
  json rec = MustRead("cloud.node_groups", {{"name", "user"}, {"cluster", kClusterName}});
  json want = Pool("user", "e2-standard-8", 1, 9, false);
  want["labels"] = {{"dedicated", "user"}, {"tier", "gold"}};
  json got = MustUpdate("cloud.node_groups", rec, want);
  EXPECT_EQ(got["scaling_config"], json::parse(R"({"min_size":1,"max_size":9})"));
  EXPECT_EQ(got["labels"], json::parse(R"({"dedicated":"user","tier":"gold"})"));
  EXPECT_EQ(got["taints"], json::array());
  EXPECT_EQ(got["instance_type"], "e2-standard-8");
  // The live read agrees with what Update returned.
  EXPECT_EQ(MustRead("cloud.node_groups", rec)["scaling_config"]["max_size"], 9);

  json cluster = MustRead("cloud.cluster", {{"name", kClusterName}});
  json added = MustUpdate("cloud.cluster", cluster, {{"name", kClusterName}, {"resource_labels", {{"cost-center", "r-and-d"}}}});
  EXPECT_EQ(added["resource_labels"]["cost-center"], "r-and-d");
  EXPECT_EQ(added["resource_labels"]["nic_nebari_dev_managed-by"], "nic");
  // A label NIC wrote and no longer wants is removed; one someone else added stays.
  std::string fp = json::parse(Raw("GET", kLoc + "/clusters/nebari-dev").body)["labelFingerprint"];
  json labels = added["resource_labels"];
  labels["added-by-hand"] = "yes";
  auto op = json::parse(Raw("POST", kLoc + "/clusters/nebari-dev:setResourceLabels",
                            {{"resourceLabels", labels}, {"labelFingerprint", fp}}).body);
  for (int i = 0; i < 3; ++i) Raw("GET", kLoc + "/operations/" + op["name"].get<std::string>());
  json removed = MustUpdate("cloud.cluster", added, {{"name", kClusterName}});
  EXPECT_FALSE(removed["resource_labels"].contains("cost-center")) << removed.dump();
  EXPECT_EQ(removed["resource_labels"]["added-by-hand"], "yes");

  json subnet = MustRead("cloud.vpc.subnets", {{"name", "nebari-dev-subnet"}});
  json s2 = MustUpdate("cloud.vpc.subnets", subnet, {{"name", "nebari-dev-subnet"}, {"private_ip_google_access", true}});
  EXPECT_EQ(s2["private_ip_google_access"], true);
  json fw = MustRead("cloud.firewalls", {{"name", "nebari-dev-internal"}});
  json f2 = MustUpdate("cloud.firewalls", fw, {{"name", "nebari-dev-internal"}, {"source_ranges", {"10.0.0.0/8"}}, {"priority", 900}});
  EXPECT_EQ(f2["source_ranges"], json({"10.0.0.0/8"}));
  EXPECT_EQ(f2["priority"], 900);
}

TEST_F(GcpProviderTest, StaleFingerprintsAndEtagsAreRetriedAfterReReading) {
  CreateStack();
  json cluster = MustRead("cloud.cluster", {{"name", kClusterName}});
  // Two concurrent writers: the first two setResourceLabels meet a changed fingerprint
  // (GKE: 400 FAILED_PRECONDITION "fingerprint mismatch").
  ASSERT_EQ(Raw("POST", "/_test/stale-fingerprint?count=2").status, 200);
  transport_.Clear();
  json got = MustUpdate("cloud.cluster", cluster, {{"name", kClusterName}, {"resource_labels", {{"team", "a"}}}});
  EXPECT_EQ(got["resource_labels"]["team"], "a");
  EXPECT_EQ(transport_.Count(":setResourceLabels"), 3);

  // Node pool update with a stale etag: 409 ABORTED, re-read, retried.
  json pool = MustRead("cloud.node_groups", {{"name", "worker"}, {"cluster", kClusterName}});
  ASSERT_EQ(Raw("POST", "/_test/stale-fingerprint?count=1").status, 200);
  transport_.Clear();
  json want = Pool("worker", "e2-standard-4", 0, 5, true);
  want["labels"] = {{"dedicated", "worker"}, {"spot", "no"}};
  json p2 = MustUpdate("cloud.node_groups", pool, want);
  EXPECT_EQ(p2["labels"]["spot"], "no");
  EXPECT_EQ(transport_.Count("PUT /v1/"), 2);

  // Subnetwork patch with a stale fingerprint: Compute 412 conditionNotMet, retried.
  json subnet = MustRead("cloud.vpc.subnets", {{"name", "nebari-dev-subnet"}});
  ASSERT_EQ(Raw("POST", "/_test/stale-fingerprint?count=1").status, 200);
  transport_.Clear();
  json s2 = MustUpdate("cloud.vpc.subnets", subnet, {{"name", "nebari-dev-subnet"}, {"private_ip_google_access", true}});
  EXPECT_EQ(s2["private_ip_google_access"], true);
  EXPECT_EQ(transport_.Count("PATCH /compute/v1/"), 2);

  // A writer that never stops: bounded, and the error says what happened.
  GcpProviderOptions o = Options();
  o.max_conflict_retries = 2;
  auto impatient = Make(o);
  ASSERT_EQ(Raw("POST", "/_test/stale-fingerprint?count=10").status, 200);
  auto r = impatient->Update("cloud.cluster", got, {{"name", kClusterName}, {"resource_labels", {{"team", "b"}}}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kConflict);
  EXPECT_NE(r.status().message().find("still conflicting after 2 re-reads"), std::string::npos) << r.status().ToString();
  EXPECT_NE(r.status().message().find("fingerprint mismatch"), std::string::npos) << r.status().ToString();
  ASSERT_EQ(Raw("POST", "/_test/reset").status, 200);
}

TEST_F(GcpProviderTest, WaitsOutAnotherOperationRunningOnTheCluster) {
  CreateStack();
  // Someone else starts a node pool create; GKE refuses NIC's change with 400
  // FAILED_PRECONDITION "Operation ... is currently ..." until it is done. NIC waits for that
  // operation (the stand-in's operations only progress when read) and then tries again.
  auto op = json::parse(Raw("POST", kLoc + "/clusters/nebari-dev/nodePools",
                            {{"nodePool", {{"name", "theirs"}, {"initialNodeCount", 1}}}}).body);
  ASSERT_TRUE(op.contains("name")) << op.dump();
  transport_.Clear();
  auto r = prov().Create("cloud.node_groups", Pool("extra", "e2-standard-2", 0, 2, false), "tok");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(transport_.Count("POST /v1/projects/nic-test-project/locations/us-central1/clusters/nebari-dev/nodePools"), 2);
  EXPECT_EQ(transport_.Count("/operations/" + op["name"].get<std::string>()), 2);
  EXPECT_EQ(json::parse(Raw("GET", kLoc + "/clusters/nebari-dev/nodePools/theirs").body)["status"], "RUNNING");
}

TEST_F(GcpProviderTest, SurvivesTransientFaultsWithoutDuplicatesOrLostOperations) {
  // 503s, 429s, 500s and connection resets (the request may have been processed) on a fifth of
  // the requests: a resent create meets 409 ALREADY_EXISTS and claims NIC's own resource, a
  // resent write meets a busy cluster and waits for its own earlier operation.
  http::FaultOptions f;
  f.seed = 11;
  f.rate = 0.2;
  f.kinds = {http::Fault::kUnavailable503, http::Fault::kThrottle429, http::Fault::kServerError500,
             http::Fault::kConnectionReset};
  http::FaultInjectingTransport faulty(&transport_, f);
  GcpProviderOptions o = Options();
  o.transport = &faulty;
  o.retry.policy.max_attempts = 10;
  provider_ = Make(o);
  CreateStack();
  json rec = MustRead("cloud.node_groups", {{"name", "user"}, {"cluster", kClusterName}});
  json got = MustUpdate("cloud.node_groups", rec, Pool("user", "e2-standard-4", 2, 7, true));
  EXPECT_EQ(got["scaling_config"], json::parse(R"({"min_size":2,"max_size":7})"));
  EXPECT_GT(faulty.injected(), 5);
  auto found = prov().Discover(kName);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->size(), 7u);
  auto pools = json::parse(Raw("GET", kLoc + "/clusters/nebari-dev/nodePools").body);
  EXPECT_EQ(pools["nodePools"].size(), 3u) << pools.dump();
}

TEST_F(GcpProviderTest, FollowsPaginationOverSeveralPages) {
  MustCreate("cloud.vpc", {{"name", "nebari-dev-net"}});
  for (int i = 0; i < 5; ++i) {
    MustCreate("cloud.firewalls", {{"name", "fw-" + std::to_string(i)}, {"network", "nebari-dev-net"},
                                   {"allow", json::array({{{"protocol", "tcp"}, {"ports", {"22"}}}})}});
  }
  transport_.Clear();
  auto found = prov().Discover(kName);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  int firewalls = 0;
  for (const auto& ref : *found) firewalls += ref.collection == "cloud.firewalls";
  EXPECT_EQ(firewalls, 5);
  // maxResults=2 over 5 firewalls: three pages, the last two asked for with a pageToken.
  EXPECT_EQ(transport_.Count("GET /compute/v1/projects/nic-test-project/global/firewalls?maxResults=2"), 3);
  EXPECT_EQ(transport_.Count("/global/firewalls?maxResults=2&pageToken="), 2);
}

TEST_F(GcpProviderTest, DeletesEverythingAndDeletingTwiceIsFine) {
  CreateStack();
  // The network is still used by its subnetwork: a clear conflict, nothing deleted.
  auto busy = prov().Delete("cloud.vpc", {{"name", "nebari-dev-net"}});
  ASSERT_FALSE(busy.ok());
  EXPECT_EQ(busy.code(), ErrorCode::kConflict);
  EXPECT_NE(busy.message().find("compute.networks.delete"), std::string::npos) << busy.ToString();
  EXPECT_NE(busy.message().find("already being used by"), std::string::npos) << busy.ToString();

  for (const char* pool : {"general", "user", "worker"}) {
    ASSERT_TRUE(prov().Delete("cloud.node_groups", {{"name", pool}, {"cluster", kClusterName}}).ok());
  }
  ASSERT_TRUE(prov().Delete("cloud.cluster", {{"name", kClusterName}}).ok());
  ASSERT_TRUE(prov().Delete("cloud.firewalls", {{"name", "nebari-dev-internal"}}).ok());
  ASSERT_TRUE(prov().Delete("cloud.vpc.subnets", {{"name", "nebari-dev-subnet"}, {"region", kRegion}}).ok());
  ASSERT_TRUE(prov().Delete("cloud.vpc", {{"name", "nebari-dev-net"}}).ok());
  for (const auto& [c, v] : std::vector<std::pair<std::string, json>>{
           {"cloud.cluster", {{"name", kClusterName}}},
           {"cloud.node_groups", {{"name", "user"}, {"cluster", kClusterName}}},
           {"cloud.vpc", {{"name", "nebari-dev-net"}}},
           {"cloud.vpc.subnets", {{"name", "nebari-dev-subnet"}}},
           {"cloud.firewalls", {{"name", "nebari-dev-internal"}}}}) {
    auto r = prov().Read(c, v);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_FALSE(r->has_value()) << c;
    EXPECT_TRUE(prov().Delete(c, v).ok()) << c;
  }
  auto left = prov().Discover(kName);
  ASSERT_TRUE(left.ok());
  EXPECT_TRUE(left->empty());
}

TEST_F(GcpProviderTest, ServerErrorsSurfaceAsClearNicErrors) {
  CreateStack();
  // A failed long-running operation (quota): kRefused, naming the pool, the operation type and
  // Google's message.
  ASSERT_EQ(Raw("POST", "/_test/fail-operation?status=RESOURCE_EXHAUSTED&message=Insufficient+regional+quota+to+satisfy+request").status, 200);
  auto r = prov().Create("cloud.node_groups", Pool("gpu", "a2-highgpu-1g", 0, 2, false), "tok");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kRefused) << r.status().ToString();
  EXPECT_NE(r.status().message().find("GKE node pool gpu of cluster nebari-dev"), std::string::npos) << r.status().ToString();
  EXPECT_NE(r.status().message().find("CREATE_NODE_POOL"), std::string::npos);
  EXPECT_NE(r.status().message().find("Insufficient regional quota"), std::string::npos);
  EXPECT_NE(r.status().message().find("RESOURCE_EXHAUSTED"), std::string::npos);
  EXPECT_FALSE(r.status().suggestions().empty());

  // A failed Compute operation.
  ASSERT_EQ(Raw("POST", "/_test/fail-operation?status=QUOTA_EXCEEDED&message=Quota+FIREWALLS+exceeded").status, 200);
  auto fw = prov().Create("cloud.firewalls", {{"name", "one-more"}, {"network", "nebari-dev-net"},
                                              {"allow", json::array({{{"protocol", "icmp"}}})}}, "tok");
  ASSERT_FALSE(fw.ok());
  EXPECT_EQ(fw.status().code(), ErrorCode::kRefused);
  EXPECT_NE(fw.status().message().find("Quota FIREWALLS exceeded"), std::string::npos) << fw.status().ToString();

  // A bad request names the API method, the resource and Google's status and message.
  auto bad = prov().Create("cloud.vpc", {{"name", "Not_A_Valid_Name"}}, "tok");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), ErrorCode::kInvalidInput);
  EXPECT_NE(bad.status().message().find("compute.networks.insert projects/nic-test-project/global/networks"), std::string::npos)
      << bad.status().ToString();
  EXPECT_NE(bad.status().message().find("Invalid value for field 'resource.name'"), std::string::npos);

  // Wrong credentials: kUnauthenticated with the method and a hint.
  auto stranger = Make(Options(), "wrong-token");
  auto read = stranger->Read("cloud.cluster", {{"name", kClusterName}});
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), ErrorCode::kUnauthenticated);
  EXPECT_NE(read.status().message().find("container.projects.locations.clusters.get"), std::string::npos)
      << read.status().ToString();
  EXPECT_EQ(read.status().details().at("google_status"), "UNAUTHENTICATED");
  EXPECT_FALSE(read.status().suggestions().empty());

  // Immutable fields and control-plane upgrades are refused before anything is sent.
  json cluster = MustRead("cloud.cluster", {{"name", kClusterName}});
  auto moved = prov().Update("cloud.cluster", cluster, {{"name", kClusterName}, {"network", "elsewhere"}});
  ASSERT_FALSE(moved.ok());
  EXPECT_EQ(moved.status().code(), ErrorCode::kRefused);
  EXPECT_NE(moved.status().message().find("network cannot change in place"), std::string::npos) << moved.status().ToString();
  auto upgrade = prov().Update("cloud.cluster", cluster, {{"name", kClusterName}, {"kubernetes_version", "1.30"}});
  ASSERT_FALSE(upgrade.ok());
  EXPECT_EQ(upgrade.status().code(), ErrorCode::kRefused);

  // Settings the provider cannot work without.
  ProviderContext ctx;
  ctx.project_name = kName;
  ctx.region = kRegion;
  GcpProviderOptions o;
  o.env = auth::MapEnv({});
  auto none = NewGcpProvider(ctx, o);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), ErrorCode::kInvalidConfig);
  EXPECT_NE(none.status().message().find("project id"), std::string::npos);
}

}  // namespace
}  // namespace nic::testing

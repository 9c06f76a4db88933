// The reconciler's rules (design §5, §6.5, §11.2) on a file-backed stand-in cloud: plan
// actions and refusals, per-change persistence, idempotent second deploy, drift
// detect/accept/fix, prune rules, orphans, and crash recovery through the journal.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include "nic/backend.h"
#include "nic/env.h"
#include "nic/history.h"
#include "nic/reconciler.h"
#include "tests/reconcile/file_cloud_provider.h"
#include "tests/reconcile/reconcile_fixture.h"

namespace nic {
namespace {

using json = nlohmann::json;

using testing::Group;

NebariConfig Config() { return testing::AwsConfig({Group("general", "m5.xlarge", 1, 5), Group("user", "m5.2xlarge", 0, 10)}); }

json GroupJson(const std::string& name, const std::string& instance, int64_t mn, int64_t mx) {
  return {{"name", name}, {"instance_types", {instance}}, {"scaling_config", {{"min_size", mn}, {"max_size", mx}, {"desired_size", mn}}},
          {"arn", "arn:filecloud:" + name}, {"status", "ACTIVE"}};
}

struct World {
  testing::TempDir dir;
  testing::FileCloudProvider cloud{dir.File("cloud.json")};
  std::unique_ptr<Backend> backend;
  std::unique_ptr<HistoryDb> history;
  std::unique_ptr<StateManager> manager;

  World() { Open(); }
  void Open() {
    BackendConfig cfg;
    cfg.values["path"] = dir.File("nic-state.json");
    backend = OpenBackend(cfg).value();
    history = HistoryDb::Open(dir.File("history.db")).value();
    StateManagerOptions o;
    o.history = history.get();
    manager = std::make_unique<StateManager>(backend.get(), o);
  }
  // An "imported" state and a cloud that matches it.
  void Seed() {
    StateDocument d = StateDocument::NewEmpty("aws", "demo", "us-west-2", Env::Default()->NowMicros());
    d.imported_from_terraform = true;
    json vpc = {{"id", "vpc-1"}, {"cidr", "10.10.0.0/16"}, {"enable_dns_hostnames", true}, {"enable_dns_support", true}, {"imported", true}};
    json cluster = {{"name", "demo-dev"}, {"version", "1.29"}, {"imported", true}};
    json general = GroupJson("general", "m5.xlarge", 1, 5), user = GroupJson("user", "m5.2xlarge", 0, 10);
    cloud.Put("cloud.vpc", vpc);
    cloud.Put("cloud.cluster", cluster);
    cloud.Put("cloud.node_groups", general);
    cloud.Put("cloud.node_groups", user);
    general["imported"] = true;
    user["imported"] = true;
    d.cloud["vpc"] = vpc;
    d.cloud["cluster"] = cluster;
    d.cloud["node_groups"] = json::array({general, user});
    ASSERT_TRUE(manager->Lock("seed").ok());
    ASSERT_TRUE(manager->Persist(d, "import").ok());
    ASSERT_TRUE(manager->Unlock().ok());
  }
  StateDocument State() {
    StateManager m(backend.get(), {});
    return *m.Read().value();
  }
  Status Deploy(const NebariConfig& c, DeployResult* r, PlanOptions po = {}) {
    DeployOptions o;
    o.plan = po;
    StateManager m(backend.get(), {0, history.get(), nullptr});
    return nic::Deploy(m, history.get(), c, cloud, o, r);
  }
};

// The cluster and node groups of the AWS model, which these rule tests are about (the whole
// model: desired_aws_test.cpp; a provider without the other collections skips them).
DesiredModel WorldDesired(const NebariConfig& c) {
  DesiredModel m = BuildDesiredModel(c).value();
  std::vector<ResourceRef> kept;
  for (auto& r : m.resources) {
    if (r.collection == "cloud.cluster" || r.collection == "cloud.node_groups") kept.push_back(r);
  }
  m.resources = kept;
  return m;
}

TEST(Plan, ImportedStateMatchingConfigHasNoChangesWithOrWithoutRefresh) {
  World w;
  w.Seed();
  auto desired = WorldDesired(Config());
  auto offline = ComputePlan(desired, w.State(), nullptr, PlanOptions{.refresh = false});
  ASSERT_TRUE(offline.ok()) << offline.status().ToString();
  EXPECT_EQ(offline->change_count(), 0);
  EXPECT_NE(offline->ToText().find("Plan: 0 changes"), std::string::npos);
  auto online = ComputePlan(desired, w.State(), &w.cloud, PlanOptions{});
  ASSERT_TRUE(online.ok());
  EXPECT_EQ(online->change_count(), 0);
  EXPECT_EQ(online->refreshed, 4);
  for (const auto& n : online->notes) EXPECT_EQ(n.kind, "skipped") << n.message;
}

TEST(Plan, ANoOpCarriesNoCopiesAndAChangeCarriesWhatItActsOn) {
  World w;
  w.Seed();
  NebariConfig c = Config();
  c.node_groups[0].max_nodes = 10;
  const StateDocument state = w.State();
  auto p = ComputePlan(WorldDesired(c), state, &w.cloud, {}).value();
  ASSERT_EQ(p.changes.size(), 3u);
  EXPECT_EQ(p.changes[2].action, ChangeAction::kNoop);
  EXPECT_TRUE(p.changes[2].recorded.is_null());
  EXPECT_TRUE(p.changes[2].live.is_null());
  const PlannedChange& update = p.changes[1];
  ASSERT_EQ(update.action, ChangeAction::kUpdate);
  EXPECT_EQ(update.recorded, *FindResource(state, "cloud.node_groups.general"));
  EXPECT_EQ(update.live.value("arn", ""), "arn:filecloud:general");
  EXPECT_EQ(update.desired["scaling_config"]["max_size"], 10);
}

TEST(Plan, ADottedKeyInTheModelIsComparedAlongItsPath) {
  // The plan compares a model key "a.b" with the state's a -> b (fields are dotted paths).
  StateDocument s = StateDocument::NewEmpty("aws", "demo", "us-west-2", Env::Default()->NowMicros());
  s.cloud["vpc"] = {{"id", "vpc-1"}, {"a", {{"b", 1}}}};
  DesiredModel m;
  m.resources.push_back({"cloud.vpc", "cloud.vpc", {{"a.b", 1}}});
  auto same = ComputePlan(m, s, nullptr, PlanOptions{.refresh = false}).value();
  EXPECT_EQ(same.change_count(), 0) << same.ToText();
  m.resources[0].value["a.b"] = 2;
  auto differs = ComputePlan(m, s, nullptr, PlanOptions{.refresh = false}).value();
  ASSERT_EQ(differs.change_count(), 1) << differs.ToText();
  ASSERT_EQ(differs.changes[0].fields.size(), 1u);
  EXPECT_EQ(differs.changes[0].fields[0].field, "a.b");
  EXPECT_EQ(differs.changes[0].fields[0].recorded, 1);
}

TEST(Plan, UpdateReplaceAndTheirRefusals) {
  World w;
  w.Seed();
  NebariConfig c = Config();
  c.node_groups[0].max_nodes = 10;
  auto p = ComputePlan(WorldDesired(c), w.State(), &w.cloud, {}).value();
  ASSERT_EQ(p.change_count(), 1);
  const auto* ch = &p.changes[1];
  EXPECT_EQ(ch->address, "cloud.node_groups.general");
  EXPECT_EQ(ch->action, ChangeAction::kUpdate);
  EXPECT_EQ(ch->summary, "Updating node group general (max_size: 5 → 10)");
  ASSERT_EQ(ch->fields.size(), 1u);
  EXPECT_EQ(ch->fields[0].field, "scaling_config.max_size");
  EXPECT_EQ(ch->fields[0].recorded, 5);
  EXPECT_EQ(ch->fields[0].live, 5);
  EXPECT_EQ(ch->fields[0].desired, 10);

  c = Config();
  c.node_groups[0].instance = "m5.large";
  p = ComputePlan(WorldDesired(c), w.State(), &w.cloud, {}).value();
  EXPECT_EQ(p.changes[1].action, ChangeAction::kReplace);
  EXPECT_NE(p.changes[1].refused.find("--allow-replace"), std::string::npos);
  EXPECT_TRUE(p.has_refusals());
  DeployResult r;
  Status st = w.Deploy(c, &r);
  EXPECT_EQ(st.code(), ErrorCode::kRefused);
  EXPECT_TRUE(w.cloud.WriteLog().empty()) << "a refused plan must not touch the cloud";
  p = ComputePlan(WorldDesired(c), w.State(), &w.cloud, PlanOptions{.allow_replace = true}).value();
  EXPECT_TRUE(p.changes[1].refused.empty());

  c = Config();
  c.kubernetes_version = "1.30";
  p = ComputePlan(WorldDesired(c), w.State(), &w.cloud, {}).value();
  EXPECT_EQ(p.changes[0].address, "cloud.cluster");
  EXPECT_NE(p.changes[0].refused.find("--allow-version-upgrade"), std::string::npos);
}

TEST(Deploy, AddANodeGroupCreatesOnlyItAndTheSecondDeployWritesNothing) {
  World w;
  w.Seed();
  uint64_t before = w.State().serial;
  NebariConfig c = Config();
  c.node_groups.push_back(Group("gpu", "g4dn.xlarge", 0, 2));
  DeployResult r;
  Status st = w.Deploy(c, &r);
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(r.plan.change_count(), 1);
  ASSERT_EQ(r.applied.size(), 1u);
  EXPECT_EQ(r.applied[0].address, "cloud.node_groups.gpu");
  EXPECT_EQ(w.cloud.WriteLog(), std::vector<std::string>{"create gpu"});
  StateDocument s = w.State();
  const json* gpu = FindResource(s, "cloud.node_groups.gpu");
  ASSERT_NE(gpu, nullptr);
  EXPECT_EQ((*gpu)["arn"], "arn:filecloud:gpu");
  EXPECT_FALSE(gpu->value("imported", false));
  // One persisted version for the change, one for the deploy's metadata.
  EXPECT_EQ(s.serial, before + 2);
  EXPECT_EQ(r.applied[0].serial, before + 1);
  EXPECT_EQ(s.metadata.deploy_count, 1);
  EXPECT_EQ(s.metadata.configuration_hash, ConfigHash(c));
  EXPECT_FALSE(s.metadata.last_successful_deploy.empty());

  DeployResult again;
  ASSERT_TRUE(w.Deploy(c, &again).ok());
  EXPECT_EQ(again.plan.change_count(), 0);
  EXPECT_EQ(w.cloud.WriteLog().size(), 1u) << "the second deploy made a cloud write";
  EXPECT_EQ(w.State().serial, s.serial) << "the second deploy wrote the state";
}

TEST(Deploy, PartialFailureKeepsWhatSucceededAndReportsTheRest) {
  World w;
  w.Seed();
  NebariConfig c = Config();
  c.node_groups[1].max_nodes = 20;  // update: will succeed (earlier collection? same) 
  c.node_groups.push_back(Group("gpu", "g4dn.xlarge", 0, 2));
  w.cloud.fail_next_create = true;
  DeployResult r;
  Status st = w.Deploy(c, &r);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(r.failures(), 1);
  EXPECT_NE(st.message().find("1 of 2 changes failed"), std::string::npos) << st.message();
  EXPECT_EQ(st.details().count("cloud.node_groups.gpu"), 1u);
  StateDocument s = w.State();
  EXPECT_EQ((*FindResource(s, "cloud.node_groups.user"))["scaling_config"]["max_size"], 20);
  EXPECT_EQ(FindResource(s, "cloud.node_groups.gpu"), nullptr);
  w.cloud.fail_next_create = false;
  DeployResult retry;
  ASSERT_TRUE(w.Deploy(c, &retry).ok());
  EXPECT_EQ(retry.plan.change_count(), 1);
  EXPECT_NE(FindResource(w.State(), "cloud.node_groups.gpu"), nullptr);
}

TEST(Deploy, PruneNeverDeletesImportedWithoutIncludeImported) {
  World w;
  w.Seed();
  NebariConfig c = Config();
  c.node_groups.pop_back();  // "user" left the config
  auto p = ComputePlan(WorldDesired(c), w.State(), &w.cloud, {}).value();
  EXPECT_EQ(p.change_count(), 0);
  ASSERT_EQ(p.notes.size(), 1u);
  EXPECT_EQ(p.notes[0].kind, "not-in-config");
  p = ComputePlan(WorldDesired(c), w.State(), &w.cloud, PlanOptions{.prune = true}).value();
  EXPECT_EQ(p.change_count(), 1);
  EXPECT_NE(p.changes.back().refused.find("imported from Terraform"), std::string::npos);
  DeployResult r;
  ASSERT_TRUE(w.Deploy(c, &r, PlanOptions{.prune = true, .include_imported = true}).ok());
  EXPECT_EQ(w.cloud.Count("cloud.node_groups"), 1);
  EXPECT_EQ(FindResource(w.State(), "cloud.node_groups.user"), nullptr);
}

TEST(Drift, DetectAcceptAndFix) {
  World w;
  w.Seed();
  json g = w.cloud.Get("cloud.node_groups", "general");
  g["scaling_config"]["max_size"] = 8;
  w.cloud.Put("cloud.node_groups", g);
  auto report = DetectDrift(w.State(), w.cloud);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->has_drift());
  json j = report->ToJson();
  EXPECT_EQ(j["summary"]["drifted_resources"], 1);
  EXPECT_EQ(j["cloud"]["node_groups"]["general"]["field"], "scaling_config.max_size");
  EXPECT_EQ(j["cloud"]["node_groups"]["general"]["state_value"], 5);
  EXPECT_EQ(j["cloud"]["node_groups"]["general"]["actual_value"], 8);
  EXPECT_NE(report->ToText(false).find("[WARNING] cloud.node_groups.general"), std::string::npos);

  // fix: live <- state
  std::vector<std::string> fixed;
  StateManager m(w.backend.get(), {0, w.history.get(), nullptr});
  ASSERT_TRUE(FixDrift(m, w.cloud, {}, &fixed).ok());
  EXPECT_EQ(fixed, std::vector<std::string>{"cloud.node_groups.general"});
  EXPECT_EQ(w.cloud.Get("cloud.node_groups", "general")["scaling_config"]["max_size"], 5);
  EXPECT_FALSE(DetectDrift(w.State(), w.cloud)->has_drift());

  // accept: state <- live
  g["scaling_config"]["max_size"] = 7;
  w.cloud.Put("cloud.node_groups", g);
  std::vector<std::string> accepted;
  ASSERT_TRUE(AcceptDrift(m, w.cloud, {"cloud.node_groups.general"}, &accepted).ok());
  EXPECT_EQ((*FindResource(w.State(), "cloud.node_groups.general"))["scaling_config"]["max_size"], 7);
  EXPECT_TRUE((*FindResource(w.State(), "cloud.node_groups.general"))["imported"].get<bool>());
  EXPECT_FALSE(DetectDrift(w.State(), w.cloud)->has_drift());
  EXPECT_EQ(AcceptDrift(m, w.cloud, {"cloud.nope"}, &accepted).code(), ErrorCode::kNotFound);

  // an immutable difference cannot be fixed in place
  g = w.cloud.Get("cloud.vpc", "singleton");
  g["cidr"] = "10.99.0.0/16";
  w.cloud.Put("cloud.vpc", g);
  EXPECT_EQ(FixDrift(m, w.cloud, {}, &fixed).code(), ErrorCode::kRefused);
}

TEST(Drift, RepresentationDifferencesAreNotDrift) {
  World w;
  w.Seed();
  // The state says what Terraform recorded; the cloud answers with another order, another
  // spelling of the same JSON policy, and empty fields the state leaves out.
  StateDocument s = w.State();
  json* g = FindResource(s, "cloud.node_groups.general");
  (*g)["subnet_ids"] = {"subnet-a", "subnet-b"};
  (*g)["labels"] = {{"role", "general"}};
  ASSERT_TRUE(w.manager->Lock("t").ok());
  ASSERT_TRUE(w.manager->Read().ok());
  ASSERT_TRUE(w.manager->Persist(s, "t").ok());
  ASSERT_TRUE(w.manager->Unlock().ok());
  json live = w.cloud.Get("cloud.node_groups", "general");
  live["subnet_ids"] = {"subnet-b", "subnet-a"};
  live["labels"] = {{"role", "general"}};
  live["taints"] = json::array();
  w.cloud.Put("cloud.node_groups", live);
  EXPECT_FALSE(DetectDrift(w.State(), w.cloud)->has_drift());
  live["subnet_ids"] = {"subnet-b", "subnet-c"};
  w.cloud.Put("cloud.node_groups", live);
  EXPECT_TRUE(DetectDrift(w.State(), w.cloud)->has_drift());
}

TEST(Drift, DeletedOutsideAndOrphans) {
  World w;
  w.Seed();
  ASSERT_TRUE(w.cloud.Delete("cloud.node_groups", {{"name", "user"}}).ok());
  json orphan = GroupJson("stray", "m5.large", 0, 1);
  orphan["tags"] = {{kTagManagedBy, "nic"}, {kTagClusterName, "demo"}};
  w.cloud.Put("cloud.node_groups", orphan);
  auto r = DetectDrift(w.State(), w.cloud).value();
  json j = r.ToJson();
  EXPECT_EQ(j["summary"]["removed_resources"], 1);
  EXPECT_EQ(j["summary"]["added_resources"], 1);
  EXPECT_EQ(j["cloud"]["node_groups"]["user"]["kind"], "deleted-outside");
  EXPECT_EQ(j["cloud"]["node_groups"]["stray"]["kind"], "orphan");
  // The deploy does not recreate or adopt unless asked.
  auto p = ComputePlan(WorldDesired(Config()), w.State(), &w.cloud, {}).value();
  EXPECT_EQ(p.change_count(), 0);
  p = ComputePlan(WorldDesired(Config()), w.State(), &w.cloud,
                  PlanOptions{.recreate_missing = true, .adopt_orphans = true})
          .value();
  EXPECT_EQ(p.change_count(), 2);
  DeployResult res;
  ASSERT_TRUE(w.Deploy(Config(), &res, PlanOptions{.recreate_missing = true, .adopt_orphans = true}).ok());
  EXPECT_NE(FindResource(w.State(), "cloud.node_groups.stray"), nullptr);
  EXPECT_NE(FindResource(w.State(), "cloud.node_groups.user"), nullptr);
  EXPECT_EQ(w.cloud.Count("cloud.node_groups"), 3);
}

TEST(Deploy, CrashBetweenCreateAndStateWriteIsAdoptedNotDuplicated) {
  World w;
  w.Seed();
  NebariConfig c = Config();
  c.node_groups.push_back(Group("gpu", "g4dn.xlarge", 0, 2));
  pid_t pid = ::fork();
  if (pid == 0) {
    World& child = w;
    child.Open();
    child.cloud.after_create = [] { ::kill(::getpid(), SIGKILL); };  // dies right after the cloud call
    DeployResult r;
    (void)child.Deploy(c, &r);
    _exit(0);
  }
  int status;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(w.cloud.Count("cloud.node_groups"), 3);             // the cloud has it
  EXPECT_EQ(FindResource(w.State(), "cloud.node_groups.gpu"), nullptr);  // the state does not
  w.Open();
  DeployResult r;
  Status st = w.Deploy(c, &r);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(r.recovered.size(), 1u);
  EXPECT_NE(r.recovered[0].find("adopted"), std::string::npos);
  EXPECT_EQ(r.plan.change_count(), 0);
  EXPECT_NE(FindResource(w.State(), "cloud.node_groups.gpu"), nullptr);
  int creates = 0;
  for (const auto& l : w.cloud.WriteLog()) creates += l == "create gpu";
  EXPECT_EQ(creates, 1) << "no duplicate";
}

}  // namespace
}  // namespace nic

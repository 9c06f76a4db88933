// The state commands through the real nic binary: exit codes, JSON contract, push refusals,
// history/rollback, lock errors and force-unlock.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "nic/backend.h"
#include "nic/env.h"
#include "nic/state.h"
#include "tests/support/test_util.h"

namespace nic {
namespace {

using json = nlohmann::json;
using testing::RunNic;

struct Fixture {
  testing::TempDir dir;
  std::string state = dir.File("nic-state.json");
  std::vector<std::string> Args(std::vector<std::string> a) const {
    a.push_back("--state");
    a.push_back(state);
    return a;
  }
  std::string WriteDoc(const std::string& name, const StateDocument& d) const {
    std::string p = dir.File(name);
    testing::WriteFileOrDie(p, SerializeStateDocument(d));
    return p;
  }
};

StateDocument Doc(uint64_t serial, const std::string& lineage = "") {
  StateDocument d = StateDocument::NewEmpty("aws", "demo", "us-west-2", Env::Default()->NowMicros());
  if (!lineage.empty()) d.lineage = lineage;
  d.serial = serial;
  d.cloud["node_groups"] = json::array({{{"name", "general"}, {"scaling_config", {{"min_size", 1}, {"max_size", int(serial)}}}}});
  return d;
}

TEST(StateCli, VersionHelpAndUsageErrors) {
  auto v = RunNic({"--version"});
  EXPECT_EQ(v.exit_code, 0);
  EXPECT_EQ(v.out.rfind("nic ", 0), 0u);
  EXPECT_EQ(RunNic({"--help"}).exit_code, 0);
  EXPECT_EQ(RunNic({"state", "push", "--help"}).exit_code, 0);
  auto unknown = RunNic({"frobnicate"});
  EXPECT_EQ(unknown.exit_code, 4);
  EXPECT_NE(unknown.err.find("unknown command"), std::string::npos);
  auto badflag = RunNic({"state", "show", "--no-such-flag"});
  EXPECT_EQ(badflag.exit_code, 4);
  EXPECT_NE(badflag.err.find("no-such-flag"), std::string::npos);
  Fixture f;
  auto badtimeout = RunNic(f.Args({"state", "push", "x", "--lock-timeout", "soon"}));
  EXPECT_EQ(badtimeout.exit_code, 4);
  EXPECT_NE(badtimeout.err.find("--lock-timeout"), std::string::npos);
  auto badformat = RunNic(f.Args({"state", "show", "--format", "yaml"}));
  EXPECT_EQ(badformat.exit_code, 4);
}

TEST(StateCli, PushShowListPullAndRefusals) {
  Fixture f;
  auto missing = RunNic(f.Args({"state", "show", "--format", "json"}));
  EXPECT_EQ(missing.exit_code, 1);
  json err = json::parse(missing.out);
  EXPECT_EQ(err["success"], false);
  EXPECT_EQ(err["error"]["code"], "NOT_FOUND");
  EXPECT_FALSE(err["error"]["recovery_suggestions"].empty());

  StateDocument a = Doc(3);
  auto push = RunNic(f.Args({"state", "push", f.WriteDoc("a.json", a)}));
  ASSERT_EQ(push.exit_code, 0) << push.err;
  auto show = RunNic(f.Args({"state", "show", "--format", "json"}));
  ASSERT_EQ(show.exit_code, 0) << show.err;
  json s = json::parse(show.out);  // stdout is exactly one JSON document
  EXPECT_EQ(s["serial"], 3);
  EXPECT_EQ(s["lineage"], a.lineage);
  EXPECT_EQ(s["resource_count"], 1);
  EXPECT_EQ(s["resources"][0]["address"], "cloud.node_groups.general");
  EXPECT_EQ(RunNic(f.Args({"state", "list"})).out, "cloud.node_groups.general\n");
  auto one = RunNic(f.Args({"state", "show", "cloud.node_groups.general", "--format", "json"}));
  EXPECT_EQ(json::parse(one.out)["resource"]["scaling_config"]["max_size"], 3);
  EXPECT_EQ(RunNic(f.Args({"state", "pull"})).out, testing::ReadFileOrDie(f.state));

  // Unrelated lineage: refused (exit 7), state untouched; --force overrides.
  StateDocument other = Doc(9);
  std::string before = testing::ReadFileOrDie(f.state);
  auto lineage = RunNic(f.Args({"state", "push", f.WriteDoc("other.json", other)}));
  EXPECT_EQ(lineage.exit_code, 7);
  EXPECT_NE(lineage.err.find("lineage"), std::string::npos) << lineage.err;
  EXPECT_EQ(testing::ReadFileOrDie(f.state), before);
  // Older serial of the same lineage: refused.
  auto older = RunNic(f.Args({"state", "push", f.WriteDoc("older.json", Doc(2, a.lineage))}));
  EXPECT_EQ(older.exit_code, 7);
  EXPECT_NE(older.err.find("newer"), std::string::npos) << older.err;
  // Same serial, different content: refused.
  StateDocument same = Doc(3, a.lineage);
  same.region = "eu-west-1";
  EXPECT_EQ(RunNic(f.Args({"state", "push", f.WriteDoc("same.json", same)})).exit_code, 7);
  // Newer serial: accepted.
  EXPECT_EQ(RunNic(f.Args({"state", "push", f.WriteDoc("newer.json", Doc(5, a.lineage))})).exit_code, 0);
  auto forced = RunNic(f.Args({"state", "push", "--force", f.WriteDoc("other2.json", other), "--format", "json"}));
  ASSERT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_EQ(json::parse(forced.out)["forced"], true);
  EXPECT_EQ(json::parse(RunNic(f.Args({"state", "show", "--format", "json"})).out)["lineage"], other.lineage);
}

TEST(StateCli, HistoryAndRollback) {
  Fixture f;
  StateDocument a = Doc(1);
  ASSERT_EQ(RunNic(f.Args({"state", "push", f.WriteDoc("1.json", a)})).exit_code, 0);
  ASSERT_EQ(RunNic(f.Args({"state", "push", f.WriteDoc("2.json", Doc(2, a.lineage))})).exit_code, 0);
  ASSERT_EQ(RunNic(f.Args({"state", "push", f.WriteDoc("3.json", Doc(3, a.lineage))})).exit_code, 0);
  auto hist = RunNic(f.Args({"state", "history", "--format", "json"}));
  ASSERT_EQ(hist.exit_code, 0) << hist.err;
  json h = json::parse(hist.out);
  ASSERT_EQ(h["versions"].size(), 3u);
  EXPECT_EQ(h["versions"][0]["serial"], 3);
  EXPECT_EQ(h["versions"][0]["operation"], "state push");
  auto old = RunNic(f.Args({"state", "show", "--serial", "1", "cloud.node_groups.general", "--format", "json"}));
  EXPECT_EQ(json::parse(old.out)["resource"]["scaling_config"]["max_size"], 1);
  auto rb = RunNic(f.Args({"state", "rollback", "--to", "1", "--format", "json"}));
  ASSERT_EQ(rb.exit_code, 0) << rb.err;
  EXPECT_EQ(json::parse(rb.out)["new_serial"], 4);
  auto now = ParseStateDocument(testing::ReadFileOrDie(f.state), f.state);
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(now->serial, 4u);
  EXPECT_EQ((*FindResource(now.value(), "cloud.node_groups.general"))["scaling_config"]["max_size"], 1);
  EXPECT_EQ(RunNic(f.Args({"state", "rollback", "--to", "42"})).exit_code, 1);
  auto hist2 = json::parse(RunNic(f.Args({"state", "history", "--format", "json"})).out);
  EXPECT_EQ(hist2["versions"][0]["operation"], "rollback to 1");
}

TEST(StateCli, HeldLockExit3WaitWithTimeoutAndForceUnlock) {
  Fixture f;
  ASSERT_EQ(RunNic(f.Args({"state", "push", f.WriteDoc("1.json", Doc(1))})).exit_code, 0);
  BackendConfig cfg;
  cfg.values["path"] = f.state;
  auto holder = OpenBackend(cfg).value();
  LockInfo li = LockInfo::New("deploy", Env::Default());
  ASSERT_TRUE(holder->Lock(li).ok());
  auto doc2 = f.WriteDoc("2.json", Doc(2, ParseStateDocument(testing::ReadFileOrDie(f.state), "s")->lineage));

  auto held = RunNic(f.Args({"state", "push", doc2, "--format", "json"}));
  EXPECT_EQ(held.exit_code, 3);
  json e = json::parse(held.out);
  EXPECT_EQ(e["error"]["code"], "LOCK_HELD");
  EXPECT_EQ(e["error"]["details"]["lock_id"], li.id);
  EXPECT_EQ(e["error"]["details"]["operation"], "deploy");
  auto held_text = RunNic(f.Args({"state", "push", doc2}));
  EXPECT_EQ(held_text.exit_code, 3);
  EXPECT_NE(held_text.err.find(li.id), std::string::npos);
  EXPECT_NE(held_text.err.find("nic state unlock --force " + li.id), std::string::npos);

  // A live holder cannot be broken; the wrong ID is refused.
  EXPECT_EQ(RunNic(f.Args({"state", "unlock", "--force", "not-the-id"})).exit_code, 7);
  auto live = RunNic(f.Args({"state", "unlock", "--force", li.id}));
  EXPECT_EQ(live.exit_code, 3);
  EXPECT_NE(live.err.find("PID " + std::to_string(::getpid())), std::string::npos) << live.err;

  // A waiter with --lock-timeout gets the lock when the holder lets go.
  std::thread release([&] {
    ::usleep(400000);
    ASSERT_TRUE(holder->Unlock(li.id).ok());
  });
  auto waited = RunNic(f.Args({"state", "push", doc2, "--lock-timeout", "20s"}));
  release.join();
  EXPECT_EQ(waited.exit_code, 0) << waited.err;
  EXPECT_NE(waited.err.find("waiting for the state lock"), std::string::npos);

  // A crashed holder leaves a record; force-unlock with its ID cleans it and is recorded.
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    auto b = OpenBackend(cfg).value();
    LockInfo mine = LockInfo::New("deploy", Env::Default());
    if (!b->Lock(mine).ok()) _exit(2);
    if (::write(p[1], mine.id.data(), mine.id.size()) < 0) _exit(3);
    _exit(0);
  }
  char buf[37] = {0};
  ASSERT_EQ(::read(p[0], buf, 36), 36);
  int status;
  ::waitpid(pid, &status, 0);
  auto stale = RunNic(f.Args({"state", "unlock", "--force", buf}));
  EXPECT_EQ(stale.exit_code, 0) << stale.err;
  EXPECT_NE(stale.out.find("stale"), std::string::npos);
  json h = json::parse(RunNic(f.Args({"state", "history", "--format", "json"})).out);
  ASSERT_FALSE(h["events"].empty());
  EXPECT_EQ(h["events"][0]["kind"], "force-unlock");
  EXPECT_EQ(h["events"][0]["detail"]["ID"], buf);
  // Without --force and without a terminal, it refuses rather than guess.
  EXPECT_EQ(RunNic(f.Args({"state", "unlock", buf})).exit_code, 4);
}

TEST(StateCli, CorruptStateIsExit6NamingTheFile) {
  Fixture f;
  testing::WriteFileOrDie(f.state, "{\"format_version\": \"1\", \"serial\": ");
  auto r = RunNic(f.Args({"state", "show"}));
  EXPECT_EQ(r.exit_code, 6);
  EXPECT_NE(r.err.find(f.state), std::string::npos);
  EXPECT_NE(r.err.find("not valid JSON at line 1"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(".backup"), std::string::npos);
}

}  // namespace
}  // namespace nic

namespace nic {
namespace {

TEST(StateCli, MigrateLocalToLocalPreservesLineageAndSerialUnderBothLocks) {
  Fixture f;
  StateDocument a = Doc(6);
  ASSERT_EQ(RunNic(f.Args({"state", "push", f.WriteDoc("a.json", a)})).exit_code, 0);
  std::string dst = f.dir.File("moved/nic-state.json");
  auto m = RunNic(f.Args({"state", "migrate", "--to-backend", "local", "--to-state", dst, "--format", "json"}));
  ASSERT_EQ(m.exit_code, 0) << m.err;
  EXPECT_EQ(json::parse(m.out)["verified"], true);
  EXPECT_EQ(testing::ReadFileOrDie(dst), testing::ReadFileOrDie(f.state));
  // A destination of another lineage is refused unless forced.
  StateDocument other = Doc(1);
  std::string other_state = f.dir.File("other/nic-state.json");
  ASSERT_EQ(RunNic({"state", "push", f.WriteDoc("o.json", other), "--state", other_state}).exit_code, 0);
  auto refused = RunNic(f.Args({"state", "migrate", "--to-backend", "local", "--to-state", other_state}));
  EXPECT_EQ(refused.exit_code, 7) << refused.err;
  EXPECT_NE(testing::ReadFileOrDie(other_state), testing::ReadFileOrDie(f.state));
  // A held destination lock stops the migration before anything is written.
  BackendConfig cfg;
  cfg.values["path"] = dst;
  auto holder = OpenBackend(cfg).value();
  LockInfo li = LockInfo::New("deploy", Env::Default());
  ASSERT_TRUE(holder->Lock(li).ok());
  EXPECT_EQ(RunNic(f.Args({"state", "migrate", "--to-backend", "local", "--to-state", dst})).exit_code, 3);
  ASSERT_TRUE(holder->Unlock(li.id).ok());
  EXPECT_EQ(RunNic(f.Args({"state", "migrate", "--to-backend", "local", "--to-state", f.state})).exit_code, 4);
}

}  // namespace
}  // namespace nic

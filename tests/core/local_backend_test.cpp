// The local backend: flock locking, holder reporting, force-unlock rules, atomic 0600 writes,
// conditional writes, symlink refusal.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "backends/local/local_backend.h"
#include "nic/env.h"
#include "nic/lock.h"
#include "tests/support/test_util.h"

namespace nic {
namespace {

BackendConfig LocalAt(const std::string& path) {
  BackendConfig c;
  c.type = "local";
  c.values["path"] = path;
  return c;
}

std::unique_ptr<Backend> Open(const std::string& path) {
  auto b = OpenBackend(LocalAt(path));
  EXPECT_TRUE(b.ok()) << b.status().ToString();
  return std::move(b).value();
}

TEST(LocalBackend, SecondHolderIsRefusedWithHolderDetails) {
  testing::TempDir dir;
  auto a = Open(dir.File("s.json"));
  auto b = Open(dir.File("s.json"));
  LockInfo la = LockInfo::New("deploy", Env::Default());
  ASSERT_TRUE(a->Lock(la).ok());
  LockInfo lb = LockInfo::New("plan", Env::Default());
  Status st = b->Lock(lb);
  ASSERT_EQ(st.code(), ErrorCode::kLockHeld);
  EXPECT_EQ(st.exit_code(), 3);
  EXPECT_NE(st.message().find(la.id), std::string::npos) << st.message();
  EXPECT_NE(st.message().find(la.who), std::string::npos);
  EXPECT_NE(st.message().find("\"deploy\""), std::string::npos);
  EXPECT_EQ(st.details().at("lock_id"), la.id);
  bool suggests_unlock = false;
  for (const auto& s : st.suggestions()) suggests_unlock |= s.find("nic state unlock --force " + la.id) != std::string::npos;
  EXPECT_TRUE(suggests_unlock);
  auto cur = b->CurrentLock();
  ASSERT_TRUE(cur.ok());
  ASSERT_TRUE(cur.value().has_value());
  EXPECT_EQ(cur.value()->id, la.id);
  EXPECT_EQ(a->Unlock(lb.id).code(), ErrorCode::kConflict);  // wrong ID
  ASSERT_TRUE(a->Unlock(la.id).ok());
  ASSERT_TRUE(b->Lock(lb).ok());
  ASSERT_TRUE(b->Unlock(lb.id).ok());
  EXPECT_FALSE(b->CurrentLock().value().has_value());
}

TEST(LocalBackend, WritesAtomicallyWithMode0600AndKeepsABackup) {
  testing::TempDir dir;
  mode_t old = ::umask(0);
  auto b = Open(dir.File("sub/dir/s.json"));
  auto t1 = b->WriteState("{\"v\":1}", WriteCondition{std::string("")});
  ASSERT_TRUE(t1.ok()) << t1.status().ToString();
  auto t2 = b->WriteState("{\"v\":2}", WriteCondition{t1.value()});
  ASSERT_TRUE(t2.ok()) << t2.status().ToString();
  ::umask(old);
  struct stat st {};
  ASSERT_EQ(::stat(dir.File("sub/dir/s.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(dir.File("sub/dir/s.json.backup").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(testing::ReadFileOrDie(dir.File("sub/dir/s.json")), "{\"v\":2}");
  EXPECT_EQ(testing::ReadFileOrDie(dir.File("sub/dir/s.json.backup")), "{\"v\":1}");
  // No temp files are left behind.
  int files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir.File("sub/dir"))) files += e.is_regular_file();
  EXPECT_EQ(files, 2);
}

// The backup is the previous version's file itself (a second link to its inode), not a copy;
// a side name left by a writer killed between link and rename does not block the next write.
TEST(LocalBackend, BackupIsThePreviousVersionsFileLinkedNotCopied) {
  testing::TempDir dir;
  auto b = Open(dir.File("s.json"));
  auto t1 = b->WriteState("{\"v\":1}", WriteCondition{std::string("")});
  ASSERT_TRUE(t1.ok());
  struct stat v1 {};
  ASSERT_EQ(::stat(dir.File("s.json").c_str(), &v1), 0);
  testing::WriteFileOrDie(dir.File("s.json.backup.new"), "left by a killed writer");
  auto t2 = b->WriteState("{\"v\":2}", WriteCondition{t1.value()});
  ASSERT_TRUE(t2.ok()) << t2.status().ToString();
  struct stat bk {};
  ASSERT_EQ(::stat(dir.File("s.json.backup").c_str(), &bk), 0);
  EXPECT_EQ(bk.st_ino, v1.st_ino);
  EXPECT_EQ(testing::ReadFileOrDie(dir.File("s.json.backup")), "{\"v\":1}");
  EXPECT_FALSE(std::filesystem::exists(dir.File("s.json.backup.new")));
  auto t3 = b->WriteState("{\"v\":3}", WriteCondition{t2.value()});
  ASSERT_TRUE(t3.ok());
  EXPECT_EQ(testing::ReadFileOrDie(dir.File("s.json.backup")), "{\"v\":2}");
  EXPECT_EQ(testing::ReadFileOrDie(dir.File("s.json")), "{\"v\":3}");
  ASSERT_EQ(::stat(dir.File("s.json.backup").c_str(), &bk), 0);
  EXPECT_EQ(bk.st_nlink, 1u);  // the v1 file is gone, v2's has only the backup name
}

TEST(LocalBackend, ConditionalWriteRefusesAStaleReader) {
  testing::TempDir dir;
  auto b = Open(dir.File("s.json"));
  auto t1 = b->WriteState("one", WriteCondition{std::string("")});
  ASSERT_TRUE(t1.ok());
  auto again_new = b->WriteState("two", WriteCondition{std::string("")});
  EXPECT_EQ(again_new.status().code(), ErrorCode::kConflict);
  auto t2 = b->WriteState("two", WriteCondition{t1.value()});
  ASSERT_TRUE(t2.ok());
  auto stale = b->WriteState("three", WriteCondition{t1.value()});
  EXPECT_EQ(stale.status().code(), ErrorCode::kConflict);
  EXPECT_EQ(testing::ReadFileOrDie(dir.File("s.json")), "two");
}

TEST(LocalBackend, RefusesASymlinkedStatePath) {
  testing::TempDir dir;
  testing::WriteFileOrDie(dir.File("real.json"), "{}");
  ASSERT_EQ(::symlink(dir.File("real.json").c_str(), dir.File("link.json").c_str()), 0);
  auto b = Open(dir.File("link.json"));
  auto r = b->ReadState();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("symbolic link"), std::string::npos);
  EXPECT_FALSE(b->WriteState("x", WriteCondition{}).ok());
  EXPECT_EQ(testing::ReadFileOrDie(dir.File("real.json")), "{}");
}

// A child takes the lock; `hold` keeps it alive until killed, otherwise it exits without
// unlocking (a crash: the kernel drops the flock, the record stays behind).
pid_t ChildLocker(const std::string& path, bool hold, std::string* id_out) {
  int p[2];
  EXPECT_EQ(::pipe(p), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(p[0]);
    auto b = OpenBackend(LocalAt(path));
    LockInfo li = LockInfo::New("deploy", Env::Default());
    if (!b.ok() || !b.value()->Lock(li).ok()) _exit(2);
    std::string id = li.id + "\n";
    if (::write(p[1], id.data(), id.size()) < 0) _exit(3);
    if (hold) {
      for (;;) ::pause();
    }
    _exit(0);  // no unlock, no destructors
  }
  ::close(p[1]);
  char buf[64] = {0};
  ssize_t n = ::read(p[0], buf, sizeof buf - 1);
  ::close(p[0]);
  EXPECT_GT(n, 36);
  *id_out = std::string(buf, 36);
  return pid;
}

TEST(LocalBackend, ForceUnlockCleansAStaleRecordOnlyWithTheRightId) {
  testing::TempDir dir;
  std::string id;
  pid_t pid = ChildLocker(dir.File("s.json"), /*hold=*/false, &id);
  int status;
  ::waitpid(pid, &status, 0);
  auto b = Open(dir.File("s.json"));
  // The holder died: the flock is gone, so the lock is free even before any force-unlock.
  EXPECT_FALSE(b->CurrentLock().value().has_value());
  LockInfo released;
  std::string matched;
  Status wrong = b->ForceUnlock("00000000-0000-4000-8000-000000000000", &released, &matched);
  EXPECT_EQ(wrong.code(), ErrorCode::kConflict);
  EXPECT_NE(wrong.message().find("does not match"), std::string::npos);
  ASSERT_TRUE(b->ForceUnlock(id, &released, &matched).ok());
  EXPECT_EQ(released.id, id);
  EXPECT_NE(matched.find("stale"), std::string::npos) << matched;
  EXPECT_EQ(b->ForceUnlock(id, &released, &matched).code(), ErrorCode::kNotFound);
}

TEST(LocalBackend, ForceUnlockOfALiveHolderNamesItsPid) {
  testing::TempDir dir;
  std::string id;
  pid_t pid = ChildLocker(dir.File("s.json"), /*hold=*/true, &id);
  auto b = Open(dir.File("s.json"));
  LockInfo released;
  std::string matched;
  EXPECT_EQ(b->ForceUnlock("wrong", &released, &matched).code(), ErrorCode::kConflict);
  Status st = b->ForceUnlock(id, &released, &matched);
  EXPECT_EQ(st.code(), ErrorCode::kLockHeld);
  EXPECT_NE(st.message().find("PID " + std::to_string(pid)), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("released automatically when that process exits"), std::string::npos);
  // Still held.
  EXPECT_EQ(b->Lock(LockInfo::New("plan", Env::Default())).code(), ErrorCode::kLockHeld);
  ::kill(pid, SIGKILL);
  int status;
  ::waitpid(pid, &status, 0);
  LockInfo mine = LockInfo::New("plan", Env::Default());
  EXPECT_TRUE(b->Lock(mine).ok());
  EXPECT_TRUE(b->Unlock(mine.id).ok());
}

TEST(LockInfo, JsonUsesTerraformKeysAndRejectsGarbage) {
  LockInfo li = LockInfo::New("deploy", Env::Default());
  li.path = "/x";
  auto j = nlohmann::json::parse(li.ToJson());
  for (const char* k : {"ID", "Operation", "Info", "Who", "Version", "Created", "Path"}) EXPECT_TRUE(j.contains(k)) << k;
  auto back = LockInfo::FromJson(li.ToJson(), "t");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->id, li.id);
  EXPECT_EQ(back->pid, li.pid);
  EXPECT_EQ(LockInfo::FromJson("{\"ID\": 5}", "lockfile").status().message(),
            "lockfile: lock field \"ID\" must be a string, found number");
  EXPECT_FALSE(LockInfo::FromJson("[1,2", "lockfile").ok());
  EXPECT_FALSE(LockInfo::FromJson("{}", "lockfile").ok());
  // UUIDv4 shape and uniqueness.
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) ids.insert(NewUuid());
  EXPECT_EQ(ids.size(), 1000u);
  EXPECT_EQ(li.id[14], '4');
}

}  // namespace
}  // namespace nic

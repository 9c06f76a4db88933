// The real nic binary against moto: nic state push/show/pull/list/history/unlock --backend s3.
#include <gtest/gtest.h>
#include <unistd.h>

#include "nic/env.h"
#include "nic/state.h"
#include "tests/backend_s3/s3_fixture.h"
#include "tests/support/test_util.h"

namespace nic {
namespace {

using s3test::LockMode;

std::vector<std::string> With(std::vector<std::string> args, const std::vector<std::string>& backend) {
  args.insert(args.end(), backend.begin(), backend.end());
  return args;
}

TEST(S3Cli, PushShowPullHeldLockExit3AndForceUnlock) {
  const std::string bucket = "nic-cli-" + std::to_string(::getpid());
  const std::string table = bucket + "-locks";
  ASSERT_TRUE(s3test::CreateBucket(bucket).ok());
  ASSERT_TRUE(s3test::CreateLockTable(table).ok());
  const BackendConfig cfg = s3test::Config(bucket, "env/dev/nic-state.json", LockMode::kBoth, table);
  testing::TempDir dir;
  std::vector<std::string> backend = {"--backend", "s3", "--history-db", dir.File("history.db")};
  for (const auto& [k, v] : cfg.values) {
    backend.push_back("--backend-config");
    backend.push_back(k + "=" + v);
  }
  const std::map<std::string, std::string> env = {{"AWS_EC2_METADATA_DISABLED", "true"}};

  StateDocument doc = StateDocument::NewEmpty("aws", "cli", "us-east-1", Env::Default()->NowMicros());
  doc.serial = 1;
  const std::string file = dir.Write("state.json", SerializeStateDocument(doc));

  auto push = testing::RunNic(With({"state", "push", file}, backend), env);
  ASSERT_EQ(push.exit_code, 0) << push.out << push.err;
  EXPECT_NE(push.out.find("s3://" + bucket + "/env/dev/nic-state.json"), std::string::npos) << push.out;

  auto show = testing::RunNic(With({"state", "show"}, backend), env);
  ASSERT_EQ(show.exit_code, 0) << show.out << show.err;
  EXPECT_NE(show.out.find(doc.lineage), std::string::npos) << show.out;

  auto pull = testing::RunNic(With({"state", "pull"}, backend), env);
  ASSERT_EQ(pull.exit_code, 0) << pull.err;
  auto pulled = ParseStateDocument(pull.out, "pull");
  ASSERT_TRUE(pulled.ok()) << pulled.status().ToString();
  EXPECT_EQ(pulled->lineage, doc.lineage);
  EXPECT_EQ(pulled->serial, 1u);

  auto history = testing::RunNic(With({"state", "history"}, backend), env);
  EXPECT_EQ(history.exit_code, 0) << history.out << history.err;

  // Another process holds the lock: push fails with exit 3 naming the lock ID.
  auto holder = s3test::OpenS3(cfg).value();
  LockInfo li = LockInfo::New("deploy", nullptr);
  li.path = holder->Location();
  ASSERT_TRUE(holder->Lock(li).ok());
  doc.serial = 2;
  const std::string file2 = dir.Write("state2.json", SerializeStateDocument(doc));
  auto held = testing::RunNic(With({"state", "push", file2}, backend), env);
  EXPECT_EQ(held.exit_code, 3) << held.out << held.err;
  EXPECT_NE(held.err.find(li.id), std::string::npos) << held.err;

  auto wrong = testing::RunNic(With({"state", "unlock", "--force", "00000000-0000-4000-8000-000000000000"}, backend), env);
  EXPECT_NE(wrong.exit_code, 0);
  auto unlock = testing::RunNic(With({"state", "unlock", "--force", li.id}, backend), env);
  ASSERT_EQ(unlock.exit_code, 0) << unlock.out << unlock.err;
  EXPECT_NE(unlock.out.find("Force-unlocked"), std::string::npos) << unlock.out;

  auto push2 = testing::RunNic(With({"state", "push", file2}, backend), env);
  EXPECT_EQ(push2.exit_code, 0) << push2.out << push2.err;

  auto list = testing::RunNic(With({"state", "list"}, backend), env);
  EXPECT_EQ(list.exit_code, 0) << list.out << list.err;

  // Rollback to serial 1 writes its content as serial 3, through the same lock and ETag checks.
  auto rollback = testing::RunNic(With({"state", "rollback", "--to", "1"}, backend), env);
  ASSERT_EQ(rollback.exit_code, 0) << rollback.out << rollback.err;
  auto after = testing::RunNic(With({"state", "pull"}, backend), env);
  ASSERT_EQ(after.exit_code, 0) << after.err;
  auto rolled = ParseStateDocument(after.out, "pull");
  ASSERT_TRUE(rolled.ok()) << rolled.status().ToString();
  EXPECT_EQ(rolled->serial, 3u);
  EXPECT_EQ(rolled->lineage, doc.lineage);

  // A missing bucket through the CLI: a clear error, non-zero exit.
  std::vector<std::string> missing = backend;
  for (auto& a : missing) {
    if (a == "bucket=" + bucket) a = "bucket=nic-cli-no-such-bucket";
  }
  auto nobucket = testing::RunNic(With({"state", "show"}, missing), env);
  EXPECT_NE(nobucket.exit_code, 0);
  EXPECT_NE(nobucket.err.find("does not exist"), std::string::npos) << nobucket.err;
}

}  // namespace
}  // namespace nic

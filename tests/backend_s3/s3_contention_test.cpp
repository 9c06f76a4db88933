// Contention soak against moto: 8 processes x 25 lock/read/modify/write/unlock cycles through
// the engine's StateManager, for the DynamoDB lock, the S3 lockfile, and both together. No
// update may be lost: the final serial is the initial one plus every successful cycle, the
// deploy_count every cycle incremented equals it, and every version is in history.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>

#include "nic/env.h"
#include "nic/history.h"
#include "nic/state_manager.h"
#include "tests/backend_s3/s3_fixture.h"
#include "tests/support/process.h"

namespace nic {
namespace {

using s3test::LockMode;

constexpr int kProcs = 8;
constexpr int kCycles = 25;

Status SoakCycle(const BackendConfig& cfg, const std::string& history_path, int64_t timeout_micros) {
  // Everything is created in the child after fork: its own curl transport and SQLite handle.
  NIC_ASSIGN_OR_RETURN(auto backend, s3test::OpenS3(cfg));
  NIC_ASSIGN_OR_RETURN(auto history, HistoryDb::Open(history_path));
  StateManagerOptions opts;
  opts.lock_timeout_micros = timeout_micros;
  opts.history = history.get();
  StateManager mgr(backend.get(), opts);
  NIC_RETURN_IF_ERROR(mgr.Lock("soak").status());
  NIC_ASSIGN_OR_RETURN(std::optional<StateDocument> cur, mgr.Read());
  StateDocument doc = cur ? *cur : StateDocument::NewEmpty("aws", "soak", "us-east-1", Env::Default()->NowMicros());
  doc.metadata.deploy_count += 1;
  NIC_RETURN_IF_ERROR(mgr.Persist(doc, "soak"));
  return mgr.Unlock();
}

class S3Soak : public ::testing::TestWithParam<LockMode> {};

INSTANTIATE_TEST_SUITE_P(Modes, S3Soak, ::testing::Values(LockMode::kDynamo, LockMode::kLockfile, LockMode::kBoth),
                         [](const auto& info) { return std::string(s3test::ModeName(info.param)); });

TEST_P(S3Soak, EightProcessesNoLostUpdate) {
  const std::string bucket = std::string("nic-soak-") + s3test::ModeName(GetParam()) + "-" + std::to_string(::getpid());
  const std::string table = bucket + "-locks";
  ASSERT_TRUE(s3test::CreateBucket(bucket).ok());
  ASSERT_TRUE(s3test::CreateLockTable(table).ok());
  const BackendConfig cfg = s3test::Config(bucket, "nebari/nic-state.json", GetParam(), table);
  testing::TempDir dir;
  const std::string hist = dir.File("history.db");

  ASSERT_TRUE(SoakCycle(cfg, hist, 0).ok());  // serial 1, deploy_count 1
  const uint64_t initial = 1;

  const int64_t start = Env::Default()->NowMicros();
  std::vector<pid_t> kids;
  for (int p = 0; p < kProcs; ++p) {
    std::fflush(nullptr);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int ok = 0;
      for (int c = 0; c < kCycles; ++c) {
        Status st = SoakCycle(cfg, hist, 120LL * 1000000);
        if (st.ok()) {
          ++ok;
        } else {
          std::fprintf(stderr, "soak cycle failed: %s\n", st.ToString().c_str());
        }
      }
      std::fflush(nullptr);
      ::_exit(ok);
    }
    kids.push_back(pid);
  }
  int successes = 0;
  for (pid_t k : kids) {
    int status = 0;
    ::waitpid(k, &status, 0);
    ASSERT_TRUE(WIFEXITED(status)) << "a soak process died";
    successes += WEXITSTATUS(status);
  }
  const double secs = static_cast<double>(Env::Default()->NowMicros() - start) / 1e6;
  std::printf("[ soak     ] %s: %d/%d cycles succeeded in %.1fs\n", s3test::ModeName(GetParam()), successes,
              kProcs * kCycles, secs);
  EXPECT_EQ(successes, kProcs * kCycles);

  auto b = s3test::OpenS3(cfg);
  ASSERT_TRUE(b.ok());
  auto blob = (*b)->ReadState();
  ASSERT_TRUE(blob.ok()) << blob.status().ToString();
  auto doc = ParseStateDocument(blob->bytes, "s3");
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_EQ(doc->serial, initial + static_cast<uint64_t>(successes));
  EXPECT_EQ(doc->metadata.deploy_count, static_cast<int64_t>(doc->serial)) << "an update was lost";

  auto lock = (*b)->CurrentLock();
  ASSERT_TRUE(lock.ok());
  EXPECT_FALSE(lock->has_value()) << "a lock was left behind";

  auto h = HistoryDb::Open(hist);
  ASSERT_TRUE(h.ok());
  auto versions = h.value()->ListVersions(doc->lineage, 10000);
  ASSERT_TRUE(versions.ok());
  ASSERT_EQ(versions->size(), static_cast<size_t>(doc->serial));
  for (size_t i = 0; i < versions->size(); ++i) {
    EXPECT_EQ((*versions)[i].serial, static_cast<int64_t>(doc->serial - i));
  }
}

}  // namespace
}  // namespace nic

// Contention soak: 8 processes x 25 lock/read/modify/write/unlock cycles through StateManager
// against one gcs_server.py. No update may be lost, no two holders may overlap, and every
// version must be in history.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sstream>

#include "nic/env.h"
#include "nic/history.h"
#include "nic/state_manager.h"
#include "tests/backend_gcs/gcs_test_env.h"
#include "tests/support/soak.h"
#include "tests/support/test_util.h"

namespace nic {
namespace {

Status Cycle(const std::string& bucket, const std::string& history_path, const std::string& journal) {
  NIC_ASSIGN_OR_RETURN(auto backend, OpenBackend(gcstest::Config(bucket)));
  return testing::SoakCycle(backend.get(), history_path, journal, 60LL * 1000000, /*create_if_missing=*/false);
}

TEST(GcsContention, EightProcessesTwentyFiveCyclesNoLostUpdate) {
  constexpr int kProcs = 8, kCycles = 25;
  testing::TempDir dir;
  const std::string hist = dir.File("history.db"), journal = dir.File("journal");
  const std::string bucket = gcstest::NewBucket();

  // Seed: serial 1 with deploy_count 1, so deploy_count == serial holds throughout.
  uint64_t initial_serial = 0;
  {
    auto backend = gcstest::Open(bucket);
    auto history = HistoryDb::Open(hist);
    ASSERT_TRUE(history.ok());
    StateManagerOptions opts;
    opts.history = history->get();
    StateManager m(backend.get(), opts);
    ASSERT_TRUE(m.Lock("seed").ok());
    StateDocument d = StateDocument::NewEmpty("gcp", "soak", "us-central1", Env::Default()->NowMicros());
    d.metadata.deploy_count = 1;
    ASSERT_TRUE(m.Persist(d, "seed").ok());
    initial_serial = d.serial;
    ASSERT_TRUE(m.Unlock().ok());
  }
  gcstest::ResetRequestCount();

  std::vector<pid_t> kids;
  for (int p = 0; p < kProcs; ++p) {
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int ok = 0;
      for (int c = 0; c < kCycles; ++c) {
        Status st = Cycle(bucket, hist, journal);
        if (st.ok()) {
          ++ok;
        } else {
          std::fprintf(stderr, "[pid %d] cycle %d failed: %s\n", ::getpid(), c, st.ToString().c_str());
        }
      }
      std::fflush(stderr);
      _exit(ok);  // the number of successful cycles (0..25)
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
  const int64_t requests = gcstest::RequestCount();

  // No two holders overlapped: every B is followed by the E of the same process.
  int pairs = 0;
  ASSERT_TRUE(testing::ExclusiveHolds(journal, &pairs));

  auto backend = gcstest::Open(bucket);
  auto blob = backend->ReadState();
  ASSERT_TRUE(blob.ok() && blob->exists);
  auto doc = ParseStateDocument(blob->bytes, backend->Location());
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_EQ(successes, kProcs * kCycles) << "with a 60 s lock timeout every cycle should get its turn";
  EXPECT_EQ(doc->serial, initial_serial + static_cast<uint64_t>(successes));
  EXPECT_EQ(doc->metadata.deploy_count, static_cast<int64_t>(doc->serial)) << "an update was lost";
  EXPECT_EQ(gcstest::RawObject(bucket, "nebari/dev/default.tflock", false).status, 404) << "the lock was left behind";

  auto h = HistoryDb::Open(hist);
  ASSERT_TRUE(h.ok());
  auto versions = h.value()->ListVersions(doc->lineage, 10000);
  ASSERT_TRUE(versions.ok());
  ASSERT_EQ(versions->size(), doc->serial);
  for (size_t i = 0; i < versions->size(); ++i) {
    EXPECT_EQ((*versions)[i].serial, static_cast<int64_t>(doc->serial - i)) << "history misses a version";
  }
  auto top = h.value()->GetVersion(doc->lineage, static_cast<int64_t>(doc->serial));
  ASSERT_TRUE(top.ok());
  EXPECT_EQ(top->document, blob->bytes);
  std::printf("gcs soak: %d processes x %d cycles, %d succeeded, %d exclusive holds, final serial %llu, "
              "%lld API requests (%.2f per successful cycle, including lock polling while contended)\n",
              kProcs, kCycles, successes, pairs, static_cast<unsigned long long>(doc->serial), static_cast<long long>(requests),
              successes ? static_cast<double>(requests) / successes : 0.0);
}

}  // namespace
}  // namespace nic

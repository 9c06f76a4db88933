// Cross-process contention and crash safety of the local backend + state engine.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <random>
#include <sstream>

#include "nic/backend.h"
#include "nic/env.h"
#include "nic/history.h"
#include "nic/state_manager.h"
#include "tests/support/soak.h"
#include "tests/support/test_util.h"

namespace nic {
namespace {

// One soak cycle (tests/support/soak.h) on the local backend at `state`.
Status Cycle(const std::string& state, const std::string& history_path, const std::string& journal, int64_t timeout) {
  BackendConfig cfg;
  cfg.values["path"] = state;
  NIC_ASSIGN_OR_RETURN(auto backend, OpenBackend(cfg));
  return testing::SoakCycle(backend.get(), history_path, journal, timeout, /*create_if_missing=*/true);
}

TEST(LocalContention, OneHolderAtATimeAndNoLostUpdate) {
  testing::TempDir dir;
  const std::string state = dir.File("state.json"), hist = dir.File("history.db"), journal = dir.File("journal");
  constexpr int kProcs = 6, kCycles = 15;
  std::vector<pid_t> kids;
  for (int p = 0; p < kProcs; ++p) {
    pid_t pid = ::fork();
    if (pid == 0) {
      int ok = 0;
      for (int c = 0; c < kCycles; ++c) {
        Status st = Cycle(state, hist, journal, /*timeout=*/120LL * 1000000);
        if (st.ok()) ++ok;
        else std::fprintf(stderr, "cycle failed: %s\n", st.ToString().c_str());
      }
      _exit(ok == kCycles ? 0 : 1);
    }
    kids.push_back(pid);
  }
  for (pid_t k : kids) {
    int status = 0;
    ::waitpid(k, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "a waiter did not get its turn";
  }
  // Exclusive: every B is immediately followed by the E of the same process.
  int pairs = 0;
  ASSERT_TRUE(testing::ExclusiveHolds(journal, &pairs));
  EXPECT_EQ(pairs, kProcs * kCycles);
  auto doc = ParseStateDocument(testing::ReadFileOrDie(state), state);
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_EQ(doc->serial, uint64_t(kProcs * kCycles));
  EXPECT_EQ(doc->metadata.deploy_count, kProcs * kCycles);
  auto h = HistoryDb::Open(hist);
  ASSERT_TRUE(h.ok());
  auto versions = h.value()->ListVersions(doc->lineage, 10000);
  ASSERT_TRUE(versions.ok());
  ASSERT_EQ(versions->size(), size_t(kProcs * kCycles));
  for (size_t i = 0; i < versions->size(); ++i) EXPECT_EQ((*versions)[i].serial, int64_t(kProcs * kCycles - i));
}

TEST(LocalContention, WithoutTimeoutAHeldLockFailsAtOnceWithExit3) {
  testing::TempDir dir;
  BackendConfig cfg;
  cfg.values["path"] = dir.File("s.json");
  auto a = OpenBackend(cfg).value();
  auto b = OpenBackend(cfg).value();
  StateManager ma(a.get(), {});
  StateManager mb(b.get(), {});
  ASSERT_TRUE(ma.Lock("deploy").ok());
  int64_t t0 = Env::Default()->NowMicros();
  auto r = mb.Lock("deploy");
  EXPECT_LT(Env::Default()->NowMicros() - t0, 2000000);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().exit_code(), 3);
}

TEST(LocalCrash, SigkillAtRandomMomentsNeverLeavesATornState) {
  testing::TempDir dir;
  const std::string state = dir.File("state.json"), hist = dir.File("history.db"), journal = dir.File("journal");
  ASSERT_TRUE(Cycle(state, hist, journal, 0).ok());
  std::mt19937 rng(12345);
  constexpr int kKills = 200;
  uint64_t last_serial = 1;
  int advanced = 0;
  for (int i = 0; i < kKills; ++i) {
    pid_t pid = ::fork();
    if (pid == 0) {
      for (;;) {
        if (!Cycle(state, hist, journal, 10LL * 1000000).ok()) _exit(1);
      }
    }
    ::usleep(std::uniform_int_distribution<int>(0, 15000)(rng));
    ::kill(pid, SIGKILL);
    int status;
    ::waitpid(pid, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "writer exited on its own: it failed a cycle";
    // The state parses (its checksum covers the whole document, so a mix of two versions
    // cannot pass) and is the old or a newer complete version.
    auto doc = ParseStateDocument(testing::ReadFileOrDie(state), state);
    ASSERT_TRUE(doc.ok()) << "after kill " << i << ": " << doc.status().ToString();
    ASSERT_GE(doc->serial, last_serial);
    ASSERT_EQ(doc->metadata.deploy_count, int64_t(doc->serial));
    if (doc->serial > last_serial) ++advanced;
    last_serial = doc->serial;
    // The next command works at once: the dead holder's flock is gone.
    ASSERT_TRUE(Cycle(state, hist, journal, 0).ok()) << "after kill " << i;
    ++last_serial;
  }
  EXPECT_GT(advanced, 0) << "the writer never completed a cycle before being killed";
  auto h = HistoryDb::Open(hist);
  ASSERT_TRUE(h.ok());
  auto doc = ParseStateDocument(testing::ReadFileOrDie(state), state);
  auto top = h.value()->GetVersion(doc->lineage, int64_t(doc->serial));
  ASSERT_TRUE(top.ok()) << top.status().ToString();
  EXPECT_EQ(top->document, testing::ReadFileOrDie(state));
  std::printf("crash test: %d kills, state advanced by the killed writer %d times, final serial %llu\n", kKills, advanced,
              static_cast<unsigned long long>(doc->serial));
}

}  // namespace
}  // namespace nic

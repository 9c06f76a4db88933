// The gcs backend when responses are lost or the service fails transiently: a conditional write
// whose response never arrived is retried, meets its own write's 412, and is recognised as ours;
// cycles through injected 5xx/429/resets/timeouts lose nothing.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>

#include "nic/env.h"
#include "nic/fault_transport.h"
#include "nic/state_manager.h"
#include "tests/backend_gcs/gcs_test_env.h"

namespace nic {
namespace {

// Forwards every request; for those `lose` picks, the server has acted but the caller gets a
// connection reset instead of the response (the hard case for non-idempotent writes).
class LosingTransport final : public http::Transport {
 public:
  LosingTransport(http::Transport* target, std::function<bool(const http::Request&, int)> lose)
      : target_(target), lose_(std::move(lose)) {}
  Result<http::Response> Send(const http::Request& request) override {
    int n = count_++;
    auto r = target_->Send(request);
    if (r.ok() && lose_(request, n)) {
      ++lost_;
      return Status::Unavailable("connection reset after the request was sent (response lost, injected)");
    }
    return r;
  }
  int lost() const { return lost_.load(); }

 private:
  http::Transport* target_;
  std::function<bool(const http::Request&, int)> lose_;
  std::atomic<int> count_{0};
  std::atomic<int> lost_{0};
};

GcsBackendOptions Options(const std::string& bucket, std::shared_ptr<http::Transport> t) {
  GcsBackendOptions o;
  o.bucket = bucket;
  o.prefix = "faults";
  o.client.endpoint = gcstest::Endpoint();
  o.client.transport = std::move(t);
  o.client.retry.policy.max_attempts = 8;
  o.client.retry.policy.seed = 7;
  o.client.retry.policy.sleep = [](std::chrono::milliseconds) {};
  return o;
}

TEST(GcsFaults, LostResponsesOfLockWriteAndUnlockAreResolved) {
  const std::string bucket = gcstest::NewBucket();
  auto real = std::shared_ptr<http::Transport>(http::NewCurlTransport());
  bool armed = true;
  // Lose the first response of every write (POST/DELETE) once.
  auto losing = std::make_shared<LosingTransport>(real.get(), [&](const http::Request& r, int) {
    if (!armed || (r.method != "POST" && r.method != "DELETE")) return false;
    armed = false;
    return true;
  });
  GcsBackend b(Options(bucket, losing));
  LockInfo li = LockInfo::New("deploy", Env::Default());
  ASSERT_TRUE(b.Lock(li).ok()) << "a lock whose insert landed with its response lost is ours";
  auto meta = nlohmann::json::parse(gcstest::RawObject(bucket, "faults/default.tflock", false).body);
  EXPECT_EQ(std::to_string(b.held_generation()), meta["generation"].get<std::string>());
  EXPECT_EQ(losing->lost(), 1);

  armed = true;
  StateDocument d = StateDocument::NewEmpty("gcp", "p", "r", Env::Default()->NowMicros());
  d.serial = 1;
  auto tok = b.WriteState(SerializeStateDocument(d), WriteCondition{std::string("")});
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  auto smeta = nlohmann::json::parse(gcstest::RawObject(bucket, "faults/default.tfstate", false).body);
  EXPECT_EQ(tok.value(), smeta["generation"].get<std::string>());
  EXPECT_EQ(losing->lost(), 2);

  armed = true;
  ASSERT_TRUE(b.Unlock(li.id).ok()) << "a delete whose response was lost already released the lock";
  EXPECT_EQ(losing->lost(), 3);
  EXPECT_EQ(gcstest::RawObject(bucket, "faults/default.tflock", false).status, 404);
}

TEST(GcsFaults, ReleaseWhoseReplyIsLostWhileAnotherProcessTakesTheLockIsNotABreak) {
  // Found by the fault soak (tests/py/test_fault_soak.py): the delete lands, its reply is lost,
  // another process locks at once, and the retried delete meets the new generation's 412. That
  // is our own release, not someone breaking our lock.
  const std::string bucket = gcstest::NewBucket();
  auto real = std::shared_ptr<http::Transport>(http::NewCurlTransport());
  GcsBackend other(Options(bucket, real));
  LockInfo theirs = LockInfo::New("deploy", Env::Default());
  bool armed = true;
  auto losing = std::make_shared<LosingTransport>(real.get(), [&](const http::Request& r, int) {
    if (!armed || r.method != "DELETE") return false;
    armed = false;
    EXPECT_TRUE(other.Lock(theirs).ok());
    return true;
  });
  GcsBackend b(Options(bucket, losing));
  LockInfo ours = LockInfo::New("deploy", Env::Default());
  ASSERT_TRUE(b.Lock(ours).ok());
  Status st = b.Unlock(ours.id);
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(losing->lost(), 1);
  auto held = b.CurrentLock();
  ASSERT_TRUE(held.ok() && held->has_value());
  EXPECT_EQ((*held)->id, theirs.id) << "the other process's lock is untouched";
  ASSERT_TRUE(other.Unlock(theirs.id).ok());
}

TEST(GcsFaults, LockWhoseEveryInsertResponseIsLostIsStillRecognised) {
  const std::string bucket = gcstest::NewBucket();
  auto real = std::shared_ptr<http::Transport>(http::NewCurlTransport());
  // Every POST answer is lost: the first insert created the lock, the retries met 412s nobody saw.
  auto losing = std::make_shared<LosingTransport>(real.get(), [](const http::Request& r, int) { return r.method == "POST"; });
  GcsBackend b(Options(bucket, losing));
  LockInfo li = LockInfo::New("deploy", Env::Default());
  ASSERT_TRUE(b.Lock(li).ok()) << "retries exhausted, but the lock object holds our lock";
  EXPECT_EQ(losing->lost(), 8);
  auto body = nlohmann::json::parse(gcstest::RawObject(bucket, "faults/default.tflock", true).body);
  EXPECT_EQ(body["ID"], li.id);
  ASSERT_TRUE(b.Unlock(li.id).ok());
  EXPECT_EQ(gcstest::RawObject(bucket, "faults/default.tflock", false).status, 404) << "no orphaned lock";
}

TEST(GcsFaults, StaleWriteWithLostResponseIsStillRefused) {
  // The md5 check must not mistake someone else's write for ours: a stale write retried after a
  // lost response is refused when the stored bytes differ.
  const std::string bucket = gcstest::NewBucket();
  auto real = std::shared_ptr<http::Transport>(http::NewCurlTransport());
  GcsBackend writer(Options(bucket, real));
  StateDocument d = StateDocument::NewEmpty("gcp", "p", "r", Env::Default()->NowMicros());
  d.serial = 1;
  auto t1 = writer.WriteState(SerializeStateDocument(d), WriteCondition{std::string("")});
  ASSERT_TRUE(t1.ok());
  d.serial = 2;
  ASSERT_TRUE(writer.WriteState(SerializeStateDocument(d), WriteCondition{t1.value()}).ok());
  // A transient 503 on the first attempt makes the stale write a retried one.
  http::FaultOptions fo;
  fo.script = {http::Fault::kUnavailable503};
  auto faulty = std::make_shared<http::FaultInjectingTransport>(real.get(), fo);
  GcsBackend stale(Options(bucket, faulty));
  d.serial = 3;
  auto r = stale.WriteState(SerializeStateDocument(d), WriteCondition{t1.value()});
  ASSERT_EQ(r.status().code(), ErrorCode::kConflict) << r.status().ToString();
  EXPECT_EQ(ParseStateDocument(stale.ReadState()->bytes, "x")->serial, 2u);
}

TEST(GcsFaults, CyclesThroughInjectedFaultsLoseNothing) {
  const std::string bucket = gcstest::NewBucket();
  auto real = std::shared_ptr<http::Transport>(http::NewCurlTransport());
  auto losing = std::make_shared<LosingTransport>(real.get(), [](const http::Request&, int n) { return n % 7 == 3; });
  http::FaultOptions fo;
  fo.seed = 42;
  fo.rate = 0.25;
  auto faulty = std::make_shared<http::FaultInjectingTransport>(losing.get(), fo);
  constexpr int kCycles = 25;
  int ok = 0;
  for (int i = 0; i < kCycles; ++i) {
    GcsBackend b(Options(bucket, faulty));
    StateManager m(&b, {});
    auto id = m.Lock("fault cycle");
    if (!id.ok()) {
      ADD_FAILURE() << "cycle " << i << " lock: " << id.status().ToString();
      continue;
    }
    auto cur = m.Read();
    ASSERT_TRUE(cur.ok()) << cur.status().ToString();
    StateDocument doc = cur.value() ? *cur.value() : StateDocument::NewEmpty("gcp", "p", "r", Env::Default()->NowMicros());
    doc.metadata.deploy_count += 1;
    Status st = m.Persist(doc, "fault cycle");
    Status un = m.Unlock();
    EXPECT_TRUE(st.ok()) << "cycle " << i << ": " << st.ToString();
    EXPECT_TRUE(un.ok()) << "cycle " << i << ": " << un.ToString();
    if (st.ok()) ++ok;
  }
  GcsBackend check(Options(bucket, real));
  auto doc = ParseStateDocument(check.ReadState()->bytes, "x");
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(ok, kCycles);
  EXPECT_EQ(doc->serial, static_cast<uint64_t>(ok));
  EXPECT_EQ(doc->metadata.deploy_count, static_cast<int64_t>(doc->serial));
  EXPECT_EQ(gcstest::RawObject(bucket, "faults/default.tflock", false).status, 404);
  EXPECT_GT(faulty->injected(), 10);
  EXPECT_GT(losing->lost(), 10);
  std::printf("fault cycles: %d/%d committed; %d faults injected, %d responses lost after the server acted\n", ok, kCycles,
              faulty->injected(), losing->lost());
}

}  // namespace
}  // namespace nic

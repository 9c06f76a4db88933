// The azurerm backend under transport faults: responses lost after the request landed (the
// retry must recognise its own first attempt), and random 5xx/429/resets/timeouts.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>

#include "nic/env.h"
#include "nic/fault_transport.h"
#include "nic/state.h"
#include "nic/state_manager.h"
#include "tests/backend_azure/azure_test_env.h"

namespace nic {
namespace {

// Forwards every request; for the first request matching `pick`, drops the response after the
// service has acted on it (what a connection reset after the write looks like to the client).
class LoseResponseTransport final : public http::Transport {
 public:
  LoseResponseTransport(std::shared_ptr<http::Transport> inner, std::function<bool(const http::Request&)> pick)
      : inner_(std::move(inner)), pick_(std::move(pick)) {}
  Result<http::Response> Send(const http::Request& request) override {
    auto r = inner_->Send(request);
    if (!lost_.load() && pick_(request)) {
      lost_ = true;
      return Status::Unavailable("connection reset by peer after the request was processed (injected)");
    }
    return r;
  }
  bool lost() const { return lost_.load(); }

 private:
  std::shared_ptr<http::Transport> inner_;
  std::function<bool(const http::Request&)> pick_;
  std::atomic<bool> lost_{false};
};

std::unique_ptr<AzurermBackend> OpenLosing(const std::string& container, std::function<bool(const http::Request&)> pick,
                                           std::shared_ptr<LoseResponseTransport>* out) {
  AzurermBackendOptions o = aztest::Options(aztest::Config(container));
  auto t = std::make_shared<LoseResponseTransport>(o.client.transport, std::move(pick));
  o.client.transport = t;
  o.client.retry.policy.base_delay = std::chrono::milliseconds(5);
  *out = t;
  return std::make_unique<AzurermBackend>(std::move(o));
}

bool IsStatePut(const http::Request& r) {
  return r.method == "PUT" && r.url.find('?') == std::string::npos && !r.body.empty();
}
bool IsLease(const http::Request& r, const std::string& action) {
  return r.url.find("comp=lease") != std::string::npos && r.headers.GetOr("x-ms-lease-action") == action;
}

TEST(AzurermFaults, LostResponsesOnAcquireWriteAndReleaseAreResolved) {
  struct Case {
    const char* name;
    std::function<bool(const http::Request&)> pick;
  };
  std::vector<Case> cases = {
      {"acquire", [](const http::Request& r) { return IsLease(r, "acquire"); }},
      {"state write", IsStatePut},
      {"release", [](const http::Request& r) { return IsLease(r, "release"); }},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string container = aztest::NewContainer();
    std::shared_ptr<LoseResponseTransport> t;
    auto b = OpenLosing(container, c.pick, &t);
    StateManager m(b.get(), {});
    auto id = m.Lock("deploy");
    ASSERT_TRUE(id.ok()) << id.status().ToString();
    auto cur = m.Read();
    ASSERT_TRUE(cur.ok()) << cur.status().ToString();
    StateDocument d = cur->has_value() ? **cur : StateDocument::NewEmpty("azure", "faults", "westeurope", Env::Default()->NowMicros());
    d.metadata.deploy_count += 1;
    Status st = m.Persist(d, "deploy");
    ASSERT_TRUE(st.ok()) << st.ToString();
    st = m.Unlock();
    ASSERT_TRUE(st.ok()) << st.ToString();
    EXPECT_TRUE(t->lost()) << "the fault was not injected";

    auto check = aztest::Open(container);
    auto blob = check->ReadState();
    ASSERT_TRUE(blob.ok() && blob->exists);
    EXPECT_EQ(blob->bytes, SerializeStateDocument(d));
    auto props = check->client().GetProperties(check->key());
    ASSERT_TRUE(props.ok());
    EXPECT_NE(props->lease_state, "leased");
  }
}

TEST(AzurermFaults, RandomTransientFaultsLoseNothing) {
  const std::string container = aztest::NewContainer();
  AzurermBackendOptions o = aztest::Options(aztest::Config(container));
  http::FaultOptions fo;
  fo.seed = 7;
  fo.rate = 0.2;
  auto inner = o.client.transport;
  auto faulty = std::make_shared<http::FaultInjectingTransport>(inner.get(), fo);
  o.client.transport = std::shared_ptr<http::Transport>(faulty, faulty.get());
  o.client.retry.policy.base_delay = std::chrono::milliseconds(5);
  o.client.retry.policy.max_delay = std::chrono::milliseconds(50);
  o.client.retry.policy.max_attempts = 8;
  AzurermBackend b(std::move(o));
  constexpr int kCycles = 15;
  for (int i = 0; i < kCycles; ++i) {
    StateManager m(&b, {});
    ASSERT_TRUE(m.Lock("deploy").ok());
    auto cur = m.Read();
    ASSERT_TRUE(cur.ok()) << cur.status().ToString();
    StateDocument d = cur->has_value() ? **cur : StateDocument::NewEmpty("azure", "faults", "westeurope", Env::Default()->NowMicros());
    d.metadata.deploy_count += 1;
    Status st = m.Persist(d, "deploy");
    ASSERT_TRUE(st.ok()) << st.ToString();
    ASSERT_TRUE(m.Unlock().ok());
  }
  EXPECT_GT(faulty->injected(), 0);
  auto blob = aztest::Open(container)->ReadState();
  ASSERT_TRUE(blob.ok() && blob->exists);
  auto doc = ParseStateDocument(blob->bytes, "azurite");
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(doc->serial, static_cast<uint64_t>(kCycles));
  EXPECT_EQ(doc->metadata.deploy_count, kCycles);
  std::printf("azurerm under faults: %d requests, %d injected faults, %d cycles, nothing lost\n", faulty->requests(),
              faulty->injected(), kCycles);
}

}  // namespace
}  // namespace nic

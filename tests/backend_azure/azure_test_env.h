// Shared setup for the azurerm backend tests: one Azurite per test binary (started on first use,
// stopped at exit), a fresh container per test created through the backend's own BlobClient,
// and a counting Transport decorator so tests can report requests per operation.
#pragma once

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "backends/azurerm/azurerm_backend.h"
#include "nic/backend.h"
#include "nic/http.h"
#include "tests/support/azurite.h"

namespace nic::aztest {

inline testing::Azurite* Server() {
  static std::unique_ptr<testing::Azurite> server = [] {
    auto s = testing::Azurite::Start();
    if (!s.ok()) {
      std::fprintf(stderr, "cannot start Azurite: %s\n", s.status().ToString().c_str());
      std::abort();
    }
    return std::move(s).value();
  }();
  return server.get();
}

inline std::string Endpoint() { return Server()->blob_endpoint(); }

// Counts every request sent through it (all threads), by kind.
class CountingTransport final : public http::Transport {
 public:
  explicit CountingTransport(std::shared_ptr<http::Transport> inner) : inner_(std::move(inner)) {}
  Result<http::Response> Send(const http::Request& request) override {
    ++count_;
    return inner_->Send(request);
  }
  int parallelism() const override { return inner_->parallelism(); }
  int64_t count() const { return count_.load(); }
  void Reset() { count_ = 0; }

 private:
  std::shared_ptr<http::Transport> inner_;
  std::atomic<int64_t> count_{0};
};

inline BackendConfig Config(const std::string& container, const std::string& key = "nebari/dev.tfstate") {
  BackendConfig cfg;
  cfg.type = "azurerm";
  cfg.values = {{"storage_account_name", testing::Azurite::kAccount},
                {"container_name", container},
                {"key", key},
                {"access_key", testing::Azurite::kKey},
                {"endpoint", Endpoint()}};
  return cfg;
}

inline AzurermBackendOptions Options(const BackendConfig& cfg) {
  auto o = AzurermBackend::ResolveOptions(cfg, auth::MapEnv({}));
  if (!o.ok()) {
    std::fprintf(stderr, "ResolveOptions(azurerm): %s\n", o.status().ToString().c_str());
    std::abort();
  }
  return std::move(o).value();
}

// A backend whose requests are counted in `*counter` (when non-null).
inline std::unique_ptr<AzurermBackend> OpenCounted(const BackendConfig& cfg, std::shared_ptr<CountingTransport>* counter,
                                                   int lease_duration = -1,
                                                   std::chrono::milliseconds renew_interval = std::chrono::milliseconds(0)) {
  AzurermBackendOptions o = Options(cfg);
  auto c = std::make_shared<CountingTransport>(o.client.transport);
  o.client.transport = c;
  o.lease_duration_seconds = lease_duration;
  o.renew_interval = renew_interval;
  if (counter) *counter = c;
  return std::make_unique<AzurermBackend>(std::move(o));
}

// A backend through the registry (OpenBackend), as the CLI opens it.
inline std::unique_ptr<AzurermBackend> Open(const std::string& container, const std::string& key = "nebari/dev.tfstate") {
  auto b = OpenBackend(Config(container, key));
  if (!b.ok()) {
    std::fprintf(stderr, "OpenBackend(azurerm): %s\n", b.status().ToString().c_str());
    std::abort();
  }
  return std::unique_ptr<AzurermBackend>(static_cast<AzurermBackend*>(std::move(b).value().release()));
}

// A raw client on `container` (the test's hands: Terraform-style locks, breaking leases).
inline std::unique_ptr<azurerm::BlobClient> RawClient(const std::string& container) {
  AzurermBackendOptions o = Options(Config(container));
  return std::make_unique<azurerm::BlobClient>(o.client);
}

// Creates a fresh container through the client and returns its name.
inline std::string NewContainer() {
  static std::atomic<int> n{0};
  std::string name = "nic-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
  Status st = RawClient(name)->CreateContainer();
  if (!st.ok()) {
    std::fprintf(stderr, "create container: %s\n", st.ToString().c_str());
    std::abort();
  }
  return name;
}

}  // namespace nic::aztest

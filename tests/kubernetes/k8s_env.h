// Shared setup for the Kubernetes provider tests: one k8s_server.py stand-in per test binary
// (plain http + bearer token), a transport wrapper that records requests and can act "behind
// the provider's back" before one is forwarded, and a second raw client for such interference.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "nic/http.h"
#include "nic/kubernetes_provider.h"
#include "tests/support/python_server.h"

namespace nic::testing {

inline constexpr const char* kK8sToken = "nic-test-token";
inline constexpr const char* kCluster = "nebari-test";

// Forwards to `inner`; runs `before` first (it may talk to the server itself) and records each
// request line ("GET /api/v1/namespaces?...").
class HookTransport final : public http::Transport {
 public:
  explicit HookTransport(http::Transport* inner) : inner_(inner) {}
  Result<http::Response> Send(const http::Request& r) override {
    std::function<void(const http::Request&)> hook;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto url = http::ParseUrl(r.url);
      lines_.push_back(r.method + " " + (url.ok() ? url->path + (url->query.empty() ? "" : "?" + url->query) : r.url));
      hook = before;
    }
    if (hook) hook(r);
    return inner_->Send(r);
  }
  int parallelism() const override { return inner_->parallelism(); }
  std::vector<std::string> Lines() {
    std::lock_guard<std::mutex> lock(mu_);
    return lines_;
  }
  void Clear() {
    std::lock_guard<std::mutex> lock(mu_);
    lines_.clear();
  }
  std::function<void(const http::Request&)> before;

 private:
  http::Transport* inner_;
  std::mutex mu_;
  std::vector<std::string> lines_;
};

// The stand-in server, started once for the binary.
class K8sServer {
 public:
  static K8sServer& Get();
  int port() const { return server_->port(); }
  std::string endpoint() const { return server_->endpoint(); }
  // A raw request with the right token (the "second client").
  RawHttpResponse Raw(const std::string& method, const std::string& target, const std::string& body = "",
                      const std::string& content_type = "application/json");
  // Wipes all objects (the four initial namespaces come back).
  void Reset();

 private:
  std::unique_ptr<PythonServer> server_;
};

ProviderContext TestContext();

// A provider against the stand-in through `hook` (which wraps a plain transport).
struct ProviderUnderTest {
  std::unique_ptr<http::Transport> base;
  std::unique_ptr<HookTransport> hook;
  std::unique_ptr<Provider> provider;
};
ProviderUnderTest MakeProvider(KubernetesProviderOptions options = {}, const std::string& token = kK8sToken);

}  // namespace nic::testing

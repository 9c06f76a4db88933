// A minimal typed-less Kubernetes REST client: get, create, replace (PUT), delete and paged
// list of one resource kind, with API Status errors turned into NIC errors that name the object
// and say what to check.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nic/auth.h"
#include "nic/http.h"
#include "nic/kubeconfig.h"
#include "nic/retry.h"
#include "nic/status.h"

namespace nic::kubeprov {

using json = nlohmann::json;

// One resource kind as the REST API serves it.
struct Kind {
  std::string api_version;  // "v1", "rbac.authorization.k8s.io/v1"
  std::string kind;         // "ServiceAccount"
  std::string plural;       // "serviceaccounts"
  bool namespaced = false;

  std::string Group() const;  // "" for the core group
  // "serviceaccounts" or "roles.rbac.authorization.k8s.io": the name RBAC rules and errors use.
  std::string Resource() const;
  // "ServiceAccount dev/jupyterhub-sa" or "StorageClass gp3".
  std::string Describe(const std::string& ns, const std::string& name) const;
};

// Counters for tests and debug summaries.
struct ClientStats {
  int64_t list_pages = 0;
  int64_t conflicts = 0;
};

class KubeClient {
 public:
  // `transport` may be null, then `owned` is used. `authorizer` may be null (no credentials).
  KubeClient(kube::Connection connection, http::Transport* transport, std::unique_ptr<http::Transport> owned,
             std::unique_ptr<auth::Authorizer> authorizer, http::RetryOptions retry);

  // nullopt when the object (or its namespace) does not exist.
  Result<std::optional<json>> Get(const Kind& kind, const std::string& ns, const std::string& name);
  // 409 AlreadyExists comes back as kConflict with detail reason=AlreadyExists.
  Result<json> Create(const Kind& kind, const std::string& ns, const json& object);
  // PUT; a stale metadata.resourceVersion comes back as kConflict with detail reason=Conflict.
  Result<json> Replace(const Kind& kind, const std::string& ns, const std::string& name, const json& object);
  // False when it was already gone.
  Result<bool> Delete(const Kind& kind, const std::string& ns, const std::string& name);
  // Every item across namespaces matching `label_selector`, following `continue` to the end.
  Result<std::vector<json>> List(const Kind& kind, const std::string& label_selector, int page_size);

  const kube::Connection& connection() const { return conn_; }
  ClientStats stats() const;
  void CountConflict();

 private:
  std::string BaseUrl(const Kind& kind, const std::string& ns) const;
  Result<http::Response> Send(http::Request request);
  Status ApiError(const Kind& kind, const std::string& verb, const std::string& ns, const std::string& name,
                  const http::Request& request, const http::Response& response) const;

  kube::Connection conn_;
  std::unique_ptr<http::Transport> owned_;
  http::Transport* transport_;
  std::unique_ptr<auth::Authorizer> authorizer_;
  http::RetryOptions retry_;
  std::atomic<int64_t> list_pages_{0};
  std::atomic<int64_t> conflicts_{0};
};

// The authorizer for a connection's credentials: bearer token (a token file is re-read every
// minute, as projected tokens rotate), basic auth, or none (client certificates live in the
// transport).
std::unique_ptr<auth::Authorizer> AuthorizerFor(const kube::Connection& connection);

}  // namespace nic::kubeprov

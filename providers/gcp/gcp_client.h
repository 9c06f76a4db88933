// Internal to the GCP provider: one authorized, retried JSON call to the GKE or Compute API,
// Google error bodies turned into actionable NIC errors, long-running operations followed to
// DONE, Compute list pagination, the conflict-retry loop, and the NIC label schema.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nic/gcp_provider.h"

namespace nic::gcpprov {

using json = nlohmann::json;
using Labels = std::map<std::string, std::string>;

enum class Api { kContainer, kCompute };

class GcpClient {
 public:
  GcpClient(const ProviderContext& context, GcpProviderOptions options, std::string container_root,
            std::string compute_root, std::shared_ptr<auth::Authorizer> authorizer,
            std::unique_ptr<http::Transport> owned_transport);
  GcpClient(const GcpClient&) = delete;
  GcpClient& operator=(const GcpClient&) = delete;

  const ProviderContext& context() const { return ctx_; }
  const GcpProviderOptions& options() const { return opt_; }
  const std::string& project() const { return opt_.project; }
  const std::string& region() const { return ctx_.region; }

  // `method` is Google's method id for messages ("container.projects.locations.clusters.get");
  // `path` is relative to the API root ("projects/p/locations/l/clusters/c"), already encoded.
  // Errors carry details google_status, google_reason, http_status, method and resource.
  Result<json> Call(Api api, const std::string& method, const std::string& verb, const std::string& path,
                    const json& body = json());

  // Every item of a Compute list over all pages (maxResults / pageToken / nextPageToken).
  Result<std::vector<json>> ListAll(const std::string& method, const std::string& path);

  // Polls a GKE Operation (projects/p/locations/l/operations/op) until DONE; its `error`
  // becomes a Status naming `what`.
  Status WaitGke(const json& operation, const std::string& what);
  // Polls a GKE Operation until DONE and returns it (its `error` not turned into a Status).
  Result<json> PollGke(const json& operation, const std::string& what);
  // Polls a Compute Operation through its selfLink (global or regional) until DONE.
  Status WaitCompute(const json& operation, const std::string& what);

  // Runs `attempt` (which must re-read what it writes) again when it fails for a stale
  // fingerprint/etag (up to options.max_conflict_retries times) or because another operation
  // is running on the cluster (after waiting for that operation, within the wait timeout).
  Status RetryConflicts(const std::string& what, const std::function<Status()>& attempt);

  // Polls `check` (true = settled) with backoff until true, an error, or the wait timeout.
  Status WaitUntil(const std::string& what, const std::function<Result<bool>(std::string* state)>& check);

  // Runs f(i) for i in [0, n) on up to context.parallelism threads.
  void ParallelFor(size_t n, const std::function<void(size_t)>& f) const;

  // The NIC tag schema as GCP labels (ToGcpLabelKey/ToGcpLabelValue), over user tags and the
  // desired `resource_labels`/`labels_extra` object (NIC's own keys always win).
  Labels NicLabels(const std::string& resource_type, const json& user_labels, const std::string& node_pool = "") const;
  // True when GCP labels carry managed-by=nic and cluster-name=<cluster>.
  static bool IsNicLabelled(const json& labels, const std::string& cluster);

  // Compute networking has no labels in v1: the NIC tag schema goes into `description` as
  // "nic.nebari.dev: managed-by=nic cluster-name=<c> resource-type=<t>".
  std::string NicDescription(const std::string& resource_type) const;
  static bool IsNicDescribed(const std::string& description, const std::string& cluster);

 private:
  Result<http::Response> Send(http::Request request);
  std::string Root(Api api) const { return api == Api::kContainer ? container_root_ : compute_root_; }

  ProviderContext ctx_;
  GcpProviderOptions opt_;
  std::string container_root_;
  std::string compute_root_;
  std::shared_ptr<auth::Authorizer> authorizer_;
  std::unique_ptr<http::Transport> owned_transport_;
  http::Transport* transport_ = nullptr;
};

// ---- helpers --------------------------------------------------------------------------------

std::string JStr(const json& j, const char* key);
std::optional<int64_t> JInt(const json& j, const char* key);
// The last path segment of a resource URL or name ("https://.../networks/net" -> "net").
std::string LastSegment(const std::string& s);
inline bool IsNotFound(const Status& s) { return s.code() == ErrorCode::kNotFound; }
bool IsAlreadyExists(const Status& s);
// A JSON object of string values (labels); others are dropped.
json StringMap(const json& j);

}  // namespace nic::gcpprov

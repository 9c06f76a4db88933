// Internal to the Azure provider: one authorized, retried ARM call with its api-version, ARM
// error bodies turned into NIC errors that name the call and the resource, asynchronous
// operations followed to the end (Azure-AsyncOperation, then Location, then the resource's own
// provisioningState), and list pages followed through nextLink.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nic/azure_provider.h"

namespace nic::azureprov {

using json = nlohmann::json;

// api-versions NIC pins, per resource provider namespace (the stand-in accepts these).
inline constexpr const char* kResourcesApi = "2021-04-01";
inline constexpr const char* kNetworkApi = "2024-05-01";
inline constexpr const char* kContainerServiceApi = "2024-09-01";
inline constexpr const char* kManagedIdentityApi = "2023-01-31";

// The api-version for a resource id or path ("/subscriptions/s/resourceGroups/g/providers/
// Microsoft.Network/..."); Microsoft.Resources when it names no provider.
std::string ApiVersionFor(const std::string& path);

struct ArmResponse {
  int status = 0;
  json body;  // null when empty
  http::Headers headers;
};

class ArmClient {
 public:
  // `options.transport` is used (never null here); `owned` keeps it alive when NIC made it.
  ArmClient(const ProviderContext& context, AzureProviderOptions options, std::unique_ptr<http::Transport> owned,
            std::string endpoint, std::string subscription, std::unique_ptr<auth::Authorizer> authorizer);
  ArmClient(const ArmClient&) = delete;
  ArmClient& operator=(const ArmClient&) = delete;

  const ProviderContext& context() const { return ctx_; }
  const AzureProviderOptions& options() const { return opt_; }
  const std::string& subscription() const { return sub_; }
  // "/subscriptions/<sub>/resourceGroups/<rg>"
  std::string GroupPath(const std::string& rg) const;

  // One call on `path` (a resource id, or a path with its own query) with the api-version for
  // it. Non-2xx becomes an error Status naming the call; `what` says which resource.
  Result<ArmResponse> Call(const std::string& method, const std::string& path, const json& body,
                           const std::string& what, const http::Headers& extra = {});
  // GET; nullopt on 404 (ResourceNotFound, ResourceGroupNotFound, NotFound).
  Result<std::optional<ArmResponse>> Get(const std::string& path, const std::string& what);
  // Every item of a list, following nextLink to the last page.
  Result<std::vector<json>> List(const std::string& path, const std::string& what);
  // Follows the asynchronous operation a PUT/DELETE answer started, until it ends or the
  // context's wait timeout passes. `resource_path` is polled for provisioningState when the
  // answer carried no operation header but a non-terminal state.
  Status Wait(const ArmResponse& started, const std::string& resource_path, const std::string& what);
  // PUT and wait; 409 (another operation in progress) and 412 (stale If-Match) are answered by
  // re-reading (`refresh` rebuilds the body and If-Match from the live resource) and retrying.
  Result<ArmResponse> PutAndWait(const std::string& path, json body, const std::string& what,
                                 const std::function<Result<json>(const json& live)>& refresh = nullptr);
  // DELETE and wait until gone; already gone is OK. 409 waits and retries.
  Status DeleteAndWait(const std::string& path, const std::string& what);

  // The NIC tag schema in Azure form (ToAzureTagKey), under user tags and desired "tags".
  json NicTags(const std::string& resource_type, const json& desired, const std::string& node_pool = "") const;

  int64_t list_pages() const { return list_pages_; }

 private:
  Result<http::Response> Send(const std::string& method, const std::string& url, const json& body,
                              const http::Headers& extra);
  Status MapError(const std::string& method, const std::string& url, const std::string& what,
                  const http::Response& response) const;
  // Sleeps for Retry-After (or the backoff delay) unless that passes the deadline.
  Status Pause(const http::Response* last, std::chrono::milliseconds* delay,
               std::chrono::steady_clock::time_point deadline, const std::string& what, const std::string& state);

  ProviderContext ctx_;
  AzureProviderOptions opt_;
  std::string endpoint_;
  std::string sub_;
  std::unique_ptr<http::Transport> owned_transport_;
  http::Transport* transport_ = nullptr;
  std::unique_ptr<auth::Authorizer> authorizer_;
  std::atomic<int64_t> list_pages_{0};
};

// "Authorization: Bearer <token>" with a token that never changes (NIC_AZURE_TOKEN, tests).
std::unique_ptr<auth::Authorizer> NewFixedBearer(std::string token);

// ---- helpers --------------------------------------------------------------------------------

std::string JStr(const json& j, const char* key);
// The last segment of an ARM id; "" when empty.
std::string LastSegment(const std::string& id);
// The value following `segment` (case-insensitive) in an ARM id: ("/.../resourceGroups/rg/...",
// "resourceGroups") -> "rg".
std::string IdPart(const std::string& id, const std::string& segment);
// True when tags carry managed-by=nic and cluster-name=<cluster> (Azure tag names are
// case-insensitive).
bool IsNicTagged(const json& tags, const std::string& cluster);
bool IsNotFound(const Status& s);

}  // namespace nic::azureprov

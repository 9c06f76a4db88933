#include "providers/gcp/gcp_client.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include "nic/json_limits.h"
#include "providers/common/parallel.h"
#include "providers/common/polling.h"
#include "providers/common/resource_json.h"

namespace nic::gcpprov {
namespace {

bool Contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

// google.rpc.Code of a GKE Operation's error -> a NIC error kind.
ErrorCode CodeFromRpc(int64_t rpc) {
  switch (rpc) {
    case 3: case 11: return ErrorCode::kInvalidInput;   // INVALID_ARGUMENT, OUT_OF_RANGE
    case 5: return ErrorCode::kNotFound;
    case 6: case 9: case 10: return ErrorCode::kConflict;  // ALREADY_EXISTS, FAILED_PRECONDITION, ABORTED
    case 7: return ErrorCode::kPermissionDenied;
    case 8: return ErrorCode::kRefused;                 // RESOURCE_EXHAUSTED: a quota
    case 16: return ErrorCode::kUnauthenticated;
    case 4: return ErrorCode::kTimeout;
    default: return ErrorCode::kUnavailable;
  }
}

const char* RpcName(int64_t rpc) {
  static const char* const kNames[] = {"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
                                       "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
                                       "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
                                       "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"};
  return rpc >= 0 && rpc <= 16 ? kNames[rpc] : "UNKNOWN";
}

void AddQuotaAdvice(Status& st, const std::string& project) {
  st.WithSuggestion("request a quota increase for project " + project +
                    " (IAM & Admin > Quotas) or delete unused resources of this kind");
}

}  // namespace

GcpClient::GcpClient(const ProviderContext& context, GcpProviderOptions options, std::string container_root,
                     std::string compute_root, std::shared_ptr<auth::Authorizer> authorizer,
                     std::unique_ptr<http::Transport> owned_transport)
    : ctx_(context),
      opt_(std::move(options)),
      container_root_(std::move(container_root)),
      compute_root_(std::move(compute_root)),
      authorizer_(std::move(authorizer)),
      owned_transport_(std::move(owned_transport)) {
  transport_ = opt_.transport != nullptr ? opt_.transport : owned_transport_.get();
}

Result<http::Response> GcpClient::Send(http::Request request) {
  return http::SendWithRetry(*transport_, request, authorizer_.get(), opt_.retry);
}

Result<json> GcpClient::Call(Api api, const std::string& method, const std::string& verb, const std::string& path,
                             const json& body) {
  http::Request req;
  req.method = verb;
  req.service = api == Api::kContainer ? "container" : "compute";
  req.url = Root(api) + path;
  if (!body.is_null()) {
    req.body = body.dump();
    req.headers.Set("Content-Type", "application/json");
  }
  // Reads and deletes repeat harmlessly; a repeated create meets 409 ALREADY_EXISTS (handled by
  // the callers) and a repeated fingerprinted write meets a stale fingerprint, so every call may
  // be resent after a transient failure.
  req.retry = http::RetryMode::kSafe;
  NIC_ASSIGN_OR_RETURN(http::Response resp, Send(req));
  // The resource a message names: the path without the API root or query.
  std::string resource = path.substr(0, path.find('?'));
  if (!resp.ok()) {
    json j = ParseJsonBounded(resp.body);
    std::string gstatus, reason, message;
    if (j.is_object() && j.contains("error") && j["error"].is_object()) {
      const json& e = j["error"];
      gstatus = JStr(e, "status");
      message = JStr(e, "message");
      if (auto it = e.find("errors"); it != e.end() && it->is_array() && !it->empty() && (*it)[0].is_object()) {
        reason = JStr((*it)[0], "reason");
      }
    }
    std::string detail = gstatus.empty() ? reason : gstatus;
    if (!message.empty()) detail += (detail.empty() ? "" : ": ") + message;
    if (detail.empty()) detail = resp.body.substr(0, 200);
    Status st = http::StatusFromResponse(req, resp, detail);
    // GKE reports stale fingerprints and busy clusters as 400 FAILED_PRECONDITION: a conflict
    // with another writer, not a bad request.
    ErrorCode code = st.code();
    if (gstatus == "FAILED_PRECONDITION" || gstatus == "ABORTED" || reason == "resourceInUseByAnotherResource") {
      code = ErrorCode::kConflict;
    }
    bool quota = Contains(reason, "quota") || Contains(reason, "Quota") || Contains(message, "Quota") ||
                 Contains(message, "quota");
    if (quota && resp.status == 403) code = ErrorCode::kRefused;
    Status out(code, method + " " + resource + ": " + st.message());
    for (const auto& [k, v] : st.details()) out.WithDetail(k, v);
    out.WithDetail("method", method).WithDetail("resource", resource);
    if (!gstatus.empty()) out.WithDetail("google_status", gstatus);
    if (!reason.empty()) out.WithDetail("google_reason", reason);
    if (!message.empty()) out.WithDetail("google_message", message);
    if (code == ErrorCode::kUnauthenticated) {
      out.WithSuggestion("check the Google credentials NIC uses (GOOGLE_OAUTH_ACCESS_TOKEN, "
                         "GOOGLE_APPLICATION_CREDENTIALS, or the metadata server's service account)");
    } else if (code == ErrorCode::kPermissionDenied) {
      out.WithSuggestion("grant the caller " + method + " on project " + project() +
                         " (e.g. roles/container.admin, roles/compute.networkAdmin)");
    } else if (code == ErrorCode::kRefused) {
      AddQuotaAdvice(out, project());
    } else if (code == ErrorCode::kInvalidInput) {
      out.WithSuggestion("check the value NIC sent for " + method + " (it comes from nebari-config.yaml or the state)");
    }
    return out;
  }
  if (resp.body.find_first_not_of(" \t\r\n") == std::string::npos) return json::object();
  json j = ParseJsonBounded(resp.body);
  if (j.is_discarded()) {
    return Status::InvalidInput(method + " " + resource + " returned a body that is not JSON: " + resp.body.substr(0, 200));
  }
  return j;
}

Result<std::vector<json>> GcpClient::ListAll(const std::string& method, const std::string& path) {
  std::vector<json> out;
  std::string token;
  const char sep = path.find('?') == std::string::npos ? '?' : '&';
  for (int page = 0; page < 100000; ++page) {
    std::string q;
    if (opt_.page_size > 0) q += "maxResults=" + std::to_string(opt_.page_size);
    if (!token.empty()) q += std::string(q.empty() ? "" : "&") + "pageToken=" + http::UriEncode(token);
    NIC_ASSIGN_OR_RETURN(json j, Call(Api::kCompute, method, "GET", path + (q.empty() ? "" : std::string(1, sep) + q)));
    if (auto it = j.find("items"); it != j.end() && it->is_array()) {
      for (auto& item : *it) out.push_back(std::move(item));
    }
    std::string next = JStr(j, "nextPageToken");
    if (next.empty()) return out;
    if (next == token) return Status::Internal(method + ": the server returned the same page token twice");
    token = next;
  }
  return Status::Internal(method + ": pagination did not end");
}

Status GcpClient::WaitUntil(const std::string& what, const std::function<Result<bool>(std::string* state)>& check) {
  return tableprov::PollUntil(
      std::chrono::microseconds(ctx_.wait_timeout_micros), opt_.poll_initial, opt_.poll_max, check,
      [&](int64_t waited, const std::string& state) {
        return Status::Timeout(what + " did not finish within " + std::to_string(waited) + " s (last state: " +
                               (state.empty() ? "unknown" : state) + ")")
            .WithSuggestion("check the operation in the Google Cloud console (project " + project() +
                            "), then run the command again; it resumes from here");
      });
}

Result<json> GcpClient::PollGke(const json& operation, const std::string& what) {
  std::string name = JStr(operation, "name");
  if (name.empty()) return Status::InvalidInput(what + ": GKE answered without an operation name");
  std::string location = JStr(operation, "location");
  if (location.empty()) location = JStr(operation, "zone");
  if (location.empty()) location = region();
  const std::string path = "projects/" + project() + "/locations/" + location + "/operations/" + name;
  json op = operation;
  Status st = WaitUntil(what + " (GKE operation " + name + ")", [&](std::string* state) -> Result<bool> {
    if (JStr(op, "status") != "DONE") {
      NIC_ASSIGN_OR_RETURN(op, Call(Api::kContainer, "container.projects.locations.operations.get", "GET", path));
    }
    *state = JStr(op, "status");
    return *state == "DONE";
  });
  NIC_RETURN_IF_ERROR(st);
  return op;
}

Status GcpClient::WaitGke(const json& operation, const std::string& what) {
  NIC_ASSIGN_OR_RETURN(json op, PollGke(operation, what));
  std::string name = JStr(op, "name");
  if (auto it = op.find("error"); it != op.end() && it->is_object()) {
    int64_t rpc = JInt(*it, "code").value_or(2);
    std::string msg = JStr(*it, "message");
    Status e(CodeFromRpc(rpc), what + ": GKE operation " + name + " (" + JStr(op, "operationType") + ") failed: " +
                                    (msg.empty() ? JStr(op, "statusMessage") : msg) + " (" + RpcName(rpc) + ")");
    e.WithDetail("operation", name).WithDetail("google_status", RpcName(rpc));
    if (rpc == 8) AddQuotaAdvice(e, project());
    return e;
  }
  return Status::OK();
}

Status GcpClient::WaitCompute(const json& operation, const std::string& what) {
  std::string name = JStr(operation, "name");
  std::string self = JStr(operation, "selfLink");
  std::string path;
  if (auto at = self.find("/compute/v1/"); at != std::string::npos) {
    path = self.substr(at + std::string("/compute/v1/").size());
  } else {
    std::string region_url = JStr(operation, "region");
    path = "projects/" + project() + (region_url.empty() ? "/global" : "/regions/" + LastSegment(region_url)) +
           "/operations/" + name;
  }
  const std::string method = Contains(path, "/regions/") ? "compute.regionOperations.get" : "compute.globalOperations.get";
  json op = operation;
  Status st = WaitUntil(what + " (Compute operation " + name + ")", [&](std::string* state) -> Result<bool> {
    if (JStr(op, "status") != "DONE") {
      NIC_ASSIGN_OR_RETURN(op, Call(Api::kCompute, method, "GET", path));
    }
    *state = JStr(op, "status");
    return *state == "DONE";
  });
  NIC_RETURN_IF_ERROR(st);
  if (auto it = op.find("error"); it != op.end() && it->is_object()) {
    std::string codes, messages;
    if (auto e = it->find("errors"); e != it->end() && e->is_array()) {
      for (const auto& x : *e) {
        codes += (codes.empty() ? "" : ", ") + JStr(x, "code");
        messages += (messages.empty() ? "" : "; ") + JStr(x, "message");
      }
    }
    int http_status = static_cast<int>(JInt(op, "httpErrorStatusCode").value_or(400));
    ErrorCode code = http_status == 404 ? ErrorCode::kNotFound
                     : http_status == 409 ? ErrorCode::kConflict
                     : http_status == 403 ? ErrorCode::kPermissionDenied
                     : http_status >= 500 ? ErrorCode::kUnavailable
                                          : ErrorCode::kInvalidInput;
    bool quota = Contains(codes, "QUOTA");
    if (quota) code = ErrorCode::kRefused;
    Status e(code, what + ": Compute operation " + name + " (" + JStr(op, "operationType") + ") failed: " + messages +
                       " (" + codes + ", HTTP " + std::to_string(http_status) + ")");
    e.WithDetail("operation", name).WithDetail("google_reason", codes);
    if (quota) AddQuotaAdvice(e, project());
    return e;
  }
  return Status::OK();
}

Status GcpClient::RetryConflicts(const std::string& what, const std::function<Status()>& attempt) {
  auto start = std::chrono::steady_clock::now();
  auto deadline = start + std::chrono::microseconds(ctx_.wait_timeout_micros);
  std::chrono::milliseconds delay = opt_.poll_initial;
  int stale = 0;
  while (true) {
    Status st = attempt();
    if (st.ok() || st.code() != ErrorCode::kConflict) return st;
    std::string message;
    if (auto it = st.details().find("google_message"); it != st.details().end()) message = it->second;
    std::string gstatus;
    if (auto it = st.details().find("google_status"); it != st.details().end()) gstatus = it->second;
    std::string reason;
    if (auto it = st.details().find("google_reason"); it != st.details().end()) reason = it->second;
    bool fingerprint = Contains(message, "fingerprint") || reason == "conditionNotMet" || gstatus == "ABORTED";
    bool busy = Contains(message, "Please wait and try again") || Contains(message, "incompatible operation") ||
                Contains(message, "is currently being");
    if (fingerprint) {
      // Someone else changed the resource between our read and write: the attempt re-reads.
      if (++stale > opt_.max_conflict_retries) {
        return st.Prepend(what + ": still conflicting after " + std::to_string(opt_.max_conflict_retries) +
                          " re-reads")
            .WithSuggestion("another client keeps changing this resource; stop it or retry later");
      }
      continue;
    }
    if (!busy) return st;
    // GKE usually names the operation in the way ("Operation operation-... is currently ...",
    // "Cluster is running incompatible operation operation-..."): wait for it to finish
    // (whatever its outcome: it is someone else's), then try again at once.
    if (auto at = message.find("operation-"); at != std::string::npos) {
      std::string name = message.substr(at, message.find_first_of(" .,\n", at) - at);
      auto other = PollGke(json{{"name", name}}, what + ": waiting for " + name + ", which is running on the cluster");
      if (other.ok() && std::chrono::steady_clock::now() < deadline) continue;
      if (!other.ok() && other.status().code() == ErrorCode::kTimeout) return other.status();
    }
    if (std::chrono::steady_clock::now() + delay > deadline) {
      return st.Prepend(what + ": the cluster stayed busy with another operation")
          .WithSuggestion("wait for the running GKE operation to finish, then run the command again");
    }
    std::this_thread::sleep_for(delay);
    delay = std::min(opt_.poll_max, delay * 2);
  }
}

void GcpClient::ParallelFor(size_t n, const std::function<void(size_t)>& f) const {
  tableprov::ParallelFor(ctx_.parallelism, n, f);
}

Labels GcpClient::NicLabels(const std::string& resource_type, const json& user_labels, const std::string& node_pool) const {
  Labels l;
  for (const auto& [k, v] : ctx_.user_tags) l[ToGcpLabelKey(k)] = ToGcpLabelValue(v);
  if (user_labels.is_object()) {
    for (const auto& [k, v] : user_labels.items()) {
      if (v.is_string()) l[ToGcpLabelKey(k)] = ToGcpLabelValue(v.get<std::string>());
    }
  }
  l[ToGcpLabelKey(kTagManagedBy)] = "nic";
  l[ToGcpLabelKey(kTagClusterName)] = ToGcpLabelValue(ctx_.project_name);
  l[ToGcpLabelKey(kTagResourceType)] = ToGcpLabelValue(resource_type);
  if (!ctx_.nic_version.empty()) l[ToGcpLabelKey(kTagVersion)] = ToGcpLabelValue(ctx_.nic_version);
  if (!ctx_.config_hash.empty()) l[ToGcpLabelKey(kTagConfigHash)] = ToGcpLabelValue(ctx_.config_hash);
  if (!node_pool.empty()) l[ToGcpLabelKey(kTagNodePool)] = ToGcpLabelValue(node_pool);
  return l;
}

bool GcpClient::IsNicLabelled(const json& labels, const std::string& cluster) {
  return JStr(labels, ToGcpLabelKey(kTagManagedBy).c_str()) == "nic" &&
         JStr(labels, ToGcpLabelKey(kTagClusterName).c_str()) == ToGcpLabelValue(cluster);
}

std::string GcpClient::NicDescription(const std::string& resource_type) const {
  return "nic.nebari.dev: managed-by=nic cluster-name=" + ctx_.project_name + " resource-type=" + resource_type;
}

bool GcpClient::IsNicDescribed(const std::string& description, const std::string& cluster) {
  if (description.rfind("nic.nebari.dev:", 0) != 0) return false;
  std::string want = " cluster-name=" + cluster + " ";
  return Contains(description, " managed-by=nic ") && Contains(description + " ", want.c_str());
}

// ---- helpers --------------------------------------------------------------------------------

std::string JStr(const json& j, const char* key) { return tableprov::StringAt(j, key); }

std::optional<int64_t> JInt(const json& j, const char* key) {
  if (!j.is_object()) return std::nullopt;
  auto it = j.find(key);
  if (it == j.end()) return std::nullopt;
  if (it->is_number_integer()) return it->get<int64_t>();
  if (it->is_string()) {
    try {
      return std::stoll(it->get<std::string>());
    } catch (...) {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

std::string LastSegment(const std::string& s) {
  std::string t = s;
  while (!t.empty() && t.back() == '/') t.pop_back();
  auto slash = t.rfind('/');
  return slash == std::string::npos ? t : t.substr(slash + 1);
}

bool IsAlreadyExists(const Status& s) {
  auto it = s.details().find("google_status");
  if (it != s.details().end() && it->second == "ALREADY_EXISTS") return true;
  auto r = s.details().find("google_reason");
  return r != s.details().end() && r->second == "alreadyExists";
}

json StringMap(const json& j) {
  json out = json::object();
  if (!j.is_object()) return out;
  for (const auto& [k, v] : j.items()) {
    if (v.is_string()) out[k] = v;
  }
  return out;
}

}  // namespace nic::gcpprov

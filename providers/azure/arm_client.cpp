#include "providers/azure/arm_client.h"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <thread>

#include "nic/json_limits.h"
#include "providers/common/resource_json.h"

namespace nic::azureprov {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool IsTerminal(const std::string& state) {
  std::string s = Lower(state);
  return s.empty() || s == "succeeded" || s == "failed" || s == "canceled" || s == "cancelled";
}

// "Retry-After: <seconds>" (ARM sends delta-seconds) as a delay.
std::optional<std::chrono::milliseconds> RetryAfter(const http::Response& r) {
  auto v = r.Header("Retry-After");
  if (!v) return std::nullopt;
  return http::ParseRetryAfter(*v, static_cast<int64_t>(std::time(nullptr)));
}

// "code: message" of an ARM error object, with its details one level down.
std::string DescribeArmError(const json& err) {
  std::string out = JStr(err, "code");
  std::string msg = JStr(err, "message");
  if (!msg.empty()) out += (out.empty() ? "" : ": ") + msg;
  if (auto it = err.find("details"); it != err.end() && it->is_array() && !it->empty()) {
    std::string d;
    for (const auto& x : *it) {
      std::string one = JStr(x, "code");
      if (std::string t = JStr(x, "target"); !t.empty()) one += " (" + t + ")";
      if (std::string m = JStr(x, "message"); !m.empty() && m != msg) one += ": " + m;
      if (!one.empty()) d += (d.empty() ? "" : "; ") + one;
    }
    if (!d.empty()) out += " [details: " + d + "]";
  }
  return out;
}

class FixedBearer final : public auth::Authorizer {
 public:
  explicit FixedBearer(std::string token) : token_(std::move(token)) {}
  Status Authorize(http::Request& request) override {
    request.headers.Set("Authorization", "Bearer " + token_);
    return Status::OK();
  }

 private:
  std::string token_;
};

}  // namespace

std::unique_ptr<auth::Authorizer> NewFixedBearer(std::string token) {
  return std::make_unique<FixedBearer>(std::move(token));
}

std::string ApiVersionFor(const std::string& path) {
  std::string l = Lower(path.substr(0, path.find('?')));
  size_t at = l.rfind("/providers/");
  if (at == std::string::npos) return kResourcesApi;
  std::string ns = l.substr(at + 11, l.find('/', at + 11) - (at + 11));
  if (ns == "microsoft.network") return kNetworkApi;
  if (ns == "microsoft.containerservice") return kContainerServiceApi;
  if (ns == "microsoft.managedidentity") return kManagedIdentityApi;
  return kResourcesApi;
}

ArmClient::ArmClient(const ProviderContext& context, AzureProviderOptions options,
                     std::unique_ptr<http::Transport> owned, std::string endpoint, std::string subscription,
                     std::unique_ptr<auth::Authorizer> authorizer)
    : ctx_(context), opt_(std::move(options)), endpoint_(std::move(endpoint)), sub_(std::move(subscription)),
      owned_transport_(std::move(owned)), transport_(opt_.transport), authorizer_(std::move(authorizer)) {
  while (!endpoint_.empty() && endpoint_.back() == '/') endpoint_.pop_back();
}

std::string ArmClient::GroupPath(const std::string& rg) const {
  return "/subscriptions/" + sub_ + "/resourceGroups/" + http::UriEncode(rg);
}

Result<http::Response> ArmClient::Send(const std::string& method, const std::string& url, const json& body,
                                       const http::Headers& extra) {
  http::Request req;
  req.method = method;
  req.url = url;
  req.service = "azure-arm";
  for (const auto& [k, v] : extra.entries()) req.headers.Set(k, v);
  if (!body.is_null()) {
    req.body = body.dump();
    req.headers.Set("Content-Type", "application/json");
  }
  req.headers.Set("Accept", "application/json");
  return http::SendWithRetry(*transport_, req, authorizer_.get(), opt_.retry);
}

Status ArmClient::MapError(const std::string& method, const std::string& url, const std::string& what,
                           const http::Response& r) const {
  json doc = ParseJsonBounded(r.body);
  json err = doc.is_object() && doc.contains("error") && doc["error"].is_object() ? doc["error"] : json::object();
  std::string code = JStr(err, "code");
  std::string desc = err.empty() ? (r.body.empty() ? "no error body" : r.body.substr(0, 300)) : DescribeArmError(err);
  std::string path = http::RedactUrl(url);
  if (size_t at = path.find("/subscriptions/"); at != std::string::npos) path = path.substr(at);
  std::string msg = "ARM " + method + " " + path + " (" + what + ") failed: HTTP " + std::to_string(r.status) + " " + desc;
  ErrorCode kind = ErrorCode::kUnavailable;
  if (r.status == 400 || r.status == 422) kind = ErrorCode::kInvalidInput;
  if (r.status == 401) kind = ErrorCode::kUnauthenticated;
  if (r.status == 403) kind = ErrorCode::kPermissionDenied;
  if (r.status == 404) kind = ErrorCode::kNotFound;
  if (r.status == 409 || r.status == 412) kind = ErrorCode::kConflict;
  Status st(kind, msg);
  st.WithDetail("http_status", std::to_string(r.status));
  if (!code.empty()) st.WithDetail("arm_code", code);
  if (auto id = r.Header("x-ms-request-id")) st.WithDetail("request_id", *id);
  switch (kind) {
    case ErrorCode::kUnauthenticated:
      st.WithSuggestion("check the Azure credentials (NIC_AZURE_TOKEN, or AZURE_TENANT_ID/AZURE_CLIENT_ID/"
                        "AZURE_CLIENT_SECRET) and that the token is for https://management.azure.com");
      break;
    case ErrorCode::kPermissionDenied:
      st.WithSuggestion("grant the principal a role that allows " + method + " on " + what +
                        " (e.g. Contributor on the resource group or subscription)");
      break;
    case ErrorCode::kInvalidInput:
      st.WithSuggestion("check the value NIC sent for " + what + " (it comes from nebari-config.yaml or the state)");
      break;
    default:
      break;
  }
  if (code.find("Quota") != std::string::npos) {
    st.WithSuggestion("request a quota increase for the subscription in this region, or use a smaller VM size");
  }
  return st;
}

Result<ArmResponse> ArmClient::Call(const std::string& method, const std::string& path, const json& body,
                                    const std::string& what, const http::Headers& extra) {
  std::string url = path.rfind("http", 0) == 0 ? path : endpoint_ + path;
  if (url.find("api-version=") == std::string::npos) {
    url += (url.find('?') == std::string::npos ? "?" : "&") + std::string("api-version=") + ApiVersionFor(path);
  }
  NIC_ASSIGN_OR_RETURN(http::Response r, Send(method, url, body, extra));
  if (!r.ok()) return MapError(method, url, what, r);
  ArmResponse out;
  out.status = r.status;
  out.headers = r.headers;
  if (!r.body.empty()) {
    out.body = ParseJsonBounded(r.body);
    if (out.body.is_discarded()) {
      return Status::InvalidInput("ARM " + method + " " + path + " (" + what + ") answered HTTP " +
                                  std::to_string(r.status) + " with a body that is not JSON");
    }
  }
  return out;
}

bool IsNotFound(const Status& s) { return s.code() == ErrorCode::kNotFound; }

Result<std::optional<ArmResponse>> ArmClient::Get(const std::string& path, const std::string& what) {
  auto r = Call("GET", path, json(), what);
  if (!r.ok()) {
    if (IsNotFound(r.status())) return std::optional<ArmResponse>();
    return r.status();
  }
  return std::optional<ArmResponse>(std::move(*r));
}

Result<std::vector<json>> ArmClient::List(const std::string& path, const std::string& what) {
  std::vector<json> out;
  std::string next = path;
  for (int page = 0; !next.empty(); ++page) {
    if (page > 100000) return Status::Internal("ARM list " + path + " did not end after 100000 pages");
    NIC_ASSIGN_OR_RETURN(ArmResponse r, Call("GET", next, json(), what));
    ++list_pages_;
    if (r.body.is_object()) {
      if (auto it = r.body.find("value"); it != r.body.end() && it->is_array()) {
        for (auto& v : *it) out.push_back(std::move(v));
      }
    }
    next = JStr(r.body, "nextLink");
  }
  return out;
}

Status ArmClient::Pause(const http::Response* last, std::chrono::milliseconds* delay,
                        std::chrono::steady_clock::time_point deadline, const std::string& what,
                        const std::string& state) {
  std::chrono::milliseconds wait = *delay;
  // The server's Retry-After wins over NIC's own backoff (ARM sends it with every operation
  // header); 0 means "ask again now".
  if (last != nullptr) {
    if (auto ra = RetryAfter(*last)) wait = std::min(*ra, std::chrono::milliseconds(opt_.retry.policy.max_retry_after));
  }
  auto now = std::chrono::steady_clock::now();
  if (now + wait > deadline) {
    auto secs = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::microseconds(ctx_.wait_timeout_micros));
    return Status::Timeout(what + " did not finish within " + std::to_string(secs.count()) + " s (last state: " +
                           (state.empty() ? "unknown" : state) + ")")
        .WithSuggestion("check the operation in the Azure portal (Activity log), then run the command again; "
                        "it resumes from there");
  }
  std::this_thread::sleep_for(wait);
  *delay = std::min(opt_.poll_max, *delay * 2);
  return Status::OK();
}

Status ArmClient::Wait(const ArmResponse& started, const std::string& resource_path, const std::string& what) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(ctx_.wait_timeout_micros);
  std::chrono::milliseconds delay = opt_.poll_initial;
  http::Response last;
  last.headers = started.headers;
  // Azure-AsyncOperation wins when both are present (ARM async-operation guidance).
  if (auto op = started.headers.Get("Azure-AsyncOperation")) {
    std::string state = "InProgress";
    while (true) {
      NIC_RETURN_IF_ERROR(Pause(&last, &delay, deadline, what, state));
      NIC_ASSIGN_OR_RETURN(http::Response r, Send("GET", *op, json(), {}));
      if (!r.ok()) return MapError("GET", *op, what + " operation status", r);
      json doc = ParseJsonBounded(r.body);
      state = JStr(doc, "status");
      last = std::move(r);
      std::string s = Lower(state);
      if (s == "succeeded") return Status::OK();
      if (s == "failed" || s == "canceled" || s == "cancelled") {
        json err = doc.is_object() && doc.contains("error") ? doc["error"] : json::object();
        Status st(ErrorCode::kUnavailable, "ARM operation for " + what + " ended " + state + ": " +
                                               (err.empty() ? std::string("no error given") : DescribeArmError(err)));
        if (std::string c = JStr(err, "code"); !c.empty()) st.WithDetail("arm_code", c);
        if (JStr(err, "code").find("Quota") != std::string::npos) {
          st.WithSuggestion("request a quota increase for the subscription in this region, or use a smaller VM size");
        } else {
          st.WithSuggestion("see the operation in the Azure portal (Activity log), fix the cause, and run the command again");
        }
        return st;
      }
      if (s.empty()) {
        return Status::InvalidInput("the ARM operation status for " + what + " has no 'status' field");
      }
    }
  }
  if (auto loc = started.headers.Get("Location"); loc && started.status == 202) {
    std::string url = *loc;
    while (true) {
      NIC_RETURN_IF_ERROR(Pause(&last, &delay, deadline, what, "202 Accepted"));
      NIC_ASSIGN_OR_RETURN(http::Response r, Send("GET", url, json(), {}));
      if (r.status == 202) {
        if (auto next = r.Header("Location")) url = *next;
        last = std::move(r);
        continue;
      }
      if (!r.ok()) return MapError("GET", url, what + " operation result", r);
      return Status::OK();
    }
  }
  // No operation header: a 201/200 whose provisioningState is not terminal yet is polled on the
  // resource itself.
  std::string state = started.body.is_object() && started.body.contains("properties")
                          ? JStr(started.body["properties"], "provisioningState")
                          : "";
  while (!IsTerminal(state) && !resource_path.empty()) {
    NIC_RETURN_IF_ERROR(Pause(&last, &delay, deadline, what, state));
    NIC_ASSIGN_OR_RETURN(auto r, Get(resource_path, what));
    if (!r) return Status::NotFound(what + " disappeared while NIC waited for it to be provisioned");
    state = r->body.contains("properties") ? JStr(r->body["properties"], "provisioningState") : "";
  }
  if (Lower(state) == "failed" || Lower(state) == "canceled") {
    return Status::Unavailable(what + " ended in provisioningState " + state)
        .WithSuggestion("see the resource in the Azure portal, fix the cause, and run the command again");
  }
  return Status::OK();
}

Result<ArmResponse> ArmClient::PutAndWait(const std::string& path, json body, const std::string& what,
                                          const std::function<Result<json>(const json& live)>& refresh) {
  http::Headers headers;
  std::chrono::milliseconds delay = opt_.poll_initial;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(ctx_.wait_timeout_micros);
  for (int attempt = 0;; ++attempt) {
    auto r = Call("PUT", path, body, what, headers);
    if (r.ok()) {
      NIC_RETURN_IF_ERROR(Wait(*r, path, what));
      return r;
    }
    Status st = r.status();
    if (st.code() != ErrorCode::kConflict || attempt >= opt_.max_conflict_retries) {
      if (st.code() == ErrorCode::kConflict) {
        st.WithSuggestion("another client keeps changing " + what + "; wait for it to finish, then run again");
      }
      return st;
    }
    // 409: another operation is running on it (or its parent); 412: the etag NIC sent is
    // stale. Either way: wait a little, read it again, rebuild the body from what is live.
    NIC_RETURN_IF_ERROR(Pause(nullptr, &delay, deadline, what, "conflict: " + st.message()));
    NIC_ASSIGN_OR_RETURN(auto live, Get(path, what));
    headers = http::Headers();
    if (live && refresh) {
      NIC_ASSIGN_OR_RETURN(body, refresh(live->body));
      std::string etag = JStr(live->body, "etag");
      if (etag.empty()) etag = JStr(live->body, "eTag");
      if (!etag.empty()) headers.Set("If-Match", etag);
    }
  }
}

Status ArmClient::DeleteAndWait(const std::string& path, const std::string& what) {
  std::chrono::milliseconds delay = opt_.poll_initial;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(ctx_.wait_timeout_micros);
  for (int attempt = 0;; ++attempt) {
    auto r = Call("DELETE", path, json(), what);
    if (r.ok()) {
      if (r->status == 204) return Status::OK();  // nothing to delete
      NIC_RETURN_IF_ERROR(Wait(*r, "", what));
      // Without an operation header a 202 means "accepted": wait until a GET says 404.
      while (true) {
        NIC_ASSIGN_OR_RETURN(auto live, Get(path, what));
        if (!live) return Status::OK();
        NIC_RETURN_IF_ERROR(Pause(nullptr, &delay, deadline, what, "deleting"));
      }
    }
    Status st = r.status();
    if (IsNotFound(st)) return Status::OK();
    if (st.code() != ErrorCode::kConflict || attempt >= opt_.max_conflict_retries) return st;
    NIC_RETURN_IF_ERROR(Pause(nullptr, &delay, deadline, what, "conflict: " + st.message()));
  }
}

json ArmClient::NicTags(const std::string& resource_type, const json& desired, const std::string& node_pool) const {
  json t = json::object();
  if (desired.is_object()) {
    if (auto it = desired.find("tags"); it != desired.end() && it->is_object()) {
      for (const auto& [k, v] : it->items()) {
        if (v.is_string()) t[ToAzureTagKey(k)] = v;
      }
    }
  }
  for (const auto& [k, v] : ctx_.user_tags) t[ToAzureTagKey(k)] = v;
  t[ToAzureTagKey(kTagManagedBy)] = "nic";
  t[ToAzureTagKey(kTagClusterName)] = ctx_.project_name;
  t[ToAzureTagKey(kTagResourceType)] = resource_type;
  if (!ctx_.nic_version.empty()) t[ToAzureTagKey(kTagVersion)] = ctx_.nic_version;
  if (!ctx_.config_hash.empty()) t[ToAzureTagKey(kTagConfigHash)] = ctx_.config_hash;
  if (!node_pool.empty()) t[ToAzureTagKey(kTagNodePool)] = node_pool;
  return t;
}

// ---- helpers --------------------------------------------------------------------------------

std::string JStr(const json& j, const char* key) { return tableprov::StringAt(j, key); }

std::string LastSegment(const std::string& id) {
  size_t at = id.rfind('/');
  return at == std::string::npos ? id : id.substr(at + 1);
}

std::string IdPart(const std::string& id, const std::string& segment) {
  std::string l = Lower(id), want = "/" + Lower(segment) + "/";
  size_t at = l.find(want);
  if (at == std::string::npos) return "";
  size_t start = at + want.size();
  size_t end = id.find('/', start);
  return id.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

bool IsNicTagged(const json& tags, const std::string& cluster) {
  if (!tags.is_object()) return false;
  std::string managed = Lower(ToAzureTagKey(kTagManagedBy)), name = Lower(ToAzureTagKey(kTagClusterName));
  bool m = false, c = false;
  for (const auto& [k, v] : tags.items()) {
    if (!v.is_string()) continue;
    if (Lower(k) == managed && v == "nic") m = true;
    if (Lower(k) == name && v == cluster) c = true;
  }
  return m && c;
}

}  // namespace nic::azureprov

namespace nic {

std::string ToAzureTagKey(const std::string& key) {
  std::string out = key;
  for (char& c : out) {
    if (std::string_view("<>%&\\?/").find(c) != std::string_view::npos) c = '_';
  }
  return out;
}

}  // namespace nic

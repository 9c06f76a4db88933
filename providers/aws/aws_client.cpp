#include "providers/aws/aws_client.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "nic/aws_error.h"
#include "nic/json_limits.h"
#include "providers/common/parallel.h"
#include "providers/common/polling.h"
#include "providers/common/resource_json.h"
#include "src/core/simd_json.h"

namespace nic::awsprov {
namespace {

bool Contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

// The API version each query-protocol service speaks.
const char* QueryVersion(const std::string& service) {
  if (service == "ec2") return "2016-11-15";
  if (service == "iam") return "2010-05-08";
  return "2011-06-15";  // sts
}

// The IAM action prefix of a service id ("efs" -> "elasticfilesystem").
std::string ActionPrefix(const std::string& service) { return aws::SigningName(service); }

}  // namespace

AwsClient::AwsClient(const ProviderContext& context, AwsProviderOptions options)
    : ctx_(context), opt_(std::move(options)) {
  if (opt_.transport != nullptr) {
    transport_ = opt_.transport;
  } else {
    http::TransportOptions t;
    t.parallelism = std::max(1, ctx_.parallelism);
    owned_transport_ = http::NewCurlTransport(t);
    transport_ = owned_transport_.get();
  }
  credentials_ = opt_.credentials;
  if (!credentials_) {
    aws::ChainOptions chain;
    chain.env = opt_.env;
    chain.transport = transport_;
    credentials_ = aws::NewDefaultCredentialChain(std::move(chain));
  }
}

std::string AwsClient::endpoint(const std::string& service) const {
  auto it = opt_.endpoints.find(service);
  std::string configured = it != opt_.endpoints.end() ? it->second : opt_.endpoint;
  return aws::ResolveEndpoint(service, ctx_.region, opt_.env, configured);
}

auth::Authorizer* AwsClient::Signer(const std::string& service) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& s = signers_[service];
  if (!s) {
    aws::SigV4Options o;
    // IAM is global and signs in us-east-1 (cn-north-1 in China).
    o.region = service == "iam" ? (ctx_.region.rfind("cn-", 0) == 0 ? "cn-north-1" : "us-east-1") : ctx_.region;
    o.service = aws::SigningName(service);
    s = std::make_unique<aws::SigV4Authorizer>(credentials_, o);
  }
  return s.get();
}

Result<http::Response> AwsClient::Send(const std::string& service, http::Request request) {
  request.service = service;
  return http::SendWithRetry(*transport_, request, Signer(service), opt_.retry);
}

Status AwsClient::MapError(const std::string& service, const std::string& action, const http::Request& request,
                           const http::Response& response) {
  Status st = aws::ErrorStatus(request, response);
  std::string code;
  if (auto it = st.details().find("aws_code"); it != st.details().end()) code = it->second;
  std::string full_action = ActionPrefix(service) + ":" + action;
  st.WithDetail("action", full_action);
  if (st.code() != ErrorCode::kPermissionDenied) st.Prepend(full_action);
  if (st.code() == ErrorCode::kPermissionDenied) {
    std::string principal = "the current AWS principal";
    if (action != "GetCallerIdentity") {
      if (auto c = Caller(); c.ok()) principal = c->arn;
    }
    st.WithDetail("principal", principal);
    st.Prepend("AWS denied " + full_action + " to " + principal);
    st.WithSuggestion("allow " + full_action + " for " + principal +
                      " in an IAM policy, or run NIC as a principal that has it");
  } else if (Contains(code, "LimitExceeded") && code != "RequestLimitExceeded") {
    // A quota: retrying will not help, and it is not a bug in the request.
    Status q(ErrorCode::kRefused, "AWS quota reached: " + st.message());
    for (const auto& [k, v] : st.details()) q.WithDetail(k, v);
    q.WithSuggestion("request a quota increase (Service Quotas, region " + ctx_.region +
                     ") or delete unused resources of this kind");
    return q;
  } else if (st.code() == ErrorCode::kInvalidInput) {
    st.WithSuggestion("check the value NIC sent for " + full_action + " (it comes from nebari-config.yaml or the state)");
  } else if (code == "DependencyViolation" || code == "DeleteConflict" || code == "FileSystemInUse" ||
             code == "ResourceInUseException") {
    Status c(ErrorCode::kConflict, st.message());
    for (const auto& [k, v] : st.details()) c.WithDetail(k, v);
    c.WithSuggestion("another resource still depends on this one; delete or detach it first");
    return c;
  }
  return st;
}

Result<xml::Node> AwsClient::Query(const std::string& service, const std::string& action, const Params& params) {
  http::Request req = aws::QueryRequest(endpoint(service), action, QueryVersion(service), params);
  // Form bodies carry spaces as '+', as the AWS SDKs send them (botocore urlencodes the
  // parameters). AWS accepts %20 as well, but moto's signature check re-encodes the form it
  // parsed and only matches '+'. A literal '+' is already %2B, so this is unambiguous.
  for (size_t at = req.body.find("%20"); at != std::string::npos; at = req.body.find("%20", at + 1)) {
    req.body.replace(at, 3, "+");
  }
  // A create without a ClientToken could make a second resource if an attempt that reached
  // AWS were sent again, so it keeps kAuto (resent only when the connection was refused).
  // Everything else either is a read, carries a ClientToken, or fails harmlessly when repeated
  // (AlreadyExists / NotFound, which callers handle).
  bool has_token = std::any_of(params.begin(), params.end(), [](const auto& p) { return p.first == "ClientToken"; });
  bool creates = action.rfind("Create", 0) == 0 || action.rfind("Allocate", 0) == 0;
  if (req.retry == http::RetryMode::kAuto && (has_token || !creates)) req.retry = http::RetryMode::kSafe;
  NIC_ASSIGN_OR_RETURN(http::Response resp, Send(service, req));
  if (!resp.ok()) return MapError(service, action, req, resp);
  auto doc = xml::Parse(resp.body);
  if (!doc.ok()) {
    Status st = doc.status();
    return st.Prepend(aws::SigningName(service) + ":" + action + " response");
  }
  return std::move(doc).value();
}

Status AwsClient::QueryPages(const std::string& service, const std::string& action, Params params,
                             const std::function<void(const xml::Node&)>& on_page, bool paged_size) {
  const bool iam = service == "iam";
  if (paged_size && opt_.page_size > 0) {
    params.emplace_back(iam ? "MaxItems" : "MaxResults", std::to_string(opt_.page_size));
  }
  std::string token;
  for (int page = 0; page < 100000; ++page) {
    Params p = params;
    if (!token.empty()) p.emplace_back(iam ? "Marker" : "NextToken", token);
    NIC_ASSIGN_OR_RETURN(xml::Node doc, Query(service, action, p));
    on_page(doc);
    std::string next;
    if (iam) {
      const xml::Node* truncated = doc.Find("IsTruncated");
      const xml::Node* marker = doc.Find("Marker");
      if (truncated != nullptr && truncated->text == "true" && marker != nullptr) next = marker->text;
    } else {
      // Only the top-level <nextToken> of the result; items never carry one.
      next = doc.ChildText("nextToken");
    }
    if (next.empty() || next == token) return Status::OK();
    token = next;
  }
  return Status::Internal(action + ": pagination did not end");
}

Result<json> AwsClient::Rest(const std::string& service, const std::string& action, const std::string& method,
                             const std::string& path_and_query, const json& body) {
  http::Request req =
      aws::RestJsonRequest(method, endpoint(service), path_and_query, body.is_null() ? std::string() : body.dump());
  // Creates carry clientRequestToken/CreationToken; updates carry clientRequestToken.
  req.retry = http::RetryMode::kSafe;
  NIC_ASSIGN_OR_RETURN(http::Response resp, Send(service, req));
  if (!resp.ok()) {
    // AWS answers every REST-JSON error with an error type; a bare 404 (an HTML page) means the
    // endpoint does not implement the operation at all (emulators), not that the resource is gone.
    bool aws_error = resp.headers.Has("x-amzn-ErrorType") || resp.body.find_first_not_of(" \t\r\n") == std::string::npos ||
                     resp.body[resp.body.find_first_not_of(" \t\r\n")] == '{';
    if (resp.status == 404 && !aws_error) {
      return Status::Unsupported(action + " is not implemented by " + endpoint(service) +
                                 " (HTTP 404 without an AWS error body)")
          .WithDetail("action", action);
    }
    return MapError(service, action.substr(action.find(':') + 1), req, resp);
  }
  if (resp.body.find_first_not_of(" \t\r\n") == std::string::npos) return json::object();
  // simdjson lexes (nlohmann's lexer was most of the cost of reading an EKS answer) and builds
  // the values nlohmann would; nlohmann stays the path for anything else and for the error.
  json j;
  if (!CheckJsonDepth(resp.body, "").ok() || !simd::ParseObject(resp.body, resp.body.capacity(), &j)) {
    j = ParseJsonBounded(resp.body);
  }
  if (j.is_discarded()) {
    return Status::InvalidInput(action + " returned a body that is not JSON: " + resp.body.substr(0, 200));
  }
  return j;
}

Result<CallerIdentity> AwsClient::Caller() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (caller_) return *caller_;
  }
  NIC_ASSIGN_OR_RETURN(xml::Node doc, Query("sts", "GetCallerIdentity", {}));
  CallerIdentity c;
  if (const xml::Node* r = doc.Find("GetCallerIdentityResult")) {
    c.account = r->ChildText("Account");
    c.arn = r->ChildText("Arn");
  }
  if (c.account.empty()) return Status::InvalidInput("sts:GetCallerIdentity returned no Account");
  std::lock_guard<std::mutex> lock(mu_);
  caller_ = c;
  return c;
}

Status AwsClient::WaitUntil(const std::string& what, const std::function<Result<bool>(std::string* state)>& check) {
  return tableprov::PollUntil(
      std::chrono::microseconds(ctx_.wait_timeout_micros), opt_.poll_initial, opt_.poll_max, check,
      [&](int64_t waited, const std::string& state) {
        return Status::Timeout(what + " did not settle within " + std::to_string(waited) + " s (last state: " +
                               (state.empty() ? "unknown" : state) + ")")
            .WithSuggestion("check the resource in the AWS console, then run the command again; it resumes from here");
      });
}

void AwsClient::ParallelFor(size_t n, const std::function<void(size_t)>& f) const {
  tableprov::ParallelFor(ctx_.parallelism, n, f);
}

Tags AwsClient::NicTags(const std::string& resource_type, const json& desired, const std::string& node_pool) const {
  Tags t;
  if (desired.is_object()) {
    if (auto it = desired.find("tags"); it != desired.end() && it->is_object()) {
      for (const auto& [k, v] : it->items()) {
        if (v.is_string()) t[k] = v.get<std::string>();
      }
    }
  }
  for (const auto& [k, v] : ctx_.user_tags) t[k] = v;
  t[kTagManagedBy] = "nic";
  t[kTagClusterName] = ctx_.project_name;
  t[kTagResourceType] = resource_type;
  if (!ctx_.nic_version.empty()) t[kTagVersion] = ctx_.nic_version;
  if (!ctx_.config_hash.empty()) t[kTagConfigHash] = ctx_.config_hash;
  if (!node_pool.empty()) t[kTagNodePool] = node_pool;
  return t;
}

// ---- helpers --------------------------------------------------------------------------------

std::string JStr(const json& j, const char* key) { return tableprov::StringAt(j, key); }

std::optional<int64_t> JInt(const json& j, const char* key) {
  if (!j.is_object()) return std::nullopt;
  auto it = j.find(key);
  if (it == j.end()) return std::nullopt;
  if (it->is_number_integer() || it->is_number_unsigned()) return it->get<int64_t>();
  if (it->is_number_float()) return static_cast<int64_t>(it->get<double>());
  if (it->is_string()) return XmlInt(it->get<std::string>());
  return std::nullopt;
}

std::optional<bool> JBool(const json& j, const char* key) {
  if (!j.is_object()) return std::nullopt;
  auto it = j.find(key);
  if (it == j.end()) return std::nullopt;
  if (it->is_boolean()) return it->get<bool>();
  if (it->is_string()) return *it == "true";
  return std::nullopt;
}

std::vector<std::string> JStrings(const json& j, const char* key) {
  std::vector<std::string> out;
  if (!j.is_object()) return out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return out;
  for (const auto& e : *it) {
    if (e.is_string()) out.push_back(e.get<std::string>());
  }
  return out;
}

json XmlTags(const xml::Node* set) {
  json tags = json::object();
  if (set == nullptr) return tags;
  for (const auto& c : set->children) {
    std::string k = c.ChildText("key");
    std::string v = c.ChildText("value");
    if (k.empty()) {
      k = c.ChildText("Key");
      v = c.ChildText("Value");
    }
    if (!k.empty()) tags[k] = v;
  }
  return tags;
}

std::vector<const xml::Node*> Items(const xml::Node& parent, const char* set_name) {
  const xml::Node* set = parent.Child(set_name);
  if (set == nullptr) return {};
  return set->Children("item");
}

bool XmlBool(const std::string& text) { return text == "true"; }

std::optional<int64_t> XmlInt(const std::string& text) {
  if (text.empty()) return std::nullopt;
  try {
    size_t used = 0;
    int64_t v = std::stoll(text, &used);
    if (used != text.size()) return std::nullopt;
    return v;
  } catch (...) {
    return std::nullopt;
  }
}

void AppendTagParams(Params& params, const std::string& prefix, const Tags& tags, const char* key, const char* value) {
  int i = 1;
  for (const auto& [k, v] : tags) {
    std::string base = prefix + "." + std::to_string(i++) + ".";
    params.emplace_back(base + key, k);
    params.emplace_back(base + value, v);
  }
}

void AppendFilter(Params& params, int index, const std::string& name, const std::string& value) {
  std::string base = "Filter." + std::to_string(index) + ".";
  params.emplace_back(base + "Name", name);
  params.emplace_back(base + "Value.1", value);
}

Params NicFilters(const std::string& cluster) {
  Params p;
  AppendFilter(p, 1, std::string("tag:") + kTagManagedBy, "nic");
  AppendFilter(p, 2, std::string("tag:") + kTagClusterName, cluster);
  return p;
}

json TagsJson(const Tags& tags) {
  json j = json::object();
  for (const auto& [k, v] : tags) j[k] = v;
  return j;
}

bool IsNicTagged(const json& tags, const std::string& cluster) {
  return tags.is_object() && JStr(tags, kTagManagedBy) == "nic" && JStr(tags, kTagClusterName) == cluster;
}

void TagDelta(const json& live, const Tags& want, const json& recorded, Tags* set, std::vector<std::string>* remove) {
  for (const auto& [k, v] : want) {
    if (JStr(live, k.c_str()) != v || !live.contains(k)) (*set)[k] = v;
  }
  if (recorded.is_object()) {
    if (auto it = recorded.find("tags"); it != recorded.end() && it->is_object()) {
      for (const auto& [k, v] : it->items()) {
        (void)v;
        if (!want.count(k) && live.is_object() && live.contains(k)) remove->push_back(k);
      }
    }
  }
}

std::string Rfc3339(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (!v.is_number()) return "";
  std::time_t t = static_cast<std::time_t>(v.get<double>());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

}  // namespace nic::awsprov

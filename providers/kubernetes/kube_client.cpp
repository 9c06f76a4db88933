#include "providers/kubernetes/kube_client.h"

#include <fstream>
#include <sstream>

#include "nic/json_limits.h"
#include "providers/kubernetes/util.h"

namespace nic::kubeprov {
namespace {

class StaticToken final : public auth::TokenSource {
 public:
  explicit StaticToken(std::string t) : token_(std::move(t)) {}
  Result<auth::AccessToken> Fetch() override { return auth::AccessToken{token_, 0}; }
  std::string Describe() const override { return "kubeconfig bearer token"; }

 private:
  std::string token_;
};

class TokenFile final : public auth::TokenSource {
 public:
  explicit TokenFile(std::string path) : path_(std::move(path)) {}
  Result<auth::AccessToken> Fetch() override {
    std::ifstream in(path_);
    if (!in) return Status::Unauthenticated("cannot read the bearer token file " + path_);
    std::stringstream ss;
    ss << in.rdbuf();
    // Re-read after a minute: kubelet rotates projected service-account tokens in place.
    return auth::AccessToken{Trim(ss.str()), auth::SystemClock()() + 60};
  }
  std::string Describe() const override { return "token file " + path_; }

 private:
  std::string path_;
};

class BasicAuth final : public auth::Authorizer {
 public:
  BasicAuth(const std::string& user, const std::string& password)
      : header_("Basic " + Base64Encode(user + ":" + password)) {}
  Status Authorize(http::Request& request) override {
    request.headers.Set("Authorization", header_);
    return Status::OK();
  }

 private:
  std::string header_;
};

std::string Enc(const std::string& s) { return http::UriEncode(s); }

}  // namespace

std::string Kind::Group() const {
  auto slash = api_version.find('/');
  return slash == std::string::npos ? "" : api_version.substr(0, slash);
}

std::string Kind::Resource() const {
  std::string g = Group();
  return g.empty() ? plural : plural + "." + g;
}

std::string Kind::Describe(const std::string& ns, const std::string& name) const {
  return kind + " " + (namespaced && !ns.empty() ? ns + "/" : "") + name;
}

std::unique_ptr<auth::Authorizer> AuthorizerFor(const kube::Connection& c) {
  if (!c.token_file.empty()) {
    return std::make_unique<auth::BearerAuthorizer>(
        std::make_shared<auth::CachedTokenSource>(std::make_unique<TokenFile>(c.token_file), auth::SystemClock(), 0));
  }
  if (!c.token.empty()) {
    return std::make_unique<auth::BearerAuthorizer>(
        std::make_shared<auth::CachedTokenSource>(std::make_unique<StaticToken>(c.token)));
  }
  if (!c.username.empty()) return std::make_unique<BasicAuth>(c.username, c.password);
  return nullptr;
}

KubeClient::KubeClient(kube::Connection connection, http::Transport* transport, std::unique_ptr<http::Transport> owned,
                       std::unique_ptr<auth::Authorizer> authorizer, http::RetryOptions retry)
    : conn_(std::move(connection)),
      owned_(std::move(owned)),
      transport_(transport != nullptr ? transport : owned_.get()),
      authorizer_(std::move(authorizer)),
      retry_(std::move(retry)) {}

ClientStats KubeClient::stats() const { return ClientStats{list_pages_.load(), conflicts_.load()}; }
void KubeClient::CountConflict() { ++conflicts_; }

std::string KubeClient::BaseUrl(const Kind& kind, const std::string& ns) const {
  std::string url = conn_.server + (kind.Group().empty() ? "/api/" : "/apis/") + kind.api_version;
  if (kind.namespaced && !ns.empty()) url += "/namespaces/" + Enc(ns);
  return url + "/" + kind.plural;
}

Result<http::Response> KubeClient::Send(http::Request request) {
  request.service = "kubernetes";
  request.headers.Set("Accept", "application/json");
  if (!request.body.empty()) request.headers.Set("Content-Type", "application/json");
  return http::SendWithRetry(*transport_, request, authorizer_.get(), retry_);
}

Status KubeClient::ApiError(const Kind& kind, const std::string& verb, const std::string& ns, const std::string& name,
                            const http::Request& request, const http::Response& response) const {
  // Kubernetes errors are Status objects: {"kind":"Status","message":..,"reason":..,"details":{..},"code":..}.
  json body = ParseJsonBounded(response.body);
  std::string reason, message;
  if (body.is_object()) {
    reason = body.value("reason", "");
    message = body.value("message", "");
  }
  if (message.empty()) message = "HTTP " + std::to_string(response.status);
  std::string object = name.empty() ? kind.Resource() + (kind.namespaced && !ns.empty() ? " in namespace " + ns : "")
                                    : kind.Describe(ns, name);
  std::string what = verb + " " + object + " at " + conn_.server + ": " + message;
  std::string rbac_scope = kind.namespaced && !ns.empty() ? " in namespace " + ns : " (cluster-wide)";
  Status st;
  switch (response.status) {
    case 401:
      st = Status::Unauthenticated(what + " — the API server rejected the credentials of kubeconfig user \"" +
                                   conn_.user_name + "\" (" + conn_.DescribeAuth() + ")");
      st.WithSuggestion("check the token or client certificate of user \"" + conn_.user_name +
                        "\" in the kubeconfig; tokens expire and must be refreshed");
      break;
    case 403:
      st = Status::PermissionDenied(what);
      st.WithSuggestion("grant the identity of kubeconfig user \"" + conn_.user_name + "\" the RBAC verb \"" + verb +
                        "\" on resource \"" + kind.Resource() + "\"" + rbac_scope);
      break;
    case 404:
      if (kind.namespaced && !ns.empty() && (verb == "create" || message.find("namespaces") != std::string::npos)) {
        st = Status::NotFound(what + " — namespace \"" + ns + "\" does not exist");
        st.WithSuggestion("create namespace \"" + ns + "\" first (kubernetes.namespaces comes before the objects in it)");
      } else {
        st = Status::NotFound(what);
      }
      break;
    case 409:
      st = Status::Conflict(what);
      break;
    case 422: {
      std::string causes;
      if (body.is_object() && body.contains("details") && body["details"].is_object()) {
        for (const auto& c : body["details"].value("causes", json::array())) {
          if (!c.is_object()) continue;
          causes += (causes.empty() ? "" : "; ") + c.value("field", std::string("?")) + ": " + c.value("message", "");
        }
      }
      st = Status::InvalidInput(what + (causes.empty() ? "" : " (invalid fields: " + causes + ")"));
      st.WithSuggestion("fix the invalid field(s) of " + object + " in the configuration");
      break;
    }
    case 400:
    case 415:
      st = Status::InvalidInput(what);
      break;
    default:
      st = http::StatusFromResponse(request, response, reason + ": " + message);
      st.Prepend(verb + " " + object);
      break;
  }
  st.WithDetail("http_status", std::to_string(response.status));
  if (!reason.empty()) st.WithDetail("reason", reason);
  return st;
}

Result<std::optional<json>> KubeClient::Get(const Kind& kind, const std::string& ns, const std::string& name) {
  http::Request r;
  r.method = "GET";
  r.url = BaseUrl(kind, ns) + "/" + Enc(name);
  NIC_ASSIGN_OR_RETURN(http::Response resp, Send(r));
  if (resp.status == 404) return std::optional<json>();
  if (!resp.ok()) return ApiError(kind, "get", ns, name, r, resp);
  json obj = ParseJsonBounded(resp.body);
  if (!obj.is_object()) return Status::InvalidInput("get " + kind.Describe(ns, name) + ": response is not a JSON object");
  return std::optional<json>(std::move(obj));
}

Result<json> KubeClient::Create(const Kind& kind, const std::string& ns, const json& object) {
  http::Request r;
  r.method = "POST";
  r.url = BaseUrl(kind, ns);
  r.body = object.dump();
  // Objects are named by the client, so a repeated create cannot make a second one: it gets
  // AlreadyExists, which the provider resolves with the client token.
  r.retry = http::RetryMode::kSafe;
  NIC_ASSIGN_OR_RETURN(http::Response resp, Send(r));
  std::string name = object["metadata"].value("name", "");
  if (!resp.ok()) return ApiError(kind, "create", ns, name, r, resp);
  json obj = ParseJsonBounded(resp.body);
  if (!obj.is_object()) return Status::InvalidInput("create " + kind.Describe(ns, name) + ": response is not JSON");
  return obj;
}

Result<json> KubeClient::Replace(const Kind& kind, const std::string& ns, const std::string& name, const json& object) {
  http::Request r;
  r.method = "PUT";
  r.url = BaseUrl(kind, ns) + "/" + Enc(name);
  r.body = object.dump();
  NIC_ASSIGN_OR_RETURN(http::Response resp, Send(r));
  if (!resp.ok()) return ApiError(kind, "update", ns, name, r, resp);
  json obj = ParseJsonBounded(resp.body);
  if (!obj.is_object()) return Status::InvalidInput("update " + kind.Describe(ns, name) + ": response is not JSON");
  return obj;
}

Result<bool> KubeClient::Delete(const Kind& kind, const std::string& ns, const std::string& name) {
  http::Request r;
  r.method = "DELETE";
  r.url = BaseUrl(kind, ns) + "/" + Enc(name);
  NIC_ASSIGN_OR_RETURN(http::Response resp, Send(r));
  if (resp.status == 404) return false;
  if (!resp.ok()) return ApiError(kind, "delete", ns, name, r, resp);
  return true;
}

Result<std::vector<json>> KubeClient::List(const Kind& kind, const std::string& label_selector, int page_size) {
  std::vector<json> items;
  std::string cont;
  for (int page = 0;; ++page) {
    std::vector<std::pair<std::string, std::string>> q;
    if (!label_selector.empty()) q.emplace_back("labelSelector", label_selector);
    if (page_size > 0) q.emplace_back("limit", std::to_string(page_size));
    if (!cont.empty()) q.emplace_back("continue", cont);
    http::Request r;
    r.method = "GET";
    r.url = BaseUrl(kind, "") + (q.empty() ? "" : "?" + http::EncodeQuery(q));
    NIC_ASSIGN_OR_RETURN(http::Response resp, Send(r));
    ++list_pages_;
    if (!resp.ok()) return ApiError(kind, "list", "", "", r, resp);
    json list = ParseJsonBounded(resp.body);
    if (!list.is_object()) return Status::InvalidInput("list " + kind.Resource() + ": response is not a JSON object");
    for (auto& item : list.value("items", json::array())) items.push_back(std::move(item));
    std::string next;
    if (list.contains("metadata") && list["metadata"].is_object()) next = list["metadata"].value("continue", "");
    if (next.empty()) break;
    if (next == cont) {
      return Status::InvalidInput("list " + kind.Resource() + ": the server returned the same continue token twice");
    }
    cont = next;
  }
  return items;
}

}  // namespace nic::kubeprov

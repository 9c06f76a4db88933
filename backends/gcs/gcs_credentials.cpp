#include "backends/gcs/gcs_credentials.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "nic/gcp_auth.h"
#include "nic/json_limits.h"
#include "nic/retry.h"

namespace nic::gcs {
namespace {

constexpr const char* kDefaultEndpoint = "https://storage.googleapis.com";
constexpr const char* kDefaultTokenUri = "https://oauth2.googleapis.com/token";

// A refresh token from `gcloud auth application-default login` (type authorized_user), which
// gcp_auth.h does not handle.
class AuthorizedUserTokenSource final : public auth::TokenSource {
 public:
  AuthorizedUserTokenSource(std::string client_id, std::string secret, std::string refresh, std::string token_uri,
                            http::Transport* transport)
      : client_id_(std::move(client_id)), secret_(std::move(secret)), refresh_(std::move(refresh)),
        token_uri_(std::move(token_uri)), transport_(transport) {}

  Result<auth::AccessToken> Fetch() override {
    const int64_t now = auth::SystemClock()();
    http::Request req;
    req.method = "POST";
    req.url = token_uri_;
    req.service = "google-oauth";
    req.retry = http::RetryMode::kSafe;  // a token request changes nothing
    req.headers.Set("Content-Type", "application/x-www-form-urlencoded");
    req.body = http::EncodeQuery({{"grant_type", "refresh_token"},
                                  {"client_id", client_id_},
                                  {"client_secret", secret_},
                                  {"refresh_token", refresh_}});
    NIC_ASSIGN_OR_RETURN(http::Response resp, http::SendWithRetry(*transport_, req));
    auto j = ParseJsonBounded(resp.body);
    if (!resp.ok()) {
      std::string detail;
      if (j.is_object() && j.contains("error") && j["error"].is_string()) detail = j["error"].get<std::string>();
      return Status::Unauthenticated(Describe() + ": " + http::StatusFromResponse(req, resp, detail).message());
    }
    if (!j.is_object() || !j.contains("access_token") || !j["access_token"].is_string()) {
      return Status::InvalidInput(Describe() + ": token response has no access_token");
    }
    auth::AccessToken t;
    t.token = j["access_token"].get<std::string>();
    t.expires_at = now + (j.contains("expires_in") && j["expires_in"].is_number() ? j["expires_in"].get<int64_t>() : 3600);
    return t;
  }
  std::string Describe() const override { return "gcloud user credentials (authorized_user)"; }

 private:
  std::string client_id_, secret_, refresh_, token_uri_;
  http::Transport* transport_;
};

// Says which credential source failed when no token could be had: otherwise a dead metadata
// server would read like an unreachable storage endpoint.
class ContextAuthorizer final : public auth::Authorizer {
 public:
  ContextAuthorizer(std::unique_ptr<auth::Authorizer> inner, std::string source)
      : inner_(std::move(inner)), source_(std::move(source)) {}
  Status Authorize(http::Request& request) override {
    Status st = inner_->Authorize(request);
    if (st.ok()) return st;
    ErrorCode code = st.code() == ErrorCode::kInvalidConfig ? ErrorCode::kInvalidConfig : ErrorCode::kUnauthenticated;
    Status out(code, "could not get a Google access token from " + source_ + ": " + st.message());
    out.WithDetail("backend", "gcs")
        .WithDetail("retryable", "false")
        .WithSuggestion("set access_token or credentials in the backend config, or GOOGLE_OAUTH_ACCESS_TOKEN / "
                        "GOOGLE_APPLICATION_CREDENTIALS, or run gcloud auth application-default login");
    return out;
  }

 private:
  std::unique_ptr<auth::Authorizer> inner_;
  std::string source_;
};

std::shared_ptr<auth::Authorizer> Bearer(std::unique_ptr<auth::TokenSource> src) {
  std::string what = src->Describe();
  auto inner = std::make_unique<auth::BearerAuthorizer>(std::make_shared<auth::CachedTokenSource>(std::move(src)));
  return std::make_shared<ContextAuthorizer>(std::move(inner), what);
}

// `value` is a key file's JSON or a path to one; `where` names the setting or variable.
Result<std::unique_ptr<auth::TokenSource>> FromKeyJson(const std::string& value, const std::string& where,
                                                       http::Transport* transport) {
  std::string text = value;
  const size_t start = value.find_first_not_of(" \t\r\n");
  const bool inline_json = start != std::string::npos && value[start] == '{';
  if (!inline_json) {
    std::ifstream in(value);
    if (!in) {
      return Status::Usage("gcs backend: " + where + " is neither a service-account key JSON nor a readable file: \"" + value + "\"");
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  const std::string origin = where + (inline_json ? "" : " (" + value + ")");
  auto j = ParseJsonBounded(text);
  if (j.is_discarded() || !j.is_object()) return Status::InvalidConfig("gcs backend: " + origin + " is not valid JSON");
  auto str = [&](const char* k) { return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : std::string(); };
  if (str("type") == "authorized_user") {
    return std::unique_ptr<auth::TokenSource>(new AuthorizedUserTokenSource(
        str("client_id"), str("client_secret"), str("refresh_token"), str("token_uri").empty() ? kDefaultTokenUri : str("token_uri"),
        transport));
  }
  auto key = gcp::ParseServiceAccountKey(text);
  if (!key.ok()) {
    Status st = key.status();
    return st.Prepend("gcs backend: " + origin);
  }
  return gcp::NewServiceAccountTokenSource(std::move(key).value(), gcp::kStorageScope, transport);
}

bool HasScheme(const std::string& s) { return s.find("://") != std::string::npos; }

}  // namespace

Result<std::string> NormalizeEndpoint(const std::string& endpoint, const std::string& setting_name) {
  std::string e = endpoint;
  if (!HasScheme(e)) e = "http://" + e;
  while (!e.empty() && e.back() == '/') e.pop_back();
  const std::string suffix = "/storage/v1";
  if (e.size() > suffix.size() && e.compare(e.size() - suffix.size(), suffix.size(), suffix) == 0) {
    e.resize(e.size() - suffix.size());
  }
  auto url = http::ParseUrl(e);
  if (!url.ok() || (url->scheme != "http" && url->scheme != "https") || url->host.empty()) {
    return Status::Usage(setting_name + "=\"" + endpoint + "\" is not an http(s) URL (example: http://127.0.0.1:4443)");
  }
  return e;
}

Result<Connection> ResolveConnection(const std::string& configured_endpoint, const CredentialSettings& settings,
                                     const auth::EnvLookup& env, http::TransportOptions transport_options) {
  Connection c;
  auto getenv = [&](const char* name) { return env(name).value_or(""); };
  if (configured_endpoint.empty()) {
    std::string emulator = getenv("STORAGE_EMULATOR_HOST");
    if (!emulator.empty()) {
      NIC_ASSIGN_OR_RETURN(c.endpoint, NormalizeEndpoint(emulator, "STORAGE_EMULATOR_HOST"));
      // No credentials are sent to an emulator, so plain http to a non-loopback one (a container
      // name, say) is allowed; loopback needs no exception (and gets no warning).
      auto url = http::ParseUrl(c.endpoint);
      if (url.ok() && !http::IsLoopbackHost(url->host)) transport_options.allow_insecure_http = true;
      c.transport = std::shared_ptr<http::Transport>(http::NewCurlTransport(transport_options));
      c.authorizer = std::make_shared<auth::NoAuth>();
      c.credentials_hint = "the emulator at STORAGE_EMULATOR_HOST (requests carry no credentials)";
      return c;
    }
    c.endpoint = kDefaultEndpoint;
  } else {
    NIC_ASSIGN_OR_RETURN(c.endpoint, NormalizeEndpoint(configured_endpoint, "gcs backend setting endpoint"));
  }
  c.transport = std::shared_ptr<http::Transport>(http::NewCurlTransport(transport_options));

  // Terraform's order: access_token (default GOOGLE_OAUTH_ACCESS_TOKEN), then credentials
  // (default GOOGLE_BACKEND_CREDENTIALS, GOOGLE_CREDENTIALS), then Application Default Credentials.
  std::string token = settings.access_token, token_from = "the access_token setting";
  if (token.empty() && !getenv("GOOGLE_OAUTH_ACCESS_TOKEN").empty()) {
    token = getenv("GOOGLE_OAUTH_ACCESS_TOKEN");
    token_from = "GOOGLE_OAUTH_ACCESS_TOKEN";
  }
  if (!token.empty()) {
    c.authorizer = Bearer(gcp::NewStaticTokenSource(token));
    c.credentials_hint = token_from + " (a fixed OAuth access token)";
    return c;
  }
  std::string key = settings.credentials, key_from = "the credentials setting";
  for (const char* var : {"GOOGLE_BACKEND_CREDENTIALS", "GOOGLE_CREDENTIALS"}) {
    if (key.empty() && !getenv(var).empty()) {
      key = getenv(var);
      key_from = var;
    }
  }
  if (!key.empty()) {
    NIC_ASSIGN_OR_RETURN(auto src, FromKeyJson(key, key_from, c.transport.get()));
    c.credentials_hint = key_from + " (" + src->Describe() + ")";
    c.authorizer = Bearer(std::move(src));
    return c;
  }

  // Nothing configured and a loopback endpoint: an emulator or test server.
  auto url = http::ParseUrl(c.endpoint);
  if (!configured_endpoint.empty() && url.ok() && http::IsLoopbackHost(url->host)) {
    c.authorizer = std::make_shared<auth::NoAuth>();
    c.credentials_hint = "the credentials (none are configured, so requests to " + c.endpoint + " carry no Authorization header)";
    return c;
  }

  std::string adc = getenv("GOOGLE_APPLICATION_CREDENTIALS"), adc_from = "GOOGLE_APPLICATION_CREDENTIALS";
  if (adc.empty()) {
    std::string cfg = getenv("CLOUDSDK_CONFIG"), home = getenv("HOME");
    std::string path = !cfg.empty() ? cfg + "/application_default_credentials.json"
                                    : (home.empty() ? "" : home + "/.config/gcloud/application_default_credentials.json");
    if (!path.empty() && std::ifstream(path).good()) {
      adc = path;
      adc_from = "the gcloud application default credentials file";
    }
  }
  if (!adc.empty()) {
    NIC_ASSIGN_OR_RETURN(auto src, FromKeyJson(adc, adc_from, c.transport.get()));
    c.credentials_hint = adc_from + " " + adc + " (" + src->Describe() + ")";
    c.authorizer = Bearer(std::move(src));
    return c;
  }
  std::string host = getenv("GCE_METADATA_HOST");
  if (host.empty()) host = "metadata.google.internal";
  c.authorizer = Bearer(gcp::NewMetadataTokenSource(host, c.transport.get()));
  c.credentials_hint = "the credentials: none are configured, so NIC used the metadata server " + host +
                       "; set access_token or credentials, or GOOGLE_OAUTH_ACCESS_TOKEN / GOOGLE_APPLICATION_CREDENTIALS";
  return c;
}

}  // namespace nic::gcs

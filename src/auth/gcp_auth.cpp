#include "nic/gcp_auth.h"
#include "nic/json_limits.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

#include "nic/retry.h"
#include "nic/crypto.h"

namespace nic::gcp {
namespace {

using nlohmann::json;

// Reads {access_token, expires_in} from a token endpoint's answer.
Result<auth::AccessToken> ParseTokenResponse(const http::Request& req, const http::Response& resp,
                                             const std::string& who, int64_t now) {
  auto j = ParseJsonBounded(resp.body);
  if (!resp.ok()) {
    std::string detail;
    if (j.is_object()) {
      auto s = [&](const char* k) { return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : std::string(); };
      detail = s("error") + (s("error_description").empty() ? "" : ": " + s("error_description"));
    }
    Status st = http::StatusFromResponse(req, resp, detail);
    ErrorCode code = (resp.status == 400 || resp.status == 401) ? ErrorCode::kUnauthenticated : st.code();
    return Status(code, who + ": " + st.message());
  }
  if (!j.is_object() || !j.contains("access_token") || !j["access_token"].is_string()) {
    return Status::InvalidInput(who + ": token response has no access_token");
  }
  auth::AccessToken t;
  t.token = j["access_token"].get<std::string>();
  int64_t expires_in = j.contains("expires_in") && j["expires_in"].is_number() ? j["expires_in"].get<int64_t>() : 3600;
  t.expires_at = now + expires_in;
  return t;
}

class ServiceAccountSource final : public auth::TokenSource {
 public:
  ServiceAccountSource(ServiceAccountKey k, std::string scope, http::Transport* t, auth::Clock c)
      : key_(std::move(k)), scope_(std::move(scope)), transport_(t), clock_(std::move(c)) {}

  std::string Describe() const override { return "service account " + key_.client_email; }

  Result<auth::AccessToken> Fetch() override {
    int64_t now = clock_();
    NIC_ASSIGN_OR_RETURN(std::string jwt, MakeServiceAccountJwt(key_, scope_, now));
    http::Request req;
    req.method = "POST";
    req.service = "google-oauth";
    req.url = key_.token_uri;
    req.headers.Set("Content-Type", "application/x-www-form-urlencoded");
    req.body = http::EncodeQuery({{"grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"}, {"assertion", jwt}});
    req.retry = http::RetryMode::kSafe;
    NIC_ASSIGN_OR_RETURN(http::Response resp, http::SendWithRetry(*transport_, req));
    return ParseTokenResponse(req, resp, Describe(), now);
  }

 private:
  ServiceAccountKey key_;
  std::string scope_;
  http::Transport* transport_;
  auth::Clock clock_;
};

class MetadataSource final : public auth::TokenSource {
 public:
  MetadataSource(std::string host, http::Transport* t, auth::Clock c)
      : host_(std::move(host)), transport_(t), clock_(std::move(c)) {}

  std::string Describe() const override { return "GCE metadata server " + host_; }

  Result<auth::AccessToken> Fetch() override {
    int64_t now = clock_();
    http::Request req;
    req.service = "gce-metadata";
    req.url = "http://" + host_ + "/computeMetadata/v1/instance/service-accounts/default/token";
    req.headers.Set("Metadata-Flavor", "Google");
    req.timeout = std::chrono::milliseconds(2000);
    http::RetryOptions ro;
    ro.policy.max_attempts = 3;
    NIC_ASSIGN_OR_RETURN(http::Response resp, http::SendWithRetry(*transport_, req, nullptr, ro));
    return ParseTokenResponse(req, resp, Describe(), now);
  }

 private:
  std::string host_;
  http::Transport* transport_;
  auth::Clock clock_;
};

class StaticSource final : public auth::TokenSource {
 public:
  explicit StaticSource(std::string t) : token_(std::move(t)) {}
  std::string Describe() const override { return "GOOGLE_OAUTH_ACCESS_TOKEN"; }
  Result<auth::AccessToken> Fetch() override { return auth::AccessToken{token_, 0}; }

 private:
  std::string token_;
};

std::unique_ptr<auth::Authorizer> Bearer(std::unique_ptr<auth::TokenSource> src, auth::Clock clock) {
  return std::make_unique<auth::BearerAuthorizer>(std::make_shared<auth::CachedTokenSource>(std::move(src), clock));
}

}  // namespace

Result<ServiceAccountKey> ParseServiceAccountKey(std::string_view text) {
  auto j = ParseJsonBounded(text);
  if (j.is_discarded() || !j.is_object()) return Status::InvalidConfig("Google credentials are not valid JSON");
  std::string type = j.value("type", "");
  if (type != "service_account") {
    return Status::Unsupported("Google credentials of type '" + type +
                               "' are not supported; use a service account key, GOOGLE_OAUTH_ACCESS_TOKEN or the "
                               "metadata server");
  }
  ServiceAccountKey k;
  k.client_email = j.value("client_email", "");
  k.private_key = j.value("private_key", "");
  k.private_key_id = j.value("private_key_id", "");
  k.project_id = j.value("project_id", "");
  if (j.contains("token_uri") && j["token_uri"].is_string()) k.token_uri = j["token_uri"].get<std::string>();
  if (k.client_email.empty() || k.private_key.empty()) {
    return Status::InvalidConfig("the service account key lacks client_email or private_key");
  }
  return k;
}

Result<std::string> MakeServiceAccountJwt(const ServiceAccountKey& key, const std::string& scope, int64_t now) {
  json header = {{"alg", "RS256"}, {"typ", "JWT"}};
  if (!key.private_key_id.empty()) header["kid"] = key.private_key_id;
  json claims = {{"iss", key.client_email}, {"scope", scope}, {"aud", key.token_uri}, {"iat", now}, {"exp", now + 3600}};
  std::string signing_input = crypto::Base64UrlEncode(header.dump()) + "." + crypto::Base64UrlEncode(claims.dump());
  Result<std::string> sig = crypto::RsaSha256Sign(key.private_key, signing_input);
  if (!sig.ok()) {
    return Status::InvalidConfig("cannot sign with the private key of service account " + key.client_email + ": " +
                                 sig.status().message());
  }
  return signing_input + "." + crypto::Base64UrlEncode(*sig);
}

std::unique_ptr<auth::TokenSource> NewServiceAccountTokenSource(ServiceAccountKey key, std::string scope,
                                                                http::Transport* transport, auth::Clock clock) {
  return std::make_unique<ServiceAccountSource>(std::move(key), std::move(scope), transport, std::move(clock));
}

std::unique_ptr<auth::TokenSource> NewMetadataTokenSource(std::string host, http::Transport* transport,
                                                          auth::Clock clock) {
  if (host.empty()) host = auth::ProcessEnv()("GCE_METADATA_HOST").value_or("metadata.google.internal");
  return std::make_unique<MetadataSource>(std::move(host), transport, std::move(clock));
}

std::unique_ptr<auth::TokenSource> NewStaticTokenSource(std::string token) {
  return std::make_unique<StaticSource>(std::move(token));
}

Result<GoogleAuth> DefaultGoogleAuth(const DefaultOptions& o) {
  const auth::EnvLookup& env = o.env;
  GoogleAuth out;
  out.storage_endpoint = "https://storage.googleapis.com";
  if (o.for_storage) {
    if (auto host = env("STORAGE_EMULATOR_HOST")) {
      std::string h = *host;
      if (h.rfind("http://", 0) != 0 && h.rfind("https://", 0) != 0) h = "http://" + h;
      while (!h.empty() && h.back() == '/') h.pop_back();
      out.storage_endpoint = h;
      out.authorizer = std::make_unique<auth::NoAuth>();
      out.description = "storage emulator at " + h + " (no auth)";
      return out;
    }
  }
  if (auto token = env("GOOGLE_OAUTH_ACCESS_TOKEN")) {
    out.authorizer = Bearer(NewStaticTokenSource(*token), o.clock);
    out.description = "GOOGLE_OAUTH_ACCESS_TOKEN";
    return out;
  }
  if (o.transport == nullptr) return Status::Internal("Google auth needs a transport");
  std::optional<std::string> key_json;
  std::string key_origin;
  if (auto path = env("GOOGLE_APPLICATION_CREDENTIALS")) {
    std::ifstream in(*path, std::ios::binary);
    if (!in) return Status::Unauthenticated("cannot read GOOGLE_APPLICATION_CREDENTIALS file " + *path);
    std::stringstream ss;
    ss << in.rdbuf();
    key_json = ss.str();
    key_origin = *path;
  } else if (auto creds = env("GOOGLE_CREDENTIALS")) {
    key_json = *creds;
    key_origin = "GOOGLE_CREDENTIALS";
  }
  if (key_json) {
    Result<ServiceAccountKey> key = ParseServiceAccountKey(*key_json);
    if (!key.ok()) {
      Status st = key.status();
      return st.Prepend(key_origin);
    }
    out.description = "service account " + key->client_email;
    out.authorizer = Bearer(NewServiceAccountTokenSource(*key, o.scope, o.transport, o.clock), o.clock);
    return out;
  }
  std::string host = env("GCE_METADATA_HOST").value_or("metadata.google.internal");
  out.description = "GCE metadata server " + host;
  out.authorizer = Bearer(NewMetadataTokenSource(host, o.transport, o.clock), o.clock);
  return out;
}

}  // namespace nic::gcp

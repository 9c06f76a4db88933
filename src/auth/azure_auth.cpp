#include "nic/azure_auth.h"
#include "nic/json_limits.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>
#include <vector>

#include "nic/retry.h"
#include "nic/xml.h"
#include "nic/crypto.h"

namespace nic::azure {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string HttpDate(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

std::string IsoSeconds(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::optional<std::string> FirstOf(const auth::EnvLookup& env, std::initializer_list<const char*> names) {
  for (const char* n : names) {
    if (auto v = env(n)) return v;
  }
  return std::nullopt;
}

}  // namespace

Result<StorageAccount> ParseConnectionString(std::string_view cs) {
  std::map<std::string, std::string> kv;
  while (!cs.empty()) {
    size_t semi = cs.find(';');
    std::string_view part = cs.substr(0, semi);
    cs = semi == std::string_view::npos ? std::string_view() : cs.substr(semi + 1);
    size_t eq = part.find('=');
    if (part.empty()) continue;
    if (eq == std::string_view::npos) {
      return Status::InvalidConfig("malformed Azure Storage connection string: a segment has no '='");
    }
    kv[Lower(part.substr(0, eq))] = std::string(part.substr(eq + 1));
  }
  StorageAccount a;
  if (Lower(kv["usedevelopmentstorage"]) == "true") {
    a.name = kDevAccountName;
    a.key = kDevAccountKey;
    std::string proxy = kv.count("developmentstorageproxyuri") ? kv["developmentstorageproxyuri"] : "http://127.0.0.1";
    while (!proxy.empty() && proxy.back() == '/') proxy.pop_back();
    a.blob_endpoint = proxy + ":10000/" + a.name;
    return a;
  }
  a.name = kv["accountname"];
  a.key = kv["accountkey"];
  a.sas = kv["sharedaccesssignature"];
  if (!a.sas.empty() && a.sas[0] == '?') a.sas.erase(0, 1);
  a.blob_endpoint = kv["blobendpoint"];
  if (a.blob_endpoint.empty()) {
    if (a.name.empty()) return Status::InvalidConfig("Azure Storage connection string has neither AccountName nor BlobEndpoint");
    std::string proto = kv.count("defaultendpointsprotocol") ? kv["defaultendpointsprotocol"] : "https";
    std::string suffix = kv.count("endpointsuffix") ? kv["endpointsuffix"] : "core.windows.net";
    a.blob_endpoint = proto + "://" + a.name + ".blob." + suffix;
  }
  while (!a.blob_endpoint.empty() && a.blob_endpoint.back() == '/') a.blob_endpoint.pop_back();
  if (a.name.empty()) {
    // BlobEndpoint with a SAS: the account is the first label of the host.
    auto url = http::ParseUrl(a.blob_endpoint);
    if (url.ok()) a.name = url->host.substr(0, url->host.find('.'));
  }
  if (a.key.empty() && a.sas.empty()) {
    return Status::InvalidConfig("Azure Storage connection string for account '" + a.name +
                                 "' has neither AccountKey nor SharedAccessSignature");
  }
  if (!a.key.empty() && !crypto::Base64Decode(a.key).ok()) {
    return Status::InvalidConfig("the AccountKey of Azure Storage account '" + a.name + "' is not valid base64");
  }
  return a;
}

Result<StorageAccount> StorageAccountFromEnv(const auth::EnvLookup& env) {
  if (auto cs = env("AZURE_STORAGE_CONNECTION_STRING")) {
    Result<StorageAccount> a = ParseConnectionString(*cs);
    if (!a.ok()) {
      Status st = a.status();
      return st.Prepend("AZURE_STORAGE_CONNECTION_STRING");
    }
    return a;
  }
  auto name = FirstOf(env, {"AZURE_STORAGE_ACCOUNT", "ARM_STORAGE_ACCOUNT_NAME"});
  if (!name) return Status::Unauthenticated("no Azure Storage account: set AZURE_STORAGE_CONNECTION_STRING or AZURE_STORAGE_ACCOUNT");
  StorageAccount a;
  a.name = *name;
  a.key = FirstOf(env, {"AZURE_STORAGE_KEY", "ARM_ACCESS_KEY"}).value_or("");
  a.sas = FirstOf(env, {"AZURE_STORAGE_SAS_TOKEN", "ARM_SAS_TOKEN"}).value_or("");
  if (!a.sas.empty() && a.sas[0] == '?') a.sas.erase(0, 1);
  a.blob_endpoint = "https://" + a.name + ".blob.core.windows.net";
  if (a.key.empty() && a.sas.empty()) {
    return Status::Unauthenticated("Azure Storage account '" + a.name + "': set AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN");
  }
  return a;
}

Result<SharedKeySignature> ComputeSharedKey(const http::Request& request, const std::string& account,
                                            const std::string& key_base64) {
  NIC_ASSIGN_OR_RETURN(http::Url url, http::ParseUrl(request.url));
  Result<std::string> key = crypto::Base64Decode(key_base64);
  if (!key.ok() || key->empty()) {
    return Status::InvalidConfig("the account key of Azure Storage account '" + account + "' is not valid base64");
  }
  const http::Headers& h = request.headers;
  std::string length = request.body.empty() ? "" : std::to_string(request.body.size());
  std::string sts = request.method + "\n" + h.GetOr("Content-Encoding") + "\n" + h.GetOr("Content-Language") + "\n" +
                    length + "\n" + h.GetOr("Content-MD5") + "\n" + h.GetOr("Content-Type") + "\n" +
                    (h.Has("x-ms-date") ? "" : h.GetOr("Date")) + "\n" + h.GetOr("If-Modified-Since") + "\n" +
                    h.GetOr("If-Match") + "\n" + h.GetOr("If-None-Match") + "\n" + h.GetOr("If-Unmodified-Since") +
                    "\n" + h.GetOr("Range") + "\n";
  std::map<std::string, std::string> ms;
  for (const auto& [name, value] : h.entries()) {
    std::string n = Lower(name);
    if (n.rfind("x-ms-", 0) != 0) continue;
    std::string v = http::CollapseWhitespace(value);
    auto [it, inserted] = ms.emplace(n, v);
    if (!inserted) it->second += "," + v;
  }
  for (const auto& [n, v] : ms) sts += n + ":" + v + "\n";
  // The resource is "/account" + the URL path; with path-style URLs (Azurite) the account
  // therefore appears twice.
  sts += "/" + account + url.path;
  std::map<std::string, std::vector<std::string>> params;
  std::string_view q = url.query;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view part = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    params[Lower(http::UriDecode(part.substr(0, eq)))].push_back(
        eq == std::string_view::npos ? "" : http::UriDecode(part.substr(eq + 1)));
  }
  for (auto& [n, vals] : params) {
    std::sort(vals.begin(), vals.end());
    sts += "\n" + n + ":";
    for (size_t i = 0; i < vals.size(); ++i) sts += (i ? "," : "") + vals[i];
  }
  SharedKeySignature out;
  out.string_to_sign = sts;
  out.authorization = "SharedKey " + account + ":" + crypto::Base64Encode(crypto::HmacSha256(*key, sts));
  return out;
}

Status SignSharedKey(http::Request& request, const std::string& account, const std::string& key_base64, int64_t now) {
  request.headers.Remove("Authorization");
  request.headers.Set("x-ms-date", HttpDate(now != 0 ? now : static_cast<int64_t>(std::time(nullptr))));
  if (!request.headers.Has("x-ms-version")) request.headers.Set("x-ms-version", kStorageApiVersion);
  NIC_ASSIGN_OR_RETURN(SharedKeySignature sig, ComputeSharedKey(request, account, key_base64));
  request.headers.Set("Authorization", sig.authorization);
  return Status::OK();
}

Status StorageAuthorizer::Authorize(http::Request& request) {
  if (!account_.key.empty()) return SignSharedKey(request, account_.name, account_.key);
  if (account_.sas.empty()) return Status::Unauthenticated("Azure Storage account '" + account_.name + "' has no key or SAS");
  if (!request.headers.Has("x-ms-version")) request.headers.Set("x-ms-version", kStorageApiVersion);
  // A retry reuses the request: append the SAS only once.
  if (request.url.find("sig=") == std::string::npos) {
    request.url += (request.url.find('?') == std::string::npos ? "?" : "&") + account_.sas;
  }
  return Status::OK();
}

Status StorageErrorStatus(const http::Request& request, const http::Response& response) {
  std::string code = http::CloudErrorCode(response);
  std::string message;
  if (auto doc = xml::Parse(response.body); doc.ok()) message = doc->ChildText("Message");
  message = message.substr(0, message.find('\n'));  // drop the RequestId/Time lines
  std::string detail = code + (message.empty() ? "" : ": " + message);
  Status st = http::StatusFromResponse(request, response, detail);
  ErrorCode kind = st.code();
  if (code == "AuthenticationFailed" || code == "AuthorizationFailure" || code == "InvalidAuthenticationInfo" ||
      code == "NoAuthenticationInformation") {
    kind = ErrorCode::kUnauthenticated;
  } else if (code == "AuthorizationPermissionMismatch" || code == "AuthorizationResourceTypeMismatch") {
    kind = ErrorCode::kPermissionDenied;
  } else if (code == "ConditionNotMet" || code == "BlobAlreadyExists" || code == "ContainerAlreadyExists" ||
             code.rfind("Lease", 0) == 0) {
    kind = ErrorCode::kConflict;
  } else if (code.find("NotFound") != std::string::npos) {
    kind = ErrorCode::kNotFound;
  } else if (code == "ServerBusy" || code == "OperationTimedOut") {
    kind = ErrorCode::kUnavailable;
  }
  Status out(kind, st.message());
  for (const auto& [k, v] : st.details()) out.WithDetail(k, v);
  if (!code.empty()) out.WithDetail("azure_code", code);
  return out;
}

Result<std::string> MakeBlobSas(const StorageAccount& account, const std::string& container, const std::string& blob,
                                const BlobSasOptions& o) {
  if (account.key.empty()) return Status::InvalidConfig("a SAS can only be made with the account key");
  if (o.expiry == 0) return Status::InvalidConfig("a SAS needs an expiry");
  NIC_ASSIGN_OR_RETURN(std::string key, crypto::Base64Decode(account.key));
  std::string sr = blob.empty() ? "c" : "b";
  std::string st = o.start != 0 ? IsoSeconds(o.start) : "";
  std::string se = IsoSeconds(o.expiry);
  std::string resource = "/blob/" + account.name + "/" + container + (blob.empty() ? "" : "/" + blob);
  // Field order of the service SAS string-to-sign for versions 2020-12-06 and later:
  // sp, st, se, resource, si, sip, spr, sv, sr, snapshot time, ses, rscc, rscd, rsce, rscl, rsct.
  std::string sts = o.permissions + "\n" + st + "\n" + se + "\n" + resource + "\n\n\n" + o.protocol + "\n" +
                    o.version + "\n" + sr + "\n\n\n\n\n\n\n";
  std::string sig = crypto::Base64Encode(crypto::HmacSha256(key, sts));
  std::vector<std::pair<std::string, std::string>> q = {{"sv", o.version}};
  if (!st.empty()) q.emplace_back("st", st);
  q.emplace_back("se", se);
  q.emplace_back("sr", sr);
  q.emplace_back("sp", o.permissions);
  if (!o.protocol.empty()) q.emplace_back("spr", o.protocol);
  q.emplace_back("sig", sig);
  return http::EncodeQuery(q);
}

Result<EntraOptions> EntraOptionsFromEnv(const auth::EnvLookup& env, const std::string& scope) {
  EntraOptions o;
  o.scope = scope;
  o.tenant_id = FirstOf(env, {"AZURE_TENANT_ID", "ARM_TENANT_ID"}).value_or("");
  o.client_id = FirstOf(env, {"AZURE_CLIENT_ID", "ARM_CLIENT_ID"}).value_or("");
  o.client_secret = FirstOf(env, {"AZURE_CLIENT_SECRET", "ARM_CLIENT_SECRET"}).value_or("");
  if (auto host = env("AZURE_AUTHORITY_HOST")) o.authority_host = *host;
  while (!o.authority_host.empty() && o.authority_host.back() == '/') o.authority_host.pop_back();
  std::vector<std::string> missing;
  if (o.tenant_id.empty()) missing.push_back("AZURE_TENANT_ID (ARM_TENANT_ID)");
  if (o.client_id.empty()) missing.push_back("AZURE_CLIENT_ID (ARM_CLIENT_ID)");
  if (o.client_secret.empty()) missing.push_back("AZURE_CLIENT_SECRET (ARM_CLIENT_SECRET)");
  if (!missing.empty()) {
    std::string m = "Azure client credentials incomplete; missing ";
    for (size_t i = 0; i < missing.size(); ++i) m += (i ? ", " : "") + missing[i];
    return Status::Unauthenticated(m);
  }
  return o;
}

namespace {

class EntraClientCredentials final : public auth::TokenSource {
 public:
  EntraClientCredentials(EntraOptions o, http::Transport* t, auth::Clock clock)
      : o_(std::move(o)), transport_(t), clock_(std::move(clock)) {}

  std::string Describe() const override {
    return "Entra ID client credentials for client " + o_.client_id + " in tenant " + o_.tenant_id;
  }

  Result<auth::AccessToken> Fetch() override {
    if (transport_ == nullptr) return Status::Internal("Entra token source has no transport");
    http::Request req;
    req.method = "POST";
    req.service = "entra";
    req.url = o_.authority_host + "/" + http::UriEncode(o_.tenant_id) + "/oauth2/v2.0/token";
    req.headers.Set("Content-Type", "application/x-www-form-urlencoded");
    req.body = http::EncodeQuery({{"grant_type", "client_credentials"},
                                  {"client_id", o_.client_id},
                                  {"client_secret", o_.client_secret},
                                  {"scope", o_.scope}});
    req.retry = http::RetryMode::kSafe;  // minting a token has no side effects
    int64_t now = clock_();
    NIC_ASSIGN_OR_RETURN(http::Response resp, http::SendWithRetry(*transport_, req));
    auto j = ParseJsonBounded(resp.body);
    if (!resp.ok()) {
      std::string detail;
      if (j.is_object()) detail = j.value("error", "") + ": " + j.value("error_description", "");
      Status st = http::StatusFromResponse(req, resp, detail);
      Status out(resp.status == 400 || resp.status == 401 ? ErrorCode::kUnauthenticated : st.code(),
                 Describe() + ": " + st.message());
      return out;
    }
    if (!j.is_object() || !j.contains("access_token") || !j["access_token"].is_string()) {
      return Status::InvalidInput(Describe() + ": token response has no access_token");
    }
    auth::AccessToken t;
    t.token = j["access_token"].get<std::string>();
    int64_t expires_in = 3600;
    if (j.contains("expires_in")) {
      if (j["expires_in"].is_number()) expires_in = j["expires_in"].get<int64_t>();
      else if (j["expires_in"].is_string()) expires_in = std::atoll(j["expires_in"].get<std::string>().c_str());
    }
    t.expires_at = now + expires_in;
    return t;
  }

 private:
  EntraOptions o_;
  http::Transport* transport_;
  auth::Clock clock_;
};

}  // namespace

std::unique_ptr<auth::TokenSource> NewEntraClientCredentials(EntraOptions options, http::Transport* transport,
                                                             auth::Clock clock) {
  return std::make_unique<EntraClientCredentials>(std::move(options), transport, std::move(clock));
}

}  // namespace nic::azure

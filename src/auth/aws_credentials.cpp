// The AWS credential chain: environment, web identity, shared config/credentials files
// (with assume-role), EC2 instance metadata.
#include <nlohmann/json.hpp>

#include <cctype>
#include <ctime>
#include <fstream>
#include <map>
#include <sstream>

#include "nic/aws_auth.h"
#include "nic/json_limits.h"
#include "nic/aws_error.h"
#include "nic/retry.h"
#include "nic/xml.h"

namespace nic::aws {
namespace {

using Section = std::map<std::string, std::string>;
using IniFile = std::map<std::string, Section>;

std::string Trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

// AWS shared files: "[section]" headers, "key = value" lines, '#' or ';' comments. Nested
// (indented) sub-sections such as s3 = \n  max_concurrent_requests = 10 are skipped.
IniFile ParseIni(const std::string& text) {
  IniFile out;
  std::string section;
  std::istringstream in(text);
  std::string raw;
  while (std::getline(in, raw)) {
    if (!raw.empty() && (raw[0] == ' ' || raw[0] == '\t') && !section.empty()) continue;
    std::string line = Trim(raw);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      section = Trim(std::string_view(line).substr(1, line.size() - 2));
      out[section];
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string::npos || section.empty()) continue;
    out[section][Trim(std::string_view(line).substr(0, eq))] = Trim(std::string_view(line).substr(eq + 1));
  }
  return out;
}

std::optional<std::string> ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string HomePath(const auth::EnvLookup& env, const std::string& rel) {
  auto home = env("HOME");
  return (home ? *home : std::string("/root")) + "/" + rel;
}

struct SharedFiles {
  std::string credentials_path;
  std::string config_path;
  IniFile credentials;
  IniFile config;
};

SharedFiles LoadSharedFiles(const auth::EnvLookup& env) {
  SharedFiles f;
  f.credentials_path = env("AWS_SHARED_CREDENTIALS_FILE").value_or(HomePath(env, ".aws/credentials"));
  f.config_path = env("AWS_CONFIG_FILE").value_or(HomePath(env, ".aws/config"));
  if (auto t = ReadText(f.credentials_path)) f.credentials = ParseIni(*t);
  if (auto t = ReadText(f.config_path)) f.config = ParseIni(*t);
  return f;
}

// The merged settings of a profile: config "[profile x]" (or "[default]"), overridden by the
// credentials file's "[x]", as the SDKs do.
std::optional<Section> ProfileSettings(const SharedFiles& f, const std::string& name) {
  std::optional<Section> out;
  auto cfg = f.config.find(name == "default" ? "default" : "profile " + name);
  if (cfg == f.config.end() && name == "default") cfg = f.config.find("profile default");
  if (cfg != f.config.end()) out = cfg->second;
  auto cred = f.credentials.find(name);
  if (cred != f.credentials.end()) {
    if (!out) out = Section();
    for (const auto& [k, v] : cred->second) (*out)[k] = v;
  }
  return out;
}

std::string ProfileName(const auth::EnvLookup& env, const std::string& explicit_profile) {
  if (!explicit_profile.empty()) return explicit_profile;
  if (auto p = env("AWS_PROFILE")) return *p;
  if (auto p = env("AWS_DEFAULT_PROFILE")) return *p;
  return "default";
}

// "2026-11-22T01:02:03Z" or with fractional seconds.
int64_t ParseIsoTime(const std::string& s) {
  std::tm tm{};
  if (strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm) == nullptr) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

Result<Credentials> ParseStsCredentials(const http::Response& resp, const std::string& source) {
  auto doc = xml::Parse(resp.body);
  if (!doc.ok()) return Status::InvalidInput("STS returned an unreadable response for " + source);
  const xml::Node* c = doc->Find("Credentials");
  if (c == nullptr) return Status::InvalidInput("STS response for " + source + " has no Credentials");
  Credentials out;
  out.access_key_id = c->ChildText("AccessKeyId");
  out.secret_access_key = c->ChildText("SecretAccessKey");
  out.session_token = c->ChildText("SessionToken");
  out.expires_at = ParseIsoTime(c->ChildText("Expiration"));
  out.source = source;
  if (out.access_key_id.empty() || out.secret_access_key.empty()) {
    return Status::InvalidInput("STS response for " + source + " has empty credentials");
  }
  return out;
}

// Calls STS (query protocol). `signer` is null for AssumeRoleWithWebIdentity, which is
// authenticated by the token in its body.
Result<Credentials> CallSts(http::Transport* transport, const auth::EnvLookup& env, const std::string& region,
                            const std::string& action, const std::vector<std::pair<std::string, std::string>>& params,
                            const Credentials* signer, const std::string& source) {
  if (transport == nullptr) return Status::Unsupported(source + " needs an HTTP transport for STS");
  std::string sts_region = region.empty() ? "us-east-1" : region;
  std::string endpoint = ResolveEndpoint("sts", sts_region, env);
  http::Request req = QueryRequest(endpoint, action, "2011-06-15", params);
  req.service = "sts";
  req.retry = http::RetryMode::kSafe;  // assuming a role has no side effects
  std::unique_ptr<auth::Authorizer> auth;
  if (signer != nullptr) {
    auth = std::make_unique<SigV4Authorizer>(std::make_shared<StaticCredentials>(*signer),
                                             SigV4Options{sts_region, "sts", false, false, 0});
  }
  NIC_ASSIGN_OR_RETURN(http::Response resp, http::SendWithRetry(*transport, req, auth.get()));
  if (!resp.ok()) {
    Status st = ErrorStatus(req, resp);
    return st.Prepend(source);
  }
  return ParseStsCredentials(resp, source);
}

class Chain final : public CredentialProvider {
 public:
  explicit Chain(ChainOptions o) : o_(std::move(o)) {}

  Result<Credentials> Get() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (cached_ && (cached_->expires_at == 0 || o_.clock() < cached_->expires_at - 300)) return *cached_;
    Result<Credentials> c = Resolve();
    if (c.ok()) cached_ = *c;
    return c;
  }

 private:
  Result<Credentials> Resolve() {
    std::vector<std::string> tried;
    const auth::EnvLookup& env = o_.env;

    // 1. Environment. An explicitly chosen profile (backend config) wins over it, as in botocore.
    if (o_.profile.empty()) {
      auto id = env("AWS_ACCESS_KEY_ID");
      auto secret = env("AWS_SECRET_ACCESS_KEY");
      if (id && secret) {
        return Credentials{*id, *secret, env("AWS_SESSION_TOKEN").value_or(""), 0, "environment"};
      }
      if (id || secret) {
        return Status::Unauthenticated(
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together; only one is set");
      }
      tried.push_back("environment (AWS_ACCESS_KEY_ID not set)");

      // 2. Web identity (EKS IRSA, GitHub OIDC).
      auto token_file = env("AWS_WEB_IDENTITY_TOKEN_FILE");
      auto role = env("AWS_ROLE_ARN");
      if (token_file && role) {
        return WebIdentity(*token_file, *role, env("AWS_ROLE_SESSION_NAME").value_or(""));
      }
      tried.push_back("web identity (AWS_WEB_IDENTITY_TOKEN_FILE/AWS_ROLE_ARN not set)");
    }

    // 3. Shared files.
    SharedFiles files = LoadSharedFiles(env);
    std::string profile = ProfileName(env, o_.profile);
    if (auto settings = ProfileSettings(files, profile)) {
      return FromProfile(files, profile, *settings, 0);
    }
    if (!o_.profile.empty() || env("AWS_PROFILE")) {
      return Status::Unauthenticated("AWS profile '" + profile + "' was not found in " + files.credentials_path +
                                     " or " + files.config_path);
    }
    tried.push_back("profile '" + profile + "' (not in " + files.credentials_path + " or " + files.config_path + ")");

    // 4. EC2 instance metadata.
    bool imds = o_.imds_enabled;
    if (auto d = env("AWS_EC2_METADATA_DISABLED"); d && (*d == "true" || *d == "TRUE" || *d == "1")) imds = false;
    if (imds && o_.transport != nullptr) {
      Result<Credentials> c = Imds();
      if (c.ok()) return c;
      tried.push_back("EC2 instance metadata (" + c.status().message() + ")");
    } else {
      tried.push_back("EC2 instance metadata (disabled)");
    }
    std::string msg = "no AWS credentials found; tried: ";
    for (size_t i = 0; i < tried.size(); ++i) msg += (i ? "; " : "") + tried[i];
    Status st = Status::Unauthenticated(msg);
    st.WithSuggestion("set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run on a machine with an IAM role");
    return st;
  }

  Result<Credentials> WebIdentity(const std::string& token_file, const std::string& role,
                                  std::string session) {
    auto token = ReadText(token_file);
    if (!token) return Status::Unauthenticated("cannot read the web identity token file " + token_file);
    if (session.empty()) session = "nic-" + std::to_string(o_.clock());
    auto region = ResolveRegion(o_.env, o_.profile);
    return CallSts(o_.transport, o_.env, region.ok() ? *region : "", "AssumeRoleWithWebIdentity",
                   {{"RoleArn", role}, {"RoleSessionName", session}, {"WebIdentityToken", Trim(*token)}}, nullptr,
                   "web identity for " + role);
  }

  Result<Credentials> FromProfile(const SharedFiles& files, const std::string& name, const Section& s, int depth) {
    if (depth > 4) return Status::InvalidConfig("AWS profile '" + name + "': source_profile chain is too long or circular");
    auto get = [&](const char* k) {
      auto it = s.find(k);
      return it == s.end() ? std::string() : it->second;
    };
    std::string role = get("role_arn");
    if (!role.empty()) {
      std::string source_name = get("source_profile");
      Credentials source;
      if (!source_name.empty()) {
        auto src = ProfileSettings(files, source_name);
        if (!src) {
          return Status::InvalidConfig("AWS profile '" + name + "': source_profile '" + source_name + "' not found");
        }
        // The source's own role_arn is followed (role chaining) unless it is this profile.
        Section src_settings = *src;
        if (source_name == name) src_settings.erase("role_arn");
        NIC_ASSIGN_OR_RETURN(source, FromProfile(files, source_name, src_settings, depth + 1));
      } else if (!get("web_identity_token_file").empty()) {
        return WebIdentity(get("web_identity_token_file"), role, get("role_session_name"));
      } else {
        return Status::InvalidConfig("AWS profile '" + name + "' has role_arn but no source_profile");
      }
      std::string session = get("role_session_name");
      if (session.empty()) session = "nic-" + std::to_string(o_.clock());
      std::vector<std::pair<std::string, std::string>> params = {{"RoleArn", role}, {"RoleSessionName", session}};
      if (!get("external_id").empty()) params.emplace_back("ExternalId", get("external_id"));
      if (!get("duration_seconds").empty()) params.emplace_back("DurationSeconds", get("duration_seconds"));
      std::string region = get("region");
      if (region.empty()) region = ResolveRegion(o_.env, o_.profile).ok() ? *ResolveRegion(o_.env, o_.profile) : "";
      return CallSts(o_.transport, o_.env, region, "AssumeRole", params, &source,
                     "profile '" + name + "' assume-role " + role);
    }
    std::string id = get("aws_access_key_id"), secret = get("aws_secret_access_key");
    if (id.empty() || secret.empty()) {
      return Status::Unauthenticated("AWS profile '" + name + "' has no aws_access_key_id/aws_secret_access_key or role_arn");
    }
    return Credentials{id, secret, get("aws_session_token"), 0, "profile " + name};
  }

  Result<Credentials> Imds() {
    std::string base = o_.imds_endpoint;
    if (base.empty()) base = o_.env("AWS_EC2_METADATA_SERVICE_ENDPOINT").value_or("http://169.254.169.254");
    while (!base.empty() && base.back() == '/') base.pop_back();
    http::RetryOptions ro;
    ro.policy.max_attempts = 2;
    ro.policy.base_delay = std::chrono::milliseconds(50);
    auto send = [&](http::Request r) -> Result<http::Response> {
      r.service = "imds";
      r.timeout = std::chrono::milliseconds(1000);
      return http::SendWithRetry(*o_.transport, r, nullptr, ro);
    };
    http::Request tok;
    tok.method = "PUT";
    tok.url = base + "/latest/api/token";
    tok.headers.Set("X-aws-ec2-metadata-token-ttl-seconds", "21600");
    NIC_ASSIGN_OR_RETURN(http::Response t, send(tok));
    if (t.status != 200) return Status::Unavailable("IMDSv2 token request returned HTTP " + std::to_string(t.status));
    http::Request list;
    list.url = base + "/latest/meta-data/iam/security-credentials/";
    list.headers.Set("X-aws-ec2-metadata-token", t.body);
    NIC_ASSIGN_OR_RETURN(http::Response roles, send(list));
    if (roles.status != 200) return Status::Unavailable("no IAM role attached to this instance (HTTP " + std::to_string(roles.status) + ")");
    std::string role = Trim(roles.body.substr(0, roles.body.find('\n')));
    if (role.empty()) return Status::Unavailable("no IAM role attached to this instance");
    http::Request creds = list;
    creds.url += role;
    NIC_ASSIGN_OR_RETURN(http::Response c, send(creds));
    if (c.status != 200) return Status::Unavailable("IMDS credentials for role " + role + " returned HTTP " + std::to_string(c.status));
    auto j = ParseJsonBounded(c.body);
    if (j.is_discarded() || !j.is_object() || !j.contains("AccessKeyId") || !j.contains("SecretAccessKey")) {
      return Status::InvalidInput("IMDS returned unreadable credentials for role " + role);
    }
    Credentials out;
    out.access_key_id = j.value("AccessKeyId", "");
    out.secret_access_key = j.value("SecretAccessKey", "");
    out.session_token = j.value("Token", "");
    out.expires_at = ParseIsoTime(j.value("Expiration", ""));
    out.source = "imds role " + role;
    return out;
  }

  ChainOptions o_;
  std::mutex mu_;
  std::optional<Credentials> cached_;
};

}  // namespace

std::unique_ptr<CredentialProvider> NewDefaultCredentialChain(ChainOptions options) {
  return std::make_unique<Chain>(std::move(options));
}

Result<std::string> ResolveRegion(const auth::EnvLookup& env, const std::string& profile) {
  if (auto r = env("AWS_REGION")) return *r;
  if (auto r = env("AWS_DEFAULT_REGION")) return *r;
  SharedFiles files = LoadSharedFiles(env);
  std::string name = ProfileName(env, profile);
  if (auto s = ProfileSettings(files, name)) {
    auto it = s->find("region");
    if (it != s->end() && !it->second.empty()) return it->second;
  }
  return Status::InvalidConfig("no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION), the backend's region, or "
                               "'region' in profile '" + name + "' of " + files.config_path);
}

}  // namespace nic::aws

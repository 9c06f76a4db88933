// AWS Signature Version 4.
#include <algorithm>
#include <cctype>
#include <ctime>
#include <mutex>
#include <vector>

#include "nic/aws_auth.h"
#include "nic/crypto.h"

namespace nic::aws {
namespace {

constexpr const char* kAlgorithm = "AWS4-HMAC-SHA256";
constexpr const char* kUnsignedPayload = "UNSIGNED-PAYLOAD";

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Headers that proxies and SDK plumbing may add or rewrite; signing them breaks requests.
bool IsUnsignedHeader(const std::string& lower) {
  static const char* const kSkip[] = {"authorization", "cache-control", "connection", "expect", "from",
                                      "keep-alive", "max-forwards", "pragma", "referer", "te", "trailer",
                                      "transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id"};
  for (const char* s : kSkip) {
    if (lower == s) return true;
  }
  return false;
}

// Non-S3 services: remove empty and dot segments, then encode the (already encoded) path
// again. S3: decode and encode exactly once; object keys are never normalized.
std::string CanonicalUri(const std::string& path, bool s3) {
  if (s3) return http::UriEncode(http::UriDecode(path), /*keep_slash=*/true);
  std::vector<std::string_view> segs;
  std::string_view p = path;
  while (!p.empty()) {
    size_t slash = p.find('/');
    std::string_view seg = p.substr(0, slash);
    p = slash == std::string_view::npos ? std::string_view() : p.substr(slash + 1);
    if (seg.empty() || seg == ".") continue;
    if (seg == "..") {
      if (!segs.empty()) segs.pop_back();
      continue;
    }
    segs.push_back(seg);
  }
  std::string norm = "/";
  for (size_t i = 0; i < segs.size(); ++i) {
    if (i > 0) norm += '/';
    norm += segs[i];
  }
  if (!segs.empty() && path.size() > 1 && path.back() == '/') norm += '/';
  return http::UriEncode(norm, /*keep_slash=*/true);
}

std::string CanonicalQuery(const std::string& query) {
  std::vector<std::pair<std::string, std::string>> params;
  std::string_view q = query;
  while (!q.empty()) {
    size_t amp = q.find('&');
    std::string_view part = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    std::string k = http::UriEncode(http::UriDecode(part.substr(0, eq)));
    std::string v = eq == std::string_view::npos ? "" : http::UriEncode(http::UriDecode(part.substr(eq + 1)));
    params.emplace_back(std::move(k), std::move(v));
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out += '&';
    out += k + "=" + v;
  }
  return out;
}

std::string AmzDate(int64_t t) {
  // Every request of a run signs with the current second: strftime once per second per thread.
  thread_local int64_t cached_t = -1;
  thread_local std::string cached;
  if (t == cached_t) return cached;
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  cached_t = t;
  cached = buf;
  return cached;
}

// The SigV4 signing key depends only on the secret, the date, the region and the service, so it
// is derived (four HMACs) once per scope and reused for every request in it, as the AWS SDKs
// do. A handful of entries covers every service and region one run talks to.
std::string SharedSigningKey(const std::string& secret, const std::string& date, const std::string& region,
                             const std::string& service) {
  static std::mutex mu;
  static std::vector<std::pair<std::string, std::string>> cache;  // scope id -> key
  std::string id = date + '\n' + region + '\n' + service + '\n' + secret;
  {
    std::lock_guard<std::mutex> lock(mu);
    for (const auto& [k, v] : cache) {
      if (k == id) return v;
    }
  }
  std::string k = crypto::HmacSha256("AWS4" + secret, date);
  k = crypto::HmacSha256(k, region);
  k = crypto::HmacSha256(k, service);
  k = crypto::HmacSha256(k, "aws4_request");
  std::lock_guard<std::mutex> lock(mu);
  if (cache.size() >= 16) cache.erase(cache.begin());
  cache.emplace_back(std::move(id), k);
  return k;
}

const std::string& SigningKey(const std::string& secret, const std::string& date, const std::string& region,
                              const std::string& service) {
  // The scope this thread signed in last: almost every call, without a lock or an allocation.
  struct Last {
    std::string secret, date, region, service, key;
  };
  thread_local Last last;
  if (!last.key.empty() && last.date == date && last.service == service && last.region == region &&
      last.secret == secret) {
    return last.key;
  }
  std::string key = SharedSigningKey(secret, date, region, service);
  last = Last{secret, date, region, service, std::move(key)};
  return last.key;
}

int64_t Now(int64_t t) { return t != 0 ? t : static_cast<int64_t>(std::time(nullptr)); }

bool StartsWithAny(const std::string& s, std::initializer_list<const char*> prefixes) {
  for (const char* p : prefixes) {
    if (s.rfind(p, 0) == 0) return true;
  }
  return false;
}

}  // namespace

namespace {

// ComputeSigV4 on an already parsed URL (SignV4 parses it once for both).
Result<SigV4Signature> ComputeSigV4At(const http::Request& request, const http::Url& url, const Credentials& creds,
                                      const SigV4Options& opt) {
  if (creds.access_key_id.empty() || creds.secret_access_key.empty()) {
    return Status::Unauthenticated("cannot sign " + http::DescribeRequest(request) + ": no AWS access key");
  }
  if (opt.region.empty() || opt.service.empty()) {
    return Status::InvalidConfig("cannot sign " + http::DescribeRequest(request) + ": region and service are required");
  }
  std::string amz_date = request.headers.GetOr("x-amz-date");
  if (amz_date.empty()) amz_date = AmzDate(Now(opt.time));
  std::string date = amz_date.substr(0, 8);

  // Sorted by lower-case name (stable: repeated headers keep their order and are joined).
  std::vector<std::pair<std::string, std::string>> headers;
  headers.reserve(request.headers.entries().size() + 1);
  bool has_host = false;
  for (const auto& [name, value] : request.headers.entries()) {
    std::string n = Lower(name);
    if (IsUnsignedHeader(n)) continue;
    if (n == "host") has_host = true;
    headers.emplace_back(std::move(n), http::CollapseWhitespace(value));
  }
  if (!has_host) headers.emplace_back("host", url.authority());
  std::stable_sort(headers.begin(), headers.end(), [](const auto& a, const auto& b) { return a.first < b.first; });

  std::string canonical_headers, signed_headers;
  canonical_headers.reserve(256);
  for (size_t i = 0; i < headers.size(); ++i) {
    const std::string& n = headers[i].first;
    if (i > 0 && headers[i - 1].first == n) {
      // "name:v1,v2"; the previous line's newline moves to the end.
      canonical_headers.back() = ',';
      canonical_headers += headers[i].second;
      canonical_headers += '\n';
      continue;
    }
    canonical_headers += n;
    canonical_headers += ':';
    canonical_headers += headers[i].second;
    canonical_headers += '\n';
    if (!signed_headers.empty()) signed_headers += ';';
    signed_headers += n;
  }

  std::string payload_hash = request.headers.GetOr("x-amz-content-sha256");
  if (payload_hash.empty()) {
    payload_hash = opt.unsigned_payload ? kUnsignedPayload : crypto::HexEncode(crypto::Sha256(request.body));
  }

  SigV4Signature sig;
  sig.canonical_request = request.method + "\n" + CanonicalUri(url.path, opt.s3) + "\n" + CanonicalQuery(url.query) +
                          "\n" + canonical_headers + "\n" + signed_headers + "\n" + payload_hash;
  std::string scope = date + "/" + opt.region + "/" + opt.service + "/aws4_request";
  sig.string_to_sign = std::string(kAlgorithm) + "\n" + amz_date + "\n" + scope + "\n" +
                       crypto::HexEncode(crypto::Sha256(sig.canonical_request));
  const std::string& k = SigningKey(creds.secret_access_key, date, opt.region, opt.service);
  sig.signature = crypto::HexEncode(crypto::HmacSha256(k, sig.string_to_sign));
  sig.signed_headers = signed_headers;
  sig.authorization = std::string(kAlgorithm) + " Credential=" + creds.access_key_id + "/" + scope +
                      ", SignedHeaders=" + signed_headers + ", Signature=" + sig.signature;
  return sig;
}

}  // namespace

Result<SigV4Signature> ComputeSigV4(const http::Request& request, const Credentials& creds,
                                    const SigV4Options& opt) {
  NIC_ASSIGN_OR_RETURN(http::Url url, http::ParseUrl(request.url));
  return ComputeSigV4At(request, url, creds, opt);
}

Status SignV4(http::Request& request, const Credentials& creds, const SigV4Options& opt) {
  NIC_ASSIGN_OR_RETURN(http::Url url, http::ParseUrl(request.url));
  request.headers.Remove("Authorization");
  request.headers.Set("Host", url.authority());
  request.headers.Set("X-Amz-Date", AmzDate(Now(opt.time)));
  if (!creds.session_token.empty()) {
    request.headers.Set("X-Amz-Security-Token", creds.session_token);
  } else {
    request.headers.Remove("X-Amz-Security-Token");
  }
  if (opt.s3) {
    // S3 refuses signed requests without it (and moto's auth mode does too).
    request.headers.Set("X-Amz-Content-Sha256", opt.unsigned_payload
                                                    ? std::string(kUnsignedPayload)
                                                    : crypto::HexEncode(crypto::Sha256(request.body)));
  }
  NIC_ASSIGN_OR_RETURN(SigV4Signature sig, ComputeSigV4At(request, url, creds, opt));
  request.headers.Set("Authorization", sig.authorization);
  return Status::OK();
}

Status SigV4Authorizer::Authorize(http::Request& request) {
  Result<Credentials> c = credentials_->Get();
  if (!c.ok()) {
    Status st = c.status();
    return st.Prepend("no AWS credentials");
  }
  return SignV4(request, *c, options_);
}

std::string SigningName(const std::string& service_id) {
  if (service_id == "efs") return "elasticfilesystem";
  return service_id;
}

std::string ResolveEndpoint(const std::string& service_id, const std::string& region, const auth::EnvLookup& env,
                            const std::string& configured) {
  auto trim = [](std::string s) {
    while (!s.empty() && s.back() == '/') s.pop_back();
    return s;
  };
  if (!configured.empty()) return trim(configured);
  std::string var = "AWS_ENDPOINT_URL_";
  for (char c : service_id) var += (c == '-' || c == ' ') ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (auto v = env(var)) return trim(*v);
  if (auto v = env("AWS_ENDPOINT_URL")) return trim(*v);
  std::string suffix = region.rfind("cn-", 0) == 0 ? ".amazonaws.com.cn" : ".amazonaws.com";
  if (service_id == "iam") return region.rfind("cn-", 0) == 0 ? "https://iam.cn-north-1.amazonaws.com.cn" : "https://iam.amazonaws.com";
  return "https://" + SigningName(service_id) + "." + region + suffix;
}

http::Request JsonRequest(const std::string& endpoint, const std::string& target, std::string body,
                          const std::string& json_version) {
  http::Request r;
  r.method = "POST";
  r.url = endpoint + "/";
  r.body = std::move(body);
  r.headers.Set("Content-Type", "application/x-amz-json-" + json_version);
  r.headers.Set("X-Amz-Target", target);
  std::string op = target.substr(target.find('.') + 1);
  if (StartsWithAny(op, {"Get", "Describe", "List", "Query", "Scan", "BatchGet"})) r.retry = http::RetryMode::kSafe;
  return r;
}

http::Request QueryRequest(const std::string& endpoint, const std::string& action, const std::string& version,
                           const std::vector<std::pair<std::string, std::string>>& params) {
  std::vector<std::pair<std::string, std::string>> all = {{"Action", action}, {"Version", version}};
  all.insert(all.end(), params.begin(), params.end());
  http::Request r;
  r.method = "POST";
  r.url = endpoint + "/";
  r.body = http::EncodeQuery(all);
  r.headers.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
  if (StartsWithAny(action, {"Get", "Describe", "List"})) r.retry = http::RetryMode::kSafe;
  return r;
}

http::Request RestJsonRequest(const std::string& method, const std::string& endpoint, const std::string& path_and_query,
                              std::string json_body) {
  http::Request r;
  r.method = method;
  r.url = endpoint + path_and_query;
  r.body = std::move(json_body);
  if (!r.body.empty()) r.headers.Set("Content-Type", "application/json");
  return r;
}

std::string S3ObjectUrl(const std::string& endpoint, const std::string& bucket, const std::string& key) {
  return endpoint + "/" + bucket + "/" + http::UriEncode(key, /*keep_slash=*/true);
}

}  // namespace nic::aws

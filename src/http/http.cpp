#include "nic/http.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <thread>

namespace nic::http {
namespace {

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IsUnreserved(unsigned char c) {
  return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Query parameters whose values are credentials: SAS (sig), presigned AWS URLs, OAuth.
bool IsSecretQueryParam(std::string_view name) {
  static const char* const kSecret[] = {
      "sig",          "signature",       "x-amz-signature", "x-amz-credential",
      "x-amz-security-token", "access_token", "token",    "client_secret",
      "code",         "key",             "password",        "assertion",
      "refresh_token", "id_token",       "webidentitytoken", "skoid", "sktid", "sks"};
  for (const char* s : kSecret) {
    if (IEquals(name, s)) return true;
  }
  return false;
}

}  // namespace

// ---- Headers --------------------------------------------------------------------------------

void Headers::Set(std::string_view name, std::string_view value) {
  Remove(name);
  entries_.emplace_back(std::string(name), std::string(value));
}

void Headers::Add(std::string_view name, std::string_view value) {
  entries_.emplace_back(std::string(name), std::string(value));
}

void Headers::Remove(std::string_view name) {
  entries_.erase(std::remove_if(entries_.begin(), entries_.end(),
                                [&](const Entry& e) { return IEquals(e.first, name); }),
                 entries_.end());
}

bool Headers::Has(std::string_view name) const { return Get(name).has_value(); }

std::optional<std::string> Headers::Get(std::string_view name) const {
  for (const auto& e : entries_) {
    if (IEquals(e.first, name)) return e.second;
  }
  return std::nullopt;
}

std::string Headers::GetOr(std::string_view name, std::string_view fallback) const {
  auto v = Get(name);
  return v ? *v : std::string(fallback);
}

// ---- Transport ------------------------------------------------------------------------------

std::vector<Result<Response>> Transport::SendAll(const std::vector<Request>& requests) {
  std::vector<Result<Response>> results(requests.size(), Result<Response>(Status::Internal("not sent")));
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < requests.size(); i = next++) results[i] = Send(requests[i]);
  };
  size_t n = std::min<size_t>(requests.size(), static_cast<size_t>(std::max(1, parallelism())));
  std::vector<std::thread> threads;
  for (size_t t = 1; t < n; ++t) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  return results;
}

// ---- URLs -----------------------------------------------------------------------------------

std::string Url::authority() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port != 0 && port != (scheme == "https" ? 443 : 80)) h += ":" + std::to_string(port);
  return h;
}

Result<Url> ParseUrl(std::string_view url) {
  Url u;
  size_t p = url.find("://");
  if (p == std::string_view::npos) return Status::InvalidInput("URL has no scheme: " + std::string(url));
  u.scheme = Lower(url.substr(0, p));
  if (u.scheme != "http" && u.scheme != "https") {
    return Status::InvalidInput("unsupported URL scheme '" + u.scheme + "'");
  }
  std::string_view rest = url.substr(p + 3);
  size_t end = rest.find_first_of("/?#");
  std::string_view auth = rest.substr(0, end);
  rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  if (auto at = auth.rfind('@'); at != std::string_view::npos) auth = auth.substr(at + 1);
  std::string_view port_text;
  if (!auth.empty() && auth[0] == '[') {
    size_t close = auth.find(']');
    if (close == std::string_view::npos) return Status::InvalidInput("malformed IPv6 host in URL");
    u.host = std::string(auth.substr(1, close - 1));
    if (close + 1 < auth.size() && auth[close + 1] == ':') port_text = auth.substr(close + 2);
  } else {
    size_t colon = auth.rfind(':');
    u.host = Lower(auth.substr(0, colon));
    if (colon != std::string_view::npos) port_text = auth.substr(colon + 1);
  }
  if (u.host.empty()) return Status::InvalidInput("URL has no host: " + RedactUrl(url));
  if (!port_text.empty()) {
    int port = 0;
    for (char c : port_text) {
      if (!std::isdigit(static_cast<unsigned char>(c))) return Status::InvalidInput("bad port in URL");
      port = port * 10 + (c - '0');
      if (port > 65535) return Status::InvalidInput("bad port in URL");
    }
    u.port = port;
  }
  if (size_t hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  size_t q = rest.find('?');
  u.path = std::string(rest.substr(0, q));
  if (q != std::string_view::npos) u.query = std::string(rest.substr(q + 1));
  if (u.path.empty()) u.path = "/";
  return u;
}

std::string UriEncode(std::string_view s, bool keep_slash) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (unsigned char c : s) {
    if (IsUnreserved(c) || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string UriDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = HexValue(s[i + 1]), lo = HexValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

std::string EncodeQuery(const std::vector<std::pair<std::string, std::string>>& params) {
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out += '&';
    out += UriEncode(k);
    out += '=';
    out += UriEncode(v);
  }
  return out;
}

bool IsLoopbackHost(std::string_view host) {
  if (IEquals(host, "localhost") || host == "::1" || host == "[::1]") return true;
  return host.substr(0, 4) == "127.";
}

// ---- Redaction ------------------------------------------------------------------------------

std::string RedactUrl(std::string_view url) {
  size_t q = url.find('?');
  if (q == std::string_view::npos) return std::string(url);
  std::string out(url.substr(0, q + 1));
  std::string_view query = url.substr(q + 1);
  bool first = true;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (!first) out += '&';
    first = false;
    size_t eq = part.find('=');
    std::string name = UriDecode(part.substr(0, eq));
    if (eq != std::string_view::npos && IsSecretQueryParam(name)) {
      out += part.substr(0, eq);
      out += "=REDACTED";
    } else {
      out += part;
    }
  }
  return out;
}

bool IsSecretHeader(std::string_view name) {
  static const char* const kSecret[] = {
      "authorization", "proxy-authorization", "x-amz-security-token", "x-amz-signature",
      "x-aws-ec2-metadata-token", "x-ms-copy-source-authorization", "x-goog-iam-authorization-token",
      "cookie", "set-cookie", "x-api-key", "x-ms-encryption-key", "x-amz-server-side-encryption-customer-key",
      "x-identity-header"};
  for (const char* s : kSecret) {
    if (IEquals(name, s)) return true;
  }
  return false;
}

namespace {

// Keeps the non-secret part of an Authorization value, which is what one needs to debug a
// signature mismatch: the scheme, the SigV4 credential scope and signed headers, the account.
std::string RedactAuthorization(std::string_view v) {
  if (v.rfind("AWS4-HMAC-SHA256 ", 0) == 0) {
    size_t sig = v.find("Signature=");
    if (sig != std::string_view::npos) return std::string(v.substr(0, sig)) + "Signature=REDACTED";
  } else if (v.rfind("SharedKey ", 0) == 0 || v.rfind("SharedKeyLite ", 0) == 0) {
    size_t colon = v.find(':');
    if (colon != std::string_view::npos) return std::string(v.substr(0, colon)) + ":REDACTED";
  } else if (size_t sp = v.find(' '); sp != std::string_view::npos && sp < 16) {
    return std::string(v.substr(0, sp)) + " REDACTED";  // "Bearer REDACTED", "Basic REDACTED"
  }
  return "REDACTED";
}

}  // namespace

std::string RedactHeaders(const Headers& headers) {
  std::string out;
  for (const auto& [name, value] : headers.entries()) {
    if (!out.empty()) out += "; ";
    out += name;
    out += ": ";
    if (IEquals(name, "authorization")) {
      out += RedactAuthorization(value);
    } else {
      out += IsSecretHeader(name) ? std::string("REDACTED") : value;
    }
  }
  return out;
}

std::string DescribeRequest(const Request& request) {
  std::string out;
  if (!request.service.empty()) out = request.service + " ";
  out += request.method + " " + RedactUrl(request.url);
  return out;
}

Status ResponseTooLarge(const Request& request, const Headers& response_headers, size_t limit) {
  std::string declared;
  if (auto cl = response_headers.Get("Content-Length")) declared = " (it declared Content-Length: " + *cl + ")";
  Status st = Status::InvalidInput(DescribeRequest(request) + ": the response body is larger than the " +
                                   std::to_string(limit) + "-byte limit" + declared +
                                   "; NIC stopped reading it. Check that the endpoint is the intended service "
                                   "(a wrong endpoint or an intercepting proxy can answer with an unrelated body)");
  st.WithDetail("retryable", "false");
  st.WithDetail("max_response_bytes", std::to_string(limit));
  return st;
}

Status StatusFromResponse(const Request& request, const Response& response, std::string_view detail) {
  std::string msg = DescribeRequest(request) + ": HTTP " + std::to_string(response.status);
  if (!detail.empty()) msg += " " + std::string(detail);
  ErrorCode code;
  int s = response.status;
  if (s == 401) {
    code = ErrorCode::kUnauthenticated;
  } else if (s == 403) {
    code = ErrorCode::kPermissionDenied;
  } else if (s == 404) {
    code = ErrorCode::kNotFound;
  } else if (s == 409 || s == 412) {
    code = ErrorCode::kConflict;
  } else if (s == 408) {
    code = ErrorCode::kTimeout;
  } else if (s == 429 || s >= 500) {
    code = ErrorCode::kUnavailable;
  } else {
    code = ErrorCode::kInvalidInput;
  }
  Status st(code, std::move(msg));
  st.WithDetail("http_status", std::to_string(s));
  return st;
}

std::string CollapseWhitespace(std::string_view value) {
  std::string out;
  bool space = false;
  for (char c : value) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

}  // namespace nic::http

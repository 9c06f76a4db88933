// HTTP transport: the one seam through which every backend and provider talks to a cloud.
//
// A Transport turns a Request into a Response. It reports a Status only when no HTTP response
// arrived (connection refused or reset, timeout, TLS failure); any HTTP status, 2xx to 5xx, is a
// Response, and the caller decides what it means (see StatusFromResponse, aws_error.h).
// Retries live in one place, retry.h, above the transport; authentication is an Authorizer that
// the retry loop runs before every attempt, because signatures embed the time.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nic/status.h"

namespace nic::http {

// Ordered header list with case-insensitive lookup. Set replaces every header of that name.
class Headers {
 public:
  using Entry = std::pair<std::string, std::string>;

  void Set(std::string_view name, std::string_view value);
  void Add(std::string_view name, std::string_view value);
  void Remove(std::string_view name);
  bool Has(std::string_view name) const;
  // The first value of `name`, or nullopt.
  std::optional<std::string> Get(std::string_view name) const;
  // The first value of `name`, or "" when absent.
  std::string GetOr(std::string_view name, std::string_view fallback = "") const;

  const std::vector<Entry>& entries() const { return entries_; }
  bool empty() const { return entries_.empty(); }

 private:
  std::vector<Entry> entries_;
};

// Whether the retry layer may send a request again after a failure that might have reached
// the server. kAuto: GET/HEAD/PUT/DELETE/OPTIONS are idempotent; anything else is retried only
// when it carries a precondition (If-Match, If-None-Match, x-ms-if-*, ifGenerationMatch=...).
// kSafe: the caller vouches for it (a read sent as POST, a client token, a condition expression).
enum class RetryMode { kAuto, kSafe, kNever };

struct Request {
  std::string method = "GET";
  std::string url;  // absolute and already percent-encoded, e.g. "https://h/bucket/a%20b?x=1"
  Headers headers;
  std::string body;
  // Short name used in log lines and error messages ("s3", "dynamodb", "azure-blob").
  std::string service;
  RetryMode retry = RetryMode::kAuto;
  // Per-request total timeout; zero means the transport's default.
  std::chrono::milliseconds timeout{0};
};

struct Response {
  int status = 0;
  Headers headers;
  std::string body;

  bool ok() const { return status >= 200 && status < 300; }
  std::optional<std::string> Header(std::string_view name) const { return headers.Get(name); }
};

// Counters a transport keeps, for tests and --debug summaries.
struct TransportStats {
  int64_t requests = 0;            // requests that got an HTTP response or a transport error
  int64_t connections_opened = 0;  // new TCP connections (the rest reused a kept-alive one)
  int max_in_flight = 0;           // the most requests ever running at once
};

class Transport {
 public:
  virtual ~Transport() = default;
  Transport() = default;
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Thread-safe: any number of threads may call Send at once; implementations bound how many
  // requests are in flight. Does not retry.
  virtual Result<Response> Send(const Request& request) = 0;

  // Sends every request, up to the transport's parallelism at a time; results in input order.
  virtual std::vector<Result<Response>> SendAll(const std::vector<Request>& requests);

  // How many requests this transport runs at once (SendAll uses this many threads).
  virtual int parallelism() const { return 1; }

  virtual TransportStats stats() const { return {}; }
};

// The largest response body a transport accepts by default: far above any state, lock or API
// answer NIC reads, far below what would exhaust a CI runner's memory.
inline constexpr size_t kDefaultMaxResponseBytes = size_t{256} << 20;

struct TransportOptions {
  int parallelism = 10;  // Terraform's default for --parallelism
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds total_timeout{120'000};
  // CA bundle file. Empty: SSL_CERT_FILE, then CURL_CA_BUNDLE, then the system default.
  std::string ca_bundle;
  // Plain http is refused except to loopback and cloud metadata addresses. Setting this allows
  // it everywhere and logs a warning at construction: credentials would cross the network in
  // the clear.
  bool allow_insecure_http = false;
  std::string user_agent = "nic/0.1";
  // A response body larger than this fails the request (kInvalidInput, not retried) instead of
  // growing memory without bound: a Content-Length above it is refused before any body byte is
  // read, and a body without one is cut off once it passes it.
  size_t max_response_bytes = kDefaultMaxResponseBytes;
};

// libcurl implementation: a pool of easy handles sharing DNS, TLS session and connection caches
// (keep-alive), at most `parallelism` requests in flight. Proxies come from the standard
// environment (https_proxy, HTTPS_PROXY, http_proxy, no_proxy/NO_PROXY) as libcurl reads them;
// loopback destinations never use a proxy. TLS peer and host verification are always on.
std::unique_ptr<Transport> NewCurlTransport(const TransportOptions& options = {});

// ---- URLs -----------------------------------------------------------------------------------

struct Url {
  std::string scheme;  // "https"
  std::string host;    // "s3.us-west-2.amazonaws.com", "127.0.0.1", "::1" (no brackets)
  int port = 0;        // explicit port, or 0 when the URL has none
  std::string path;    // "/bucket/key" (still percent-encoded); "/" when empty
  std::string query;   // "a=1&b=2" without '?', still encoded

  int effective_port() const { return port != 0 ? port : (scheme == "https" ? 443 : 80); }
  // "host" or "host:port" when the port is not the scheme default: the Host header's value.
  std::string authority() const;
};

Result<Url> ParseUrl(std::string_view url);

// RFC 3986 percent-encoding of everything except unreserved characters (A-Z a-z 0-9 - _ . ~),
// upper-case hex, as AWS, Azure and Google require; '/' is kept when keep_slash is true.
std::string UriEncode(std::string_view s, bool keep_slash = false);
// Decodes %XX sequences; '+' stays '+'.
std::string UriDecode(std::string_view s);
// Encodes "a=1&b=2" from pairs, in the given order.
std::string EncodeQuery(const std::vector<std::pair<std::string, std::string>>& params);

// 127.0.0.0/8, ::1, localhost.
bool IsLoopbackHost(std::string_view host);

// A header value as request signers canonicalise it (SigV4, Azure SharedKey): leading and
// trailing whitespace removed, inner runs of whitespace collapsed to one space.
std::string CollapseWhitespace(std::string_view value);

// ---- Redaction and errors -------------------------------------------------------------------

// The URL with the values of secret-bearing query parameters (SAS "sig", X-Amz-Signature,
// X-Amz-Credential, X-Amz-Security-Token, access_token, ...) replaced by "REDACTED".
std::string RedactUrl(std::string_view url);
// Whether a header's value must never be logged (Authorization, x-amz-security-token, ...).
bool IsSecretHeader(std::string_view name);
// "Name: value" lines with secret values replaced by "REDACTED".
std::string RedactHeaders(const Headers& headers);

// A Status for a non-2xx response, for callers without a cloud-specific mapping: 401 ->
// kUnauthenticated, 403 -> kPermissionDenied, 404 -> kNotFound, 409/412 -> kConflict,
// 408 -> kTimeout, 429/5xx -> kUnavailable, other 4xx -> kInvalidInput. The message names the
// service, method and redacted URL, plus `detail` (an error code and message from the body).
Status StatusFromResponse(const Request& request, const Response& response,
                          std::string_view detail = "");

// The error for a response whose body passed `limit` bytes (see max_response_bytes): names the
// request, the limit and the declared Content-Length if any; kInvalidInput, never retried.
Status ResponseTooLarge(const Request& request, const Headers& response_headers, size_t limit);

// "s3 PUT https://host/b/k" with secrets redacted: the prefix every error message uses.
std::string DescribeRequest(const Request& request);

}  // namespace nic::http

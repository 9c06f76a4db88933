// The retry policy, in one place: every cloud call goes through SendWithRetry.
//
// Exponential backoff with full jitter (delay = uniform(0, min(max_delay, base * 2^n))),
// Retry-After honoured (seconds or an HTTP date, capped), retries on 408/429/500/502/503/504,
// connection failures and timeouts, and the clouds' throttling codes. A request that is not
// idempotent is sent again only if it is safe (see http::RetryMode) or if the previous attempt
// provably never reached the server (the connection was refused).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nic/auth.h"
#include "nic/http.h"
#include "nic/status.h"

namespace nic::http {

struct RetryPolicy {
  int max_attempts = 6;  // including the first
  std::chrono::milliseconds base_delay{200};
  std::chrono::milliseconds max_delay{20'000};
  // A Retry-After longer than this is cut to it (a server cannot park us for an hour).
  std::chrono::milliseconds max_retry_after{60'000};
  // Jitter seed; 0 seeds from std::random_device.
  uint64_t seed = 0;
  // How to wait; tests may record instead of sleeping. Default: std::this_thread::sleep_for.
  std::function<void(std::chrono::milliseconds)> sleep;
};

// One retry decision, reported to an observer (tests, debug logs).
struct RetryEvent {
  int attempt = 0;      // 1-based attempt that failed
  int http_status = 0;  // 0 for a transport failure
  std::string cause;    // "HTTP 503 SlowDown", "UNAVAILABLE: connection reset"
  std::chrono::milliseconds delay{0};
  bool from_retry_after = false;
};

struct RetryOptions {
  RetryPolicy policy;
  std::function<void(const RetryEvent&)> on_retry;
};

// Sends `request`, authorizing each attempt with `authorizer` (may be null), retrying per the
// policy. Returns the last response (which may still be a 5xx after the last attempt) or the
// last transport error, with the attempt count in the message.
Result<Response> SendWithRetry(Transport& transport, const Request& request,
                               auth::Authorizer* authorizer = nullptr,
                               const RetryOptions& options = {});

// Runs SendWithRetry for every request with up to transport.parallelism() at once.
std::vector<Result<Response>> SendAllWithRetry(Transport& transport,
                                               const std::vector<Request>& requests,
                                               auth::Authorizer* authorizer = nullptr,
                                               const RetryOptions& options = {});

// --- building blocks, exposed for tests and for callers with their own loops ---

// Whether the request may be sent again after a failure that may have reached the server.
bool IsRetrySafe(const Request& request);
// The cloud error code carried by a response: x-ms-error-code, x-amzn-ErrorType, an XML
// <Code>, a JSON "__type"/"code" or Google's error.errors[0].reason / error.status.
std::string CloudErrorCode(const Response& response);
// Whether a response is a transient failure worth retrying (status or throttling code).
bool IsRetryableResponse(const Response& response);
// Retry-After as a delay: delta-seconds or an IMF-fixdate relative to `now_unix`.
std::optional<std::chrono::milliseconds> ParseRetryAfter(std::string_view value, int64_t now_unix);
// Full-jitter backoff for the given failed attempt (1-based), using `random01` in [0, 1).
std::chrono::milliseconds BackoffDelay(const RetryPolicy& policy, int attempt, double random01);

}  // namespace nic::http

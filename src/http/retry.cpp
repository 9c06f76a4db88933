#include "nic/retry.h"
#include "nic/json_limits.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cmath>
#include <ctime>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "nic/log.h"
#include "nic/xml.h"

namespace nic::http {
namespace {

// Throttling and transient codes from AWS, Azure and Google that may come with a 400 status
// (AWS query services throttle with HTTP 400 Throttling; DynamoDB with 400
// ProvisionedThroughputExceededException).
bool IsRetryableCode(std::string_view code) {
  static const char* const kCodes[] = {
      // AWS
      "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
      "TooManyRequestsException", "RequestLimitExceeded", "SlowDown", "RequestThrottled",
      "ProvisionedThroughputExceededException", "TransactionInProgressException",
      "RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete", "BandwidthLimitExceeded",
      "EC2ThrottledException", "InternalError", "InternalFailure", "ServiceUnavailable",
      "LimitExceededException",
      // Azure
      "ServerBusy", "OperationTimedOut", "InternalError",
      // Google
      "rateLimitExceeded", "userRateLimitExceeded", "backendError", "internalError",
      "RESOURCE_EXHAUSTED", "UNAVAILABLE"};
  for (const char* c : kCodes) {
    if (code == c) return true;
  }
  return false;
}

bool HasPrecondition(const Request& r) {
  static const char* const kHeaders[] = {"If-Match", "If-None-Match", "If-Unmodified-Since",
                                         "x-ms-if-match", "x-ms-if-none-match", "x-ms-lease-id",
                                         "x-goog-if-generation-match", "x-goog-if-metageneration-match"};
  for (const char* h : kHeaders) {
    if (r.headers.Has(h)) return true;
  }
  return r.url.find("ifGenerationMatch=") != std::string::npos ||
         r.url.find("ifMetagenerationMatch=") != std::string::npos;
}

void DefaultSleep(std::chrono::milliseconds d) { std::this_thread::sleep_for(d); }

std::chrono::milliseconds Clamp(std::chrono::milliseconds v, std::chrono::milliseconds hi) {
  return std::max(std::chrono::milliseconds(0), std::min(v, hi));
}

}  // namespace

bool IsRetrySafe(const Request& request) {
  switch (request.retry) {
    case RetryMode::kSafe:
      return true;
    case RetryMode::kNever:
      return false;
    case RetryMode::kAuto:
      break;
  }
  const std::string& m = request.method;
  if (m == "GET" || m == "HEAD" || m == "PUT" || m == "DELETE" || m == "OPTIONS") return true;
  return HasPrecondition(request);
}

std::string CloudErrorCode(const Response& r) {
  if (auto v = r.headers.Get("x-ms-error-code")) return *v;
  if (auto v = r.headers.Get("x-amzn-ErrorType")) return v->substr(0, v->find(':'));
  std::string_view body = r.body;
  size_t i = body.find_first_not_of(" \t\r\n");
  if (i == std::string_view::npos) return "";
  if (body[i] == '<') {
    auto doc = xml::Parse(body);
    if (!doc.ok()) return "";
    if (doc->name == "Code") return doc->text;
    if (const auto* c = doc->Find("Code")) return c->text;
    return "";
  }
  if (body[i] == '{') {
    auto j = ParseJsonBounded(body);
    if (j.is_discarded() || !j.is_object()) return "";
    auto str = [](const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : std::string(); };
    if (j.contains("__type")) {
      std::string t = str(j["__type"]);
      size_t hash = t.rfind('#');
      return hash == std::string::npos ? t : t.substr(hash + 1);
    }
    if (j.contains("error") && j["error"].is_object()) {
      const auto& e = j["error"];
      if (e.contains("errors") && e["errors"].is_array() && !e["errors"].empty() &&
          e["errors"][0].is_object() && e["errors"][0].contains("reason")) {
        return str(e["errors"][0]["reason"]);
      }
      if (e.contains("code") && e["code"].is_string()) return str(e["code"]);
      if (e.contains("status")) return str(e["status"]);
    }
    if (j.contains("code") && j["code"].is_string()) return str(j["code"]);
    if (j.contains("Code")) return str(j["Code"]);
  }
  return "";
}

bool IsRetryableResponse(const Response& r) {
  int s = r.status;
  if (s == 408 || s == 429 || s == 500 || s == 502 || s == 503 || s == 504) return true;
  if (s >= 400) return IsRetryableCode(CloudErrorCode(r));
  return false;
}

std::optional<std::chrono::milliseconds> ParseRetryAfter(std::string_view v, int64_t now_unix) {
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  if (v.empty()) return std::nullopt;
  if (std::all_of(v.begin(), v.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    if (v.size() > 9) return std::chrono::milliseconds(int64_t{999'999'999} * 1000);
    return std::chrono::milliseconds(std::stoll(std::string(v)) * 1000);
  }
  // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
  std::tm tm{};
  std::string s(v);
  if (strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm) == nullptr) return std::nullopt;
  int64_t when = static_cast<int64_t>(timegm(&tm));
  return std::chrono::milliseconds(std::max<int64_t>(0, when - now_unix) * 1000);
}

std::chrono::milliseconds BackoffDelay(const RetryPolicy& policy, int attempt, double random01) {
  double cap = static_cast<double>(policy.max_delay.count());
  double exp = static_cast<double>(policy.base_delay.count()) * std::pow(2.0, std::max(0, attempt - 1));
  double ceiling = std::min(cap, exp);
  return std::chrono::milliseconds(static_cast<int64_t>(ceiling * random01));
}

Result<Response> SendWithRetry(Transport& transport, const Request& request, auth::Authorizer* authorizer,
                               const RetryOptions& options) {
  const RetryPolicy& p = options.policy;
  // Seeded only when a retry needs a jittered delay: most requests succeed at once, and
  // std::random_device plus the generator's seeding cost more than the rest of this function.
  std::optional<std::mt19937_64> rng;
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  auto sleep = p.sleep ? p.sleep : DefaultSleep;
  bool safe = IsRetrySafe(request);
  int max_attempts = std::max(1, p.max_attempts);

  for (int attempt = 1;; ++attempt) {
    Request req = request;
    if (authorizer != nullptr) {
      Status st = authorizer->Authorize(req);
      if (!st.ok()) return st.Prepend(DescribeRequest(request));
    }
    Result<Response> result = transport.Send(req);

    RetryEvent ev;
    ev.attempt = attempt;
    bool retry = false;
    std::optional<std::chrono::milliseconds> retry_after;
    if (result.ok()) {
      const Response& r = *result;
      if (!IsRetryableResponse(r)) return result;
      std::string code = CloudErrorCode(r);
      ev.http_status = r.status;
      ev.cause = "HTTP " + std::to_string(r.status) + (code.empty() ? "" : " " + code);
      // A 429/503 is an explicit refusal, but a 500/502/504 may have executed the request.
      retry = safe;
      if (auto ra = r.headers.Get("Retry-After")) {
        retry_after = ParseRetryAfter(*ra, static_cast<int64_t>(std::time(nullptr)));
      } else if (auto ms = r.headers.Get("x-ms-retry-after-ms")) {
        retry_after = std::chrono::milliseconds(std::atoll(ms->c_str()));
      }
    } else {
      const Status& st = result.status();
      ev.cause = st.ToString();
      bool transient = st.code() == ErrorCode::kUnavailable || st.code() == ErrorCode::kTimeout;
      auto d = st.details();
      if (d.count("retryable") && d.at("retryable") == "false") transient = false;
      bool not_sent = d.count("request_sent") && d.at("request_sent") == "false";
      retry = transient && (safe || not_sent);
    }
    if (!retry || attempt >= max_attempts) {
      if (attempt > 1 && !result.ok()) {
        Status st = result.status();
        st.Prepend("after " + std::to_string(attempt) + " attempts");
        return st;
      }
      return result;
    }
    if (retry_after) {
      ev.delay = Clamp(*retry_after, p.max_retry_after);
      ev.from_retry_after = true;
    } else {
      if (!rng) rng.emplace(p.seed != 0 ? p.seed : std::random_device{}());
      ev.delay = BackoffDelay(p, attempt, uniform(*rng));
    }
    if (LogEnabled(LogLevel::kDebug)) {
      Log(LogLevel::kDebug, "http: " + DescribeRequest(request) + " attempt " + std::to_string(attempt) +
                                " failed (" + ev.cause + "); retrying in " + std::to_string(ev.delay.count()) +
                                " ms" + (ev.from_retry_after ? " (Retry-After)" : ""));
    }
    if (options.on_retry) options.on_retry(ev);
    sleep(ev.delay);
  }
}

std::vector<Result<Response>> SendAllWithRetry(Transport& transport, const std::vector<Request>& requests,
                                               auth::Authorizer* authorizer, const RetryOptions& options) {
  std::vector<Result<Response>> results(requests.size(), Result<Response>(Status::Internal("not sent")));
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < requests.size(); i = next++) {
      results[i] = SendWithRetry(transport, requests[i], authorizer, options);
    }
  };
  size_t n = std::min<size_t>(requests.size(), static_cast<size_t>(std::max(1, transport.parallelism())));
  std::vector<std::thread> threads;
  for (size_t t = 1; t < n; ++t) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  return results;
}

}  // namespace nic::http

// The retry policy against a local server that fails before it succeeds. Asserts attempt
// counts, the order of decisions and that Retry-After was waited for (a lower bound on the
// gap the server saw), never how fast anything ran.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "nic/fault_transport.h"
#include "nic/retry.h"
#include "tests/support/local_http_server.h"

namespace nic {
namespace {

using std::chrono::milliseconds;
using testing::LocalHttpServer;
using testing::ReceivedRequest;
using testing::ScriptedResponse;

// Answers the scripted responses in order, then 200 "ok".
LocalHttpServer::Handler Script(std::vector<ScriptedResponse> script) {
  auto state = std::make_shared<std::pair<std::vector<ScriptedResponse>, size_t>>(std::move(script), 0);
  return [state](const ReceivedRequest&) {
    if (state->second < state->first.size()) return state->first[state->second++];
    return ScriptedResponse{200, {}, "ok", false};
  };
}

http::RetryOptions FastRetries(std::vector<http::RetryEvent>* events) {
  http::RetryOptions o;
  o.policy.base_delay = milliseconds(5);
  o.policy.max_delay = milliseconds(40);
  o.policy.seed = 7;
  o.on_retry = [events](const http::RetryEvent& e) { events->push_back(e); };
  return o;
}

http::Request Get(const LocalHttpServer& s, const std::string& path = "/obj") {
  http::Request r;
  r.url = s.url(path);
  r.service = "test";
  return r;
}

TEST(Retry, Retries503And429WithoutRetryAfterThenSucceeds) {
  LocalHttpServer server(Script({{503, {}, "busy", false}, {429, {}, "slow down", false}, {503, {}, "", false}}));
  auto t = http::NewCurlTransport();
  std::vector<http::RetryEvent> events;
  auto r = http::SendWithRetry(*t, Get(server), nullptr, FastRetries(&events));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "ok");
  EXPECT_EQ(server.request_count(), 4u);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].http_status, 503);
  EXPECT_EQ(events[1].http_status, 429);
  EXPECT_EQ(events[2].http_status, 503);
  for (const auto& e : events) {
    EXPECT_FALSE(e.from_retry_after);
    EXPECT_LE(e.delay, milliseconds(40));  // capped full jitter
  }
}

TEST(Retry, HonoursRetryAfterSecondsOn429And503) {
  LocalHttpServer server(Script({{429, {{"Retry-After", "1"}}, "", false}, {503, {{"Retry-After", "1"}}, "", false}}));
  auto t = http::NewCurlTransport();
  std::vector<http::RetryEvent> events;
  auto r = http::SendWithRetry(*t, Get(server), nullptr, FastRetries(&events));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  auto reqs = server.requests();
  ASSERT_EQ(reqs.size(), 3u);
  ASSERT_EQ(events.size(), 2u);
  for (const auto& e : events) {
    EXPECT_TRUE(e.from_retry_after);
    EXPECT_EQ(e.delay, milliseconds(1000));
  }
  // The server saw each retry at least a second after the refusal.
  EXPECT_GE(reqs[1].at - reqs[0].at, milliseconds(990));
  EXPECT_GE(reqs[2].at - reqs[1].at, milliseconds(990));
}

TEST(Retry, RetryAfterIsCapped) {
  LocalHttpServer server(Script({{503, {{"Retry-After", "3600"}}, "", false}}));
  auto t = http::NewCurlTransport();
  std::vector<http::RetryEvent> events;
  auto opts = FastRetries(&events);
  opts.policy.max_retry_after = milliseconds(50);
  auto r = http::SendWithRetry(*t, Get(server), nullptr, opts);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].delay, milliseconds(50));
}

TEST(Retry, GivesUpAfterMaxAttemptsAndReturnsLastResponse) {
  LocalHttpServer server([](const ReceivedRequest&) { return ScriptedResponse{503, {}, "down", false}; });
  auto t = http::NewCurlTransport();
  std::vector<http::RetryEvent> events;
  auto opts = FastRetries(&events);
  opts.policy.max_attempts = 3;
  auto r = http::SendWithRetry(*t, Get(server), nullptr, opts);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(server.request_count(), 3u);
  EXPECT_EQ(events.size(), 2u);
}

TEST(Retry, ThrottlingCodeIn400IsRetried) {
  LocalHttpServer server(Script(
      {{400, {}, "<ErrorResponse><Error><Code>Throttling</Code><Message>Rate exceeded</Message></Error></ErrorResponse>", false},
       {400, {{"Content-Type", "application/x-amz-json-1.0"}},
        R"({"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"x"})", false},
       {503, {{"x-ms-error-code", "ServerBusy"}}, "", false}}));
  auto t = http::NewCurlTransport();
  std::vector<http::RetryEvent> events;
  auto r = http::SendWithRetry(*t, Get(server), nullptr, FastRetries(&events));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].cause, "HTTP 400 Throttling");
  EXPECT_EQ(events[1].cause, "HTTP 400 ProvisionedThroughputExceededException");
  EXPECT_EQ(events[2].cause, "HTTP 503 ServerBusy");
}

TEST(Retry, PlainClientErrorIsNotRetried) {
  LocalHttpServer server(Script({{400, {}, "<Error><Code>InvalidBucketName</Code></Error>", false}}));
  auto t = http::NewCurlTransport();
  std::vector<http::RetryEvent> events;
  auto r = http::SendWithRetry(*t, Get(server), nullptr, FastRetries(&events));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(server.request_count(), 1u);
  EXPECT_TRUE(events.empty());
}

TEST(Retry, NonIdempotentPostIsNotRetriedUnlessMadeSafe) {
  LocalHttpServer server([](const ReceivedRequest&) { return ScriptedResponse{503, {}, "", false}; });
  auto t = http::NewCurlTransport();
  std::vector<http::RetryEvent> events;
  http::Request post = Get(server);
  post.method = "POST";
  post.body = "x=1";
  auto r = http::SendWithRetry(*t, post, nullptr, FastRetries(&events));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(server.request_count(), 1u);
  EXPECT_TRUE(events.empty());

  // A precondition makes the same POST safe to repeat.
  http::Request conditional = post;
  conditional.headers.Set("If-Match", "\"etag\"");
  auto opts = FastRetries(&events);
  opts.policy.max_attempts = 3;
  r = http::SendWithRetry(*t, conditional, nullptr, opts);
  EXPECT_EQ(server.request_count(), 4u);
  // So does the caller vouching for it (client token, read-only action).
  http::Request token = post;
  token.retry = http::RetryMode::kSafe;
  r = http::SendWithRetry(*t, token, nullptr, opts);
  EXPECT_EQ(server.request_count(), 7u);
  EXPECT_FALSE(http::IsRetrySafe(post));
  EXPECT_TRUE(http::IsRetrySafe(conditional));
  http::Request gcs = post;
  gcs.url += "?ifGenerationMatch=0";
  EXPECT_TRUE(http::IsRetrySafe(gcs));
}

TEST(Retry, ConnectionResetAndTimeoutAreRetried) {
  std::atomic<int> n{0};
  LocalHttpServer server([&](const ReceivedRequest&) {
    int i = n++;
    if (i == 0) return ScriptedResponse{0, {}, "", true};  // reset
    if (i == 1) {
      // Longer than the request timeout, yet well inside the retry's own timeout: the server
      // answers one connection at a time, so the retry is served once this answer is gone.
      std::this_thread::sleep_for(milliseconds(1300));
      return ScriptedResponse{200, {}, "late", false};
    }
    return ScriptedResponse{200, {}, "ok", false};
  });
  auto t = http::NewCurlTransport();
  std::vector<http::RetryEvent> events;
  http::Request req = Get(server);
  req.timeout = milliseconds(1000);
  auto r = http::SendWithRetry(*t, req, nullptr, FastRetries(&events));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "ok");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].http_status, 0);
  EXPECT_NE(events[0].cause.find("UNAVAILABLE"), std::string::npos) << events[0].cause;
  EXPECT_NE(events[1].cause.find("TIMEOUT"), std::string::npos) << events[1].cause;
}

TEST(Retry, ConnectionRefusedIsUnavailableAndNamesTheEndpoint) {
  auto t = http::NewCurlTransport();
  http::Request req;
  req.url = "http://127.0.0.1:1/state";  // nothing listens on port 1
  req.service = "s3";
  std::vector<http::RetryEvent> events;
  auto opts = FastRetries(&events);
  opts.policy.max_attempts = 2;
  auto r = http::SendWithRetry(*t, req, nullptr, opts);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(r.status().message().find("s3 GET http://127.0.0.1:1/state"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("after 2 attempts"), std::string::npos) << r.status().message();
}

TEST(Retry, ParseRetryAfterAndBackoffMath) {
  EXPECT_EQ(http::ParseRetryAfter("2", 0), milliseconds(2000));
  EXPECT_EQ(http::ParseRetryAfter(" 0 ", 0), milliseconds(0));
  EXPECT_FALSE(http::ParseRetryAfter("soon", 0).has_value());
  // Sun, 06 Nov 1994 08:49:37 GMT is 784111777.
  EXPECT_EQ(http::ParseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 - 5), milliseconds(5000));
  EXPECT_EQ(http::ParseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", 784111777 + 50), milliseconds(0));
  http::RetryPolicy p;
  p.base_delay = milliseconds(100);
  p.max_delay = milliseconds(1000);
  EXPECT_EQ(http::BackoffDelay(p, 1, 0.5), milliseconds(50));
  EXPECT_EQ(http::BackoffDelay(p, 3, 0.5), milliseconds(200));
  EXPECT_EQ(http::BackoffDelay(p, 10, 0.999), milliseconds(999));
  EXPECT_EQ(http::BackoffDelay(p, 10, 0.0), milliseconds(0));
}

TEST(Retry, InsecureHttpToRemoteHostIsRefused) {
  auto t = http::NewCurlTransport();
  http::Request req;
  req.url = "http://example.com/x";
  auto r = t->Send(req);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kRefused);
}

TEST(FaultInjection, DeterministicAndAbsorbedByRetries) {
  LocalHttpServer server([](const ReceivedRequest&) { return ScriptedResponse{200, {}, "ok", false}; });
  auto real = http::NewCurlTransport();
  auto run = [&](uint64_t seed) {
    http::FaultOptions fo;
    fo.seed = seed;
    fo.rate = 0.4;
    fo.kinds = {http::Fault::kUnavailable503, http::Fault::kThrottle429, http::Fault::kConnectionReset,
                http::Fault::kTimeout, http::Fault::kServerError500, http::Fault::kSlow};
    fo.slow_delay = milliseconds(1);
    http::FaultInjectingTransport faulty(real.get(), fo);
    http::RetryOptions ro;
    ro.policy.max_attempts = 20;
    ro.policy.sleep = [](milliseconds) {};  // no waiting: this test is about outcomes
    for (int i = 0; i < 30; ++i) {
      auto r = http::SendWithRetry(faulty, Get(server), nullptr, ro);
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      if (r.ok()) {
        EXPECT_EQ(r->status, 200);
      }
    }
    return faulty.counts();
  };
  auto a = run(42);
  auto b = run(42);
  EXPECT_EQ(a, b);  // same seed, same faults
  int injected = 0;
  for (const auto& [f, c] : a) injected += c;
  EXPECT_GT(injected, 0);
}

TEST(FaultInjection, ScriptedFaults) {
  LocalHttpServer server([](const ReceivedRequest&) { return ScriptedResponse{200, {}, "ok", false}; });
  auto real = http::NewCurlTransport();
  http::FaultOptions fo;
  fo.script = {http::Fault::kConnectionRefused, http::Fault::kGatewayTimeout504, http::Fault::kNone};
  http::FaultInjectingTransport faulty(real.get(), fo);
  auto r1 = faulty.Send(Get(server));
  ASSERT_FALSE(r1.ok());
  EXPECT_EQ(r1.status().details().at("request_sent"), "false");
  auto r2 = faulty.Send(Get(server));
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->status, 504);
  auto r3 = faulty.Send(Get(server));
  ASSERT_TRUE(r3.ok());
  EXPECT_EQ(r3->status, 200);
  EXPECT_EQ(server.request_count(), 1u);
  EXPECT_EQ(faulty.injected(), 2);
}

TEST(Transport, SendAllRunsEveryRequestInOrder) {
  LocalHttpServer server([](const ReceivedRequest& r) { return ScriptedResponse{200, {}, r.target, false}; });
  http::TransportOptions to;
  to.parallelism = 4;
  auto t = http::NewCurlTransport(to);
  std::vector<http::Request> reqs;
  for (int i = 0; i < 20; ++i) reqs.push_back(Get(server, "/item/" + std::to_string(i)));
  auto results = t->SendAll(reqs);
  ASSERT_EQ(results.size(), 20u);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(results[i].ok()) << results[i].status().ToString();
    EXPECT_EQ(results[i]->body, "/item/" + std::to_string(i));
  }
  auto retried = http::SendAllWithRetry(*t, reqs);
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(retried[i].ok() && retried[i]->status == 200);
  EXPECT_EQ(server.request_count(), 40u);
}

TEST(Transport, HeadersAreCaseInsensitiveAndBodyIsNotFormEncoded) {
  LocalHttpServer server([](const ReceivedRequest& r) {
    std::string ct = r.headers.count("content-type") ? r.headers.at("content-type") : "<none>";
    return ScriptedResponse{201, {{"X-Custom-Thing", "v1"}, {"ETag", "\"abc\""}}, ct + "|" + r.body, false};
  });
  auto t = http::NewCurlTransport();
  http::Request put = Get(server, "/b/k");
  put.method = "PUT";
  put.body = "a=b&c";
  auto r = t->Send(put);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, "<none>|a=b&c");  // libcurl's form content type suppressed
  EXPECT_EQ(r->Header("x-custom-thing").value_or(""), "v1");
  EXPECT_EQ(r->Header("etag").value_or(""), "\"abc\"");
}

}  // namespace
}  // namespace nic

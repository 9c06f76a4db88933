// Hostile HTTP answers through the real curl transport: a 1 GB Content-Length, a body streamed
// without end, and JSON error bodies nested 100k levels deep. Each ends in a clear error with
// bounded memory, never a crash or a read to the end.
#include <gtest/gtest.h>

#include <string>

#include "nic/aws_error.h"
#include "nic/http.h"
#include "nic/retry.h"
#include "nic/xml.h"
#include "tests/support/endless_http_server.h"

namespace nic {
namespace {

constexpr uint64_t kGiB = uint64_t{1} << 30;
constexpr uint64_t kMiB = uint64_t{1} << 20;

http::Request Get(const std::string& url) {
  http::Request r;
  r.url = url;
  r.service = "s3";
  return r;
}

TEST(HostileResponse, OneGigabyteContentLengthIsRefusedBeforeTheBody) {
  testing::EndlessHttpServer server("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1073741824", kGiB);
  auto transport = http::NewCurlTransport();  // the default limit, 256 MiB
  auto r = transport->Send(Get(server.url("/bucket/nic-state.json")));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidInput);
  const std::string& m = r.status().message();
  EXPECT_NE(m.find("s3 GET http://127.0.0.1"), std::string::npos) << m;
  EXPECT_NE(m.find("larger than the 268435456-byte limit"), std::string::npos) << m;
  EXPECT_NE(m.find("Content-Length: 1073741824"), std::string::npos) << m;
  EXPECT_EQ(r.status().details().at("retryable"), "false");
  // The client hung up instead of reading: only what the sockets buffer ever left the server.
  EXPECT_LT(server.BodyBytesSent(), 64 * kMiB);
}

TEST(HostileResponse, EndlessBodyWithoutLengthIsCutAtTheLimit) {
  testing::EndlessHttpServer server("HTTP/1.1 200 OK\r\nConnection: close", kGiB);
  http::TransportOptions o;
  o.max_response_bytes = 4 * kMiB;
  auto transport = http::NewCurlTransport(o);
  auto r = transport->Send(Get(server.url("/bucket/key")));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidInput);
  EXPECT_NE(r.status().message().find("larger than the 4194304-byte limit"), std::string::npos) << r.status().message();
  uint64_t sent = server.BodyBytesSent();
  EXPECT_GE(sent, 4 * kMiB);        // it really streamed past the limit...
  EXPECT_LT(sent, 4 * kMiB + 64 * kMiB);  // ...and the client stopped soon after
}

TEST(HostileResponse, ABodyWithinTheLimitArrivesWhole) {
  testing::EndlessHttpServer server("HTTP/1.1 200 OK\r\nContent-Length: 3145728\r\nConnection: close", 3 * kMiB);
  http::TransportOptions o;
  o.max_response_bytes = 4 * kMiB;
  auto r = http::NewCurlTransport(o)->Send(Get(server.url("/k")));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body.size(), 3 * kMiB);
}

TEST(HostileResponse, DeeplyNestedErrorBodiesGiveNoCodeAndNoCrash) {
  http::Request req = Get("https://s3.amazonaws.com/b/k");
  http::Response resp;
  resp.status = 500;
  resp.body = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_EQ(http::CloudErrorCode(resp), "");
  auto e = aws::ErrorStatus(req, resp);
  EXPECT_EQ(e.code(), ErrorCode::kUnavailable);  // 5xx, by status since the body says nothing
  resp.body = "{\"error\": " + std::string(100000, '{');
  EXPECT_EQ(http::CloudErrorCode(resp), "");
  // XML too: the reader stops at its depth limit.
  std::string deep_xml;
  for (int i = 0; i < 100000; ++i) deep_xml += "<Error>";
  resp.body = deep_xml;
  EXPECT_EQ(http::CloudErrorCode(resp), "");
  EXPECT_FALSE(xml::Parse(deep_xml).ok());
  EXPECT_EQ(aws::ParseError(resp).code, "");
}

}  // namespace
}  // namespace nic

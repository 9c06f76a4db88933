// The Kubernetes transport bounds response bodies like the shared transport: a claimed 1 GB
// Content-Length and an endless body both end in a clear error without reading them.
#include <gtest/gtest.h>

#include "nic/kubeconfig.h"
#include "providers/kubernetes/kube_transport.h"
#include "tests/support/endless_http_server.h"

namespace nic {
namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;

TEST(KubeTransportLimits, HugeAndEndlessBodiesAreRefused) {
  for (bool declared : {true, false}) {
    std::string head = declared ? "HTTP/1.1 200 OK\r\nContent-Length: 1073741824" : "HTTP/1.1 200 OK\r\nConnection: close";
    testing::EndlessHttpServer server(head, 1024 * kMiB);
    auto conn = kube::DirectConnection(server.url(""), "", "token");
    ASSERT_TRUE(conn.ok()) << conn.status().ToString();
    kubeprov::KubeTransportOptions o;
    o.max_response_bytes = 2 * kMiB;
    auto transport = kubeprov::NewKubeTransport(*conn, o);
    http::Request req;
    req.url = server.url("/api/v1/namespaces");
    req.service = "kubernetes";
    auto r = transport->Send(req);
    ASSERT_FALSE(r.ok()) << declared;
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidInput);
    EXPECT_NE(r.status().message().find("larger than the 2097152-byte limit"), std::string::npos) << r.status().message();
    EXPECT_LT(server.BodyBytesSent(), 66 * kMiB) << declared;
  }
}

}  // namespace
}  // namespace nic

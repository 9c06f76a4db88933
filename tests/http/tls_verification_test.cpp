// TLS verification cannot be turned off silently. The shared curl transport has no switch for it
// at all: it verifies peer and host on every https request, loopback included (the most
// permissive case, so a non-loopback endpoint is verified too); trust is extended only by naming
// a CA bundle. The one transport-security relaxation it has, plain http to non-loopback hosts,
// needs an explicit option and logs a warning. (The Kubernetes transport's kubeconfig
// insecure-skip-tls-verify is tested in tests/kubernetes.)
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "nic/http.h"
#include "nic/log.h"
#include "tests/support/python_server.h"
#include "tests/support/test_util.h"

namespace nic {
namespace {

struct Warnings {
  std::vector<std::string> lines;
  static void Sink(LogLevel level, const std::string& line, void* arg) {
    if (level == LogLevel::kWarn) static_cast<Warnings*>(arg)->lines.push_back(line);
  }
};

class TlsVerification : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    auto gen = testing::RunProcess({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                                    dir_->File("key.pem"), "-out", dir_->File("cert.pem"), "-days", "1", "-subj",
                                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"});
    ASSERT_EQ(gen.exit_code, 0) << gen.err;
    // Any HTTPS server does; the Kubernetes stand-in can serve TLS with a given certificate.
    auto s = testing::PythonServer::Start("k8s_server.py",
                                          {"--tls-cert", dir_->File("cert.pem"), "--tls-key", dir_->File("key.pem")});
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    server_ = std::move(s).value().release();
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete dir_;
    dir_ = nullptr;
  }
  static std::string HttpsUrl() { return "https://127.0.0.1:" + std::to_string(server_->port()) + "/version"; }
  static http::Request Get() {
    http::Request r;
    r.url = HttpsUrl();
    r.service = "s3";
    return r;
  }

  static testing::TempDir* dir_;
  static testing::PythonServer* server_;
};
testing::TempDir* TlsVerification::dir_ = nullptr;
testing::PythonServer* TlsVerification::server_ = nullptr;

TEST_F(TlsVerification, AnUntrustedCertificateFailsEvenOnLoopback) {
  http::TransportOptions o;
  o.ca_bundle = "/etc/ssl/certs/ca-certificates.crt";  // the system roots, whatever SSL_CERT_FILE says
  auto r = http::NewCurlTransport(o)->Send(Get());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(r.status().message().find("TLS failure"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("SSL_CERT_FILE"), std::string::npos) << r.status().message();
  EXPECT_EQ(r.status().details().at("retryable"), "false");
}

TEST_F(TlsVerification, NamingTheCaTrustsItWithVerificationStillOn) {
  http::TransportOptions o;
  o.ca_bundle = dir_->File("cert.pem");
  Warnings w;
  SetLogSinkForTest(&Warnings::Sink, &w);
  auto r = http::NewCurlTransport(o)->Send(Get());
  SetLogSinkForTest(nullptr, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(w.lines.empty());
  // Host verification is on as well: the certificate is for IP 127.0.0.1, not for "localhost".
  http::Request by_name = Get();
  by_name.url = "https://localhost:" + std::to_string(server_->port()) + "/version";
  auto wrong_name = http::NewCurlTransport(o)->Send(by_name);
  ASSERT_FALSE(wrong_name.ok());
  EXPECT_NE(wrong_name.status().message().find("TLS failure"), std::string::npos) << wrong_name.status().message();
}

TEST(InsecureTransport, PlainHttpToARemoteHostNeedsTheFlagAndAlwaysWarns) {
  Warnings w;
  SetLogSinkForTest(&Warnings::Sink, &w);
  auto strict = http::NewCurlTransport();
  http::Request r;
  r.url = "http://192.0.2.10/bucket/key";  // TEST-NET-1: never reached
  r.service = "s3";
  auto refused = strict->Send(r);
  EXPECT_TRUE(w.lines.empty());
  http::TransportOptions o;
  o.allow_insecure_http = true;
  auto lax = http::NewCurlTransport(o);
  SetLogSinkForTest(nullptr, nullptr);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), ErrorCode::kRefused);
  ASSERT_EQ(w.lines.size(), 1u);
  EXPECT_NE(w.lines[0].find("unencrypted"), std::string::npos) << w.lines[0];
}

}  // namespace
}  // namespace nic

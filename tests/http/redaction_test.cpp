// The redaction canary: secrets of every kind go through signing, requests, retries, failures
// and token exchanges with NIC_LOG=debug; no log line and no error message may contain them.
#include <gtest/gtest.h>

#include <cstdlib>
#include <mutex>

#include "nic/aws_auth.h"
#include "nic/aws_error.h"
#include "nic/azure_auth.h"
#include "nic/gcp_auth.h"
#include "nic/log.h"
#include "nic/retry.h"
#include "tests/support/local_http_server.h"

namespace nic {
namespace {

using testing::LocalHttpServer;
using testing::ReceivedRequest;
using testing::ScriptedResponse;

const char* const kAwsSecret = "CANARYawsSecretKey0123456789abcdefghijklmn";
const char* const kAwsSession = "CANARYawsSessionToken";
const char* const kSasSig = "CANARYsasSignature";
const char* const kBearer = "CANARYbearerToken";
const char* const kClientSecret = "CANARYclientSecret";
const char* const kIssuedToken = "CANARYissuedAccessToken";
const char* const kStsSecret = "CANARYstsSecret";

struct Capture {
  std::mutex mu;
  std::vector<std::string> lines;
  static void Sink(LogLevel, const std::string& line, void* arg) {
    auto* c = static_cast<Capture*>(arg);
    std::lock_guard<std::mutex> lock(c->mu);
    c->lines.push_back(line);
  }
};

class RedactionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* old = std::getenv("NIC_LOG");
    old_log_ = old != nullptr ? old : "";
    setenv("NIC_LOG", "debug", 1);
    SetLogSinkForTest(&Capture::Sink, &capture_);
  }
  void TearDown() override {
    SetLogSinkForTest(nullptr, nullptr);
    if (old_log_.empty()) {
      unsetenv("NIC_LOG");
    } else {
      setenv("NIC_LOG", old_log_.c_str(), 1);
    }
  }
  void CheckClean(const std::string& text, const std::string& what) {
    for (const char* canary : {kAwsSecret, kAwsSession, kSasSig, kBearer, kClientSecret, kIssuedToken, kStsSecret}) {
      EXPECT_EQ(text.find(canary), std::string::npos) << what << " leaks " << canary << ":\n" << text;
    }
    for (size_t p = text.find("Signature="); p != std::string::npos; p = text.find("Signature=", p + 1)) {
      EXPECT_EQ(text.compare(p, 18, "Signature=REDACTED"), 0) << what << " leaks a SigV4 signature:\n" << text;
    }
    for (size_t p = text.find("SharedKey devstoreaccount1:"); p != std::string::npos;
         p = text.find("SharedKey devstoreaccount1:", p + 1)) {
      EXPECT_EQ(text.compare(p, 35, "SharedKey devstoreaccount1:REDACTED"), 0) << what << " leaks a SharedKey signature";
    }
  }
  Capture capture_;
  std::string old_log_;
};

TEST_F(RedactionTest, NoSecretInLogsOrErrors) {
  int calls = 0;
  LocalHttpServer server([&](const ReceivedRequest& r) {
    ++calls;
    if (r.target.rfind("/token", 0) == 0) {
      // Token endpoints: answer with a token (which must not be logged from the response).
      return ScriptedResponse{200, {{"Content-Type", "application/json"}},
                              std::string(R"({"access_token":")") + kIssuedToken + R"(","expires_in":3600})", false};
    }
    if (r.target == "/sts/") {
      return ScriptedResponse{200, {}, std::string("<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIA1"
                                                   "</AccessKeyId><SecretAccessKey>") + kStsSecret +
                                           "</SecretAccessKey><SessionToken>t</SessionToken></Credentials>"
                                           "</AssumeRoleResult></AssumeRoleResponse>", false};
    }
    if (calls % 2 == 1) return ScriptedResponse{503, {{"Retry-After", "0"}}, "", false};  // exercise retry logs
    return ScriptedResponse{403, {{"x-amzn-ErrorType", "AccessDeniedException"}},
                            R"({"__type":"AccessDeniedException","message":"denied"})", false};
  });
  auto t = http::NewCurlTransport();
  std::vector<std::string> errors;

  // AWS SigV4 with a session token, with a retry and a final error.
  auto creds = std::make_shared<aws::StaticCredentials>(
      aws::Credentials{"AKIDCANARYVISIBLE", kAwsSecret, kAwsSession, 0, "test"});
  aws::SigV4Authorizer signer(creds, {"us-east-1", "dynamodb", false, false, 0});
  auto ddb = aws::JsonRequest(server.url(), "DynamoDB_20120810.GetItem", "{}");
  ddb.service = "dynamodb";
  auto r = http::SendWithRetry(*t, ddb, &signer);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 403);
  errors.push_back(aws::ErrorStatus(ddb, *r).ToString());

  // Azure SharedKey and a SAS in the URL.
  azure::StorageAccount acct{"devstoreaccount1", azure::kDevAccountKey, "", server.url("/devstoreaccount1")};
  azure::StorageAuthorizer shared_key(acct);
  http::Request blob;
  blob.url = acct.blob_endpoint + "/c/b";
  blob.service = "azure-blob";
  r = http::SendWithRetry(*t, blob, &shared_key);
  ASSERT_TRUE(r.ok());
  errors.push_back(azure::StorageErrorStatus(blob, *r).ToString());
  azure::StorageAccount sas_acct{"devstoreaccount1", "", std::string("sv=2021-12-02&sp=r&sig=") + kSasSig, acct.blob_endpoint};
  azure::StorageAuthorizer sas(sas_acct);
  r = http::SendWithRetry(*t, blob, &sas);
  ASSERT_TRUE(r.ok());
  http::Request sas_req = blob;
  ASSERT_TRUE(sas.Authorize(sas_req).ok());
  errors.push_back(azure::StorageErrorStatus(sas_req, *r).ToString());

  // Bearer tokens: a fixed one, and ones minted by Entra and Google token endpoints.
  auto fixed = std::make_shared<auth::CachedTokenSource>(gcp::NewStaticTokenSource(kBearer));
  auth::BearerAuthorizer bearer(fixed);
  r = http::SendWithRetry(*t, blob, &bearer);
  ASSERT_TRUE(r.ok());
  errors.push_back(http::StatusFromResponse(blob, *r).ToString());
  azure::EntraOptions eo{"tenant", "client", kClientSecret, server.url(""), azure::kArmScope};
  eo.authority_host = server.url("/token");
  auto entra = azure::NewEntraClientCredentials(eo, t.get())->Fetch();
  ASSERT_TRUE(entra.ok()) << entra.status().ToString();
  EXPECT_EQ(entra->token, kIssuedToken);

  // Assume-role: the STS response carries a secret key.
  auto sts_creds = std::make_shared<aws::StaticCredentials>(aws::Credentials{"AKIDSRC", kAwsSecret, "", 0, "t"});
  aws::SigV4Authorizer sts_signer(sts_creds, {"us-east-1", "sts", false, false, 0});
  auto sts = aws::QueryRequest(server.url("/sts"), "AssumeRole", "2011-06-15", {{"RoleArn", "arn:aws:iam::1:role/r"}});
  r = http::SendWithRetry(*t, sts, &sts_signer);
  ASSERT_TRUE(r.ok());

  // A transport failure with secret-bearing headers and URL.
  http::Request dead = sas_req;
  dead.url = "http://127.0.0.1:1/c/b?sv=1&sig=" + std::string(kSasSig);
  ASSERT_TRUE(signer.Authorize(dead).ok());
  http::RetryOptions once;
  once.policy.max_attempts = 1;
  auto failed = http::SendWithRetry(*t, dead, &signer, once);
  ASSERT_FALSE(failed.ok());
  errors.push_back(failed.status().ToString());

  std::string all_logs;
  {
    std::lock_guard<std::mutex> lock(capture_.mu);
    for (const auto& l : capture_.lines) all_logs += l + "\n";
    EXPECT_GE(capture_.lines.size(), 8u);
  }
  // The logs are useful, not empty: they show requests, retries and that redaction happened.
  EXPECT_NE(all_logs.find("dynamodb POST"), std::string::npos) << all_logs;
  EXPECT_NE(all_logs.find("retrying in"), std::string::npos) << all_logs;
  EXPECT_NE(all_logs.find("Signature=REDACTED"), std::string::npos) << all_logs;
  EXPECT_NE(all_logs.find("Authorization: SharedKey devstoreaccount1:REDACTED"), std::string::npos) << all_logs;
  EXPECT_NE(all_logs.find("Authorization: Bearer REDACTED"), std::string::npos) << all_logs;
  EXPECT_NE(all_logs.find("X-Amz-Security-Token: REDACTED"), std::string::npos) << all_logs;
  EXPECT_NE(all_logs.find("sig=REDACTED"), std::string::npos) << all_logs;
  EXPECT_NE(all_logs.find("AKIDCANARYVISIBLE"), std::string::npos) << "access key ids are not secret and help debugging";
  CheckClean(all_logs, "debug log");
  for (const auto& e : errors) CheckClean(e, "error message");
}

TEST(Redaction, UrlAndHeaderHelpers) {
  EXPECT_EQ(http::RedactUrl("https://a/b?sv=1&sig=abc%2B&sp=r"), "https://a/b?sv=1&sig=REDACTED&sp=r");
  EXPECT_EQ(http::RedactUrl("https://a/b?X-Amz-Signature=ff&X-Amz-Credential=AK%2F1&x=1"),
            "https://a/b?X-Amz-Signature=REDACTED&X-Amz-Credential=REDACTED&x=1");
  EXPECT_EQ(http::RedactUrl("https://a/b"), "https://a/b");
  http::Headers h;
  h.Set("authorization", "Bearer x");
  h.Set("X-Amz-Security-Token", "y");
  h.Set("Content-Type", "text/plain");
  EXPECT_EQ(http::RedactHeaders(h), "authorization: Bearer REDACTED; X-Amz-Security-Token: REDACTED; Content-Type: text/plain");
  http::Headers aws;
  aws.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=abcdef");
  EXPECT_EQ(http::RedactHeaders(aws),
            "Authorization: AWS4-HMAC-SHA256 Credential=AK/20150830/us-east-1/s3/aws4_request, SignedHeaders=host, "
            "Signature=REDACTED");
}

}  // namespace
}  // namespace nic

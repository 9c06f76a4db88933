// SigV4 proven against moto_server with signature verification on (auth mode): correctly signed
// S3, DynamoDB and EC2 requests succeed; a wrong secret is rejected with a clear error.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "nic/aws_auth.h"
#include "nic/aws_error.h"
#include "nic/retry.h"
#include "nic/xml.h"
#include "tests/support/moto_server.h"

namespace nic {
namespace {

constexpr const char* kRegion = "us-east-1";

class MotoAuthTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    testing::MotoOptions opts;
    // create-user, put-user-policy, create-access-key run before auth is switched on.
    opts.initial_no_auth_action_count = 3;
    auto m = testing::MotoServer::Start(opts);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    moto_ = std::move(m).value().release();
    transport_ = http::NewCurlTransport().release();

    // Bootstrap requests: moto routes by the credential scope, so sign them (with anything) as IAM.
    auto bootstrap = std::make_shared<aws::StaticCredentials>(aws::Credentials{"AKIDBOOTSTRAP", "bootstrap", "", 0, "test"});
    aws::SigV4Authorizer iam(bootstrap, {kRegion, "iam", false, false, 0});
    std::string ep = moto_->endpoint();
    auto send = [&](const http::Request& r) {
      auto resp = http::SendWithRetry(*transport_, r, &iam);
      EXPECT_TRUE(resp.ok()) << resp.status().ToString();
      EXPECT_EQ(resp->status, 200) << resp->body;
      return resp.ok() ? resp->body : std::string();
    };
    send(aws::QueryRequest(ep, "CreateUser", "2010-05-08", {{"UserName", "ci"}}));
    send(aws::QueryRequest(ep, "PutUserPolicy", "2010-05-08",
                           {{"UserName", "ci"},
                            {"PolicyName", "all"},
                            {"PolicyDocument",
                             R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]})"}}));
    std::string body = send(aws::QueryRequest(ep, "CreateAccessKey", "2010-05-08", {{"UserName", "ci"}}));
    auto doc = xml::Parse(body);
    ASSERT_TRUE(doc.ok()) << doc.status().ToString();
    const xml::Node* key = doc->Find("AccessKey");
    ASSERT_NE(key, nullptr) << body;
    good_ = aws::Credentials{key->ChildText("AccessKeyId"), key->ChildText("SecretAccessKey"), "", 0, "moto"};
    ASSERT_FALSE(good_.access_key_id.empty());
  }

  static void TearDownTestSuite() {
    delete transport_;
    delete moto_;
  }

  Result<http::Response> Send(http::Request req, const aws::Credentials& creds, const std::string& service,
                              bool s3 = false) {
    auto provider = std::make_shared<aws::StaticCredentials>(creds);
    aws::SigV4Authorizer signer(provider, {kRegion, service, s3, false, 0});
    req.service = service;
    return http::SendWithRetry(*transport_, req, &signer);
  }

  static aws::Credentials WrongSecret() {
    aws::Credentials c = good_;
    c.secret_access_key = "wrong-" + c.secret_access_key;
    return c;
  }

  static testing::MotoServer* moto_;
  static http::Transport* transport_;
  static aws::Credentials good_;
};

testing::MotoServer* MotoAuthTest::moto_ = nullptr;
http::Transport* MotoAuthTest::transport_ = nullptr;
aws::Credentials MotoAuthTest::good_;

TEST_F(MotoAuthTest, S3SignedPutGetAndWrongSecretRejected) {
  std::string ep = moto_->endpoint();
  http::Request create;
  create.method = "PUT";
  create.url = ep + "/nic-auth-bucket";
  auto r = Send(create, good_, "s3", true);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->status, 200) << r->body;

  http::Request put;
  put.method = "PUT";
  put.url = aws::S3ObjectUrl(ep, "nic-auth-bucket", "state/env dev.json");
  put.headers.Set("Content-Type", "application/octet-stream");
  put.headers.Set("If-None-Match", "*");
  put.body = R"({"serial":1})";
  r = Send(put, good_, "s3", true);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->status, 200) << r->body;

  http::Request get;
  get.url = put.url;
  r = Send(get, good_, "s3", true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, put.body);

  // The same GET with a wrong secret: 403 SignatureDoesNotMatch, mapped to kUnauthenticated.
  r = Send(get, WrongSecret(), "s3", true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 403);
  Status st = aws::ErrorStatus(get, *r);
  EXPECT_EQ(st.code(), ErrorCode::kUnauthenticated) << st.ToString();
  EXPECT_NE(st.message().find("SignatureDoesNotMatch"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("GET " + put.url), std::string::npos) << st.message();
  EXPECT_EQ(st.message().find(good_.secret_access_key), std::string::npos);
}

TEST_F(MotoAuthTest, DynamoDbSignedAndWrongSecretRejected) {
  std::string ep = moto_->endpoint();
  auto create = aws::JsonRequest(ep, "DynamoDB_20120810.CreateTable", R"({
    "TableName": "nic-locks", "BillingMode": "PAY_PER_REQUEST",
    "AttributeDefinitions": [{"AttributeName": "LockID", "AttributeType": "S"}],
    "KeySchema": [{"AttributeName": "LockID", "KeyType": "HASH"}]})");
  auto r = Send(create, good_, "dynamodb");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->status, 200) << r->body;

  auto put = aws::JsonRequest(ep, "DynamoDB_20120810.PutItem",
                              R"j({"TableName": "nic-locks", "Item": {"LockID": {"S": "k"}},
                                  "ConditionExpression": "attribute_not_exists(LockID)"})j");
  r = Send(put, good_, "dynamodb");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->status, 200) << r->body;
  // The condition now fails: a clean kConflict with the service's code.
  r = Send(put, good_, "dynamodb");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 400);
  Status conflict = aws::ErrorStatus(put, *r);
  EXPECT_EQ(conflict.code(), ErrorCode::kConflict) << conflict.ToString();
  EXPECT_EQ(conflict.details().at("aws_code"), "ConditionalCheckFailedException");

  auto get = aws::JsonRequest(ep, "DynamoDB_20120810.GetItem", R"({"TableName": "nic-locks", "Key": {"LockID": {"S": "k"}}})");
  r = Send(get, WrongSecret(), "dynamodb");
  ASSERT_TRUE(r.ok());
  EXPECT_GE(r->status, 400);
  Status st = aws::ErrorStatus(get, *r);
  EXPECT_EQ(st.code(), ErrorCode::kUnauthenticated) << st.ToString() << " body: " << r->body;
}

TEST_F(MotoAuthTest, Ec2QueryProtocolSignedAndWrongSecretRejected) {
  std::string ep = moto_->endpoint();
  auto describe = aws::QueryRequest(ep, "DescribeVpcs", "2016-11-15");
  describe.service = "ec2";
  auto r = Send(describe, good_, "ec2");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->status, 200) << r->body;
  auto doc = xml::Parse(r->body);
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_EQ(doc->name, "DescribeVpcsResponse");
  EXPECT_NE(doc->Find("vpcSet"), nullptr);

  r = Send(describe, WrongSecret(), "ec2");
  ASSERT_TRUE(r.ok());
  EXPECT_GE(r->status, 400);
  Status st = aws::ErrorStatus(describe, *r);
  EXPECT_EQ(st.code(), ErrorCode::kUnauthenticated) << st.ToString() << " body: " << r->body;
  EXPECT_NE(st.message().find("ec2 POST"), std::string::npos) << st.message();
}

TEST_F(MotoAuthTest, UnknownAccessKeyRejected) {
  http::Request get;
  get.url = moto_->endpoint() + "/nic-auth-bucket";
  auto r = Send(get, aws::Credentials{"AKIDNOTEXIST0000", "x", "", 0, "test"}, "s3", true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 403);
  Status st = aws::ErrorStatus(get, *r);
  EXPECT_EQ(st.code(), ErrorCode::kUnauthenticated) << st.ToString();
  EXPECT_NE(st.message().find("InvalidAccessKeyId"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace nic

namespace nic {
namespace {

// moto without auth mode: REST-JSON (EKS) routing by credential scope and a real STS
// AssumeRole through the credential chain (moto's auth mode wrongly rejects EKS signatures).
TEST(MotoProtocols, EksRestJsonAndStsAssumeRoleThroughTheChain) {
  auto m = testing::MotoServer::Start();
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  std::string ep = (*m)->endpoint();
  auto t = http::NewCurlTransport();
  auto creds = std::make_shared<aws::StaticCredentials>(aws::Credentials{"AKIDTEST", "secret", "", 0, "test"});
  aws::SigV4Authorizer eks(creds, {kRegion, "eks", false, false, 0});
  auto list = aws::RestJsonRequest("GET", ep, "/clusters");
  list.service = "eks";
  auto r = http::SendWithRetry(*t, list, &eks);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->status, 200) << r->body;
  auto j = nlohmann::json::parse(r->body);
  EXPECT_TRUE(j.contains("clusters")) << r->body;

  auto missing = aws::RestJsonRequest("GET", ep, "/clusters/nope");
  missing.service = "eks";
  r = http::SendWithRetry(*t, missing, &eks);
  ASSERT_TRUE(r.ok());
  Status st = aws::ErrorStatus(missing, *r);
  EXPECT_EQ(st.code(), ErrorCode::kNotFound) << st.ToString() << " " << r->body;

  testing::TempDir home;
  home.Write(".aws/credentials", "[src]\naws_access_key_id = AKIDSOURCE\naws_secret_access_key = s\n");
  home.Write(".aws/config", "[profile deploy]\nrole_arn = arn:aws:iam::123456789012:role/deploy\n"
                            "source_profile = src\nregion = us-east-1\n");
  aws::ChainOptions o;
  o.env = auth::MapEnv({{"HOME", home.path()}, {"AWS_PROFILE", "deploy"}, {"AWS_ENDPOINT_URL", ep}});
  o.transport = t.get();
  o.imds_enabled = false;
  auto c = aws::NewDefaultCredentialChain(o)->Get();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_FALSE(c->access_key_id.empty());
  EXPECT_NE(c->access_key_id, "AKIDSOURCE");
  EXPECT_FALSE(c->session_token.empty());
  EXPECT_GT(c->expires_at, 0);
}

}  // namespace
}  // namespace nic

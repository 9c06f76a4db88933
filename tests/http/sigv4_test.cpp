#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "nic/aws_auth.h"
#include "tests/http/test_util.h"

namespace nic {
namespace {

using nlohmann::json;

json LoadSuite() {
  std::string path = http_test::SharedDir() + "/testdata/sigv4/suite.json";
  std::string text = http_test::ReadAll(path);
  EXPECT_FALSE(text.empty()) << "cannot read " << path;
  return json::parse(text);
}

http::Request FromVector(const json& r) {
  http::Request req;
  req.method = r["method"].get<std::string>();
  std::vector<std::pair<std::string, std::string>> query;
  for (auto it = r["query"].begin(); it != r["query"].end(); ++it) {
    query.emplace_back(it.key(), it.value().get<std::string>());
  }
  req.url = r["protocol"].get<std::string>() + "//" + r["hostname"].get<std::string>() + r["path"].get<std::string>();
  if (!query.empty()) req.url += "?" + http::EncodeQuery(query);
  for (auto it = r["headers"].begin(); it != r["headers"].end(); ++it) {
    req.headers.Add(it.key(), it.value().get<std::string>());
  }
  if (r.contains("body") && r["body"].is_string()) req.body = r["body"].get<std::string>();
  return req;
}

TEST(SigV4Suite, EveryVectorMatches) {
  json suite = LoadSuite();
  ASSERT_TRUE(suite.contains("requests"));
  aws::Credentials creds;
  creds.access_key_id = suite["credentials"]["accessKeyId"];
  creds.secret_access_key = suite["credentials"]["secretAccessKey"];
  aws::SigV4Options opts;
  opts.region = suite["region"];
  opts.service = suite["service"];
  int checked = 0;
  for (const auto& v : suite["requests"]) {
    SCOPED_TRACE(v["name"].get<std::string>());
    http::Request req = FromVector(v["request"]);
    auto sig = aws::ComputeSigV4(req, creds, opts);
    ASSERT_TRUE(sig.ok()) << sig.status().ToString();
    EXPECT_EQ(sig->authorization, v["authorization"].get<std::string>()) << "canonical request:\n"
                                                                         << sig->canonical_request;
    ++checked;
  }
  EXPECT_EQ(checked, static_cast<int>(suite["requests"].size()));
  EXPECT_GE(checked, 20);
}

// SignV4 adds the headers it signs, and a session token is signed too.
TEST(SigV4, SignAddsDateHostTokenAndS3ContentHash) {
  http::Request req;
  req.method = "PUT";
  req.url = "http://127.0.0.1:5000/bucket/dir/a%20b.txt";
  req.body = "hello";
  aws::Credentials c{"AKID", "SECRET", "TOKEN", 0, "test"};
  aws::SigV4Options o{"us-west-2", "s3", true, false, 1440938160};
  ASSERT_TRUE(aws::SignV4(req, c, o).ok());
  EXPECT_EQ(req.headers.GetOr("x-amz-date"), "20150830T123600Z");
  EXPECT_EQ(req.headers.GetOr("host"), "127.0.0.1:5000");
  EXPECT_EQ(req.headers.GetOr("x-amz-security-token"), "TOKEN");
  EXPECT_EQ(req.headers.GetOr("x-amz-content-sha256"),
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
  std::string auth = req.headers.GetOr("authorization");
  EXPECT_NE(auth.find("Credential=AKID/20150830/us-west-2/s3/aws4_request"), std::string::npos) << auth;
  EXPECT_NE(auth.find("SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token"), std::string::npos)
      << auth;
  // Signing again (a retry) replaces rather than duplicates.
  ASSERT_TRUE(aws::SignV4(req, c, o).ok());
  int auth_headers = 0;
  for (const auto& e : req.headers.entries()) auth_headers += (e.first == "Authorization");
  EXPECT_EQ(auth_headers, 1);
}

TEST(SigV4, S3PathIsEncodedOnceOtherServicesTwice) {
  aws::Credentials c{"AKID", "SECRET", "", 0, "test"};
  http::Request req;
  req.url = "https://s3.amazonaws.com/b/a%20b/c";
  req.headers.Set("x-amz-date", "20150830T123600Z");
  auto s3 = aws::ComputeSigV4(req, c, {"us-east-1", "s3", true, false, 0});
  ASSERT_TRUE(s3.ok());
  EXPECT_EQ(s3->canonical_request.substr(0, s3->canonical_request.find('\n', 4)), "GET\n/b/a%20b/c");
  auto other = aws::ComputeSigV4(req, c, {"us-east-1", "eks", false, false, 0});
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->canonical_request.substr(0, other->canonical_request.find('\n', 4)), "GET\n/b/a%2520b/c");
}

TEST(SigV4, UnsignedPayload) {
  aws::Credentials c{"AKID", "SECRET", "", 0, "test"};
  http::Request req;
  req.method = "PUT";
  req.url = "https://s3.amazonaws.com/b/k";
  req.body = "large body";
  ASSERT_TRUE(aws::SignV4(req, c, {"us-east-1", "s3", true, true, 0}).ok());
  EXPECT_EQ(req.headers.GetOr("x-amz-content-sha256"), "UNSIGNED-PAYLOAD");
  auto sig = aws::ComputeSigV4(req, c, {"us-east-1", "s3", true, true, 0});
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(sig->canonical_request.substr(sig->canonical_request.rfind('\n') + 1), "UNSIGNED-PAYLOAD");
}

TEST(SigV4, MissingKeyIsUnauthenticated) {
  http::Request req;
  req.url = "https://s3.amazonaws.com/b/k";
  auto sig = aws::ComputeSigV4(req, {}, {"us-east-1", "s3", true, false, 0});
  ASSERT_FALSE(sig.ok());
  EXPECT_EQ(sig.status().code(), ErrorCode::kUnauthenticated);
}

TEST(AwsRequests, BuildersAndEndpoints) {
  auto env = auth::MapEnv({{"AWS_ENDPOINT_URL", "http://127.0.0.1:9/"},
                           {"AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8"}});
  EXPECT_EQ(aws::ResolveEndpoint("dynamodb", "us-west-2", env), "http://127.0.0.1:8");
  EXPECT_EQ(aws::ResolveEndpoint("s3", "us-west-2", env), "http://127.0.0.1:9");
  EXPECT_EQ(aws::ResolveEndpoint("s3", "us-west-2", env, "http://cfg:1"), "http://cfg:1");
  auto none = auth::MapEnv({});
  EXPECT_EQ(aws::ResolveEndpoint("eks", "eu-west-1", none), "https://eks.eu-west-1.amazonaws.com");
  EXPECT_EQ(aws::ResolveEndpoint("efs", "eu-west-1", none), "https://elasticfilesystem.eu-west-1.amazonaws.com");
  EXPECT_EQ(aws::ResolveEndpoint("iam", "eu-west-1", none), "https://iam.amazonaws.com");

  auto q = aws::QueryRequest("https://ec2.x", "DescribeVpcs", "2016-11-15", {{"Filter.1.Name", "tag:a b"}});
  EXPECT_EQ(q.body, "Action=DescribeVpcs&Version=2016-11-15&Filter.1.Name=tag%3Aa%20b");
  EXPECT_EQ(q.retry, http::RetryMode::kSafe);
  auto j = aws::JsonRequest("https://ddb", "DynamoDB_20120810.PutItem", "{}");
  EXPECT_EQ(j.headers.GetOr("x-amz-target"), "DynamoDB_20120810.PutItem");
  EXPECT_EQ(j.headers.GetOr("content-type"), "application/x-amz-json-1.0");
  EXPECT_EQ(j.retry, http::RetryMode::kAuto);
  EXPECT_EQ(aws::S3ObjectUrl("http://h", "b", "dir/a b+c"), "http://h/b/dir/a%20b%2Bc");
}

}  // namespace
}  // namespace nic

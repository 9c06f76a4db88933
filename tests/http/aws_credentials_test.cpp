// Credential-chain precedence with temp files, a map environment and local STS/IMDS servers.
#include <gtest/gtest.h>

#include <atomic>

#include "nic/aws_auth.h"
#include "tests/support/local_http_server.h"
#include "tests/support/process.h"

namespace nic {
namespace {

using testing::LocalHttpServer;
using testing::ReceivedRequest;
using testing::ScriptedResponse;
using testing::TempDir;

std::string StsXml(const std::string& action, const std::string& key) {
  return "<" + action + "Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><" + action +
         "Result><Credentials><AccessKeyId>" + key +
         "</AccessKeyId><SecretAccessKey>stsSecret</SecretAccessKey><SessionToken>stsToken</SessionToken>"
         "<Expiration>2099-01-01T00:00:00Z</Expiration></Credentials></" + action + "Result></" + action + "Response>";
}

// A fake STS that answers both assume-role actions.
LocalHttpServer::Handler Sts() {
  return [](const ReceivedRequest& r) {
    if (r.body.find("Action=AssumeRoleWithWebIdentity") != std::string::npos) {
      return ScriptedResponse{200, {}, StsXml("AssumeRoleWithWebIdentity", "ASIAWEBIDENTITY"), false};
    }
    if (r.body.find("Action=AssumeRole") != std::string::npos) {
      return ScriptedResponse{200, {}, StsXml("AssumeRole", "ASIAASSUMED"), false};
    }
    return ScriptedResponse{400, {}, "<ErrorResponse><Error><Code>InvalidAction</Code></Error></ErrorResponse>", false};
  };
}

class CredentialChainTest : public ::testing::Test {
 protected:
  CredentialChainTest() : transport_(http::NewCurlTransport()) {
    vars_["HOME"] = home_.path();
  }

  Result<aws::Credentials> Resolve(std::string profile = "", bool imds = false) {
    aws::ChainOptions o;
    o.env = auth::MapEnv(vars_);
    o.transport = transport_.get();
    o.profile = std::move(profile);
    o.imds_enabled = imds;
    return aws::NewDefaultCredentialChain(std::move(o))->Get();
  }

  void WriteFiles() {
    home_.Write(".aws/credentials",
                "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = defaultSecret\n\n"
                "# comment\n[dev]\naws_access_key_id=AKIADEV\naws_secret_access_key=devSecret\n"
                "aws_session_token = devToken\n");
    home_.Write(".aws/config",
                "[default]\nregion = eu-west-1\n\n[profile dev]\nregion = us-west-2\n"
                "aws_access_key_id = AKIAOVERRIDDEN\n\n"
                "[profile deploy]\nrole_arn = arn:aws:iam::123456789012:role/deploy\nsource_profile = dev\n"
                "role_session_name = nic-test\nregion = us-west-2\ns3 =\n  max_concurrent_requests = 10\n");
  }

  TempDir home_;
  std::map<std::string, std::string> vars_;
  std::unique_ptr<http::Transport> transport_;
};

TEST_F(CredentialChainTest, EnvironmentBeatsWebIdentityProfileAndImds) {
  WriteFiles();
  vars_["AWS_ACCESS_KEY_ID"] = "AKIAENV";
  vars_["AWS_SECRET_ACCESS_KEY"] = "envSecret";
  vars_["AWS_SESSION_TOKEN"] = "envToken";
  vars_["AWS_PROFILE"] = "dev";
  vars_["AWS_WEB_IDENTITY_TOKEN_FILE"] = home_.Write("token", "jwt");
  vars_["AWS_ROLE_ARN"] = "arn:aws:iam::1:role/r";
  auto c = Resolve();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKIAENV");
  EXPECT_EQ(c->session_token, "envToken");
  EXPECT_EQ(c->source, "environment");
}

TEST_F(CredentialChainTest, HalfSetEnvironmentIsAnError) {
  vars_["AWS_ACCESS_KEY_ID"] = "AKIAENV";
  auto c = Resolve();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), ErrorCode::kUnauthenticated);
  EXPECT_NE(c.status().message().find("AWS_SECRET_ACCESS_KEY"), std::string::npos);
}

TEST_F(CredentialChainTest, ExplicitProfileBeatsEnvironment) {
  WriteFiles();
  vars_["AWS_ACCESS_KEY_ID"] = "AKIAENV";
  vars_["AWS_SECRET_ACCESS_KEY"] = "envSecret";
  auto c = Resolve("dev");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKIADEV");  // the credentials file overrides the config file
  EXPECT_EQ(c->session_token, "devToken");
  EXPECT_EQ(c->source, "profile dev");
}

TEST_F(CredentialChainTest, WebIdentityBeatsProfile) {
  WriteFiles();
  LocalHttpServer sts(Sts());
  vars_["AWS_ENDPOINT_URL_STS"] = sts.url();
  vars_["AWS_WEB_IDENTITY_TOKEN_FILE"] = home_.Write("token", "header.payload.sig\n");
  vars_["AWS_ROLE_ARN"] = "arn:aws:iam::123456789012:role/irsa";
  vars_["AWS_ROLE_SESSION_NAME"] = "sess";
  auto c = Resolve();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "ASIAWEBIDENTITY");
  EXPECT_EQ(c->secret_access_key, "stsSecret");
  EXPECT_EQ(c->session_token, "stsToken");
  EXPECT_EQ(c->expires_at, 4070908800);
  auto reqs = sts.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].headers.count("authorization"), 0u);  // authenticated by the token itself
  EXPECT_NE(reqs[0].body.find("&WebIdentityToken=header.payload.sig"), std::string::npos) << reqs[0].body;
  EXPECT_NE(reqs[0].body.find("RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Firsa"), std::string::npos);
  EXPECT_NE(reqs[0].body.find("RoleSessionName=sess"), std::string::npos);
}

TEST_F(CredentialChainTest, ProfileFromEnvAndDefaultProfile) {
  WriteFiles();
  auto c = Resolve();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKIADEFAULT");
  vars_["AWS_PROFILE"] = "dev";
  c = Resolve();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->access_key_id, "AKIADEV");
  vars_["AWS_PROFILE"] = "missing";
  c = Resolve();
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("'missing' was not found"), std::string::npos) << c.status().message();
}

TEST_F(CredentialChainTest, FileLocationsFromEnvironment) {
  TempDir other;
  vars_["AWS_SHARED_CREDENTIALS_FILE"] =
      other.Write("creds.ini", "[default]\naws_access_key_id = AKIAFILE\naws_secret_access_key = s\n");
  vars_["AWS_CONFIG_FILE"] = other.Write("config.ini", "[default]\nregion = ap-south-1\n");
  auto c = Resolve();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "AKIAFILE");
  auto region = aws::ResolveRegion(auth::MapEnv(vars_));
  ASSERT_TRUE(region.ok());
  EXPECT_EQ(*region, "ap-south-1");
}

TEST_F(CredentialChainTest, AssumeRoleWithSourceProfileSignsWithTheSource) {
  WriteFiles();
  LocalHttpServer sts(Sts());
  vars_["AWS_ENDPOINT_URL_STS"] = sts.url();
  vars_["AWS_PROFILE"] = "deploy";
  auto c = Resolve();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "ASIAASSUMED");
  EXPECT_EQ(c->source, "profile 'deploy' assume-role arn:aws:iam::123456789012:role/deploy");
  auto reqs = sts.requests();
  ASSERT_EQ(reqs.size(), 1u);
  std::string auth = reqs[0].headers["authorization"];
  EXPECT_NE(auth.find("Credential=AKIADEV/"), std::string::npos) << auth;
  EXPECT_NE(auth.find("/us-west-2/sts/aws4_request"), std::string::npos) << auth;
  EXPECT_EQ(reqs[0].headers["x-amz-security-token"], "devToken");
  EXPECT_NE(reqs[0].body.find("Action=AssumeRole&"), std::string::npos);
  EXPECT_NE(reqs[0].body.find("RoleSessionName=nic-test"), std::string::npos);
}

TEST_F(CredentialChainTest, ImdsV2TokenFlowAndCaching) {
  std::atomic<int> token_requests{0};
  LocalHttpServer imds([&](const ReceivedRequest& r) {
    if (r.method == "PUT" && r.target == "/latest/api/token") {
      ++token_requests;
      if (r.headers.count("x-aws-ec2-metadata-token-ttl-seconds") == 0) return ScriptedResponse{400, {}, "", false};
      return ScriptedResponse{200, {}, "imds-session-token", false};
    }
    if (r.headers.count("x-aws-ec2-metadata-token") == 0 || r.headers.at("x-aws-ec2-metadata-token") != "imds-session-token") {
      return ScriptedResponse{401, {}, "", false};
    }
    if (r.target == "/latest/meta-data/iam/security-credentials/") return ScriptedResponse{200, {}, "node-role", false};
    if (r.target == "/latest/meta-data/iam/security-credentials/node-role") {
      return ScriptedResponse{200, {}, R"({"Code":"Success","AccessKeyId":"ASIAIMDS","SecretAccessKey":"imdsSecret",
        "Token":"imdsToken","Expiration":"2099-01-01T00:00:00Z"})", false};
    }
    return ScriptedResponse{404, {}, "", false};
  });
  vars_["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = imds.url();
  aws::ChainOptions o;
  o.env = auth::MapEnv(vars_);
  o.transport = transport_.get();
  auto chain = aws::NewDefaultCredentialChain(o);
  auto c = chain->Get();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->access_key_id, "ASIAIMDS");
  EXPECT_EQ(c->session_token, "imdsToken");
  EXPECT_EQ(c->source, "imds role node-role");
  EXPECT_EQ(imds.request_count(), 3u);
  // Cached until near expiry: no second round trip.
  ASSERT_TRUE(chain->Get().ok());
  EXPECT_EQ(imds.request_count(), 3u);
  EXPECT_EQ(token_requests.load(), 1);

  // With the clock past the expiry margin the chain refreshes.
  o.clock = [] { return int64_t{4070908800} - 10; };
  auto late = aws::NewDefaultCredentialChain(o);
  ASSERT_TRUE(late->Get().ok());
  ASSERT_TRUE(late->Get().ok());
  EXPECT_EQ(imds.request_count(), 9u);
}

TEST_F(CredentialChainTest, NothingFoundListsWhatWasTried) {
  auto c = Resolve();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), ErrorCode::kUnauthenticated);
  const std::string& m = c.status().message();
  EXPECT_NE(m.find("environment"), std::string::npos) << m;
  EXPECT_NE(m.find("web identity"), std::string::npos) << m;
  EXPECT_NE(m.find("profile 'default'"), std::string::npos) << m;
  EXPECT_NE(m.find("instance metadata (disabled)"), std::string::npos) << m;
}

TEST(AwsRegion, Precedence) {
  TempDir home;
  home.Write(".aws/config", "[default]\nregion = eu-central-1\n[profile p]\nregion = sa-east-1\n");
  std::map<std::string, std::string> v{{"HOME", home.path()}};
  EXPECT_EQ(*aws::ResolveRegion(auth::MapEnv(v)), "eu-central-1");
  EXPECT_EQ(*aws::ResolveRegion(auth::MapEnv(v), "p"), "sa-east-1");
  v["AWS_DEFAULT_REGION"] = "us-east-2";
  EXPECT_EQ(*aws::ResolveRegion(auth::MapEnv(v)), "us-east-2");
  v["AWS_REGION"] = "us-west-1";
  EXPECT_EQ(*aws::ResolveRegion(auth::MapEnv(v)), "us-west-1");
  auto none = aws::ResolveRegion(auth::MapEnv({{"HOME", "/nonexistent"}}));
  EXPECT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), ErrorCode::kInvalidConfig);
}

}  // namespace
}  // namespace nic

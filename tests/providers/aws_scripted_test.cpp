// Behaviour moto cannot show: waiting that runs out of time, throttling retried, quotas,
// failed node groups. A scripted transport answers each request.
#include <gtest/gtest.h>

#include <functional>
#include <mutex>

#include "tests/providers/aws_fixture.h"

namespace nic::awstest {
namespace {

struct Call {
  std::string service;  // from the SigV4 credential scope
  std::string method;
  std::string url;
  std::string body;
};

class ScriptedTransport final : public http::Transport {
 public:
  using Handler = std::function<http::Response(const Call&, int n)>;
  explicit ScriptedTransport(Handler h) : handler_(std::move(h)) {}

  Result<http::Response> Send(const http::Request& r) override {
    std::string auth = r.headers.GetOr("Authorization");
    std::string scope = auth.substr(auth.find("Credential=") + 11);
    for (int i = 0; i < 3; ++i) scope = scope.substr(scope.find('/') + 1);
    Call c{scope.substr(0, scope.find('/')), r.method, r.url, r.body};
    int n;
    {
      std::lock_guard<std::mutex> lock(mu_);
      calls_.push_back(c);
      n = static_cast<int>(calls_.size());
    }
    return handler_(c, n);
  }
  std::vector<Call> calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }

 private:
  Handler handler_;
  std::mutex mu_;
  std::vector<Call> calls_;
};

http::Response Xml(int status, std::string body) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  r.headers.Set("Content-Type", "text/xml");
  return r;
}

http::Response Json(int status, const json& body, const std::string& error_type = "") {
  http::Response r;
  r.status = status;
  r.body = body.dump();
  r.headers.Set("Content-Type", "application/json");
  if (!error_type.empty()) r.headers.Set("x-amzn-ErrorType", error_type);
  return r;
}

bool Has(const Call& c, const char* s) { return c.body.find(s) != std::string::npos || c.url.find(s) != std::string::npos; }

std::unique_ptr<Provider> Scripted(ScriptedTransport* t, int64_t wait_micros = 300000) {
  AwsProviderOptions o;
  o.endpoint = "http://127.0.0.1:1";
  o.credentials = std::make_shared<aws::StaticCredentials>(aws::Credentials{"AKID", "secret", "", 0, "test"});
  o.transport = t;
  o.env = auth::MapEnv({});
  o.poll_initial = std::chrono::milliseconds(10);
  o.poll_max = std::chrono::milliseconds(40);
  o.retry.policy.base_delay = std::chrono::milliseconds(1);
  o.retry.policy.max_delay = std::chrono::milliseconds(5);
  ProviderContext ctx = Context("scripted");
  ctx.wait_timeout_micros = wait_micros;
  auto p = NewAwsProvider(ctx, std::move(o));
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return p.ok() ? std::move(p).value() : nullptr;
}

const char* kCaller =
    "<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::111122223333:user/ci</Arn>"
    "<Account>111122223333</Account></GetCallerIdentityResult></GetCallerIdentityResponse>";

TEST(AwsScripted, WaitingRunsOutOfTime) {
  ScriptedTransport t([](const Call& c, int) {
    if (c.service == "sts") return Xml(200, kCaller);
    if (Has(c, "Action=CreateVpc")) return Xml(200, "<CreateVpcResponse><vpc><vpcId>vpc-1</vpcId></vpc></CreateVpcResponse>");
    return Xml(200, "<DescribeVpcsResponse><vpcSet><item><vpcId>vpc-1</vpcId><state>pending</state></item></vpcSet>"
                    "</DescribeVpcsResponse>");
  });
  auto p = Scripted(&t);
  ASSERT_NE(p, nullptr);
  auto r = p->Create("cloud.vpc", {{"cidr", "10.0.0.0/16"}}, "tok");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kTimeout) << r.status().ToString();
  EXPECT_NE(r.status().message().find("VPC vpc-1"), std::string::npos) << r.status().ToString();
  EXPECT_NE(r.status().message().find("pending"), std::string::npos) << r.status().ToString();
  int polls = 0;
  for (const auto& c : t.calls()) polls += Has(c, "Action=DescribeVpcs");
  EXPECT_GE(polls, 2);
}

TEST(AwsScripted, ThrottlingIsRetriedByTheTransportLayer) {
  ScriptedTransport t([](const Call& c, int n) {
    if (n == 1) {
      return Xml(503, "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded."
                      "</Message></Error></Errors></Response>");
    }
    (void)c;
    return Xml(200, "<DescribeSubnetsResponse><subnetSet><item><subnetId>subnet-1</subnetId><cidrBlock>10.0.1.0/24"
                    "</cidrBlock><mapPublicIpOnLaunch>true</mapPublicIpOnLaunch></item></subnetSet>"
                    "</DescribeSubnetsResponse>");
  });
  auto p = Scripted(&t);
  ASSERT_NE(p, nullptr);
  auto r = p->Read("cloud.vpc.subnets", {{"id", "subnet-1"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((**r)["type"], "public");
  EXPECT_EQ(t.calls().size(), 2u);
}

TEST(AwsScripted, QuotaIsRefusedWithASuggestion) {
  ScriptedTransport t([](const Call& c, int) {
    if (c.service == "sts") return Xml(200, kCaller);
    return Xml(400, "<Response><Errors><Error><Code>VpcLimitExceeded</Code><Message>The maximum number of VPCs has "
                    "been reached.</Message></Error></Errors><RequestID>r-1</RequestID></Response>");
  });
  auto p = Scripted(&t);
  ASSERT_NE(p, nullptr);
  auto r = p->Create("cloud.vpc", {{"cidr", "10.0.0.0/16"}}, "tok");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kRefused) << r.status().ToString();
  EXPECT_NE(r.status().message().find("quota"), std::string::npos);
  EXPECT_EQ(r.status().details().at("aws_code"), "VpcLimitExceeded");
  ASSERT_FALSE(r.status().suggestions().empty());
  EXPECT_NE(r.status().suggestions()[0].find("us-west-2"), std::string::npos);
  EXPECT_EQ(t.calls().size(), 1u) << "a quota error is not retried";
}

TEST(AwsScripted, AFailedBatchReadFailsEachOfItsResources) {
  ScriptedTransport t([](const Call& c, int) {
    if (c.service == "sts") return Xml(200, kCaller);
    return Xml(400, "<Response><Errors><Error><Code>InvalidParameterValue</Code><Message>bad filter</Message>"
                    "</Error></Errors><RequestID>r-2</RequestID></Response>");
  });
  auto p = Scripted(&t);
  ASSERT_NE(p, nullptr);
  auto reads = p->ReadAll({{"", "cloud.security_groups", {{"id", "sg-1"}, {"name", "web"}}},
                           {"", "cloud.security_groups", {{"id", "sg-2"}}}});
  ASSERT_EQ(reads.size(), 2u);
  for (const auto& r : reads) {
    ASSERT_FALSE(r.ok()) << "a failed batch is not an absent resource";
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidInput) << r.status().ToString();
    EXPECT_NE(r.status().message().find("DescribeSecurityGroups"), std::string::npos) << r.status().ToString();
  }
  EXPECT_NE(reads[0].status().message().find("reading cloud.security_groups web"), std::string::npos)
      << reads[0].status().ToString();
  EXPECT_NE(reads[1].status().message().find("reading cloud.security_groups sg-2"), std::string::npos)
      << reads[1].status().ToString();
  EXPECT_EQ(t.calls().size(), 1u) << "one batch call, not retried";
}

TEST(AwsScripted, FailedNodeGroupReportsHealthIssues) {
  ScriptedTransport t([](const Call& c, int) {
    if (c.method == "POST") {
      return Json(200, {{"nodegroup", {{"nodegroupName", "general"}, {"status", "CREATING"}}}});
    }
    return Json(200, {{"nodegroup",
                       {{"nodegroupName", "general"},
                        {"clusterName", "scripted"},
                        {"status", "CREATE_FAILED"},
                        {"health", {{"issues", json::array({json{{"code", "Ec2SubnetInvalidConfiguration"},
                                                                 {"message", "no IPs"}}})}}}}}});
  });
  auto p = Scripted(&t);
  ASSERT_NE(p, nullptr);
  auto r = p->Create("cloud.node_groups",
                     {{"name", "general"}, {"cluster_name", "scripted"}, {"node_role_arn", "arn:aws:iam::1:role/n"},
                      {"subnet_ids", {"subnet-1"}}},
                     "tok-ng");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("CREATE_FAILED"), std::string::npos) << r.status().ToString();
  EXPECT_NE(r.status().message().find("Ec2SubnetInvalidConfiguration"), std::string::npos) << r.status().ToString();
  // The create carried the client token and the NIC tags.
  auto calls = t.calls();
  ASSERT_FALSE(calls.empty());
  const Call& create = calls.front();
  json body = json::parse(create.body);
  EXPECT_EQ(body["clientRequestToken"], "tok-ng");
  EXPECT_EQ(body["tags"][kTagNodePool], "general");
  EXPECT_EQ(body["tags"][kTagManagedBy], "nic");
  EXPECT_EQ(create.url, "http://127.0.0.1:1/clusters/scripted/node-groups");
}

TEST(AwsScripted, NodeGroupRefreshIsOneRequestEach) {
  ScriptedTransport t([](const Call& c, int) {
    std::string name = c.url.substr(c.url.rfind('/') + 1);
    return Json(200, {{"nodegroup", {{"nodegroupName", name}, {"clusterName", "scripted"}, {"status", "ACTIVE"},
                                     {"scalingConfig", {{"minSize", 1}, {"maxSize", 3}, {"desiredSize", 2}}}}}});
  });
  auto p = Scripted(&t);
  ASSERT_NE(p, nullptr);
  std::vector<ResourceRef> refs;
  for (int i = 0; i < 25; ++i) {
    refs.push_back({"", "cloud.node_groups", {{"name", "ng" + std::to_string(i)}, {"cluster_name", "scripted"}}});
  }
  auto reads = p->ReadAll(refs);
  ASSERT_EQ(reads.size(), refs.size());
  for (size_t i = 0; i < reads.size(); ++i) {
    ASSERT_TRUE(reads[i].ok() && reads[i]->has_value()) << i;
    EXPECT_EQ((**reads[i])["name"], "ng" + std::to_string(i)) << "results stay in input order";
    EXPECT_EQ((**reads[i])["scaling_config"]["desired_size"], 2);
  }
  EXPECT_EQ(t.calls().size(), refs.size());
}

}  // namespace
}  // namespace nic::awstest

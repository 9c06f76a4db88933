#include "tests/providers/aws_fixture.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <mutex>

#include "nic/retry.h"
#include "nic/xml.h"
#include "tests/support/moto_server.h"

namespace nic::awstest {
namespace {

Result<http::Response> SendSigned(http::Request req, const std::string& service, const aws::Credentials& creds) {
  aws::SigV4Options opts;
  opts.region = service == "iam" ? "us-east-1" : kRegion;
  opts.service = aws::SigningName(service);
  aws::SigV4Authorizer signer(std::make_shared<aws::StaticCredentials>(creds), opts);
  req.service = service;
  return http::SendWithRetry(TestTransport(), req, &signer);
}

const char* QueryVersion(const std::string& service) {
  if (service == "ec2") return "2016-11-15";
  if (service == "iam") return "2010-05-08";
  return "2011-06-15";
}

struct Started {
  std::unique_ptr<testing::MotoServer> checked;
  std::unique_ptr<testing::MotoServer> open;
  Motos motos;
  std::string error;
};

Started& State() {
  static Started s;
  return s;
}

Status Start(Started& s) {
  testing::MotoOptions checked;
  // CreateUser, PutUserPolicy and CreateAccessKey run before moto starts verifying signatures.
  checked.initial_no_auth_action_count = 3;
  // The AWS managed policies Nebari attaches (AmazonEKSClusterPolicy...) exist only with this.
  checked.env["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true";
  NIC_ASSIGN_OR_RETURN(s.checked, testing::MotoServer::Start(checked));
  NIC_ASSIGN_OR_RETURN(s.open, testing::MotoServer::Start(testing::MotoOptions{}));
  s.motos.checked_endpoint = s.checked->endpoint();
  s.motos.open_endpoint = s.open->endpoint();
  aws::Credentials bootstrap{"AKIDBOOTSTRAP", "bootstrap", "", 0, "test"};
  auto iam = [&](const std::string& action, std::vector<std::pair<std::string, std::string>> params) -> Result<std::string> {
    NIC_ASSIGN_OR_RETURN(http::Response r, SendSigned(aws::QueryRequest(s.motos.checked_endpoint, action, "2010-05-08", params),
                                                      "iam", bootstrap));
    if (r.status != 200) return Status::Internal("moto IAM " + action + " returned " + std::to_string(r.status) + ": " + r.body);
    return r.body;
  };
  NIC_RETURN_IF_ERROR(iam("CreateUser", {{"UserName", "nic-admin"}}).status());
  NIC_RETURN_IF_ERROR(iam("PutUserPolicy", {{"UserName", "nic-admin"},
                                            {"PolicyName", "all"},
                                            {"PolicyDocument", R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]})"}})
                          .status());
  NIC_ASSIGN_OR_RETURN(std::string body, iam("CreateAccessKey", {{"UserName", "nic-admin"}}));
  NIC_ASSIGN_OR_RETURN(xml::Node doc, xml::Parse(body));
  const xml::Node* key = doc.Find("AccessKey");
  if (key == nullptr) return Status::Internal("no AccessKey in " + body);
  s.motos.admin = aws::Credentials{key->ChildText("AccessKeyId"), key->ChildText("SecretAccessKey"), "", 0, "moto"};
  std::printf(
      "[aws tests] EC2, IAM, STS: moto at %s with signature checking ON (INITIAL_NO_AUTH_ACTION_COUNT=3).\n"
      "[aws tests] EKS, EFS: moto at %s WITHOUT signature checking: moto 5.2's auth mode rejects correctly\n"
      "[aws tests]   signed REST-JSON requests without a body (GET/DELETE) with SignatureDoesNotMatch: it signs\n"
      "[aws tests]   its parsed parameters as the body (../shared/reference/emulators.md section 1).\n",
      s.motos.checked_endpoint.c_str(), s.motos.open_endpoint.c_str());
  return Status::OK();
}

}  // namespace

http::Transport& TestTransport() {
  static std::unique_ptr<http::Transport> t = [] {
    http::TransportOptions o;
    o.parallelism = 4;
    return http::NewCurlTransport(o);
  }();
  return *t;
}

const Motos* SharedMotos(std::string* error) {
  static std::once_flag once;
  static bool ok = false;
  std::call_once(once, [] {
    Status st = Start(State());
    ok = st.ok();
    if (!ok) State().error = st.ToString();
  });
  if (!ok) {
    if (error != nullptr) *error = State().error;
    return nullptr;
  }
  return &State().motos;
}

ProviderContext Context(const std::string& project) {
  ProviderContext ctx;
  ctx.project_name = project;
  ctx.region = kRegion;
  ctx.nic_version = "0.1.0";
  ctx.config_hash = "sha256:0123456789abcdef";
  ctx.user_tags = {{"team", "data-science"}};
  ctx.parallelism = 4;
  ctx.wait_timeout_micros = 30LL * 1000000;
  return ctx;
}

std::unique_ptr<Provider> NewProvider(const std::string& project, int page_size, const aws::Credentials* credentials,
                                      bool allow_version_update, http::Transport* transport) {
  const Motos* m = SharedMotos(nullptr);
  if (m == nullptr) return nullptr;
  AwsProviderOptions o;
  o.endpoint = m->checked_endpoint;
  o.endpoints["eks"] = m->open_endpoint;
  o.endpoints["efs"] = m->open_endpoint;
  o.credentials = std::make_shared<aws::StaticCredentials>(credentials ? *credentials : m->admin);
  o.transport = transport != nullptr ? transport : &TestTransport();
  o.env = auth::MapEnv({});
  o.page_size = page_size;
  o.allow_cluster_version_update = allow_version_update;
  o.poll_initial = std::chrono::milliseconds(20);
  o.poll_max = std::chrono::milliseconds(200);
  o.retry.policy.base_delay = std::chrono::milliseconds(20);
  auto p = NewAwsProvider(Context(project), std::move(o));
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return p.ok() ? std::move(p).value() : nullptr;
}

std::unique_ptr<Provider> NewOpenProvider(const std::string& project) {
  const Motos* m = SharedMotos(nullptr);
  if (m == nullptr) return nullptr;
  AwsProviderOptions o;
  o.endpoint = m->open_endpoint;
  o.credentials = std::make_shared<aws::StaticCredentials>(aws::Credentials{"AKIDOPEN", "open", "", 0, "test"});
  o.transport = &TestTransport();
  o.env = auth::MapEnv({});
  o.poll_initial = std::chrono::milliseconds(20);
  o.poll_max = std::chrono::milliseconds(200);
  auto p = NewAwsProvider(Context(project), std::move(o));
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return p.ok() ? std::move(p).value() : nullptr;
}

Result<std::string> RawQuery(const std::string& service, const std::string& action,
                             const std::vector<std::pair<std::string, std::string>>& params) {
  const Motos* m = SharedMotos(nullptr);
  if (m == nullptr) return Status::Unavailable("moto is not running");
  NIC_ASSIGN_OR_RETURN(http::Response r,
                       SendSigned(aws::QueryRequest(m->checked_endpoint, action, QueryVersion(service), params), service, m->admin));
  if (r.status != 200) return Status::Internal(service + " " + action + ": HTTP " + std::to_string(r.status) + " " + r.body);
  return r.body;
}

Result<aws::Credentials> CreateLimitedUser(const std::string& name, const std::string& actions_json_array) {
  NIC_RETURN_IF_ERROR(RawQuery("iam", "CreateUser", {{"UserName", name}}).status());
  NIC_RETURN_IF_ERROR(RawQuery("iam", "PutUserPolicy",
                               {{"UserName", name},
                                {"PolicyName", "limited"},
                                {"PolicyDocument", R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":)" +
                                                       actions_json_array + R"(,"Resource":"*"}]})"}})
                          .status());
  NIC_ASSIGN_OR_RETURN(std::string body, RawQuery("iam", "CreateAccessKey", {{"UserName", name}}));
  NIC_ASSIGN_OR_RETURN(xml::Node doc, xml::Parse(body));
  const xml::Node* key = doc.Find("AccessKey");
  if (key == nullptr) return Status::Internal("no AccessKey in " + body);
  return aws::Credentials{key->ChildText("AccessKeyId"), key->ChildText("SecretAccessKey"), "", 0, "moto"};
}

void ExpectMatches(const json& desired, const json& live, const std::string& where) {
  if (desired.is_object() && live.is_object()) {
    for (const auto& [k, v] : desired.items()) {
      std::string path = where + "." + k;
      if (!live.contains(k)) {
        ADD_FAILURE() << path << ": missing from live " << live.dump();
        continue;
      }
      if (k == "tags") {
        for (const auto& [tk, tv] : v.items()) {
          EXPECT_EQ(live[k].value(tk, json()), tv) << path << "." << tk << " in " << live[k].dump();
        }
        continue;
      }
      ExpectMatches(v, live[k], path);
    }
    return;
  }
  if (desired.is_array() && live.is_array() &&
      std::all_of(desired.begin(), desired.end(), [](const json& e) { return e.is_string(); })) {
    json a = desired, b = live;
    std::sort(a.begin(), a.end());
    std::sort(b.begin(), b.end());
    EXPECT_EQ(a, b) << where;
    return;
  }
  EXPECT_EQ(desired, live) << where;
}

void ExpectNicTags(const json& tags, const std::string& project, const std::string& resource_type) {
  EXPECT_EQ(tags.value(kTagManagedBy, ""), "nic") << tags.dump();
  EXPECT_EQ(tags.value(kTagClusterName, ""), project) << tags.dump();
  EXPECT_EQ(tags.value(kTagResourceType, ""), resource_type) << tags.dump();
  EXPECT_EQ(tags.value(kTagVersion, ""), "0.1.0") << tags.dump();
  EXPECT_EQ(tags.value(kTagConfigHash, ""), "sha256:0123456789abcdef") << tags.dump();
  EXPECT_EQ(tags.value("team", ""), "data-science") << tags.dump();
}

}  // namespace nic::awstest

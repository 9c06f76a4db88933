#include "tests/backend_s3/s3_fixture.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "nic/auth.h"
#include "nic/retry.h"
#include "nic/xml.h"

namespace nic::s3test {

const char* ModeName(LockMode mode) {
  switch (mode) {
    case LockMode::kDynamo: return "dynamodb";
    case LockMode::kLockfile: return "lockfile";
    case LockMode::kBoth: return "both";
  }
  return "?";
}

http::Transport& TestTransport() {
  static std::unique_ptr<http::Transport> t = http::NewCurlTransport();
  return *t;
}

namespace {

Result<http::Response> SendSigned(http::Request req, const std::string& service, const aws::Credentials& creds) {
  auto provider = std::make_shared<aws::StaticCredentials>(creds);
  aws::SigV4Options opts;
  opts.region = kRegion;
  opts.service = service;
  opts.s3 = service == "s3";
  aws::SigV4Authorizer signer(provider, opts);
  req.service = service;
  return http::SendWithRetry(TestTransport(), req, &signer);
}

Result<Moto> StartMoto() {
  testing::MotoOptions opts;
  // CreateUser, PutUserPolicy and CreateAccessKey run before moto starts verifying signatures.
  opts.initial_no_auth_action_count = 3;
  NIC_ASSIGN_OR_RETURN(std::unique_ptr<testing::MotoServer> server, testing::MotoServer::Start(opts));
  Moto m;
  m.endpoint = server->endpoint();
  aws::Credentials bootstrap{"AKIDBOOTSTRAP", "bootstrap", "", 0, "test"};
  auto iam = [&](const std::string& action, std::vector<std::pair<std::string, std::string>> params) -> Result<std::string> {
    NIC_ASSIGN_OR_RETURN(http::Response r, SendSigned(aws::QueryRequest(m.endpoint, action, "2010-05-08", params), "iam", bootstrap));
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
  m.admin = aws::Credentials{key->ChildText("AccessKeyId"), key->ChildText("SecretAccessKey"), "", 0, "moto"};
  m.server = server.release();  // lives until the process exits; its destructor is not needed
  return m;
}

}  // namespace

const Moto& SharedMoto() {
  static std::once_flag once;
  static Moto moto;
  static Status status = Status::OK();
  static std::unique_ptr<testing::MotoServer> owner;
  std::call_once(once, [] {
    auto m = StartMoto();
    if (!m.ok()) {
      status = m.status();
      return;
    }
    moto = m.value();
    owner.reset(moto.server);  // stopped by PID at exit
  });
  EXPECT_TRUE(status.ok()) << status.ToString();
  return moto;
}

Result<http::Response> SendAs(http::Request req, const std::string& service, const aws::Credentials* creds) {
  return SendSigned(std::move(req), service, creds ? *creds : SharedMoto().admin);
}

Status CreateBucket(const std::string& bucket) {
  http::Request req;
  req.method = "PUT";
  req.url = SharedMoto().endpoint + "/" + bucket;
  NIC_ASSIGN_OR_RETURN(http::Response r, SendAs(req, "s3"));
  if (r.status != 200) return Status::Internal("CreateBucket " + bucket + ": HTTP " + std::to_string(r.status) + " " + r.body);
  return Status::OK();
}

Status CreateLockTable(const std::string& table) {
  nlohmann::json body = {{"TableName", table},
                         {"BillingMode", "PAY_PER_REQUEST"},
                         {"AttributeDefinitions", {{{"AttributeName", "LockID"}, {"AttributeType", "S"}}}},
                         {"KeySchema", {{{"AttributeName", "LockID"}, {"KeyType", "HASH"}}}}};
  NIC_ASSIGN_OR_RETURN(http::Response r,
                       SendAs(aws::JsonRequest(SharedMoto().endpoint, "DynamoDB_20120810.CreateTable", body.dump()), "dynamodb"));
  if (r.status != 200) return Status::Internal("CreateTable " + table + ": HTTP " + std::to_string(r.status) + " " + r.body);
  return Status::OK();
}

Status PutDynamoString(const std::string& table, const std::string& lock_id, const std::string& attr, const std::string& value) {
  nlohmann::json body = {{"TableName", table}, {"Item", {{"LockID", {{"S", lock_id}}}, {attr, {{"S", value}}}}}};
  NIC_ASSIGN_OR_RETURN(http::Response r,
                       SendAs(aws::JsonRequest(SharedMoto().endpoint, "DynamoDB_20120810.PutItem", body.dump()), "dynamodb"));
  if (r.status != 200) return Status::Internal("PutItem: HTTP " + std::to_string(r.status) + " " + r.body);
  return Status::OK();
}

Result<std::string> GetDynamoString(const std::string& table, const std::string& lock_id, const std::string& attr) {
  nlohmann::json body = {{"TableName", table}, {"Key", {{"LockID", {{"S", lock_id}}}}}, {"ConsistentRead", true}};
  NIC_ASSIGN_OR_RETURN(http::Response r,
                       SendAs(aws::JsonRequest(SharedMoto().endpoint, "DynamoDB_20120810.GetItem", body.dump()), "dynamodb"));
  if (r.status != 200) return Status::Internal("GetItem: HTTP " + std::to_string(r.status) + " " + r.body);
  auto j = nlohmann::json::parse(r.body);
  if (!j.contains("Item") || !j["Item"].contains(attr)) return std::string();
  return j["Item"][attr]["S"].get<std::string>();
}

Result<aws::Credentials> CreateLimitedUser(const std::string& name, const std::string& actions_json_array) {
  const std::string ep = SharedMoto().endpoint;
  auto iam = [&](const std::string& action, std::vector<std::pair<std::string, std::string>> params) -> Result<std::string> {
    NIC_ASSIGN_OR_RETURN(http::Response r, SendAs(aws::QueryRequest(ep, action, "2010-05-08", params), "iam"));
    if (r.status != 200) return Status::Internal("IAM " + action + ": HTTP " + std::to_string(r.status) + " " + r.body);
    return r.body;
  };
  NIC_RETURN_IF_ERROR(iam("CreateUser", {{"UserName", name}}).status());
  NIC_RETURN_IF_ERROR(iam("PutUserPolicy", {{"UserName", name},
                                            {"PolicyName", "limited"},
                                            {"PolicyDocument", R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":)" +
                                                                   actions_json_array + R"(,"Resource":"*"}]})"}})
                          .status());
  NIC_ASSIGN_OR_RETURN(std::string body, iam("CreateAccessKey", {{"UserName", name}}));
  NIC_ASSIGN_OR_RETURN(xml::Node doc, xml::Parse(body));
  const xml::Node* key = doc.Find("AccessKey");
  if (key == nullptr) return Status::Internal("no AccessKey in " + body);
  return aws::Credentials{key->ChildText("AccessKeyId"), key->ChildText("SecretAccessKey"), "", 0, "moto"};
}

BackendConfig Config(const std::string& bucket, const std::string& key, LockMode mode, const std::string& table) {
  const Moto& m = SharedMoto();
  BackendConfig cfg;
  cfg.type = "s3";
  cfg.values = {{"bucket", bucket},
                {"key", key},
                {"region", kRegion},
                {"access_key", m.admin.access_key_id},
                {"secret_key", m.admin.secret_access_key},
                {"endpoints.s3", m.endpoint},
                {"endpoints.dynamodb", m.endpoint}};
  if (mode == LockMode::kDynamo || mode == LockMode::kBoth) cfg.values["dynamodb_table"] = table;
  if (mode == LockMode::kLockfile || mode == LockMode::kBoth) cfg.values["use_lockfile"] = "true";
  return cfg;
}

Result<std::unique_ptr<S3Backend>> OpenS3(const BackendConfig& config, http::Transport* transport) {
  S3BackendOptions opts;
  opts.transport = transport;
  opts.env = auth::MapEnv({});
  return S3Backend::Open(config, opts);
}

Result<http::Response> CountingTransport::Send(const http::Request& request) {
  ++count_;
  std::string name = request.service + " " + request.method;
  if (auto t = request.headers.Get("X-Amz-Target")) name = request.service + " " + t->substr(t->find('.') + 1);
  {
    std::lock_guard<std::mutex> lock(mu_);
    calls_.push_back(name);
  }
  return target_->Send(request);
}

std::vector<std::string> CountingTransport::calls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return calls_;
}

void CountingTransport::Reset() {
  std::lock_guard<std::mutex> lock(mu_);
  calls_.clear();
  count_ = 0;
}

}  // namespace nic::s3test

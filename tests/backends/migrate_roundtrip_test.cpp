// `nic state migrate` across every backend, through the real binary:
// local -> s3 (moto) -> gcs (stand-in) -> azurerm (Azurite) -> local, with identical content,
// lineage and serial at every hop, and each destination read back by `nic state pull`.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "nic/env.h"
#include "nic/state.h"
#include "tests/backend_azure/azure_test_env.h"
#include "tests/backend_gcs/gcs_test_env.h"
#include "tests/support/moto_server.h"
#include "tests/support/test_util.h"

namespace nic {
namespace {

using json = nlohmann::json;

std::vector<std::string> Flags(const std::string& type, const std::map<std::string, std::string>& kv, bool to) {
  std::vector<std::string> f = {to ? "--to-backend" : "--backend", type};
  for (const auto& [k, v] : kv) {
    f.push_back(to ? "--to-backend-config" : "--backend-config");
    f.push_back(k + "=" + v);
  }
  return f;
}

TEST(StateMigrate, RoundTripThroughEveryBackendKeepsContentLineageAndSerial) {
  testing::TempDir dir;
  auto moto = testing::MotoServer::Start();
  ASSERT_TRUE(moto.ok()) << moto.status().ToString();
  std::map<std::string, std::string> aws_env = {{"AWS_ACCESS_KEY_ID", "testing"},
                                                {"AWS_SECRET_ACCESS_KEY", "testing"},
                                                {"AWS_REGION", "us-west-2"},
                                                {"AWS_DEFAULT_REGION", "us-west-2"},
                                                {"AWS_ENDPOINT_URL", (*moto)->endpoint()}};
  // The bucket and lock table, made the way an operator would (boto3), not through NIC.
  auto made = testing::RunProcess(
      {"python3", "-c",
       "import boto3,os;e=os.environ['AWS_ENDPOINT_URL'];"
       "boto3.client('s3',endpoint_url=e).create_bucket(Bucket='nic-state',CreateBucketConfiguration={'LocationConstraint':'us-west-2'});"
       "boto3.client('dynamodb',endpoint_url=e).create_table(TableName='nic-locks',KeySchema=[{'AttributeName':'LockID','KeyType':'HASH'}],"
       "AttributeDefinitions=[{'AttributeName':'LockID','AttributeType':'S'}],BillingMode='PAY_PER_REQUEST')"},
      aws_env);
  ASSERT_EQ(made.exit_code, 0) << made.err;
  std::string bucket = gcstest::NewBucket();
  std::string container = aztest::NewContainer();

  const std::map<std::string, std::string> s3 = {{"bucket", "nic-state"}, {"key", "nebari/nic-state.json"},
                                                 {"region", "us-west-2"}, {"dynamodb_table", "nic-locks"},
                                                 {"endpoints.s3", (*moto)->endpoint()},
                                                 {"endpoints.dynamodb", (*moto)->endpoint()}};
  const std::map<std::string, std::string> gcs = {{"bucket", bucket}, {"prefix", "nebari"}, {"endpoint", gcstest::Endpoint()}};
  const std::map<std::string, std::string> az = {{"storage_account_name", testing::Azurite::kAccount},
                                                 {"container_name", container},
                                                 {"key", "nebari/nic-state.json"},
                                                 {"access_key", testing::Azurite::kKey},
                                                 {"endpoint", aztest::Endpoint()}};

  StateDocument d = StateDocument::NewEmpty("aws", "roundtrip", "us-west-2", Env::Default()->NowMicros());
  d.serial = 41;
  d.cloud["node_groups"] = json::array({{{"name", "general"}, {"scaling_config", {{"min_size", 1}, {"max_size", 5}}}}});
  d.kubernetes["namespaces"] = json::array({{{"name", "dev"}}});
  testing::WriteFileOrDie(dir.File("seed.json"), SerializeStateDocument(d));
  const std::string start = dir.File("start/nic-state.json"), end = dir.File("end/nic-state.json");
  ASSERT_EQ(testing::RunNic({"state", "push", dir.File("seed.json"), "--state", start}).exit_code, 0);
  const std::string original = testing::ReadFileOrDie(start);

  struct Hop {
    std::vector<std::string> from, to;
  };
  std::vector<std::string> local_from = {"--state", start}, local_to = {"--to-backend", "local", "--to-state", end};
  std::vector<Hop> hops = {{local_from, Flags("s3", s3, true)},
                           {Flags("s3", s3, false), Flags("gcs", gcs, true)},
                           {Flags("gcs", gcs, false), Flags("azurerm", az, true)},
                           {Flags("azurerm", az, false), local_to}};
  std::vector<std::vector<std::string>> readers = {Flags("s3", s3, false), Flags("gcs", gcs, false),
                                                   Flags("azurerm", az, false), {"--state", end}};
  for (size_t i = 0; i < hops.size(); ++i) {
    std::vector<std::string> args = {"state", "migrate", "--format", "json", "--history-db", dir.File("history.db")};
    args.insert(args.end(), hops[i].from.begin(), hops[i].from.end());
    args.insert(args.end(), hops[i].to.begin(), hops[i].to.end());
    auto r = testing::RunNic(args, aws_env);
    ASSERT_EQ(r.exit_code, 0) << "hop " << i << ": " << r.out << r.err;
    json j = json::parse(r.out);
    EXPECT_EQ(j["verified"], true);
    EXPECT_EQ(j["serial"], 41);
    EXPECT_EQ(j["lineage"], d.lineage);
    std::vector<std::string> pull = {"state", "pull", "--history-db", dir.File("history.db")};
    pull.insert(pull.end(), readers[i].begin(), readers[i].end());
    auto p = testing::RunNic(pull, aws_env);
    ASSERT_EQ(p.exit_code, 0) << p.err;
    EXPECT_EQ(p.out, original) << "content changed at hop " << i;
  }
  EXPECT_EQ(testing::ReadFileOrDie(end), original);
  // Every hop wrote the same version, so history holds it once (identical versions are not
  // recorded twice, and a different document under the same lineage+serial would be refused).
  auto h = testing::RunNic({"state", "history", "--format", "json", "--history-db", dir.File("history.db"), "--state", end});
  ASSERT_EQ(h.exit_code, 0) << h.err;
  auto versions = json::parse(h.out)["versions"];
  ASSERT_EQ(versions.size(), 1u) << versions.dump();
  EXPECT_EQ(versions[0]["serial"], 41);
  EXPECT_EQ(versions[0]["lineage"], d.lineage);
}

}  // namespace
}  // namespace nic

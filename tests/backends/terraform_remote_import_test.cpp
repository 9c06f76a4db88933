// nic import reading Terraform's own remote state (s3 + DynamoDB, on moto) read-only, and
// refusing while Terraform's lock on it is held.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/support/moto_server.h"
#include "tests/support/test_util.h"

namespace nic {
namespace {

using json = nlohmann::json;

TEST(ImportFromTerraformBackend, ReadsS3StateAndRefusesWhileTerraformHoldsTheLock) {
  testing::TempDir dir;
  auto moto = testing::MotoServer::Start();
  ASSERT_TRUE(moto.ok()) << moto.status().ToString();
  const std::string ep = (*moto)->endpoint();
  std::map<std::string, std::string> env = {{"AWS_ACCESS_KEY_ID", "testing"}, {"AWS_SECRET_ACCESS_KEY", "testing"},
                                            {"AWS_REGION", "us-west-2"}, {"AWS_DEFAULT_REGION", "us-west-2"},
                                            {"AWS_ENDPOINT_URL", ep}};
  const std::string fixtures = testing::SourceDir() + "/tests/fixtures/tfstate/";
  // Terraform's layout: the stage states in a bucket, its lock table beside them.
  auto setup = testing::RunProcess(
      {"python3", "-c",
       "import boto3,os,sys;e=os.environ['AWS_ENDPOINT_URL'];s3=boto3.client('s3',endpoint_url=e);"
       "s3.create_bucket(Bucket='tf-state',CreateBucketConfiguration={'LocationConstraint':'us-west-2'});"
       "s3.put_object(Bucket='tf-state',Key='stages/02-infrastructure',Body=open(sys.argv[1],'rb').read());"
       "s3.put_object(Bucket='tf-state',Key='stages/03-kubernetes-initialize',Body=open(sys.argv[2],'rb').read());"
       "boto3.client('dynamodb',endpoint_url=e).create_table(TableName='tf-locks',KeySchema=[{'AttributeName':'LockID','KeyType':'HASH'}],"
       "AttributeDefinitions=[{'AttributeName':'LockID','AttributeType':'S'}],BillingMode='PAY_PER_REQUEST')",
       fixtures + "aws_02.tfstate", fixtures + "aws_03.tfstate"},
      env);
  ASSERT_EQ(setup.exit_code, 0) << setup.err;
  const std::string before = testing::ReadFileOrDie(fixtures + "aws_02.tfstate");

  std::vector<std::string> args = {"import", "--from-terraform", "--config", fixtures + "nebari-config-aws.yaml",
                                   "--terraform-backend", "s3",
                                   "--terraform-backend-config", "bucket=tf-state",
                                   "--terraform-backend-config", "key=stages/02-infrastructure",
                                   "--terraform-backend-config", "region=us-west-2",
                                   "--terraform-backend-config", "dynamodb_table=tf-locks",
                                   "--terraform-backend-config", "endpoints.s3=" + ep,
                                   "--terraform-backend-config", "endpoints.dynamodb=" + ep,
                                   "--terraform-backend-config-03", "key=stages/03-kubernetes-initialize",
                                   "--format", "json"};
  // Terraform is applying: its DynamoDB lock item names the holder.
  auto lock = testing::RunProcess(
      {"python3", "-c",
       "import boto3,os,json;boto3.client('dynamodb',endpoint_url=os.environ['AWS_ENDPOINT_URL']).put_item(TableName='tf-locks',"
       "Item={'LockID':{'S':'tf-state/stages/02-infrastructure'},'Info':{'S':json.dumps({'ID':'5d1e5c6a-1111-4222-8333-944455556666',"
       "'Operation':'OperationTypeApply','Info':'','Who':'alice@laptop','Version':'1.5.7','Created':'2026-11-22T01:00:00Z',"
       "'Path':'tf-state/stages/02-infrastructure'})}})"},
      env);
  ASSERT_EQ(lock.exit_code, 0) << lock.err;
  std::vector<std::string> locked = args;
  locked.insert(locked.end(), {"--output-state", dir.File("a/nic-state.json")});
  auto refused = testing::RunNic(locked, env);
  EXPECT_EQ(refused.exit_code, 3) << refused.out << refused.err;
  json e = json::parse(refused.out);
  EXPECT_EQ(e["error"]["details"]["who"], "alice@laptop");
  EXPECT_EQ(e["error"]["details"]["operation"], "OperationTypeApply");
  EXPECT_FALSE(testing::RunProcess({"test", "-e", dir.File("a/nic-state.json")}).exit_code == 0) << "nothing may be written";

  // Terraform finished: the lock is gone, the import reads both stages.
  auto unlock = testing::RunProcess(
      {"python3", "-c",
       "import boto3,os;boto3.client('dynamodb',endpoint_url=os.environ['AWS_ENDPOINT_URL']).delete_item(TableName='tf-locks',"
       "Key={'LockID':{'S':'tf-state/stages/02-infrastructure'}})"},
      env);
  ASSERT_EQ(unlock.exit_code, 0) << unlock.err;
  std::vector<std::string> ok_args = args;
  ok_args.insert(ok_args.end(), {"--output-state", dir.File("b/nic-state.json")});
  auto ok = testing::RunNic(ok_args, env);
  ASSERT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  json r = json::parse(ok.out);
  EXPECT_GT(r["resource_count"].get<int>(), 10);
  ASSERT_EQ(r["sources"].size(), 2u);
  EXPECT_NE(r["sources"][0].dump().find("s3://"), std::string::npos) << r["sources"].dump();
  // Read-only: Terraform's objects are untouched and no lock was left behind.
  auto check = testing::RunProcess(
      {"python3", "-c",
       "import boto3,os;e=os.environ['AWS_ENDPOINT_URL'];"
       "print(len(boto3.client('s3',endpoint_url=e).get_object(Bucket='tf-state',Key='stages/02-infrastructure')['Body'].read()));"
       "print(boto3.client('dynamodb',endpoint_url=e).scan(TableName='tf-locks')['Count'])"},
      env);
  ASSERT_EQ(check.exit_code, 0) << check.err;
  EXPECT_EQ(check.out, std::to_string(before.size()) + "\n0\n");
}

}  // namespace
}  // namespace nic

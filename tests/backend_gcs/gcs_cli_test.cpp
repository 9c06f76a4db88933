// The real nic binary against the GCS test server: state push/show/unlock with --backend gcs.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "nic/env.h"
#include "nic/state.h"
#include "tests/backend_gcs/gcs_test_env.h"
#include "tests/support/test_util.h"

namespace nic {
namespace {

std::vector<std::string> GcsFlags(const std::string& bucket, bool with_endpoint = true) {
  std::vector<std::string> f = {"--backend", "gcs", "--backend-config", "bucket=" + bucket, "--backend-config", "prefix=nebari/prod"};
  if (with_endpoint) {
    f.push_back("--backend-config");
    f.push_back("endpoint=" + gcstest::Endpoint());
  }
  return f;
}

std::vector<std::string> Cat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(GcsCli, PushShowHeldLockAndForceUnlockByGeneration) {
  testing::TempDir dir;
  const std::string bucket = gcstest::NewBucket();
  StateDocument d = StateDocument::NewEmpty("gcp", "cli-demo", "us-central1", Env::Default()->NowMicros());
  d.serial = 3;
  d.metadata.deploy_count = 3;
  const std::string file = dir.Write("state.json", SerializeStateDocument(d));

  auto push = testing::RunNic(Cat({"state", "push", file}, GcsFlags(bucket)), {}, "", dir.path());
  ASSERT_EQ(push.exit_code, 0) << push.err;
  EXPECT_NE(push.out.find("gs://" + bucket + "/nebari/prod/default.tfstate"), std::string::npos) << push.out;
  EXPECT_EQ(gcstest::RawObject(bucket, "nebari/prod/default.tfstate", true).body, SerializeStateDocument(d));
  EXPECT_EQ(gcstest::RawObject(bucket, "nebari/prod/default.tflock", false).status, 404) << "push must release its lock";

  auto show = testing::RunNic(Cat({"state", "show", "--format", "json"}, GcsFlags(bucket)), {}, "", dir.path());
  ASSERT_EQ(show.exit_code, 0) << show.err;
  auto j = nlohmann::json::parse(show.out);
  EXPECT_EQ(j["serial"], 3);
  EXPECT_EQ(j["lineage"], d.lineage);
  EXPECT_EQ(j["location"], "gs://" + bucket + "/nebari/prod/default.tfstate");

  // STORAGE_EMULATOR_HOST alone points nic at the server (plain http, no auth).
  auto port_only = gcstest::Endpoint().substr(std::string("http://").size());
  auto show_env = testing::RunNic(Cat({"state", "show", "--format", "json"}, GcsFlags(bucket, false)),
                                  {{"STORAGE_EMULATOR_HOST", port_only}}, "", dir.path());
  ASSERT_EQ(show_env.exit_code, 0) << show_env.err;
  EXPECT_EQ(nlohmann::json::parse(show_env.out)["serial"], 3);

  // A held lock: exit 3, naming holder, lock ID and generation.
  auto holder = gcstest::Open(bucket, "nebari/prod");
  LockInfo li = LockInfo::New("deploy", Env::Default());
  ASSERT_TRUE(holder->Lock(li).ok());
  const std::string gen = std::to_string(holder->held_generation());
  d.serial = 4;
  const std::string file4 = dir.Write("state4.json", SerializeStateDocument(d));
  auto held = testing::RunNic(Cat({"state", "push", file4}, GcsFlags(bucket)), {}, "", dir.path());
  EXPECT_EQ(held.exit_code, 3) << held.out << held.err;
  EXPECT_NE(held.err.find(li.id), std::string::npos) << held.err;
  EXPECT_NE(held.err.find("generation " + gen), std::string::npos) << held.err;
  EXPECT_NE(held.err.find("deploy"), std::string::npos);

  auto held_json = testing::RunNic(Cat({"state", "push", file4, "--format", "json"}, GcsFlags(bucket)), {}, "", dir.path());
  EXPECT_EQ(held_json.exit_code, 3);
  auto hj = nlohmann::json::parse(held_json.out, nullptr, false);
  ASSERT_FALSE(hj.is_discarded()) << held_json.out;
  EXPECT_EQ(hj["error"]["code"], "LOCK_HELD");
  EXPECT_EQ(hj["error"]["details"]["generation"], gen);

  // A wrong ID is refused; the Terraform-style ID (the generation) works and says so.
  auto wrong = testing::RunNic(Cat({"state", "unlock", "--force", "12345"}, GcsFlags(bucket)), {}, "", dir.path());
  EXPECT_EQ(wrong.exit_code, 7) << wrong.err;
  EXPECT_EQ(gcstest::RawObject(bucket, "nebari/prod/default.tflock", false).status, 200);
  auto unlock = testing::RunNic(Cat({"state", "unlock", "--force", gen}, GcsFlags(bucket)), {}, "", dir.path());
  ASSERT_EQ(unlock.exit_code, 0) << unlock.err;
  EXPECT_NE(unlock.out.find("matched generation " + gen), std::string::npos) << unlock.out;
  EXPECT_EQ(gcstest::RawObject(bucket, "nebari/prod/default.tflock", false).status, 404);

  auto push4 = testing::RunNic(Cat({"state", "push", file4}, GcsFlags(bucket)), {}, "", dir.path());
  EXPECT_EQ(push4.exit_code, 0) << push4.err;
}

TEST(GcsCli, MissingBucketAndBadConfigAreClear) {
  testing::TempDir dir;
  auto show = testing::RunNic(Cat({"state", "show"}, GcsFlags("bucket-that-does-not-exist")), {}, "", dir.path());
  EXPECT_NE(show.exit_code, 0);
  EXPECT_NE(show.err.find("bucket \"bucket-that-does-not-exist\" does not exist"), std::string::npos) << show.err;
  auto nobucket = testing::RunNic({"state", "show", "--backend", "gcs", "--backend-config", "prefix=x"}, {}, "", dir.path());
  EXPECT_EQ(nobucket.exit_code, 4) << nobucket.err;
  EXPECT_NE(nobucket.err.find("bucket"), std::string::npos);
}

}  // namespace
}  // namespace nic

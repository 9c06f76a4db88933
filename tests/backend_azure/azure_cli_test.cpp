// The real nic binary against Azurite: state push/show/unlock with --backend azurerm.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "nic/env.h"
#include "nic/state.h"
#include "tests/backend_azure/azure_test_env.h"
#include "tests/support/test_util.h"

namespace nic {
namespace {

std::vector<std::string> AzFlags(const std::string& container, bool with_key = true) {
  std::vector<std::string> f = {"--backend", "azurerm",
                                "--backend-config", "storage_account_name=devstoreaccount1",
                                "--backend-config", "container_name=" + container,
                                "--backend-config", "key=nebari/prod.tfstate",
                                "--backend-config", "endpoint=" + aztest::Endpoint()};
  if (with_key) {
    f.push_back("--backend-config");
    f.push_back(std::string("access_key=") + testing::Azurite::kKey);
  }
  return f;
}

std::vector<std::string> Cat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

TEST(AzurermCli, PushShowHeldLockAndForceUnlock) {
  if (access(testing::NicBinary().c_str(), X_OK) != 0) GTEST_SKIP() << "nic binary not built: " << testing::NicBinary();
  testing::TempDir dir;
  const std::string container = aztest::NewContainer();
  StateDocument d = StateDocument::NewEmpty("azure", "cli-demo", "westeurope", Env::Default()->NowMicros());
  d.serial = 3;
  d.metadata.deploy_count = 3;
  const std::string file = dir.Write("state.json", SerializeStateDocument(d));
  const std::string url = aztest::Endpoint() + "/" + container + "/nebari/prod.tfstate";

  auto push = testing::RunNic(Cat({"state", "push", file}, AzFlags(container)), {}, "", dir.path());
  ASSERT_EQ(push.exit_code, 0) << push.out << push.err;
  auto raw = aztest::RawClient(container);
  auto content = raw->Get("nebari/prod.tfstate");
  ASSERT_TRUE(content.ok());
  EXPECT_EQ(content->bytes, SerializeStateDocument(d));
  EXPECT_NE(content->properties.lease_state, "leased") << "push must release its lease";
  EXPECT_EQ(content->properties.metadata.count("terraformlockid"), 0u);

  // ARM_ACCESS_KEY instead of access_key, as Terraform users set it.
  auto show = testing::RunNic(Cat({"state", "show", "--format", "json"}, AzFlags(container, false)),
                              {{"ARM_ACCESS_KEY", testing::Azurite::kKey}}, "", dir.path());
  ASSERT_EQ(show.exit_code, 0) << show.err;
  auto j = nlohmann::json::parse(show.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << show.out;
  EXPECT_EQ(j["serial"], 3);
  EXPECT_EQ(j["lineage"], d.lineage);
  EXPECT_EQ(j["location"], url);

  // A held lock: exit 3 naming the holder and the lock ID.
  auto holder = aztest::Open(container, "nebari/prod.tfstate");
  LockInfo li = LockInfo::New("deploy", Env::Default());
  ASSERT_TRUE(holder->Lock(li).ok());
  d.serial = 4;
  const std::string file4 = dir.Write("state4.json", SerializeStateDocument(d));
  auto held = testing::RunNic(Cat({"state", "push", file4}, AzFlags(container)), {}, "", dir.path());
  EXPECT_EQ(held.exit_code, 3) << held.out << held.err;
  EXPECT_NE(held.err.find(li.id), std::string::npos) << held.err;
  EXPECT_NE(held.err.find("deploy"), std::string::npos) << held.err;

  // Wrong ID refused (exit 7), lease untouched; the right one breaks it and says what matched.
  auto wrong = testing::RunNic(Cat({"state", "unlock", "--force", NewUuid()}, AzFlags(container)), {}, "", dir.path());
  EXPECT_EQ(wrong.exit_code, 7) << wrong.out << wrong.err;
  EXPECT_EQ(raw->GetProperties("nebari/prod.tfstate")->lease_state, "leased");
  auto unlock = testing::RunNic(Cat({"state", "unlock", "--force", li.id}, AzFlags(container)), {}, "", dir.path());
  ASSERT_EQ(unlock.exit_code, 0) << unlock.out << unlock.err;
  EXPECT_NE(unlock.out.find("matched lock ID (both the lease ID"), std::string::npos) << unlock.out;
  EXPECT_NE(raw->GetProperties("nebari/prod.tfstate")->lease_state, "leased");

  auto push4 = testing::RunNic(Cat({"state", "push", file4}, AzFlags(container)), {}, "", dir.path());
  EXPECT_EQ(push4.exit_code, 0) << push4.err;

  // A wrong key: exit 9 with the account named.
  auto badkey = AzFlags(container, false);
  badkey.push_back("--backend-config");
  badkey.push_back("access_key=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==");
  auto bad = testing::RunNic(Cat({"state", "show"}, badkey), {}, "", dir.path());
  EXPECT_EQ(bad.exit_code, 9) << bad.err;
  EXPECT_NE(bad.err.find("devstoreaccount1"), std::string::npos) << bad.err;

  auto unknown = testing::RunNic(Cat({"state", "show", "--backend-config", "bucket=x"}, AzFlags(container)), {}, "", dir.path());
  EXPECT_EQ(unknown.exit_code, 4) << unknown.err;
  EXPECT_NE(unknown.err.find("bucket"), std::string::npos) << unknown.err;
}

}  // namespace
}  // namespace nic

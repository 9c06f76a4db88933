// A deploy with state encryption on, killed between its cloud call and its state write: the
// journal entry that lets the next deploy adopt the resource holds state attributes, so it is
// sealed like the state. Nothing on the state side of the disk (state, .backup, history DB with
// the journal) holds them in plaintext, and the next deploy still opens the journal and adopts
// the resource instead of creating it twice; without the key it stops with exit 9.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>

#include "nic/backend.h"
#include "nic/env.h"
#include "nic/history.h"
#include "nic/reconciler.h"
#include "nic/state_encryption.h"
#include "tests/reconcile/file_cloud_provider.h"
#include "tests/reconcile/reconcile_fixture.h"
#include "tests/support/test_util.h"

namespace nic {
namespace {

using json = nlohmann::json;

const char kCanaryInstance[] = "g4dn.canary9e2b";
const char kKey[] = "8899aabbccddeeff00112233445566778899aabbccddeeff0011223344556677";

using testing::Group;

std::unique_ptr<StateEncryption> Encryption() {
  StateEncryptionOptions o;
  o.primary = NewRawKeyProvider(kKey, "NIC_STATE_KEY").value();
  return std::make_unique<StateEncryption>(std::move(o));
}

struct EncryptedWorld {
  testing::TempDir dir;
  testing::TempDir cloud_dir;  // the stand-in cloud lives outside the state directory
  testing::FileCloudProvider cloud{cloud_dir.File("cloud.json")};
  std::unique_ptr<Backend> backend;
  std::unique_ptr<HistoryDb> history;

  void Open() {
    BackendConfig cfg;
    cfg.values["path"] = dir.File("nic-state.json");
    backend = OpenBackend(cfg).value();
    history = HistoryDb::Open(dir.File("nic-history.db")).value();
  }
  Status Deploy(const NebariConfig& c, StateEncryption* enc, DeployResult* r) {
    StateManagerOptions o;
    o.history = history.get();
    o.encryption = enc;
    StateManager m(backend.get(), o);
    return nic::Deploy(m, history.get(), c, cloud, DeployOptions{}, r);
  }
};

NebariConfig Config() { return testing::AwsConfig({Group("general", "m5.xlarge", 1, 5)}); }

void Seed(EncryptedWorld& w, StateEncryption* enc) {
  json vpc = {{"id", "vpc-1"}, {"cidr", "10.10.0.0/16"}, {"imported", true}};
  json cluster = {{"name", "demo-dev"}, {"version", "1.29"}, {"imported", true}};
  json general = {{"name", "general"}, {"instance_types", {"m5.xlarge"}},
                  {"scaling_config", {{"min_size", 1}, {"max_size", 5}, {"desired_size", 1}}},
                  {"arn", "arn:filecloud:general"}, {"status", "ACTIVE"}};
  w.cloud.Put("cloud.vpc", vpc);
  w.cloud.Put("cloud.cluster", cluster);
  w.cloud.Put("cloud.node_groups", general);
  general["imported"] = true;
  StateDocument d = StateDocument::NewEmpty("aws", "demo", "us-west-2", Env::Default()->NowMicros());
  d.imported_from_terraform = true;
  d.cloud["vpc"] = vpc;
  d.cloud["cluster"] = cluster;
  d.cloud["node_groups"] = json::array({general});
  StateManagerOptions o;
  o.history = w.history.get();
  o.encryption = enc;
  StateManager m(w.backend.get(), o);
  ASSERT_TRUE(m.Lock("seed").ok());
  ASSERT_TRUE(m.Persist(d, "import").ok());
  ASSERT_TRUE(m.Unlock().ok());
}

int FilesWithCanary(const testing::TempDir& dir) {
  int n = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir.path())) {
    if (e.is_regular_file() && testing::ReadFileOrDie(e.path().string()).find(kCanaryInstance) != std::string::npos) ++n;
  }
  return n;
}

TEST(EncryptedDeploy, CrashLeavesOnlySealedJournalAndTheNextDeployAdopts) {
  EncryptedWorld w;
  w.Open();
  auto enc = Encryption();
  Seed(w, enc.get());
  NebariConfig c = Config();
  c.node_groups.push_back(Group("gpu", kCanaryInstance, 0, 2));
  pid_t pid = ::fork();
  if (pid == 0) {
    w.Open();
    auto child_enc = Encryption();
    w.cloud.after_create = [] { ::kill(::getpid(), SIGKILL); };  // dies right after the cloud call
    DeployResult r;
    (void)w.Deploy(c, child_enc.get(), &r);
    _exit(0);
  }
  int status;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(w.cloud.Count("cloud.node_groups"), 2);  // the cloud has it; the state does not
  EXPECT_EQ(FilesWithCanary(w.dir), 0) << "the open journal intent must be sealed";

  w.Open();
  {
    DeployResult r;
    Status st = w.Deploy(c, nullptr, &r);  // no key: refuses before touching anything
    EXPECT_EQ(st.code(), ErrorCode::kUnauthenticated) << st.ToString();
  }
  auto enc2 = Encryption();
  DeployResult r;
  Status st = w.Deploy(c, enc2.get(), &r);
  ASSERT_TRUE(st.ok()) << st.ToString();
  ASSERT_EQ(r.recovered.size(), 1u);
  EXPECT_NE(r.recovered[0].find("adopted"), std::string::npos);
  int creates = 0;
  for (const auto& l : w.cloud.WriteLog()) creates += l == "create gpu";
  EXPECT_EQ(creates, 1) << "no duplicate";
  EXPECT_EQ(FilesWithCanary(w.dir), 0);
  EXPECT_TRUE(IsEncryptedState(testing::ReadFileOrDie(w.dir.File("nic-state.json"))));
}

}  // namespace
}  // namespace nic

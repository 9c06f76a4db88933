// State encryption through the real nic binary on the local backend: keys from NIC_STATE_*,
// exit codes for a missing/wrong key (9), tampering (6) and a refused plaintext state (10),
// nic state encrypt/decrypt (one new serial each, recorded in history, under the lock),
// rotation through NIC_STATE_FALLBACK_KEY, and no plaintext canary in any file of the state
// directory.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "nic/crypto.h"
#include "nic/env.h"
#include "nic/state.h"
#include "nic/state_encryption.h"
#include "tests/support/test_util.h"

namespace nic {
namespace {

using json = nlohmann::json;
using testing::RunNic;

const char kCanary[] = "CANARY-cli-91c2-must-stay-encrypted";
const char kKeyA[] = "4f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
const char kKeyB[] = "QkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkI=";

struct Fixture {
  testing::TempDir dir;
  testing::TempDir inputs;  // documents to push live outside the state directory
  std::string state = dir.File("state/nic-state.json");
  std::vector<std::string> Args(std::vector<std::string> a) const {
    a.insert(a.end(), {"--state", state, "--format", "json"});
    return a;
  }
  std::string Doc(uint64_t serial, const std::string& lineage = "") const {
    StateDocument d = StateDocument::NewEmpty("aws", "demo", "us-west-2", Env::Default()->NowMicros());
    if (!lineage.empty()) d.lineage = lineage;
    d.serial = serial;
    d.cloud["node_groups"] = json::array({{{"name", "general"}, {"secret_note", kCanary}}});
    return inputs.Write("doc-" + std::to_string(serial) + ".json", SerializeStateDocument(d));
  }
  std::string Stored() const { return testing::ReadFileOrDie(state); }
  void ExpectNoCanary() const {
    int n = 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir.path())) {
      if (!e.is_regular_file()) continue;
      ++n;
      EXPECT_EQ(testing::ReadFileOrDie(e.path().string()).find(kCanary), std::string::npos) << e.path();
    }
    EXPECT_GE(n, 3);
  }
};

std::map<std::string, std::string> Key(const char* k) { return {{"NIC_STATE_KEY", k}}; }

TEST(StateEncryptionCli, EncryptedPushShowHistoryAndNoPlaintextOnDisk) {
  Fixture f;
  auto p1 = RunNic(f.Args({"state", "push", f.Doc(1)}), Key(kKeyA));
  ASSERT_EQ(p1.exit_code, 0) << p1.out << p1.err;
  std::string lineage = json::parse(p1.out)["lineage"];
  auto p2 = RunNic(f.Args({"state", "push", f.Doc(2, lineage)}), Key(kKeyA));
  ASSERT_EQ(p2.exit_code, 0) << p2.out << p2.err;
  EXPECT_TRUE(IsEncryptedState(f.Stored()));
  EXPECT_TRUE(IsEncryptedState(testing::ReadFileOrDie(f.state + ".backup")));
  f.ExpectNoCanary();

  auto show = RunNic(f.Args({"state", "show"}), Key(kKeyA));
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_EQ(json::parse(show.out)["serial"], 2);
  auto pull = RunNic({"state", "pull", "--state", f.state}, Key(kKeyA));
  ASSERT_EQ(pull.exit_code, 0);
  EXPECT_NE(pull.out.find(kCanary), std::string::npos) << "pull prints the decrypted document";
  auto old = RunNic(f.Args({"state", "show", "--serial", "1"}), Key(kKeyA));
  ASSERT_EQ(old.exit_code, 0) << old.out << old.err;
  EXPECT_EQ(json::parse(old.out)["serial"], 1);

  // Without a key: exit 9, naming what is needed.
  auto nokey = RunNic(f.Args({"state", "show"}));
  EXPECT_EQ(nokey.exit_code, 9) << nokey.out;
  json e = json::parse(nokey.out)["error"];
  EXPECT_EQ(e["code"], "UNAUTHENTICATED");
  EXPECT_NE(e["message"].get<std::string>().find("no state encryption key is configured"), std::string::npos);
  EXPECT_NE(e["recovery_suggestions"][0].get<std::string>().find("NIC_STATE_KEY"), std::string::npos);
  // Wrong key: exit 9, nothing written.
  const std::string before = f.Stored();
  auto wrong = RunNic(f.Args({"state", "push", f.Doc(3, lineage)}), Key(kKeyB));
  EXPECT_EQ(wrong.exit_code, 9) << wrong.out;
  EXPECT_EQ(wrong.out.find(kKeyB), std::string::npos);
  EXPECT_EQ(f.Stored(), before);
}

TEST(StateEncryptionCli, TamperingIsExit6AndNothingIsWritten) {
  Fixture f;
  ASSERT_EQ(RunNic(f.Args({"state", "push", f.Doc(1)}), Key(kKeyA)).exit_code, 0);
  std::string s = f.Stored();
  std::string ct;
  auto h = ParseEnvelope(s, "x", &ct);
  ASSERT_TRUE(h.ok());
  ct[5] ^= 0x40;
  auto at = s.find("\"ciphertext\": \"");
  ASSERT_NE(at, std::string::npos);
  s = s.substr(0, at) + "\"ciphertext\": \"" + crypto::Base64Encode(ct) + "\"\n}\n";
  testing::WriteFileOrDie(f.state, s);
  auto show = RunNic(f.Args({"state", "show"}), Key(kKeyA));
  EXPECT_EQ(show.exit_code, 6) << show.out;
  EXPECT_NE(json::parse(show.out)["error"]["message"].get<std::string>().find("authentication failed"), std::string::npos);
  auto enc = RunNic(f.Args({"state", "encrypt"}), Key(kKeyA));
  EXPECT_EQ(enc.exit_code, 6);
  EXPECT_EQ(f.Stored(), s);
}

TEST(StateEncryptionCli, EncryptAndDecryptSwitchAnExistingStateWithOneSerialEach) {
  Fixture f;
  ASSERT_EQ(RunNic(f.Args({"state", "push", f.Doc(5)})).exit_code, 0);
  ASSERT_FALSE(IsEncryptedState(f.Stored()));
  // Encryption configured, state still plaintext: refused (exit 10) until migrated.
  auto refused = RunNic(f.Args({"state", "show"}), Key(kKeyA));
  EXPECT_EQ(refused.exit_code, 10) << refused.out;
  EXPECT_NE(json::parse(refused.out)["error"]["recovery_suggestions"][0].get<std::string>().find("nic state encrypt"),
            std::string::npos);
  auto nokey = RunNic(f.Args({"state", "encrypt"}));
  EXPECT_EQ(nokey.exit_code, 4);

  auto enc = RunNic(f.Args({"state", "encrypt"}), Key(kKeyA));
  ASSERT_EQ(enc.exit_code, 0) << enc.out << enc.err;
  json r = json::parse(enc.out);
  EXPECT_EQ(r["previous_serial"], 5);
  EXPECT_EQ(r["serial"], 6);
  EXPECT_EQ(r["was_encrypted"], false);
  EXPECT_EQ(r["encrypted"], true);
  EXPECT_EQ(r["key_provider"], "raw_key");
  EXPECT_EQ(r["sealed_history_versions"], 1);
  EXPECT_TRUE(IsEncryptedState(f.Stored()));
  // The plaintext serial 5 left in .backup and in history is sealed too.
  f.ExpectNoCanary();
  auto old5 = RunNic(f.Args({"state", "show", "--serial", "5"}), Key(kKeyA));
  ASSERT_EQ(old5.exit_code, 0) << old5.out << old5.err;
  EXPECT_EQ(json::parse(old5.out)["serial"], 5);
  auto hist = RunNic(f.Args({"state", "history"}), Key(kKeyA));
  ASSERT_EQ(hist.exit_code, 0) << hist.err;
  EXPECT_EQ(json::parse(hist.out)["versions"][0]["operation"], "state encrypt");
  EXPECT_EQ(json::parse(hist.out)["versions"][0]["serial"], 6);

  // Rotation: new primary B, old key A as fallback; state encrypt re-encrypts with B.
  std::map<std::string, std::string> rot = {{"NIC_STATE_KEY", kKeyB}, {"NIC_STATE_FALLBACK_KEY", kKeyA}};
  auto show = RunNic(f.Args({"state", "show"}), rot);
  ASSERT_EQ(show.exit_code, 0) << show.out;
  const std::string lineage = json::parse(show.out)["lineage"];
  auto reenc = RunNic(f.Args({"state", "encrypt"}), rot);
  ASSERT_EQ(reenc.exit_code, 0) << reenc.out << reenc.err;
  json rr = json::parse(reenc.out);
  EXPECT_EQ(rr["read_with_fallback_key"], true);
  EXPECT_NE(rr["key_id"], rr["previous_key_id"]);
  EXPECT_EQ(rr["serial"], 7);
  EXPECT_EQ(RunNic(f.Args({"state", "show"}), Key(kKeyA)).exit_code, 9);
  EXPECT_EQ(RunNic(f.Args({"state", "show"}), Key(kKeyB)).exit_code, 0);
  // Rolling back to the plaintext serial 5 writes it encrypted (history keeps the old form).
  auto rb = RunNic(f.Args({"state", "rollback", "--to", "6"}), Key(kKeyB));
  EXPECT_EQ(rb.exit_code, 9) << "serial 6 was sealed with key A: " << rb.out;
  auto rb2 = RunNic(f.Args({"state", "rollback", "--to", "6"}), rot);
  ASSERT_EQ(rb2.exit_code, 0) << rb2.out << rb2.err;
  EXPECT_TRUE(IsEncryptedState(f.Stored()));

  // A fallback alone may read but not silently write plaintext.
  const std::string before = f.Stored();
  auto only_fallback = RunNic(f.Args({"state", "push", f.Doc(20, lineage)}), {{"NIC_STATE_FALLBACK_KEY", kKeyB}});
  EXPECT_EQ(only_fallback.exit_code, 10) << only_fallback.out;
  EXPECT_EQ(f.Stored(), before);

  auto dec = RunNic(f.Args({"state", "decrypt"}), Key(kKeyB));
  ASSERT_EQ(dec.exit_code, 0) << dec.out << dec.err;
  json d = json::parse(dec.out);
  EXPECT_EQ(d["serial"], 9);
  EXPECT_EQ(d["was_encrypted"], true);
  EXPECT_EQ(d["encrypted"], false);
  EXPECT_FALSE(IsEncryptedState(f.Stored()));
  EXPECT_EQ(RunNic(f.Args({"state", "show"})).exit_code, 0);
}

TEST(StateEncryptionCli, MigrateNeverCopiesAnEncryptedStateOutInPlaintext) {
  Fixture f;
  ASSERT_EQ(RunNic(f.Args({"state", "push", f.Doc(3)}), Key(kKeyA)).exit_code, 0);
  const std::string dst = f.dir.File("moved/nic-state.json");
  auto refused = RunNic(f.Args({"state", "migrate", "--to-backend", "local", "--to-state", dst}),
                        {{"NIC_STATE_FALLBACK_KEY", kKeyA}});
  EXPECT_EQ(refused.exit_code, 10) << refused.out;
  EXPECT_FALSE(std::filesystem::exists(dst));
  auto moved = RunNic(f.Args({"state", "migrate", "--to-backend", "local", "--to-state", dst}), Key(kKeyA));
  ASSERT_EQ(moved.exit_code, 0) << moved.out << moved.err;
  EXPECT_TRUE(IsEncryptedState(testing::ReadFileOrDie(dst)));
  f.ExpectNoCanary();
}

TEST(StateEncryptionCli, PassphraseAndConfigurationErrors) {
  Fixture f;
  std::map<std::string, std::string> pass = {{"NIC_STATE_PASSPHRASE", "a long enough passphrase for the test"}};
  ASSERT_EQ(RunNic(f.Args({"state", "push", f.Doc(1)}), pass).exit_code, 0);
  auto h = ParseEnvelope(f.Stored(), "x", nullptr);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->iterations, 600000);
  EXPECT_EQ(RunNic(f.Args({"state", "show"}), pass).exit_code, 0);
  auto wrong = RunNic(f.Args({"state", "show"}), {{"NIC_STATE_PASSPHRASE", "not the passphrase used here"}});
  EXPECT_EQ(wrong.exit_code, 9);
  auto both = RunNic(f.Args({"state", "show"}), {{"NIC_STATE_PASSPHRASE", "a long enough passphrase for the test"},
                                                  {"NIC_STATE_KEY", kKeyA}});
  EXPECT_EQ(both.exit_code, 4);
  EXPECT_NE(both.out.find("set exactly one"), std::string::npos) << both.out;
  auto bad = RunNic(f.Args({"state", "show"}), {{"NIC_STATE_KEY", "too-short-secret"}});
  EXPECT_EQ(bad.exit_code, 4);
  EXPECT_EQ(bad.out.find("too-short-secret"), std::string::npos);
  auto iters = RunNic(f.Args({"state", "show"}), {{"NIC_STATE_PASSPHRASE", "a long enough passphrase for the test"},
                                                   {"NIC_STATE_PBKDF2_ITERATIONS", "1000"}});
  EXPECT_EQ(iters.exit_code, 4);
}

}  // namespace
}  // namespace nic

// Client-side state encryption through the real StateManager + local backend + history DB:
// round trips, a fresh nonce per write, tampering and wrong keys refused with nothing written,
// key rotation through the fallback key, the PBKDF2 passphrase provider at its real
// 600k-iteration cost (derived once per provider), and no plaintext left on disk.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "backends/local/local_backend.h"
#include "nic/crypto.h"
#include "nic/env.h"
#include "nic/history.h"
#include "nic/state_encryption.h"
#include "nic/state_manager.h"
#include "tests/support/test_util.h"

namespace nic {
namespace {

using json = nlohmann::json;

const char kCanary[] = "CANARY-7f3a-do-not-store-in-plaintext";
const char kKeyA[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
const char kKeyB[] = "ZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmZmY=";  // base64 of 32 x 'f'

std::unique_ptr<KeyProvider> Raw(const char* k, const char* src = "NIC_STATE_KEY") {
  auto p = NewRawKeyProvider(k, src);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return std::move(p).value();
}

std::unique_ptr<StateEncryption> Enc(std::unique_ptr<KeyProvider> primary, std::unique_ptr<KeyProvider> fallback = nullptr) {
  StateEncryptionOptions o;
  o.primary = std::move(primary);
  o.fallback = std::move(fallback);
  return std::make_unique<StateEncryption>(std::move(o));
}

StateDocument CanaryDoc() {
  StateDocument d = StateDocument::NewEmpty("aws", "demo", "us-west-2", Env::Default()->NowMicros());
  d.cloud["node_groups"] = json::array({{{"name", "general"}, {"secret_note", kCanary}}});
  return d;
}

// One "command": a backend, history and manager over the state in `dir`.
struct Cmd {
  Cmd(const testing::TempDir& dir, StateEncryption* enc)
      : backend(dir.File("nic-state.json"), Env::Default()), history(HistoryDb::Open(dir.File("nic-history.db")).value()) {
    StateManagerOptions o;
    o.history = history.get();
    o.encryption = enc;
    manager = std::make_unique<StateManager>(&backend, o);
  }
  // Lock, read, set the canary doc (or modify), persist, unlock.
  Status Write(StateDocument* doc = nullptr) {
    auto id = manager->Lock("test");
    if (!id.ok()) return id.status();
    auto cur = manager->Read();
    if (!cur.ok()) {
      (void)manager->Unlock();
      return cur.status();
    }
    StateDocument d = cur.value() ? *cur.value() : CanaryDoc();
    d.metadata.deploy_count += 1;
    Status st = manager->Persist(d, "test");
    (void)manager->Unlock();
    if (doc) *doc = d;
    return st;
  }
  LocalBackend backend;
  std::unique_ptr<HistoryDb> history;
  std::unique_ptr<StateManager> manager;
};

std::string Stored(const testing::TempDir& dir) { return testing::ReadFileOrDie(dir.File("nic-state.json")); }

// Every byte of every file under `dir` (state, .backup, .lock, history DB and its -wal/-shm).
void ExpectNoCanaryOnDisk(const testing::TempDir& dir) {
  int files = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir.path())) {
    if (!e.is_regular_file()) continue;
    ++files;
    std::string bytes = testing::ReadFileOrDie(e.path().string());
    EXPECT_EQ(bytes.find(kCanary), std::string::npos) << "plaintext canary found in " << e.path();
  }
  EXPECT_GE(files, 3);  // state, backup, history at least
}

TEST(StateEncryption, RawKeyRoundTripStoresOnlyTheEnvelopeEverywhere) {
  testing::TempDir dir;
  auto enc = Enc(Raw(kKeyA));
  Cmd c(dir, enc.get());
  StateDocument written;
  ASSERT_TRUE(c.Write(&written).ok());
  ASSERT_TRUE(c.Write(&written).ok());  // second write: .backup now holds the first envelope
  ASSERT_TRUE(c.Write(&written).ok());
  EXPECT_EQ(written.serial, 3u);
  std::string stored = Stored(dir);
  ASSERT_TRUE(IsEncryptedState(stored));
  std::string ct;
  auto h = ParseEnvelope(stored, "x", &ct);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->method, "aes-256-gcm");
  EXPECT_EQ(h->key_provider, "raw_key");
  EXPECT_EQ(h->lineage, written.lineage);
  EXPECT_EQ(h->serial, 3u);
  EXPECT_EQ(h->nonce.size(), 12u);
  EXPECT_EQ(h->key_id.rfind("hmac-sha256:", 0), 0u);
  ExpectNoCanaryOnDisk(dir);

  // A new command with the same key reads the document back intact.
  auto enc2 = Enc(Raw(kKeyA));
  Cmd c2(dir, enc2.get());
  auto doc = c2.manager->Read();
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_EQ(doc.value()->serial, 3u);
  EXPECT_EQ(doc.value()->cloud["node_groups"][0]["secret_note"], kCanary);
  EXPECT_TRUE(c2.manager->last_read_encryption().encrypted);
  // History holds what the backend stores, and ParseStored opens it.
  auto v = c2.history->GetVersion(written.lineage, 2);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(IsEncryptedState(v->document));
  auto old = c2.manager->ParseStored(v->document, "history serial 2");
  ASSERT_TRUE(old.ok()) << old.status().ToString();
  EXPECT_EQ(old->serial, 2u);
}

TEST(StateEncryption, EveryWriteHasAFreshNonce) {
  auto enc = Enc(Raw(kKeyA));
  std::string plain = SerializeStateDocument(CanaryDoc());
  auto a = enc->Encode(plain, "L", 1, 1);
  auto b = enc->Encode(plain, "L", 1, 1);
  ASSERT_TRUE(a.ok() && b.ok());
  std::string cta, ctb;
  auto ha = ParseEnvelope(*a, "a", &cta);
  auto hb = ParseEnvelope(*b, "b", &ctb);
  ASSERT_TRUE(ha.ok() && hb.ok());
  EXPECT_NE(ha->nonce, hb->nonce);
  EXPECT_NE(cta, ctb);
  EXPECT_EQ(enc->Decode(*a, "a").value(), plain);
  EXPECT_EQ(enc->Decode(*b, "b").value(), plain);
}

// Replaces the first occurrence of `from` in the stored state file.
void Patch(const testing::TempDir& dir, const std::string& from, const std::string& to) {
  std::string s = Stored(dir);
  auto at = s.find(from);
  ASSERT_NE(at, std::string::npos) << from;
  s.replace(at, from.size(), to);
  testing::WriteFileOrDie(dir.File("nic-state.json"), s);
}

TEST(StateEncryption, TamperedCiphertextOrMetadataFailsAndWritesNothing) {
  testing::TempDir dir;
  auto enc = Enc(Raw(kKeyA));
  StateDocument written;
  {
    Cmd c(dir, enc.get());
    ASSERT_TRUE(c.Write(&written).ok());
    ASSERT_TRUE(c.Write(&written).ok());
  }
  const std::string intact = Stored(dir);
  std::string ct;
  auto h = ParseEnvelope(intact, "x", &ct);
  ASSERT_TRUE(h.ok());

  struct Case {
    const char* what;
    std::string from, to;
  };
  std::string serial_field = "\"serial\":" + std::to_string(h->serial);
  std::string flipped_lineage = written.lineage;
  flipped_lineage[0] = flipped_lineage[0] == 'a' ? 'b' : 'a';
  // One byte of the ciphertext, re-encoded as valid base64 so only the GCM tag can notice.
  std::string ct_flipped = ct;
  ct_flipped[ct_flipped.size() / 2] ^= 0x01;
  std::vector<Case> cases = {
      {"ciphertext byte", crypto::Base64Encode(ct), crypto::Base64Encode(ct_flipped)},
      {"serial", serial_field, "\"serial\":" + std::to_string(h->serial + 5)},
      {"lineage", "\"lineage\":\"" + written.lineage + "\"", "\"lineage\":\"" + flipped_lineage + "\""},
      {"extra metadata", "\"method\":", "\"note\":\"x\",\"method\":"},
  };
  for (const auto& k : cases) {
    SCOPED_TRACE(k.what);
    testing::WriteFileOrDie(dir.File("nic-state.json"), intact);
    Patch(dir, k.from, k.to);
    const std::string tampered = Stored(dir);
    const std::string backup = testing::ReadFileOrDie(dir.File("nic-state.json.backup"));
    auto enc2 = Enc(Raw(kKeyA));
    Cmd c(dir, enc2.get());
    Status st = c.Write();
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.code(), ErrorCode::kInvalidState) << st.ToString();
    EXPECT_EQ(st.exit_code(), 6);
    EXPECT_NE(st.message().find("authentication failed"), std::string::npos) << st.message();
    EXPECT_EQ(Stored(dir), tampered) << "nothing may be written";
    EXPECT_EQ(testing::ReadFileOrDie(dir.File("nic-state.json.backup")), backup);
  }
  // A damaged envelope (not base64) names the field.
  testing::WriteFileOrDie(dir.File("nic-state.json"), intact);
  Patch(dir, "\"nonce\":\"", "\"nonce\":\"*");
  auto enc3 = Enc(Raw(kKeyA));
  Cmd c3(dir, enc3.get());
  auto r = c3.manager->Read();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidState);
  EXPECT_NE(r.status().message().find("nic_encryption.nonce"), std::string::npos) << r.status().message();
}

TEST(StateEncryption, WrongKeyOrNoKeyIsExit9NamingWhatIsNeededAndWritesNothing) {
  testing::TempDir dir;
  {
    auto enc = Enc(Raw(kKeyA));
    Cmd c(dir, enc.get());
    ASSERT_TRUE(c.Write().ok());
  }
  const std::string stored = Stored(dir);
  {
    auto enc = Enc(Raw(kKeyB));
    Cmd c(dir, enc.get());
    Status st = c.Write();
    EXPECT_EQ(st.code(), ErrorCode::kUnauthenticated) << st.ToString();
    EXPECT_EQ(st.exit_code(), 9);
    EXPECT_NE(st.message().find("is not the one the state was encrypted with"), std::string::npos) << st.message();
    EXPECT_EQ(st.message().find(kKeyB), std::string::npos) << "a key must never appear in a message";
  }
  {
    Cmd c(dir, nullptr);  // no encryption configured at all
    Status st = c.Write();
    EXPECT_EQ(st.code(), ErrorCode::kUnauthenticated) << st.ToString();
    EXPECT_NE(st.message().find("no state encryption key is configured"), std::string::npos) << st.message();
    ASSERT_FALSE(st.suggestions().empty());
    EXPECT_NE(st.suggestions()[0].find("NIC_STATE_KEY"), std::string::npos) << st.suggestions()[0];
  }
  {
    auto p = NewPassphraseKeyProvider("a passphrase of reasonable length", "NIC_STATE_PASSPHRASE");
    ASSERT_TRUE(p.ok());
    auto enc = Enc(std::move(p).value());
    Cmd c(dir, enc.get());
    Status st = c.Write();
    EXPECT_EQ(st.code(), ErrorCode::kUnauthenticated);
    EXPECT_NE(st.message().find("NIC_STATE_PASSPHRASE is a passphrase"), std::string::npos) << st.message();
  }
  EXPECT_EQ(Stored(dir), stored);
  EXPECT_FALSE(std::filesystem::exists(dir.File("nic-state.json.backup")));
}

TEST(StateEncryption, FallbackKeyReadsThenWritesReencryptWithThePrimary) {
  testing::TempDir dir;
  {
    auto enc = Enc(Raw(kKeyA));
    Cmd c(dir, enc.get());
    ASSERT_TRUE(c.Write().ok());
  }
  std::string old_id = ParseEnvelope(Stored(dir), "x", nullptr)->key_id;
  {
    auto enc = Enc(Raw(kKeyB), Raw(kKeyA, "NIC_STATE_FALLBACK_KEY"));
    Cmd c(dir, enc.get());
    auto r = c.manager->Read();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(c.manager->last_read_encryption().used_fallback);
    EXPECT_EQ(c.manager->last_read_encryption().key_id, old_id);
    ASSERT_TRUE(c.Write().ok());
  }
  auto h = ParseEnvelope(Stored(dir), "x", nullptr);
  ASSERT_TRUE(h.ok());
  EXPECT_NE(h->key_id, old_id);
  EXPECT_EQ(h->serial, 2u);
  {
    // The old key alone no longer opens it; the new one does, without a fallback.
    auto old_only = Enc(Raw(kKeyA));
    Cmd c(dir, old_only.get());
    EXPECT_EQ(c.manager->Read().status().code(), ErrorCode::kUnauthenticated);
    auto enc = Enc(Raw(kKeyB));
    Cmd c2(dir, enc.get());
    auto r = c2.manager->Read();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_FALSE(c2.manager->last_read_encryption().used_fallback);
  }
}

TEST(StateEncryption, PassphraseUsesPbkdf2With600kIterationsDerivedOncePerCommand) {
  testing::TempDir dir;
  const std::string pass = "correct horse battery staple, long enough";
  int64_t before = Pbkdf2DerivationCount();
  {
    auto enc = Enc(NewPassphraseKeyProvider(pass, "NIC_STATE_PASSPHRASE").value());
    Cmd c(dir, enc.get());
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(c.Write().ok());
  }
  EXPECT_EQ(Pbkdf2DerivationCount() - before, 1) << "three writes in one command derive the key once";
  auto h = ParseEnvelope(Stored(dir), "x", nullptr);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->key_provider, "passphrase");
  EXPECT_EQ(h->kdf, "pbkdf2-hmac-sha512");
  EXPECT_EQ(h->iterations, 600000);
  EXPECT_EQ(h->salt.size(), 16u);
  ExpectNoCanaryOnDisk(dir);

  before = Pbkdf2DerivationCount();
  {
    // A second command: reads (derives with the stored salt) and writes twice, reusing it.
    auto enc = Enc(NewPassphraseKeyProvider(pass, "NIC_STATE_PASSPHRASE").value());
    Cmd c(dir, enc.get());
    ASSERT_TRUE(c.Write().ok());
    ASSERT_TRUE(c.Write().ok());
  }
  EXPECT_EQ(Pbkdf2DerivationCount() - before, 1);
  EXPECT_EQ(ParseEnvelope(Stored(dir), "x", nullptr)->salt, h->salt);

  {
    auto enc = Enc(NewPassphraseKeyProvider("a different passphrase entirely", "NIC_STATE_PASSPHRASE").value());
    Cmd c(dir, enc.get());
    Status st = c.Write();
    EXPECT_EQ(st.code(), ErrorCode::kUnauthenticated);
    EXPECT_NE(st.message().find("passphrase in NIC_STATE_PASSPHRASE is not the one"), std::string::npos) << st.message();
  }
  auto short_pass = NewPassphraseKeyProvider("short", "NIC_STATE_PASSPHRASE");
  EXPECT_EQ(short_pass.status().code(), ErrorCode::kUsage);
  EXPECT_EQ(NewPassphraseKeyProvider(pass, "X", 1000).status().code(), ErrorCode::kUsage);
}

TEST(StateEncryption, PlaintextStateIsRefusedUntilMigratedAndDecryptingNeedsConsent) {
  testing::TempDir dir;
  {
    Cmd c(dir, nullptr);
    ASSERT_TRUE(c.Write().ok());
  }
  const std::string plain = Stored(dir);
  ASSERT_FALSE(IsEncryptedState(plain));
  {
    auto enc = Enc(Raw(kKeyA));
    Cmd c(dir, enc.get());
    Status st = c.Write();
    EXPECT_EQ(st.code(), ErrorCode::kRefused) << st.ToString();
    EXPECT_EQ(st.exit_code(), 10);
    EXPECT_NE(st.suggestions()[0].find("nic state encrypt"), std::string::npos);
    EXPECT_EQ(Stored(dir), plain);
    // The migration path (nic state encrypt) allows the plaintext read and writes encrypted.
    enc->set_allow_plaintext_read(true);
    ASSERT_TRUE(c.Write().ok());
  }
  ASSERT_TRUE(IsEncryptedState(Stored(dir)));
  {
    // Only a fallback key: reading works, silently writing plaintext does not.
    auto enc = Enc(nullptr, Raw(kKeyA, "NIC_STATE_FALLBACK_KEY"));
    Cmd c(dir, enc.get());
    Status st = c.Write();
    EXPECT_EQ(st.code(), ErrorCode::kRefused) << st.ToString();
    EXPECT_TRUE(IsEncryptedState(Stored(dir)));
    enc->set_write_plaintext(true);  // nic state decrypt
    ASSERT_TRUE(c.Write().ok());
  }
  EXPECT_FALSE(IsEncryptedState(Stored(dir)));
}

TEST(StateEncryption, RawKeyParsingAcceptsHexAndBase64AndNeverEchoesTheValue) {
  EXPECT_TRUE(NewRawKeyProvider(kKeyA, "K").ok());
  EXPECT_TRUE(NewRawKeyProvider(kKeyB, "K").ok());
  EXPECT_TRUE(NewRawKeyProvider(std::string(kKeyB) + "\n", "K").ok());
  // Hex and base64 spellings of the same key have the same fingerprint.
  std::string raw(32, '\0');
  for (int i = 0; i < 32; ++i) raw[i] = static_cast<char>(i);
  auto hex = NewRawKeyProvider(kKeyA, "K").value()->KeyForWrite("L");
  auto b64 = NewRawKeyProvider(crypto::Base64Encode(raw), "K").value()->KeyForWrite("L");
  EXPECT_EQ(hex->fields.key_id, b64->fields.key_id);
  for (const char* bad : {"abcd", "00112233445566778899aabbccddeeff", "not-base64-or-hex-!!"}) {
    auto p = NewRawKeyProvider(bad, "NIC_STATE_KEY");
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.status().code(), ErrorCode::kUsage);
    EXPECT_NE(p.status().message().find("NIC_STATE_KEY"), std::string::npos);
    EXPECT_EQ(p.status().message().find(bad), std::string::npos);
  }
}

}  // namespace
}  // namespace nic

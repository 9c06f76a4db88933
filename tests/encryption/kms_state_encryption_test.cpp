// State encryption with AWS KMS data keys against moto_server (which implements KMS
// GenerateDataKey/Decrypt with real AES-GCM wrapping and checks KeyId and the encryption
// context): round trip, a wrong or unknown key id, a tampered wrapped key, rotation through
// the fallback key, and the real binary configured only through NIC_STATE_KMS_KEY_ID.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "backends/local/local_backend.h"
#include "nic/aws_auth.h"
#include "nic/backend.h"
#include "nic/crypto.h"
#include "nic/env.h"
#include "nic/history.h"
#include "nic/retry.h"
#include "nic/state_encryption_config.h"
#include "nic/state_manager.h"
#include "tests/support/moto_server.h"
#include "tests/support/test_util.h"

namespace nic {
namespace {

using json = nlohmann::json;

const char kCanary[] = "CANARY-kms-3b1e-never-plaintext";
const char kRegion[] = "us-east-1";

class KmsEncryption : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto m = testing::MotoServer::Start();
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    moto_ = std::move(m).value().release();
    transport_ = std::shared_ptr<http::Transport>(http::NewCurlTransport());
  }
  static void TearDownTestSuite() {
    delete moto_;
    moto_ = nullptr;
  }

  static std::shared_ptr<aws::CredentialProvider> Creds() {
    return std::make_shared<aws::StaticCredentials>(aws::Credentials{"AKIDTEST", "secret", "", 0, "test"});
  }

  // CreateKey through the same signer; returns {KeyId, Arn}.
  static std::pair<std::string, std::string> CreateKey() {
    http::Request req = aws::JsonRequest(moto_->endpoint(), "TrentService.CreateKey", "{\"Description\":\"nic test\"}", "1.1");
    req.service = "kms";
    aws::SigV4Options o;
    o.region = kRegion;
    o.service = "kms";
    aws::SigV4Authorizer signer(Creds(), o);
    auto r = http::SendWithRetry(*transport_, req, &signer);
    EXPECT_TRUE(r.ok() && r->status == 200) << (r.ok() ? r->body : r.status().ToString());
    json j = json::parse(r->body);
    return {j["KeyMetadata"]["KeyId"], j["KeyMetadata"]["Arn"]};
  }

  static std::unique_ptr<KeyProvider> Kms(const std::string& key_id, const std::string& source = "NIC_STATE_KMS_KEY_ID") {
    AwsKmsKeyOptions o;
    o.key_id = key_id;
    o.region = kRegion;
    o.endpoint = moto_->endpoint();
    o.credentials = Creds();
    o.transport = transport_;
    o.retry.policy.max_attempts = 2;
    o.source = source;
    auto p = NewAwsKmsKeyProvider(std::move(o));
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return std::move(p).value();
  }

  static std::unique_ptr<StateEncryption> Enc(std::unique_ptr<KeyProvider> primary, std::unique_ptr<KeyProvider> fallback = nullptr) {
    StateEncryptionOptions o;
    o.primary = std::move(primary);
    o.fallback = std::move(fallback);
    return std::make_unique<StateEncryption>(std::move(o));
  }

  static testing::MotoServer* moto_;
  static std::shared_ptr<http::Transport> transport_;
};

testing::MotoServer* KmsEncryption::moto_ = nullptr;
std::shared_ptr<http::Transport> KmsEncryption::transport_;

struct Cmd {
  Cmd(const testing::TempDir& dir, StateEncryption* enc)
      : backend(dir.File("nic-state.json"), Env::Default()), history(HistoryDb::Open(dir.File("nic-history.db")).value()) {
    StateManagerOptions o;
    o.history = history.get();
    o.encryption = enc;
    manager = std::make_unique<StateManager>(&backend, o);
  }
  Status Write() {
    NIC_RETURN_IF_ERROR(manager->Lock("test").status());
    auto cur = manager->Read();
    if (!cur.ok()) {
      (void)manager->Unlock();
      return cur.status();
    }
    StateDocument d = cur.value() ? *cur.value() : StateDocument::NewEmpty("aws", "kms", kRegion, Env::Default()->NowMicros());
    d.cloud["vpc"] = {{"id", kCanary}};
    d.metadata.deploy_count += 1;
    Status st = manager->Persist(d, "test");
    (void)manager->Unlock();
    return st;
  }
  LocalBackend backend;
  std::unique_ptr<HistoryDb> history;
  std::unique_ptr<StateManager> manager;
};

std::string Stored(const testing::TempDir& dir) { return testing::ReadFileOrDie(dir.File("nic-state.json")); }

void ExpectNoCanaryOnDisk(const testing::TempDir& dir) {
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir.path())) {
    if (!e.is_regular_file()) continue;
    EXPECT_EQ(testing::ReadFileOrDie(e.path().string()).find(kCanary), std::string::npos) << e.path();
  }
}

TEST_F(KmsEncryption, GenerateDataKeyThenDecryptRoundTrip) {
  auto [key_id, arn] = CreateKey();
  testing::TempDir dir;
  {
    auto enc = Enc(Kms(key_id));
    Cmd c(dir, enc.get());
    for (int i = 0; i < 3; ++i) { Status w = c.Write(); ASSERT_TRUE(w.ok()) << w.ToString(); }
  }
  auto h = ParseEnvelope(Stored(dir), "x", nullptr);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->key_provider, "aws_kms");
  EXPECT_EQ(h->key_id, arn);
  EXPECT_FALSE(h->encrypted_data_key.empty());
  EXPECT_EQ(h->serial, 3u);
  ExpectNoCanaryOnDisk(dir);
  // A new provider (a new command) unwraps the stored data key with Decrypt.
  auto enc = Enc(Kms(arn));
  Cmd c(dir, enc.get());
  auto doc = c.manager->Read();
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_EQ(doc.value()->cloud["vpc"]["id"], kCanary);
  { Status w = c.Write(); ASSERT_TRUE(w.ok()) << w.ToString(); }
  EXPECT_EQ(ParseEnvelope(Stored(dir), "x", nullptr)->encrypted_data_key, h->encrypted_data_key)
      << "a write after a read reuses the unwrapped data key";
}

TEST_F(KmsEncryption, WrongOrUnknownKeyIdIsAClearErrorAndWritesNothing) {
  auto [key_a, arn_a] = CreateKey();
  auto [key_b, arn_b] = CreateKey();
  testing::TempDir dir;
  {
    auto enc = Enc(Kms(key_a));
    Cmd c(dir, enc.get());
    { Status w = c.Write(); ASSERT_TRUE(w.ok()) << w.ToString(); }
  }
  const std::string stored = Stored(dir);
  {
    auto enc = Enc(Kms(key_b));
    Cmd c(dir, enc.get());
    Status st = c.Write();
    ASSERT_EQ(st.code(), ErrorCode::kUnauthenticated) << st.ToString();
    EXPECT_EQ(st.exit_code(), 9);
    EXPECT_NE(st.message().find("cannot unwrap the state's data key"), std::string::npos) << st.message();
    EXPECT_NE(st.message().find(arn_a), std::string::npos) << "names the key the state needs: " << st.message();
    EXPECT_NE(st.suggestions()[0].find("NIC_STATE_KMS_KEY_ID"), std::string::npos);
  }
  EXPECT_EQ(Stored(dir), stored);
  {
    testing::TempDir fresh;
    auto enc = Enc(Kms("alias/does-not-exist"));
    Cmd c(fresh, enc.get());
    Status st = c.Write();
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.message().find("alias/does-not-exist"), std::string::npos) << st.ToString();
    EXPECT_NE(st.message().find("NIC_STATE_KMS_KEY_ID"), std::string::npos) << st.ToString();
    EXPECT_NE(st.message().find("encrypting the state"), std::string::npos) << st.ToString();
    EXPECT_FALSE(std::filesystem::exists(fresh.File("nic-state.json")));
  }
}

TEST_F(KmsEncryption, TamperedWrappedKeyOrLineageIsInvalidState) {
  auto [key_id, arn] = CreateKey();
  testing::TempDir dir;
  {
    auto enc = Enc(Kms(key_id));
    Cmd c(dir, enc.get());
    { Status w = c.Write(); ASSERT_TRUE(w.ok()) << w.ToString(); }
  }
  const std::string intact = Stored(dir);
  auto h = ParseEnvelope(intact, "x", nullptr);
  ASSERT_TRUE(h.ok());
  std::string edk = h->encrypted_data_key;
  edk[edk.size() - 3] ^= 0x01;
  std::string other_lineage = h->lineage;
  other_lineage[0] = other_lineage[0] == 'a' ? 'b' : 'a';
  std::vector<std::pair<std::string, std::string>> cases = {
      {crypto::Base64Encode(h->encrypted_data_key), crypto::Base64Encode(edk)},
      {"\"lineage\":\"" + h->lineage + "\"", "\"lineage\":\"" + other_lineage + "\""}};
  for (const auto& [from, to] : cases) {
    std::string s = intact;
    s.replace(s.find(from), from.size(), to);
    testing::WriteFileOrDie(dir.File("nic-state.json"), s);
    auto enc = Enc(Kms(key_id));
    Cmd c(dir, enc.get());
    Status st = c.Write();
    EXPECT_EQ(st.code(), ErrorCode::kInvalidState) << st.ToString();
    EXPECT_EQ(Stored(dir), s);
  }
}

TEST_F(KmsEncryption, RotationReadsWithTheFallbackKeyAndRewritesWithThePrimary) {
  auto [old_key, old_arn] = CreateKey();
  auto [new_key, new_arn] = CreateKey();
  testing::TempDir dir;
  {
    auto enc = Enc(Kms(old_key));
    Cmd c(dir, enc.get());
    { Status w = c.Write(); ASSERT_TRUE(w.ok()) << w.ToString(); }
  }
  {
    auto enc = Enc(Kms(new_key), Kms(old_key, "NIC_STATE_FALLBACK_KMS_KEY_ID"));
    Cmd c(dir, enc.get());
    { Status w = c.Write(); ASSERT_TRUE(w.ok()) << w.ToString(); }
    EXPECT_TRUE(c.manager->last_read_encryption().used_fallback);
  }
  EXPECT_EQ(ParseEnvelope(Stored(dir), "x", nullptr)->key_id, new_arn);
  auto enc = Enc(Kms(new_key));
  Cmd c(dir, enc.get());
  EXPECT_TRUE(c.manager->Read().ok());
}

// The layer sits above the Backend interface, so a remote backend stores the envelope as is:
// the S3 backend (same moto) with a KMS key, the object read raw, then opened by a new command.
TEST_F(KmsEncryption, TheS3BackendStoresTheEnvelopeUnchanged) {
  auto [key_id, arn] = CreateKey();
  http::Request mk;
  mk.method = "PUT";
  mk.url = moto_->endpoint() + "/nic-encrypted-state";
  mk.service = "s3";
  aws::SigV4Options o;
  o.region = kRegion;
  o.service = "s3";
  o.s3 = true;
  aws::SigV4Authorizer signer(Creds(), o);
  auto made = http::SendWithRetry(*transport_, mk, &signer);
  ASSERT_TRUE(made.ok() && made->ok()) << (made.ok() ? made->body : made.status().ToString());
  BackendConfig cfg;
  cfg.type = "s3";
  cfg.values = {{"bucket", "nic-encrypted-state"}, {"key", "dev/nic-state.json"}, {"region", kRegion},
                {"access_key", "AKIDTEST"}, {"secret_key", "secret"}, {"endpoints.s3", moto_->endpoint()},
                {"use_lockfile", "true"}, {"skip_metadata_api_check", "true"}};
  auto backend = OpenBackend(cfg);
  ASSERT_TRUE(backend.ok()) << backend.status().ToString();
  testing::TempDir dir;
  auto history = HistoryDb::Open(dir.File("h.db")).value();
  for (int i = 0; i < 2; ++i) {
    auto enc = Enc(Kms(key_id));
    StateManagerOptions mo;
    mo.history = history.get();
    mo.encryption = enc.get();
    StateManager m(backend->get(), mo);
    ASSERT_TRUE(m.Lock("test").ok());
    auto cur = m.Read();
    ASSERT_TRUE(cur.ok()) << cur.status().ToString();
    StateDocument d = cur.value() ? *cur.value() : StateDocument::NewEmpty("aws", "s3", kRegion, Env::Default()->NowMicros());
    d.cloud["vpc"] = {{"id", kCanary}};
    Status st = m.Persist(d, "test");
    ASSERT_TRUE(st.ok()) << st.ToString();
    ASSERT_TRUE(m.Unlock().ok());
  }
  auto raw = backend.value()->ReadState();
  ASSERT_TRUE(raw.ok() && raw->exists);
  EXPECT_TRUE(IsEncryptedState(raw->bytes));
  EXPECT_EQ(raw->bytes.find(kCanary), std::string::npos);
  auto h = ParseEnvelope(raw->bytes, "s3", nullptr);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->serial, 2u);
  EXPECT_EQ(h->key_id, arn);
  ExpectNoCanaryOnDisk(dir);
}

TEST_F(KmsEncryption, TheBinaryTakesTheKmsKeyFromTheEnvironment) {
  auto [key_id, arn] = CreateKey();
  testing::TempDir dir;
  std::string state = dir.File("nic-state.json");
  std::map<std::string, std::string> env = {{"NIC_STATE_KMS_KEY_ID", key_id},
                                            {"AWS_REGION", kRegion},
                                            {"AWS_ENDPOINT_URL_KMS", moto_->endpoint()},
                                            {"AWS_ACCESS_KEY_ID", "AKIDTEST"},
                                            {"AWS_SECRET_ACCESS_KEY", "secret"},
                                            {"AWS_EC2_METADATA_DISABLED", "true"}};
  StateDocument d = StateDocument::NewEmpty("aws", "kms-cli", kRegion, Env::Default()->NowMicros());
  d.serial = 4;
  d.cloud["vpc"] = {{"id", kCanary}};
  std::string file = dir.Write("in/doc.json", SerializeStateDocument(d));
  auto push = testing::RunNic({"state", "push", file, "--state", state}, env);
  ASSERT_EQ(push.exit_code, 0) << push.err;
  std::filesystem::remove(file);
  ExpectNoCanaryOnDisk(dir);
  auto show = testing::RunNic({"state", "show", "--format", "json", "--state", state}, env);
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_EQ(json::parse(show.out)["serial"], 4);

  auto [other, other_arn] = CreateKey();
  env["NIC_STATE_KMS_KEY_ID"] = other;
  auto wrong = testing::RunNic({"state", "show", "--format", "json", "--state", state}, env);
  EXPECT_EQ(wrong.exit_code, 9) << wrong.out << wrong.err;
  json err = json::parse(wrong.out);
  EXPECT_EQ(err["error"]["code"], "UNAUTHENTICATED");
  EXPECT_NE(err["error"]["message"].get<std::string>().find(arn), std::string::npos);
}

}  // namespace
}  // namespace nic

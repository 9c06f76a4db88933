// The S3 backend against moto_server with signature verification on: state read/write with
// ETag preconditions, the DynamoDB lock and digest as Terraform writes them, the S3 lockfile,
// force-unlock, the stale writer, and the errors a user meets first.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <thread>

#include "nic/env.h"
#include "nic/fault_transport.h"
#include "nic/history.h"
#include "nic/state_manager.h"
#include "tests/backend_s3/s3_fixture.h"
#include "tests/support/process.h"

namespace nic {
namespace {

using s3test::LockMode;

std::string Unique(const std::string& prefix) {
  static std::atomic<int> n{0};
  return prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
}

// A bucket (and table) of its own for each test, so tests never see each other's locks.
struct Place {
  std::string bucket = Unique("nic-s3-test");
  std::string table = Unique("nic-locks");
  std::string key = "nebari/dev env/nic-state.json";  // a space: encoded once, signed as S3 wants
};

Place MakePlace(bool table = true) {
  Place p;
  EXPECT_TRUE(s3test::CreateBucket(p.bucket).ok());
  if (table) {
    EXPECT_TRUE(s3test::CreateLockTable(p.table).ok());
  }
  return p;
}

// Prints an error as a user would see it (the test log doubles as a catalogue of messages).
void Show(const Status& st) {
  std::printf("[ message  ] %s\n", st.ToString().c_str());
  for (const auto& sug : st.suggestions()) std::printf("[ message  ]   - %s\n", sug.c_str());
}

StateDocument NewDoc() { return StateDocument::NewEmpty("aws", "s3-test", "us-east-1", Env::Default()->NowMicros()); }

// Locks, reads, bumps deploy_count, persists, unlocks.
Status Cycle(Backend* backend) {
  StateManager mgr(backend, {});
  NIC_RETURN_IF_ERROR(mgr.Lock("test").status());
  NIC_ASSIGN_OR_RETURN(std::optional<StateDocument> cur, mgr.Read());
  StateDocument doc = cur ? *cur : NewDoc();
  doc.metadata.deploy_count += 1;
  NIC_RETURN_IF_ERROR(mgr.Persist(doc, "test"));
  return mgr.Unlock();
}

class S3ModeTest : public ::testing::TestWithParam<LockMode> {};

INSTANTIATE_TEST_SUITE_P(Modes, S3ModeTest, ::testing::Values(LockMode::kDynamo, LockMode::kLockfile, LockMode::kBoth),
                         [](const auto& info) { return std::string(s3test::ModeName(info.param)); });

TEST_P(S3ModeTest, WriteReadRoundTripWithEtagPreconditions) {
  Place p = MakePlace();
  auto b = s3test::OpenS3(s3test::Config(p.bucket, p.key, GetParam(), p.table));
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  auto empty = (*b)->ReadState();
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_FALSE(empty->exists);

  // Create: If-None-Match: * succeeds once; a second create is a conflict.
  auto t1 = (*b)->WriteState("one", WriteCondition{std::string()});
  ASSERT_TRUE(t1.ok()) << t1.status().ToString();
  auto again = (*b)->WriteState("other", WriteCondition{std::string()});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), ErrorCode::kConflict) << again.status().ToString();

  auto r1 = (*b)->ReadState();
  ASSERT_TRUE(r1.ok()) << r1.status().ToString();
  EXPECT_TRUE(r1->exists);
  EXPECT_EQ(r1->bytes, "one");
  EXPECT_EQ(r1->version_token, t1.value());

  // Update on the ETag read; a write on an old ETag is refused and changes nothing.
  auto t2 = (*b)->WriteState("two", WriteCondition{r1->version_token});
  ASSERT_TRUE(t2.ok()) << t2.status().ToString();
  auto stale = (*b)->WriteState("three", WriteCondition{r1->version_token});
  ASSERT_FALSE(stale.ok());
  EXPECT_EQ(stale.status().code(), ErrorCode::kConflict);
  EXPECT_NE(stale.status().message().find("refusing to write"), std::string::npos) << stale.status().message();
  auto r2 = (*b)->ReadState();
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->bytes, "two");

  if (GetParam() != LockMode::kLockfile) {
    // The digest item carries the MD5 of the bytes, exactly as Terraform writes it.
    auto digest = s3test::GetDynamoString(p.table, p.bucket + "/" + p.key + "-md5", "Digest");
    ASSERT_TRUE(digest.ok());
    EXPECT_EQ(digest.value(), s3::Md5Hex("two"));
  }
}

TEST_P(S3ModeTest, ForceUnlockChecksTheIdAndUnlockNeverDeletesANewHoldersLock) {
  Place p = MakePlace();
  auto cfg = s3test::Config(p.bucket, p.key, GetParam(), p.table);
  auto a = s3test::OpenS3(cfg).value();
  auto b = s3test::OpenS3(cfg).value();
  auto admin = s3test::OpenS3(cfg).value();

  LockInfo la = LockInfo::New("deploy", nullptr);
  la.path = a->Location();
  ASSERT_TRUE(a->Lock(la).ok());

  // A held lock: kLockHeld (exit 3), naming holder and ID.
  LockInfo lb = LockInfo::New("deploy", nullptr);
  Status held = b->Lock(lb);
  ASSERT_EQ(held.code(), ErrorCode::kLockHeld) << held.ToString();
  EXPECT_EQ(held.exit_code(), 3);
  EXPECT_NE(held.message().find(la.id), std::string::npos) << held.message();

  auto current = admin->CurrentLock();
  ASSERT_TRUE(current.ok() && current->has_value());
  EXPECT_EQ((*current)->id, la.id);

  // Wrong ID: refused, and nothing was released.
  LockInfo released;
  std::string matched;
  Status wrong = admin->ForceUnlock("00000000-0000-4000-8000-000000000000", &released, &matched);
  EXPECT_EQ(wrong.code(), ErrorCode::kConflict) << wrong.ToString();
  EXPECT_EQ(b->Lock(lb).code(), ErrorCode::kLockHeld);

  // Right ID: released, holder reported.
  ASSERT_TRUE(admin->ForceUnlock(la.id, &released, &matched).ok());
  EXPECT_EQ(released.id, la.id);
  EXPECT_EQ(released.operation, "deploy");
  EXPECT_NE(matched.find("lock ID"), std::string::npos) << matched;

  // B takes it; A's late unlock must not delete B's lock (Terraform's GetItem-then-DeleteItem
  // window; here the delete itself is conditional).
  ASSERT_TRUE(b->Lock(lb).ok());
  Status late = a->Unlock(la.id);
  EXPECT_EQ(late.code(), ErrorCode::kConflict) << late.ToString();
  auto still = admin->CurrentLock();
  ASSERT_TRUE(still.ok() && still->has_value());
  EXPECT_EQ((*still)->id, lb.id);
  ASSERT_TRUE(b->Unlock(lb.id).ok());
  auto none = admin->CurrentLock();
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  EXPECT_EQ(admin->ForceUnlock(lb.id, &released, &matched).code(), ErrorCode::kNotFound);
}

TEST_P(S3ModeTest, StaleWriterWhoseLockWasBrokenCannotOverwrite) {
  Place p = MakePlace();
  auto cfg = s3test::Config(p.bucket, p.key, GetParam(), p.table);
  auto ba = s3test::OpenS3(cfg).value();
  auto bb = s3test::OpenS3(cfg).value();
  auto admin = s3test::OpenS3(cfg).value();
  ASSERT_TRUE(Cycle(ba.get()).ok());  // serial 1

  StateManager a(ba.get(), {});
  auto id_a = a.Lock("deploy");
  ASSERT_TRUE(id_a.ok());
  auto read_a = a.Read();
  ASSERT_TRUE(read_a.ok() && read_a->has_value());

  LockInfo released;
  std::string matched;
  ASSERT_TRUE(admin->ForceUnlock(id_a.value(), &released, &matched).ok());
  ASSERT_TRUE(Cycle(bb.get()).ok());  // B: serial 2

  StateDocument doc = **read_a;
  doc.metadata.deploy_count = 1000;
  Status st = a.Persist(doc, "deploy");
  ASSERT_EQ(st.code(), ErrorCode::kConflict) << st.ToString();

  auto now = admin->ReadState();
  ASSERT_TRUE(now.ok());
  auto parsed = ParseStateDocument(now->bytes, "s3");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->serial, 2u);
  EXPECT_EQ(parsed->metadata.deploy_count, 2);
}

TEST_P(S3ModeTest, RequestsPerCycle) {
  Place p = MakePlace();
  s3test::CountingTransport counter(&s3test::TestTransport());
  auto b = s3test::OpenS3(s3test::Config(p.bucket, p.key, GetParam(), p.table), &counter).value();
  ASSERT_TRUE(Cycle(b.get()).ok());  // the state exists from here on
  counter.Reset();
  ASSERT_TRUE(Cycle(b.get()).ok());
  std::string calls;
  for (const auto& c : counter.calls()) calls += c + "; ";
  // NIC: lock 1 (+1 lockfile), read 1 (+1 digest), write 1 (+2 digest PutItems: the pending MD5
  // before the PUT, see state_digest.h, and the digest after), unlock 1 (+1 lockfile).
  // Terraform: DynamoDB 7 (PutItem; GetObject+GetItem; PutObject+PutItem; GetItem+DeleteItem),
  // lockfile 5 (unlock = GetObject+DeleteObject), both 10.
  int expected = GetParam() == LockMode::kDynamo ? 7 : GetParam() == LockMode::kLockfile ? 4 : 9;
  EXPECT_EQ(counter.count(), expected) << calls;
  std::printf("[ requests ] %s cycle: %d requests: %s\n", s3test::ModeName(GetParam()), counter.count(), calls.c_str());
}

TEST(S3Backend, DigestMismatchFailsAfterTheBoundedRetryNamingBothChecksums) {
  Place p = MakePlace();
  auto cfg = s3test::Config(p.bucket, p.key, LockMode::kDynamo, p.table);
  cfg.values["digest_retry_interval"] = "100ms";
  cfg.values["digest_retry_timeout"] = "400ms";
  s3test::CountingTransport counter(&s3test::TestTransport());
  auto b = s3test::OpenS3(cfg, &counter).value();
  ASSERT_TRUE(b->WriteState("state bytes", WriteCondition{std::string()}).ok());
  const std::string wrong = s3::Md5Hex("something else");
  ASSERT_TRUE(s3test::PutDynamoString(p.table, p.bucket + "/" + p.key + "-md5", "Digest", wrong).ok());
  counter.Reset();
  auto r = b->ReadState();
  ASSERT_FALSE(r.ok());
  Show(r.status());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidState);
  const std::string& msg = r.status().message();
  EXPECT_NE(msg.find(s3::Md5Hex("state bytes")), std::string::npos) << msg;
  EXPECT_NE(msg.find(wrong), std::string::npos) << msg;
  EXPECT_NE(msg.find(p.table), std::string::npos) << msg;
  bool names_fix = false;
  for (const auto& s : r.status().suggestions()) names_fix |= s.find("put-item") != std::string::npos;
  EXPECT_TRUE(names_fix);
  // It re-read the object several times before giving up.
  int gets = 0;
  for (const auto& c : counter.calls()) gets += c == "s3 GET";
  EXPECT_GE(gets, 3);
}

TEST(S3Backend, DigestThatCatchesUpWithinTheWindowIsAccepted) {
  Place p = MakePlace();
  auto cfg = s3test::Config(p.bucket, p.key, LockMode::kDynamo, p.table);
  cfg.values["digest_retry_interval"] = "100ms";
  cfg.values["digest_retry_timeout"] = "5s";
  auto b = s3test::OpenS3(cfg).value();
  ASSERT_TRUE(b->WriteState("fresh", WriteCondition{std::string()}).ok());
  const std::string item = p.bucket + "/" + p.key + "-md5";
  ASSERT_TRUE(s3test::PutDynamoString(p.table, item, "Digest", s3::Md5Hex("stale")).ok());
  std::thread fixer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    EXPECT_TRUE(s3test::PutDynamoString(p.table, item, "Digest", s3::Md5Hex("fresh")).ok());
  });
  auto r = b->ReadState();
  fixer.join();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->bytes, "fresh");
}

TEST(S3Backend, TerraformLockItemIsRespectedAndNamed) {
  Place p = MakePlace();
  // What Terraform's lockWithDynamoDB writes (Go field names, no NIC extras).
  const std::string info =
      R"({"ID":"3f1c2a9e-1111-4222-8333-444455556666","Operation":"OperationTypeApply","Info":"","Who":"alice@laptop","Version":"1.9.5","Created":"2026-11-21T10:00:00.123456789Z","Path":")" +
      p.bucket + "/" + p.key + R"("})";
  ASSERT_TRUE(s3test::PutDynamoString(p.table, p.bucket + "/" + p.key, "Info", info).ok());
  auto b = s3test::OpenS3(s3test::Config(p.bucket, p.key, LockMode::kDynamo, p.table)).value();
  Status st = b->Lock(LockInfo::New("deploy", nullptr));
  ASSERT_EQ(st.code(), ErrorCode::kLockHeld);
  EXPECT_NE(st.message().find("alice@laptop"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("3f1c2a9e-1111-4222-8333-444455556666"), std::string::npos) << st.message();
  LockInfo released;
  std::string matched;
  ASSERT_TRUE(b->ForceUnlock("3f1c2a9e-1111-4222-8333-444455556666", &released, &matched).ok());
  EXPECT_EQ(released.who, "alice@laptop");
}

TEST(S3Backend, DamagedLockRecordCanBeForceUnlockedByItsLockId) {
  Place p = MakePlace();
  const std::string item = p.bucket + "/" + p.key;
  ASSERT_TRUE(s3test::PutDynamoString(p.table, item, "Info", "").ok());  // hashicorp/terraform#14513
  auto b = s3test::OpenS3(s3test::Config(p.bucket, p.key, LockMode::kDynamo, p.table)).value();
  Status st = b->Lock(LockInfo::New("deploy", nullptr));
  ASSERT_EQ(st.code(), ErrorCode::kLockHeld) << st.ToString();
  EXPECT_NE(st.message().find(item), std::string::npos) << st.message();
  LockInfo released;
  std::string matched;
  EXPECT_EQ(b->ForceUnlock("some-uuid", &released, &matched).code(), ErrorCode::kConflict);
  ASSERT_TRUE(b->ForceUnlock(item, &released, &matched).ok());
  EXPECT_NE(matched.find("damaged"), std::string::npos) << matched;
  EXPECT_TRUE(b->Lock(LockInfo::New("deploy", nullptr)).ok());
}

// Forwards a request and then reports a connection reset for the first PUT (or PutItem) that
// matches, as when a response is lost after the server acted. The retry layer resends it.
class LostResponseTransport final : public http::Transport {
 public:
  LostResponseTransport(http::Transport* target, std::string match, bool lockfile = false)
      : target_(target), match_(std::move(match)), lockfile_(lockfile) {}
  Result<http::Response> Send(const http::Request& r) override {
    auto resp = target_->Send(r);
    std::string name = r.method + " " + r.headers.GetOr("X-Amz-Target");
    bool is_lockfile = r.url.find(".tflock") != std::string::npos;
    if (!fired_ && name.find(match_) != std::string::npos && is_lockfile == lockfile_) {
      fired_ = true;
      return Status::Unavailable("connection reset by peer (test: response lost after the server acted)");
    }
    return resp;
  }

 private:
  http::Transport* target_;
  std::string match_;
  bool lockfile_;
  bool fired_ = false;
};

TEST(S3Backend, ALostResponseToOurOwnConditionalWriteIsNotAConflict) {
  Place p = MakePlace();
  auto cfg = s3test::Config(p.bucket, p.key, LockMode::kDynamo, p.table);
  http::RetryPolicy fast;
  fast.base_delay = std::chrono::milliseconds(1);
  {
    LostResponseTransport lost(&s3test::TestTransport(), "PUT");
    S3BackendOptions o;
    o.transport = &lost;
    o.env = auth::MapEnv({});
    o.retry_policy = fast;
    auto b = S3Backend::Open(cfg, o).value();
    auto t = b->WriteState("created once", WriteCondition{std::string()});
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    EXPECT_EQ(s3::Unquote(t.value()), s3::Md5Hex("created once"));
  }
  {
    LostResponseTransport lost(&s3test::TestTransport(), "PutItem");
    S3BackendOptions o;
    o.transport = &lost;
    o.env = auth::MapEnv({});
    o.retry_policy = fast;
    auto b = S3Backend::Open(cfg, o).value();
    LockInfo li = LockInfo::New("deploy", nullptr);
    ASSERT_TRUE(b->Lock(li).ok());  // the resent PutItem fails its condition on our own item
    ASSERT_TRUE(b->Unlock(li.id).ok());
  }
  {
    LostResponseTransport lost(&s3test::TestTransport(), "PUT", /*lockfile=*/true);
    S3BackendOptions o;
    o.transport = &lost;
    o.env = auth::MapEnv({});
    o.retry_policy = fast;
    auto b = S3Backend::Open(s3test::Config(p.bucket, p.key, LockMode::kLockfile, p.table), o).value();
    LockInfo li = LockInfo::New("deploy", nullptr);
    ASSERT_TRUE(b->Lock(li).ok());  // the resent If-None-Match PUT gets 412 on our own lockfile
    ASSERT_TRUE(b->Unlock(li.id).ok());
    auto none = b->CurrentLock();
    ASSERT_TRUE(none.ok());
    EXPECT_FALSE(none->has_value());
  }
}

TEST(S3Backend, BothLocksReleaseTheLockfileWhenDynamoIsHeld) {
  Place p = MakePlace();
  // A Terraform run that locks only with DynamoDB holds the state.
  LockInfo tf = LockInfo::New("OperationTypeApply", nullptr);
  ASSERT_TRUE(s3test::PutDynamoString(p.table, p.bucket + "/" + p.key, "Info", tf.ToJson()).ok());
  auto both = s3test::OpenS3(s3test::Config(p.bucket, p.key, LockMode::kBoth, p.table)).value();
  Status st = both->Lock(LockInfo::New("deploy", nullptr));
  ASSERT_EQ(st.code(), ErrorCode::kLockHeld) << st.ToString();
  EXPECT_NE(st.message().find(tf.id), std::string::npos);
  // Our lockfile was taken first and must have been released again.
  auto lockfile_only = s3test::OpenS3(s3test::Config(p.bucket, p.key, LockMode::kLockfile, p.table)).value();
  auto cur = lockfile_only->CurrentLock();
  ASSERT_TRUE(cur.ok()) << cur.status().ToString();
  EXPECT_FALSE(cur->has_value()) << "the lockfile was left behind";
}

TEST(S3Backend, EncryptSendsServerSideEncryption) {
  Place p = MakePlace(false);
  auto cfg = s3test::Config(p.bucket, p.key, LockMode::kLockfile, p.table);
  cfg.values["encrypt"] = "true";
  auto b = s3test::OpenS3(cfg).value();
  ASSERT_TRUE(b->WriteState("secret", WriteCondition{std::string()}).ok());
  http::Request head;
  head.method = "HEAD";
  head.url = aws::S3ObjectUrl(s3test::SharedMoto().endpoint, p.bucket, p.key);
  auto r = s3test::SendAs(head, "s3");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->headers.GetOr("x-amz-server-side-encryption"), "AES256");
}

// ---- errors -----------------------------------------------------------------------------------

TEST(S3Errors, MissingBucketNamesBucketAndFix) {
  auto b = s3test::OpenS3(s3test::Config("nic-no-such-bucket", "k", LockMode::kLockfile, "")).value();
  auto r = b->ReadState();
  ASSERT_FALSE(r.ok());
  Show(r.status());
  EXPECT_EQ(r.status().code(), ErrorCode::kNotFound) << r.status().ToString();
  EXPECT_NE(r.status().message().find("s3 backend"), std::string::npos);
  EXPECT_NE(r.status().message().find("\"nic-no-such-bucket\" does not exist"), std::string::npos) << r.status().message();
  ASSERT_FALSE(r.status().suggestions().empty());
  EXPECT_EQ(b->Lock(LockInfo::New("deploy", nullptr)).code(), ErrorCode::kNotFound);
}

TEST(S3Errors, MissingTableNamesTableAndHowToCreateIt) {
  Place p = MakePlace(false);
  auto b = s3test::OpenS3(s3test::Config(p.bucket, p.key, LockMode::kDynamo, "nic-no-such-table")).value();
  Status st = b->Lock(LockInfo::New("deploy", nullptr));
  Show(st);
  EXPECT_EQ(st.code(), ErrorCode::kNotFound) << st.ToString();
  EXPECT_NE(st.message().find("DynamoDB table \"nic-no-such-table\" does not exist"), std::string::npos) << st.message();
  ASSERT_FALSE(st.suggestions().empty());
  EXPECT_NE(st.suggestions()[0].find("LockID"), std::string::npos);
  auto r = b->ReadState();  // the digest lives in the same table
  EXPECT_EQ(r.status().code(), ErrorCode::kNotFound);
}

TEST(S3Errors, WrongSecretIsUnauthenticatedWithoutLeakingIt) {
  Place p = MakePlace();
  auto cfg = s3test::Config(p.bucket, p.key, LockMode::kBoth, p.table);
  cfg.values["secret_key"] = "not-the-secret-xyz";
  auto b = s3test::OpenS3(cfg).value();
  auto r = b->ReadState();
  ASSERT_FALSE(r.ok());
  Show(r.status());
  EXPECT_EQ(r.status().code(), ErrorCode::kUnauthenticated) << r.status().ToString();
  EXPECT_NE(r.status().message().find("rejected the credentials"), std::string::npos) << r.status().message();
  EXPECT_EQ(r.status().message().find("not-the-secret-xyz"), std::string::npos);
  Status st = b->Lock(LockInfo::New("deploy", nullptr));
  EXPECT_EQ(st.code(), ErrorCode::kUnauthenticated) << st.ToString();
}

TEST(S3Errors, AccessDeniedNamesThePermissionsNeeded) {
  Place p = MakePlace();
  auto creds = s3test::CreateLimitedUser(Unique("nic-dynamo-only"), R"(["dynamodb:*"])");
  ASSERT_TRUE(creds.ok()) << creds.status().ToString();
  auto cfg = s3test::Config(p.bucket, p.key, LockMode::kDynamo, p.table);
  cfg.values["access_key"] = creds->access_key_id;
  cfg.values["secret_key"] = creds->secret_access_key;
  auto b = s3test::OpenS3(cfg).value();
  auto r = b->ReadState();
  ASSERT_FALSE(r.ok());
  Show(r.status());
  EXPECT_EQ(r.status().code(), ErrorCode::kPermissionDenied) << r.status().ToString();
  EXPECT_NE(r.status().message().find("access denied"), std::string::npos);
  ASSERT_FALSE(r.status().suggestions().empty());
  EXPECT_NE(r.status().suggestions()[0].find("s3:GetObject"), std::string::npos);
}

TEST(S3Errors, UnreachableEndpointNamesIt) {
  Place p;
  auto cfg = s3test::Config(p.bucket, p.key, LockMode::kLockfile, p.table);
  const std::string dead = "http://127.0.0.1:" + std::to_string(testing::FreePort());
  cfg.values["endpoints.s3"] = dead;
  cfg.values["max_retries"] = "1";
  auto b = s3test::OpenS3(cfg).value();
  auto r = b->ReadState();
  ASSERT_FALSE(r.ok());
  Show(r.status());
  EXPECT_EQ(r.status().code(), ErrorCode::kUnavailable) << r.status().ToString();
  EXPECT_NE(r.status().message().find("cannot reach S3 at " + dead), std::string::npos) << r.status().message();
}

// S3's answer for a bucket in another region (AWS, not emulated by moto).
class WrongRegionTransport final : public http::Transport {
 public:
  Result<http::Response> Send(const http::Request&) override {
    http::Response r;
    r.status = 301;
    r.headers.Set("x-amz-bucket-region", "eu-west-1");
    r.body = "<Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to access must be addressed "
             "using the specified endpoint.</Message><Bucket>b</Bucket></Error>";
    return r;
  }
};

TEST(S3Errors, WrongRegionSaysWhichRegionToUse) {
  WrongRegionTransport t;
  auto b = s3test::OpenS3(s3test::Config("nic-bucket", "k", LockMode::kLockfile, ""), &t).value();
  auto r = b->ReadState();
  ASSERT_FALSE(r.ok());
  Show(r.status());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidConfig) << r.status().ToString();
  EXPECT_NE(r.status().message().find("in region eu-west-1"), std::string::npos) << r.status().message();
  ASSERT_FALSE(r.status().suggestions().empty());
  EXPECT_NE(r.status().suggestions()[0].find("region = \"eu-west-1\""), std::string::npos);
}

TEST(S3Config, UnknownAndMalformedKeysAreUsageErrorsNamingTheKey) {
  BackendConfig cfg;
  cfg.type = "s3";
  cfg.values = {{"bucket", "b"}, {"key", "k"}, {"region", "us-east-1"}, {"dynamo_table", "t"}};
  auto r = OpenBackend(cfg);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUsage);
  EXPECT_NE(r.status().message().find("\"dynamo_table\""), std::string::npos) << r.status().message();

  cfg.values = {{"bucket", "b"}, {"key", "k"}, {"region", "us-east-1"}, {"use_lockfile", "yes please"}};
  r = OpenBackend(cfg);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("use_lockfile"), std::string::npos);

  cfg.values = {{"key", "k"}};
  EXPECT_NE(OpenBackend(cfg).status().message().find("bucket"), std::string::npos);

  cfg.values = {{"bucket", "b"}, {"key", "/k"}, {"region", "us-east-1"}};
  EXPECT_EQ(OpenBackend(cfg).status().code(), ErrorCode::kUsage);

  // Terraform-style keys are accepted.
  cfg.values = {{"bucket", "b"},
                {"key", "k"},
                {"region", "us-east-1"},
                {"endpoints", "{ s3 = \"http://127.0.0.1:1\", dynamodb = \"http://127.0.0.1:2\" }"},
                {"skip_credentials_validation", "true"},
                {"skip_region_validation", "true"},
                {"skip_requesting_account_id", "true"},
                {"use_path_style", "true"},
                {"access_key", "a"},
                {"secret_key", "s"}};
  auto ok = s3test::OpenS3(cfg);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ((*ok)->context().s3_endpoint, "http://127.0.0.1:1");
  EXPECT_EQ((*ok)->context().dynamodb_endpoint, "http://127.0.0.1:2");
}

TEST(S3Config, EndpointsFromTheEnvironment) {
  BackendConfig cfg;
  cfg.type = "s3";
  cfg.values = {{"bucket", "b"}, {"key", "k"}, {"access_key", "a"}, {"secret_key", "s"}};
  S3BackendOptions o;
  o.env = auth::MapEnv({{"AWS_REGION", "eu-central-1"},
                        {"AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9000/"},
                        {"AWS_ENDPOINT_URL_DYNAMODB", "http://127.0.0.1:8000"}});
  auto b = S3Backend::Open(cfg, o);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ((*b)->context().region, "eu-central-1");
  EXPECT_EQ((*b)->context().s3_endpoint, "http://127.0.0.1:9000");
  EXPECT_EQ((*b)->context().dynamodb_endpoint, "http://127.0.0.1:8000");
  EXPECT_TRUE((*b)->context().path_style);

  cfg.values = {{"bucket", "b"}, {"key", "a b/k"}, {"region", "us-west-2"}, {"access_key", "a"}, {"secret_key", "s"}};
  auto aws_default = S3Backend::Open(cfg, {nullptr, auth::MapEnv({}), nullptr, std::nullopt});
  ASSERT_TRUE(aws_default.ok());
  EXPECT_FALSE((*aws_default)->context().path_style);
  EXPECT_EQ(s3::ObjectUrl((*aws_default)->context(), "b", "a b/k"), "https://b.s3.us-west-2.amazonaws.com/a%20b/k");
}

}  // namespace
}  // namespace nic

namespace nic {
namespace {

TEST(S3Compat, LocksAreStoredWhereAndHowTerraformLooksForThem) {
  Place p = MakePlace();
  auto b = s3test::OpenS3(s3test::Config(p.bucket, p.key, LockMode::kBoth, p.table)).value();
  LockInfo li = LockInfo::New("deploy", nullptr);
  li.path = b->Location();
  ASSERT_TRUE(b->Lock(li).ok());

  // DynamoDB: LockID = "<bucket>/<key>", Info = LockInfo JSON with Terraform's field names.
  auto info = s3test::GetDynamoString(p.table, p.bucket + "/" + p.key, "Info");
  ASSERT_TRUE(info.ok());
  auto parsed = nlohmann::json::parse(info.value());
  EXPECT_EQ(parsed["ID"], li.id);
  for (const char* k : {"Operation", "Info", "Who", "Version", "Created", "Path"}) EXPECT_TRUE(parsed.contains(k)) << k;

  // Lockfile: the object "<key>.tflock" holding the same JSON.
  http::Request get;
  get.url = aws::S3ObjectUrl(s3test::SharedMoto().endpoint, p.bucket, p.key + ".tflock");
  auto r = s3test::SendAs(get, "s3");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(nlohmann::json::parse(r->body)["ID"], li.id);

  ASSERT_TRUE(b->Unlock(li.id).ok());
  auto gone = s3test::GetDynamoString(p.table, p.bucket + "/" + p.key, "Info");
  ASSERT_TRUE(gone.ok());
  EXPECT_EQ(gone.value(), "");
  r = s3test::SendAs(get, "s3");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 404);
}

TEST(S3Faults, InjectedThrottlingResetsAndTimeoutsLoseNothing) {
  Place p = MakePlace();
  http::FaultOptions fo;
  fo.seed = 7;
  fo.rate = 0.25;
  fo.kinds = {http::Fault::kUnavailable503, http::Fault::kThrottle429, http::Fault::kConnectionReset,
              http::Fault::kTimeout, http::Fault::kServerError500};
  http::FaultInjectingTransport faulty(&s3test::TestTransport(), fo);
  http::RetryPolicy fast;
  fast.base_delay = std::chrono::milliseconds(1);
  fast.max_delay = std::chrono::milliseconds(5);
  fast.max_attempts = 8;
  S3BackendOptions o;
  o.transport = &faulty;
  o.env = auth::MapEnv({});
  o.retry_policy = fast;
  const auto cfg = s3test::Config(p.bucket, p.key, LockMode::kBoth, p.table);
  auto b = S3Backend::Open(cfg, o).value();
  auto clean = s3test::OpenS3(cfg).value();

  constexpr int kCycles = 20;
  int ok = 0;
  for (int i = 0; i < kCycles; ++i) {
    Status st = Cycle(b.get());
    if (st.ok()) ++ok;
    else std::printf("[ fault    ] cycle %d: %s\n", i, st.ToString().c_str());
    // Whatever happened, the stored state is whole and no increment was lost.
    auto blob = clean->ReadState();
    ASSERT_TRUE(blob.ok()) << blob.status().ToString();
    auto doc = ParseStateDocument(blob->bytes, "s3");
    ASSERT_TRUE(doc.ok()) << doc.status().ToString();
    EXPECT_EQ(doc->metadata.deploy_count, static_cast<int64_t>(doc->serial));
    auto held = clean->CurrentLock();
    ASSERT_TRUE(held.ok());
    if (held->has_value()) {
      LockInfo released;
      std::string matched;
      ASSERT_TRUE(clean->ForceUnlock((*held)->id, &released, &matched).ok());
    }
  }
  std::printf("[ fault    ] %d/%d cycles succeeded with %d of %d requests failed by injection\n", ok, kCycles,
              faulty.injected(), faulty.requests());
  EXPECT_GT(faulty.injected(), 0);
  EXPECT_EQ(ok, kCycles) << "every request NIC sends is retry-safe, so transient faults must not fail a cycle";
}

}  // namespace
}  // namespace nic

namespace nic {
namespace {

// Forwards everything; the first lock release (lockfile DELETE or DynamoDB DeleteItem) reaches
// S3/DynamoDB, then another process takes the lock, then the reply is lost.
class LoseReleaseWhileOtherLocks final : public http::Transport {
 public:
  LoseReleaseWhileOtherLocks(http::Transport* target, std::function<void()> meanwhile)
      : target_(target), meanwhile_(std::move(meanwhile)) {}
  Result<http::Response> Send(const http::Request& r) override {
    auto resp = target_->Send(r);
    bool release = r.method == "DELETE" || r.headers.GetOr("X-Amz-Target").ends_with(".DeleteItem");
    if (armed_ && release && resp.ok() && resp->ok()) {
      armed_ = false;
      meanwhile_();
      return Status::Unavailable("connection reset after the request was sent (reply lost, test)");
    }
    return resp;
  }

 private:
  http::Transport* target_;
  std::function<void()> meanwhile_;
  bool armed_ = true;
};

class S3LostRelease : public ::testing::TestWithParam<LockMode> {};

INSTANTIATE_TEST_SUITE_P(Modes, S3LostRelease, ::testing::Values(LockMode::kDynamo, LockMode::kLockfile),
                         [](const auto& info) { return std::string(s3test::ModeName(info.param)); });

// Found by the fault soak (tests/py/test_fault_soak.py): a release whose reply was lost, retried
// after another process locked, met a failed condition and was reported as our lock having been
// force-unlocked. It is our own release.
TEST_P(S3LostRelease, ReleaseWhoseReplyIsLostWhileAnotherProcessLocksIsOurs) {
  Place p = MakePlace();
  const auto cfg = s3test::Config(p.bucket, p.key, GetParam(), p.table);
  auto other = s3test::OpenS3(cfg).value();
  LockInfo theirs = LockInfo::New("deploy", Env::Default());
  LoseReleaseWhileOtherLocks losing(&s3test::TestTransport(), [&] { EXPECT_TRUE(other->Lock(theirs).ok()); });
  http::RetryPolicy fast;
  fast.base_delay = std::chrono::milliseconds(1);
  fast.max_delay = std::chrono::milliseconds(5);
  S3BackendOptions o;
  o.transport = &losing;
  o.env = auth::MapEnv({});
  o.retry_policy = fast;
  auto b = S3Backend::Open(cfg, o).value();
  LockInfo ours = LockInfo::New("deploy", Env::Default());
  ASSERT_TRUE(b->Lock(ours).ok());
  Status st = b->Unlock(ours.id);
  EXPECT_TRUE(st.ok()) << st.ToString();
  auto held = other->CurrentLock();
  ASSERT_TRUE(held.ok() && held->has_value());
  EXPECT_EQ((*held)->id, theirs.id) << "the other process's lock is untouched";
  ASSERT_TRUE(other->Unlock(theirs.id).ok());
}

}  // namespace
}  // namespace nic

namespace nic {
namespace {

// Found by crash injection (tests/py/test_crash_deploy.py): a deploy killed between its S3 PUT
// and the digest update left a digest no reader accepted (exit 6 until fixed by hand). The MD5
// recorded before the PUT (NicPendingDigest) lets readers accept exactly the bytes stored.
TEST(S3Backend, StateOfAWriteThatDiedBeforeItsDigestUpdateIsRead) {
  Place p = MakePlace();
  const auto cfg = s3test::Config(p.bucket, p.key, LockMode::kDynamo, p.table);
  auto clean = s3test::OpenS3(cfg).value();
  auto t1 = clean->WriteState("one", WriteCondition{std::string("")});
  ASSERT_TRUE(t1.ok()) << t1.status().ToString();

  // The writer "dies" after the PUT: every later write to the digest item fails.
  class NoDigestWrites final : public http::Transport {
   public:
    Result<http::Response> Send(const http::Request& r) override {
      const std::string target = r.headers.GetOr("X-Amz-Target");
      // The pending mark (a PutItem carrying NicPendingDigest) is sent before the PUT; the
      // digest update after it is what never happens.
      const bool digest_item = r.body.find("-md5") != std::string::npos;
      const bool pending_mark = r.body.find("NicPendingDigest") != std::string::npos;
      if ((target.ends_with(".PutItem") || target.ends_with(".DeleteItem")) && digest_item && !pending_mark) {
        http::Response denied;
        denied.status = 400;
        denied.body = R"({"__type":"com.amazonaws.dynamodb.v20120810#ValidationException","message":"test: writer died"})";
        return denied;
      }
      return s3test::TestTransport().Send(r);
    }
  } dying;
  S3BackendOptions o;
  o.transport = &dying;
  o.env = auth::MapEnv({});
  auto writer = S3Backend::Open(cfg, o).value();
  auto seen = writer->ReadState();  // as StateManager always reads before it writes
  ASSERT_TRUE(seen.ok()) << seen.status().ToString();
  ASSERT_TRUE(writer->WriteState("two", WriteCondition{seen->version_token}).ok());
  const std::string item = p.bucket + "/" + p.key + "-md5";
  EXPECT_EQ(s3test::GetDynamoString(p.table, item, "Digest").value(), s3::Md5Hex("one")) << "the digest is stale";

  auto r = clean->ReadState();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->bytes, "two");

  // The next write sets the digest and drops the pending MD5.
  ASSERT_TRUE(clean->WriteState("three", WriteCondition{r->version_token}).ok());
  EXPECT_EQ(s3test::GetDynamoString(p.table, item, "Digest").value(), s3::Md5Hex("three"));
  EXPECT_EQ(s3test::GetDynamoString(p.table, item, "NicPendingDigest").value(), "");
}

}  // namespace
}  // namespace nic

// The gcs backend against the GCS JSON API test server (tests/servers/gcs_server.py): object
// layout, locking, generation preconditions, force-unlock by lock ID or generation, auth and
// error reporting.
#include <gtest/gtest.h>

#include <mutex>
#include <nlohmann/json.hpp>

#include "backends/gcs/gcs_backend.h"
#include "backends/gcs/gcs_credentials.h"
#include "nic/env.h"
#include "nic/state_manager.h"
#include "tests/backend_gcs/gcs_test_env.h"
#include "tests/support/local_http_server.h"
#include "tests/support/test_util.h"

namespace nic {
namespace {

using gcstest::NewBucket;
using gcstest::Open;

std::string Doc(int64_t deploy_count = 0) {
  StateDocument d = StateDocument::NewEmpty("gcp", "gcs-test", "us-central1", Env::Default()->NowMicros());
  d.serial = 1;
  d.metadata.deploy_count = deploy_count;
  return SerializeStateDocument(d);
}

LockInfo NewLock(const std::string& op = "deploy") { return LockInfo::New(op, Env::Default()); }

TEST(GcsBackend, ObjectLayoutAndLockBodyMatchTerraform) {
  std::string bucket = NewBucket();
  auto b = Open(bucket, "nebari/dev/");
  EXPECT_EQ(b->Name(), "gcs");
  EXPECT_EQ(b->Location(), "gs://" + bucket + "/nebari/dev/default.tfstate");
  EXPECT_EQ(b->lock_object(), "nebari/dev/default.tflock");

  LockInfo li = NewLock();
  ASSERT_TRUE(b->Lock(li).ok());
  auto meta = nlohmann::json::parse(gcstest::RawObject(bucket, "nebari/dev/default.tflock", false).body);
  EXPECT_EQ(std::to_string(b->held_generation()), meta["generation"].get<std::string>());
  auto body = nlohmann::json::parse(gcstest::RawObject(bucket, "nebari/dev/default.tflock", true).body);
  EXPECT_EQ(body["ID"], li.id);
  EXPECT_EQ(body["Operation"], "deploy");
  EXPECT_EQ(body["Path"], "gs://" + bucket + "/nebari/dev/default.tflock");
  for (const char* k : {"Info", "Who", "Version", "Created"}) EXPECT_TRUE(body.contains(k)) << k;

  const std::string written = Doc();
  auto tok = b->WriteState(written, WriteCondition{std::string("")});
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  auto smeta = nlohmann::json::parse(gcstest::RawObject(bucket, "nebari/dev/default.tfstate", false).body);
  EXPECT_EQ(smeta["contentType"], "application/json");
  EXPECT_EQ(smeta["generation"].get<std::string>(), tok.value());
  EXPECT_EQ(gcstest::RawObject(bucket, "nebari/dev/default.tfstate", true).body, written);

  auto blob = b->ReadState();
  ASSERT_TRUE(blob.ok());
  EXPECT_TRUE(blob->exists);
  EXPECT_EQ(blob->version_token, tok.value());
  EXPECT_TRUE(ParseStateDocument(blob->bytes, "gcs").ok());

  ASSERT_TRUE(b->Unlock(li.id).ok());
  EXPECT_EQ(gcstest::RawObject(bucket, "nebari/dev/default.tflock", false).status, 404);
  EXPECT_EQ(b->held_generation(), 0);
}

TEST(GcsBackend, EmptyPrefixUsesBucketRoot) {
  std::string bucket = NewBucket();
  auto b = Open(bucket, "");
  EXPECT_EQ(b->state_object(), "default.tfstate");
  EXPECT_EQ(b->lock_object(), "default.tflock");
  auto blob = b->ReadState();
  ASSERT_TRUE(blob.ok()) << blob.status().ToString();
  EXPECT_FALSE(blob->exists);
}

TEST(GcsBackend, HeldLockNamesHolderAndGenerationAndExits3) {
  std::string bucket = NewBucket();
  auto a = Open(bucket);
  auto b = Open(bucket);
  LockInfo la = NewLock("deploy");
  ASSERT_TRUE(a->Lock(la).ok());
  Status st = b->Lock(NewLock("state push"));
  ASSERT_EQ(st.code(), ErrorCode::kLockHeld) << st.ToString();
  EXPECT_EQ(st.exit_code(), 3);
  const std::string gen = std::to_string(a->held_generation());
  EXPECT_NE(st.message().find(la.id), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("generation " + gen), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("deploy"), std::string::npos);
  EXPECT_EQ(st.details().at("generation"), gen);
  EXPECT_EQ(st.details().at("lock_id"), la.id);
  EXPECT_EQ(st.details().at("backend"), "gcs");
  auto cur = b->CurrentLock();
  ASSERT_TRUE(cur.ok() && cur.value());
  EXPECT_EQ(cur.value()->id, la.id);
  // Unlock with someone else's ID is refused and leaves the lock alone.
  EXPECT_EQ(b->Unlock(la.id).code(), ErrorCode::kConflict);
  EXPECT_EQ(gcstest::RawObject(bucket, "nebari/dev/default.tflock", false).status, 200);
  ASSERT_TRUE(a->Unlock(la.id).ok());
  EXPECT_TRUE(b->Lock(NewLock()).ok());
}

TEST(GcsBackend, GenerationConflictRefusesStaleWrite) {
  std::string bucket = NewBucket();
  auto a = Open(bucket);
  auto b = Open(bucket);
  auto t1 = a->WriteState(Doc(1), WriteCondition{std::string("")});
  ASSERT_TRUE(t1.ok()) << t1.status().ToString();
  // Creating again "only if absent" fails: it exists now.
  auto again = b->WriteState(Doc(9), WriteCondition{std::string("")});
  ASSERT_EQ(again.status().code(), ErrorCode::kConflict);
  EXPECT_NE(again.status().message().find("created by another writer"), std::string::npos) << again.status().message();

  auto t2 = b->WriteState(Doc(2), WriteCondition{t1.value()});
  ASSERT_TRUE(t2.ok()) << t2.status().ToString();
  EXPECT_NE(t1.value(), t2.value());
  auto stale = a->WriteState(Doc(3), WriteCondition{t1.value()});
  ASSERT_EQ(stale.status().code(), ErrorCode::kConflict) << stale.status().ToString();
  EXPECT_NE(stale.status().message().find("read generation " + t1.value()), std::string::npos) << stale.status().message();
  EXPECT_NE(stale.status().message().find("generation " + t2.value()), std::string::npos) << stale.status().message();
  auto now = a->ReadState();
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(now->version_token, t2.value());
  EXPECT_EQ(ParseStateDocument(now->bytes, "x")->metadata.deploy_count, 2) << "the stale write must not land";
  // An unconditional write (forced push) is allowed.
  EXPECT_TRUE(a->WriteState(Doc(4), WriteCondition{}).ok());
}

// A locks and reads; the lock is force-unlocked; B locks and writes; A's write is refused by the
// generation precondition, and A's unlock leaves B's lock in place.
TEST(GcsBackend, StaleWriterIsRefusedAfterForceUnlock) {
  std::string bucket = NewBucket();
  {
    auto seed = Open(bucket);
    StateManager m(seed.get(), {});
    ASSERT_TRUE(m.Lock("seed").ok());
    StateDocument d = StateDocument::NewEmpty("gcp", "p", "r", Env::Default()->NowMicros());
    ASSERT_TRUE(m.Persist(d, "seed").ok());
    ASSERT_TRUE(m.Unlock().ok());
  }
  auto ba = Open(bucket);
  auto bb = Open(bucket);
  auto admin = Open(bucket);
  StateManager ma(ba.get(), {});
  StateManager mb(bb.get(), {});
  auto ida = ma.Lock("deploy");
  ASSERT_TRUE(ida.ok());
  auto da = ma.Read();
  ASSERT_TRUE(da.ok() && da.value());

  LockInfo released;
  std::string matched;
  ASSERT_TRUE(admin->ForceUnlock(ida.value(), &released, &matched).ok());
  EXPECT_EQ(released.id, ida.value());
  EXPECT_EQ(matched, "lock ID");

  ASSERT_TRUE(mb.Lock("deploy").ok());
  auto db = mb.Read();
  ASSERT_TRUE(db.ok() && db.value());
  StateDocument docb = *db.value();
  docb.metadata.deploy_count = 100;
  ASSERT_TRUE(mb.Persist(docb, "deploy").ok());

  StateDocument doca = *da.value();
  doca.metadata.deploy_count = 1;
  Status st = ma.Persist(doca, "deploy");
  ASSERT_EQ(st.code(), ErrorCode::kConflict) << st.ToString();
  EXPECT_NE(st.message().find("changed since it was read"), std::string::npos) << st.message();

  auto final_doc = ParseStateDocument(bb->ReadState()->bytes, "x");
  ASSERT_TRUE(final_doc.ok());
  EXPECT_EQ(final_doc->metadata.deploy_count, 100);
  EXPECT_EQ(final_doc->serial, 2u);

  // A's unlock must not remove B's lock.
  Status un = ma.Unlock();
  EXPECT_EQ(un.code(), ErrorCode::kConflict) << un.ToString();
  EXPECT_NE(un.message().find("removed by someone else"), std::string::npos) << un.message();
  EXPECT_TRUE(ma.Unlock().ok()) << "once reported, a broken lock has nothing left to release";
  auto cur = admin->CurrentLock();
  ASSERT_TRUE(cur.ok() && cur.value());
  EXPECT_EQ(cur.value()->id, mb.held_lock()->id);
  EXPECT_TRUE(mb.Unlock().ok());
}

TEST(GcsBackend, ForceUnlockByLockId) {
  std::string bucket = NewBucket();
  auto holder = Open(bucket);
  auto admin = Open(bucket);
  LockInfo li = NewLock();
  ASSERT_TRUE(holder->Lock(li).ok());
  LockInfo released;
  std::string matched;
  ASSERT_TRUE(admin->ForceUnlock(li.id, &released, &matched).ok());
  EXPECT_EQ(matched, "lock ID");
  EXPECT_EQ(released.id, li.id);
  EXPECT_EQ(released.operation, "deploy");
  EXPECT_EQ(gcstest::RawObject(bucket, "nebari/dev/default.tflock", false).status, 404);
}

TEST(GcsBackend, ForceUnlockByGenerationAsTerraformShowsIt) {
  std::string bucket = NewBucket();
  auto holder = Open(bucket);
  auto admin = Open(bucket);
  LockInfo li = NewLock();
  ASSERT_TRUE(holder->Lock(li).ok());
  const std::string gen = std::to_string(holder->held_generation());
  LockInfo released;
  std::string matched;
  ASSERT_TRUE(admin->ForceUnlock(gen, &released, &matched).ok());
  EXPECT_EQ(matched.rfind("generation " + gen, 0), 0u) << matched;
  EXPECT_EQ(released.id, li.id);
  EXPECT_EQ(gcstest::RawObject(bucket, "nebari/dev/default.tflock", false).status, 404);
}

TEST(GcsBackend, ForceUnlockWithWrongIdOrOldGenerationIsRefused) {
  std::string bucket = NewBucket();
  auto first = Open(bucket);
  auto second = Open(bucket);
  auto admin = Open(bucket);
  LockInfo l1 = NewLock();
  ASSERT_TRUE(first->Lock(l1).ok());
  const std::string old_gen = std::to_string(first->held_generation());
  ASSERT_TRUE(first->Unlock(l1.id).ok());
  LockInfo l2 = NewLock();
  ASSERT_TRUE(second->Lock(l2).ok());

  LockInfo released;
  std::string matched;
  for (const std::string& wrong : {std::string("not-a-lock-id"), l1.id, old_gen}) {
    Status st = admin->ForceUnlock(wrong, &released, &matched);
    ASSERT_EQ(st.code(), ErrorCode::kConflict) << wrong << ": " << st.ToString();
    EXPECT_NE(st.message().find(l2.id), std::string::npos) << st.message();
    EXPECT_NE(st.message().find(std::to_string(second->held_generation())), std::string::npos);
  }
  auto cur = admin->CurrentLock();
  ASSERT_TRUE(cur.ok() && cur.value());
  EXPECT_EQ(cur.value()->id, l2.id) << "a refused force-unlock must leave the lock alone";
  EXPECT_TRUE(second->Unlock(l2.id).ok());
  EXPECT_EQ(admin->ForceUnlock(l2.id, &released, &matched).code(), ErrorCode::kNotFound);
}

// A lock object written by Terraform: its body carries Terraform's own UUID, and Terraform users
// know it by its generation.
TEST(GcsBackend, TerraformLockIsReportedAndBreakableByGeneration) {
  std::string bucket = NewBucket();
  nlohmann::json tf = {{"ID", "5c1d6bb6-1c84-0b53-8a2e-7e5d5f2a8c11"}, {"Operation", "OperationTypeApply"}, {"Info", ""},
                       {"Who", "ci@runner"}, {"Version", "1.9.8"}, {"Created", "2026-11-21T10:00:00.123456789Z"},
                       {"Path", "gs://" + bucket + "/nebari/dev/default.tflock"}};
  auto put = testing::RawHttp(gcstest::Server()->port(), "POST",
                              "/upload/storage/v1/b/" + bucket + "/o?uploadType=media&name=nebari%2Fdev%2Fdefault.tflock&ifGenerationMatch=0",
                              tf.dump(), {{"Content-Type", "application/json"}});
  ASSERT_EQ(put.status, 200) << put.body;
  const std::string gen = nlohmann::json::parse(put.body)["generation"].get<std::string>();
  auto b = Open(bucket);
  Status st = b->Lock(NewLock());
  ASSERT_EQ(st.code(), ErrorCode::kLockHeld);
  EXPECT_NE(st.message().find("ci@runner"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("OperationTypeApply"), std::string::npos);
  EXPECT_NE(st.message().find("generation " + gen), std::string::npos);
  LockInfo released;
  std::string matched;
  ASSERT_TRUE(b->ForceUnlock(gen, &released, &matched).ok());
  EXPECT_NE(matched.find("generation"), std::string::npos);
  EXPECT_EQ(released.who, "ci@runner");
  EXPECT_TRUE(b->Lock(NewLock()).ok());
}

TEST(GcsBackend, UnreadableLockRecordCanStillBeBrokenByGeneration) {
  std::string bucket = NewBucket();
  auto put = testing::RawHttp(gcstest::Server()->port(), "POST",
                              "/upload/storage/v1/b/" + bucket + "/o?uploadType=media&name=nebari%2Fdev%2Fdefault.tflock",
                              "{truncated", {{"Content-Type", "application/json"}});
  ASSERT_EQ(put.status, 200);
  const std::string gen = nlohmann::json::parse(put.body)["generation"].get<std::string>();
  auto b = Open(bucket);
  Status st = b->Lock(NewLock());
  ASSERT_EQ(st.code(), ErrorCode::kLockHeld);
  EXPECT_NE(st.message().find(gen), std::string::npos);
  LockInfo released;
  std::string matched;
  EXPECT_EQ(b->ForceUnlock("anything", &released, &matched).code(), ErrorCode::kConflict);
  ASSERT_TRUE(b->ForceUnlock(gen, &released, &matched).ok());
}

TEST(GcsBackend, DestroyingABackendReleasesItsLeakedLock) {
  std::string bucket = NewBucket();
  {
    auto b = Open(bucket);
    ASSERT_TRUE(b->Lock(NewLock()).ok());
  }
  EXPECT_EQ(gcstest::RawObject(bucket, "nebari/dev/default.tflock", false).status, 404);
}

TEST(GcsBackend, RequestsPerCycleVersusTerraform) {
  std::string bucket = NewBucket();
  {
    auto seed = Open(bucket);
    StateManager m(seed.get(), {});
    ASSERT_TRUE(m.Lock("seed").ok());
    StateDocument d = StateDocument::NewEmpty("gcp", "p", "r", Env::Default()->NowMicros());
    ASSERT_TRUE(m.Persist(d, "seed").ok());
    ASSERT_TRUE(m.Unlock().ok());
  }
  auto b = Open(bucket);
  gcstest::ResetRequestCount();
  StateManager m(b.get(), {});
  ASSERT_TRUE(m.Lock("deploy").ok());
  auto doc = m.Read();
  ASSERT_TRUE(doc.ok() && doc.value());
  StateDocument d = *doc.value();
  d.metadata.deploy_count += 1;
  ASSERT_TRUE(m.Persist(d, "deploy").ok());
  ASSERT_TRUE(m.Unlock().ok());
  int64_t total = gcstest::RequestCount();
  auto by = gcstest::RequestsByMethod();
  std::printf("requests per lock/read/write/unlock cycle: %lld (%s); Terraform's gcs backend: 5 "
              "(lock insert, state media GET, state attrs GET, state insert, lock delete)\n",
              static_cast<long long>(total), by.dump().c_str());
  // lock insert, state GET alt=media, state insert, lock GET (ID check), lock DELETE.
  EXPECT_EQ(total, 5);
  EXPECT_EQ(by.value("POST", 0), 2);
  EXPECT_EQ(by.value("GET", 0), 2);
  EXPECT_EQ(by.value("DELETE", 0), 1);
}

// ---- configuration and errors ----------------------------------------------------------------

TEST(GcsConfig, MissingOrMalformedSettingsAreUsageErrors) {
  auto open = [](std::map<std::string, std::string> v) {
    BackendConfig c;
    c.type = "gcs";
    c.values = std::move(v);
    return OpenBackend(c).status();
  };
  Status st = open({{"prefix", "x"}});
  EXPECT_EQ(st.code(), ErrorCode::kUsage);
  EXPECT_NE(st.message().find("bucket"), std::string::npos);
  st = open({{"bucket", "gs://my-bucket"}});
  EXPECT_EQ(st.code(), ErrorCode::kUsage);
  EXPECT_NE(st.suggestions().at(0).find("bucket=my-bucket"), std::string::npos);
  st = open({{"bucket", "b"}, {"key", "x"}});
  EXPECT_EQ(st.code(), ErrorCode::kUsage);
  EXPECT_NE(st.message().find("\"key\""), std::string::npos);
  EXPECT_EQ(open({{"bucket", "my-bucket"}, {"impersonate_service_account", "sa@p.iam.gserviceaccount.com"}}).code(),
            ErrorCode::kUnsupported);
  EXPECT_EQ(open({{"bucket", "my-bucket"}, {"encryption_key", "abc"}}).code(), ErrorCode::kUnsupported);
  EXPECT_EQ(open({{"bucket", "my-bucket"}, {"kms_encryption_key", "projects/p/locations/l/keyRings/r/cryptoKeys/k"}}).code(),
            ErrorCode::kUnsupported);
  EXPECT_EQ(open({{"bucket", "my-bucket"}, {"endpoint", "ftp://x"}}).code(), ErrorCode::kUsage);
  st = open({{"bucket", "my-bucket"}, {"credentials", "/nonexistent/key.json"}});
  EXPECT_EQ(st.code(), ErrorCode::kUsage) << st.ToString();
}

TEST(GcsConfig, StorageEmulatorHostMeansPlainHttpWithoutAuth) {
  auto c = gcs::ResolveConnection("", {}, auth::MapEnv({{"STORAGE_EMULATOR_HOST", "127.0.0.1:4443"},
                                                         {"GOOGLE_OAUTH_ACCESS_TOKEN", "must-not-be-sent"}}));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->endpoint, "http://127.0.0.1:4443");
  http::Request req;
  ASSERT_TRUE(c->authorizer->Authorize(req).ok());
  EXPECT_FALSE(req.headers.Has("Authorization"));

  auto d = gcs::ResolveConnection("https://storage.example.test/storage/v1/", {},
                                  auth::MapEnv({{"GOOGLE_OAUTH_ACCESS_TOKEN", "tok"}, {"STORAGE_EMULATOR_HOST", "x:1"}}));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->endpoint, "https://storage.example.test") << "a configured endpoint wins over the emulator variable";
  http::Request r2;
  ASSERT_TRUE(d->authorizer->Authorize(r2).ok());
  EXPECT_EQ(r2.headers.GetOr("Authorization"), "Bearer tok");

  auto e = gcs::ResolveConnection("", {}, auth::MapEnv({}));
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->endpoint, "https://storage.googleapis.com");
}

TEST(GcsErrors, MissingBucketIsNamed) {
  auto b = Open("no-such-bucket-here");
  auto r = b->ReadState();
  ASSERT_EQ(r.status().code(), ErrorCode::kNotFound) << r.status().ToString();
  EXPECT_NE(r.status().message().find("bucket \"no-such-bucket-here\" does not exist"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("gcs backend"), std::string::npos);
  Status st = b->Lock(NewLock());
  ASSERT_EQ(st.code(), ErrorCode::kNotFound) << st.ToString();
  EXPECT_NE(st.message().find("no-such-bucket-here"), std::string::npos);
  auto w = b->WriteState(Doc(), WriteCondition{std::string("")});
  EXPECT_EQ(w.status().code(), ErrorCode::kNotFound);
}

TEST(GcsErrors, UnreachableEndpointIsNamed) {
  int port = testing::FreePort();
  GcsBackendOptions o;
  o.bucket = "b-unreachable";
  o.prefix = "p";
  o.client.endpoint = "http://127.0.0.1:" + std::to_string(port);
  o.client.transport = std::shared_ptr<http::Transport>(http::NewCurlTransport());
  o.client.retry.policy.max_attempts = 2;
  o.client.retry.policy.sleep = [](std::chrono::milliseconds) {};
  GcsBackend b(std::move(o));
  auto r = b.ReadState();
  ASSERT_EQ(r.status().code(), ErrorCode::kUnavailable) << r.status().ToString();
  EXPECT_NE(r.status().message().find("gcs backend: cannot reach the Cloud Storage endpoint http://127.0.0.1:" + std::to_string(port)),
            std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("gs://b-unreachable/p/default.tfstate"), std::string::npos);
  EXPECT_EQ(b.Lock(NewLock()).code(), ErrorCode::kUnavailable);
}

TEST(GcsErrors, MalformedErrorBodiesAndPermissionDenied) {
  int calls = 0;
  testing::LocalHttpServer server([&](const testing::ReceivedRequest& req) {
    ++calls;
    testing::ScriptedResponse r;
    if (req.method == "POST") {
      r.status = 500;
      r.body = "<html>upstream exploded</html>";
    } else {
      r.status = 403;
      r.headers = {{"Content-Type", "text/html"}};
      r.body = "<html><body>Forbidden by proxy</body></html>";
    }
    return r;
  });
  GcsBackendOptions o;
  o.bucket = "secret-bucket";
  o.client.endpoint = server.url();
  o.client.transport = std::shared_ptr<http::Transport>(http::NewCurlTransport());
  o.client.retry.policy.max_attempts = 2;
  o.client.retry.policy.sleep = [](std::chrono::milliseconds) {};
  GcsBackend b(std::move(o));
  auto r = b.ReadState();
  ASSERT_EQ(r.status().code(), ErrorCode::kPermissionDenied) << r.status().ToString();
  EXPECT_NE(r.status().message().find("permission denied on bucket \"secret-bucket\""), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("malformed error body"), std::string::npos);
  EXPECT_NE(r.status().message().find("Forbidden by proxy"), std::string::npos);
  ASSERT_FALSE(r.status().suggestions().empty());
  EXPECT_NE(r.status().suggestions()[0].find("storage.objects"), std::string::npos);

  Status st = b.Lock(NewLock());
  ASSERT_EQ(st.code(), ErrorCode::kUnavailable) << st.ToString();
  EXPECT_NE(st.message().find("malformed error body"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("default.tflock"), std::string::npos);
}

TEST(GcsAuth, BearerTokenGoodAndWrong) {
  auto server = testing::PythonServer::Start("gcs_server.py", {"--require-token", "good-token"});
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  std::string bucket = NewBucket((*server)->port(), "good-token");

  auto open = [&](const std::string& token) {
    BackendConfig c;
    c.type = "gcs";
    c.values = {{"bucket", bucket}, {"prefix", "p"}, {"endpoint", (*server)->endpoint()}, {"access_token", token}};
    return OpenBackend(c);
  };
  auto good = open("good-token");
  ASSERT_TRUE(good.ok());
  StateManager m(good.value().get(), {});
  ASSERT_TRUE(m.Lock("deploy").ok());
  StateDocument d = StateDocument::NewEmpty("gcp", "p", "r", Env::Default()->NowMicros());
  ASSERT_TRUE(m.Persist(d, "deploy").ok());
  ASSERT_TRUE(m.Unlock().ok());
  auto back = good.value()->ReadState();
  ASSERT_TRUE(back.ok() && back->exists);

  auto bad = open("wrong-token");
  ASSERT_TRUE(bad.ok());
  auto r = bad.value()->ReadState();
  ASSERT_EQ(r.status().code(), ErrorCode::kUnauthenticated) << r.status().ToString();
  EXPECT_EQ(r.status().exit_code(), 9);
  EXPECT_NE(r.status().message().find("gcs backend: the credentials were rejected for gs://" + bucket + "/p/default.tfstate"),
            std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("Login Required"), std::string::npos);
  ASSERT_FALSE(r.status().suggestions().empty());
  EXPECT_NE(r.status().suggestions()[0].find("access_token"), std::string::npos) << r.status().suggestions()[0];
  EXPECT_EQ(bad.value()->Lock(NewLock()).code(), ErrorCode::kUnauthenticated);
  // The token never appears in messages.
  EXPECT_EQ(r.status().message().find("wrong-token"), std::string::npos);
}

// credentials = a service-account key: NIC signs a JWT, exchanges it at the key's token_uri, and
// sends the minted token to storage.
TEST(GcsAuth, ServiceAccountKeyCredentialsMintATokenForStorage) {
  auto key = testing::RunProcess({"openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"});
  ASSERT_EQ(key.exit_code, 0) << key.err;
  std::vector<std::string> assertions;
  std::mutex mu;
  testing::LocalHttpServer token_server([&](const testing::ReceivedRequest& req) {
    std::lock_guard<std::mutex> g(mu);
    assertions.push_back(req.body);
    testing::ScriptedResponse r;
    r.headers = {{"Content-Type", "application/json"}};
    r.body = R"({"access_token":"minted-token","expires_in":3600,"token_type":"Bearer"})";
    return r;
  });
  auto server = testing::PythonServer::Start("gcs_server.py", {"--require-token", "minted-token"});
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  std::string bucket = NewBucket((*server)->port(), "minted-token");
  nlohmann::json sa = {{"type", "service_account"},        {"client_email", "nic@proj.iam.gserviceaccount.com"},
                       {"private_key", key.out},             {"private_key_id", "k1"},
                       {"token_uri", token_server.url("/token")}};
  testing::TempDir dir;
  for (const std::string& creds : {sa.dump(), dir.Write("key.json", sa.dump())}) {
    BackendConfig c;
    c.type = "gcs";
    c.values = {{"bucket", bucket}, {"prefix", "sa"}, {"endpoint", (*server)->endpoint()}, {"credentials", creds}};
    auto b = OpenBackend(c);
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    LockInfo li = NewLock();
    ASSERT_TRUE(b.value()->Lock(li).ok());
    ASSERT_TRUE(b.value()->Unlock(li.id).ok());
  }
  std::lock_guard<std::mutex> g(mu);
  ASSERT_EQ(assertions.size(), 2u) << "one token per backend, cached across its requests";
  EXPECT_NE(assertions[0].find("grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"), std::string::npos)
      << assertions[0];
  EXPECT_NE(assertions[0].find("assertion="), std::string::npos);
}

TEST(GcsAuth, UnreachableMetadataServerIsReportedAsACredentialsProblem) {
  int port = testing::FreePort();
  auto conn = gcs::ResolveConnection("https://storage.example.invalid", {},
                                     auth::MapEnv({{"GCE_METADATA_HOST", "127.0.0.1:" + std::to_string(port)}}));
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  GcsBackendOptions o;
  o.bucket = "some-bucket";
  o.client.endpoint = conn->endpoint;
  o.client.transport = conn->transport;
  o.client.authorizer = conn->authorizer;
  GcsBackend b(std::move(o));
  auto r = b.ReadState();
  ASSERT_EQ(r.status().code(), ErrorCode::kUnauthenticated) << r.status().ToString();
  EXPECT_NE(r.status().message().find("could not get a Google access token from GCE metadata server 127.0.0.1:" + std::to_string(port)),
            std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find("gs://some-bucket/default.tfstate"), std::string::npos);
}

}  // namespace
}  // namespace nic

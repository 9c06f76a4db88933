// The azurerm backend against Azurite: lock protocol, conditional writes, stale writers, lease
// loss, force-unlock, Terraform compatibility, configuration and error messages.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "nic/azure_auth.h"
#include "nic/env.h"
#include "nic/state.h"
#include "nic/state_manager.h"
#include "tests/backend_azure/azure_test_env.h"
#include "tests/support/test_util.h"

namespace nic {
namespace {

using azurerm::LeaseAction;
using azurerm::LeaseRequest;

bool Contains(const std::string& haystack, const std::string& needle) { return haystack.find(needle) != std::string::npos; }

StateDocument NewDoc(int64_t deploy_count = 1) {
  StateDocument d = StateDocument::NewEmpty("azure", "azdemo", "westeurope", Env::Default()->NowMicros());
  d.metadata.deploy_count = deploy_count;
  return d;
}

// Seeds the state through StateManager; returns the lineage.
std::string Seed(Backend* b, int64_t deploy_count = 1) {
  StateManager m(b, {});
  EXPECT_TRUE(m.Lock("seed").ok());
  StateDocument d = NewDoc(deploy_count);
  Status st = m.Persist(d, "seed");
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_TRUE(m.Unlock().ok());
  return d.lineage;
}

TEST(AzurermConfig, KeysAndErrors) {
  auto cfg = aztest::Config("somecontainer");
  cfg.values["bucket"] = "x";
  auto r = OpenBackend(cfg);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUsage);
  EXPECT_TRUE(Contains(r.status().message(), "\"bucket\"")) << r.status().message();

  cfg = aztest::Config("somecontainer");
  cfg.values.erase("container_name");
  r = OpenBackend(cfg);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUsage);
  EXPECT_TRUE(Contains(r.status().message(), "container_name"));

  cfg = aztest::Config("somecontainer");
  cfg.values["lease_duration"] = "10";
  r = OpenBackend(cfg);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUsage);
  EXPECT_TRUE(Contains(r.status().message(), "15 to 60"));

  cfg = aztest::Config("somecontainer");
  cfg.values["use_msi"] = "true";
  r = OpenBackend(cfg);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUnsupported);

  // No credential at all.
  BackendConfig bare;
  bare.type = "azurerm";
  bare.values = {{"storage_account_name", "acct"}, {"container_name", "tfstate"}, {"key", "k"}};
  auto o = AzurermBackend::ResolveOptions(bare, auth::MapEnv({}));
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.status().code(), ErrorCode::kUnauthenticated);

  // Terraform's ARM_ACCESS_KEY; the endpoint defaults to the public blob service.
  o = AzurermBackend::ResolveOptions(bare, auth::MapEnv({{"ARM_ACCESS_KEY", testing::Azurite::kKey}}));
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->client.endpoint, "https://acct.blob.core.windows.net");
  EXPECT_EQ(o->lease_duration_seconds, -1);
}

TEST(AzurermConfig, ConnectionStringFromEnvironment) {
  const std::string container = aztest::NewContainer();
  BackendConfig cfg;
  cfg.type = "azurerm";
  cfg.values = {{"container_name", container}, {"key", "cs.tfstate"}};
  auto o = AzurermBackend::ResolveOptions(cfg, auth::MapEnv({{"AZURE_STORAGE_CONNECTION_STRING", aztest::Server()->connection_string()}}));
  ASSERT_TRUE(o.ok()) << o.status().ToString();
  EXPECT_EQ(o->client.account, "devstoreaccount1");
  AzurermBackend b(std::move(o).value());
  auto blob = b.ReadState();
  ASSERT_TRUE(blob.ok()) << blob.status().ToString();
  EXPECT_FALSE(blob->exists);
  Seed(&b);
  blob = b.ReadState();
  ASSERT_TRUE(blob.ok() && blob->exists);
}

TEST(AzurermBackend, LockCreatesLeasedBlobAndWritesKeepTheRecord) {
  const std::string container = aztest::NewContainer();
  auto b = aztest::Open(container);
  auto raw = aztest::RawClient(container);
  EXPECT_EQ(b->Location(), aztest::Endpoint() + "/" + container + "/nebari/dev.tfstate");

  LockInfo li = LockInfo::New("deploy", Env::Default());
  ASSERT_TRUE(b->Lock(li).ok());
  auto p = raw->GetProperties("nebari/dev.tfstate");
  ASSERT_TRUE(p.ok() && p->exists) << p.status().ToString();
  EXPECT_EQ(p->lease_state, "leased");
  EXPECT_EQ(p->lease_duration, "infinite");
  EXPECT_EQ(p->content_length, 0);
  ASSERT_TRUE(p->metadata.count("terraformlockid"));
  auto json = azurerm::Base64Decode(p->metadata["terraformlockid"]);
  ASSERT_TRUE(json.has_value());
  auto rec = LockInfo::FromJson(*json, "test");
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->id, li.id);
  EXPECT_EQ(rec->operation, "deploy");
  EXPECT_EQ(rec->path, b->Location());
  const std::string record = p->metadata["terraformlockid"];

  // The empty blob is "no state"; the first write is conditional on that empty blob.
  auto blob = b->ReadState();
  ASSERT_TRUE(blob.ok());
  EXPECT_FALSE(blob->exists);
  auto t1 = b->WriteState("{\"v\":1}", WriteCondition{std::string()});
  ASSERT_TRUE(t1.ok()) << t1.status().ToString();
  p = raw->GetProperties("nebari/dev.tfstate");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->etag, t1.value());
  EXPECT_EQ(p->lease_state, "leased") << "the lease survives Put Blob";
  EXPECT_EQ(p->metadata["terraformlockid"], record) << "Put Blob must keep the lock record";

  // A write conditioned on an old ETag is refused.
  auto t2 = b->WriteState("{\"v\":2}", WriteCondition{std::string("\"0x8D000000000000\"")});
  ASSERT_FALSE(t2.ok());
  EXPECT_EQ(t2.status().code(), ErrorCode::kConflict);
  auto t3 = b->WriteState("{\"v\":3}", WriteCondition{t1.value()});
  ASSERT_TRUE(t3.ok()) << t3.status().ToString();
  blob = b->ReadState();
  ASSERT_TRUE(blob.ok() && blob->exists);
  EXPECT_EQ(blob->bytes, "{\"v\":3}");
  EXPECT_EQ(blob->version_token, t3.value());

  // Another process cannot lock, nor write without the lease.
  auto other = aztest::Open(container);
  Status held = other->Lock(LockInfo::New("plan", Env::Default()));
  EXPECT_EQ(held.code(), ErrorCode::kLockHeld);
  EXPECT_TRUE(Contains(held.message(), li.id)) << held.message();
  EXPECT_TRUE(Contains(held.message(), "deploy")) << held.message();
  auto cur = other->CurrentLock();
  ASSERT_TRUE(cur.ok() && cur->has_value());
  EXPECT_EQ((*cur)->id, li.id);
  auto w = other->WriteState("{\"v\":99}", WriteCondition{t3.value()});
  EXPECT_EQ(w.status().code(), ErrorCode::kConflict);

  EXPECT_EQ(b->Unlock("not-my-id").code(), ErrorCode::kConflict);
  ASSERT_TRUE(b->Unlock(li.id).ok());
  p = raw->GetProperties("nebari/dev.tfstate");
  ASSERT_TRUE(p.ok());
  EXPECT_NE(p->lease_state, "leased");
  EXPECT_EQ(p->metadata.count("terraformlockid"), 0u) << "unlock clears the record";
  auto none = other->CurrentLock();
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST(AzurermBackend, TwoFirstLockersExactlyOneWins) {
  for (int round = 0; round < 5; ++round) {
    const std::string container = aztest::NewContainer();
    constexpr int kN = 6;
    std::vector<std::unique_ptr<AzurermBackend>> bs;
    for (int i = 0; i < kN; ++i) bs.push_back(aztest::Open(container));
    std::vector<Status> results(kN);
    std::vector<std::thread> ts;
    for (int i = 0; i < kN; ++i) {
      ts.emplace_back([&, i] { results[i] = bs[i]->Lock(LockInfo::New("race", Env::Default())); });
    }
    for (auto& t : ts) t.join();
    int ok = 0;
    for (const auto& st : results) {
      if (st.ok()) ++ok;
      else EXPECT_EQ(st.code(), ErrorCode::kLockHeld) << st.ToString();
    }
    EXPECT_EQ(ok, 1);
    for (int i = 0; i < kN; ++i) {
      if (results[i].ok()) {
        EXPECT_TRUE(bs[i]->Unlock(bs[i]->held_lease_id()).ok());
      }
    }
  }
}

TEST(AzurermBackend, StaleWriterIsRefusedAfterForceUnlock) {
  const std::string container = aztest::NewContainer();
  auto a_backend = aztest::Open(container);
  Seed(a_backend.get(), 1);

  StateManager a(a_backend.get(), {});
  auto a_id = a.Lock("deploy");
  ASSERT_TRUE(a_id.ok());
  auto a_doc = a.Read();
  ASSERT_TRUE(a_doc.ok() && a_doc->has_value());

  // Someone decides A is stuck and force-unlocks it.
  auto breaker = aztest::Open(container);
  LockInfo released;
  std::string matched;
  Status fu = breaker->ForceUnlock(a_id.value(), &released, &matched);
  ASSERT_TRUE(fu.ok()) << fu.ToString();
  EXPECT_EQ(released.id, a_id.value());
  EXPECT_TRUE(Contains(matched, "both")) << matched;

  auto b_backend = aztest::Open(container);
  StateManager b(b_backend.get(), {});
  ASSERT_TRUE(b.Lock("deploy").ok());
  auto b_doc = b.Read();
  ASSERT_TRUE(b_doc.ok() && b_doc->has_value());
  StateDocument bd = **b_doc;
  bd.metadata.deploy_count = 2;
  ASSERT_TRUE(b.Persist(bd, "deploy").ok());

  StateDocument ad = **a_doc;
  ad.metadata.deploy_count = 42;
  Status st = a.Persist(ad, "deploy");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), ErrorCode::kConflict) << st.ToString();
  ASSERT_TRUE(b.Unlock().ok());

  // With B's lease gone too, A's write is still refused: its If-Match ETag is stale.
  Status again = a.Persist(ad, "deploy");
  EXPECT_EQ(again.code(), ErrorCode::kConflict) << again.ToString();

  auto final_blob = aztest::Open(container)->ReadState();
  ASSERT_TRUE(final_blob.ok() && final_blob->exists);
  auto doc = ParseStateDocument(final_blob->bytes, "azurite");
  ASSERT_TRUE(doc.ok());
  EXPECT_EQ(doc->metadata.deploy_count, 2);
  EXPECT_EQ(doc->serial, 2u);
}

TEST(AzurermBackend, FiniteLeaseLossAbortsWrites) {
  const std::string container = aztest::NewContainer();
  Seed(aztest::Open(container).get());
  auto b = aztest::OpenCounted(aztest::Config(container), nullptr, /*lease_duration=*/15, std::chrono::milliseconds(200));
  StateManager m(b.get(), {});
  auto id = m.Lock("deploy");
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  auto raw = aztest::RawClient(container);
  auto p = raw->GetProperties("nebari/dev.tfstate");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->lease_duration, "fixed");
  auto doc = m.Read();
  ASSERT_TRUE(doc.ok() && doc->has_value());
  StateDocument d = **doc;
  d.metadata.deploy_count = 2;
  ASSERT_TRUE(m.Persist(d, "deploy").ok()) << "a write under a live renewed lease works";

  // Break the lease behind the renewer's back.
  auto br = raw->Lease("nebari/dev.tfstate", LeaseRequest{LeaseAction::kBreak, "", "", -1, 0, ""});
  ASSERT_TRUE(br.ok()) << br.status().ToString();
  for (int i = 0; i < 100 && !b->lease_lost(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_TRUE(b->lease_lost()) << "the renewer must notice the broken lease";

  d.metadata.deploy_count = 3;
  Status st = m.Persist(d, "deploy");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), ErrorCode::kConflict);
  EXPECT_TRUE(Contains(st.message(), "was lost")) << st.message();
  EXPECT_TRUE(Contains(st.message(), "renewing it failed")) << st.message();
  EXPECT_EQ(m.Unlock().code(), ErrorCode::kConflict);

  auto blob = aztest::Open(container)->ReadState();
  ASSERT_TRUE(blob.ok() && blob->exists);
  EXPECT_EQ(ParseStateDocument(blob->bytes, "azurite")->metadata.deploy_count, 2);
}

TEST(AzurermBackend, FiniteLeaseIsRenewedInTheBackground) {
  const std::string container = aztest::NewContainer();
  std::shared_ptr<aztest::CountingTransport> counter;
  auto b = aztest::OpenCounted(aztest::Config(container), &counter, 15, std::chrono::milliseconds(200));
  LockInfo li = LockInfo::New("deploy", Env::Default());
  ASSERT_TRUE(b->Lock(li).ok());
  const int64_t after_lock = counter->count();
  std::this_thread::sleep_for(std::chrono::milliseconds(900));
  EXPECT_GE(counter->count() - after_lock, 2) << "the renewer should have renewed about every 200 ms";
  EXPECT_FALSE(b->lease_lost());
  auto p = aztest::RawClient(container)->GetProperties("nebari/dev.tfstate");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->lease_state, "leased");
  EXPECT_EQ(p->lease_duration, "fixed");
  ASSERT_TRUE(b->Unlock(li.id).ok());
  const int64_t after_unlock = counter->count();
  std::this_thread::sleep_for(std::chrono::milliseconds(450));
  EXPECT_EQ(counter->count(), after_unlock) << "the renewer must stop at unlock";
}

TEST(AzurermBackend, ForceUnlockChecksTheId) {
  const std::string container = aztest::NewContainer();
  auto holder = aztest::Open(container);
  LockInfo li = LockInfo::New("deploy", Env::Default());
  ASSERT_TRUE(holder->Lock(li).ok());
  auto raw = aztest::RawClient(container);

  auto other = aztest::Open(container);
  LockInfo released;
  std::string matched;
  Status wrong = other->ForceUnlock(NewUuid(), &released, &matched);
  EXPECT_EQ(wrong.code(), ErrorCode::kConflict) << wrong.ToString();
  EXPECT_TRUE(Contains(wrong.message(), li.id)) << wrong.message();
  Status garbage = other->ForceUnlock("not-a-uuid", &released, &matched);
  EXPECT_EQ(garbage.code(), ErrorCode::kConflict) << garbage.ToString();
  EXPECT_EQ(raw->GetProperties("nebari/dev.tfstate")->lease_state, "leased") << "a wrong ID must not unlock";

  // The break is conditional on the ETag force-unlock checked: a stale ETag breaks nothing.
  auto stale_break = raw->Lease("nebari/dev.tfstate", LeaseRequest{LeaseAction::kBreak, "", "", -1, 0, "\"0x8D000000000001\""});
  EXPECT_FALSE(stale_break.ok());
  EXPECT_EQ(azurerm::AzureCode(stale_break.status()), "ConditionNotMet") << stale_break.status().ToString();
  EXPECT_EQ(raw->GetProperties("nebari/dev.tfstate")->lease_state, "leased");

  Status right = other->ForceUnlock(li.id, &released, &matched);
  ASSERT_TRUE(right.ok()) << right.ToString();
  EXPECT_EQ(released.id, li.id);
  EXPECT_EQ(released.operation, "deploy");
  EXPECT_TRUE(Contains(matched, "lease ID")) << matched;
  auto p = raw->GetProperties("nebari/dev.tfstate");
  EXPECT_NE(p->lease_state, "leased");  // "broken" on Azure; Azurite shows "available" after the metadata write
  EXPECT_EQ(p->metadata.count("terraformlockid"), 0u);
  EXPECT_EQ(other->ForceUnlock(li.id, &released, &matched).code(), ErrorCode::kNotFound);

  // The broken holder finds out on unlock; a new locker gets in.
  EXPECT_EQ(holder->Unlock(li.id).code(), ErrorCode::kConflict);
  LockInfo li2 = LockInfo::New("deploy", Env::Default());
  ASSERT_TRUE(other->Lock(li2).ok());
  ASSERT_TRUE(other->Unlock(li2.id).ok());

  // A lease with no record (another tool, or a crash between acquire and record): the lease ID works.
  const std::string bare = NewUuid();
  ASSERT_TRUE(raw->Lease("nebari/dev.tfstate", LeaseRequest{LeaseAction::kAcquire, "", bare, -1, 0, ""}).ok());
  Status held = other->Lock(LockInfo::New("plan", Env::Default()));
  EXPECT_EQ(held.code(), ErrorCode::kLockHeld);
  bool suggests_break = false;
  for (const auto& sug : held.suggestions()) suggests_break = suggests_break || Contains(sug, "lease break");
  EXPECT_TRUE(suggests_break) << held.ToString();
  ASSERT_TRUE(other->ForceUnlock(bare, &released, &matched).ok());
  EXPECT_TRUE(Contains(matched, "the lease ID (no lock record")) << matched;
  EXPECT_EQ(released.id, bare);
}

TEST(AzurermTerraformCompat, TerraformLockIsReportedAndForceUnlockable) {
  const std::string container = aztest::NewContainer();
  const std::string key = "terraform.tfstate";
  auto raw = aztest::RawClient(container);
  // Terraform's Lock: create an empty blob if missing, AcquireLease(-1, ProposedLeaseID=info.ID),
  // then metadata terraformlockid = base64(LockInfo JSON, Go field names, no PID).
  ASSERT_TRUE(raw->Put(key, "", azurerm::PutOptions{}).ok());
  const std::string tf_id = NewUuid();
  ASSERT_TRUE(raw->Lease(key, LeaseRequest{LeaseAction::kAcquire, "", tf_id, -1, 0, ""}).ok());
  const std::string tf_json = "{\"ID\":\"" + tf_id +
                              "\",\"Operation\":\"OperationTypeApply\",\"Info\":\"\",\"Who\":\"alice@ci-runner\","
                              "\"Version\":\"1.9.8\",\"Created\":\"2026-01-02T03:04:05.123456789Z\",\"Path\":\"" +
                              container + "/" + key + "\"}";
  ASSERT_TRUE(raw->SetMetadata(key, {{"terraformlockid", azurerm::Base64Encode(tf_json)}}, tf_id).ok());

  auto nic = aztest::Open(container, key);
  Status held = nic->Lock(LockInfo::New("deploy", Env::Default()));
  ASSERT_EQ(held.code(), ErrorCode::kLockHeld);
  EXPECT_TRUE(Contains(held.message(), tf_id)) << held.message();
  EXPECT_TRUE(Contains(held.message(), "alice@ci-runner")) << held.message();
  EXPECT_TRUE(Contains(held.message(), "OperationTypeApply")) << held.message();
  auto cur = nic->CurrentLock();
  ASSERT_TRUE(cur.ok() && cur->has_value());
  EXPECT_EQ((*cur)->who, "alice@ci-runner");

  LockInfo released;
  std::string matched;
  ASSERT_TRUE(nic->ForceUnlock(tf_id, &released, &matched).ok());
  EXPECT_TRUE(Contains(matched, "both")) << matched;
  EXPECT_EQ(released.who, "alice@ci-runner");

  // The other way round: NIC's lock, released exactly as Terraform's Unlock does it (read the
  // record, compare the ID, rewrite the metadata without it using the ID as lease ID, release).
  LockInfo li = LockInfo::New("deploy", Env::Default());
  ASSERT_TRUE(nic->Lock(li).ok());
  auto p = raw->GetProperties(key);
  ASSERT_TRUE(p.ok());
  auto rec = LockInfo::FromJson(*azurerm::Base64Decode(p->metadata["terraformlockid"]), "tf");
  ASSERT_TRUE(rec.ok());
  ASSERT_EQ(rec->id, li.id);
  ASSERT_TRUE(raw->SetMetadata(key, {}, rec->id).ok());
  ASSERT_TRUE(raw->Lease(key, LeaseRequest{LeaseAction::kRelease, rec->id, "", -1, 0, ""}).ok());
  EXPECT_NE(raw->GetProperties(key)->lease_state, "leased");
  EXPECT_EQ(nic->Unlock(li.id).code(), ErrorCode::kConflict) << "the lock was released behind NIC's back";
}

TEST(AzurermErrors, WrongKeyMissingContainerUnreachable) {
  const std::string container = aztest::NewContainer();
  auto cfg = aztest::Config(container);
  cfg.values["access_key"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==";
  auto bad = OpenBackend(cfg);
  ASSERT_TRUE(bad.ok());
  auto r = bad.value()->ReadState();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUnauthenticated) << r.status().ToString();
  EXPECT_TRUE(Contains(r.status().message(), "storage account \"devstoreaccount1\"")) << r.status().message();
  EXPECT_TRUE(Contains(r.status().message(), "azurerm")) << r.status().message();
  ASSERT_FALSE(r.status().suggestions().empty());
  EXPECT_TRUE(Contains(r.status().suggestions()[0], "access_key")) << r.status().suggestions()[0];
  EXPECT_EQ(bad.value()->Lock(LockInfo::New("deploy", Env::Default())).code(), ErrorCode::kUnauthenticated);

  auto missing = aztest::Open("no-such-container");
  auto m = missing->ReadState();
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(Contains(m.status().message(), "container \"no-such-container\" does not exist")) << m.status().message();
  Status ml = missing->Lock(LockInfo::New("deploy", Env::Default()));
  EXPECT_EQ(ml.code(), ErrorCode::kNotFound) << ml.ToString();

  auto ucfg = aztest::Config(container);
  ucfg.values["endpoint"] = "http://127.0.0.1:" + std::to_string(testing::FreePort()) + "/devstoreaccount1";
  AzurermBackendOptions o = aztest::Options(ucfg);
  o.client.retry.policy.max_attempts = 2;
  o.client.retry.policy.base_delay = std::chrono::milliseconds(10);
  AzurermBackend unreachable(std::move(o));
  auto u = unreachable.ReadState();
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.status().code(), ErrorCode::kUnavailable);
  EXPECT_TRUE(Contains(u.status().message(), "cannot reach the blob endpoint")) << u.status().message();
}

TEST(AzurermBackend, SnapshotKeepsTheReplacedVersion) {
  const std::string container = aztest::NewContainer();
  auto cfg = aztest::Config(container);
  cfg.values["snapshot"] = "true";
  auto opened = OpenBackend(cfg);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto* b = static_cast<AzurermBackend*>(opened->get());
  Seed(b, 1);
  EXPECT_EQ(b->last_snapshot(), "") << "nothing to snapshot before the first version";
  auto before = b->ReadState();
  ASSERT_TRUE(before.ok() && before->exists);
  StateManager m(b, {});
  ASSERT_TRUE(m.Lock("deploy").ok());
  auto doc = m.Read();
  ASSERT_TRUE(doc.ok() && doc->has_value());
  StateDocument d = **doc;
  d.metadata.deploy_count = 2;
  ASSERT_TRUE(m.Persist(d, "deploy").ok());
  ASSERT_TRUE(m.Unlock().ok());
  ASSERT_FALSE(b->last_snapshot().empty());
  auto snap = b->client().GetSnapshot(b->key(), b->last_snapshot());
  ASSERT_TRUE(snap.ok() && snap->properties.exists) << snap.status().ToString();
  EXPECT_EQ(snap->bytes, before->bytes) << "the snapshot holds the version that was replaced";
}

TEST(AzurermAuth, ContainerSasToken) {
  const std::string container = aztest::NewContainer();
  azure::StorageAccount acct{testing::Azurite::kAccount, testing::Azurite::kKey, "", aztest::Endpoint()};
  azure::BlobSasOptions so;
  so.permissions = "racwd";
  so.expiry = Env::Default()->NowMicros() / 1000000 + 3600;
  auto sas = azure::MakeBlobSas(acct, container, "", so);
  ASSERT_TRUE(sas.ok()) << sas.status().ToString();
  auto cfg = aztest::Config(container);
  cfg.values.erase("access_key");
  cfg.values["sas_token"] = "?" + sas.value();
  auto b = OpenBackend(cfg);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  Seed(b->get(), 1);
  auto blob = b.value()->ReadState();
  ASSERT_TRUE(blob.ok() && blob->exists) << blob.status().ToString();

  // A read-only SAS can read but not lock.
  so.permissions = "r";
  auto ro = azure::MakeBlobSas(acct, container, "", so);
  ASSERT_TRUE(ro.ok());
  cfg.values["sas_token"] = ro.value();
  auto rb = OpenBackend(cfg);
  ASSERT_TRUE(rb.ok());
  EXPECT_TRUE(rb.value()->ReadState().ok());
  Status st = rb.value()->Lock(LockInfo::New("deploy", Env::Default()));
  EXPECT_FALSE(st.ok());
  EXPECT_TRUE(st.code() == ErrorCode::kUnauthenticated || st.code() == ErrorCode::kPermissionDenied) << st.ToString();
  std::printf("read-only SAS lock: %s\n", st.ToString().c_str());
}

TEST(AzurermRequests, PerCycleCount) {
  const std::string container = aztest::NewContainer();
  Seed(aztest::Open(container).get());
  std::shared_ptr<aztest::CountingTransport> counter;
  auto b = aztest::OpenCounted(aztest::Config(container), &counter);
  StateManager m(b.get(), {});
  int64_t before = counter->count();
  ASSERT_TRUE(m.Lock("deploy").ok());
  int64_t lock = counter->count() - before;
  before = counter->count();
  auto doc = m.Read();
  ASSERT_TRUE(doc.ok() && doc->has_value());
  int64_t read = counter->count() - before;
  before = counter->count();
  StateDocument d = **doc;
  d.metadata.deploy_count += 1;
  ASSERT_TRUE(m.Persist(d, "deploy").ok());
  int64_t write = counter->count() - before;
  before = counter->count();
  ASSERT_TRUE(m.Unlock().ok());
  int64_t unlock = counter->count() - before;
  EXPECT_EQ(lock, 3);   // HEAD, acquire, set metadata
  EXPECT_EQ(read, 1);   // GET
  EXPECT_EQ(write, 1);  // PUT with lease + If-Match + metadata
  EXPECT_EQ(unlock, 2); // set metadata, release
  std::printf("azurerm requests per uncontended cycle: lock %lld + read %lld + write %lld + unlock %lld = %lld "
              "(Terraform/OpenTofu azurerm: 4 + 1 + 2 + 4 = 11)\n",
              static_cast<long long>(lock), static_cast<long long>(read), static_cast<long long>(write),
              static_cast<long long>(unlock), static_cast<long long>(lock + read + write + unlock));
}

}  // namespace
}  // namespace nic

#include "backends/azurerm/azurerm_backend.h"

#include <chrono>
#include <cstdlib>
#include <initializer_list>

#include "nic/azure_auth.h"
#include "nic/env.h"
#include "nic/log.h"

namespace nic {
namespace {

using azurerm::AzureCode;
using azurerm::BlobProperties;
using azurerm::LeaseAction;
using azurerm::LeaseRequest;

constexpr const char* kKnownKeys =
    "storage_account_name, container_name, key, access_key, sas_token, use_azuread_auth, tenant_id, client_id, "
    "client_secret, resource_group_name, subscription_id, environment, snapshot, endpoint, lease_duration";

bool IsLeaseCode(const std::string& code) { return code.rfind("Lease", 0) == 0; }

Result<bool> ParseBool(const std::string& key, const std::string& v) {
  if (v == "true" || v == "1" || v == "True" || v == "TRUE") return true;
  if (v == "false" || v == "0" || v == "False" || v == "FALSE" || v.empty()) return false;
  return Status::Usage("azurerm backend setting " + key + "=\"" + v + "\" must be true or false");
}

std::optional<std::string> FirstEnv(const auth::EnvLookup& env, std::initializer_list<const char*> names) {
  for (const char* n : names) {
    if (auto v = env(n); v && !v->empty()) return v;
  }
  return std::nullopt;
}

std::string Describe(const BlobProperties& p) {
  return "lease " + (p.lease_state.empty() ? std::string("unknown") : p.lease_state) +
         (p.lease_duration.empty() ? "" : ", " + p.lease_duration);
}

}  // namespace

Result<AzurermBackendOptions> AzurermBackend::ResolveOptions(const BackendConfig& config, const auth::EnvLookup& env) {
  AzurermBackendOptions opts;
  std::string account, access_key, sas, endpoint, container;
  azure::EntraOptions entra_override;
  bool azuread = false, azuread_set = false;
  for (const auto& [k, v] : config.values) {
    if (k == "storage_account_name") {
      account = v;
    } else if (k == "container_name") {
      container = v;
    } else if (k == "key") {
      opts.key = v;
    } else if (k == "access_key") {
      access_key = v;
    } else if (k == "sas_token") {
      sas = v;
    } else if (k == "use_azuread_auth") {
      NIC_ASSIGN_OR_RETURN(azuread, ParseBool(k, v));
      azuread_set = true;
    } else if (k == "tenant_id") {
      entra_override.tenant_id = v;
    } else if (k == "client_id") {
      entra_override.client_id = v;
    } else if (k == "client_secret") {
      entra_override.client_secret = v;
    } else if (k == "resource_group_name" || k == "subscription_id") {
      // Terraform uses these to list the account keys through ARM when no credential is
      // given; NIC needs a credential, and ignores them once it has one (checked below).
    } else if (k == "environment") {
      if (v != "public" && !v.empty()) {
        return Status::Unsupported("azurerm backend setting environment=\"" + v + "\" is not supported; NIC knows the public cloud")
            .WithSuggestion("set endpoint=https://ACCOUNT.blob.<sovereign cloud suffix> instead");
      }
    } else if (k == "endpoint") {
      endpoint = v;
    } else if (k == "snapshot") {
      NIC_ASSIGN_OR_RETURN(opts.snapshot, ParseBool(k, v));
    } else if (k == "lease_duration") {
      char* end = nullptr;
      long d = std::strtol(v.c_str(), &end, 10);
      if (v == "infinite") d = -1;
      else if (end == v.c_str() || *end != '\0' || !(d == -1 || (d >= 15 && d <= 60))) {
        return Status::Usage("azurerm backend setting lease_duration=\"" + v +
                             "\" must be -1 (infinite, the default, as Terraform) or 15 to 60 seconds (Azure's limits)");
      }
      opts.lease_duration_seconds = static_cast<int>(d);
    } else if (k == "use_msi" || k == "use_oidc" || k == "msi_endpoint" || k == "oidc_token" || k == "oidc_token_file_path" ||
               k == "oidc_request_url" || k == "oidc_request_token" || k == "use_cli" || k == "client_certificate_path" ||
               k == "client_certificate_password" || k == "metadata_host" || k == "lookup_blob_endpoint") {
      return Status::Unsupported("azurerm backend setting \"" + k + "\" is not supported by NIC yet")
          .WithSuggestion("use access_key (ARM_ACCESS_KEY), sas_token (ARM_SAS_TOKEN) or use_azuread_auth=true with a client secret");
    } else {
      return Status::Usage("unknown azurerm backend setting \"" + k + "\" (the azurerm backend takes: " + kKnownKeys + ")");
    }
  }
  if (container.empty()) return Status::Usage("the azurerm backend needs container_name: --backend-config container_name=NAME");
  if (opts.key.empty()) return Status::Usage("the azurerm backend needs the state blob name: --backend-config key=NAME (e.g. nebari.tfstate)");
  if (!azuread_set) {
    if (auto v = FirstEnv(env, {"ARM_USE_AZUREAD"})) {
      NIC_ASSIGN_OR_RETURN(azuread, ParseBool("ARM_USE_AZUREAD", *v));
    }
  }

  // AZURE_STORAGE_CONNECTION_STRING supplies account, key/SAS and endpoint (UseDevelopmentStorage=true
  // means Azurite), used only for the account it names.
  std::optional<azure::StorageAccount> cs;
  if (auto s = FirstEnv(env, {"AZURE_STORAGE_CONNECTION_STRING"})) {
    auto parsed = azure::ParseConnectionString(*s);
    if (!parsed.ok()) return Status(parsed.status()).Prepend("azurerm backend: AZURE_STORAGE_CONNECTION_STRING");
    cs = parsed.value();
  }
  if (account.empty() && cs) account = cs->name;
  if (account.empty()) {
    if (auto v = FirstEnv(env, {"AZURE_STORAGE_ACCOUNT", "ARM_STORAGE_ACCOUNT_NAME"})) account = *v;
  }
  if (account.empty()) {
    return Status::Usage("the azurerm backend needs storage_account_name: --backend-config storage_account_name=NAME");
  }
  if (cs && cs->name != account) cs.reset();

  std::string hint;
  azure::StorageAccount sa;
  sa.name = account;
  if (!access_key.empty()) {
    sa.key = access_key;
    hint = "the access_key setting";
  } else if (!sas.empty()) {
    sa.sas = sas;
    hint = "the sas_token setting (its signature, expiry and permissions: NIC needs read, add, create, write, delete)";
  } else if (!azuread) {
    if (auto v = FirstEnv(env, {"ARM_ACCESS_KEY", "AZURE_STORAGE_KEY"})) {
      sa.key = *v;
      hint = "ARM_ACCESS_KEY / AZURE_STORAGE_KEY";
    } else if (auto s = FirstEnv(env, {"ARM_SAS_TOKEN", "AZURE_STORAGE_SAS_TOKEN"})) {
      sa.sas = *s;
      hint = "ARM_SAS_TOKEN / AZURE_STORAGE_SAS_TOKEN (signature, expiry, permissions)";
    } else if (cs && (!cs->key.empty() || !cs->sas.empty())) {
      sa.key = cs->key;
      sa.sas = cs->sas;
      hint = "the AccountKey / SharedAccessSignature in AZURE_STORAGE_CONNECTION_STRING";
    }
  }
  if (!sa.sas.empty() && sa.sas[0] == '?') sa.sas.erase(0, 1);
  if (!endpoint.empty()) {
    sa.blob_endpoint = endpoint;
  } else if (cs && !cs->blob_endpoint.empty()) {
    sa.blob_endpoint = cs->blob_endpoint;
  } else {
    sa.blob_endpoint = "https://" + account + ".blob.core.windows.net";
  }
  if (!azuread && sa.key.empty() && sa.sas.empty()) {
    return Status::Unauthenticated("azurerm backend: no credentials for storage account \"" + account + "\"")
        .WithSuggestion("pass access_key (or ARM_ACCESS_KEY), sas_token (or ARM_SAS_TOKEN), use_azuread_auth=true, or set "
                        "AZURE_STORAGE_CONNECTION_STRING; NIC does not list account keys through resource_group_name");
  }

  opts.client.endpoint = sa.blob_endpoint;
  opts.client.account = account;
  opts.client.container = container;
  opts.client.transport = std::shared_ptr<http::Transport>(http::NewCurlTransport());
  if (azuread) {
    auto eo = azure::EntraOptionsFromEnv(env, azure::kStorageScope);
    azure::EntraOptions e = eo.ok() ? eo.value() : azure::EntraOptions{};
    e.scope = azure::kStorageScope;
    if (!entra_override.tenant_id.empty()) e.tenant_id = entra_override.tenant_id;
    if (!entra_override.client_id.empty()) e.client_id = entra_override.client_id;
    if (!entra_override.client_secret.empty()) e.client_secret = entra_override.client_secret;
    if (e.tenant_id.empty() || e.client_id.empty() || e.client_secret.empty()) {
      return Status::Unauthenticated("azurerm backend: use_azuread_auth needs an Entra tenant, client ID and client secret")
          .WithSuggestion("set tenant_id/client_id/client_secret, or ARM_TENANT_ID/ARM_CLIENT_ID/ARM_CLIENT_SECRET");
    }
    auto tokens = std::make_shared<auth::CachedTokenSource>(azure::NewEntraClientCredentials(e, opts.client.transport.get()));
    opts.client.authorizer = std::make_shared<auth::BearerAuthorizer>(tokens);
    hint = "the Entra app (tenant " + e.tenant_id + ", client " + e.client_id + ") and its role on the container";
  } else {
    opts.client.authorizer = std::make_shared<azure::StorageAuthorizer>(sa);
  }
  opts.client.credentials_hint = hint;
  return opts;
}

Result<std::unique_ptr<Backend>> AzurermBackend::Create(const BackendConfig& config) {
  NIC_ASSIGN_OR_RETURN(AzurermBackendOptions opts, ResolveOptions(config, auth::ProcessEnv()));
  return std::unique_ptr<Backend>(new AzurermBackend(std::move(opts)));
}

AzurermBackend::AzurermBackend(AzurermBackendOptions options)
    : client_(std::move(options.client)),
      key_(std::move(options.key)),
      lease_duration_(options.lease_duration_seconds),
      renew_interval_(options.renew_interval),
      snapshot_(options.snapshot),
      env_(options.env ? options.env : Env::Default()) {
  if (renew_interval_.count() <= 0 && lease_duration_ > 0) renew_interval_ = std::chrono::milliseconds(lease_duration_ * 1000 / 3);
}

AzurermBackend::~AzurermBackend() {
  StopRenewer();
  if (!held_id_.empty() && !lease_lost_) {
    // Dropped without Unlock (an error path). An infinite lease left behind would block every
    // later command, so release it; both calls carry our lease ID and touch nothing else.
    auto md = client_.SetMetadata(key_, other_meta_, held_id_);
    Status st = md.ok() ? Status::OK() : md.status();
    if (st.ok()) st = client_.Lease(key_, LeaseRequest{LeaseAction::kRelease, held_id_, "", -1, 0, ""}).status();
    if (!st.ok()) {
      Log(LogLevel::kWarn, "could not release the state lease " + held_id_ + " on " + Location() + ": " + st.message() +
                               "; release it with: nic state unlock --force " + held_id_);
    }
  }
}

azurerm::Metadata AzurermBackend::MetadataForWrite() const {
  azurerm::Metadata md = other_meta_;
  if (!held_id_.empty() && !lock_meta_value_.empty()) md[kLockMetaKey] = lock_meta_value_;
  return md;
}

Status AzurermBackend::LeaseLostError() const {
  std::string reason;
  {
    std::lock_guard<std::mutex> lk(mu_);
    reason = lease_lost_reason_;
  }
  return Status::Conflict("azurerm backend: the lease " + held_id_ + " on " + Location() +
                          " was lost while this command ran (" + reason +
                          "); refusing to write, another process may hold the lock now")
      .WithDetail("backend", "azurerm")
      .WithDetail("lease_lost", "true")
      .WithSuggestion("check who holds the state (nic state show) and re-run the command");
}

std::optional<LockInfo> AzurermBackend::RecordedHolder(const BlobProperties& props, std::string* problem) const {
  auto it = props.metadata.find(kLockMetaKey);
  if (it == props.metadata.end() || it->second.empty()) {
    if (problem) *problem = "the blob has no " + std::string(kLockMetaKey) + " metadata";
    return std::nullopt;
  }
  auto json = azurerm::Base64Decode(it->second);
  if (!json) {
    if (problem) *problem = "its " + std::string(kLockMetaKey) + " metadata is not base64";
    return std::nullopt;
  }
  auto li = LockInfo::FromJson(*json, Location() + " metadata " + kLockMetaKey);
  if (!li.ok()) {
    if (problem) *problem = li.status().message();
    return std::nullopt;
  }
  return li.value();
}

Status AzurermBackend::HeldError(const BlobProperties& props) {
  std::string problem;
  auto recorded = RecordedHolder(props, &problem);
  LockInfo holder;
  if (recorded) {
    holder = *recorded;
  } else {
    holder.id = "(unknown)";
    holder.operation = "(unknown)";
    holder.who = "a lease without a readable lock record (" + problem + ")";
    holder.path = Location();
  }
  Status base = LockHeldError(holder, "azurerm", env_);
  Status st(ErrorCode::kLockHeld, base.message() + " (" + Describe(props) + " on " + Location() + ")");
  for (const auto& [k, v] : base.details()) st.WithDetail(k, v);
  st.WithDetail("backend", "azurerm").WithDetail("lease_state", props.lease_state);
  for (const auto& s : base.suggestions()) st.WithSuggestion(s);
  if (!recorded) {
    st.WithSuggestion("a lock being taken has no record for a moment; if it persists, the lease was taken by another tool: "
                      "nic state unlock --force <lease ID>, or az storage blob lease break --account-name " +
                      client_.options().account + " --container-name " + client_.options().container + " --blob-name " + key_ +
                      " --lease-break-period 0");
  }
  return st;
}

Status AzurermBackend::Lock(const LockInfo& info) {
  if (!held_id_.empty()) return Status::Internal("the azurerm backend already holds the lock " + held_id_ + " on " + Location());
  LockInfo li = info;
  if (li.path.empty()) li.path = Location();
  lease_lost_ = false;
  for (int attempt = 0; attempt < 3; ++attempt) {
    NIC_ASSIGN_OR_RETURN(BlobProperties props, client_.GetProperties(key_));
    if (!props.exists) {
      other_meta_.clear();
      // The lease needs a blob. If-None-Match: * so that of two first lockers (or a locker and a
      // writer) nobody overwrites what the other created.
      azurerm::PutOptions po;
      po.if_none_match_any = true;
      auto created = client_.Put(key_, "", po);
      if (!created.ok() && AzureCode(created.status()) != "BlobAlreadyExists") {
        return Status(created.status()).Prepend("creating the empty state blob to lease");
      }
    } else if (props.lease_state == "leased" || props.lease_state == "breaking") {
      return HeldError(props);
    } else {
      other_meta_ = props.metadata;
      other_meta_.erase(kLockMetaKey);
    }
    LeaseRequest acquire{LeaseAction::kAcquire, "", info.id, lease_duration_, 0, ""};
    auto r = client_.Lease(key_, acquire);
    if (!r.ok()) {
      const std::string code = AzureCode(r.status());
      if (code == "BlobNotFound") continue;  // deleted in between
      if (IsLeaseCode(code)) {
        NIC_ASSIGN_OR_RETURN(BlobProperties now, client_.GetProperties(key_));
        if (now.lease_state == "leased" || now.lease_state == "breaking") return HeldError(now);
        continue;  // released in between
      }
      return Status(r.status()).Prepend("acquiring the lease on " + Location());
    }
    held_id_ = info.id;
    lock_meta_value_ = azurerm::Base64Encode(li.ToJson());
    // Put Blob and Set Blob Metadata replace all metadata: keep other keys, add the record.
    auto md = client_.SetMetadata(key_, MetadataForWrite(), held_id_);
    if (!md.ok()) {
      Status st = md.status();
      (void)client_.Lease(key_, LeaseRequest{LeaseAction::kRelease, held_id_, "", -1, 0, ""});
      held_id_.clear();
      lock_meta_value_.clear();
      return st.Prepend("recording the lock in the blob metadata");
    }
    empty_etag_.reset();
    if (lease_duration_ > 0) StartRenewer();
    return Status::OK();
  }
  return Status::LockHeld("the lease on " + Location() + " was taken and released repeatedly while NIC tried to acquire it")
      .WithDetail("backend", "azurerm")
      .WithSuggestion("retry with --lock-timeout 5m to wait for the other writers");
}

void AzurermBackend::ForgetLock() {
  StopRenewer();
  held_id_.clear();
  lock_meta_value_.clear();
}

Status AzurermBackend::Unlock(const std::string& lock_id) {
  if (held_id_.empty() || lock_id != held_id_) {
    return Status::Conflict("cannot unlock " + Location() + " with ID " + lock_id + ": this process does not hold that lock");
  }
  StopRenewer();
  if (lease_lost_) {
    Status st = LeaseLostError();
    ForgetLock();
    return st;
  }
  // Clear the record first (with our lease ID, so it fails if the lease is no longer ours),
  // then release: nobody ever sees a record of a lock nobody holds.
  auto md = client_.SetMetadata(key_, other_meta_, held_id_);
  if (!md.ok()) {
    Status st = md.status();
    if (IsLeaseCode(AzureCode(st))) {
      ForgetLock();
      return Status::Conflict("the lease " + lock_id + " on " + Location() +
                              " was broken by someone else while this command held it; nothing was changed")
          .WithDetail("backend", "azurerm")
          .WithSuggestion("check the history (nic state history) and who force-unlocked the state");
    }
    return st.Prepend("clearing the lock record");
  }
  bool retried = false;
  auto rel = client_.Lease(key_, LeaseRequest{LeaseAction::kRelease, held_id_, "", -1, 0, ""}, &retried);
  if (!rel.ok()) {
    const std::string code = AzureCode(rel.status());
    // A retried release refused with a lease error: our first attempt released it (Azurite
    // answers LeaseIdMismatchWithLeaseOperation, Azure LeaseNotPresentWithLeaseOperation).
    // Either way the lease is no longer ours, and the record was cleared under it.
    if (!(retried && IsLeaseCode(code))) {
      Status st = rel.status();
      if (IsLeaseCode(code)) {
        ForgetLock();
        return Status::Conflict("the lease " + lock_id + " on " + Location() + " was broken just before release: " + st.message())
            .WithDetail("backend", "azurerm");
      }
      return st.Prepend("releasing the lease " + lock_id + " (release it with: nic state unlock --force " + lock_id + ")");
    }
  }
  ForgetLock();
  return Status::OK();
}

Result<std::optional<LockInfo>> AzurermBackend::CurrentLock() {
  NIC_ASSIGN_OR_RETURN(BlobProperties props, client_.GetProperties(key_));
  if (!props.exists || (props.lease_state != "leased" && props.lease_state != "breaking")) return std::optional<LockInfo>();
  std::string problem;
  auto holder = RecordedHolder(props, &problem);
  if (holder) return holder;
  LockInfo unknown;
  unknown.id = "(unknown)";
  unknown.path = Location();
  unknown.info = "leased (" + props.lease_duration + ") without a readable lock record: " + problem;
  return std::optional<LockInfo>(unknown);
}

Status AzurermBackend::ForceUnlock(const std::string& lock_id, LockInfo* released, std::string* matched) {
  NIC_ASSIGN_OR_RETURN(BlobProperties props, client_.GetProperties(key_));
  if (!props.exists) {
    return Status::NotFound("the state " + Location() + " is not locked (the blob does not exist)").WithDetail("backend", "azurerm");
  }
  std::string problem;
  auto holder = RecordedHolder(props, &problem);
  const bool meta_match = holder && holder->id == lock_id;
  azurerm::Metadata cleared = props.metadata;
  cleared.erase(kLockMetaKey);
  const bool leased = props.lease_state == "leased" || props.lease_state == "breaking";

  if (!leased) {
    if (meta_match) {
      // A record left behind by a holder whose lease was broken by hand or expired.
      auto md = client_.SetMetadata(key_, cleared, "", props.etag);
      if (!md.ok()) return Status(md.status()).Prepend("clearing the stale lock record");
      if (released) *released = *holder;
      if (matched) *matched = "the lock ID in the blob metadata (a stale record: the lease was already " + props.lease_state + ")";
      return Status::OK();
    }
    return Status::NotFound("the state " + Location() + " is not locked (" + Describe(props) + ")").WithDetail("backend", "azurerm");
  }

  // Is the ID the lease ID? Only the holder of a lease can renew it; for a lease about to be
  // broken, a renewal changes nothing.
  bool lease_match = false;
  auto probe = client_.Lease(key_, LeaseRequest{LeaseAction::kRenew, lock_id, "", -1, 0, ""});
  if (probe.ok()) {
    lease_match = true;
  } else if (!IsLeaseCode(AzureCode(probe.status())) && AzureCode(probe.status()) != "InvalidHeaderValue") {
    return Status(probe.status()).Prepend("checking the lease ID");
  }
  if (!meta_match && !lease_match) {
    std::string rec = holder ? "the lock record's ID is " + holder->id : "there is no readable lock record (" + problem + ")";
    return Status::Conflict("lock ID " + lock_id + " does not match the lock on " + Location() + ": it is not the lease ID, and " +
                            rec + "; nothing was unlocked")
        .WithDetail("backend", "azurerm")
        .WithSuggestion("pass the lock ID exactly as the lock error printed it");
  }
  std::string how;
  if (meta_match && lease_match) {
    how = "lock ID (both the lease ID and the ID in the blob metadata " + std::string(kLockMetaKey) + ")";
  } else if (meta_match) {
    how = "the lock ID in the blob metadata " + std::string(kLockMetaKey) + " (the lease was taken with another ID)";
  } else {
    how = "the lease ID (" + (holder ? "the blob metadata records another lock, " + holder->id : "no lock record in the blob metadata") + ")";
  }
  // Break rather than release: release needs the lease ID, which a metadata match does not
  // prove. If-Match on the ETag we checked: if the lock changed hands meanwhile (a new holder
  // writes its record, which moves the ETag), the new holder's lease is not touched.
  auto br = client_.Lease(key_, LeaseRequest{LeaseAction::kBreak, "", "", -1, 0, props.etag});
  if (!br.ok()) {
    const std::string code = AzureCode(br.status());
    if (code == "ConditionNotMet") {
      return Status::Conflict("the lock on " + Location() + " changed while it was being broken; nothing was broken")
          .WithDetail("backend", "azurerm")
          .WithSuggestion("look at the new holder with nic state show, then decide again");
    }
    if (IsLeaseCode(code)) {  // LeaseNotPresentWithLeaseOperation: nothing left to break
      return Status::NotFound("the lock " + lock_id + " on " + Location() + " was released by its holder before it could be broken")
          .WithDetail("backend", "azurerm");
    }
    return Status(br.status()).Prepend("breaking the lease");
  }
  const std::string etag = br->headers.GetOr("ETag", props.etag);
  auto md = client_.SetMetadata(key_, cleared, "", etag);
  if (!md.ok()) {
    // The lease is broken; a new holder already took it and will replace the record.
    Log(LogLevel::kWarn, "the lease on " + Location() + " was broken, but its lock record was not cleared: " + md.status().message());
  }
  if (released) {
    if (holder) {
      *released = *holder;
    } else {
      LockInfo li;
      li.id = lock_id;
      li.path = Location();
      li.info = "a lease without a lock record";
      *released = li;
    }
  }
  if (matched) *matched = how;
  if (held_id_ == lock_id) ForgetLock();
  return Status::OK();
}

Result<StateBlob> AzurermBackend::ReadState() {
  if (!held_id_.empty() && lease_lost_) return LeaseLostError();
  NIC_ASSIGN_OR_RETURN(azurerm::BlobContent content, client_.Get(key_, held_id_));
  StateBlob blob;
  empty_etag_.reset();
  if (!content.properties.exists) return blob;
  other_meta_ = content.properties.metadata;
  other_meta_.erase(kLockMetaKey);
  if (content.bytes.empty()) {
    // The empty blob a lock created: no state yet. Remember its ETag so the first write is
    // conditional on it still being that empty blob.
    empty_etag_ = content.properties.etag;
    return blob;
  }
  blob.exists = true;
  blob.bytes = std::move(content.bytes);
  blob.version_token = content.properties.etag;
  return blob;
}

Result<std::string> AzurermBackend::WriteState(std::string_view bytes, const WriteCondition& cond) {
  if (!held_id_.empty() && lease_lost_) return LeaseLostError();
  azurerm::PutOptions po;
  po.lease_id = held_id_;
  po.metadata = MetadataForWrite();
  if (cond.expected_version_token) {
    const std::string& want = *cond.expected_version_token;
    if (!want.empty()) {
      po.if_match = want;
    } else if (empty_etag_) {
      po.if_match = *empty_etag_;
    } else {
      po.if_none_match_any = true;
    }
  }
  if (snapshot_ && !po.if_match.empty() && !empty_etag_) {
    // Terraform's snapshot=true, but of exactly the version read: If-Match makes a snapshot of
    // someone else's newer state impossible (and refuses the write early).
    auto snap = client_.Snapshot(key_, held_id_, po.if_match);
    if (!snap.ok()) {
      if (AzureCode(snap.status()) == "ConditionNotMet") {
        return Status::Conflict("azurerm backend: the state " + Location() + " changed since it was read (read ETag " +
                                po.if_match + "); refusing to overwrite the newer version")
            .WithDetail("backend", "azurerm")
            .WithDetail("azure_code", "ConditionNotMet");
      }
      return Status(snap.status()).Prepend("snapshotting the state before writing it (snapshot=true)");
    }
    last_snapshot_ = snap.value();
  }
  bool retried = false;
  auto r = client_.Put(key_, bytes, po, &retried);
  if (r.ok()) {
    empty_etag_.reset();
    return r.value();
  }
  Status st = r.status();
  const std::string code = AzureCode(st);
  if (code == "ConditionNotMet" || code == "BlobAlreadyExists") {
    if (retried) {
      // A retried write refused by its own precondition may be our first attempt that landed
      // with its response lost: the content tells.
      auto now = client_.GetProperties(key_, held_id_);
      if (now.ok() && now->exists && !bytes.empty() && now->content_md5 == azurerm::Md5Base64(bytes)) {
        empty_etag_.reset();
        return now->etag;
      }
    }
    std::string read = po.if_match.empty() ? "no state" : "ETag " + po.if_match;
    return Status::Conflict("azurerm backend: the state " + Location() + " changed since it was read (read " + read +
                            "); refusing to overwrite the newer version")
        .WithDetail("backend", "azurerm")
        .WithDetail("azure_code", code);
  }
  if (IsLeaseCode(code)) {
    std::string why = held_id_.empty() ? "another process holds a lease on it (" + code + ")"
                                       : "the lease " + held_id_ + " is no longer ours (" + code + "): it was broken, e.g. by a force-unlock";
    return Status::Conflict("azurerm backend: refusing to write " + Location() + ": " + why)
        .WithDetail("backend", "azurerm")
        .WithDetail("azure_code", code);
  }
  return st.Prepend("writing the state");
}

void AzurermBackend::StartRenewer() {
  StopRenewer();
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_renewer_ = false;
    lease_lost_reason_.clear();
  }
  renewer_ = std::thread([this] { RenewLoop(); });
}

void AzurermBackend::StopRenewer() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_renewer_ = true;
  }
  cv_.notify_all();
  if (renewer_.joinable()) renewer_.join();
}

void AzurermBackend::RenewLoop() {
  const std::string id = held_id_;  // fixed while the renewer runs
  auto last_ok = std::chrono::steady_clock::now();
  const auto lifetime = std::chrono::seconds(lease_duration_);
  std::unique_lock<std::mutex> lk(mu_);
  while (!stop_renewer_) {
    cv_.wait_for(lk, renew_interval_, [this] { return stop_renewer_; });
    if (stop_renewer_) break;
    lk.unlock();
    auto r = client_.Lease(key_, LeaseRequest{LeaseAction::kRenew, id, "", -1, 0, ""});
    lk.lock();
    if (r.ok()) {
      last_ok = std::chrono::steady_clock::now();
      continue;
    }
    const std::string code = AzureCode(r.status());
    // A lease error or a missing blob is definitive; a network failure is retried until the
    // lease would have expired anyway.
    bool definitive = IsLeaseCode(code) || r.status().code() == ErrorCode::kNotFound;
    if (definitive || std::chrono::steady_clock::now() - last_ok >= lifetime) {
      lease_lost_reason_ = "renewing it failed: " + r.status().message();
      lease_lost_ = true;
      Log(LogLevel::kError, "the state lease " + id + " on " + Location() + " was lost: " + r.status().message());
      break;
    }
  }
}

}  // namespace nic

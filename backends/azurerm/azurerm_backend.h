// The azurerm backend: the state in an Azure Storage block blob, locked the way Terraform's
// azurerm backend locks it, so a Terraform user and NIC see each other's locks.
//
//   <endpoint>/<container_name>/<key>    the state document (an empty blob means "no state")
//   lease on that blob                   the lock; lease ID = NIC's lock ID (a UUID)
//   metadata terraformlockid             base64(LockInfo JSON), the holder's description
//
// Beyond Terraform:
//   * every state write carries x-ms-lease-id AND If-Match on the ETag read (If-None-Match: *
//     for a blob that never existed), so a writer whose lease was broken can never overwrite a
//     newer state;
//   * the empty blob the lock needs is created with If-None-Match: *, so two first lockers
//     cannot clobber each other (or an existing state);
//   * force-unlock accepts the lease ID or the ID in the metadata, says which matched, and
//     BREAKS the lease (conditional on the ETag it checked) instead of releasing it, which
//     works for leases whose ID nobody recorded;
//   * an optional finite lease (lease_duration 15-60 s) is renewed in the background; if a
//     renewal fails the lease is treated as lost and every later write is refused.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "backends/azurerm/blob_client.h"
#include "nic/auth.h"
#include "nic/backend.h"

namespace nic {

class Env;

struct AzurermBackendOptions {
  std::string key;  // blob name, e.g. "nebari.tfstate" or "prod/terraform.tfstate"
  azurerm::ClientOptions client;  // endpoint, account, container, transport, authorizer, retry
  int lease_duration_seconds = -1;  // -1 = infinite (Terraform's); else 15..60
  // How often the renewer renews a finite lease; 0 = a third of the duration.
  std::chrono::milliseconds renew_interval{0};
  // Terraform's snapshot=true: a blob snapshot of the version being replaced before each write.
  bool snapshot = false;
  Env* env = nullptr;  // Env::Default() when null
};

class AzurermBackend : public Backend {
 public:
  static constexpr const char* kLockMetaKey = "terraformlockid";

  // Config keys (Terraform's azurerm backend): storage_account_name, container_name, key,
  // access_key, sas_token, use_azuread_auth (+ tenant_id, client_id, client_secret),
  // resource_group_name / subscription_id (accepted, unused once a credential is given),
  // snapshot, environment (public only);
  // NIC's endpoint (blob service URL, for Azurite) and lease_duration. Environment:
  // AZURE_STORAGE_CONNECTION_STRING (incl. UseDevelopmentStorage=true), ARM_ACCESS_KEY /
  // AZURE_STORAGE_KEY, ARM_SAS_TOKEN, ARM_USE_AZUREAD, AZURE_*/ARM_* Entra variables.
  static Result<std::unique_ptr<Backend>> Create(const BackendConfig& config);
  // The options Create would use, with the environment read through `env`.
  static Result<AzurermBackendOptions> ResolveOptions(const BackendConfig& config, const auth::EnvLookup& env);

  explicit AzurermBackend(AzurermBackendOptions options);
  ~AzurermBackend() override;
  AzurermBackend(const AzurermBackend&) = delete;
  AzurermBackend& operator=(const AzurermBackend&) = delete;

  std::string Name() const override { return "azurerm"; }
  std::string Location() const override { return client_.BlobUrl(key_); }

  Result<StateBlob> ReadState() override;
  Result<std::string> WriteState(std::string_view bytes, const WriteCondition& cond) override;
  Status Lock(const LockInfo& info) override;
  Status Unlock(const std::string& lock_id) override;
  Result<std::optional<LockInfo>> CurrentLock() override;
  Status ForceUnlock(const std::string& lock_id, LockInfo* released, std::string* matched) override;

  azurerm::BlobClient& client() { return client_; }
  const std::string& key() const { return key_; }
  const std::string& held_lease_id() const { return held_id_; }
  // Whether the background renewer found the lease gone (finite leases only).
  bool lease_lost() const { return lease_lost_.load(); }
  // The x-ms-snapshot of the last snapshot taken (snapshot=true), "" when none.
  const std::string& last_snapshot() const { return last_snapshot_; }

 private:
  Status HeldError(const azurerm::BlobProperties& props);
  // The holder recorded in the metadata, if any (nullopt also when it is unreadable).
  std::optional<LockInfo> RecordedHolder(const azurerm::BlobProperties& props, std::string* problem) const;
  Status LeaseLostError() const;
  void StartRenewer();
  void StopRenewer();
  void RenewLoop();
  void ForgetLock();
  azurerm::Metadata MetadataForWrite() const;

  azurerm::BlobClient client_;
  std::string key_;
  int lease_duration_;
  std::chrono::milliseconds renew_interval_;
  bool snapshot_;
  Env* env_;

  std::string last_snapshot_;
  std::string held_id_;         // our lease ID (= lock ID) while we hold the lock
  std::string lock_meta_value_; // base64(LockInfo JSON) we stored under terraformlockid
  azurerm::Metadata other_meta_;  // metadata keys of others, kept on every write
  std::optional<std::string> empty_etag_;  // ETag of the empty blob last read ("no state")

  std::thread renewer_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_renewer_ = false;
  std::atomic<bool> lease_lost_{false};
  std::string lease_lost_reason_;  // guarded by mu_
};

}  // namespace nic

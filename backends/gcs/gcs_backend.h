// The gcs backend: the state in a Google Cloud Storage bucket, laid out as Terraform's gcs
// backend lays it out so existing buckets carry over.
//
//   gs://<bucket>/<prefix>/default.tfstate   the state document
//   gs://<bucket>/<prefix>/default.tflock    the lock: created with ifGenerationMatch=0, holds the
//                                            LockInfo JSON (Path = gs://<bucket>/<lock object>)
//
// Beyond Terraform, every state write is conditional on the generation that was read
// (ifGenerationMatch=<gen>, 0 when there was no state), so a writer whose lock was force-broken
// can never overwrite a newer state; and unlock deletes the lock object only with
// ifGenerationMatch=<our lock's generation>, so it never removes someone else's newer lock.
//
// Lock IDs: NIC's lock ID is the UUID in the lock body. Terraform shows the lock object's
// generation as the lock ID instead; ForceUnlock accepts either and says which it matched.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "backends/gcs/gcs_client.h"
#include "nic/backend.h"

namespace nic {

class Env;

struct GcsBackendOptions {
  std::string bucket;
  std::string prefix;  // "" or "a/b" (a trailing '/' is added when joining)
  gcs::ClientOptions client;  // endpoint, transport, authorizer, retry policy
  Env* env = nullptr;         // Env::Default() when null
};

class GcsBackend : public Backend {
 public:
  // Config keys (Terraform's gcs backend): bucket (required), prefix, credentials (path or JSON
  // of a service-account key), access_token; NIC's endpoint (alias storage_custom_endpoint).
  // impersonate_service_account, encryption_key and kms_encryption_key are refused as
  // unsupported. STORAGE_EMULATOR_HOST selects a plain-http emulator without authentication.
  static Result<std::unique_ptr<Backend>> Create(const BackendConfig& config);
  explicit GcsBackend(GcsBackendOptions options);
  ~GcsBackend() override;
  GcsBackend(const GcsBackend&) = delete;
  GcsBackend& operator=(const GcsBackend&) = delete;

  std::string Name() const override { return "gcs"; }
  std::string Location() const override { return client_.GsUrl(state_object_); }

  Result<StateBlob> ReadState() override;
  Result<std::string> WriteState(std::string_view bytes, const WriteCondition& cond) override;
  Status Lock(const LockInfo& info) override;
  Status Unlock(const std::string& lock_id) override;
  Result<std::optional<LockInfo>> CurrentLock() override;
  Status ForceUnlock(const std::string& lock_id, LockInfo* released, std::string* matched) override;

  const std::string& state_object() const { return state_object_; }
  const std::string& lock_object() const { return lock_object_; }
  // The generation of the lock object we hold; 0 when we hold none.
  int64_t held_generation() const { return held_generation_; }

 private:
  // LockHeldError for the holder recorded in `content`, with the lock object's generation.
  Status HeldError(const gcs::ObjectContent& content);

  gcs::GcsClient client_;
  std::string state_object_;
  std::string lock_object_;
  Env* env_;
  bool bucket_checked_ = false;
  int64_t held_generation_ = 0;
  std::string held_id_;
  std::string lost_id_;  // our lock ID after Unlock found it broken by someone else
};

}  // namespace nic

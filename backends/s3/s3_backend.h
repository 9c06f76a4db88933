// The S3 backend: the state document is one S3 object; locking is Terraform's DynamoDB item
// (dynamodb_table), Terraform's S3 lockfile (use_lockfile), or both at once as during a
// migration between them. Existing Terraform buckets and lock tables work unchanged.
//
// Beyond Terraform, every state write is conditional on the ETag that was read (If-Match, or
// If-None-Match: * when there was no state), so a writer whose lock was force-broken can never
// overwrite a newer state: its write fails with kConflict. See README.md for the config keys.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "backends/s3/aws_calls.h"
#include "backends/s3/dynamo_lock.h"
#include "backends/s3/s3_lockfile.h"
#include "backends/s3/state_digest.h"
#include "nic/auth.h"
#include "nic/backend.h"

namespace nic {

class Env;

// The backend config, as parsed from --backend-config key=value pairs.
struct S3Settings {
  std::string bucket;
  std::string key;
  std::string region;
  std::string dynamodb_table;
  bool use_lockfile = false;
  bool encrypt = false;
  std::string kms_key_id;
  std::string s3_endpoint;        // endpoints.s3 / endpoint
  std::string dynamodb_endpoint;  // endpoints.dynamodb / dynamodb_endpoint
  std::string profile;
  std::string access_key;
  std::string secret_key;
  std::string token;
  std::string shared_credentials_file;
  std::string shared_config_file;
  bool use_path_style = false;
  bool skip_metadata_api_check = false;
  bool skip_s3_checksum = false;
  int max_retries = 5;  // Terraform's default
  // Digest mismatch on read: poll this often, for this long (Terraform: 2 s, 10 s).
  int64_t digest_retry_interval_micros = 2'000'000;
  int64_t digest_retry_timeout_micros = 10'000'000;
};

// Unknown keys and bad values are kUsage errors naming the key.
Result<S3Settings> ParseS3Settings(const BackendConfig& config);

// Seams for tests: the transport (e.g. a counting or fault-injecting decorator), the
// environment the credential chain and endpoint resolution read, and the OS Env (sleeping).
struct S3BackendOptions {
  http::Transport* transport = nullptr;  // not owned; default: a curl transport the backend owns
  auth::EnvLookup env;                   // default: the process environment
  Env* os_env = nullptr;                 // default: Env::Default()
  std::optional<http::RetryPolicy> retry_policy;  // default: max_retries+1 attempts, AWS-like backoff
};

class S3Backend : public Backend {
 public:
  static Result<std::unique_ptr<Backend>> Create(const BackendConfig& config);
  static Result<std::unique_ptr<S3Backend>> Open(const BackendConfig& config, const S3BackendOptions& options);
  ~S3Backend() override;
  S3Backend(const S3Backend&) = delete;
  S3Backend& operator=(const S3Backend&) = delete;

  std::string Name() const override { return "s3"; }
  std::string Location() const override { return "s3://" + settings_.bucket + "/" + settings_.key; }

  Result<StateBlob> ReadState() override;
  Result<std::string> WriteState(std::string_view bytes, const WriteCondition& cond) override;
  Status Lock(const LockInfo& info) override;
  Status Unlock(const std::string& lock_id) override;
  Result<std::optional<LockInfo>> CurrentLock() override;
  Status ForceUnlock(const std::string& lock_id, LockInfo* released, std::string* matched) override;

  const S3Settings& settings() const { return settings_; }
  const s3::AwsContext& context() const { return ctx_; }

 private:
  explicit S3Backend(S3Settings settings);
  Result<StateBlob> ReadOnce();
  http::Headers EncryptionHeaders() const;
  // After a 412 on our own write: did an earlier attempt of this very write land?
  Result<std::optional<std::string>> LandedVersion(std::string_view bytes);

  S3Settings settings_;
  std::unique_ptr<http::Transport> owned_transport_;
  s3::AwsContext ctx_;
  std::unique_ptr<s3::DynamoLock> dynamo_;
  std::unique_ptr<s3::StateDigest> digest_;
  std::string read_digest_;  // the Digest the last ReadState saw, kept when marking a write pending
  std::unique_ptr<s3::S3Lockfile> lockfile_;
  bool warned_unlocked_ = false;
};

}  // namespace nic

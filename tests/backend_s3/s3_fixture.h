// Shared setup for the S3 backend tests: one moto_server per test binary, in auth mode (every
// request's SigV4 signature is verified against moto's IAM), an admin access key, helpers to
// create buckets and lock tables with our own signed requests, and a request-counting
// Transport decorator.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backends/s3/s3_backend.h"
#include "nic/aws_auth.h"
#include "nic/backend.h"
#include "nic/http.h"
#include "tests/support/moto_server.h"

namespace nic::s3test {

inline constexpr const char* kRegion = "us-east-1";

enum class LockMode { kDynamo, kLockfile, kBoth };
const char* ModeName(LockMode mode);

struct Moto {
  testing::MotoServer* server = nullptr;
  std::string endpoint;
  aws::Credentials admin;  // allowed everything
};

// Starts moto on first use (kept for the life of the process). Fails the calling test when
// moto cannot start.
const Moto& SharedMoto();

// Signed request to moto as `service` with the admin key (or `creds`).
Result<http::Response> SendAs(http::Request req, const std::string& service, const aws::Credentials* creds = nullptr);

Status CreateBucket(const std::string& bucket);
Status CreateLockTable(const std::string& table);
Status PutDynamoString(const std::string& table, const std::string& lock_id, const std::string& attr, const std::string& value);
// The string attribute of an item; "" when absent.
Result<std::string> GetDynamoString(const std::string& table, const std::string& lock_id, const std::string& attr);
// IAM user with an inline policy allowing only `actions`; returns its access key.
Result<aws::Credentials> CreateLimitedUser(const std::string& name, const std::string& actions_json_array);

// Backend config for moto: explicit keys and endpoints, plus the lock mode's keys.
BackendConfig Config(const std::string& bucket, const std::string& key, LockMode mode, const std::string& table);

// Opens an S3 backend against moto with an isolated environment (no AWS_* from the caller).
Result<std::unique_ptr<S3Backend>> OpenS3(const BackendConfig& config, http::Transport* transport = nullptr);

// Counts (and names) every request that reaches the wrapped transport.
class CountingTransport final : public http::Transport {
 public:
  explicit CountingTransport(http::Transport* target) : target_(target) {}
  Result<http::Response> Send(const http::Request& request) override;
  int parallelism() const override { return target_->parallelism(); }

  int count() const { return count_.load(); }
  // "s3 PUT", "dynamodb PutItem", ... in order.
  std::vector<std::string> calls() const;
  void Reset();

 private:
  http::Transport* target_;
  std::atomic<int> count_{0};
  mutable std::mutex mu_;
  std::vector<std::string> calls_;
};

// One shared curl transport for test-side helpers.
http::Transport& TestTransport();

}  // namespace nic::s3test

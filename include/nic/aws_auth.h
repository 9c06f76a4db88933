// AWS: Signature Version 4, the credential chain, region and endpoint resolution.
//
// Signing follows the AWS SigV4 specification (the official test suite lives in
// ../shared/testdata/sigv4/suite.json). S3 differs from the other services in two ways that
// SigV4Options::s3 selects: the path is encoded once (not twice, not normalized) and
// x-amz-content-sha256 is always sent.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "nic/auth.h"
#include "nic/http.h"
#include "nic/status.h"

namespace nic::aws {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty for long-term keys
  int64_t expires_at = 0;     // unix seconds; 0 = does not expire
  std::string source;         // "environment", "web-identity", "profile dev", "imds" (for messages)
};

struct SigV4Options {
  std::string region;   // "us-west-2"
  std::string service;  // signing name: "s3", "dynamodb", "ec2", "sts", "eks", "elasticfilesystem"
  bool s3 = false;      // S3 rules: single-encoded path, x-amz-content-sha256 header
  // Sign the literal "UNSIGNED-PAYLOAD" instead of the body hash (S3 only, large uploads over TLS).
  bool unsigned_payload = false;
  int64_t time = 0;  // unix seconds; 0 = now
};

// The intermediate strings, for tests and for debugging a SignatureDoesNotMatch.
struct SigV4Signature {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signed_headers;
  std::string signature;
  std::string authorization;  // the Authorization header value
};

// Pure signing of a request exactly as given: every header present is signed (except the
// hop-by-hop and tracing ones the spec excludes); nothing is added.
Result<SigV4Signature> ComputeSigV4(const http::Request& request, const Credentials& credentials,
                                    const SigV4Options& options);

// Signs in place: sets Host, X-Amz-Date, X-Amz-Security-Token (with a session token),
// X-Amz-Content-Sha256 (S3), then Authorization.
Status SignV4(http::Request& request, const Credentials& credentials, const SigV4Options& options);

// Where credentials come from. Implementations cache and are thread-safe.
class CredentialProvider {
 public:
  virtual ~CredentialProvider() = default;
  virtual Result<Credentials> Get() = 0;
};

// Fixed credentials (tests, backend config with explicit keys).
class StaticCredentials final : public CredentialProvider {
 public:
  explicit StaticCredentials(Credentials c) : c_(std::move(c)) {}
  Result<Credentials> Get() override { return c_; }

 private:
  Credentials c_;
};

struct ChainOptions {
  auth::EnvLookup env = auth::ProcessEnv();
  // Used for STS (web identity, assume-role) and IMDS. Required for those sources.
  http::Transport* transport = nullptr;
  std::string profile;  // overrides AWS_PROFILE
  auth::Clock clock = auth::SystemClock();
  // IMDS base URL; default AWS_EC2_METADATA_SERVICE_ENDPOINT or http://169.254.169.254.
  std::string imds_endpoint;
  bool imds_enabled = true;  // AWS_EC2_METADATA_DISABLED=true also disables it
};

// The AWS SDKs' default chain, in their order:
//   1. AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN)
//   2. AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN -> STS AssumeRoleWithWebIdentity
//   3. the profile (AWS_PROFILE, default "default") in AWS_SHARED_CREDENTIALS_FILE
//      (~/.aws/credentials) and AWS_CONFIG_FILE (~/.aws/config): static keys, or role_arn +
//      source_profile -> STS AssumeRole
//   4. EC2 instance metadata (IMDSv2 token flow)
// Temporary credentials are refreshed 5 minutes before they expire. The error when nothing
// is found lists what was tried.
std::unique_ptr<CredentialProvider> NewDefaultCredentialChain(ChainOptions options);

// Region: AWS_REGION, AWS_DEFAULT_REGION, then the profile's `region` in the config file.
Result<std::string> ResolveRegion(const auth::EnvLookup& env, const std::string& profile = "");

// Endpoint for a service id ("s3", "dynamodb", "ec2", "eks", "iam", "sts", "efs"):
// `configured` (backend config `endpoint`), then AWS_ENDPOINT_URL_<SERVICE>, then
// AWS_ENDPOINT_URL, then the public https endpoint for the region. No trailing slash.
std::string ResolveEndpoint(const std::string& service_id, const std::string& region,
                            const auth::EnvLookup& env, const std::string& configured = "");

// The SigV4 signing name for a service id ("efs" -> "elasticfilesystem").
std::string SigningName(const std::string& service_id);

// Signs each attempt with fresh credentials from a provider.
class SigV4Authorizer final : public auth::Authorizer {
 public:
  SigV4Authorizer(std::shared_ptr<CredentialProvider> credentials, SigV4Options options)
      : credentials_(std::move(credentials)), options_(std::move(options)) {}
  Status Authorize(http::Request& request) override;

 private:
  std::shared_ptr<CredentialProvider> credentials_;
  SigV4Options options_;
};

// ---- Request builders for the three wire protocols ----

// JSON protocol (DynamoDB): POST / with X-Amz-Target "DynamoDB_20120810.PutItem".
// Reads (Get*, Describe*, List*, Query, Scan, BatchGet*) are marked retry-safe.
http::Request JsonRequest(const std::string& endpoint, const std::string& target,
                          std::string json_body, const std::string& json_version = "1.0");
// Query protocol (EC2, IAM, STS): POST / with a form body Action=...&Version=...&params.
// Describe*/List*/Get* actions are marked retry-safe.
http::Request QueryRequest(const std::string& endpoint, const std::string& action,
                           const std::string& version,
                           const std::vector<std::pair<std::string, std::string>>& params = {});
// REST-JSON (EKS): any method and path, JSON body when non-empty.
http::Request RestJsonRequest(const std::string& method, const std::string& endpoint,
                              const std::string& path_and_query, std::string json_body = "");
// S3 path-style object URL: endpoint + "/" + bucket + "/" + key (key encoded once, '/' kept).
std::string S3ObjectUrl(const std::string& endpoint, const std::string& bucket,
                        const std::string& key);

}  // namespace nic::aws

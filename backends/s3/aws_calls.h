// The S3 backend's one path to AWS: signed, retried requests to S3 and DynamoDB, and the
// translation of every failure into a sentence that names the backend, the resource and what to
// check. Shared by the state object (s3_backend), the DynamoDB lock and digest (dynamo_lock),
// and the S3 lockfile (s3_lockfile).
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "nic/aws_auth.h"
#include "nic/http.h"
#include "nic/retry.h"
#include "nic/status.h"

namespace nic {
class Env;
}

namespace nic::s3 {

struct AwsContext {
  http::Transport* transport = nullptr;
  std::shared_ptr<aws::CredentialProvider> credentials;
  std::string credential_source;  // "backend config access_key", "default chain (profile dev)"
  std::string region;
  std::string s3_endpoint;        // no trailing slash
  std::string dynamodb_endpoint;
  bool path_style = true;         // http://endpoint/bucket/key rather than http://bucket.endpoint/key
  http::RetryOptions retry;
  Env* env = nullptr;
};

// What a request is about, for error messages.
struct Target {
  std::string service;  // "s3" or "dynamodb"
  std::string what;     // "the state object s3://b/k", "the lock item b/k in DynamoDB table t"
  std::string bucket;   // set for S3 requests
  std::string table;    // set for DynamoDB requests
};

// Signs (SigV4, fresh per attempt) and sends with the retry policy. Every HTTP response comes
// back as a Response; a Status means no response arrived (no credentials, endpoint unreachable)
// and is already worded for the user. `ambiguous` (when given) is set when an attempt failed
// without a response, so the server may have acted on it although a later attempt was answered.
Result<http::Response> Send(const AwsContext& ctx, http::Request request, const Target& target, bool* ambiguous = nullptr);

// A complete Status for an unexpected response: missing bucket/table, access denied, rejected
// credentials, wrong region, throttling... `action` is what NIC was doing ("reading the state").
Status Failure(const AwsContext& ctx, const http::Request& request, const http::Response& response,
               const Target& target, const std::string& action);

// The AWS error code of a response ("NoSuchKey", "ConditionalCheckFailedException"), or "".
std::string AwsCode(const http::Response& response);

// S3 object URL for this context (path-style or virtual-hosted), key encoded once with '/' kept.
std::string ObjectUrl(const AwsContext& ctx, const std::string& bucket, const std::string& key);

// A DynamoDB JSON-protocol request for `operation` ("PutItem"). Marked retry-safe: every
// DynamoDB write NIC sends is either idempotent or conditional, and callers re-check the item
// when a condition fails.
http::Request DynamoRequest(const AwsContext& ctx, const std::string& operation, const nlohmann::json& body);

// Hex MD5 (the S3 ETag of a single-part unencrypted object, and Terraform's digest) and the
// base64 MD5 that Content-MD5 carries.
std::string Md5Hex(std::string_view data);
std::string Md5Base64(std::string_view data);

// An ETag without its surrounding quotes.
std::string Unquote(std::string etag);

}  // namespace nic::s3

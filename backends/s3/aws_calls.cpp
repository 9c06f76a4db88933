#include "backends/s3/aws_calls.h"

#include "nic/crypto.h"

#include <openssl/evp.h>

#include "nic/aws_error.h"
#include "nic/xml.h"

namespace nic::s3 {
namespace {

std::string EndpointFor(const AwsContext& ctx, const std::string& service) {
  return service == "dynamodb" ? ctx.dynamodb_endpoint : ctx.s3_endpoint;
}

std::string EndpointSetting(const std::string& service) {
  return service == "dynamodb" ? "endpoints.dynamodb (or AWS_ENDPOINT_URL_DYNAMODB)"
                               : "endpoints.s3 (or AWS_ENDPOINT_URL_S3)";
}

// The region S3 says the bucket lives in: the x-amz-bucket-region header, the <Region> of a
// redirect body, or the "expecting 'eu-west-1'" of AuthorizationHeaderMalformed.
std::string BucketRegionFrom(const http::Response& resp) {
  if (auto h = resp.headers.Get("x-amz-bucket-region")) return *h;
  if (auto doc = xml::Parse(resp.body); doc.ok()) {
    std::string r = doc->name == "Region" ? doc->text : (doc->Find("Region") ? doc->Find("Region")->text : "");
    if (!r.empty()) return r;
  }
  auto at = resp.body.find("expecting '");
  if (at != std::string::npos) {
    auto start = at + 11;
    auto end = resp.body.find('\'', start);
    if (end != std::string::npos) return resp.body.substr(start, end - start);
  }
  return "";
}

}  // namespace

std::string AwsCode(const http::Response& response) {
  if (response.ok()) return "";
  return aws::ParseError(response).code;
}

std::string Md5Hex(std::string_view data) { return crypto::Md5Hex(data); }

std::string Md5Base64(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_md5(), nullptr);
  unsigned char out[64];
  int n = EVP_EncodeBlock(out, md, static_cast<int>(len));
  return std::string(reinterpret_cast<char*>(out), static_cast<size_t>(n));
}

std::string Unquote(std::string etag) {
  if (etag.rfind("W/", 0) == 0) etag = etag.substr(2);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
  return etag;
}

std::string ObjectUrl(const AwsContext& ctx, const std::string& bucket, const std::string& key) {
  if (ctx.path_style) return aws::S3ObjectUrl(ctx.s3_endpoint, bucket, key);
  auto scheme_end = ctx.s3_endpoint.find("://");
  std::string scheme = ctx.s3_endpoint.substr(0, scheme_end + 3);
  return scheme + bucket + "." + ctx.s3_endpoint.substr(scheme_end + 3) + "/" + http::UriEncode(key, /*keep_slash=*/true);
}

http::Request DynamoRequest(const AwsContext& ctx, const std::string& operation, const nlohmann::json& body) {
  http::Request r = aws::JsonRequest(ctx.dynamodb_endpoint, "DynamoDB_20120810." + operation, body.dump());
  r.retry = http::RetryMode::kSafe;
  return r;
}

Result<http::Response> Send(const AwsContext& ctx, http::Request request, const Target& target, bool* ambiguous) {
  request.service = target.service;
  // Resolve credentials first so "no credentials" is not mistaken for a network failure.
  auto creds = ctx.credentials->Get();
  if (!creds.ok()) {
    Status st(ErrorCode::kUnauthenticated, "s3 backend: no usable AWS credentials for " + target.what + ": " +
                                               creds.status().message());
    st.WithSuggestion("set access_key/secret_key or profile in the backend config, or AWS_ACCESS_KEY_ID and "
                      "AWS_SECRET_ACCESS_KEY / AWS_PROFILE in the environment");
    return st;
  }
  aws::SigV4Options opts;
  opts.region = ctx.region;
  opts.service = target.service;
  opts.s3 = target.service == "s3";
  aws::SigV4Authorizer signer(ctx.credentials, opts);
  http::RetryOptions retry = ctx.retry;
  if (ambiguous != nullptr) {
    *ambiguous = false;
    retry.on_retry = [ambiguous, forward = ctx.retry.on_retry](const http::RetryEvent& ev) {
      if (ev.http_status == 0) *ambiguous = true;  // reset, timeout...: the reply may have been lost
      if (forward) forward(ev);
    };
  }
  auto resp = http::SendWithRetry(*ctx.transport, request, &signer, retry);
  if (resp.ok()) return resp;
  const Status& cause = resp.status();
  std::string endpoint = EndpointFor(ctx, target.service);
  if (cause.code() == ErrorCode::kUnavailable || cause.code() == ErrorCode::kTimeout) {
    Status st(cause.code(), "s3 backend: cannot reach " + std::string(target.service == "dynamodb" ? "DynamoDB" : "S3") +
                                " at " + endpoint + " while accessing " + target.what + ": " + cause.message());
    st.WithDetail("endpoint", endpoint);
    st.WithSuggestion("check " + EndpointSetting(target.service) + ", region (\"" + ctx.region +
                      "\"), and that the network or proxy lets this machine reach the endpoint");
    return st;
  }
  Status st = cause;
  st.Prepend("s3 backend: " + target.what);
  return st;
}

Status Failure(const AwsContext& ctx, const http::Request& request, const http::Response& response, const Target& t,
               const std::string& action) {
  const std::string code = AwsCode(response);
  aws::AwsError err = aws::ParseError(response);
  std::string quoted = code.empty() ? "HTTP " + std::to_string(response.status) : code;
  if (!err.message.empty()) quoted += ": " + err.message;
  const std::string prefix = "s3 backend: " + action + " (" + t.what + ")";
  const std::string endpoint = EndpointFor(ctx, t.service);
  Status base = aws::ErrorStatus(request, response);
  auto finish = [&](Status st) {
    for (const auto& [k, v] : base.details()) st.WithDetail(k, v);
    st.WithDetail("endpoint", endpoint);
    return st;
  };

  if (t.service == "s3") {
    std::string bucket_region = BucketRegionFrom(response);
    bool redirect = response.status == 301 || response.status == 307 || code == "PermanentRedirect" ||
                    code == "TemporaryRedirect" || code == "AuthorizationHeaderMalformed" ||
                    code == "IllegalLocationConstraintException";
    if (redirect || (!response.ok() && !bucket_region.empty() && bucket_region != ctx.region && response.status != 404)) {
      Status st(ErrorCode::kInvalidConfig,
                prefix + ": the bucket \"" + t.bucket + "\" is " +
                    (bucket_region.empty() ? "not in" : "in region " + bucket_region + ", not") + " the configured region " +
                    ctx.region + " (" + quoted + ")");
      st.WithSuggestion(bucket_region.empty() ? "set region in the backend config to the bucket's region (aws s3api get-bucket-location --bucket " + t.bucket + ")"
                                              : "set region = \"" + bucket_region + "\" in the backend config (or AWS_REGION)");
      return finish(std::move(st));
    }
  }
  if (code == "NoSuchBucket") {
    Status st(ErrorCode::kNotFound, prefix + ": the S3 bucket \"" + t.bucket + "\" does not exist at " + endpoint +
                                        " (region " + ctx.region + ")");
    st.WithSuggestion("check the bucket and region settings; NIC does not create the bucket: aws s3api create-bucket --bucket " +
                      t.bucket + " --region " + ctx.region);
    return finish(std::move(st));
  }
  if (code == "ResourceNotFoundException") {
    Status st(ErrorCode::kNotFound, prefix + ": the DynamoDB table \"" + t.table + "\" does not exist in region " +
                                        ctx.region + " at " + endpoint + " (" + quoted + ")");
    st.WithSuggestion("check dynamodb_table and region; the table needs the partition key LockID (String): aws dynamodb "
                      "create-table --table-name " + t.table +
                      " --attribute-definitions AttributeName=LockID,AttributeType=S --key-schema "
                      "AttributeName=LockID,KeyType=HASH --billing-mode PAY_PER_REQUEST --region " + ctx.region);
    return finish(std::move(st));
  }
  switch (base.code()) {
    case ErrorCode::kUnauthenticated: {
      Status st(ErrorCode::kUnauthenticated, prefix + ": AWS rejected the credentials from " + ctx.credential_source +
                                                 " (" + quoted + ")");
      st.WithSuggestion("check access_key/secret_key or profile in the backend config, or AWS_ACCESS_KEY_ID, "
                        "AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and AWS_PROFILE; an expired session or a skewed clock "
                        "also cause this");
      return finish(std::move(st));
    }
    case ErrorCode::kPermissionDenied: {
      Status st(ErrorCode::kPermissionDenied, prefix + ": access denied for the credentials from " +
                                                  ctx.credential_source + " (" + quoted + ")");
      if (t.service == "dynamodb") {
        st.WithSuggestion("the IAM policy must allow dynamodb:GetItem, dynamodb:PutItem and dynamodb:DeleteItem on table " +
                          t.table);
      } else {
        st.WithSuggestion("the IAM policy must allow s3:ListBucket on arn:aws:s3:::" + t.bucket +
                          " and s3:GetObject, s3:PutObject, s3:DeleteObject on the state key (and its .tflock) in it; with "
                          "kms_key_id also kms:Encrypt, kms:Decrypt and kms:GenerateDataKey on the key");
      }
      return finish(std::move(st));
    }
    default:
      break;
  }
  Status st(base.code(), prefix + ": " + base.message());
  return finish(std::move(st));
}

}  // namespace nic::s3

// GcsClient: the few Cloud Storage JSON API (storage/v1) object calls the gcs backend makes.
//
// Every call goes through http::SendWithRetry. Conditional writes carry ifGenerationMatch in the
// query, which is what makes a retried POST safe (the retry layer keys on it). A retried write
// that answers 412 may be our own first attempt that landed with its response lost; Upload
// resolves that case by comparing the stored object's MD5 with ours.
//
// Errors name the backend ("gcs backend"), the object (gs://bucket/name) and what to check.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "nic/auth.h"
#include "nic/http.h"
#include "nic/retry.h"
#include "nic/status.h"

namespace nic::gcs {

// Set on a kConflict Status when a generation precondition did not hold (HTTP 412, or 304 for
// the NotMatch pair), as opposed to another conflict (409).
inline constexpr const char* kPreconditionFailedDetail = "precondition_failed";

struct ObjectVersion {
  int64_t generation = 0;
  int64_t metageneration = 0;
  std::string md5_base64;  // as in the object resource's md5Hash
};

struct ObjectContent {
  std::string bytes;
  int64_t generation = 0;
};

struct ClientOptions {
  std::string endpoint = "https://storage.googleapis.com";  // root, no trailing slash
  std::string bucket;
  std::shared_ptr<http::Transport> transport;
  std::shared_ptr<auth::Authorizer> authorizer;  // null = no Authorization header
  http::RetryOptions retry;
  // What a user should check after a 401, e.g. "the access_token setting".
  std::string credentials_hint;
};

class GcsClient {
 public:
  explicit GcsClient(ClientOptions options);
  GcsClient(const GcsClient&) = delete;
  GcsClient& operator=(const GcsClient&) = delete;

  // objects.get with alt=media: the data and the generation it belongs to (from
  // x-goog-generation), checked against x-goog-hash md5. nullopt when the object is absent.
  Result<std::optional<ObjectContent>> Download(const std::string& object);
  // objects.get metadata. nullopt when absent.
  Result<std::optional<ObjectVersion>> Stat(const std::string& object);
  // objects.insert (multipart: metadata with contentType and md5Hash, which the service checks,
  // then the media). `if_generation_match`: nullopt = unconditional, 0 = only if absent.
  Result<ObjectVersion> Upload(const std::string& object, std::string_view bytes, std::string_view content_type,
                               std::optional<int64_t> if_generation_match);
  // objects.delete. kNotFound when absent; kConflict (precondition) when the generation differs.
  // `retried` (when given) tells whether more than one attempt was sent.
  Status Delete(const std::string& object, std::optional<int64_t> if_generation_match, bool* retried = nullptr);
  // buckets.get: OK, or kNotFound / kPermissionDenied / ... naming the bucket.
  Status CheckBucket();

  const std::string& bucket() const { return options_.bucket; }
  const std::string& endpoint() const { return options_.endpoint; }
  std::string GsUrl(const std::string& object) const { return "gs://" + options_.bucket + "/" + object; }

 private:
  // Sends with retries; `retried` tells whether more than one attempt was made. A transport
  // failure (no HTTP response) becomes a Status naming the endpoint.
  Result<http::Response> Send(http::Request request, const std::string& resource, bool* retried);
  // The Status for a non-2xx answer about `resource` (gs://b/o or gs://b).
  Status ErrorFor(const http::Request& request, const http::Response& response, const std::string& resource) const;
  std::string ObjectPath(const std::string& object) const;

  ClientOptions options_;
};

// "abc" -> base64(MD5("abc")), the form of md5Hash and x-goog-hash.
std::string Md5Base64(std::string_view data);
// The md5 value from an x-goog-hash header ("crc32c=..,md5=.."), or "" when absent.
std::string Md5FromGoogHash(std::string_view header);

}  // namespace nic::gcs

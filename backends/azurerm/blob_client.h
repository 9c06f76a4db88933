// BlobClient: the few Azure Blob Storage REST calls the azurerm backend makes, on one container.
//
// Every call goes through http::SendWithRetry with the Storage authorizer (SharedKey, SAS or an
// Entra bearer token) and pins x-ms-version. Errors keep the service's x-ms-error-code in the
// "azure_code" detail, so the backend can tell ConditionNotMet (the ETag moved) from a lease
// error (the lease is not ours), and their messages name the backend, the storage account, the
// container and the blob, with what to check.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "nic/auth.h"
#include "nic/http.h"
#include "nic/retry.h"
#include "nic/status.h"

namespace nic::azurerm {

// Metadata names are case-insensitive in Azure; NIC keeps them lower-cased.
using Metadata = std::map<std::string, std::string>;

struct BlobProperties {
  bool exists = false;
  std::string etag;         // with its quotes, as the service sends it
  int64_t content_length = 0;
  std::string content_md5;  // base64, "" when the service has none
  std::string lease_state;  // available | leased | expired | breaking | broken
  std::string lease_status; // locked | unlocked
  std::string lease_duration;  // infinite | fixed | ""
  Metadata metadata;
};

struct BlobContent {
  BlobProperties properties;
  std::string bytes;
};

struct PutOptions {
  std::string lease_id;             // x-ms-lease-id when non-empty
  std::string if_match;             // If-Match when non-empty
  bool if_none_match_any = false;   // If-None-Match: *
  Metadata metadata;                // sent as x-ms-meta-* (Put Blob replaces all metadata)
  std::string content_type = "application/json";
};

enum class LeaseAction { kAcquire, kRenew, kRelease, kBreak };

struct LeaseRequest {
  LeaseAction action = LeaseAction::kAcquire;
  std::string lease_id;     // x-ms-lease-id (renew, release)
  std::string proposed_id;  // x-ms-proposed-lease-id (acquire)
  int duration = -1;        // x-ms-lease-duration (acquire): -1 or 15..60
  int break_period = 0;     // x-ms-lease-break-period (break)
  std::string if_match;     // If-Match on the blob's ETag
};

struct ClientOptions {
  std::string endpoint;  // blob service URL, no trailing '/': https://acct.blob.core.windows.net
  std::string account;   // storage account name, for messages
  std::string container;
  std::shared_ptr<http::Transport> transport;
  std::shared_ptr<auth::Authorizer> authorizer;
  http::RetryOptions retry;
  // What a user should check after 403 AuthenticationFailed, e.g. "the access_key setting".
  std::string credentials_hint;
};

class BlobClient {
 public:
  explicit BlobClient(ClientOptions options);
  BlobClient(const BlobClient&) = delete;
  BlobClient& operator=(const BlobClient&) = delete;

  // Get Blob Properties (HEAD). exists=false when the blob is absent; a missing container is
  // kNotFound naming the container.
  Result<BlobProperties> GetProperties(const std::string& blob, const std::string& lease_id = "");
  // Get Blob, checked against its Content-MD5 when the service has one. exists=false when absent.
  Result<BlobContent> Get(const std::string& blob, const std::string& lease_id = "");
  // Put Blob (BlockBlob, single shot, with Content-MD5 so a torn body is refused). Returns the
  // new ETag. `retried` tells whether more than one attempt was sent.
  Result<std::string> Put(const std::string& blob, std::string_view bytes, const PutOptions& options,
                          bool* retried = nullptr);
  // Set Blob Metadata (replaces all metadata). Returns the new ETag.
  Result<std::string> SetMetadata(const std::string& blob, const Metadata& metadata, const std::string& lease_id,
                                  const std::string& if_match = "", bool* retried = nullptr);
  // Lease Blob. Returns the response (x-ms-lease-id, ETag, x-ms-lease-time).
  Result<http::Response> Lease(const std::string& blob, const LeaseRequest& request, bool* retried = nullptr);
  // Snapshot Blob. Returns the snapshot's timestamp (x-ms-snapshot), usable as ?snapshot=.
  Result<std::string> Snapshot(const std::string& blob, const std::string& lease_id, const std::string& if_match);
  // Get Blob of a snapshot taken by Snapshot().
  Result<BlobContent> GetSnapshot(const std::string& blob, const std::string& snapshot);
  // Create Container; OK when it already exists.
  Status CreateContainer();

  std::string BlobUrl(const std::string& blob) const;
  const ClientOptions& options() const { return options_; }

 private:
  Result<http::Response> Send(http::Request request, const std::string& blob, bool* retried);
  Status ErrorFor(const http::Request& request, const http::Response& response, const std::string& blob) const;

  ClientOptions options_;
};

// The x-ms-error-code a Status from BlobClient carries ("" when none).
std::string AzureCode(const Status& status);

std::string Base64Encode(std::string_view data);
// nullopt when `text` is not valid standard base64.
std::optional<std::string> Base64Decode(std::string_view text);
// base64(MD5(data)), the form of Content-MD5.
std::string Md5Base64(std::string_view data);

}  // namespace nic::azurerm

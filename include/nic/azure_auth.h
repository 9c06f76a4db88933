// Azure: Storage SharedKey signing, SAS tokens, connection strings, Entra ID client-credentials.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "nic/auth.h"
#include "nic/http.h"
#include "nic/status.h"

namespace nic::azure {

// Pinned x-ms-version. Azurite 3.35 (the newest on node 20) accepts versions up to 2025-11-05.
inline constexpr const char* kStorageApiVersion = "2021-12-02";
inline constexpr const char* kArmScope = "https://management.azure.com/.default";
inline constexpr const char* kStorageScope = "https://storage.azure.com/.default";

// The Azurite / Storage Emulator well-known development account.
inline constexpr const char* kDevAccountName = "devstoreaccount1";
inline constexpr const char* kDevAccountKey =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

struct StorageAccount {
  std::string name;
  std::string key;            // base64 account key; empty when only a SAS is known
  std::string sas;            // SAS query without '?'; empty when a key is known
  std::string blob_endpoint;  // "https://acct.blob.core.windows.net" or "http://127.0.0.1:10000/devstoreaccount1"
};

// Parses "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=k;EndpointSuffix=core.windows.net",
// with BlobEndpoint / SharedAccessSignature, and "UseDevelopmentStorage=true" (Azurite on
// 127.0.0.1:10000, or DevelopmentStorageProxyUri). Errors never echo the key.
Result<StorageAccount> ParseConnectionString(std::string_view connection_string);

// AZURE_STORAGE_CONNECTION_STRING; else AZURE_STORAGE_ACCOUNT (ARM_STORAGE_ACCOUNT_NAME) with
// AZURE_STORAGE_KEY (ARM_ACCESS_KEY) or AZURE_STORAGE_SAS_TOKEN (ARM_SAS_TOKEN).
Result<StorageAccount> StorageAccountFromEnv(const auth::EnvLookup& env);

struct SharedKeySignature {
  std::string string_to_sign;
  std::string authorization;  // "SharedKey account:signature"
};

// Signs the request exactly as given (x-ms-date must be present).
Result<SharedKeySignature> ComputeSharedKey(const http::Request& request, const std::string& account,
                                            const std::string& key_base64);
// Sets x-ms-date (from `now`, 0 = current time) and x-ms-version (if absent), then Authorization.
Status SignSharedKey(http::Request& request, const std::string& account, const std::string& key_base64,
                     int64_t now = 0);

// SharedKey when the account has a key, otherwise its SAS appended to the query.
class StorageAuthorizer final : public auth::Authorizer {
 public:
  explicit StorageAuthorizer(StorageAccount account) : account_(std::move(account)) {}
  Status Authorize(http::Request& request) override;

 private:
  StorageAccount account_;
};

// Maps a non-2xx Storage response to a Status using x-ms-error-code (or the XML <Code>):
// AuthenticationFailed/AuthorizationFailure/InvalidAuthenticationInfo -> kUnauthenticated,
// AuthorizationPermissionMismatch -> kPermissionDenied, ConditionNotMet/BlobAlreadyExists/
// Lease* -> kConflict, *NotFound -> kNotFound, ServerBusy -> kUnavailable.
Status StorageErrorStatus(const http::Request& request, const http::Response& response);

struct BlobSasOptions {
  std::string permissions = "r";  // in the order racwd...
  int64_t start = 0;              // unix seconds; 0 = omitted
  int64_t expiry = 0;             // unix seconds; required
  std::string protocol;           // "https" or "https,http"; empty = omitted
  std::string version = kStorageApiVersion;
};

// A service SAS for a blob (blob non-empty, sr=b) or a container (sr=c), signed with the key;
// returns the query string "sv=...&sr=...&sp=...&se=...&sig=...".
Result<std::string> MakeBlobSas(const StorageAccount& account, const std::string& container,
                                const std::string& blob, const BlobSasOptions& options);

struct EntraOptions {
  std::string tenant_id;
  std::string client_id;
  std::string client_secret;
  std::string authority_host = "https://login.microsoftonline.com";
  std::string scope = kArmScope;
};

// AZURE_TENANT_ID / AZURE_CLIENT_ID / AZURE_CLIENT_SECRET, or Terraform's ARM_TENANT_ID /
// ARM_CLIENT_ID / ARM_CLIENT_SECRET; authority from AZURE_AUTHORITY_HOST.
Result<EntraOptions> EntraOptionsFromEnv(const auth::EnvLookup& env, const std::string& scope = kArmScope);

// OAuth2 client-credentials against {authority}/{tenant}/oauth2/v2.0/token. Wrap it in an
// auth::CachedTokenSource (and an auth::BearerAuthorizer) for caching until near expiry.
std::unique_ptr<auth::TokenSource> NewEntraClientCredentials(EntraOptions options, http::Transport* transport,
                                                             auth::Clock clock = auth::SystemClock());

}  // namespace nic::azure

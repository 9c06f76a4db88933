// Google Cloud: service-account JWT -> OAuth token, fixed tokens, the metadata server, and the
// storage emulator switch.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "nic/auth.h"
#include "nic/http.h"
#include "nic/status.h"

namespace nic::gcp {

inline constexpr const char* kCloudPlatformScope = "https://www.googleapis.com/auth/cloud-platform";
inline constexpr const char* kStorageScope = "https://www.googleapis.com/auth/devstorage.read_write";

struct ServiceAccountKey {
  std::string client_email;
  std::string private_key;  // PEM
  std::string private_key_id;
  std::string token_uri = "https://oauth2.googleapis.com/token";
  std::string project_id;
};

// A "type": "service_account" key file's JSON. Errors never echo the private key.
Result<ServiceAccountKey> ParseServiceAccountKey(std::string_view json);

// The signed assertion: RS256 JWT {iss: client_email, scope, aud: token_uri, iat: now, exp: now+3600}.
Result<std::string> MakeServiceAccountJwt(const ServiceAccountKey& key, const std::string& scope, int64_t now);

// Exchanges a fresh JWT at the key's token_uri (jwt-bearer grant).
std::unique_ptr<auth::TokenSource> NewServiceAccountTokenSource(ServiceAccountKey key, std::string scope,
                                                                http::Transport* transport,
                                                                auth::Clock clock = auth::SystemClock());
// GET http://<host>/computeMetadata/v1/instance/service-accounts/default/token with
// Metadata-Flavor: Google. `host` defaults to GCE_METADATA_HOST or metadata.google.internal.
std::unique_ptr<auth::TokenSource> NewMetadataTokenSource(std::string host, http::Transport* transport,
                                                          auth::Clock clock = auth::SystemClock());
// A fixed token (GOOGLE_OAUTH_ACCESS_TOKEN); never expires as far as NIC knows.
std::unique_ptr<auth::TokenSource> NewStaticTokenSource(std::string token);

struct DefaultOptions {
  auth::EnvLookup env = auth::ProcessEnv();
  http::Transport* transport = nullptr;
  std::string scope = kCloudPlatformScope;
  bool for_storage = false;  // honour STORAGE_EMULATOR_HOST
  auth::Clock clock = auth::SystemClock();
};

struct GoogleAuth {
  std::unique_ptr<auth::Authorizer> authorizer;
  std::string description;       // "service account a@b.iam.gserviceaccount.com", "storage emulator"
  std::string storage_endpoint;  // "https://storage.googleapis.com" or "http://<STORAGE_EMULATOR_HOST>"
};

// In order: STORAGE_EMULATOR_HOST (for_storage: plain http, no auth), GOOGLE_OAUTH_ACCESS_TOKEN,
// GOOGLE_APPLICATION_CREDENTIALS (a key file) or GOOGLE_CREDENTIALS (key JSON, Terraform's),
// then the metadata server. Tokens are cached until 5 minutes before expiry.
Result<GoogleAuth> DefaultGoogleAuth(const DefaultOptions& options);

}  // namespace nic::gcp

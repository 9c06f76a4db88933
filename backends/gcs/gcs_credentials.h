// Where the gcs backend sends requests and how it authenticates them, resolved the way
// Terraform's gcs backend does:
//
//   1. STORAGE_EMULATOR_HOST (unless an endpoint is configured): plain http, no credentials.
//   2. access_token, else GOOGLE_OAUTH_ACCESS_TOKEN: a fixed OAuth bearer token.
//   3. credentials (a key file path or its JSON), else GOOGLE_BACKEND_CREDENTIALS,
//      GOOGLE_CREDENTIALS: a service-account key (signed JWT exchanged for a token) or an
//      authorized_user file (refresh token).
//   4. Application Default Credentials: GOOGLE_APPLICATION_CREDENTIALS, the gcloud ADC file,
//      then the metadata server (GCE_METADATA_HOST or metadata.google.internal).
//
// A configured endpoint on a loopback address with no credentials configured is treated as an
// emulator (no Authorization header).
//
// Token minting (service-account JWT, metadata server, fixed tokens) is the shared gcp_auth.h;
// this file adds what the backend needs on top: Terraform's precedence and setting names, the
// `credentials` setting (path or JSON), authorized_user files (gcloud application-default
// login), and errors that say which credential source failed.
#pragma once

#include <memory>
#include <string>

#include "nic/auth.h"
#include "nic/http.h"
#include "nic/status.h"

namespace nic::gcs {

struct CredentialSettings {
  std::string credentials;   // path to a key file, or the JSON itself
  std::string access_token;  // a ready OAuth access token
};

struct Connection {
  std::string endpoint;  // "https://storage.googleapis.com" or the emulator/custom root
  // Carries both the storage calls and token requests; the authorizer's token sources point at
  // it, so it must live as long as the authorizer.
  std::shared_ptr<http::Transport> transport;
  std::shared_ptr<auth::Authorizer> authorizer;
  std::string credentials_hint;  // what a 401 should tell the user to check
};

// `transport_options` is used for the transport created here (plain http is allowed only for
// STORAGE_EMULATOR_HOST, where no credentials are sent).
Result<Connection> ResolveConnection(const std::string& configured_endpoint, const CredentialSettings& settings,
                                     const auth::EnvLookup& env, http::TransportOptions transport_options = {});

// Normalises an endpoint: adds http:// to a bare host:port (as STORAGE_EMULATOR_HOST allows),
// drops a trailing "/" and "/storage/v1". kUsage when it is not an http(s) URL.
Result<std::string> NormalizeEndpoint(const std::string& endpoint, const std::string& setting_name);

}  // namespace nic::gcs

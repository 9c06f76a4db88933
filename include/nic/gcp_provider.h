// The GCP provider: live reads and changes of the resources Nebari's GCP stage creates (VPC
// network, subnetworks, firewall rules, the GKE cluster and its node pools) over the GKE API
// (container/v1) and Compute Engine (compute/v1), with long-running operations followed to
// completion. See providers/gcp/README.md for the collections, state shapes and APIs used.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "nic/auth.h"
#include "nic/http.h"
#include "nic/provider.h"
#include "nic/retry.h"
#include "nic/status.h"

namespace nic {

struct GcpProviderOptions {
  // The GCP project id. Empty: ProviderContext::cloud_project, then GOOGLE_CLOUD_PROJECT,
  // GOOGLE_PROJECT, CLOUDSDK_CORE_PROJECT.
  std::string project;
  // API roots including the version, as Terraform's google provider spells its custom
  // endpoints ("https://container.googleapis.com/v1/", "https://compute.googleapis.com/compute/v1/").
  // Empty: GOOGLE_CONTAINER_CUSTOM_ENDPOINT / GOOGLE_COMPUTE_CUSTOM_ENDPOINT, then
  // NIC_GCP_ENDPOINT (one root serving both under /v1/ and /compute/v1/, e.g. the test stand-in),
  // then the public endpoints.
  std::string container_endpoint;
  std::string compute_endpoint;
  // Null: Google's default credentials (gcp_auth.h DefaultGoogleAuth: GOOGLE_OAUTH_ACCESS_TOKEN,
  // GOOGLE_APPLICATION_CREDENTIALS, GOOGLE_CREDENTIALS, the metadata server).
  std::shared_ptr<auth::Authorizer> authorizer;
  // Null: a curl transport with ProviderContext::parallelism requests in flight. Not owned.
  http::Transport* transport = nullptr;
  http::RetryOptions retry;
  auth::EnvLookup env = auth::ProcessEnv();
  // maxResults on Compute list calls (1..500); 0 = the service default (500). nextPageToken is
  // always followed.
  int page_size = 0;
  // How often a write refused for a stale fingerprint/etag (GKE 400 FAILED_PRECONDITION
  // "fingerprint mismatch", 409 ABORTED; Compute 412 conditionNotMet) is retried after
  // re-reading the resource.
  int max_conflict_retries = 5;
  // GKE control-plane upgrades are refused (kRefused) unless allowed (design §4.4).
  bool allow_cluster_version_update = false;
  // Operation polling (and waiting out "another operation is running on this cluster"): first
  // delay, doubled up to the max, for at most ProviderContext::wait_timeout_micros.
  std::chrono::milliseconds poll_initial{1000};
  std::chrono::milliseconds poll_max{15000};
};

// Checks the options (project and region present, endpoints valid) and builds the provider; no
// request is sent.
Result<std::unique_ptr<Provider>> NewGcpProvider(const ProviderContext& context, GcpProviderOptions options = {});

}  // namespace nic

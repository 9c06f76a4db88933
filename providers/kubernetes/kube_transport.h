// The HTTP transport for one Kubernetes API server.
//
// The shared curl transport (nic/http.h) trusts a CA bundle *file* and has no client
// certificates; kubeconfigs carry the cluster CA, client certificate and key as in-memory PEM
// (certificate-authority-data, client-*-data) and may disable verification. This transport
// hands those to libcurl as blobs (CURLOPT_CAINFO_BLOB, CURLOPT_SSLCERT_BLOB,
// CURLOPT_SSLKEY_BLOB), so no key material is ever written to disk.
#pragma once

#include <memory>

#include "nic/http.h"
#include "nic/kubeconfig.h"

namespace nic::kubeprov {

struct KubeTransportOptions {
  int parallelism = 10;
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds total_timeout{60'000};
  size_t max_response_bytes = http::kDefaultMaxResponseBytes;  // as http::TransportOptions
};

std::unique_ptr<http::Transport> NewKubeTransport(const kube::Connection& connection,
                                                  const KubeTransportOptions& options = {});

}  // namespace nic::kubeprov

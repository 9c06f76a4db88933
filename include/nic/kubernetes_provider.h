// The Kubernetes provider: the stage-03 objects Nebari keeps in every cluster (namespaces,
// service accounts, RBAC, storage classes, quotas, limit ranges, network policies, priority
// classes), read and changed over the Kubernetes REST API. Clouds use it for their cluster
// (endpoint + CA + token from the cloud's reads); the "local" and "existing" providers use it
// alone, through a kubeconfig. See providers/kubernetes/README.md for the state shapes.
#pragma once

#include <memory>
#include <string>

#include "nic/http.h"
#include "nic/kubeconfig.h"
#include "nic/provider.h"
#include "nic/retry.h"
#include "nic/status.h"

namespace nic {

struct KubernetesProviderOptions {
  // Null: a transport built from the connection (CA data, client certificate, insecure flag).
  // Not owned; must outlive the provider. Tests wrap one to observe or disturb requests.
  http::Transport* transport = nullptr;
  http::RetryOptions retry;
  // `limit` sent on list calls; `continue` is always followed.
  int page_size = 500;
  // How often Update re-reads and retries after a 409 Conflict (stale resourceVersion).
  int max_conflict_retries = 5;
  // Polling while waiting for a deleted object to disappear (namespaces finalize).
  std::chrono::milliseconds poll_initial{200};
  std::chrono::milliseconds poll_max{5000};
};

// From a kubeconfig (path empty: $KUBECONFIG merged, then ~/.kube/config; context empty: the
// current-context). Errors as LoadKubeconfig. No request is sent.
Result<std::unique_ptr<Provider>> NewKubernetesProviderFromKubeconfig(const ProviderContext& context,
                                                                      const kube::LoadOptions& kubeconfig,
                                                                      KubernetesProviderOptions options = {});

// For clouds: the cluster endpoint and CA (PEM or base64 of PEM) from the cloud provider's
// reads, and a bearer token from the cloud's token source.
Result<std::unique_ptr<Provider>> NewKubernetesProvider(const ProviderContext& context, const std::string& endpoint,
                                                        const std::string& ca, const std::string& token,
                                                        KubernetesProviderOptions options = {});

// From an already resolved connection.
Result<std::unique_ptr<Provider>> NewKubernetesProviderForConnection(const ProviderContext& context,
                                                                     kube::Connection connection,
                                                                     KubernetesProviderOptions options = {});

}  // namespace nic

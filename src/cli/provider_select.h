// Chooses and builds the Provider for a command from the config or state's provider name.
#pragma once

#include <memory>
#include <string>

#include "nic/provider.h"
#include "nic/status.h"

namespace nic::cli {

// aws: the AWS provider (credentials, region and endpoints from the usual AWS environment:
// AWS_PROFILE, AWS_ENDPOINT_URL[_<SERVICE>], ...). local/existing: the Kubernetes provider
// through the kubeconfig. gcp: the GCP provider (gcp_provider.h: project, endpoints and Google
// credentials from the config and environment). azure: the Azure provider (azure_provider.h:
// subscription, ARM endpoint and Entra credentials from the environment).
//
// The Kubernetes API of the stage-03 objects is the one `kube` names (--kubeconfig, used alone,
// and --kube-context). For a cloud it is optional: without it the cloud is planned alone and the
// kubernetes.* resources are reported as skipped; with it, a kubeconfig that cannot be loaded is
// an error (as Terraform's kubernetes provider fails, rather than silently planning less).
struct KubernetesTarget {
  std::string kubeconfig;
  std::string context;
};
Result<std::unique_ptr<Provider>> OpenProvider(const std::string& provider, const ProviderContext& context,
                                               const KubernetesTarget& kube = {});

}  // namespace nic::cli

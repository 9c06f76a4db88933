#include "src/cli/provider_select.h"

#include "nic/aws_provider.h"
#include "nic/gcp_provider.h"
#include "nic/azure_provider.h"
#include "nic/kubernetes_provider.h"

namespace nic::cli {

Result<std::unique_ptr<Provider>> OpenProvider(const std::string& provider, const ProviderContext& context) {
  if (provider == "aws") return NewAwsProvider(context);
  // Project from google_cloud_platform.project (else GOOGLE_CLOUD_PROJECT); endpoints and
  // credentials from the environment (NIC_GCP_ENDPOINT, GOOGLE_OAUTH_ACCESS_TOKEN, ...).
  if (provider == "gcp") return NewGcpProvider(context);
  if (provider == "azure") return NewAzureProvider(context);
  // Nebari's "local" (kind) and "existing" clusters have no cloud layer NIC manages: their
  // resources are the stage-03 Kubernetes objects, reached through the kubeconfig
  // (KUBECONFIG, then ~/.kube/config; the context's namespace is not used).
  if (provider == "local" || provider == "existing") return NewKubernetesProviderFromKubeconfig(context, kube::LoadOptions{});
  return Status::Unsupported("live reads for provider \"" + provider +
                             "\" are not available (NIC reads aws, gcp, azure, local and existing); the state can be imported, "
                             "inspected and planned offline with --refresh=false");
}

}  // namespace nic::cli

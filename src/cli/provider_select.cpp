#include "src/cli/provider_select.h"

#include "nic/aws_provider.h"
#include "nic/azure_provider.h"
#include "nic/composite_provider.h"
#include "nic/gcp_provider.h"
#include "nic/kubernetes_provider.h"

namespace nic::cli {

Result<std::unique_ptr<Provider>> OpenProvider(const std::string& provider, const ProviderContext& context,
                                               const KubernetesTarget& kube) {
  const kube::LoadOptions kubeconfig{kube.kubeconfig, kube.context, auth::ProcessEnv()};
  if (provider == "aws" || provider == "gcp" || provider == "azure") {
    std::unique_ptr<Provider> cloud;
    if (provider == "aws") {
      NIC_ASSIGN_OR_RETURN(cloud, NewAwsProvider(context));
    } else if (provider == "gcp") {
      // Project from google_cloud_platform.project (else GOOGLE_CLOUD_PROJECT); endpoints and
      // credentials from the environment (NIC_GCP_ENDPOINT, GOOGLE_OAUTH_ACCESS_TOKEN, ...).
      NIC_ASSIGN_OR_RETURN(cloud, NewGcpProvider(context));
    } else {
      NIC_ASSIGN_OR_RETURN(cloud, NewAzureProvider(context));
    }
    std::unique_ptr<Provider> k8s;
    if (!kube.kubeconfig.empty()) {
      auto opened = NewKubernetesProviderFromKubeconfig(context, kubeconfig);
      if (!opened.ok()) {
        Status st = opened.status();
        return st.Prepend("--kubeconfig " + kube.kubeconfig);
      }
      k8s = std::move(opened).value();
    }
    return NewCompositeProvider(std::move(cloud), std::move(k8s));
  }
  // Nebari's "local" (kind) and "existing" clusters have no cloud layer NIC manages: their
  // resources are the stage-03 Kubernetes objects, reached through the kubeconfig
  // (KUBECONFIG, then ~/.kube/config; the context's namespace is not used).
  if (provider == "local" || provider == "existing") return NewKubernetesProviderFromKubeconfig(context, kubeconfig);
  return Status::Unsupported("live reads for provider \"" + provider +
                             "\" are not available (NIC reads aws, gcp, azure, local and existing); the state can be imported, "
                             "inspected and planned offline with --refresh=false");
}

}  // namespace nic::cli

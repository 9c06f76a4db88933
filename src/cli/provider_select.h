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
// credentials from the config and environment). azure: kUnsupported naming what this build can
// do instead.
Result<std::unique_ptr<Provider>> OpenProvider(const std::string& provider, const ProviderContext& context);

}  // namespace nic::cli

// A cloud provider and the Kubernetes provider of the cluster it runs, as one Provider: the
// cloud's collections (stage 02) followed by the Kubernetes objects (stage 03), so one plan and
// one deploy cover both, in dependency order. Calls are routed by collection.
#pragma once

#include <memory>

#include "nic/provider.h"

namespace nic {

// `kubernetes` may be null: then only the cloud's collections are offered, and the plan reports
// the desired kubernetes.* resources as skipped (plan.h).
std::unique_ptr<Provider> NewCompositeProvider(std::unique_ptr<Provider> cloud, std::unique_ptr<Provider> kubernetes);

}  // namespace nic

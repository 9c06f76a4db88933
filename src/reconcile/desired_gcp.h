// The desired GCP resources of a nebari-config.yaml (google_cloud_platform section).
#pragma once

#include "nic/plan.h"

namespace nic {

// The GKE cluster (name "{project}-{namespace}", location = region, kubernetes_version) and one
// node pool per node group (machine type, autoscaling min/max, disk, preemptible/spot, labels,
// taints with GKE's effect names).
Result<DesiredModel> BuildGcpDesiredModel(const NebariConfig& config);

}  // namespace nic

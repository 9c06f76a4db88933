// The desired Azure model from nebari-config.yaml (BuildDesiredModel's azure branch).
#pragma once

#include "nic/config.h"
#include "nic/plan.h"

namespace nic {

// What Nebari's template/azure stage 02 creates, in state shape: the resource group, the AKS
// cluster (with its default System pool "general") and one agent pool per node group.
Result<DesiredModel> BuildAzureDesiredModel(const NebariConfig& config);

}  // namespace nic

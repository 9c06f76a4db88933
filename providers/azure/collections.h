// Internal to the Azure provider: what each state collection needs from ARM. One table entry per
// collection; the provider (azure_provider.cpp) dispatches to it and adds what is common (the
// immutable-field check, re-reading after a change, discovery addresses).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "providers/azure/arm_client.h"

namespace nic::azureprov {

struct CollectionOps {
  std::string collection;  // "cloud.node_groups"
  bool singleton = false;  // its address is the collection ("cloud.cluster")
  std::vector<std::string> managed;
  std::vector<std::string> immutable;
  // nullopt when gone; errors only for failing to find out.
  std::function<Result<std::optional<json>>(ArmClient&, const json& recorded)> read;
  // Creates (PUT), waits for the operation, returns JSON that identifies it for a Read.
  std::function<Result<json>(ArmClient&, const json& desired)> create;
  // PUTs `live` changed towards `desired` (409/412 re-read and retried); returns the identity.
  std::function<Result<json>(ArmClient&, const json& recorded, const json& live, const json& desired)> update;
  // Deletes and waits until gone; already gone is OK.
  std::function<Status(ArmClient&, const json& recorded)> remove;
};

// In dependency order: resource groups, network, identities, cluster, node groups.
std::vector<CollectionOps> AllCollections();

// Every NIC-tagged resource group and resource of `cluster`, with the subnets of its network and
// the agent pools of its cluster (subnets cannot be tagged; pools are found through the cluster).
Status DiscoverAll(ArmClient& c, const std::string& cluster, std::vector<ResourceRef>* out);

// The address a discovered resource gets (state.h: key = name).
ResourceRef MakeRef(const std::string& collection, bool singleton, json value);

}  // namespace nic::azureprov

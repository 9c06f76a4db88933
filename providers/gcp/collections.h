// Internal to the GCP provider: what each state collection needs from GKE or Compute. One table
// entry per collection; the provider (gcp_provider.cpp) dispatches to it and adds what is common
// (the immutable-field check, re-reading after a change, discovery addresses).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "providers/gcp/gcp_client.h"
#include "providers/common/resource_json.h"

namespace nic::gcpprov {

struct CollectionOps {
  std::string collection;  // "cloud.node_groups"
  bool singleton = false;  // its address is the collection ("cloud.cluster", "cloud.vpc")
  std::vector<std::string> managed;
  std::vector<std::string> immutable;
  // nullopt when gone; errors only for failing to find out.
  std::function<Result<std::optional<json>>(GcpClient&, const json& recorded)> read;
  // Creates, waits for the operation, returns JSON that identifies it for a Read.
  std::function<Result<json>(GcpClient&, const json& desired)> create;
  // Changes mutable fields of `live` towards `desired`; returns the identity to read back.
  std::function<Result<json>(GcpClient&, const json& recorded, const json& live, const json& desired)> update;
  // Deletes and waits until gone; already gone is OK.
  std::function<Status(GcpClient&, const json& recorded)> remove;
};

// Finds the NIC-labelled resources of one API for a cluster name.
using DiscoverFn = std::function<Status(GcpClient&, const std::string& cluster, std::vector<ResourceRef>* out)>;

std::vector<CollectionOps> ComputeCollections();
std::vector<CollectionOps> GkeCollections();
std::vector<DiscoverFn> ComputeDiscoverers();
std::vector<DiscoverFn> GkeDiscoverers();

// The address a discovered resource gets (state.h: key = name, else id).
using tableprov::MakeRef;

}  // namespace nic::gcpprov

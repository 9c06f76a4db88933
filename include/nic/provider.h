// Provider: how NIC reads and changes live resources of one cloud (or Kubernetes).
//
// Resources are exchanged as JSON in exactly the shape the state document uses for their
// collection (state.h; the importer's mappings in importers/terraform/map_*.cpp define the
// field names, e.g. cloud.node_groups items have name, arn, instance_types, scaling_config
// {min_size,max_size,desired_size}, labels, taints, subnet_ids, ...). So the reconciler can
// compare desired (config), recorded (state) and live (Read) field by field without knowing
// any cloud.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nic/status.h"

namespace nic {

// The NIC tag schema (stateless-discovery-and-tagging.md §6.2). GCP labels use the converted
// form (ToGcpLabelKey): no dots or slashes, lower case.
inline constexpr const char* kTagManagedBy = "nic.nebari.dev/managed-by";      // value "nic"
inline constexpr const char* kTagClusterName = "nic.nebari.dev/cluster-name";
inline constexpr const char* kTagResourceType = "nic.nebari.dev/resource-type";  // vpc, eks-cluster, node-pool...
inline constexpr const char* kTagVersion = "nic.nebari.dev/version";
inline constexpr const char* kTagConfigHash = "nic.nebari.dev/config-hash";
inline constexpr const char* kTagNodePool = "nic.nebari.dev/node-pool";

// One resource as the reconciler sees it: its address in the state, the collection it belongs
// to ("cloud.node_groups"; a singleton's collection is its own address, "cloud.cluster"), and
// its JSON in state shape.
struct ResourceRef {
  std::string address;
  std::string collection;
  nlohmann::json value = nlohmann::json::object();
};

// Settings shared by every provider call of one command.
struct ProviderContext {
  std::string project_name;  // Nebari project = cluster name
  std::string region;
  std::string cloud_project;  // GCP project id (google_cloud_platform.project); empty elsewhere
  std::string nic_version;
  std::string config_hash;
  std::map<std::string, std::string> user_tags;  // tags from the config, added to every resource
  int parallelism = 10;                          // --parallelism
  int64_t wait_timeout_micros = 30LL * 60 * 1000000;  // how long Create/Update wait to settle
};

class Provider {
 public:
  virtual ~Provider() = default;
  Provider() = default;
  Provider(const Provider&) = delete;
  Provider& operator=(const Provider&) = delete;

  virtual std::string Name() const = 0;  // "aws", "gcp", "azure", "kubernetes"

  // The collections this provider manages, in dependency order (network before identity
  // before cluster before node groups before storage).
  virtual std::vector<std::string> Collections() const = 0;
  // Fields of a collection the reconciler compares (desired vs recorded vs live). Fields not
  // listed (ARNs, status, timestamps) are recorded but never cause a change.
  virtual std::vector<std::string> ManagedFields(const std::string& collection) const = 0;
  // Managed fields that cannot change in place (a change means replace).
  virtual std::vector<std::string> ImmutableFields(const std::string& collection) const = 0;

  // The live resource that `recorded` (state JSON: id/name/arn) identifies, in state shape;
  // nullopt when it no longer exists. Errors are for failures to find out, not for absence.
  virtual Result<std::optional<nlohmann::json>> Read(const std::string& collection, const nlohmann::json& recorded) = 0;
  // Reads many at once (bounded by ProviderContext::parallelism); results in input order.
  virtual std::vector<Result<std::optional<nlohmann::json>>> ReadAll(const std::vector<ResourceRef>& refs);

  // Every live resource tagged kTagManagedBy=nic and kTagClusterName=<cluster>, in state shape.
  virtual Result<std::vector<ResourceRef>> Discover(const std::string& cluster_name) = 0;

  // Creates a resource from its desired JSON, tagged with the NIC tag schema, and waits until it
  // is usable. `client_token` makes a retried create idempotent (the journal records it before
  // the call). Returns the live JSON with IDs filled in.
  virtual Result<nlohmann::json> Create(const std::string& collection, const nlohmann::json& desired,
                                        const std::string& client_token) = 0;
  // Changes mutable managed fields of `recorded` to `desired` and waits until settled; returns
  // the live JSON afterwards. kRefused when an immutable field differs.
  virtual Result<nlohmann::json> Update(const std::string& collection, const nlohmann::json& recorded,
                                        const nlohmann::json& desired) = 0;
  // Deletes the resource and waits until it is gone. Deleting something already gone is OK.
  virtual Status Delete(const std::string& collection, const nlohmann::json& recorded) = 0;
};

// "nic.nebari.dev/managed-by" -> "nic_nebari_dev_managed-by" (GCP label rules: lower case,
// no dots or slashes); values: "1.0.0" -> "1-0-0", "sha256:ab" -> "sha256-ab".
std::string ToGcpLabelKey(const std::string& key);
std::string ToGcpLabelValue(const std::string& value);

}  // namespace nic

// What each kubernetes.* state collection is in the Kubernetes API, and the conversions between
// an API object and its state JSON (field names as the Terraform importer writes them,
// importers/terraform/map_kubernetes.cpp).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "providers/kubernetes/kube_client.h"

namespace nic::kubeprov {

struct CollectionSpec {
  std::string collection;     // "kubernetes.service_accounts"
  Kind kind;
  std::string resource_type;  // value of the nic.nebari.dev/resource-type label
  std::vector<std::string> managed;
  std::vector<std::string> immutable;
  // Kind-specific fields of the API object -> state (metadata is common).
  std::function<void(const json& object, json& state)> to_state;
  // Kind-specific state fields present in `desired` -> the API object (absent ones untouched).
  std::function<void(const json& desired, json& object)> to_object;
};

// In dependency order: namespaces first, bindings after the roles they name.
const std::vector<CollectionSpec>& Collections();
const CollectionSpec* FindCollection(const std::string& collection);

// Labels NIC puts on what it manages, and annotations it keeps for itself.
struct NicMetadata {
  std::map<std::string, std::string> labels;       // managed-by, cluster-name, resource-type, version
  std::map<std::string, std::string> annotations;  // config-hash, client-token
};

// The API object in state shape: name, [namespace], labels, annotations (both without the
// keys NIC and the API server keep for themselves), uid, id, nic_labels, and the kind's fields.
json ToState(const CollectionSpec& spec, const json& object);

// `base` (the live object, or {} for a create) with the managed fields present in `desired`
// applied: labels/annotations replace the user-visible ones wholesale (hidden keys are kept),
// NIC's labels are (re)applied, is_default drives the default-class annotation.
json BuildObject(const CollectionSpec& spec, const json& desired, json base, const NicMetadata& nic);

// Equal for reconciliation: empty strings/lists/maps equal absent, numbers equal their strings.
bool SameValue(const json* a, const json* b);

// A label value the API accepts (at most 63 of [A-Za-z0-9._-], alphanumeric at both ends).
std::string SafeLabelValue(const std::string& value);

inline constexpr const char* kAnnotationClientToken = "nic.nebari.dev/client-token";
inline constexpr const char* kAnnotationDefaultClass = "storageclass.kubernetes.io/is-default-class";

}  // namespace nic::kubeprov

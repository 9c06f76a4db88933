// Internal to the Terraform importer: how one tfstate instance becomes NIC resources.
//
// Each provider file (map_aws.cpp, map_gcp.cpp, map_azure.cpp, map_kubernetes.cpp,
// map_local.cpp) lists the resource types it understands. A mapper reads only attributes it
// names (after Sanitize has removed sensitive values) and returns the NIC address(es) and
// values; everything else about the instance is left behind.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "nic/importer.h"

namespace nic::tfimport {

using nlohmann::json;

struct MapInput {
  const TerraformResource& resource;
  const TerraformInstance& instance;
  const json& attrs;           // sanitized attributes
  const std::string& address;  // Terraform instance address
};

struct MappedEntry {
  std::string collection;  // "cloud.node_groups"; for a singleton its address ("cloud.cluster")
  std::string key;         // "general"; "" for a singleton
  json value;
  std::string address() const { return key.empty() ? collection : collection + "." + key; }
};

struct MapOutput {
  std::vector<MappedEntry> entries;
  std::string reason;  // why it was not mapped, when the mapper declines
};

// Returns false (and sets out->reason) when the instance cannot be mapped.
using MapFn = bool (*)(const MapInput& in, MapOutput* out);

struct TypeMapping {
  const char* type;  // Terraform resource type
  const char* kind;  // report grouping, e.g. "Node groups"
  MapFn fn;
};

const std::vector<TypeMapping>& AwsMappings();
const std::vector<TypeMapping>& GcpMappings();
const std::vector<TypeMapping>& AzureMappings();
const std::vector<TypeMapping>& KubernetesMappings();
const std::vector<TypeMapping>& LocalMappings();
const TypeMapping* FindMapping(std::string_view type);

// ---- attribute access (v4 nested blocks are one-element lists; v3 scalars are strings) -----

// Dotted path with numeric list indexes: "certificate_authority.0.data".
const json* Attr(const json& attrs, std::string_view path);
std::string Str(const json& attrs, std::string_view path);
std::optional<int64_t> Int(const json& attrs, std::string_view path);
std::optional<bool> Bool(const json& attrs, std::string_view path);

// Sets v[key] from the attribute when it is present and not null; typed variants convert v3
// strings.
void Copy(json& v, const char* key, const json& attrs, std::string_view path);
void CopyInt(json& v, const char* key, const json& attrs, std::string_view path);
void CopyBool(json& v, const char* key, const json& attrs, std::string_view path);
// Lists of strings (v3 lists arrive as string arrays already); missing -> nothing.
void CopyStrings(json& v, const char* key, const json& attrs, std::string_view path);

// {"id": attrs.id} when the instance has an id, else {}.
json WithId(const json& attrs);

// Adds a collection element keyed as state.h says: "<namespace>/<name>" when the value has
// both, else "name", else "id". False (with out->reason) when the value has none of them.
bool AddKeyed(MapOutput* out, std::string collection, json value);
void AddSingleton(MapOutput* out, std::string address, json value);

// ---- sensitive values ---------------------------------------------------------------------

// True for attribute names that hold credentials whatever the provider marked: passwords,
// tokens, secrets, private/client keys, client certificates, access keys, connection strings,
// kubeconfigs. Names of such things (..._name, ..._id, ..._arn) are not credentials.
bool IsCredentialKey(std::string_view key);

// Removes the values at `sensitive_paths`, every credential-like attribute, and the
// type-specific payloads that are secret by nature (kubernetes_secret data, local_file
// content...). Appends each removed path ("kube_config[0].password") to `dropped`.
void Sanitize(const std::string& type, json& attrs, const std::vector<json>& sensitive_paths,
              std::vector<std::string>* dropped);

}  // namespace nic::tfimport

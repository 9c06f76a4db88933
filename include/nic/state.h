// StateDocument: the one versioned JSON document in which NIC records what it manages
// (design §6.1, §14.2), plus lineage/serial/checksum for safe concurrent use.
//
// Cloud and Kubernetes sections stay JSON because their shape differs per provider; resources
// inside them are reached through stable addresses (see ResourceAddress below).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "nic/status.h"

namespace nic {

struct StateMetadata {
  std::string created_at;              // RFC 3339
  std::string updated_at;              // RFC 3339
  std::string nic_version;
  std::string configuration_hash;      // sha256 of the canonical config model (config.h)
  std::string last_successful_deploy;  // RFC 3339 or empty
  int64_t deploy_count = 0;
};

struct StateDocument {
  std::string version;            // NIC version that last wrote the document
  int format_version = 0;         // written as the string "1" as in the design
  std::string lineage;            // UUID fixed at creation; never changes for this state
  uint64_t serial = 0;            // +1 on every persisted change
  std::string provider;           // aws | gcp | azure | local | existing
  std::string project_name;
  std::string region;
  bool imported_from_terraform = false;
  nlohmann::json cloud = nlohmann::json::object();
  nlohmann::json kubernetes = nlohmann::json::object();
  // Things NIC has seen (e.g. unmapped Terraform resources, orphans) but does not manage:
  // [{address, type, id, source, reason}].
  nlohmann::json unmanaged = nlohmann::json::array();
  StateMetadata metadata;

  // A new, empty document with a fresh lineage and serial 0.
  static StateDocument NewEmpty(std::string provider, std::string project_name, std::string region,
                                int64_t now_micros);
};

// Parsing reports what it had to do (e.g. "migrated format 0 -> 1").
struct ParseNotes {
  std::vector<std::string> messages;
  int migrated_from_format = -1;  // -1 when no migration happened
};

// Parses and validates a document. Errors (kInvalidState) name `source` and the JSON path of
// the bad field, e.g. "nic-state.json: $.cloud.node_groups[1].scaling_config.min_size: expected
// an integer, found string". Older formats are migrated; newer/unknown ones are refused.
// `capacity`: how many bytes from bytes.data() may be read; at least bytes.size() + 64 (what
// Env::ReadFile reserves) lets the parser read them in place instead of copying them.
Result<StateDocument> ParseStateDocument(std::string_view bytes, const std::string& source,
                                         ParseNotes* notes = nullptr, size_t capacity = 0);

// Canonical serialization: 2-space indented JSON, stable key order, trailing newline, with a
// "checksum" field ("sha256:<hex>") over the document serialized without it. When
// `bytes_sha256_hex` is given it receives the sha256 (hex) of the returned bytes, computed in the
// same pass as the checksum (the two hashed texts share all but their last few bytes).
std::string SerializeStateDocument(const StateDocument& doc, std::string* bytes_sha256_hex = nullptr);

// The checksum SerializeStateDocument embeds (over the document without its checksum field).
std::string ComputeStateChecksum(const StateDocument& doc);

// Structural validation of a document in memory (the same rules the reader applies).
Status ValidateStateDocument(const StateDocument& doc, const std::string& source);

// ---- Resource addresses ------------------------------------------------------------------
//
// Every resource has a stable address: "<section>.<path>[.<key>]".
//   singleton objects directly under a section:   cloud.vpc, cloud.cluster, cloud.storage
//   elements of arrays whose items carry a key:  cloud.node_groups.general,
//                                                cloud.vpc.subnets.subnet-0a1b2c3d,
//                                                kubernetes.namespaces.dev,
//                                                kubernetes.service_accounts.dev/default
// The key of an array element is "<namespace>/<name>" when it has both, else "name", else "id".
// Arrays of plain values (instance_types) or of keyless objects (role rules) are attributes, and
// so is every array inside a collection element (a binding's subjects, a security group's
// rules): nested collections exist only inside singletons (cloud.vpc.subnets).
struct ResourceEntry {
  std::string address;
  std::string collection;  // "cloud.node_groups", "cloud.vpc" for a singleton
  std::string key;         // "general", "" for a singleton
  const nlohmann::json* value = nullptr;
};

std::vector<ResourceEntry> ListResources(const StateDocument& doc);
// The resource at `address`, or nullptr.
const nlohmann::json* FindResource(const StateDocument& doc, std::string_view address);
nlohmann::json* FindResource(StateDocument& doc, std::string_view address);
// Inserts or replaces the resource at `address`. For a collection address the value must carry
// the key field(s) matching the address. Creates missing collections.
Status PutResource(StateDocument& doc, std::string_view address, nlohmann::json value);
// Removes the resource at `address`; kNotFound when absent.
Status RemoveResource(StateDocument& doc, std::string_view address);

}  // namespace nic

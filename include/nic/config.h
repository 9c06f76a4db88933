// NebariConfig: the infrastructure part of nebari-config.yaml, normalised to one model
// (real Nebari names `instance`/`min_nodes`/`max_nodes` and the design doc's aliases
// `instance_type`/`min_size`/`max_size` both land in the same fields). Application-stage
// sections are kept out of the model and never cause errors.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "nic/state.h"
#include "nic/status.h"

namespace nic {

struct Taint {
  std::string key;
  std::string value;
  std::string effect;  // NoSchedule | PreferNoSchedule | NoExecute
};

struct NodeGroup {
  std::string name;
  std::string instance;  // instance/machine/vm type
  int64_t min_nodes = 0;
  int64_t max_nodes = 1;
  std::optional<int64_t> disk_size;  // GiB
  std::map<std::string, std::string> labels;
  std::vector<Taint> taints;
  bool gpu = false;
  bool spot = false;         // AWS spot / GCP preemptible / Azure spot
  bool single_subnet = false;
  nlohmann::json extra = nlohmann::json::object();  // provider-specific settings kept verbatim
};

// Where a value was written in the source file (1-based; 0 when it came from a default).
struct SourceMark {
  int line = 0;
  int column = 0;
};

struct NebariConfig {
  std::string source_path;
  std::string project_name;
  std::string namespace_name;        // `namespace` (default "dev")
  std::string provider;              // aws | gcp | azure | local | existing
  std::string nebari_version;
  std::string region;                // empty for local/existing
  std::string kubernetes_version;    // empty when not set
  std::vector<NodeGroup> node_groups;  // sorted by name
  // The rest of the provider section, normalised (networking, storage, tags, versions...).
  nlohmann::json provider_settings = nlohmann::json::object();
  std::string terraform_state_type;  // terraform_state.type: remote | local | existing

  // --- added by the config area -------------------------------------------------------------
  // Top-level `storage.type` (nfs | efs | cephfs), defaulted as Nebari does: efs on aws, nfs
  // elsewhere. Immutable after the first deploy.
  std::string storage_type;
  std::string terraform_state_backend;                        // terraform_state.backend
  std::map<std::string, std::string> terraform_state_config;  // terraform_state.config
  // external_container_reg (stage 03, which NIC takes over): {enabled, access_key_id, ...}.
  nlohmann::json external_container_reg = nlohmann::json::object();
  bool prevent_deploy = false;
  // Application-stage sections, converted to JSON and kept verbatim; NIC never reads them.
  nlohmann::json application_sections = nlohmann::json::object();
  // Field paths whose values came from Nebari's defaults rather than the file.
  std::vector<std::string> defaults_applied;
  // Field path -> where it was written, for diagnostics raised after parsing.
  std::map<std::string, SourceMark> field_marks;
};

struct ConfigDiagnostic {
  std::string file;
  int line = 0;    // 1-based; 0 when unknown
  int column = 0;  // 1-based; 0 when unknown
  std::string path;      // field path, e.g. "amazon_web_services.node_groups.user.max_nodes"
  std::string message;   // complete sentence: what was expected, what was found, what to do
  std::string expected;
  std::string found;
};

struct ConfigLoadResult {
  std::optional<NebariConfig> config;  // set when there are no errors
  std::vector<ConfigDiagnostic> errors;
  std::vector<ConfigDiagnostic> warnings;
  bool ok() const { return config.has_value() && errors.empty(); }
  // All errors as one kInvalidConfig Status (OK when none).
  Status ToStatus() const;
};

// Reads, parses, normalises (applying Nebari's defaults) and validates a config file.
ConfigLoadResult LoadNebariConfig(const std::string& path);
ConfigLoadResult ParseNebariConfig(const std::string& yaml_text, const std::string& source_name);

// Canonical JSON of the infrastructure-relevant model only (stable key order).
nlohmann::json CanonicalConfigModel(const NebariConfig& config);
// CanonicalConfigModel(config).dump(), written without building the tree (what ConfigHash hashes).
std::string CanonicalConfigText(const NebariConfig& config);
// "sha256:<hex>" over CanonicalConfigModel: stable under formatting, comments, key order and
// application-section edits; changes with any infrastructure value.
std::string ConfigHash(const NebariConfig& config);

// Fields Nebari refuses to change after the first deploy (project_name, provider, storage type),
// compared against a state document. One error per changed field, located in the config file.
std::vector<ConfigDiagnostic> CheckImmutableFields(const NebariConfig& config,
                                                   const StateDocument& state,
                                                   const std::string& state_source);

// "file:line:column: path: message" (parts that are unknown are left out).
std::string FormatDiagnostic(const ConfigDiagnostic& d);
// {"file", "line", "column", "path", "message", "expected", "found"}.
nlohmann::json DiagnosticToJson(const ConfigDiagnostic& d);

// The candidate closest to `word` by edit distance, or "" when none is close enough to be a
// plausible typo. Used for "did you mean" hints.
std::string NearestName(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace nic

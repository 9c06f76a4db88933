// Fields that cannot change after the first deploy, compared against a state document.
// Nebari enforces the same list in stage 01 (project_name, provider, storage.type; see
// ../shared/reference/nebari-config-schema.md §8).
#include <string>
#include <vector>

#include "nic/config.h"

namespace nic {

namespace {

ConfigDiagnostic Changed(const NebariConfig& c, const std::string& path, const std::string& in_state,
                         const std::string& in_config, const std::string& state_source) {
  ConfigDiagnostic d;
  d.file = c.source_path;
  auto it = c.field_marks.find(path);
  if (it != c.field_marks.end()) {
    d.line = it->second.line;
    d.column = it->second.column;
  }
  d.path = path;
  d.expected = in_state;
  d.found = in_config;
  d.message = path + " cannot change after the first deploy: the state (" + state_source +
              ") records '" + in_state + "' but the configuration says '" + in_config +
              "'. Restore '" + in_state + "', or deploy a new project instead.";
  return d;
}

bool IsNebariStorageType(const std::string& t) { return t == "nfs" || t == "efs" || t == "cephfs"; }

}  // namespace

std::vector<ConfigDiagnostic> CheckImmutableFields(const NebariConfig& config,
                                                   const StateDocument& state,
                                                   const std::string& state_source) {
  std::vector<ConfigDiagnostic> out;
  if (!state.project_name.empty() && state.project_name != config.project_name) {
    out.push_back(Changed(config, "project_name", state.project_name, config.project_name,
                          state_source));
  }
  if (!state.provider.empty() && state.provider != config.provider) {
    out.push_back(Changed(config, "provider", state.provider, config.provider, state_source));
  }
  // cloud.storage.type holds either Nebari's shared-filesystem type (nfs/efs/cephfs) or, in the
  // design's state example, the volume type (ebs, pd-standard...) that a provider section's
  // `storage.type` describes. Compare like with like; a volume type the config does not state
  // is "preserve what exists" and therefore not a change.
  if (state.cloud.is_object() && state.cloud.contains("storage") &&
      state.cloud["storage"].is_object() && state.cloud["storage"].contains("type") &&
      state.cloud["storage"]["type"].is_string()) {
    const std::string in_state = state.cloud["storage"]["type"].get<std::string>();
    if (IsNebariStorageType(in_state)) {
      if (in_state != config.storage_type) {
        out.push_back(Changed(config, "storage.type", in_state, config.storage_type, state_source));
      }
    } else {
      const auto& ps = config.provider_settings;
      if (ps.contains("storage") && ps["storage"].is_object() && ps["storage"].contains("type") &&
          ps["storage"]["type"].is_string()) {
        const std::string in_config = ps["storage"]["type"].get<std::string>();
        if (in_config != in_state) {
          std::string section = config.provider == "aws"   ? "amazon_web_services"
                                : config.provider == "gcp" ? "google_cloud_platform"
                                                           : config.provider;
          out.push_back(
              Changed(config, section + ".storage.type", in_state, in_config, state_source));
        }
      }
    }
  }
  return out;
}

}  // namespace nic

// Helpers shared by the config tests.
#pragma once

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "nic/config.h"

namespace nic::testing {

// The smallest valid AWS config: one node group, "general", as the last lines (tests append to
// it or to the group).
inline constexpr const char* kAws = R"(project_name: demo
provider: aws
nebari_version: 2025.10.1
amazon_web_services:
  region: us-west-2
  kubernetes_version: '1.29'
  node_groups:
    general:
      instance: m5.xlarge
      min_nodes: 1
      max_nodes: 1
)";

// All diagnostics as "file:line:col: path: message" lines, for failure messages.
inline std::string DumpDiagnostics(const ConfigLoadResult& r) {
  std::string out;
  for (const auto& e : r.errors) out += "error: " + FormatDiagnostic(e) + "\n";
  for (const auto& w : r.warnings) out += "warning: " + FormatDiagnostic(w) + "\n";
  return out;
}

inline const NodeGroup* FindGroup(const NebariConfig& c, const std::string& name) {
  for (const auto& g : c.node_groups) {
    if (g.name == name) return &g;
  }
  return nullptr;
}

// The first error whose path is `path`, or nullptr.
inline const ConfigDiagnostic* FindError(const ConfigLoadResult& r, const std::string& path) {
  for (const auto& e : r.errors) {
    if (e.path == path) return &e;
  }
  return nullptr;
}

inline ConfigLoadResult Parse(const std::string& yaml) { return ParseNebariConfig(yaml, "test.yaml"); }

}  // namespace nic::testing

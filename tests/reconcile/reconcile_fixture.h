// The desired side shared by the reconciler tests: node groups and the small AWS config they
// deploy through FileCloudProvider (file_cloud_provider.h).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "nic/config.h"

namespace nic::testing {

inline NodeGroup Group(const std::string& name, const std::string& instance, int64_t mn, int64_t mx) {
  NodeGroup g;
  g.name = name;
  g.instance = instance;
  g.min_nodes = mn;
  g.max_nodes = mx;
  return g;
}

// Project "demo", namespace "dev", AWS us-west-2, Kubernetes 1.29, with `groups`.
inline NebariConfig AwsConfig(std::vector<NodeGroup> groups) {
  NebariConfig c;
  c.project_name = "demo";
  c.namespace_name = "dev";
  c.provider = "aws";
  c.region = "us-west-2";
  c.kubernetes_version = "1.29";
  c.node_groups = std::move(groups);
  return c;
}

}  // namespace nic::testing

#include "src/reconcile/desired_azure.h"

#include <algorithm>
#include <cctype>

namespace nic {
namespace {

using json = nlohmann::json;

// ARM reports locations in their short form: "Central US" -> "centralus".
std::string ArmLocation(const std::string& region) {
  std::string out;
  for (char c : region) {
    if (c != ' ') out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

json NodeGroupJson(const NodeGroup& g, bool is_default) {
  // Nebari's azure kubernetes module: every pool autoscales between min_nodes and max_nodes;
  // the first ("general") is the cluster's default, System, pool.
  json v = {{"name", g.name},
            {"instance_type", g.instance},
            {"scaling_config", {{"min_size", g.min_nodes}, {"max_size", g.max_nodes}}},
            {"auto_scaling_enabled", true},
            {"mode", is_default ? "System" : "User"}};
  if (is_default) v["default_node_pool"] = true;
  if (g.disk_size) v["os_disk_size_gb"] = *g.disk_size;
  if (g.spot) v["priority"] = "Spot";
  // Nebari labels every pool azure-node-pool=<name> (its default node selectors use it).
  json labels = {{"azure-node-pool", g.name}};
  for (const auto& [k, val] : g.labels) labels[k] = val;
  v["labels"] = labels;
  if (!g.taints.empty()) {
    // AKS spells taints as "key=value:Effect" strings (nodeTaints).
    json t = json::array();
    for (const auto& x : g.taints) t.push_back(x.key + (x.value.empty() ? "" : "=" + x.value) + ":" + x.effect);
    v["taints"] = t;
  }
  return v;
}

}  // namespace

Result<DesiredModel> BuildAzureDesiredModel(const NebariConfig& config) {
  DesiredModel m;
  const json& ps = config.provider_settings;
  // Nebari: resource_group_name, else "{project}-{namespace}"; the cluster is
  // "{project}-{namespace}" too (template/azure).
  std::string base = config.project_name + "-" + config.namespace_name;
  std::string rg = ps.contains("resource_group_name") && ps["resource_group_name"].is_string()
                       ? ps["resource_group_name"].get<std::string>()
                       : base;
  std::string location = ArmLocation(config.region);
  json tags = ps.contains("tags") && ps["tags"].is_object() ? ps["tags"] : json::object();

  json group = {{"name", rg}, {"location", location}};
  if (!tags.empty()) group["tags"] = tags;
  m.resources.push_back({"cloud.resource_groups." + rg, "cloud.resource_groups", group});

  if (config.node_groups.empty()) {
    return Status::InvalidConfig("azure.node_groups is empty; AKS needs at least one node group for its System pool")
        .WithSuggestion("add a node group named general");
  }
  const NodeGroup* def = &config.node_groups.front();
  for (const auto& g : config.node_groups) {
    if (g.name == "general") def = &g;
  }
  bool wi = ps.value("workload_identity_enabled", false);
  // Only fields a live read returns belong here (the plan compares every field given). The
  // default pool's settings, which a cluster create needs (default_node_pool_settings), are
  // left out: this version takes over existing clusters and refuses to create one.
  json cluster = {{"name", base},
                  {"resource_group_name", rg},
                  {"location", location},
                  {"oidc_issuer_enabled", wi},
                  {"workload_identity_enabled", wi},
                  {"default_node_pool", def->name}};
  if (!config.kubernetes_version.empty()) cluster["version"] = config.kubernetes_version;
  if (!tags.empty()) cluster["tags"] = tags;
  m.resources.push_back({"cloud.cluster", "cloud.cluster", cluster});

  for (const auto& g : config.node_groups) {
    json v = NodeGroupJson(g, &g == def);
    v["cluster_name"] = base;
    v["resource_group_name"] = rg;
    m.resources.push_back({"cloud.node_groups." + g.name, "cloud.node_groups", v});
  }
  m.authoritative.push_back("cloud.node_groups");
  return m;
}

}  // namespace nic

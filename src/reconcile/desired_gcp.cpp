#include "src/reconcile/desired_gcp.h"

namespace nic {
namespace {

using json = nlohmann::json;

// GKE (and so Terraform's google_container_node_pool) spells taint effects NO_SCHEDULE, ...
std::string GkeTaintEffect(const std::string& k8s) {
  if (k8s == "NoSchedule") return "NO_SCHEDULE";
  if (k8s == "PreferNoSchedule") return "PREFER_NO_SCHEDULE";
  if (k8s == "NoExecute") return "NO_EXECUTE";
  return k8s;
}

}  // namespace

Result<DesiredModel> BuildGcpDesiredModel(const NebariConfig& config) {
  DesiredModel m;
  // Nebari names the GKE cluster "{project}-{namespace}" and makes it regional
  // (template/gcp modules/kubernetes: location = var.location = region).
  const std::string cluster_name = config.project_name + "-" + config.namespace_name;
  json cluster = {{"name", cluster_name}, {"location", config.region}};
  // The provider reads kubernetes_version as the control plane's major.minor ("1.29.8-gke.100"
  // -> "1.29"); GKE picks the patch level, so the config is compared at that precision too.
  if (!config.kubernetes_version.empty()) {
    const std::string& v = config.kubernetes_version;
    auto first = v.find('.');
    auto second = first == std::string::npos ? std::string::npos : v.find_first_of(".-", first + 1);
    cluster["kubernetes_version"] = second == std::string::npos ? v : v.substr(0, second);
  }
  m.resources.push_back({"cloud.cluster", "cloud.cluster", cluster});
  for (const auto& g : config.node_groups) {
    json v = {{"name", g.name},
              {"cluster", cluster_name},
              {"location", config.region},
              {"instance_type", g.instance},
              {"scaling_config", {{"min_size", g.min_nodes}, {"max_size", g.max_nodes}}}};
    if (g.disk_size) v["disk_size_gb"] = *g.disk_size;
    bool preemptible = g.extra.is_object() && g.extra.contains("preemptible") && g.extra["preemptible"].is_boolean() &&
                       g.extra["preemptible"].get<bool>();
    if (preemptible) v["preemptible"] = true;
    if (g.spot) v["spot"] = true;
    v["labels"] = g.labels;
    json t = json::array();
    for (const auto& x : g.taints) t.push_back({{"key", x.key}, {"value", x.value}, {"effect", GkeTaintEffect(x.effect)}});
    v["taints"] = t;
    m.resources.push_back({"cloud.node_groups." + g.name, "cloud.node_groups", v});
  }
  m.authoritative.push_back("cloud.node_groups");
  return m;
}

}  // namespace nic

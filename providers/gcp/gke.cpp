// GKE (container/v1): the cluster and its node pools. Every change returns an Operation that is
// followed to DONE; GKE runs one operation per cluster at a time, so writes retry (RetryConflicts)
// while another one is running, and label/etag writes retry after re-reading.
#include "providers/gcp/collections.h"

namespace nic::gcpprov {
namespace {

constexpr const char* kClusterType = "gke-cluster";
constexpr const char* kPoolType = "node-pool";

std::string Location(const GcpClient& c, const json& j) {
  std::string l = JStr(j, "location");
  return l.empty() ? c.region() : l;
}

std::string ClusterPath(const GcpClient& c, const std::string& location, const std::string& name) {
  return "projects/" + c.project() + "/locations/" + location + "/clusters/" + http::UriEncode(name);
}

// "1.29.8-gke.1031000" -> "1.29"
std::string MinorVersion(const std::string& v) {
  auto first = v.find('.');
  if (first == std::string::npos) return v;
  auto second = v.find_first_of(".-", first + 1);
  return second == std::string::npos ? v : v.substr(0, second);
}

json ClusterJson(const GcpClient& c, const json& k) {
  json v = json::object();
  std::string name = JStr(k, "name"), location = JStr(k, "location");
  v["id"] = "projects/" + c.project() + "/locations/" + location + "/clusters/" + name;
  v["name"] = name;
  v["location"] = location;
  if (std::string e = JStr(k, "endpoint"); !e.empty()) v["endpoint"] = "https://" + e;
  if (k.contains("masterAuth")) v["ca_certificate"] = JStr(k["masterAuth"], "clusterCaCertificate");
  v["version"] = JStr(k, "currentMasterVersion");
  v["kubernetes_version"] = MinorVersion(JStr(k, "currentMasterVersion"));
  v["network"] = JStr(k, "network");
  v["subnetwork"] = JStr(k, "subnetwork");
  v["self_link"] = JStr(k, "selfLink");
  v["node_locations"] = k.value("locations", json::array());
  if (k.contains("workloadIdentityConfig")) v["workload_pool"] = JStr(k["workloadIdentityConfig"], "workloadPool");
  if (k.contains("releaseChannel")) v["release_channel"] = JStr(k["releaseChannel"], "channel");
  v["resource_labels"] = StringMap(k.value("resourceLabels", json::object()));
  v["status"] = JStr(k, "status");
  return v;
}

Result<std::optional<json>> GetCluster(GcpClient& c, const std::string& location, const std::string& name) {
  auto r = c.Call(Api::kContainer, "container.projects.locations.clusters.get", "GET", ClusterPath(c, location, name));
  if (!r.ok()) {
    if (IsNotFound(r.status())) return std::optional<json>();
    return r.status();
  }
  return std::optional<json>(std::move(r).value());
}

Result<std::optional<json>> ReadCluster(GcpClient& c, const json& recorded) {
  std::string name = JStr(recorded, "name");
  if (name.empty()) return Status::InvalidState("cloud.cluster has no name");
  NIC_ASSIGN_OR_RETURN(auto k, GetCluster(c, Location(c, recorded), name));
  if (!k) return std::optional<json>();
  return std::optional<json>(ClusterJson(c, *k));
}

// Waits for the operations still running on a cluster or its pools (the create an earlier
// attempt started and whose answer was lost), so a claimed resource is usable when returned.
Status WaitForClusterOperations(GcpClient& c, const std::string& location, const std::string& cluster,
                                const std::string& what) {
  NIC_ASSIGN_OR_RETURN(json list, c.Call(Api::kContainer, "container.projects.locations.operations.list", "GET",
                                          "projects/" + c.project() + "/locations/" + location + "/operations"));
  const std::string suffix = "/clusters/" + cluster;
  for (const auto& op : list.value("operations", json::array())) {
    if (JStr(op, "status") == "DONE") continue;
    std::string target = JStr(op, "targetLink");
    if (!target.ends_with(suffix) && target.find(suffix + "/") == std::string::npos) continue;
    NIC_RETURN_IF_ERROR(c.WaitGke(op, what));
  }
  return Status::OK();
}

// A create answered 409 ALREADY_EXISTS: ours (an earlier attempt whose answer was lost) when it
// carries NIC's labels for this cluster, otherwise someone else's.
Status ClaimExisting(const std::string& what, const json& labels, const GcpClient& c) {
  if (GcpClient::IsNicLabelled(labels, c.context().project_name)) return Status::OK();
  return Status::Conflict(what + " already exists and was not created by NIC for " + c.context().project_name)
      .WithSuggestion("import it (nic import --from-terraform) or choose another name");
}

Result<json> CreateCluster(GcpClient& c, const json& desired) {
  std::string name = JStr(desired, "name"), location = Location(c, desired);
  if (name.empty()) return Status::InvalidInput("cloud.cluster needs a name");
  std::string what = "GKE cluster " + name;
  json cluster = {{"name", name}};
  Labels labels = c.NicLabels(kClusterType, desired.value("resource_labels", json::object()));
  cluster["resourceLabels"] = labels;
  for (const char* k : {"kubernetes_version", "min_master_version", "version"}) {
    if (std::string v = JStr(desired, k); !v.empty()) {
      cluster["initialClusterVersion"] = v;
      break;
    }
  }
  if (std::string n = JStr(desired, "network"); !n.empty()) cluster["network"] = LastSegment(n);
  if (std::string s = JStr(desired, "subnetwork"); !s.empty()) cluster["subnetwork"] = LastSegment(s);
  if (desired.contains("node_locations")) cluster["locations"] = desired["node_locations"];
  if (std::string ch = JStr(desired, "release_channel"); !ch.empty()) cluster["releaseChannel"] = {{"channel", ch}};
  std::string pool = JStr(desired, "workload_pool");
  cluster["workloadIdentityConfig"] = {{"workloadPool", pool.empty() ? c.project() + ".svc.id.goog" : pool}};
  // GKE needs a node pool to create a cluster; like Nebari's Terraform (remove_default_node_pool)
  // NIC creates a one-node default pool and deletes it once the cluster runs, so every pool is
  // a cloud.node_groups entry.
  cluster["nodePools"] = json::array({{{"name", "default-pool"}, {"initialNodeCount", 1}}});
  const std::string parent = "projects/" + c.project() + "/locations/" + location;
  auto op = c.Call(Api::kContainer, "container.projects.locations.clusters.create", "POST", parent + "/clusters",
                   json{{"cluster", cluster}});
  if (!op.ok()) {
    if (!IsAlreadyExists(op.status())) return op.status();
    NIC_ASSIGN_OR_RETURN(auto live, GetCluster(c, location, name));
    if (!live) return op.status();
    NIC_RETURN_IF_ERROR(ClaimExisting(what, live->value("resourceLabels", json::object()), c));
    NIC_RETURN_IF_ERROR(WaitForClusterOperations(c, location, name, "creating " + what));
  } else {
    NIC_RETURN_IF_ERROR(c.WaitGke(*op, "creating " + what));
  }
  Status st = c.RetryConflicts("removing the default node pool of " + what, [&]() -> Status {
    auto del = c.Call(Api::kContainer, "container.projects.locations.clusters.nodePools.delete", "DELETE",
                      ClusterPath(c, location, name) + "/nodePools/default-pool");
    if (!del.ok()) return IsNotFound(del.status()) ? Status::OK() : del.status();
    return c.WaitGke(*del, "removing the default node pool of " + what);
  });
  NIC_RETURN_IF_ERROR(st);
  return json{{"name", name}, {"location", location}};
}

// Keys NIC wrote before (recorded) and no longer wants are removed; labels others added stay.
json MergeLabels(const json& live, const Labels& want, const json& recorded) {
  json out = StringMap(live);
  if (recorded.is_object()) {
    for (const auto& [k, v] : recorded.items()) {
      if (!want.count(k)) out.erase(k);
    }
  }
  for (const auto& [k, v] : want) out[k] = v;
  return out;
}

Result<json> UpdateCluster(GcpClient& c, const json& recorded, const json& live, const json& desired) {
  std::string name = JStr(live, "name"), location = Location(c, live);
  std::string what = "GKE cluster " + name;
  std::string want_version = JStr(desired, "kubernetes_version");
  if (!want_version.empty() && want_version != JStr(live, "kubernetes_version")) {
    if (!c.options().allow_cluster_version_update) {
      return Status::Refused(what + ": upgrading the control plane from " + JStr(live, "kubernetes_version") + " to " +
                             want_version + " is not part of this version of NIC")
          .WithSuggestion("keep kubernetes_version as it is, or upgrade the cluster with gcloud first");
    }
    NIC_RETURN_IF_ERROR(c.RetryConflicts("upgrading " + what, [&]() -> Status {
      NIC_ASSIGN_OR_RETURN(json op, c.Call(Api::kContainer, "container.projects.locations.clusters.update", "PUT",
                                            ClusterPath(c, location, name),
                                            json{{"update", {{"desiredMasterVersion", want_version}}}}));
      return c.WaitGke(op, "upgrading " + what);
    }));
  }
  Labels want = c.NicLabels(kClusterType, desired.value("resource_labels", json::object()));
  json recorded_labels = recorded.value("resource_labels", json::object());
  NIC_RETURN_IF_ERROR(c.RetryConflicts("labelling " + what, [&]() -> Status {
    // The fingerprint must be the current one: read it fresh on every attempt.
    NIC_ASSIGN_OR_RETURN(auto fresh, GetCluster(c, location, name));
    if (!fresh) return Status::NotFound(what + " no longer exists");
    json have = StringMap(fresh->value("resourceLabels", json::object()));
    json next = MergeLabels(have, want, recorded_labels);
    if (next == have) return Status::OK();
    NIC_ASSIGN_OR_RETURN(json op, c.Call(Api::kContainer, "container.projects.locations.clusters.setResourceLabels",
                                          "POST", ClusterPath(c, location, name) + ":setResourceLabels",
                                          json{{"resourceLabels", next}, {"labelFingerprint", JStr(*fresh, "labelFingerprint")}}));
    return c.WaitGke(op, "labelling " + what);
  }));
  return json{{"name", name}, {"location", location}};
}

Status DeleteCluster(GcpClient& c, const json& recorded) {
  std::string name = JStr(recorded, "name"), location = Location(c, recorded);
  return c.RetryConflicts("deleting GKE cluster " + name, [&]() -> Status {
    auto op = c.Call(Api::kContainer, "container.projects.locations.clusters.delete", "DELETE", ClusterPath(c, location, name));
    if (!op.ok()) return IsNotFound(op.status()) ? Status::OK() : op.status();
    return c.WaitGke(*op, "deleting GKE cluster " + name);
  });
}

// ---- node pools ----------------------------------------------------------------------------

struct PoolId {
  std::string cluster, location, name;
};

// From the state: name + cluster (+ location), or Terraform's id "project/location/cluster/name".
Result<PoolId> PoolIdOf(const GcpClient& c, const json& j) {
  PoolId id{JStr(j, "cluster"), JStr(j, "location"), JStr(j, "name")};
  if (id.cluster.empty()) id.cluster = JStr(j, "cluster_name");
  std::string tf = JStr(j, "id");
  if ((id.cluster.empty() || id.location.empty()) && std::count(tf.begin(), tf.end(), '/') == 3) {
    auto a = tf.find('/'), b = tf.find('/', a + 1), d = tf.find('/', b + 1);
    if (id.location.empty()) id.location = tf.substr(a + 1, b - a - 1);
    if (id.cluster.empty()) id.cluster = tf.substr(b + 1, d - b - 1);
    if (id.name.empty()) id.name = tf.substr(d + 1);
  }
  if (id.location.empty()) id.location = c.region();
  // Terraform's `cluster` may be the cluster's path ("projects/p/locations/l/clusters/c").
  id.cluster = LastSegment(id.cluster);
  if (id.name.empty() || id.cluster.empty()) {
    return Status::InvalidState("cloud.node_groups entry " + j.dump() + " names no node pool and cluster");
  }
  return id;
}

std::string PoolPath(const GcpClient& c, const PoolId& id) {
  return ClusterPath(c, id.location, id.cluster) + "/nodePools/" + http::UriEncode(id.name);
}

json PoolJson(const GcpClient& c, const PoolId& id, const json& p) {
  json v = json::object();
  v["id"] = c.project() + "/" + id.location + "/" + id.cluster + "/" + JStr(p, "name");
  v["name"] = JStr(p, "name");
  v["cluster"] = id.cluster;
  v["location"] = id.location;
  const json cfg = p.value("config", json::object());
  v["instance_type"] = JStr(cfg, "machineType");
  if (auto d = JInt(cfg, "diskSizeGb")) v["disk_size_gb"] = *d;
  v["disk_type"] = JStr(cfg, "diskType");
  v["image_type"] = JStr(cfg, "imageType");
  v["preemptible"] = cfg.value("preemptible", false);
  v["spot"] = cfg.value("spot", false);
  v["labels"] = StringMap(cfg.value("labels", json::object()));
  json taints = json::array();
  for (const auto& t : cfg.value("taints", json::array())) {
    taints.push_back({{"key", JStr(t, "key")}, {"value", JStr(t, "value")}, {"effect", JStr(t, "effect")}});
  }
  v["taints"] = taints;
  if (std::string sa = JStr(cfg, "serviceAccount"); !sa.empty()) v["service_account"] = sa;
  if (cfg.contains("oauthScopes")) v["oauth_scopes"] = cfg["oauthScopes"];
  v["resource_labels"] = StringMap(cfg.value("resourceLabels", json::object()));
  json sc = json::object();
  const json a = p.value("autoscaling", json::object());
  if (a.value("enabled", false)) {
    sc["min_size"] = JInt(a, "minNodeCount").value_or(0);
    sc["max_size"] = JInt(a, "maxNodeCount").value_or(0);
  }
  v["scaling_config"] = sc;
  if (auto n = JInt(p, "initialNodeCount")) v["initial_node_count"] = *n;
  v["version"] = JStr(p, "version");
  v["node_locations"] = p.value("locations", json::array());
  v["instance_group_urls"] = p.value("instanceGroupUrls", json::array());
  v["status"] = JStr(p, "status");
  return v;
}

Result<std::optional<json>> GetPool(GcpClient& c, const PoolId& id) {
  auto r = c.Call(Api::kContainer, "container.projects.locations.clusters.nodePools.get", "GET", PoolPath(c, id));
  if (!r.ok()) {
    if (IsNotFound(r.status())) return std::optional<json>();  // the pool or its cluster is gone
    return r.status();
  }
  return std::optional<json>(std::move(r).value());
}

Result<std::optional<json>> ReadPool(GcpClient& c, const json& recorded) {
  NIC_ASSIGN_OR_RETURN(PoolId id, PoolIdOf(c, recorded));
  NIC_ASSIGN_OR_RETURN(auto p, GetPool(c, id));
  if (!p) return std::optional<json>();
  return std::optional<json>(PoolJson(c, id, *p));
}

// NIC state taints -> GKE NodeTaint (effects NO_SCHEDULE, ...; Kubernetes spellings accepted).
json ApiTaints(const json& taints) {
  json out = json::array();
  if (!taints.is_array()) return out;
  for (const auto& t : taints) {
    std::string effect = JStr(t, "effect");
    if (effect == "NoSchedule") effect = "NO_SCHEDULE";
    if (effect == "PreferNoSchedule") effect = "PREFER_NO_SCHEDULE";
    if (effect == "NoExecute") effect = "NO_EXECUTE";
    out.push_back({{"key", JStr(t, "key")}, {"value", JStr(t, "value")}, {"effect", effect}});
  }
  return out;
}

Result<json> CreatePool(GcpClient& c, const json& desired) {
  PoolId id{JStr(desired, "cluster"), Location(c, desired), JStr(desired, "name")};
  if (id.cluster.empty()) id.cluster = JStr(desired, "cluster_name");
  if (id.name.empty() || id.cluster.empty()) {
    return Status::InvalidInput("cloud.node_groups needs name and cluster to create a GKE node pool");
  }
  std::string what = "GKE node pool " + id.name + " of cluster " + id.cluster;
  json cfg = json::object();
  if (std::string m = JStr(desired, "instance_type"); !m.empty()) cfg["machineType"] = m;
  if (auto d = JInt(desired, "disk_size_gb")) cfg["diskSizeGb"] = *d;
  if (std::string d = JStr(desired, "disk_type"); !d.empty()) cfg["diskType"] = d;
  if (std::string i = JStr(desired, "image_type"); !i.empty()) cfg["imageType"] = i;
  if (desired.value("preemptible", false)) cfg["preemptible"] = true;
  if (desired.value("spot", false)) cfg["spot"] = true;
  cfg["labels"] = StringMap(desired.value("labels", json::object()));
  cfg["taints"] = ApiTaints(desired.value("taints", json::array()));
  if (std::string sa = JStr(desired, "service_account"); !sa.empty()) cfg["serviceAccount"] = sa;
  if (desired.contains("oauth_scopes")) cfg["oauthScopes"] = desired["oauth_scopes"];
  cfg["resourceLabels"] = c.NicLabels(kPoolType, desired.value("resource_labels", json::object()), id.name);
  json pool = {{"name", id.name}, {"config", cfg}};
  const json sc = desired.value("scaling_config", json::object());
  auto min = JInt(sc, "min_size"), max = JInt(sc, "max_size");
  if (max) {
    pool["autoscaling"] = {{"enabled", true}, {"minNodeCount", min.value_or(0)}, {"maxNodeCount", *max}};
  }
  int64_t initial = JInt(desired, "initial_node_count").value_or(std::max<int64_t>(min.value_or(0), max ? 0 : 1));
  pool["initialNodeCount"] = initial;
  if (desired.contains("node_locations")) pool["locations"] = desired["node_locations"];
  Status st = c.RetryConflicts("creating " + what, [&]() -> Status {
    auto op = c.Call(Api::kContainer, "container.projects.locations.clusters.nodePools.create", "POST",
                     ClusterPath(c, id.location, id.cluster) + "/nodePools", json{{"nodePool", pool}});
    if (!op.ok()) {
      if (!IsAlreadyExists(op.status())) return op.status();
      NIC_ASSIGN_OR_RETURN(auto live, GetPool(c, id));
      if (!live) return op.status();
      NIC_RETURN_IF_ERROR(
          ClaimExisting(what, live->value("config", json::object()).value("resourceLabels", json::object()), c));
      return WaitForClusterOperations(c, id.location, id.cluster, "creating " + what);
    }
    return c.WaitGke(*op, "creating " + what);
  });
  NIC_RETURN_IF_ERROR(st);
  return json{{"name", id.name}, {"cluster", id.cluster}, {"location", id.location}};
}

Result<json> UpdatePool(GcpClient& c, const json& recorded, const json& live, const json& desired) {
  NIC_ASSIGN_OR_RETURN(PoolId id, PoolIdOf(c, live));
  std::string what = "GKE node pool " + id.name + " of cluster " + id.cluster;
  const json want_sc = desired.value("scaling_config", json::object());
  const json have_sc = live.value("scaling_config", json::object());
  auto want_min = JInt(want_sc, "min_size"), want_max = JInt(want_sc, "max_size");
  if ((want_min && want_min != JInt(have_sc, "min_size")) || (want_max && want_max != JInt(have_sc, "max_size"))) {
    int64_t lo = want_min.value_or(JInt(have_sc, "min_size").value_or(0));
    int64_t hi = want_max.value_or(JInt(have_sc, "max_size").value_or(lo));
    NIC_RETURN_IF_ERROR(c.RetryConflicts("scaling " + what, [&]() -> Status {
      NIC_ASSIGN_OR_RETURN(json op, c.Call(Api::kContainer, "container.projects.locations.clusters.nodePools.setAutoscaling",
                                            "POST", PoolPath(c, id) + ":setAutoscaling",
                                            json{{"autoscaling", {{"enabled", true}, {"minNodeCount", lo}, {"maxNodeCount", hi}}}}));
      return c.WaitGke(op, "scaling " + what);
    }));
  }
  // One nodePools.update for node labels, taints, resource labels, machine type and disk size;
  // sent with the pool's etag so a concurrent change is noticed (409 ABORTED) and re-read.
  Labels want_resource = c.NicLabels(kPoolType, desired.value("resource_labels", json::object()), id.name);
  json recorded_resource = recorded.value("resource_labels", json::object());
  NIC_RETURN_IF_ERROR(c.RetryConflicts("updating " + what, [&]() -> Status {
    NIC_ASSIGN_OR_RETURN(auto fresh, GetPool(c, id));
    if (!fresh) return Status::NotFound(what + " no longer exists");
    json now = PoolJson(c, id, *fresh);
    json body = json::object();
    if (desired.contains("labels") && StringMap(desired["labels"]) != now["labels"]) {
      body["labels"] = {{"labels", StringMap(desired["labels"])}};
    }
    if (desired.contains("taints") && ApiTaints(desired["taints"]) != now["taints"]) {
      body["taints"] = {{"taints", ApiTaints(desired["taints"])}};
    }
    json next_resource = MergeLabels(now["resource_labels"], want_resource, recorded_resource);
    if (next_resource != now["resource_labels"]) body["resourceLabels"] = {{"labels", next_resource}};
    if (std::string m = JStr(desired, "instance_type"); !m.empty() && m != JStr(now, "instance_type")) body["machineType"] = m;
    if (auto d = JInt(desired, "disk_size_gb"); d && d != JInt(now, "disk_size_gb")) body["diskSizeGb"] = *d;
    if (std::string d = JStr(desired, "disk_type"); !d.empty() && d != JStr(now, "disk_type")) body["diskType"] = d;
    if (body.empty()) return Status::OK();
    body["etag"] = JStr(*fresh, "etag");
    NIC_ASSIGN_OR_RETURN(json op, c.Call(Api::kContainer, "container.projects.locations.clusters.nodePools.update", "PUT",
                                          PoolPath(c, id), body));
    return c.WaitGke(op, "updating " + what);
  }));
  return json{{"name", id.name}, {"cluster", id.cluster}, {"location", id.location}};
}

Status DeletePool(GcpClient& c, const json& recorded) {
  NIC_ASSIGN_OR_RETURN(PoolId id, PoolIdOf(c, recorded));
  std::string what = "GKE node pool " + id.name + " of cluster " + id.cluster;
  return c.RetryConflicts("deleting " + what, [&]() -> Status {
    auto op = c.Call(Api::kContainer, "container.projects.locations.clusters.nodePools.delete", "DELETE", PoolPath(c, id));
    if (!op.ok()) return IsNotFound(op.status()) ? Status::OK() : op.status();
    return c.WaitGke(*op, "deleting " + what);
  });
}

Status DiscoverGke(GcpClient& c, const std::string& cluster, std::vector<ResourceRef>* out) {
  // ListClustersResponse is not paged: one answer holds every cluster of the location.
  NIC_ASSIGN_OR_RETURN(json list, c.Call(Api::kContainer, "container.projects.locations.clusters.list", "GET",
                                          "projects/" + c.project() + "/locations/" + c.region() + "/clusters"));
  for (const auto& k : list.value("clusters", json::array())) {
    if (!GcpClient::IsNicLabelled(k.value("resourceLabels", json::object()), cluster)) continue;
    out->push_back(MakeRef("cloud.cluster", true, ClusterJson(c, k)));
    PoolId base{JStr(k, "name"), JStr(k, "location"), ""};
    if (base.location.empty()) base.location = c.region();
    for (const auto& p : k.value("nodePools", json::array())) {
      json rl = p.value("config", json::object()).value("resourceLabels", json::object());
      if (!GcpClient::IsNicLabelled(rl, cluster)) continue;
      PoolId id = base;
      id.name = JStr(p, "name");
      out->push_back(MakeRef("cloud.node_groups", false, PoolJson(c, id, p)));
    }
  }
  return Status::OK();
}

}  // namespace

std::vector<CollectionOps> GkeCollections() {
  std::vector<CollectionOps> out;
  out.push_back({"cloud.cluster", true,
                 {"name", "location", "kubernetes_version", "network", "subnetwork", "release_channel", "workload_pool"},
                 {"name", "location", "network", "subnetwork", "workload_pool"},
                 ReadCluster, CreateCluster, UpdateCluster, DeleteCluster});
  out.push_back({"cloud.node_groups", false,
                 {"name", "cluster", "location", "instance_type", "disk_size_gb", "disk_type", "image_type",
                  "preemptible", "spot", "labels", "taints", "scaling_config.min_size", "scaling_config.max_size",
                  "service_account"},
                 {"name", "cluster", "location", "image_type", "preemptible", "spot", "service_account"},
                 ReadPool, CreatePool, UpdatePool, DeletePool});
  return out;
}

std::vector<DiscoverFn> GkeDiscoverers() { return {DiscoverGke}; }

}  // namespace nic::gcpprov

// What each state collection needs from ARM: the resource path, the PUT body built from the
// desired JSON, and the ARM resource turned back into state shape (the importer's field names,
// importers/terraform/map_azure.cpp).
#include "providers/azure/collections.h"

#include <algorithm>

namespace nic::azureprov {
namespace {

const json kEmpty = json::object();

const json& Props(const json& body) {
  auto it = body.find("properties");
  return it != body.end() && it->is_object() ? *it : kEmpty;
}

json StrList(const json& v) {
  json out = json::array();
  if (v.is_array()) {
    for (const auto& x : v) {
      if (x.is_string()) out.push_back(x);
    }
  }
  return out;
}

void CopyIf(json& out, const char* to, const json& from, const char* key) {
  if (auto it = from.find(key); it != from.end() && !it->is_null()) out[to] = *it;
}

std::string Location(const ArmClient& c, const json& desired) {
  std::string l = JStr(desired, "location");
  return l.empty() ? c.context().region : l;
}

// Live tags that are not NIC's stay; NIC's are set from the desired JSON.
json MergedTags(const ArmClient& c, const json& live, const std::string& type, const json& desired,
                const std::string& pool = "") {
  json t = json::object();
  if (live.is_object() && live.contains("tags") && live["tags"].is_object()) t = live["tags"];
  json nic = c.NicTags(type, desired, pool);
  for (const auto& [k, v] : nic.items()) t[k] = v;
  return t;
}

std::string RgOf(const ArmClient& c, const json& j) {
  std::string rg = JStr(j, "resource_group_name");
  if (rg.empty()) rg = IdPart(JStr(j, "id"), "resourceGroups");
  if (rg.empty()) rg = c.options().resource_group;
  return rg;
}

Result<std::string> NameOf(const json& j, const std::string& collection) {
  std::string name = JStr(j, "name");
  if (name.empty()) name = LastSegment(JStr(j, "id"));
  if (name.empty()) return Status::InvalidInput(collection + " entry has neither a name nor an id");
  return name;
}

// ---- resource groups ------------------------------------------------------------------------

std::string RgPath(const ArmClient& c, const json& j) {
  std::string name = JStr(j, "name");
  if (name.empty()) name = RgOf(c, j);
  return c.GroupPath(name);
}

json RgState(const json& b) {
  json v = {{"id", JStr(b, "id")}, {"name", JStr(b, "name")}, {"location", JStr(b, "location")}};
  CopyIf(v, "tags", b, "tags");
  return v;
}

// ---- virtual network and subnets ------------------------------------------------------------

std::string VnetPath(const ArmClient& c, const json& j, const std::string& name) {
  if (std::string id = JStr(j, "id"); !id.empty() && JStr(j, "virtual_network_name").empty()) return id;
  return c.GroupPath(RgOf(c, j)) + "/providers/Microsoft.Network/virtualNetworks/" + http::UriEncode(name);
}

json VnetState(const json& b) {
  const json& p = Props(b);
  json v = {{"id", JStr(b, "id")}, {"name", JStr(b, "name")}, {"location", JStr(b, "location")},
            {"resource_group_name", IdPart(JStr(b, "id"), "resourceGroups")}};
  json space = StrList(p.contains("addressSpace") ? p["addressSpace"].value("addressPrefixes", json::array())
                                                  : json::array());
  v["address_space"] = space;
  if (!space.empty()) v["cidr"] = space[0];
  CopyIf(v, "tags", b, "tags");
  return v;
}

std::string SubnetPath(const ArmClient& c, const json& j) {
  if (std::string id = JStr(j, "id"); !id.empty()) return id;
  return c.GroupPath(RgOf(c, j)) + "/providers/Microsoft.Network/virtualNetworks/" +
         http::UriEncode(JStr(j, "virtual_network_name")) + "/subnets/" + http::UriEncode(JStr(j, "name"));
}

json SubnetState(const json& b) {
  const json& p = Props(b);
  std::string id = JStr(b, "id");
  json v = {{"id", id}, {"name", JStr(b, "name")}, {"virtual_network_name", IdPart(id, "virtualNetworks")},
            {"resource_group_name", IdPart(id, "resourceGroups")}};
  json prefixes = StrList(p.value("addressPrefixes", json::array()));
  if (prefixes.empty() && p.contains("addressPrefix")) prefixes.push_back(p["addressPrefix"]);
  v["address_prefixes"] = prefixes;
  if (!prefixes.empty()) v["cidr"] = prefixes[0];
  return v;
}

json SubnetProps(const json& desired) {
  json prefixes = StrList(desired.value("address_prefixes", json::array()));
  if (prefixes.empty() && desired.contains("cidr")) prefixes.push_back(desired["cidr"]);
  if (prefixes.size() == 1) return {{"addressPrefix", prefixes[0]}};
  return {{"addressPrefixes", prefixes}};
}

// ---- managed cluster and agent pools --------------------------------------------------------

std::string ClusterPath(const ArmClient& c, const json& j, const std::string& name) {
  if (std::string id = JStr(j, "id"); !id.empty()) return id;
  return c.GroupPath(RgOf(c, j)) + "/providers/Microsoft.ContainerService/managedClusters/" + http::UriEncode(name);
}

json ClusterState(const json& b) {
  const json& p = Props(b);
  json v = {{"id", JStr(b, "id")}, {"name", JStr(b, "name")}, {"location", JStr(b, "location")},
            {"resource_group_name", IdPart(JStr(b, "id"), "resourceGroups")}};
  CopyIf(v, "version", p, "kubernetesVersion");
  CopyIf(v, "current_version", p, "currentKubernetesVersion");
  CopyIf(v, "dns_prefix", p, "dnsPrefix");
  CopyIf(v, "fqdn", p, "fqdn");
  if (std::string fqdn = JStr(p, "fqdn"); !fqdn.empty()) v["endpoint"] = "https://" + fqdn;
  CopyIf(v, "private_fqdn", p, "privateFQDN");
  CopyIf(v, "node_resource_group", p, "nodeResourceGroup");
  const json& oidc = p.contains("oidcIssuerProfile") ? p["oidcIssuerProfile"] : kEmpty;
  v["oidc_issuer_enabled"] = oidc.value("enabled", false);
  CopyIf(v, "oidc_issuer", oidc, "issuerURL");
  bool wi = false;
  if (p.contains("securityProfile") && p["securityProfile"].contains("workloadIdentity")) {
    wi = p["securityProfile"]["workloadIdentity"].value("enabled", false);
  }
  v["workload_identity_enabled"] = wi;
  if (b.contains("identity") && b["identity"].is_object()) {
    json id = json::object();
    CopyIf(id, "type", b["identity"], "type");
    CopyIf(id, "principal_id", b["identity"], "principalId");
    CopyIf(id, "tenant_id", b["identity"], "tenantId");
    v["identity"] = id;
  }
  if (p.contains("identityProfile") && p["identityProfile"].contains("kubeletidentity")) {
    const json& k = p["identityProfile"]["kubeletidentity"];
    json id = json::object();
    CopyIf(id, "client_id", k, "clientId");
    CopyIf(id, "object_id", k, "objectId");
    CopyIf(id, "user_assigned_identity_id", k, "resourceId");
    v["kubelet_identity"] = id;
  }
  if (p.contains("networkProfile") && p["networkProfile"].is_object()) {
    const json& n = p["networkProfile"];
    json np = json::object();
    for (auto [to, from] : {std::pair{"network_plugin", "networkPlugin"}, {"network_policy", "networkPolicy"},
                            {"service_cidr", "serviceCidr"}, {"dns_service_ip", "dnsServiceIP"},
                            {"pod_cidr", "podCidr"}, {"load_balancer_sku", "loadBalancerSku"},
                            {"outbound_type", "outboundType"}}) {
      CopyIf(np, to, n, from);
    }
    v["network_profile"] = np;
  }
  CopyIf(v, "tags", b, "tags");
  if (p.contains("agentPoolProfiles") && p["agentPoolProfiles"].is_array()) {
    for (const auto& pool : p["agentPoolProfiles"]) {
      if (JStr(pool, "mode") == "System") {
        v["default_node_pool"] = JStr(pool, "name");
        break;
      }
    }
  }
  return v;
}

// Agent pool properties from a node group in state shape (both the inline profile of a new
// cluster and a separate agentPools PUT use them).
json PoolProps(const ArmClient& c, const json& desired, const std::string& pool_name, const json& live_tags) {
  json p = json::object();
  p["vmSize"] = JStr(desired, "instance_type");
  const json& sc = desired.contains("scaling_config") ? desired["scaling_config"] : kEmpty;
  bool autoscale = desired.value("auto_scaling_enabled", sc.contains("min_size") && sc.contains("max_size"));
  p["enableAutoScaling"] = autoscale;
  int64_t count = sc.value("desired_size", sc.value("min_size", int64_t{1}));
  if (autoscale) {
    int64_t mn = sc.value("min_size", int64_t{0}), mx = sc.value("max_size", std::max<int64_t>(mn, 1));
    p["minCount"] = mn;
    p["maxCount"] = mx;
    count = std::clamp(count, mn, mx);
  }
  p["count"] = count;
  p["mode"] = desired.value("mode", desired.value("default_node_pool", false) ? "System" : "User");
  if (desired.contains("labels") && desired["labels"].is_object()) p["nodeLabels"] = desired["labels"];
  if (desired.contains("taints")) p["nodeTaints"] = StrList(desired["taints"]);
  if (desired.contains("os_disk_size_gb")) p["osDiskSizeGB"] = desired["os_disk_size_gb"];
  if (std::string s = JStr(desired, "vnet_subnet_id"); !s.empty()) p["vnetSubnetID"] = s;
  if (std::string s = JStr(desired, "orchestrator_version"); !s.empty()) p["orchestratorVersion"] = s;
  if (desired.contains("zones")) p["availabilityZones"] = StrList(desired["zones"]);
  if (std::string s = JStr(desired, "priority"); !s.empty()) p["scaleSetPriority"] = s;
  if (std::string s = JStr(desired, "eviction_policy"); !s.empty()) p["scaleSetEvictionPolicy"] = s;
  json t = live_tags.is_object() ? live_tags : json::object();
  json nic = c.NicTags("node-pool", desired, pool_name);
  for (const auto& [k, v] : nic.items()) t[k] = v;
  p["tags"] = t;
  return p;
}

Result<std::string> PoolPath(const ArmClient& c, const json& j) {
  if (std::string id = JStr(j, "id"); !id.empty()) return id;
  NIC_ASSIGN_OR_RETURN(std::string name, NameOf(j, "cloud.node_groups"));
  std::string cluster = JStr(j, "cluster_id");
  if (cluster.empty()) {
    std::string cname = JStr(j, "cluster_name");
    if (cname.empty()) {
      return Status::InvalidInput("node group " + name + " names neither cluster_id nor cluster_name")
          .WithSuggestion("record the AKS cluster (cloud.cluster) first, or import the state again");
    }
    cluster = ClusterPath(c, json{{"resource_group_name", RgOf(c, j)}}, cname);
  }
  return cluster + "/agentPools/" + http::UriEncode(name);
}

json PoolState(const json& b) {
  const json& p = Props(b);
  std::string id = JStr(b, "id");
  json v = {{"id", id},
            {"name", JStr(b, "name")},
            {"cluster_id", id.substr(0, id.rfind("/agentPools/"))},
            {"cluster_name", IdPart(id, "managedClusters")},
            {"resource_group_name", IdPart(id, "resourceGroups")}};
  CopyIf(v, "instance_type", p, "vmSize");
  json sc = json::object();
  CopyIf(sc, "min_size", p, "minCount");
  CopyIf(sc, "max_size", p, "maxCount");
  CopyIf(sc, "desired_size", p, "count");
  v["scaling_config"] = sc;
  v["auto_scaling_enabled"] = p.value("enableAutoScaling", false);
  v["labels"] = p.contains("nodeLabels") && p["nodeLabels"].is_object() ? p["nodeLabels"] : json::object();
  v["taints"] = StrList(p.value("nodeTaints", json::array()));
  CopyIf(v, "os_disk_size_gb", p, "osDiskSizeGB");
  CopyIf(v, "vnet_subnet_id", p, "vnetSubnetID");
  CopyIf(v, "orchestrator_version", p, "orchestratorVersion");
  if (p.contains("availabilityZones")) v["zones"] = StrList(p["availabilityZones"]);
  CopyIf(v, "mode", p, "mode");
  CopyIf(v, "priority", p, "scaleSetPriority");
  CopyIf(v, "eviction_policy", p, "scaleSetEvictionPolicy");
  CopyIf(v, "tags", p, "tags");
  if (JStr(p, "mode") == "System") v["default_node_pool"] = true;
  return v;
}

// The desired JSON of a node group with the managed fields the caller left out taken from live
// (an update changes only what the reconciler asked for).
json OverlayPool(const json& live_state, const json& desired) {
  json merged = live_state;
  for (const auto& [k, v] : desired.items()) {
    if (k == "scaling_config" && v.is_object() && merged.contains(k) && merged[k].is_object()) {
      for (const auto& [sk, sv] : v.items()) merged[k][sk] = sv;
    } else {
      merged[k] = v;
    }
  }
  return merged;
}

// ---- user-assigned identities ---------------------------------------------------------------

std::string IdentityPath(const ArmClient& c, const json& j, const std::string& name) {
  if (std::string id = JStr(j, "id"); !id.empty()) return id;
  return c.GroupPath(RgOf(c, j)) + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/" +
         http::UriEncode(name);
}

json IdentityState(const json& b) {
  const json& p = Props(b);
  json v = {{"id", JStr(b, "id")}, {"name", JStr(b, "name")}, {"location", JStr(b, "location")},
            {"resource_group_name", IdPart(JStr(b, "id"), "resourceGroups")}};
  CopyIf(v, "principal_id", p, "principalId");
  CopyIf(v, "client_id", p, "clientId");
  CopyIf(v, "tenant_id", p, "tenantId");
  CopyIf(v, "tags", b, "tags");
  return v;
}

// A read: GET the path, nullopt on 404, state shape otherwise.
Result<std::optional<json>> ReadAs(ArmClient& c, const std::string& path, const std::string& what,
                                   json (*to_state)(const json&)) {
  NIC_ASSIGN_OR_RETURN(auto r, c.Get(path, what));
  if (!r) return std::optional<json>();
  return std::optional<json>(to_state(r->body));
}

}  // namespace

std::vector<CollectionOps> AllCollections() {
  std::vector<CollectionOps> out;

  // ---- cloud.resource_groups
  {
    CollectionOps o;
    o.collection = "cloud.resource_groups";
    o.managed = {"name", "location"};
    o.immutable = {"name", "location"};
    o.read = [](ArmClient& c, const json& r) {
      return ReadAs(c, RgPath(c, r), "resource group " + JStr(r, "name"), RgState);
    };
    o.create = [](ArmClient& c, const json& d) -> Result<json> {
      NIC_ASSIGN_OR_RETURN(std::string name, NameOf(d, "cloud.resource_groups"));
      json body = {{"location", Location(c, d)}, {"tags", c.NicTags("resource-group", d)}};
      NIC_RETURN_IF_ERROR(c.PutAndWait(c.GroupPath(name), body, "resource group " + name).status());
      return json{{"name", name}};
    };
    o.update = [](ArmClient& c, const json& rec, const json& live, const json& d) -> Result<json> {
      json body = {{"location", JStr(live, "location")}, {"tags", MergedTags(c, live, "resource-group", d)}};
      NIC_RETURN_IF_ERROR(c.PutAndWait(RgPath(c, rec), body, "resource group " + JStr(live, "name")).status());
      return rec;
    };
    o.remove = [](ArmClient& c, const json& r) {
      // Deleting a resource group deletes everything in it; the reconciler orders it last.
      return c.DeleteAndWait(RgPath(c, r), "resource group " + JStr(r, "name"));
    };
    out.push_back(std::move(o));
  }

  // ---- cloud.vpc (one virtual network)
  {
    CollectionOps o;
    o.collection = "cloud.vpc";
    o.singleton = true;
    o.managed = {"name", "location", "address_space"};
    o.immutable = {"name", "location"};
    o.read = [](ArmClient& c, const json& r) -> Result<std::optional<json>> {
      NIC_ASSIGN_OR_RETURN(std::string name, NameOf(r, "cloud.vpc"));
      return ReadAs(c, VnetPath(c, r, name), "virtual network " + name, VnetState);
    };
    o.create = [](ArmClient& c, const json& d) -> Result<json> {
      NIC_ASSIGN_OR_RETURN(std::string name, NameOf(d, "cloud.vpc"));
      json space = StrList(d.value("address_space", json::array()));
      if (space.empty() && d.contains("cidr")) space.push_back(d["cidr"]);
      if (space.empty()) {
        return Status::InvalidInput("virtual network " + name + " needs address_space (or cidr)");
      }
      json body = {{"location", Location(c, d)},
                   {"tags", c.NicTags("vpc", d)},
                   {"properties", {{"addressSpace", {{"addressPrefixes", space}}}}}};
      std::string path = VnetPath(c, d, name);
      NIC_ASSIGN_OR_RETURN(auto r, c.PutAndWait(path, body, "virtual network " + name));
      return json{{"id", JStr(r.body, "id")}, {"name", name}};
    };
    o.update = [](ArmClient& c, const json& rec, const json&, const json& d) -> Result<json> {
      NIC_ASSIGN_OR_RETURN(std::string name, NameOf(rec, "cloud.vpc"));
      std::string path = VnetPath(c, rec, name);
      // The PUT carries the live subnets: a virtual network PUT without them would remove them.
      auto build = [&c, d](const json& live) -> Result<json> {
        json props = live.value("properties", json::object());
        json body = {{"location", JStr(live, "location")}, {"tags", MergedTags(c, live, "vpc", d)}};
        json space = StrList(d.value("address_space", json::array()));
        if (space.empty()) space = props["addressSpace"]["addressPrefixes"];
        json subnets = json::array();
        for (const auto& s : props.value("subnets", json::array())) {
          json sp = s.value("properties", json::object());
          json keep = json::object();
          for (const char* k : {"addressPrefix", "addressPrefixes"}) {
            if (sp.contains(k)) keep[k] = sp[k];
          }
          subnets.push_back({{"name", JStr(s, "name")}, {"properties", keep}});
        }
        body["properties"] = {{"addressSpace", {{"addressPrefixes", space}}}, {"subnets", subnets}};
        return body;
      };
      NIC_ASSIGN_OR_RETURN(auto live, c.Get(path, "virtual network " + name));
      if (!live) return Status::NotFound("virtual network " + name + " disappeared");
      NIC_ASSIGN_OR_RETURN(json body, build(live->body));
      NIC_RETURN_IF_ERROR(c.PutAndWait(path, body, "virtual network " + name, build).status());
      return rec;
    };
    o.remove = [](ArmClient& c, const json& r) -> Status {
      NIC_ASSIGN_OR_RETURN(std::string name, NameOf(r, "cloud.vpc"));
      return c.DeleteAndWait(VnetPath(c, r, name), "virtual network " + name);
    };
    out.push_back(std::move(o));
  }

  // ---- cloud.vpc.subnets (subnets carry no tags in Azure; found through their network)
  {
    CollectionOps o;
    o.collection = "cloud.vpc.subnets";
    o.managed = {"name", "address_prefixes"};
    o.immutable = {"name", "virtual_network_name"};
    o.read = [](ArmClient& c, const json& r) {
      return ReadAs(c, SubnetPath(c, r), "subnet " + JStr(r, "name"), SubnetState);
    };
    o.create = [](ArmClient& c, const json& d) -> Result<json> {
      NIC_ASSIGN_OR_RETURN(std::string name, NameOf(d, "cloud.vpc.subnets"));
      if (JStr(d, "virtual_network_name").empty() && JStr(d, "id").empty()) {
        return Status::InvalidInput("subnet " + name + " needs virtual_network_name");
      }
      json body = {{"properties", SubnetProps(d)}};
      NIC_ASSIGN_OR_RETURN(auto r, c.PutAndWait(SubnetPath(c, d), body, "subnet " + name));
      return json{{"id", JStr(r.body, "id")}, {"name", name}};
    };
    o.update = [](ArmClient& c, const json& rec, const json&, const json& d) -> Result<json> {
      json body = {{"properties", SubnetProps(d)}};
      NIC_RETURN_IF_ERROR(c.PutAndWait(SubnetPath(c, rec), body, "subnet " + JStr(rec, "name")).status());
      return rec;
    };
    o.remove = [](ArmClient& c, const json& r) {
      return c.DeleteAndWait(SubnetPath(c, r), "subnet " + JStr(r, "name"));
    };
    out.push_back(std::move(o));
  }

  // ---- cloud.identities (user-assigned managed identities; synchronous in ARM)
  {
    CollectionOps o;
    o.collection = "cloud.identities";
    o.managed = {"name", "location"};
    o.immutable = {"name", "location"};
    o.read = [](ArmClient& c, const json& r) -> Result<std::optional<json>> {
      NIC_ASSIGN_OR_RETURN(std::string name, NameOf(r, "cloud.identities"));
      return ReadAs(c, IdentityPath(c, r, name), "managed identity " + name, IdentityState);
    };
    o.create = [](ArmClient& c, const json& d) -> Result<json> {
      NIC_ASSIGN_OR_RETURN(std::string name, NameOf(d, "cloud.identities"));
      json body = {{"location", Location(c, d)}, {"tags", c.NicTags("identity", d)}};
      NIC_ASSIGN_OR_RETURN(auto r, c.PutAndWait(IdentityPath(c, d, name), body, "managed identity " + name));
      return json{{"id", JStr(r.body, "id")}, {"name", name}};
    };
    o.update = [](ArmClient& c, const json& rec, const json& live, const json& d) -> Result<json> {
      NIC_ASSIGN_OR_RETURN(std::string name, NameOf(rec, "cloud.identities"));
      json body = {{"location", JStr(live, "location")}, {"tags", MergedTags(c, live, "identity", d)}};
      NIC_RETURN_IF_ERROR(c.PutAndWait(IdentityPath(c, rec, name), body, "managed identity " + name).status());
      return rec;
    };
    o.remove = [](ArmClient& c, const json& r) -> Status {
      NIC_ASSIGN_OR_RETURN(std::string name, NameOf(r, "cloud.identities"));
      return c.DeleteAndWait(IdentityPath(c, r, name), "managed identity " + name);
    };
    out.push_back(std::move(o));
  }

  // ---- cloud.cluster (the AKS managed cluster)
  {
    CollectionOps o;
    o.collection = "cloud.cluster";
    o.singleton = true;
    o.managed = {"name", "location", "version", "dns_prefix", "oidc_issuer_enabled", "workload_identity_enabled"};
    o.immutable = {"name", "location", "dns_prefix"};
    o.read = [](ArmClient& c, const json& r) -> Result<std::optional<json>> {
      NIC_ASSIGN_OR_RETURN(std::string name, NameOf(r, "cloud.cluster"));
      return ReadAs(c, ClusterPath(c, r, name), "AKS cluster " + name, ClusterState);
    };
    o.create = [](ArmClient& c, const json& d) -> Result<json> {
      NIC_ASSIGN_OR_RETURN(std::string name, NameOf(d, "cloud.cluster"));
      // AKS cannot exist without a System agent pool: Nebari's first node group ("general")
      // is the cluster's default pool, so the desired cluster carries its settings.
      const json& pool = d.contains("default_node_pool_settings") ? d["default_node_pool_settings"] : kEmpty;
      std::string pool_name = JStr(d, "default_node_pool");
      if (pool_name.empty()) pool_name = JStr(pool, "name");
      if (pool_name.empty() || JStr(pool, "instance_type").empty()) {
        return Status::InvalidInput("AKS cluster " + name +
                                    " needs default_node_pool and default_node_pool_settings.instance_type "
                                    "(the System agent pool it is created with)")
            .WithSuggestion("give the config a node group named general (Nebari's default pool)");
      }
      json pd = pool;
      pd["mode"] = "System";
      json profile = PoolProps(c, pd, pool_name, json::object());
      profile["name"] = pool_name;
      std::string dns = JStr(d, "dns_prefix");
      if (dns.empty()) dns = name;
      json props = {{"dnsPrefix", dns},
                    {"agentPoolProfiles", json::array({profile})},
                    {"oidcIssuerProfile", {{"enabled", d.value("oidc_issuer_enabled", false)}}},
                    {"securityProfile", {{"workloadIdentity", {{"enabled", d.value("workload_identity_enabled", false)}}}}}};
      if (std::string v = JStr(d, "version"); !v.empty()) props["kubernetesVersion"] = v;
      json body = {{"location", Location(c, d)},
                   {"tags", c.NicTags("aks-cluster", d)},
                   {"identity", {{"type", "SystemAssigned"}}},
                   {"properties", props}};
      NIC_ASSIGN_OR_RETURN(auto r, c.PutAndWait(ClusterPath(c, d, name), body, "AKS cluster " + name));
      return json{{"id", JStr(r.body, "id")}, {"name", name}};
    };
    o.update = [](ArmClient& c, const json& rec, const json&, const json& d) -> Result<json> {
      NIC_ASSIGN_OR_RETURN(std::string name, NameOf(rec, "cloud.cluster"));
      std::string path = ClusterPath(c, rec, name);
      // The live cluster with the managed fields changed: a managed cluster PUT is a full
      // replacement, so everything NIC does not manage is sent back as it is.
      auto build = [&c, d](const json& live) -> Result<json> {
        json body = {{"location", JStr(live, "location")}, {"tags", MergedTags(c, live, "aks-cluster", d)}};
        if (live.contains("identity")) body["identity"] = {{"type", live["identity"].value("type", "SystemAssigned")}};
        json props = live.value("properties", json::object());
        for (const char* ro : {"provisioningState", "powerState", "fqdn", "azurePortalFQDN", "currentKubernetesVersion",
                               "maxAgentPools", "identityProfile"}) {
          props.erase(ro);
        }
        if (std::string v = JStr(d, "version"); !v.empty()) props["kubernetesVersion"] = v;
        if (d.contains("oidc_issuer_enabled")) props["oidcIssuerProfile"] = {{"enabled", d["oidc_issuer_enabled"]}};
        if (d.contains("workload_identity_enabled")) {
          props["securityProfile"]["workloadIdentity"] = {{"enabled", d["workload_identity_enabled"]}};
        }
        body["properties"] = props;
        return body;
      };
      NIC_ASSIGN_OR_RETURN(auto live, c.Get(path, "AKS cluster " + name));
      if (!live) return Status::NotFound("AKS cluster " + name + " disappeared");
      NIC_ASSIGN_OR_RETURN(json body, build(live->body));
      NIC_RETURN_IF_ERROR(c.PutAndWait(path, body, "AKS cluster " + name, build).status());
      return rec;
    };
    o.remove = [](ArmClient& c, const json& r) -> Status {
      NIC_ASSIGN_OR_RETURN(std::string name, NameOf(r, "cloud.cluster"));
      return c.DeleteAndWait(ClusterPath(c, r, name), "AKS cluster " + name);
    };
    out.push_back(std::move(o));
  }

  // ---- cloud.node_groups (AKS agent pools)
  {
    CollectionOps o;
    o.collection = "cloud.node_groups";
    o.managed = {"name",   "instance_type", "scaling_config.min_size", "scaling_config.max_size",
                 "auto_scaling_enabled", "labels", "taints", "os_disk_size_gb", "mode"};
    o.immutable = {"name", "instance_type", "os_disk_size_gb", "vnet_subnet_id"};
    o.read = [](ArmClient& c, const json& r) -> Result<std::optional<json>> {
      NIC_ASSIGN_OR_RETURN(std::string path, PoolPath(c, r));
      return ReadAs(c, path, "agent pool " + JStr(r, "name"), PoolState);
    };
    o.create = [](ArmClient& c, const json& d) -> Result<json> {
      NIC_ASSIGN_OR_RETURN(std::string name, NameOf(d, "cloud.node_groups"));
      NIC_ASSIGN_OR_RETURN(std::string path, PoolPath(c, d));
      if (JStr(d, "instance_type").empty()) {
        return Status::InvalidInput("agent pool " + name + " needs instance_type (the VM size)");
      }
      // The default pool exists once the cluster does (it was created inline): this PUT then
      // brings it to the desired settings instead of creating it.
      json body = {{"properties", PoolProps(c, d, name, json::object())}};
      NIC_ASSIGN_OR_RETURN(auto r, c.PutAndWait(path, body, "agent pool " + name));
      return json{{"id", JStr(r.body, "id")}, {"name", name}};
    };
    o.update = [](ArmClient& c, const json& rec, const json&, const json& d) -> Result<json> {
      NIC_ASSIGN_OR_RETURN(std::string name, NameOf(rec, "cloud.node_groups"));
      NIC_ASSIGN_OR_RETURN(std::string path, PoolPath(c, rec));
      auto build = [&c, d, name](const json& live) -> Result<json> {
        json live_state = PoolState(live);
        json want = OverlayPool(live_state, d);
        // A pool switched to autoscaling keeps its node count within the new bounds.
        if (want.contains("scaling_config") && live_state.contains("scaling_config")) {
          want["scaling_config"]["desired_size"] = live_state["scaling_config"].value("desired_size", int64_t{1});
        }
        json tags = live.contains("properties") ? live["properties"].value("tags", json::object()) : json::object();
        return json{{"properties", PoolProps(c, want, name, tags)}};
      };
      NIC_ASSIGN_OR_RETURN(auto live, c.Get(path, "agent pool " + name));
      if (!live) return Status::NotFound("agent pool " + name + " disappeared");
      NIC_ASSIGN_OR_RETURN(json body, build(live->body));
      NIC_RETURN_IF_ERROR(c.PutAndWait(path, body, "agent pool " + name, build).status());
      return rec;
    };
    o.remove = [](ArmClient& c, const json& r) -> Status {
      NIC_ASSIGN_OR_RETURN(std::string path, PoolPath(c, r));
      Status st = c.DeleteAndWait(path, "agent pool " + JStr(r, "name"));
      auto code = st.details().find("arm_code");
      if (!st.ok() && code != st.details().end() && code->second == "OperationNotAllowed") {
        // AKS keeps at least one System pool: Nebari's default pool is part of the cluster
        // (Terraform's default_node_pool) and goes only with it.
        Status refused(ErrorCode::kRefused, st.message());
        for (const auto& [k, v] : st.details()) refused.WithDetail(k, v);
        // Destroy keeps such a pool in the state until the cluster itself is deleted.
        if (JStr(r, "mode") == "System" || r.value("default_node_pool", false)) refused.WithDetail("deleted_with", "cloud.cluster");
        return refused.WithSuggestion("delete the AKS cluster (cloud.cluster) to remove its default pool, or make "
                                      "another pool mode System first");
      }
      return st;
    };
    out.push_back(std::move(o));
  }
  return out;
}

Status DiscoverAll(ArmClient& c, const std::string& cluster, std::vector<ResourceRef>* out) {
  // ARM's $filter takes one tag name/value pair: filter on the cluster name, check managed-by
  // here.
  std::string key = ToAzureTagKey(kTagClusterName);
  std::string filter = "tagName eq '" + key + "' and tagValue eq '" + cluster + "'";
  std::string q = "?$filter=" + http::UriEncode(filter);
  std::string sub = "/subscriptions/" + c.subscription();

  NIC_ASSIGN_OR_RETURN(auto groups, c.List(sub + "/resourcegroups" + q, "resource groups tagged for " + cluster));
  for (const auto& g : groups) {
    if (IsNicTagged(g.value("tags", json::object()), cluster)) {
      out->push_back(MakeRef("cloud.resource_groups", false, RgState(g)));
    }
  }
  NIC_ASSIGN_OR_RETURN(auto found, c.List(sub + "/resources" + q, "resources tagged for " + cluster));
  for (const auto& f : found) {
    if (!IsNicTagged(f.value("tags", json::object()), cluster)) continue;
    std::string type = JStr(f, "type"), id = JStr(f, "id");
    std::string lt = type;
    std::transform(lt.begin(), lt.end(), lt.begin(), [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    if (lt == "microsoft.network/virtualnetworks") {
      NIC_ASSIGN_OR_RETURN(auto v, c.Get(id, "virtual network " + JStr(f, "name")));
      if (!v) continue;
      out->push_back(MakeRef("cloud.vpc", true, VnetState(v->body)));
      NIC_ASSIGN_OR_RETURN(auto subnets, c.List(id + "/subnets", "subnets of " + JStr(f, "name")));
      for (const auto& s : subnets) out->push_back(MakeRef("cloud.vpc.subnets", false, SubnetState(s)));
    } else if (lt == "microsoft.containerservice/managedclusters") {
      NIC_ASSIGN_OR_RETURN(auto v, c.Get(id, "AKS cluster " + JStr(f, "name")));
      if (!v) continue;
      out->push_back(MakeRef("cloud.cluster", true, ClusterState(v->body)));
      NIC_ASSIGN_OR_RETURN(auto pools, c.List(id + "/agentPools", "agent pools of " + JStr(f, "name")));
      for (const auto& p : pools) out->push_back(MakeRef("cloud.node_groups", false, PoolState(p)));
    } else if (lt == "microsoft.managedidentity/userassignedidentities") {
      NIC_ASSIGN_OR_RETURN(auto v, c.Get(id, "managed identity " + JStr(f, "name")));
      if (!v) continue;
      out->push_back(MakeRef("cloud.identities", false, IdentityState(v->body)));
    }
  }
  return Status::OK();
}

ResourceRef MakeRef(const std::string& collection, bool singleton, json value) {
  ResourceRef ref;
  ref.collection = collection;
  ref.address = singleton ? collection : collection + "." + JStr(value, "name");
  ref.value = std::move(value);
  return ref;
}

}  // namespace nic::azureprov

// Compute Engine networking (compute/v1): the VPC network, its regional subnetworks and the
// firewall rules. Inserts, patches and deletes return Operations followed to DONE through
// globalOperations/regionOperations. These resources have no labels in compute/v1, so NIC's tag
// schema is written into `description` and discovery lists every page and reads it back.
#include "providers/gcp/collections.h"

namespace nic::gcpprov {
namespace {

std::string GlobalPath(const GcpClient& c, const std::string& kind, const std::string& name = "") {
  return "projects/" + c.project() + "/global/" + kind + (name.empty() ? "" : "/" + http::UriEncode(name));
}

std::string RegionOf(const GcpClient& c, const json& j) {
  std::string r = LastSegment(JStr(j, "region"));
  return r.empty() ? c.region() : r;
}

std::string SubnetPath(const GcpClient& c, const std::string& region, const std::string& name = "") {
  return "projects/" + c.project() + "/regions/" + region + "/subnetworks" + (name.empty() ? "" : "/" + http::UriEncode(name));
}

// A network given as a name, a relative path or a URL -> the relative path Compute accepts.
std::string NetworkRef(const GcpClient& c, const std::string& network) {
  if (network.find('/') == std::string::npos) return GlobalPath(c, "networks", network);
  auto at = network.find("projects/");
  return at == std::string::npos ? network : network.substr(at);
}

std::string NameOf(const json& recorded) {
  std::string n = JStr(recorded, "name");
  return n.empty() ? LastSegment(JStr(recorded, "id")) : n;
}

Result<std::optional<json>> Get(GcpClient& c, const std::string& method, const std::string& path) {
  auto r = c.Call(Api::kCompute, method, "GET", path);
  if (!r.ok()) {
    if (IsNotFound(r.status())) return std::optional<json>();
    return r.status();
  }
  return std::optional<json>(std::move(r).value());
}

// Inserts, then waits; a 409 alreadyExists is ours when its description carries NIC's schema
// for this cluster (an earlier attempt whose answer was lost).
Status Insert(GcpClient& c, const std::string& method, const std::string& collection_path, const std::string& item_path,
              const json& body, const std::string& what) {
  auto op = c.Call(Api::kCompute, method, "POST", collection_path, body);
  if (op.ok()) return c.WaitCompute(*op, "creating " + what);
  if (!IsAlreadyExists(op.status())) return op.status();
  NIC_ASSIGN_OR_RETURN(auto live, Get(c, method.substr(0, method.rfind('.')) + ".get", item_path));
  if (live && GcpClient::IsNicDescribed(JStr(*live, "description"), c.context().project_name)) return Status::OK();
  return Status::Conflict(what + " already exists and was not created by NIC for " + c.context().project_name)
      .WithSuggestion("import it (nic import --from-terraform) or choose another name");
}

Status Remove(GcpClient& c, const std::string& method, const std::string& path, const std::string& what) {
  return c.RetryConflicts("deleting " + what, [&]() -> Status {
    auto op = c.Call(Api::kCompute, method, "DELETE", path);
    if (!op.ok()) return IsNotFound(op.status()) ? Status::OK() : op.status();
    return c.WaitCompute(*op, "deleting " + what);
  });
}

// ---- networks -------------------------------------------------------------------------------

json NetworkJson(const GcpClient& c, const json& n) {
  json v = json::object();
  v["id"] = GlobalPath(c, "networks", JStr(n, "name"));
  v["name"] = JStr(n, "name");
  v["self_link"] = JStr(n, "selfLink");
  v["auto_create_subnetworks"] = n.value("autoCreateSubnetworks", false);
  v["routing_mode"] = JStr(n.value("routingConfig", json::object()), "routingMode");
  v["project"] = c.project();
  if (auto m = JInt(n, "mtu")) v["mtu"] = *m;
  return v;
}

Result<std::optional<json>> ReadNetwork(GcpClient& c, const json& recorded) {
  NIC_ASSIGN_OR_RETURN(auto n, Get(c, "compute.networks.get", GlobalPath(c, "networks", NameOf(recorded))));
  if (!n) return std::optional<json>();
  return std::optional<json>(NetworkJson(c, *n));
}

Result<json> CreateNetwork(GcpClient& c, const json& desired) {
  std::string name = NameOf(desired);
  json body = {{"name", name},
               {"autoCreateSubnetworks", desired.value("auto_create_subnetworks", false)},
               {"routingConfig", {{"routingMode", JStr(desired, "routing_mode").empty() ? "REGIONAL" : JStr(desired, "routing_mode")}}},
               {"description", c.NicDescription("vpc")}};
  if (auto m = JInt(desired, "mtu")) body["mtu"] = *m;
  NIC_RETURN_IF_ERROR(Insert(c, "compute.networks.insert", GlobalPath(c, "networks"), GlobalPath(c, "networks", name), body,
                             "VPC network " + name));
  return json{{"name", name}};
}

Result<json> UpdateNetwork(GcpClient& c, const json&, const json& live, const json& desired) {
  std::string name = JStr(live, "name");
  std::string mode = JStr(desired, "routing_mode");
  if (!mode.empty() && mode != JStr(live, "routing_mode")) {
    NIC_ASSIGN_OR_RETURN(json op, c.Call(Api::kCompute, "compute.networks.patch", "PATCH", GlobalPath(c, "networks", name),
                                          json{{"routingConfig", {{"routingMode", mode}}}}));
    NIC_RETURN_IF_ERROR(c.WaitCompute(op, "updating VPC network " + name));
  }
  return json{{"name", name}};
}

Status DeleteNetwork(GcpClient& c, const json& recorded) {
  std::string name = NameOf(recorded);
  return Remove(c, "compute.networks.delete", GlobalPath(c, "networks", name), "VPC network " + name);
}

// ---- subnetworks ----------------------------------------------------------------------------

json SubnetJson(const json& s) {
  json v = json::object();
  std::string region = LastSegment(JStr(s, "region"));
  auto at = JStr(s, "selfLink").find("projects/");
  v["id"] = at == std::string::npos ? JStr(s, "name") : JStr(s, "selfLink").substr(at);
  v["name"] = JStr(s, "name");
  v["cidr"] = JStr(s, "ipCidrRange");
  v["region"] = region;
  v["network"] = JStr(s, "network");
  v["self_link"] = JStr(s, "selfLink");
  v["private_ip_google_access"] = s.value("privateIpGoogleAccess", false);
  json ranges = json::array();
  for (const auto& r : s.value("secondaryIpRanges", json::array())) {
    ranges.push_back({{"range_name", JStr(r, "rangeName")}, {"ip_cidr_range", JStr(r, "ipCidrRange")}});
  }
  v["secondary_ip_ranges"] = ranges;
  return v;
}

json ApiRanges(const json& ranges) {
  json out = json::array();
  if (!ranges.is_array()) return out;
  for (const auto& r : ranges) out.push_back({{"rangeName", JStr(r, "range_name")}, {"ipCidrRange", JStr(r, "ip_cidr_range")}});
  return out;
}

Result<std::optional<json>> ReadSubnet(GcpClient& c, const json& recorded) {
  NIC_ASSIGN_OR_RETURN(auto s, Get(c, "compute.subnetworks.get", SubnetPath(c, RegionOf(c, recorded), NameOf(recorded))));
  if (!s) return std::optional<json>();
  return std::optional<json>(SubnetJson(*s));
}

Result<json> CreateSubnet(GcpClient& c, const json& desired) {
  std::string name = NameOf(desired), region = RegionOf(c, desired);
  if (JStr(desired, "network").empty() || JStr(desired, "cidr").empty()) {
    return Status::InvalidInput("cloud.vpc.subnets " + name + " needs network and cidr");
  }
  json body = {{"name", name},
               {"network", NetworkRef(c, JStr(desired, "network"))},
               {"ipCidrRange", JStr(desired, "cidr")},
               {"privateIpGoogleAccess", desired.value("private_ip_google_access", false)},
               {"secondaryIpRanges", ApiRanges(desired.value("secondary_ip_ranges", json::array()))},
               {"description", c.NicDescription("subnet")}};
  NIC_RETURN_IF_ERROR(Insert(c, "compute.subnetworks.insert", SubnetPath(c, region), SubnetPath(c, region, name), body,
                             "subnetwork " + name));
  return json{{"name", name}, {"region", region}};
}

Result<json> UpdateSubnet(GcpClient& c, const json&, const json& live, const json& desired) {
  std::string name = JStr(live, "name"), region = RegionOf(c, live);
  std::string what = "subnetwork " + name;
  NIC_RETURN_IF_ERROR(c.RetryConflicts("updating " + what, [&]() -> Status {
    // subnetworks.patch needs the current fingerprint; a stale one is refused with 412.
    NIC_ASSIGN_OR_RETURN(auto fresh, Get(c, "compute.subnetworks.get", SubnetPath(c, region, name)));
    if (!fresh) return Status::NotFound(what + " no longer exists");
    json now = SubnetJson(*fresh);
    json body = json::object();
    if (desired.contains("private_ip_google_access") &&
        desired["private_ip_google_access"] != now["private_ip_google_access"]) {
      body["privateIpGoogleAccess"] = desired["private_ip_google_access"];
    }
    if (desired.contains("secondary_ip_ranges") && desired["secondary_ip_ranges"] != now["secondary_ip_ranges"]) {
      body["secondaryIpRanges"] = ApiRanges(desired["secondary_ip_ranges"]);
    }
    if (body.empty()) return Status::OK();
    body["fingerprint"] = JStr(*fresh, "fingerprint");
    NIC_ASSIGN_OR_RETURN(json op, c.Call(Api::kCompute, "compute.subnetworks.patch", "PATCH", SubnetPath(c, region, name), body));
    return c.WaitCompute(op, "updating " + what);
  }));
  return json{{"name", name}, {"region", region}};
}

Status DeleteSubnet(GcpClient& c, const json& recorded) {
  std::string name = NameOf(recorded);
  return Remove(c, "compute.subnetworks.delete", SubnetPath(c, RegionOf(c, recorded), name), "subnetwork " + name);
}

// ---- firewalls ------------------------------------------------------------------------------

// Compute {IPProtocol, ports} <-> Terraform/state {protocol, ports}.
json StateRules(const json& rules) {
  json out = json::array();
  if (!rules.is_array()) return out;
  for (const auto& r : rules) out.push_back({{"protocol", JStr(r, "IPProtocol")}, {"ports", r.value("ports", json::array())}});
  return out;
}

json ApiRules(const json& rules) {
  json out = json::array();
  if (!rules.is_array()) return out;
  for (const auto& r : rules) {
    json x = {{"IPProtocol", JStr(r, "protocol")}};
    if (r.contains("ports") && r["ports"].is_array() && !r["ports"].empty()) x["ports"] = r["ports"];
    out.push_back(std::move(x));
  }
  return out;
}

json FirewallJson(const json& f) {
  json v = json::object();
  auto at = JStr(f, "selfLink").find("projects/");
  v["id"] = at == std::string::npos ? JStr(f, "name") : JStr(f, "selfLink").substr(at);
  v["name"] = JStr(f, "name");
  v["network"] = JStr(f, "network");
  v["direction"] = JStr(f, "direction");
  if (auto p = JInt(f, "priority")) v["priority"] = *p;
  v["source_ranges"] = f.value("sourceRanges", json::array());
  v["target_tags"] = f.value("targetTags", json::array());
  v["allow"] = StateRules(f.value("allowed", json::array()));
  v["deny"] = StateRules(f.value("denied", json::array()));
  v["self_link"] = JStr(f, "selfLink");
  return v;
}

Result<std::optional<json>> ReadFirewall(GcpClient& c, const json& recorded) {
  NIC_ASSIGN_OR_RETURN(auto f, Get(c, "compute.firewalls.get", GlobalPath(c, "firewalls", NameOf(recorded))));
  if (!f) return std::optional<json>();
  return std::optional<json>(FirewallJson(*f));
}

Result<json> CreateFirewall(GcpClient& c, const json& desired) {
  std::string name = NameOf(desired);
  if (JStr(desired, "network").empty()) return Status::InvalidInput("cloud.firewalls " + name + " needs a network");
  json body = {{"name", name},
               {"network", NetworkRef(c, JStr(desired, "network"))},
               {"direction", JStr(desired, "direction").empty() ? "INGRESS" : JStr(desired, "direction")},
               {"priority", JInt(desired, "priority").value_or(1000)},
               {"sourceRanges", desired.value("source_ranges", json::array())},
               {"targetTags", desired.value("target_tags", json::array())},
               {"description", c.NicDescription("firewall")}};
  if (json a = ApiRules(desired.value("allow", json::array())); !a.empty()) body["allowed"] = a;
  if (json d = ApiRules(desired.value("deny", json::array())); !d.empty()) body["denied"] = d;
  NIC_RETURN_IF_ERROR(Insert(c, "compute.firewalls.insert", GlobalPath(c, "firewalls"), GlobalPath(c, "firewalls", name),
                             body, "firewall rule " + name));
  return json{{"name", name}};
}

Result<json> UpdateFirewall(GcpClient& c, const json&, const json& live, const json& desired) {
  std::string name = JStr(live, "name");
  json body = json::object();
  if (desired.contains("priority") && desired["priority"] != live.value("priority", json())) body["priority"] = desired["priority"];
  if (desired.contains("source_ranges") && desired["source_ranges"] != live["source_ranges"]) body["sourceRanges"] = desired["source_ranges"];
  if (desired.contains("target_tags") && desired["target_tags"] != live["target_tags"]) body["targetTags"] = desired["target_tags"];
  if (desired.contains("allow") && ApiRules(desired["allow"]) != ApiRules(live["allow"])) body["allowed"] = ApiRules(desired["allow"]);
  if (desired.contains("deny") && ApiRules(desired["deny"]) != ApiRules(live["deny"])) body["denied"] = ApiRules(desired["deny"]);
  if (!body.empty()) {
    NIC_ASSIGN_OR_RETURN(json op, c.Call(Api::kCompute, "compute.firewalls.patch", "PATCH", GlobalPath(c, "firewalls", name), body));
    NIC_RETURN_IF_ERROR(c.WaitCompute(op, "updating firewall rule " + name));
  }
  return json{{"name", name}};
}

Status DeleteFirewall(GcpClient& c, const json& recorded) {
  std::string name = NameOf(recorded);
  return Remove(c, "compute.firewalls.delete", GlobalPath(c, "firewalls", name), "firewall rule " + name);
}

Status DiscoverCompute(GcpClient& c, const std::string& cluster, std::vector<ResourceRef>* out) {
  NIC_ASSIGN_OR_RETURN(auto networks, c.ListAll("compute.networks.list", GlobalPath(c, "networks")));
  for (const auto& n : networks) {
    if (GcpClient::IsNicDescribed(JStr(n, "description"), cluster)) out->push_back(MakeRef("cloud.vpc", true, NetworkJson(c, n)));
  }
  NIC_ASSIGN_OR_RETURN(auto subnets, c.ListAll("compute.subnetworks.list", SubnetPath(c, c.region())));
  for (const auto& s : subnets) {
    if (GcpClient::IsNicDescribed(JStr(s, "description"), cluster)) out->push_back(MakeRef("cloud.vpc.subnets", false, SubnetJson(s)));
  }
  NIC_ASSIGN_OR_RETURN(auto firewalls, c.ListAll("compute.firewalls.list", GlobalPath(c, "firewalls")));
  for (const auto& f : firewalls) {
    if (GcpClient::IsNicDescribed(JStr(f, "description"), cluster)) out->push_back(MakeRef("cloud.firewalls", false, FirewallJson(f)));
  }
  return Status::OK();
}

}  // namespace

std::vector<CollectionOps> ComputeCollections() {
  std::vector<CollectionOps> out;
  out.push_back({"cloud.vpc", true, {"name", "auto_create_subnetworks", "routing_mode"}, {"name", "auto_create_subnetworks"},
                 ReadNetwork, CreateNetwork, UpdateNetwork, DeleteNetwork});
  out.push_back({"cloud.vpc.subnets", false,
                 {"name", "cidr", "region", "network", "private_ip_google_access", "secondary_ip_ranges"},
                 {"name", "cidr", "region", "network"}, ReadSubnet, CreateSubnet, UpdateSubnet, DeleteSubnet});
  out.push_back({"cloud.firewalls", false,
                 {"name", "network", "direction", "priority", "source_ranges", "target_tags", "allow", "deny"},
                 {"name", "network", "direction"}, ReadFirewall, CreateFirewall, UpdateFirewall, DeleteFirewall});
  return out;
}

std::vector<DiscoverFn> ComputeDiscoverers() { return {DiscoverCompute}; }

}  // namespace nic::gcpprov

// EKS (REST-JSON): the cluster and its managed node groups.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <random>

#include "providers/aws/collections.h"

namespace nic::awsprov {
namespace {

using http::UriEncode;

Status IgnoreNotFound(const Status& st) { return IsNotFound(st) ? Status::OK() : st; }

std::string NewToken() {
  static std::atomic<uint64_t> counter{0};
  std::random_device rd;
  return "nic-" + std::to_string(rd()) + "-" + std::to_string(counter++) + "-" +
         std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
}

json StringArray(const std::vector<std::string>& v) {
  json a = json::array();
  for (const auto& s : v) a.push_back(s);
  return a;
}

// Every name of an EKS list call over all pages (maxResults / nextToken).
Result<std::vector<std::string>> EksList(AwsClient& c, const std::string& action, const std::string& path,
                                         const char* key) {
  std::vector<std::string> out;
  std::string token;
  for (int page = 0; page < 100000; ++page) {
    std::string q;
    if (c.page_size() > 0) q += "maxResults=" + std::to_string(c.page_size());
    if (!token.empty()) q += std::string(q.empty() ? "" : "&") + "nextToken=" + UriEncode(token);
    NIC_ASSIGN_OR_RETURN(json j, c.Rest("eks", action, "GET", path + (q.empty() ? "" : "?" + q)));
    if (auto it = j.find(key); it != j.end() && it->is_array()) {
      for (const auto& n : *it) {
        if (n.is_string()) out.push_back(n.get<std::string>());
      }
    }
    std::string next = JStr(j, "nextToken");
    if (next.empty() || next == token) return out;
    token = next;
  }
  return Status::Internal(action + ": pagination did not end");
}

Status EksRetag(AwsClient& c, const std::string& arn, const json& live, const Tags& want, const json& recorded) {
  Tags set;
  std::vector<std::string> remove;
  TagDelta(live, want, recorded, &set, &remove);
  if (!set.empty()) {
    NIC_RETURN_IF_ERROR(c.Rest("eks", "eks:TagResource", "POST", "/tags/" + UriEncode(arn), json{{"tags", TagsJson(set)}}).status());
  }
  if (!remove.empty()) {
    std::string q;
    for (const auto& k : remove) q += (q.empty() ? "?" : "&") + std::string("tagKeys=") + UriEncode(k);
    NIC_RETURN_IF_ERROR(c.Rest("eks", "eks:UntagResource", "DELETE", "/tags/" + UriEncode(arn) + q).status());
  }
  return Status::OK();
}

// Waits for an EKS update (UpdateNodegroupConfig, UpdateClusterVersion...) to finish. The
// response's update may already be final (moto reports "Successful" at once).
Status WaitForUpdate(AwsClient& c, const std::string& cluster, const std::string& nodegroup, const json& response,
                     const std::string& what) {
  const json update = response.value("update", json::object());
  std::string id = JStr(update, "id");
  std::string status = JStr(update, "status");
  if (id.empty() || status == "Successful") return Status::OK();
  std::string path = "/clusters/" + UriEncode(cluster) + "/updates/" + UriEncode(id);
  if (!nodegroup.empty()) path += "?nodegroupName=" + UriEncode(nodegroup);
  json last;
  return c.WaitUntil(what, [&](std::string* state) -> Result<bool> {
    NIC_ASSIGN_OR_RETURN(json j, c.Rest("eks", "eks:DescribeUpdate", "GET", path));
    last = j.value("update", json::object());
    *state = JStr(last, "status");
    if (*state == "Failed" || *state == "Cancelled") {
      return Status::Unavailable(what + " ended " + *state + ": " + last.value("errors", json::array()).dump());
    }
    return *state == "Successful";
  });
}

// ---- Cluster --------------------------------------------------------------------------------

std::string ClusterName(AwsClient& c, const json& rec) {
  std::string n = JStr(rec, "name");
  if (n.empty()) n = JStr(rec, "id");
  return n.empty() ? c.context().project_name : n;
}

json ClusterJson(const json& k) {
  json v = json::object();
  v["id"] = JStr(k, "name");
  v["name"] = JStr(k, "name");
  v["arn"] = JStr(k, "arn");
  v["endpoint"] = JStr(k, "endpoint");
  v["ca_certificate"] = JStr(k.value("certificateAuthority", json::object()), "data");
  v["version"] = JStr(k, "version");
  v["platform_version"] = JStr(k, "platformVersion");
  v["status"] = JStr(k, "status");
  v["oidc_issuer"] = JStr(k.value("identity", json::object()).value("oidc", json::object()), "issuer");
  v["role_arn"] = JStr(k, "roleArn");
  if (k.contains("createdAt")) v["created_at"] = Rfc3339(k["createdAt"]);
  std::vector<std::string> logs;
  for (const auto& l : k.value("logging", json::object()).value("clusterLogging", json::array())) {
    if (l.value("enabled", false)) {
      for (const auto& t : l.value("types", json::array())) logs.push_back(t.get<std::string>());
    }
  }
  v["enabled_cluster_log_types"] = StringArray(Sorted(logs));
  const json r = k.value("resourcesVpcConfig", json::object());
  json vc = json::object();
  vc["subnet_ids"] = StringArray(Sorted(JStrings(r, "subnetIds")));
  vc["security_group_ids"] = StringArray(Sorted(JStrings(r, "securityGroupIds")));
  vc["cluster_security_group_id"] = JStr(r, "clusterSecurityGroupId");
  vc["vpc_id"] = JStr(r, "vpcId");
  vc["endpoint_private_access"] = r.value("endpointPrivateAccess", false);
  vc["endpoint_public_access"] = r.value("endpointPublicAccess", true);
  vc["public_access_cidrs"] = StringArray(Sorted(JStrings(r, "publicAccessCidrs")));
  v["vpc_config"] = std::move(vc);
  for (const auto& e : k.value("encryptionConfig", json::array())) {
    std::string key = JStr(e.value("provider", json::object()), "keyArn");
    if (!key.empty()) v["encryption_key_arn"] = key;
  }
  v["tags"] = k.value("tags", json::object());
  return v;
}

Result<std::optional<json>> DescribeCluster(AwsClient& c, const std::string& name) {
  auto j = c.Rest("eks", "eks:DescribeCluster", "GET", "/clusters/" + UriEncode(name));
  if (!j.ok()) {
    if (IsNotFound(j.status())) return std::optional<json>();
    return j.status();
  }
  if (!j->contains("cluster")) return Status::InvalidInput("eks:DescribeCluster returned no cluster for " + name);
  return std::optional<json>((*j)["cluster"]);
}

Result<std::optional<json>> ReadCluster(AwsClient& c, const json& rec) {
  NIC_ASSIGN_OR_RETURN(auto k, DescribeCluster(c, ClusterName(c, rec)));
  if (!k || JStr(*k, "status") == "DELETING") return std::optional<json>();
  return std::optional<json>(ClusterJson(*k));
}

Status WaitClusterActive(AwsClient& c, const std::string& name) {
  return c.WaitUntil("EKS cluster " + name, [&](std::string* state) -> Result<bool> {
    NIC_ASSIGN_OR_RETURN(auto k, DescribeCluster(c, name));
    *state = k ? JStr(*k, "status") : "not visible yet";
    if (*state == "FAILED") return Status::Unavailable("EKS cluster " + name + " is FAILED");
    return *state == "ACTIVE";
  });
}

json EndpointAccess(const json& vc) {
  json r = json::object();
  if (auto b = JBool(vc, "endpoint_public_access")) r["endpointPublicAccess"] = *b;
  if (auto b = JBool(vc, "endpoint_private_access")) r["endpointPrivateAccess"] = *b;
  if (vc.contains("public_access_cidrs")) r["publicAccessCidrs"] = StringArray(JStrings(vc, "public_access_cidrs"));
  return r;
}

json Logging(const std::vector<std::string>& enabled) {
  static const char* kTypes[] = {"api", "audit", "authenticator", "controllerManager", "scheduler"};
  json on = json::array(), off = json::array();
  for (const char* t : kTypes) {
    (std::find(enabled.begin(), enabled.end(), t) != enabled.end() ? on : off).push_back(t);
  }
  json list = json::array();
  if (!on.empty()) list.push_back({{"types", on}, {"enabled", true}});
  if (!off.empty()) list.push_back({{"types", off}, {"enabled", false}});
  return json{{"clusterLogging", list}};
}

Result<json> CreateCluster(AwsClient& c, const json& d, const std::string& token) {
  std::string name = ClusterName(c, d);
  std::string role = JStr(d, "role_arn");
  const json vc = d.value("vpc_config", json::object());
  if (role.empty() || JStrings(vc, "subnet_ids").empty()) {
    return Status::InvalidInput("cloud.cluster: \"role_arn\" and \"vpc_config.subnet_ids\" are required to create " + name);
  }
  json body = {{"name", name}, {"roleArn", role}, {"clientRequestToken", token}};
  if (std::string v = JStr(d, "version"); !v.empty()) body["version"] = v;
  json rvc = EndpointAccess(vc);
  rvc["subnetIds"] = StringArray(JStrings(vc, "subnet_ids"));
  if (vc.contains("security_group_ids")) rvc["securityGroupIds"] = StringArray(JStrings(vc, "security_group_ids"));
  body["resourcesVpcConfig"] = rvc;
  if (d.contains("enabled_cluster_log_types")) body["logging"] = Logging(JStrings(d, "enabled_cluster_log_types"));
  if (std::string key = JStr(d, "encryption_key_arn"); !key.empty()) {
    body["encryptionConfig"] = json::array({{{"resources", {"secrets"}}, {"provider", {{"keyArn", key}}}}});
  }
  body["tags"] = TagsJson(c.NicTags("eks-cluster", d));
  auto r = c.Rest("eks", "eks:CreateCluster", "POST", "/clusters", body);
  if (!r.ok() && r.status().code() != ErrorCode::kConflict) return r.status();
  if (!r.ok()) {
    // ResourceInUse: a retried create that went through, or a cluster that is not ours.
    NIC_ASSIGN_OR_RETURN(auto k, DescribeCluster(c, name));
    if (!k || !IsNicTagged(k->value("tags", json::object()), c.context().project_name)) return r.status();
  }
  NIC_RETURN_IF_ERROR(WaitClusterActive(c, name));
  return json{{"id", name}, {"name", name}};
}

Result<json> UpdateCluster(AwsClient& c, const json& rec, const json& live, const json& d) {
  std::string name = JStr(live, "name");
  std::string want_version = JStr(d, "version");
  if (!want_version.empty() && want_version != JStr(live, "version")) {
    if (!c.options().allow_cluster_version_update) {
      return Status::Refused("changing the Kubernetes version of EKS cluster " + name + " from " + JStr(live, "version") +
                             " to " + want_version + " is refused: NIC v1.0 keeps what exists")
          .WithSuggestion("keep kubernetes_version at " + JStr(live, "version") +
                          " in nebari-config.yaml, or allow cluster version updates explicitly");
    }
    NIC_ASSIGN_OR_RETURN(json r, c.Rest("eks", "eks:UpdateClusterVersion", "POST", "/clusters/" + UriEncode(name) + "/updates",
                                        json{{"version", want_version}, {"clientRequestToken", NewToken()}}));
    NIC_RETURN_IF_ERROR(WaitForUpdate(c, name, "", r, "EKS cluster " + name + " version update"));
    NIC_RETURN_IF_ERROR(WaitClusterActive(c, name));
  }
  const json dvc = d.value("vpc_config", json::object());
  const json lvc = live.value("vpc_config", json::object());
  json access = EndpointAccess(dvc);
  bool access_differs = false;
  for (const char* k : {"endpoint_public_access", "endpoint_private_access"}) {
    if (dvc.contains(k) && JBool(dvc, k) != JBool(lvc, k)) access_differs = true;
  }
  if (dvc.contains("public_access_cidrs") && Sorted(JStrings(dvc, "public_access_cidrs")) != JStrings(lvc, "public_access_cidrs")) {
    access_differs = true;
  }
  if (access_differs) {
    NIC_ASSIGN_OR_RETURN(json r, c.Rest("eks", "eks:UpdateClusterConfig", "POST", "/clusters/" + UriEncode(name) + "/update-config",
                                        json{{"resourcesVpcConfig", access}, {"clientRequestToken", NewToken()}}));
    NIC_RETURN_IF_ERROR(WaitForUpdate(c, name, "", r, "EKS cluster " + name + " endpoint access update"));
    NIC_RETURN_IF_ERROR(WaitClusterActive(c, name));
  }
  if (d.contains("enabled_cluster_log_types") &&
      Sorted(JStrings(d, "enabled_cluster_log_types")) != JStrings(live, "enabled_cluster_log_types")) {
    NIC_ASSIGN_OR_RETURN(json r, c.Rest("eks", "eks:UpdateClusterConfig", "POST", "/clusters/" + UriEncode(name) + "/update-config",
                                        json{{"logging", Logging(JStrings(d, "enabled_cluster_log_types"))},
                                             {"clientRequestToken", NewToken()}}));
    NIC_RETURN_IF_ERROR(WaitForUpdate(c, name, "", r, "EKS cluster " + name + " logging update"));
    NIC_RETURN_IF_ERROR(WaitClusterActive(c, name));
  }
  NIC_RETURN_IF_ERROR(EksRetag(c, JStr(live, "arn"), live.value("tags", json::object()), c.NicTags("eks-cluster", d), rec));
  return json{{"id", name}, {"name", name}};
}

Status DeleteCluster(AwsClient& c, const json& rec) {
  std::string name = ClusterName(c, rec);
  NIC_RETURN_IF_ERROR(IgnoreNotFound(c.Rest("eks", "eks:DeleteCluster", "DELETE", "/clusters/" + UriEncode(name)).status()));
  return c.WaitUntil("deleting EKS cluster " + name, [&](std::string* state) -> Result<bool> {
    NIC_ASSIGN_OR_RETURN(auto k, DescribeCluster(c, name));
    *state = k ? JStr(*k, "status") : "gone";
    return !k.has_value();
  });
}

// ---- Node groups ----------------------------------------------------------------------------

struct NgId {
  std::string cluster;
  std::string name;
};

NgId NodegroupId(AwsClient& c, const json& rec) {
  NgId id{JStr(rec, "cluster_name"), JStr(rec, "name")};
  std::string tf = JStr(rec, "id");  // Terraform: "<cluster>:<nodegroup>"
  if (size_t colon = tf.find(':'); colon != std::string::npos) {
    if (id.cluster.empty()) id.cluster = tf.substr(0, colon);
    if (id.name.empty()) id.name = tf.substr(colon + 1);
  }
  if (id.cluster.empty()) id.cluster = c.context().project_name;
  return id;
}

std::string NgPath(const NgId& id) { return "/clusters/" + UriEncode(id.cluster) + "/node-groups/" + UriEncode(id.name); }

// Kubernetes spells taint effects NoSchedule; the EKS API NO_SCHEDULE.
std::string TaintEffect(std::string e) {
  if (e == "NoSchedule") return "NO_SCHEDULE";
  if (e == "NoExecute") return "NO_EXECUTE";
  if (e == "PreferNoSchedule") return "PREFER_NO_SCHEDULE";
  return e;
}

json CanonicalTaints(const json& taints) {
  json out = json::array();
  if (!taints.is_array()) return out;
  for (const auto& t : taints) {
    json x = {{"key", JStr(t, "key")}, {"effect", TaintEffect(JStr(t, "effect"))}};
    if (t.contains("value") && t["value"].is_string()) x["value"] = t["value"];
    out.push_back(std::move(x));
  }
  std::sort(out.begin(), out.end(), [](const json& a, const json& b) { return a.dump() < b.dump(); });
  return out;
}

// j.value(key, fallback) without copying the member: the member when present (even null), else
// `fallback`.
const json& ValueOr(const json& j, const char* key, const json& fallback) {
  auto it = j.find(key);
  return it != j.end() ? *it : fallback;
}

json NodegroupJson(const json& n) {
  json v = json::object();
  v["id"] = JStr(n, "clusterName") + ":" + JStr(n, "nodegroupName");
  v["name"] = JStr(n, "nodegroupName");
  v["arn"] = JStr(n, "nodegroupArn");
  v["cluster_name"] = JStr(n, "clusterName");
  v["instance_types"] = StringArray(JStrings(n, "instanceTypes"));
  v["ami_type"] = JStr(n, "amiType");
  v["capacity_type"] = JStr(n, "capacityType");
  if (auto d = JInt(n, "diskSize")) v["disk_size"] = *d;
  static const json kObject = json::object(), kArray = json::array();
  const json& s = ValueOr(n, "scalingConfig", kObject);
  json sc = json::object();
  for (auto [from, to] : {std::pair{"minSize", "min_size"}, std::pair{"maxSize", "max_size"},
                          std::pair{"desiredSize", "desired_size"}}) {
    if (auto x = JInt(s, from)) sc[to] = *x;
  }
  v["scaling_config"] = std::move(sc);
  v["subnet_ids"] = StringArray(Sorted(JStrings(n, "subnets")));
  v["labels"] = ValueOr(n, "labels", kObject);
  v["taints"] = CanonicalTaints(ValueOr(n, "taints", kArray));
  v["node_role_arn"] = JStr(n, "nodeRole");
  v["status"] = JStr(n, "status");
  v["version"] = JStr(n, "version");
  v["release_version"] = JStr(n, "releaseVersion");
  if (n.contains("launchTemplate") && n["launchTemplate"].is_object()) {
    const json& lt = n["launchTemplate"];
    json l = json::object();
    for (const char* k : {"id", "name", "version"}) {
      if (std::string s = JStr(lt, k); !s.empty()) l[k] = s;
    }
    v["launch_template"] = std::move(l);
  }
  const json asgs = n.value("resources", json::object()).value("autoScalingGroups", json::array());
  if (!asgs.empty()) v["autoscaling_group"] = JStr(asgs[0], "name");
  v["tags"] = ValueOr(n, "tags", kObject);
  return v;
}

Result<std::optional<json>> DescribeNodegroup(AwsClient& c, const NgId& id) {
  auto j = c.Rest("eks", "eks:DescribeNodegroup", "GET", NgPath(id));
  if (!j.ok()) {
    if (IsNotFound(j.status())) return std::optional<json>();
    return j.status();
  }
  if (!j->contains("nodegroup")) return Status::InvalidInput("eks:DescribeNodegroup returned no nodegroup for " + id.name);
  return std::optional<json>(std::move((*j)["nodegroup"]));
}

Result<std::optional<json>> ReadNodegroup(AwsClient& c, const json& rec) {
  NgId id = NodegroupId(c, rec);
  if (id.name.empty()) return Status::InvalidInput("cloud.node_groups: the resource has no name");
  NIC_ASSIGN_OR_RETURN(auto n, DescribeNodegroup(c, id));
  if (!n || JStr(*n, "status") == "DELETING") return std::optional<json>();
  return std::optional<json>(NodegroupJson(*n));
}

std::string HealthIssues(const json& n) {
  return n.value("health", json::object()).value("issues", json::array()).dump();
}

Status WaitNodegroupActive(AwsClient& c, const NgId& id, const std::string& what) {
  return c.WaitUntil(what, [&](std::string* state) -> Result<bool> {
    NIC_ASSIGN_OR_RETURN(auto n, DescribeNodegroup(c, id));
    *state = n ? JStr(*n, "status") : "not visible yet";
    if (*state == "CREATE_FAILED" || *state == "DEGRADED") {
      return Status::Unavailable("EKS node group " + id.name + " is " + *state + ": " + HealthIssues(*n));
    }
    return *state == "ACTIVE";
  });
}

json ScalingBody(const json& sc) {
  json b = json::object();
  for (auto [from, to] : {std::pair{"min_size", "minSize"}, std::pair{"max_size", "maxSize"},
                          std::pair{"desired_size", "desiredSize"}}) {
    if (auto x = JInt(sc, from)) b[to] = *x;
  }
  return b;
}

Result<json> CreateNodegroup(AwsClient& c, const json& d, const std::string& token) {
  NgId id = NodegroupId(c, d);
  std::string role = JStr(d, "node_role_arn");
  if (id.name.empty() || role.empty() || JStrings(d, "subnet_ids").empty()) {
    return Status::InvalidInput("cloud.node_groups: \"name\", \"node_role_arn\" and \"subnet_ids\" are required");
  }
  json body = {{"nodegroupName", id.name},
               {"nodeRole", role},
               {"subnets", StringArray(JStrings(d, "subnet_ids"))},
               {"clientRequestToken", token}};
  if (d.contains("scaling_config")) body["scalingConfig"] = ScalingBody(d["scaling_config"]);
  if (d.contains("instance_types")) body["instanceTypes"] = StringArray(JStrings(d, "instance_types"));
  for (auto [from, to] : {std::pair{"ami_type", "amiType"}, std::pair{"capacity_type", "capacityType"},
                          std::pair{"version", "version"}, std::pair{"release_version", "releaseVersion"}}) {
    if (std::string s = JStr(d, from); !s.empty()) body[to] = s;
  }
  if (auto disk = JInt(d, "disk_size")) body["diskSize"] = *disk;
  if (d.contains("labels") && d["labels"].is_object()) body["labels"] = d["labels"];
  if (d.contains("taints")) body["taints"] = CanonicalTaints(d["taints"]);
  if (d.contains("launch_template") && d["launch_template"].is_object()) {
    json lt = json::object();
    for (const char* k : {"id", "name", "version"}) {
      if (std::string s = JStr(d["launch_template"], k); !s.empty()) lt[k] = s;
    }
    body["launchTemplate"] = lt;
  }
  body["tags"] = TagsJson(c.NicTags("node-pool", d, id.name));
  auto r = c.Rest("eks", "eks:CreateNodegroup", "POST", "/clusters/" + UriEncode(id.cluster) + "/node-groups", body);
  if (!r.ok()) {
    if (r.status().code() != ErrorCode::kConflict) return r.status();
    NIC_ASSIGN_OR_RETURN(auto n, DescribeNodegroup(c, id));
    if (!n || !IsNicTagged(n->value("tags", json::object()), c.context().project_name)) return r.status();
  }
  NIC_RETURN_IF_ERROR(WaitNodegroupActive(c, id, "EKS node group " + id.name));
  return json{{"id", id.cluster + ":" + id.name}, {"name", id.name}, {"cluster_name", id.cluster}};
}

Result<json> UpdateNodegroup(AwsClient& c, const json& rec, const json& live, const json& d) {
  NgId id{JStr(live, "cluster_name"), JStr(live, "name")};
  json ident = {{"id", id.cluster + ":" + id.name}, {"name", id.name}, {"cluster_name", id.cluster}};
  std::string want_version = JStr(d, "version");
  if (!want_version.empty() && want_version != JStr(live, "version")) {
    if (!c.options().allow_cluster_version_update) {
      return Status::Refused("changing the Kubernetes version of EKS node group " + id.name + " from " +
                             JStr(live, "version") + " to " + want_version + " is refused: NIC v1.0 keeps what exists")
          .WithSuggestion("keep the node group's version as it is, or allow version updates explicitly");
    }
    NIC_ASSIGN_OR_RETURN(json r, c.Rest("eks", "eks:UpdateNodegroupVersion", "POST", NgPath(id) + "/update-version",
                                        json{{"version", want_version}, {"clientRequestToken", NewToken()}}));
    NIC_RETURN_IF_ERROR(WaitForUpdate(c, id.cluster, id.name, r, "EKS node group " + id.name + " version update"));
    NIC_RETURN_IF_ERROR(WaitNodegroupActive(c, id, "EKS node group " + id.name));
  }

  json body = json::object();
  if (d.contains("scaling_config")) {
    json want = live.value("scaling_config", json::object());
    for (const auto& [k, v] : d["scaling_config"].items()) want[k] = v;
    if (want != live.value("scaling_config", json::object())) body["scalingConfig"] = ScalingBody(want);
  }
  if (d.contains("labels") && d["labels"].is_object()) {
    const json have = live.value("labels", json::object());
    json add = json::object(), remove = json::array();
    for (const auto& [k, v] : d["labels"].items()) {
      if (!have.contains(k) || have[k] != v) add[k] = v;
    }
    for (const auto& [k, v] : have.items()) {
      (void)v;
      if (!d["labels"].contains(k)) remove.push_back(k);
    }
    json labels = json::object();
    if (!add.empty()) labels["addOrUpdateLabels"] = add;
    if (!remove.empty()) labels["removeLabels"] = remove;
    if (!labels.empty()) body["labels"] = labels;
  }
  if (d.contains("taints")) {
    json want = CanonicalTaints(d["taints"]), have = live.value("taints", json::array());
    json add = json::array(), remove = json::array();
    for (const auto& t : want) {
      if (std::find(have.begin(), have.end(), t) == have.end()) add.push_back(t);
    }
    for (const auto& t : have) {
      if (std::find(want.begin(), want.end(), t) != want.end()) continue;
      // A taint whose value changes is re-added under the same key+effect, not removed.
      bool replaced = std::any_of(add.begin(), add.end(), [&](const json& a) {
        return a["key"] == t["key"] && a["effect"] == t["effect"];
      });
      if (!replaced) remove.push_back(t);
    }
    json taints = json::object();
    if (!add.empty()) taints["addOrUpdateTaints"] = add;
    if (!remove.empty()) taints["removeTaints"] = remove;
    if (!taints.empty()) body["taints"] = taints;
  }
  if (!body.empty()) {
    body["clientRequestToken"] = NewToken();
    NIC_ASSIGN_OR_RETURN(json r, c.Rest("eks", "eks:UpdateNodegroupConfig", "POST", NgPath(id) + "/update-config", body));
    NIC_RETURN_IF_ERROR(WaitForUpdate(c, id.cluster, id.name, r, "EKS node group " + id.name + " config update"));
    NIC_RETURN_IF_ERROR(WaitNodegroupActive(c, id, "EKS node group " + id.name));
  }
  if (d.contains("tags")) {
    NIC_RETURN_IF_ERROR(EksRetag(c, JStr(live, "arn"), live.value("tags", json::object()),
                                 c.NicTags("node-pool", d, id.name), rec));
  }
  return ident;
}

Status DeleteNodegroup(AwsClient& c, const json& rec) {
  NgId id = NodegroupId(c, rec);
  if (id.name.empty()) return Status::OK();
  NIC_RETURN_IF_ERROR(IgnoreNotFound(c.Rest("eks", "eks:DeleteNodegroup", "DELETE", NgPath(id)).status()));
  return c.WaitUntil("deleting EKS node group " + id.name, [&](std::string* state) -> Result<bool> {
    NIC_ASSIGN_OR_RETURN(auto n, DescribeNodegroup(c, id));
    *state = n ? JStr(*n, "status") : "gone";
    if (*state == "DELETE_FAILED") return Status::Unavailable("EKS node group " + id.name + " is DELETE_FAILED: " + HealthIssues(*n));
    return !n.has_value();
  });
}

// ---- Discovery ------------------------------------------------------------------------------

// ListClusters has no tag filter: each cluster is described (concurrently) and kept when its
// tags name this cluster; then the same for its node groups. O(clusters + node groups).
Status DiscoverEks(AwsClient& c, const std::string& cluster, std::vector<ResourceRef>* out) {
  NIC_ASSIGN_OR_RETURN(auto names, EksList(c, "eks:ListClusters", "/clusters", "clusters"));
  std::vector<Result<std::optional<json>>> clusters(names.size(), Status::Internal("not read"));
  c.ParallelFor(names.size(), [&](size_t i) { clusters[i] = DescribeCluster(c, names[i]); });
  std::vector<json> mine;
  for (auto& k : clusters) {
    NIC_RETURN_IF_ERROR(k.status());
    if (k.value() && IsNicTagged(k.value()->value("tags", json::object()), cluster)) mine.push_back(*k.value());
  }
  for (const json& k : mine) {
    out->push_back(MakeRef("cloud.cluster", true, ClusterJson(k)));
    std::string name = JStr(k, "name");
    NIC_ASSIGN_OR_RETURN(auto groups, EksList(c, "eks:ListNodegroups", "/clusters/" + UriEncode(name) + "/node-groups", "nodegroups"));
    std::vector<Result<std::optional<json>>> found(groups.size(), Status::Internal("not read"));
    c.ParallelFor(groups.size(), [&](size_t i) { found[i] = DescribeNodegroup(c, NgId{name, groups[i]}); });
    for (auto& n : found) {
      NIC_RETURN_IF_ERROR(n.status());
      if (n.value() && IsNicTagged(n.value()->value("tags", json::object()), cluster)) {
        out->push_back(MakeRef("cloud.node_groups", false, NodegroupJson(*n.value())));
      }
    }
  }
  return Status::OK();
}

}  // namespace

std::vector<CollectionOps> EksCollections() {
  std::vector<CollectionOps> out;
  out.push_back({"cloud.cluster", true,
                 {"name", "version", "role_arn", "vpc_config.subnet_ids", "vpc_config.security_group_ids",
                  "vpc_config.endpoint_private_access", "vpc_config.endpoint_public_access",
                  "vpc_config.public_access_cidrs", "enabled_cluster_log_types", "encryption_key_arn", "tags"},
                 {"name", "role_arn", "vpc_config.subnet_ids", "vpc_config.security_group_ids", "encryption_key_arn"},
                 ReadCluster, CreateCluster, UpdateCluster, DeleteCluster});
  out.push_back({"cloud.node_groups", false,
                 {"name", "cluster_name", "instance_types", "ami_type", "capacity_type", "disk_size", "scaling_config",
                  "subnet_ids", "labels", "taints", "node_role_arn", "version", "launch_template", "tags"},
                 {"name", "cluster_name", "instance_types", "ami_type", "capacity_type", "disk_size", "subnet_ids",
                  "node_role_arn", "launch_template"},
                 ReadNodegroup, CreateNodegroup, UpdateNodegroup, DeleteNodegroup});
  return out;
}

std::vector<DiscoverFn> EksDiscoverers() { return {DiscoverEks}; }

}  // namespace nic::awsprov

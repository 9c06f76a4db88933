// EFS (REST-JSON, API version 2015-02-01): the shared file system (cloud.storage, type efs) and
// its mount targets.
#include <algorithm>

#include "providers/aws/collections.h"

namespace nic::awsprov {
namespace {

using http::UriEncode;

constexpr const char* kApi = "/2015-02-01";

Status IgnoreNotFound(const Status& st) { return IsNotFound(st) ? Status::OK() : st; }

json TagList(const Tags& tags) {
  json a = json::array();
  for (const auto& [k, v] : tags) a.push_back({{"Key", k}, {"Value", v}});
  return a;
}

json TagObject(const json& list) {
  json t = json::object();
  if (!list.is_array()) return t;
  for (const auto& e : list) t[JStr(e, "Key")] = JStr(e, "Value");
  return t;
}

// Every item of an EFS list call over all pages (MaxItems / Marker -> NextMarker).
Result<std::vector<json>> EfsList(AwsClient& c, const std::string& action, const std::string& path,
                                  const std::string& query, const char* key) {
  std::vector<json> out;
  std::string marker;
  for (int page = 0; page < 100000; ++page) {
    std::string q = query;
    auto add = [&](const std::string& kv) { q += (q.empty() ? "" : "&") + kv; };
    if (c.page_size() > 0) add("MaxItems=" + std::to_string(c.page_size()));
    if (!marker.empty()) add("Marker=" + UriEncode(marker));
    NIC_ASSIGN_OR_RETURN(json j, c.Rest("efs", action, "GET", std::string(kApi) + path + (q.empty() ? "" : "?" + q)));
    if (auto it = j.find(key); it != j.end() && it->is_array()) {
      for (auto& e : *it) out.push_back(std::move(e));
    }
    std::string next = JStr(j, "NextMarker");
    if (next.empty() || next == marker) return out;
    marker = next;
  }
  return Status::Internal(action + ": pagination did not end");
}

// ---- File system ----------------------------------------------------------------------------

json FsJson(AwsClient& c, const json& f) {
  json v = json::object();
  std::string id = JStr(f, "FileSystemId");
  v["id"] = id;
  v["type"] = "efs";
  v["arn"] = JStr(f, "FileSystemArn");
  v["creation_token"] = JStr(f, "CreationToken");
  v["dns_name"] = id + ".efs." + c.region() + ".amazonaws.com";
  if (std::string k = JStr(f, "KmsKeyId"); !k.empty()) v["kms_key_id"] = k;
  v["performance_mode"] = JStr(f, "PerformanceMode");
  v["throughput_mode"] = JStr(f, "ThroughputMode");
  v["encrypted"] = f.value("Encrypted", false);
  if (f.contains("ProvisionedThroughputInMibps") && f["ProvisionedThroughputInMibps"].is_number()) {
    v["provisioned_throughput_in_mibps"] = f["ProvisionedThroughputInMibps"];
  }
  v["tags"] = TagObject(f.value("Tags", json::array()));
  return v;
}

bool FsGone(const json& f) {
  std::string s = JStr(f, "LifeCycleState");
  return s == "deleted" || s == "deleting";
}

Result<std::optional<json>> DescribeFs(AwsClient& c, const std::string& id) {
  auto j = c.Rest("efs", "elasticfilesystem:DescribeFileSystems", "GET",
                  std::string(kApi) + "/file-systems?FileSystemId=" + UriEncode(id));
  if (!j.ok()) {
    if (IsNotFound(j.status())) return std::optional<json>();
    return j.status();
  }
  for (const auto& f : j->value("FileSystems", json::array())) return std::optional<json>(f);
  return std::optional<json>();
}

Result<std::optional<json>> ReadFs(AwsClient& c, const json& rec) {
  std::string id = JStr(rec, "id");
  if (id.empty()) return Status::InvalidInput("cloud.storage: the resource has no \"id\"");
  if (std::string type = JStr(rec, "type"); !type.empty() && type != "efs") {
    return Status::Unsupported("cloud.storage of type " + type + " is not read by the AWS provider (only efs)");
  }
  NIC_ASSIGN_OR_RETURN(auto f, DescribeFs(c, id));
  if (!f || FsGone(*f)) return std::optional<json>();
  return std::optional<json>(FsJson(c, *f));
}

Status WaitFs(AwsClient& c, const std::string& id) {
  return c.WaitUntil("EFS file system " + id, [&](std::string* state) -> Result<bool> {
    NIC_ASSIGN_OR_RETURN(auto f, DescribeFs(c, id));
    *state = f ? JStr(*f, "LifeCycleState") : "not visible yet";
    if (*state == "error") return Status::Unavailable("EFS file system " + id + " is in state error");
    return *state == "available";
  });
}

Result<json> CreateFs(AwsClient& c, const json& d, const std::string& token) {
  // The creation token is EFS's idempotency key: a retried create returns FileSystemAlreadyExists
  // with the same file system.
  std::string creation = JStr(d, "creation_token");
  if (creation.empty()) creation = token;
  json body = {{"CreationToken", creation}};
  if (std::string s = JStr(d, "performance_mode"); !s.empty()) body["PerformanceMode"] = s;
  if (std::string s = JStr(d, "throughput_mode"); !s.empty()) body["ThroughputMode"] = s;
  if (d.contains("provisioned_throughput_in_mibps") && d["provisioned_throughput_in_mibps"].is_number()) {
    body["ProvisionedThroughputInMibps"] = d["provisioned_throughput_in_mibps"];
  }
  if (auto e = JBool(d, "encrypted")) body["Encrypted"] = *e;
  if (std::string s = JStr(d, "kms_key_id"); !s.empty()) body["KmsKeyId"] = s;
  body["Tags"] = TagList(c.NicTags("efs", d));
  std::string id;
  auto r = c.Rest("efs", "elasticfilesystem:CreateFileSystem", "POST", std::string(kApi) + "/file-systems", body);
  if (r.ok()) {
    id = JStr(*r, "FileSystemId");
  } else {
    if (r.status().code() != ErrorCode::kConflict) return r.status();
    NIC_ASSIGN_OR_RETURN(auto found, EfsList(c, "elasticfilesystem:DescribeFileSystems", "/file-systems",
                                             "CreationToken=" + UriEncode(creation), "FileSystems"));
    if (found.empty() || !IsNicTagged(TagObject(found[0].value("Tags", json::array())), c.context().project_name)) {
      return r.status();
    }
    id = JStr(found[0], "FileSystemId");
  }
  if (id.empty()) return Status::InvalidInput("elasticfilesystem:CreateFileSystem returned no FileSystemId");
  NIC_RETURN_IF_ERROR(WaitFs(c, id));
  return json{{"id", id}, {"type", "efs"}};
}

Result<json> UpdateFs(AwsClient& c, const json& rec, const json& live, const json& d) {
  std::string id = JStr(live, "id");
  json body = json::object();
  if (std::string s = JStr(d, "throughput_mode"); !s.empty() && s != JStr(live, "throughput_mode")) {
    body["ThroughputMode"] = s;
  }
  if (d.contains("provisioned_throughput_in_mibps") && d["provisioned_throughput_in_mibps"].is_number() &&
      d["provisioned_throughput_in_mibps"] != live.value("provisioned_throughput_in_mibps", json())) {
    body["ProvisionedThroughputInMibps"] = d["provisioned_throughput_in_mibps"];
  }
  if (!body.empty()) {
    NIC_RETURN_IF_ERROR(c.Rest("efs", "elasticfilesystem:UpdateFileSystem", "PUT",
                               std::string(kApi) + "/file-systems/" + UriEncode(id), body)
                            .status());
    NIC_RETURN_IF_ERROR(WaitFs(c, id));
  }
  Tags set;
  std::vector<std::string> remove;
  TagDelta(live.value("tags", json::object()), c.NicTags("efs", d), rec, &set, &remove);
  if (!set.empty()) {
    NIC_RETURN_IF_ERROR(c.Rest("efs", "elasticfilesystem:TagResource", "POST",
                               std::string(kApi) + "/resource-tags/" + UriEncode(id), json{{"Tags", TagList(set)}})
                            .status());
  }
  if (!remove.empty()) {
    std::string q;
    for (const auto& k : remove) q += (q.empty() ? "?" : "&") + std::string("tagKeys=") + UriEncode(k);
    NIC_RETURN_IF_ERROR(
        c.Rest("efs", "elasticfilesystem:UntagResource", "DELETE", std::string(kApi) + "/resource-tags/" + UriEncode(id) + q)
            .status());
  }
  return json{{"id", id}, {"type", "efs"}};
}

Status DeleteFs(AwsClient& c, const json& rec) {
  std::string id = JStr(rec, "id");
  if (id.empty()) return Status::OK();
  NIC_RETURN_IF_ERROR(IgnoreNotFound(
      c.Rest("efs", "elasticfilesystem:DeleteFileSystem", "DELETE", std::string(kApi) + "/file-systems/" + UriEncode(id)).status()));
  return c.WaitUntil("deleting EFS file system " + id, [&](std::string* state) -> Result<bool> {
    NIC_ASSIGN_OR_RETURN(auto f, DescribeFs(c, id));
    *state = f ? JStr(*f, "LifeCycleState") : "gone";
    return !f || JStr(*f, "LifeCycleState") == "deleted";
  });
}

// ---- Mount targets --------------------------------------------------------------------------

Result<std::vector<std::string>> MountTargetGroups(AwsClient& c, const std::string& id) {
  NIC_ASSIGN_OR_RETURN(json j, c.Rest("efs", "elasticfilesystem:DescribeMountTargetSecurityGroups", "GET",
                                      std::string(kApi) + "/mount-targets/" + UriEncode(id) + "/security-groups"));
  return Sorted(JStrings(j, "SecurityGroups"));
}

Result<json> MountTargetJson(AwsClient& c, const json& m) {
  json v = json::object();
  std::string id = JStr(m, "MountTargetId");
  v["id"] = id;
  v["file_system_id"] = JStr(m, "FileSystemId");
  v["subnet_id"] = JStr(m, "SubnetId");
  v["ip_address"] = JStr(m, "IpAddress");
  v["availability_zone_name"] = JStr(m, "AvailabilityZoneName");
  v["network_interface_id"] = JStr(m, "NetworkInterfaceId");
  v["dns_name"] = JStr(m, "FileSystemId") + ".efs." + c.region() + ".amazonaws.com";
  NIC_ASSIGN_OR_RETURN(auto groups, MountTargetGroups(c, id));
  v["security_groups"] = groups;
  return v;
}

Result<std::optional<json>> DescribeMountTarget(AwsClient& c, const std::string& id) {
  auto j = c.Rest("efs", "elasticfilesystem:DescribeMountTargets", "GET",
                  std::string(kApi) + "/mount-targets?MountTargetId=" + UriEncode(id));
  if (!j.ok()) {
    if (IsNotFound(j.status())) return std::optional<json>();
    return j.status();
  }
  for (const auto& m : j->value("MountTargets", json::array())) return std::optional<json>(m);
  return std::optional<json>();
}

Result<std::optional<json>> ReadMountTarget(AwsClient& c, const json& rec) {
  std::string id = JStr(rec, "id");
  if (id.empty()) return Status::InvalidInput("cloud.storage.mount_targets: the resource has no \"id\"");
  NIC_ASSIGN_OR_RETURN(auto m, DescribeMountTarget(c, id));
  if (!m || FsGone(*m)) return std::optional<json>();
  NIC_ASSIGN_OR_RETURN(json v, MountTargetJson(c, *m));
  return std::optional<json>(std::move(v));
}

Result<json> CreateMountTarget(AwsClient& c, const json& d, const std::string&) {
  std::string fs = JStr(d, "file_system_id");
  std::string subnet = JStr(d, "subnet_id");
  if (fs.empty() || subnet.empty()) {
    return Status::InvalidInput("cloud.storage.mount_targets: \"file_system_id\" and \"subnet_id\" are required");
  }
  json body = {{"FileSystemId", fs}, {"SubnetId", subnet}};
  if (std::string ip = JStr(d, "ip_address"); !ip.empty()) body["IpAddress"] = ip;
  if (d.contains("security_groups")) body["SecurityGroups"] = JStrings(d, "security_groups");
  NIC_ASSIGN_OR_RETURN(json m, c.Rest("efs", "elasticfilesystem:CreateMountTarget", "POST",
                                      std::string(kApi) + "/mount-targets", body));
  std::string id = JStr(m, "MountTargetId");
  if (id.empty()) return Status::InvalidInput("elasticfilesystem:CreateMountTarget returned no MountTargetId");
  NIC_RETURN_IF_ERROR(c.WaitUntil("EFS mount target " + id, [&](std::string* state) -> Result<bool> {
    NIC_ASSIGN_OR_RETURN(auto x, DescribeMountTarget(c, id));
    *state = x ? JStr(*x, "LifeCycleState") : "not visible yet";
    if (*state == "error") return Status::Unavailable("EFS mount target " + id + " is in state error");
    return *state == "available";
  }));
  return json{{"id", id}};
}

Result<json> UpdateMountTarget(AwsClient& c, const json&, const json& live, const json& d) {
  std::string id = JStr(live, "id");
  if (d.contains("security_groups") && Sorted(JStrings(d, "security_groups")) != JStrings(live, "security_groups")) {
    NIC_RETURN_IF_ERROR(c.Rest("efs", "elasticfilesystem:ModifyMountTargetSecurityGroups", "PUT",
                               std::string(kApi) + "/mount-targets/" + UriEncode(id) + "/security-groups",
                               json{{"SecurityGroups", JStrings(d, "security_groups")}})
                            .status());
  }
  return json{{"id", id}};
}

Status DeleteMountTarget(AwsClient& c, const json& rec) {
  std::string id = JStr(rec, "id");
  if (id.empty()) return Status::OK();
  NIC_RETURN_IF_ERROR(IgnoreNotFound(
      c.Rest("efs", "elasticfilesystem:DeleteMountTarget", "DELETE", std::string(kApi) + "/mount-targets/" + UriEncode(id))
          .status()));
  return c.WaitUntil("deleting EFS mount target " + id, [&](std::string* state) -> Result<bool> {
    NIC_ASSIGN_OR_RETURN(auto m, DescribeMountTarget(c, id));
    *state = m ? JStr(*m, "LifeCycleState") : "gone";
    return !m || JStr(*m, "LifeCycleState") == "deleted";
  });
}

// ---- Discovery ------------------------------------------------------------------------------

// DescribeFileSystems has no tag filter; file systems come with their tags, so one paged list
// finds ours. Mount targets carry no tags and are found through their file system.
Status DiscoverEfs(AwsClient& c, const std::string& cluster, std::vector<ResourceRef>* out) {
  NIC_ASSIGN_OR_RETURN(auto all, EfsList(c, "elasticfilesystem:DescribeFileSystems", "/file-systems", "", "FileSystems"));
  for (const auto& f : all) {
    if (FsGone(f) || !IsNicTagged(TagObject(f.value("Tags", json::array())), cluster)) continue;
    out->push_back(MakeRef("cloud.storage", true, FsJson(c, f)));
    std::string id = JStr(f, "FileSystemId");
    NIC_ASSIGN_OR_RETURN(auto targets, EfsList(c, "elasticfilesystem:DescribeMountTargets", "/mount-targets",
                                               "FileSystemId=" + UriEncode(id), "MountTargets"));
    std::vector<Result<json>> found(targets.size(), Status::Internal("not read"));
    c.ParallelFor(targets.size(), [&](size_t i) { found[i] = MountTargetJson(c, targets[i]); });
    for (auto& m : found) {
      NIC_RETURN_IF_ERROR(m.status());
      out->push_back(MakeRef("cloud.storage.mount_targets", false, std::move(m).value()));
    }
  }
  return Status::OK();
}

}  // namespace

std::vector<CollectionOps> EfsCollections() {
  std::vector<CollectionOps> out;
  out.push_back({"cloud.storage", true,
                 {"type", "creation_token", "performance_mode", "throughput_mode", "provisioned_throughput_in_mibps",
                  "encrypted", "kms_key_id", "tags"},
                 {"type", "creation_token", "performance_mode", "encrypted", "kms_key_id"}, ReadFs, CreateFs, UpdateFs,
                 DeleteFs});
  out.push_back({"cloud.storage.mount_targets", false, {"file_system_id", "subnet_id", "ip_address", "security_groups"},
                 {"file_system_id", "subnet_id", "ip_address"}, ReadMountTarget, CreateMountTarget, UpdateMountTarget,
                 DeleteMountTarget});
  return out;
}

std::vector<DiscoverFn> EfsDiscoverers() { return {DiscoverEfs}; }

}  // namespace nic::awsprov

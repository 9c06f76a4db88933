// IAM (query protocol, XML, global endpoint): roles, managed-policy attachments, the EKS
// cluster's OpenID Connect provider (IRSA).
#include <algorithm>
#include <mutex>

#include "nic/json_limits.h"
#include "providers/aws/collections.h"

namespace nic::awsprov {
namespace {

Status IgnoreNotFound(const Status& st) { return IsNotFound(st) ? Status::OK() : st; }

// Policy documents come URL-encoded from IAM and as text or objects from state and config;
// compact JSON is the form they are compared in.
std::string NormalizePolicy(const json& v) {
  if (v.is_object() || v.is_array()) return v.dump();
  if (!v.is_string()) return "";
  std::string s = v.get<std::string>();
  json j = ParseJsonBounded(s);
  if (j.is_discarded()) j = ParseJsonBounded(http::UriDecode(s));
  return j.is_discarded() ? s : j.dump();
}

std::vector<std::string> Members(const xml::Node* list) {
  std::vector<std::string> out;
  if (list == nullptr) return out;
  for (const xml::Node* m : list->Children("member")) out.push_back(m->text);
  return out;
}

void AppendMembers(Params& p, const std::string& prefix, const std::vector<std::string>& values) {
  for (size_t i = 0; i < values.size(); ++i) p.emplace_back(prefix + ".member." + std::to_string(i + 1), values[i]);
}

std::string RoleName(const json& rec) {
  std::string n = JStr(rec, "name");
  return n.empty() ? JStr(rec, "id") : n;
}

// IAM tags: TagX adds or changes, UntagX removes keys NIC put there before.
Status IamRetag(AwsClient& c, const std::string& tag_action, const std::string& untag_action, const Params& id,
                const json& live, const Tags& want, const json& recorded) {
  Tags set;
  std::vector<std::string> remove;
  TagDelta(live, want, recorded, &set, &remove);
  if (!set.empty()) {
    Params p = id;
    AppendTagParams(p, "Tags.member", set);
    NIC_RETURN_IF_ERROR(c.Query("iam", tag_action, p).status());
  }
  if (!remove.empty()) {
    Params p = id;
    AppendMembers(p, "TagKeys", remove);
    NIC_RETURN_IF_ERROR(c.Query("iam", untag_action, p).status());
  }
  return Status::OK();
}

// ---- Roles ----------------------------------------------------------------------------------

json RoleJson(const xml::Node& role) {
  json v = json::object();
  v["id"] = role.ChildText("RoleName");
  v["name"] = role.ChildText("RoleName");
  v["arn"] = role.ChildText("Arn");
  v["unique_id"] = role.ChildText("RoleId");
  v["path"] = role.ChildText("Path");
  v["assume_role_policy"] = NormalizePolicy(role.ChildText("AssumeRolePolicyDocument"));
  if (std::string b = role.PathText("PermissionsBoundary/PermissionsBoundaryArn"); !b.empty()) {
    v["permissions_boundary"] = b;
  }
  if (auto n = XmlInt(role.ChildText("MaxSessionDuration"))) v["max_session_duration"] = *n;
  v["tags"] = XmlTags(role.Child("Tags"));
  return v;
}

Result<std::optional<json>> ReadRole(AwsClient& c, const json& rec) {
  std::string name = RoleName(rec);
  if (name.empty()) return Status::InvalidInput("cloud.iam_roles: the resource has neither a name nor an id");
  auto doc = c.Query("iam", "GetRole", {{"RoleName", name}});
  if (!doc.ok()) {
    if (IsNotFound(doc.status())) return std::optional<json>();
    return doc.status();
  }
  const xml::Node* role = doc->Find("Role");
  if (role == nullptr) return Status::InvalidInput("iam:GetRole returned no Role for " + name);
  return std::optional<json>(RoleJson(*role));
}

Result<json> CreateRole(AwsClient& c, const json& d, const std::string&) {
  std::string name = RoleName(d);
  std::string policy = NormalizePolicy(d.value("assume_role_policy", json()));
  if (name.empty() || policy.empty()) {
    return Status::InvalidInput("cloud.iam_roles: \"name\" and \"assume_role_policy\" are required to create a role");
  }
  Params p = {{"RoleName", name}, {"AssumeRolePolicyDocument", policy}};
  if (std::string path = JStr(d, "path"); !path.empty()) p.emplace_back("Path", path);
  if (auto n = JInt(d, "max_session_duration")) p.emplace_back("MaxSessionDuration", std::to_string(*n));
  if (std::string b = JStr(d, "permissions_boundary"); !b.empty()) p.emplace_back("PermissionsBoundary", b);
  AppendTagParams(p, "Tags.member", c.NicTags("iam-role", d));
  auto doc = c.Query("iam", "CreateRole", p);
  if (!doc.ok()) {
    // A retried create whose first attempt went through: the role is there and ours.
    if (doc.status().code() != ErrorCode::kConflict) return doc.status();
    NIC_ASSIGN_OR_RETURN(auto live, ReadRole(c, json{{"name", name}}));
    if (!live || !IsNicTagged((*live)["tags"], c.context().project_name)) return doc.status();
  }
  return json{{"id", name}, {"name", name}};
}

Result<json> UpdateRole(AwsClient& c, const json& rec, const json& live, const json& d) {
  std::string name = JStr(live, "name");
  if (d.contains("assume_role_policy")) {
    std::string want = NormalizePolicy(d["assume_role_policy"]);
    if (want != JStr(live, "assume_role_policy")) {
      NIC_RETURN_IF_ERROR(c.Query("iam", "UpdateAssumeRolePolicy", {{"RoleName", name}, {"PolicyDocument", want}}).status());
    }
  }
  if (auto n = JInt(d, "max_session_duration"); n && n != JInt(live, "max_session_duration")) {
    NIC_RETURN_IF_ERROR(
        c.Query("iam", "UpdateRole", {{"RoleName", name}, {"MaxSessionDuration", std::to_string(*n)}}).status());
  }
  if (d.contains("permissions_boundary")) {
    std::string want = JStr(d, "permissions_boundary");
    if (want != JStr(live, "permissions_boundary")) {
      if (want.empty()) {
        NIC_RETURN_IF_ERROR(c.Query("iam", "DeleteRolePermissionsBoundary", {{"RoleName", name}}).status());
      } else {
        NIC_RETURN_IF_ERROR(
            c.Query("iam", "PutRolePermissionsBoundary", {{"RoleName", name}, {"PermissionsBoundary", want}}).status());
      }
    }
  }
  NIC_RETURN_IF_ERROR(IamRetag(c, "TagRole", "UntagRole", {{"RoleName", name}}, live.value("tags", json::object()),
                               c.NicTags("iam-role", d), rec));
  return json{{"id", name}, {"name", name}};
}

Status DeleteRole(AwsClient& c, const json& rec) {
  std::string name = RoleName(rec);
  if (name.empty()) return Status::OK();
  return IgnoreNotFound(c.Query("iam", "DeleteRole", {{"RoleName", name}}).status());
}

// ---- Managed-policy attachments -------------------------------------------------------------

std::string AttachmentId(const std::string& role, const std::string& policy_arn) {
  return role + "-" + policy_arn.substr(policy_arn.rfind('/') + 1);
}

Result<std::optional<std::vector<std::string>>> AttachedPolicies(AwsClient& c, const std::string& role) {
  std::vector<std::string> arns;
  Status st = c.QueryPages("iam", "ListAttachedRolePolicies", {{"RoleName", role}}, [&](const xml::Node& doc) {
    if (const xml::Node* list = doc.Find("AttachedPolicies")) {
      for (const xml::Node* m : list->Children("member")) arns.push_back(m->ChildText("PolicyArn"));
    }
  });
  if (IsNotFound(st)) return std::optional<std::vector<std::string>>();
  NIC_RETURN_IF_ERROR(st);
  return std::optional<std::vector<std::string>>(std::move(arns));
}

Result<std::optional<json>> ReadAttachment(AwsClient& c, const json& rec) {
  std::string role = JStr(rec, "role");
  std::string arn = JStr(rec, "policy_arn");
  if (role.empty() || arn.empty()) {
    return Status::InvalidInput("cloud.iam_role_policy_attachments: the resource needs \"role\" and \"policy_arn\"");
  }
  NIC_ASSIGN_OR_RETURN(auto attached, AttachedPolicies(c, role));
  if (!attached || std::find(attached->begin(), attached->end(), arn) == attached->end()) return std::optional<json>();
  std::string id = JStr(rec, "id");
  return std::optional<json>(json{{"id", id.empty() ? AttachmentId(role, arn) : id}, {"role", role}, {"policy_arn", arn}});
}

Result<json> CreateAttachment(AwsClient& c, const json& d, const std::string&) {
  std::string role = JStr(d, "role");
  std::string arn = JStr(d, "policy_arn");
  if (role.empty() || arn.empty()) {
    return Status::InvalidInput("cloud.iam_role_policy_attachments: \"role\" and \"policy_arn\" are required");
  }
  NIC_RETURN_IF_ERROR(c.Query("iam", "AttachRolePolicy", {{"RoleName", role}, {"PolicyArn", arn}}).status());
  return json{{"id", AttachmentId(role, arn)}, {"role", role}, {"policy_arn", arn}};
}

Result<json> UpdateAttachment(AwsClient&, const json& rec, const json& live, const json&) {
  json id = live;
  if (std::string r = JStr(rec, "id"); !r.empty()) id["id"] = r;
  return id;  // nothing mutable: role and policy_arn are both immutable
}

Status DeleteAttachment(AwsClient& c, const json& rec) {
  std::string role = JStr(rec, "role");
  std::string arn = JStr(rec, "policy_arn");
  if (role.empty() || arn.empty()) return Status::OK();
  return IgnoreNotFound(c.Query("iam", "DetachRolePolicy", {{"RoleName", role}, {"PolicyArn", arn}}).status());
}

// ---- OIDC provider --------------------------------------------------------------------------

std::string OidcArn(const json& rec) {
  std::string a = JStr(rec, "arn");
  return a.empty() ? JStr(rec, "id") : a;
}

std::string StripScheme(std::string url) {
  if (url.rfind("https://", 0) == 0) url = url.substr(8);
  return url;
}

Result<std::optional<json>> ReadOidc(AwsClient& c, const json& rec) {
  std::string arn = OidcArn(rec);
  if (arn.empty()) return Status::InvalidInput("cloud.oidc_provider: the resource has neither an arn nor an id");
  auto doc = c.Query("iam", "GetOpenIDConnectProvider", {{"OpenIDConnectProviderArn", arn}});
  if (!doc.ok()) {
    if (IsNotFound(doc.status())) return std::optional<json>();
    return doc.status();
  }
  json v = json::object();
  v["id"] = arn;
  v["arn"] = arn;
  // IAM returns the URL without its scheme, as Terraform's state records it.
  v["url"] = StripScheme(doc->Find("Url") ? doc->Find("Url")->text : "");
  v["client_id_list"] = Sorted(Members(doc->Find("ClientIDList")));
  v["thumbprint_list"] = Sorted(Members(doc->Find("ThumbprintList")));
  v["tags"] = XmlTags(doc->Find("Tags"));
  return std::optional<json>(std::move(v));
}

Result<json> CreateOidc(AwsClient& c, const json& d, const std::string&) {
  std::string url = JStr(d, "url");
  if (url.empty()) return Status::InvalidInput("cloud.oidc_provider: \"url\" (the cluster's OIDC issuer) is required");
  if (url.rfind("https://", 0) != 0) url = "https://" + url;
  Params p = {{"Url", url}};
  std::vector<std::string> clients = JStrings(d, "client_id_list");
  if (clients.empty()) clients.push_back("sts.amazonaws.com");
  AppendMembers(p, "ClientIDList", clients);
  AppendMembers(p, "ThumbprintList", JStrings(d, "thumbprint_list"));
  AppendTagParams(p, "Tags.member", c.NicTags("oidc-provider", d));
  NIC_ASSIGN_OR_RETURN(xml::Node doc, c.Query("iam", "CreateOpenIDConnectProvider", p));
  const xml::Node* arn = doc.Find("OpenIDConnectProviderArn");
  if (arn == nullptr || arn->text.empty()) return Status::InvalidInput("iam:CreateOpenIDConnectProvider returned no ARN");
  return json{{"id", arn->text}, {"arn", arn->text}};
}

Result<json> UpdateOidc(AwsClient& c, const json& rec, const json& live, const json& d) {
  std::string arn = JStr(live, "arn");
  if (d.contains("client_id_list")) {
    std::vector<std::string> have = JStrings(live, "client_id_list"), want = Sorted(JStrings(d, "client_id_list"));
    for (const auto& id : want) {
      if (std::find(have.begin(), have.end(), id) != have.end()) continue;
      NIC_RETURN_IF_ERROR(
          c.Query("iam", "AddClientIDToOpenIDConnectProvider", {{"OpenIDConnectProviderArn", arn}, {"ClientID", id}})
              .status());
    }
    for (const auto& id : have) {
      if (std::find(want.begin(), want.end(), id) != want.end()) continue;
      NIC_RETURN_IF_ERROR(
          c.Query("iam", "RemoveClientIDFromOpenIDConnectProvider", {{"OpenIDConnectProviderArn", arn}, {"ClientID", id}})
              .status());
    }
  }
  if (d.contains("thumbprint_list") && Sorted(JStrings(d, "thumbprint_list")) != JStrings(live, "thumbprint_list")) {
    Params p = {{"OpenIDConnectProviderArn", arn}};
    AppendMembers(p, "ThumbprintList", JStrings(d, "thumbprint_list"));
    NIC_RETURN_IF_ERROR(c.Query("iam", "UpdateOpenIDConnectProviderThumbprint", p).status());
  }
  NIC_RETURN_IF_ERROR(IamRetag(c, "TagOpenIDConnectProvider", "UntagOpenIDConnectProvider",
                               {{"OpenIDConnectProviderArn", arn}}, live.value("tags", json::object()),
                               c.NicTags("oidc-provider", d), rec));
  return json{{"id", arn}, {"arn", arn}};
}

Status DeleteOidc(AwsClient& c, const json& rec) {
  std::string arn = OidcArn(rec);
  if (arn.empty()) return Status::OK();
  return IgnoreNotFound(c.Query("iam", "DeleteOpenIDConnectProvider", {{"OpenIDConnectProviderArn", arn}}).status());
}

// ---- Discovery ------------------------------------------------------------------------------

// ListRoles returns no tags, and a GetRole per role of the account would cost O(account), so
// only roles whose name contains the cluster name (Nebari names them "<cluster>-eks-...") are
// fetched and checked for the NIC tags.
Status DiscoverRoles(AwsClient& c, const std::string& cluster, std::vector<ResourceRef>* out) {
  std::vector<std::string> candidates;
  NIC_RETURN_IF_ERROR(c.QueryPages("iam", "ListRoles", {}, [&](const xml::Node& doc) {
    if (const xml::Node* roles = doc.Find("Roles")) {
      for (const xml::Node* m : roles->Children("member")) {
        std::string name = m->ChildText("RoleName");
        if (name.find(cluster) != std::string::npos) candidates.push_back(name);
      }
    }
  }));
  std::vector<Result<std::optional<json>>> roles(candidates.size(), Status::Internal("not read"));
  std::vector<Result<std::optional<std::vector<std::string>>>> attached(candidates.size(), Status::Internal("not read"));
  c.ParallelFor(candidates.size(), [&](size_t i) {
    roles[i] = ReadRole(c, json{{"name", candidates[i]}});
    if (roles[i].ok() && roles[i].value() && IsNicTagged((*roles[i].value())["tags"], cluster)) {
      attached[i] = AttachedPolicies(c, candidates[i]);
    }
  });
  for (size_t i = 0; i < candidates.size(); ++i) {
    NIC_RETURN_IF_ERROR(roles[i].status());
    const auto& role = roles[i].value();
    if (!role || !IsNicTagged((*role)["tags"], cluster)) continue;
    out->push_back(MakeRef("cloud.iam_roles", false, *role));
    NIC_RETURN_IF_ERROR(attached[i].status());
    if (!attached[i].value()) continue;
    for (const auto& arn : *attached[i].value()) {
      out->push_back(MakeRef("cloud.iam_role_policy_attachments", false,
                             json{{"id", AttachmentId(candidates[i], arn)}, {"role", candidates[i]}, {"policy_arn", arn}}));
    }
  }
  return Status::OK();
}

Status DiscoverOidc(AwsClient& c, const std::string& cluster, std::vector<ResourceRef>* out) {
  NIC_ASSIGN_OR_RETURN(xml::Node doc, c.Query("iam", "ListOpenIDConnectProviders", {}));
  std::vector<std::string> arns;
  if (const xml::Node* list = doc.Find("OpenIDConnectProviderList")) {
    for (const xml::Node* m : list->Children("member")) arns.push_back(m->ChildText("Arn"));
  }
  std::vector<Result<std::optional<json>>> found(arns.size(), Status::Internal("not read"));
  c.ParallelFor(arns.size(), [&](size_t i) { found[i] = ReadOidc(c, json{{"arn", arns[i]}}); });
  for (auto& f : found) {
    NIC_RETURN_IF_ERROR(f.status());
    if (f.value() && IsNicTagged((*f.value())["tags"], cluster)) out->push_back(MakeRef("cloud.oidc_provider", true, *f.value()));
  }
  return Status::OK();
}

}  // namespace

std::vector<CollectionOps> IamCollections() {
  std::vector<CollectionOps> out;
  out.push_back({"cloud.iam_roles", false,
                 {"name", "path", "assume_role_policy", "permissions_boundary", "max_session_duration", "tags"},
                 {"name", "path"}, ReadRole, CreateRole, UpdateRole, DeleteRole});
  out.push_back({"cloud.iam_role_policy_attachments", false, {"role", "policy_arn"}, {"role", "policy_arn"},
                 ReadAttachment, CreateAttachment, UpdateAttachment, DeleteAttachment});
  out.push_back({"cloud.oidc_provider", true, {"url", "client_id_list", "thumbprint_list", "tags"}, {"url"}, ReadOidc,
                 CreateOidc, UpdateOidc, DeleteOidc});
  return out;
}

std::vector<DiscoverFn> IamDiscoverers() { return {DiscoverRoles, DiscoverOidc}; }

}  // namespace nic::awsprov

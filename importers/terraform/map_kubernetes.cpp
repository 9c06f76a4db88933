// Kubernetes objects (stage 03 for every provider, and the kubernetes_* types Nebari's later
// stages and other EKS/GKE/AKS states create). Attribute names are hashicorp/kubernetes's
// (both the plain and the _v1 resources) and hashicorp/helm's.
#include <algorithm>
#include <cctype>

#include "importers/terraform/mapping.h"

namespace nic::tfimport {
namespace {

// name/namespace/labels/annotations/uid from metadata[0].
json Meta(const json& a, bool namespaced) {
  json v = json::object();
  Copy(v, "name", a, "metadata.0.name");
  if (namespaced) {
    std::string ns = Str(a, "metadata.0.namespace");
    v["namespace"] = ns.empty() ? "default" : ns;
  }
  Copy(v, "labels", a, "metadata.0.labels");
  Copy(v, "annotations", a, "metadata.0.annotations");
  Copy(v, "uid", a, "metadata.0.uid");
  std::string id = Str(a, "id");
  if (!id.empty()) v["id"] = id;
  return v;
}

json Rules(const json* rules) {
  json out = json::array();
  if (rules == nullptr || !rules->is_array()) return out;
  for (const auto& r : *rules) {
    json e = json::object();
    CopyStrings(e, "api_groups", r, "api_groups");
    CopyStrings(e, "resources", r, "resources");
    CopyStrings(e, "resource_names", r, "resource_names");
    CopyStrings(e, "verbs", r, "verbs");
    CopyStrings(e, "non_resource_urls", r, "non_resource_urls");
    out.push_back(std::move(e));
  }
  return out;
}

json Binding(const json& a, json v) {
  json ref = json::object();
  Copy(ref, "api_group", a, "role_ref.0.api_group");
  Copy(ref, "kind", a, "role_ref.0.kind");
  Copy(ref, "name", a, "role_ref.0.name");
  v["role_ref"] = std::move(ref);
  json subjects = json::array();
  if (const json* s = Attr(a, "subject"); s != nullptr && s->is_array()) {
    for (const auto& e : *s) {
      json x = json::object();
      for (const char* k : {"kind", "name", "namespace", "api_group"}) Copy(x, k, e, k);
      subjects.push_back(std::move(x));
    }
  }
  v["subjects"] = std::move(subjects);
  return v;
}

bool Namespace(const MapInput& in, MapOutput* out) {
  return AddKeyed(out, "kubernetes.namespaces", Meta(in.attrs, false));
}

bool ServiceAccount(const MapInput& in, MapOutput* out) {
  json v = Meta(in.attrs, true);
  CopyBool(v, "automount_service_account_token", in.attrs, "automount_service_account_token");
  return AddKeyed(out, "kubernetes.service_accounts", std::move(v));
}

bool Role(const MapInput& in, MapOutput* out) {
  json v = Meta(in.attrs, true);
  v["rules"] = Rules(Attr(in.attrs, "rule"));
  return AddKeyed(out, "kubernetes.roles", std::move(v));
}

bool ClusterRole(const MapInput& in, MapOutput* out) {
  json v = Meta(in.attrs, false);
  v["rules"] = Rules(Attr(in.attrs, "rule"));
  return AddKeyed(out, "kubernetes.cluster_roles", std::move(v));
}

bool RoleBinding(const MapInput& in, MapOutput* out) {
  return AddKeyed(out, "kubernetes.role_bindings", Binding(in.attrs, Meta(in.attrs, true)));
}

bool ClusterRoleBinding(const MapInput& in, MapOutput* out) {
  return AddKeyed(out, "kubernetes.cluster_role_bindings", Binding(in.attrs, Meta(in.attrs, false)));
}

bool StorageClass(const MapInput& in, MapOutput* out) {
  const json& a = in.attrs;
  json v = Meta(a, false);
  Copy(v, "provisioner", a, "storage_provisioner");
  Copy(v, "parameters", a, "parameters");
  Copy(v, "reclaim_policy", a, "reclaim_policy");
  Copy(v, "volume_binding_mode", a, "volume_binding_mode");
  CopyBool(v, "allow_volume_expansion", a, "allow_volume_expansion");
  CopyStrings(v, "mount_options", a, "mount_options");
  v["is_default"] = false;
  if (const json* ann = Attr(a, "metadata.0.annotations"); ann != nullptr && ann->is_object()) {
    auto it = ann->find("storageclass.kubernetes.io/is-default-class");
    v["is_default"] = it != ann->end() && *it == "true";
  }
  return AddKeyed(out, "kubernetes.storage_classes", std::move(v));
}

bool ResourceQuota(const MapInput& in, MapOutput* out) {
  json v = Meta(in.attrs, true);
  Copy(v, "hard", in.attrs, "spec.0.hard");
  CopyStrings(v, "scopes", in.attrs, "spec.0.scopes");
  return AddKeyed(out, "kubernetes.resource_quotas", std::move(v));
}

bool LimitRange(const MapInput& in, MapOutput* out) {
  json v = Meta(in.attrs, true);
  Copy(v, "limits", in.attrs, "spec.0.limit");
  return AddKeyed(out, "kubernetes.limit_ranges", std::move(v));
}

bool NetworkPolicy(const MapInput& in, MapOutput* out) {
  json v = Meta(in.attrs, true);
  Copy(v, "pod_selector", in.attrs, "spec.0.pod_selector");
  CopyStrings(v, "policy_types", in.attrs, "spec.0.policy_types");
  Copy(v, "ingress", in.attrs, "spec.0.ingress");
  Copy(v, "egress", in.attrs, "spec.0.egress");
  return AddKeyed(out, "kubernetes.network_policies", std::move(v));
}

bool PriorityClass(const MapInput& in, MapOutput* out) {
  json v = Meta(in.attrs, false);
  CopyInt(v, "value", in.attrs, "value");
  CopyBool(v, "global_default", in.attrs, "global_default");
  Copy(v, "preemption_policy", in.attrs, "preemption_policy");
  Copy(v, "description", in.attrs, "description");
  return AddKeyed(out, "kubernetes.priority_classes", std::move(v));
}

// The secret's existence and shape only: its data never leaves the tfstate.
bool Secret(const MapInput& in, MapOutput* out) {
  json v = Meta(in.attrs, true);
  Copy(v, "type", in.attrs, "type");
  return AddKeyed(out, "kubernetes.secrets", std::move(v));
}

bool ConfigMap(const MapInput& in, MapOutput* out) {
  json v = Meta(in.attrs, true);
  Copy(v, "data", in.attrs, "data");
  return AddKeyed(out, "kubernetes.config_maps", std::move(v));
}

bool DaemonSet(const MapInput& in, MapOutput* out) {
  json v = Meta(in.attrs, true);
  if (const json* cs = Attr(in.attrs, "spec.0.template.0.spec.0.container"); cs != nullptr && cs->is_array()) {
    json images = json::array();
    for (const auto& c : *cs) {
      if (const json* img = Attr(c, "image"); img != nullptr) images.push_back(*img);
    }
    v["images"] = std::move(images);
  }
  return AddKeyed(out, "kubernetes.daemonsets", std::move(v));
}

bool HelmRelease(const MapInput& in, MapOutput* out) {
  const json& a = in.attrs;
  json v = WithId(a);
  Copy(v, "name", a, "name");
  std::string ns = Str(a, "namespace");
  v["namespace"] = ns.empty() ? "default" : ns;
  Copy(v, "chart", a, "chart");
  Copy(v, "repository", a, "repository");
  Copy(v, "version", a, "version");
  Copy(v, "status", a, "status");
  Copy(v, "app_version", a, "metadata.0.app_version");
  CopyInt(v, "revision", a, "metadata.0.revision");
  return AddKeyed(out, "kubernetes.helm_releases", std::move(v));
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Typed collection for a manifest's kind; "" for kinds kept in kubernetes.manifests.
const char* CollectionForKind(const std::string& kind, bool* namespaced) {
  struct K { const char* kind; const char* collection; bool namespaced; };
  static const K kKinds[] = {
      {"Namespace", "kubernetes.namespaces", false},
      {"ServiceAccount", "kubernetes.service_accounts", true},
      {"Role", "kubernetes.roles", true},
      {"RoleBinding", "kubernetes.role_bindings", true},
      {"ClusterRole", "kubernetes.cluster_roles", false},
      {"ClusterRoleBinding", "kubernetes.cluster_role_bindings", false},
      {"StorageClass", "kubernetes.storage_classes", false},
      {"ResourceQuota", "kubernetes.resource_quotas", true},
      {"LimitRange", "kubernetes.limit_ranges", true},
      {"NetworkPolicy", "kubernetes.network_policies", true},
      {"PriorityClass", "kubernetes.priority_classes", false},
      {"CustomResourceDefinition", "kubernetes.custom_resource_definitions", false},
  };
  for (const auto& k : kKinds) {
    if (kind == k.kind) {
      *namespaced = k.namespaced;
      return k.collection;
    }
  }
  return "";
}

// A manifest (kubernetes_manifest's `manifest`, kubectl_manifest's top-level fields) placed by
// its kind. Kinds without a typed collection go to kubernetes.manifests keyed
// "<namespace>/<kind>:<name>".
bool PlaceManifest(const std::string& api_version, const std::string& kind, const std::string& name,
                   const std::string& ns, const std::string& id, MapOutput* out) {
  if (kind.empty() || name.empty()) {
    out->reason = "manifest without kind or metadata.name";
    return false;
  }
  bool namespaced = !ns.empty();
  const char* collection = CollectionForKind(kind, &namespaced);
  json v = json::object();
  if (!id.empty()) v["id"] = id;
  v["api_version"] = api_version;
  v["kind"] = kind;
  if (*collection != '\0') {
    v["name"] = name;
    if (namespaced) v["namespace"] = ns.empty() ? "default" : ns;
    return AddKeyed(out, collection, std::move(v));
  }
  v["name"] = Lower(kind) + ":" + name;
  v["object_name"] = name;
  if (!ns.empty()) v["namespace"] = ns;
  return AddKeyed(out, "kubernetes.manifests", std::move(v));
}

bool Manifest(const MapInput& in, MapOutput* out) {
  const json& a = in.attrs;
  // `manifest` is dynamically typed, which tfstate v4 writes as {"value": ..., "type": ...}.
  const json* m = Attr(a, "manifest.value");
  if (m == nullptr) m = Attr(a, "manifest");
  if (m == nullptr) {
    out->reason = "kubernetes_manifest without a manifest attribute";
    return false;
  }
  return PlaceManifest(Str(*m, "apiVersion"), Str(*m, "kind"), Str(*m, "metadata.name"),
                       Str(*m, "metadata.namespace"), Str(a, "id"), out);
}

bool KubectlManifest(const MapInput& in, MapOutput* out) {
  const json& a = in.attrs;
  return PlaceManifest(Str(a, "api_version"), Str(a, "kind"), Str(a, "name"), Str(a, "namespace"),
                       Str(a, "id"), out);
}

}  // namespace

const std::vector<TypeMapping>& KubernetesMappings() {
  static const std::vector<TypeMapping> kTable = {
      {"kubernetes_namespace", "Namespaces", Namespace},
      {"kubernetes_namespace_v1", "Namespaces", Namespace},
      {"kubernetes_service_account", "Service accounts", ServiceAccount},
      {"kubernetes_service_account_v1", "Service accounts", ServiceAccount},
      {"kubernetes_role", "Roles", Role},
      {"kubernetes_role_v1", "Roles", Role},
      {"kubernetes_role_binding", "Role bindings", RoleBinding},
      {"kubernetes_role_binding_v1", "Role bindings", RoleBinding},
      {"kubernetes_cluster_role", "Cluster roles", ClusterRole},
      {"kubernetes_cluster_role_v1", "Cluster roles", ClusterRole},
      {"kubernetes_cluster_role_binding", "Cluster role bindings", ClusterRoleBinding},
      {"kubernetes_cluster_role_binding_v1", "Cluster role bindings", ClusterRoleBinding},
      {"kubernetes_storage_class", "Storage classes", StorageClass},
      {"kubernetes_storage_class_v1", "Storage classes", StorageClass},
      {"kubernetes_resource_quota", "Resource quotas", ResourceQuota},
      {"kubernetes_resource_quota_v1", "Resource quotas", ResourceQuota},
      {"kubernetes_limit_range", "Limit ranges", LimitRange},
      {"kubernetes_limit_range_v1", "Limit ranges", LimitRange},
      {"kubernetes_network_policy", "Network policies", NetworkPolicy},
      {"kubernetes_network_policy_v1", "Network policies", NetworkPolicy},
      {"kubernetes_priority_class", "Priority classes", PriorityClass},
      {"kubernetes_priority_class_v1", "Priority classes", PriorityClass},
      {"kubernetes_secret", "Secrets (metadata only)", Secret},
      {"kubernetes_secret_v1", "Secrets (metadata only)", Secret},
      {"kubernetes_config_map", "Config maps", ConfigMap},
      {"kubernetes_config_map_v1", "Config maps", ConfigMap},
      {"kubernetes_daemonset", "Daemon sets", DaemonSet},
      {"kubernetes_daemon_set_v1", "Daemon sets", DaemonSet},
      {"kubernetes_manifest", "Manifests", Manifest},
      {"kubectl_manifest", "Manifests", KubectlManifest},
      {"helm_release", "Helm releases", HelmRelease},
  };
  return kTable;
}

}  // namespace nic::tfimport

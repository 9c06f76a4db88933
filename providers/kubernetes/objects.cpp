#include "providers/kubernetes/objects.h"

#include <cctype>

#include "nic/provider.h"

namespace nic::kubeprov {
namespace {

bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// Keys NIC and the API server keep for themselves: shown in nic_labels or not at all, never in
// the user-visible labels/annotations the reconciler compares, and kept on every write.
bool HiddenLabel(const std::string& k) { return StartsWith(k, "nic.nebari.dev/") || k == "kubernetes.io/metadata.name"; }
bool HiddenAnnotation(const std::string& k) {
  return StartsWith(k, "nic.nebari.dev/") || k == "kubectl.kubernetes.io/last-applied-configuration";
}

std::string AsString(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

json StringMap(const json& m) {
  json out = json::object();
  if (!m.is_object()) return out;
  for (auto it = m.begin(); it != m.end(); ++it) {
    if (!it.value().is_null()) out[it.key()] = AsString(it.value());
  }
  return out;
}

// ---- generic snake_case (state, Terraform block style) <-> camelCase (API) ----------------

// Values that are maps of user keys (labels, resource names), copied verbatim.
bool IsVerbatimMap(const std::string& snake) {
  return snake == "match_labels" || snake == "max" || snake == "min" || snake == "default" ||
         snake == "default_request" || snake == "max_limit_request_ratio" || snake == "hard";
}
// Terraform writes single nested blocks as lists of one; the API has an object.
bool IsSingleBlock(const std::string& snake) {
  return snake == "pod_selector" || snake == "namespace_selector" || snake == "ip_block";
}

std::string Camel(const std::string& snake) {
  std::string out;
  bool up = false;
  for (char c : snake) {
    if (c == '_') {
      up = true;
    } else {
      out += up ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
      up = false;
    }
  }
  return out;
}

std::string Snake(const std::string& camel) {
  std::string out;
  for (char c : camel) {
    if (std::isupper(static_cast<unsigned char>(c))) {
      out += '_';
      out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else {
      out += c;
    }
  }
  return out;
}

bool AllDigits(const std::string& s) {
  if (s.empty() || s.size() > 9) return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

json ToApi(const json& v);
json FromApi(const json& v);

json ToApiField(const std::string& snake, const json& v) {
  if (IsVerbatimMap(snake)) return StringMap(v);
  if (IsSingleBlock(snake)) {
    if (v.is_array()) return v.empty() ? json::object() : ToApi(v[0]);
    return ToApi(v);
  }
  if ((snake == "port" || snake == "end_port") && v.is_string() && AllDigits(v.get<std::string>())) {
    return std::stoi(v.get<std::string>());  // IntOrString: "8080" means the port number
  }
  return ToApi(v);
}

json ToApi(const json& v) {
  if (v.is_array()) {
    json out = json::array();
    for (const auto& e : v) out.push_back(ToApi(e));
    return out;
  }
  if (!v.is_object()) return v;
  json out = json::object();
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (it.value().is_null()) continue;
    out[Camel(it.key())] = ToApiField(it.key(), it.value());
  }
  return out;
}

json FromApi(const json& v) {
  if (v.is_array()) {
    json out = json::array();
    for (const auto& e : v) out.push_back(FromApi(e));
    return out;
  }
  if (!v.is_object()) return v;
  json out = json::object();
  for (auto it = v.begin(); it != v.end(); ++it) {
    std::string snake = Snake(it.key());
    const json& val = it.value();
    if (IsVerbatimMap(snake)) {
      out[snake] = StringMap(val);
    } else if (IsSingleBlock(snake)) {
      out[snake] = json::array({FromApi(val)});
    } else if ((snake == "port" || snake == "end_port") && val.is_number()) {
      out[snake] = val.dump();
    } else {
      out[snake] = FromApi(val);
    }
  }
  return out;
}

// ---- RBAC ---------------------------------------------------------------------------------

const std::vector<std::pair<const char*, const char*>> kRuleFields = {
    {"api_groups", "apiGroups"}, {"resources", "resources"}, {"resource_names", "resourceNames"},
    {"verbs", "verbs"},          {"non_resource_urls", "nonResourceURLs"}};

json RulesToApi(const json& rules) {
  json out = json::array();
  if (!rules.is_array()) return out;
  for (const auto& r : rules) {
    json e = json::object();
    for (const auto& [s, a] : kRuleFields) {
      if (r.contains(s) && r[s].is_array() && !r[s].empty()) e[a] = r[s];
    }
    if (!e.contains("verbs")) e["verbs"] = json::array();
    out.push_back(std::move(e));
  }
  return out;
}

json RulesFromApi(const json& rules) {
  json out = json::array();
  if (!rules.is_array()) return out;
  for (const auto& r : rules) {
    json e = json::object();
    for (const auto& [s, a] : kRuleFields) {
      if (r.contains(a) && r[a].is_array()) e[s] = r[a];
    }
    out.push_back(std::move(e));
  }
  return out;
}

void RoleToState(const json& o, json& s) { s["rules"] = RulesFromApi(o.value("rules", json::array())); }
void RoleToObject(const json& d, json& o) {
  if (d.contains("rules")) o["rules"] = RulesToApi(d["rules"]);
}

const char* kRbacGroup = "rbac.authorization.k8s.io";

void BindingToState(const json& o, json& s) {
  json ref = json::object();
  if (o.contains("roleRef") && o["roleRef"].is_object()) {
    const json& r = o["roleRef"];
    ref["api_group"] = r.value("apiGroup", "");
    ref["kind"] = r.value("kind", "");
    ref["name"] = r.value("name", "");
  }
  s["role_ref"] = ref;
  json subjects = json::array();
  for (const auto& sub : o.value("subjects", json::array())) {
    json x = json::object();
    for (const char* k : {"kind", "name", "namespace"}) {
      if (sub.contains(k)) x[k] = sub[k];
    }
    if (sub.contains("apiGroup")) x["api_group"] = sub["apiGroup"];
    subjects.push_back(std::move(x));
  }
  s["subjects"] = subjects;
}

void BindingToObject(const json& d, json& o) {
  if (d.contains("role_ref") && d["role_ref"].is_object()) {
    const json& r = d["role_ref"];
    std::string group = r.value("api_group", "");
    o["roleRef"] = {{"apiGroup", group.empty() ? kRbacGroup : group},
                    {"kind", r.value("kind", "ClusterRole")},
                    {"name", r.value("name", "")}};
  }
  if (d.contains("subjects")) {
    json subjects = json::array();
    for (const auto& sub : d["subjects"]) {
      json x = json::object();
      std::string kind = sub.value("kind", "");
      x["kind"] = kind;
      x["name"] = sub.value("name", "");
      if (!sub.value("namespace", "").empty()) x["namespace"] = sub["namespace"];
      std::string group = sub.value("api_group", "");
      if (group.empty() && (kind == "User" || kind == "Group")) group = kRbacGroup;
      if (!group.empty()) x["apiGroup"] = group;
      subjects.push_back(std::move(x));
    }
    o["subjects"] = subjects;
  }
}

// ---- other kinds --------------------------------------------------------------------------

// state field <-> top-level API field, copied as they are.
void CopyFields(const json& from, json& to, const std::vector<std::pair<const char*, const char*>>& pairs, bool to_api) {
  for (const auto& [s, a] : pairs) {
    const char* src = to_api ? s : a;
    const char* dst = to_api ? a : s;
    if (from.contains(src) && !from[src].is_null()) to[dst] = from[src];
  }
}

const std::vector<std::pair<const char*, const char*>> kStorageClassFields = {
    {"provisioner", "provisioner"},
    {"reclaim_policy", "reclaimPolicy"},
    {"volume_binding_mode", "volumeBindingMode"},
    {"allow_volume_expansion", "allowVolumeExpansion"},
    {"mount_options", "mountOptions"}};

void StorageClassToState(const json& o, json& s) {
  CopyFields(o, s, kStorageClassFields, false);
  s["parameters"] = StringMap(o.value("parameters", json::object()));
  json ann = json::object();
  if (o.contains("metadata")) ann = o["metadata"].value("annotations", json::object());
  s["is_default"] = ann.is_object() && ann.value(kAnnotationDefaultClass, "") == "true";
}
void StorageClassToObject(const json& d, json& o) {
  CopyFields(d, o, kStorageClassFields, true);
  if (d.contains("parameters")) o["parameters"] = StringMap(d["parameters"]);
}

void ServiceAccountToState(const json& o, json& s) {
  if (o.contains("automountServiceAccountToken")) s["automount_service_account_token"] = o["automountServiceAccountToken"];
}
void ServiceAccountToObject(const json& d, json& o) {
  if (d.contains("automount_service_account_token") && d["automount_service_account_token"].is_boolean()) {
    o["automountServiceAccountToken"] = d["automount_service_account_token"];
  }
}

json& Spec(json& o) {
  if (!o.contains("spec") || !o["spec"].is_object()) o["spec"] = json::object();
  return o["spec"];
}
json SpecOf(const json& o) { return o.contains("spec") && o["spec"].is_object() ? o["spec"] : json::object(); }

void QuotaToState(const json& o, json& s) {
  json spec = SpecOf(o);
  s["hard"] = StringMap(spec.value("hard", json::object()));
  s["scopes"] = spec.value("scopes", json::array());
}
void QuotaToObject(const json& d, json& o) {
  if (d.contains("hard")) Spec(o)["hard"] = StringMap(d["hard"]);
  if (d.contains("scopes")) Spec(o)["scopes"] = d["scopes"];
}

void LimitRangeToState(const json& o, json& s) { s["limits"] = FromApi(SpecOf(o).value("limits", json::array())); }
void LimitRangeToObject(const json& d, json& o) {
  if (d.contains("limits")) Spec(o)["limits"] = ToApi(d["limits"]);
}

void NetworkPolicyToState(const json& o, json& s) {
  json spec = SpecOf(o);
  s["pod_selector"] = json::array({FromApi(spec.value("podSelector", json::object()))});
  s["policy_types"] = spec.value("policyTypes", json::array());
  s["ingress"] = FromApi(spec.value("ingress", json::array()));
  s["egress"] = FromApi(spec.value("egress", json::array()));
}
void NetworkPolicyToObject(const json& d, json& o) {
  json& spec = Spec(o);
  if (d.contains("pod_selector")) spec["podSelector"] = ToApiField("pod_selector", d["pod_selector"]);
  if (!spec.contains("podSelector")) spec["podSelector"] = json::object();  // required; {} selects every pod
  if (d.contains("policy_types")) spec["policyTypes"] = d["policy_types"];
  if (d.contains("ingress")) spec["ingress"] = ToApi(d["ingress"]);
  if (d.contains("egress")) spec["egress"] = ToApi(d["egress"]);
}

const std::vector<std::pair<const char*, const char*>> kPriorityClassFields = {
    {"value", "value"},
    {"global_default", "globalDefault"},
    {"preemption_policy", "preemptionPolicy"},
    {"description", "description"}};
void PriorityClassToState(const json& o, json& s) { CopyFields(o, s, kPriorityClassFields, false); }
void PriorityClassToObject(const json& d, json& o) { CopyFields(d, o, kPriorityClassFields, true); }

void Nothing(const json&, json&) {}

std::vector<std::string> With(std::vector<std::string> base, std::initializer_list<const char*> more) {
  for (const char* m : more) base.emplace_back(m);
  return base;
}

json Canon(const json& v) {
  if (v.is_number()) return v.dump();
  if (v.is_object()) {
    json out = json::object();
    for (auto it = v.begin(); it != v.end(); ++it) {
      json n = Canon(it.value());
      bool empty = n.is_null() || ((n.is_array() || n.is_object()) && n.empty()) ||
                   (n.is_string() && n.get_ref<const std::string&>().empty());
      if (!empty) out[it.key()] = std::move(n);
    }
    return out;
  }
  if (v.is_array()) {
    json out = json::array();
    for (const auto& e : v) out.push_back(Canon(e));
    return out;
  }
  return v;
}

}  // namespace

const std::vector<CollectionSpec>& Collections() {
  static const std::vector<CollectionSpec> kSpecs = [] {
    const std::vector<std::string> meta = {"labels", "annotations"};
    const std::vector<std::string> cluster_id = {"name"};
    const std::vector<std::string> ns_id = {"name", "namespace"};
    const std::string rbac = "rbac.authorization.k8s.io/v1";
    std::vector<CollectionSpec> v;
    v.push_back({"kubernetes.namespaces", {"v1", "Namespace", "namespaces", false}, "namespace", meta, cluster_id,
                 Nothing, Nothing});
    v.push_back({"kubernetes.priority_classes",
                 {"scheduling.k8s.io/v1", "PriorityClass", "priorityclasses", false},
                 "priority-class",
                 With(meta, {"value", "global_default", "preemption_policy", "description"}),
                 With(cluster_id, {"value", "preemption_policy"}),  // ValidatePriorityClassUpdate
                 PriorityClassToState,
                 PriorityClassToObject});
    v.push_back({"kubernetes.storage_classes",
                 {"storage.k8s.io/v1", "StorageClass", "storageclasses", false},
                 "storage-class",
                 With(meta, {"provisioner", "parameters", "reclaim_policy", "volume_binding_mode",
                             "allow_volume_expansion", "mount_options", "is_default"}),
                 // ValidateStorageClassUpdate: "updates to parameters are forbidden", likewise
                 // provisioner and reclaimPolicy; volumeBindingMode "field is immutable".
                 With(cluster_id, {"provisioner", "parameters", "reclaim_policy", "volume_binding_mode"}),
                 StorageClassToState,
                 StorageClassToObject});
    v.push_back({"kubernetes.cluster_roles", {rbac, "ClusterRole", "clusterroles", false}, "cluster-role",
                 With(meta, {"rules"}), cluster_id, RoleToState, RoleToObject});
    v.push_back({"kubernetes.service_accounts", {"v1", "ServiceAccount", "serviceaccounts", true}, "service-account",
                 With(meta, {"automount_service_account_token"}), ns_id, ServiceAccountToState,
                 ServiceAccountToObject});
    v.push_back({"kubernetes.roles", {rbac, "Role", "roles", true}, "role", With(meta, {"rules"}), ns_id, RoleToState,
                 RoleToObject});
    // roleRef cannot change in a binding (the API rejects it); subjects can.
    v.push_back({"kubernetes.role_bindings", {rbac, "RoleBinding", "rolebindings", true}, "role-binding",
                 With(meta, {"role_ref", "subjects"}), With(ns_id, {"role_ref"}), BindingToState, BindingToObject});
    v.push_back({"kubernetes.cluster_role_bindings", {rbac, "ClusterRoleBinding", "clusterrolebindings", false},
                 "cluster-role-binding", With(meta, {"role_ref", "subjects"}), With(cluster_id, {"role_ref"}),
                 BindingToState, BindingToObject});
    v.push_back({"kubernetes.resource_quotas", {"v1", "ResourceQuota", "resourcequotas", true}, "resource-quota",
                 With(meta, {"hard", "scopes"}), With(ns_id, {"scopes"}),  // "ensure scopes cannot change"
                 QuotaToState, QuotaToObject});
    v.push_back({"kubernetes.limit_ranges", {"v1", "LimitRange", "limitranges", true}, "limit-range",
                 With(meta, {"limits"}), ns_id, LimitRangeToState, LimitRangeToObject});
    v.push_back({"kubernetes.network_policies",
                 {"networking.k8s.io/v1", "NetworkPolicy", "networkpolicies", true},
                 "network-policy",
                 With(meta, {"pod_selector", "policy_types", "ingress", "egress"}),
                 ns_id,
                 NetworkPolicyToState,
                 NetworkPolicyToObject});
    return v;
  }();
  return kSpecs;
}

const CollectionSpec* FindCollection(const std::string& collection) {
  for (const auto& s : Collections()) {
    if (s.collection == collection) return &s;
  }
  return nullptr;
}

json ToState(const CollectionSpec& spec, const json& object) {
  json s = json::object();
  json meta = object.contains("metadata") && object["metadata"].is_object() ? object["metadata"] : json::object();
  std::string name = meta.value("name", "");
  std::string ns = meta.value("namespace", "");
  s["name"] = name;
  if (spec.kind.namespaced) s["namespace"] = ns;
  json labels = json::object(), nic = json::object(), annotations = json::object();
  const json live_labels = StringMap(meta.value("labels", json::object()));
  const json live_annotations = StringMap(meta.value("annotations", json::object()));
  for (auto& [k, v] : live_labels.items()) {
    if (StartsWith(k, "nic.nebari.dev/")) nic[k] = v;
    else if (!HiddenLabel(k)) labels[k] = v;
  }
  for (auto& [k, v] : live_annotations.items()) {
    if (!HiddenAnnotation(k)) annotations[k] = v;
  }
  s["labels"] = labels;
  s["annotations"] = annotations;
  if (meta.contains("uid")) s["uid"] = meta["uid"];
  s["id"] = spec.kind.namespaced ? ns + "/" + name : name;
  if (!nic.empty()) s["nic_labels"] = nic;
  spec.to_state(object, s);
  return s;
}

json BuildObject(const CollectionSpec& spec, const json& desired, json base, const NicMetadata& nic) {
  json obj = base.is_object() ? std::move(base) : json::object();
  obj["apiVersion"] = spec.kind.api_version;
  obj["kind"] = spec.kind.kind;
  if (!obj.contains("metadata") || !obj["metadata"].is_object()) obj["metadata"] = json::object();
  json& meta = obj["metadata"];
  if (!meta.contains("name")) meta["name"] = desired.value("name", "");
  if (spec.kind.namespaced && !meta.contains("namespace")) {
    std::string ns = desired.value("namespace", "");
    meta["namespace"] = ns.empty() ? "default" : ns;
  }

  json live_labels = StringMap(meta.value("labels", json::object()));
  json labels = json::object();
  if (desired.contains("labels")) {
    for (auto& [k, v] : live_labels.items()) {
      if (HiddenLabel(k)) labels[k] = v;
    }
    const json want = StringMap(desired["labels"]);
    for (auto& [k, v] : want.items()) labels[k] = v;
  } else {
    labels = live_labels;
  }
  for (const auto& [k, v] : nic.labels) labels[k] = v;
  meta["labels"] = labels;

  json live_ann = StringMap(meta.value("annotations", json::object()));
  json ann = json::object();
  if (desired.contains("annotations")) {
    for (auto& [k, v] : live_ann.items()) {
      if (HiddenAnnotation(k)) ann[k] = v;
    }
    const json want = StringMap(desired["annotations"]);
    for (auto& [k, v] : want.items()) ann[k] = v;
  } else {
    ann = live_ann;
  }
  for (const auto& [k, v] : nic.annotations) ann[k] = v;
  if (spec.kind.kind == "StorageClass" && desired.contains("is_default") && desired["is_default"].is_boolean()) {
    if (desired["is_default"].get<bool>()) ann[kAnnotationDefaultClass] = "true";
    else ann.erase(kAnnotationDefaultClass);
  }
  if (ann.empty()) meta.erase("annotations");
  else meta["annotations"] = ann;

  spec.to_object(desired, obj);
  return obj;
}

bool SameValue(const json* a, const json* b) {
  json ca = a == nullptr ? json() : Canon(*a);
  json cb = b == nullptr ? json() : Canon(*b);
  auto empty = [](const json& x) { return x.is_null() || ((x.is_object() || x.is_array()) && x.empty()) ||
                                          (x.is_string() && x.get_ref<const std::string&>().empty()); };
  if (empty(ca) && empty(cb)) return true;
  return ca == cb;
}

std::string SafeLabelValue(const std::string& value) {
  std::string out;
  for (char c : value) {
    unsigned char u = static_cast<unsigned char>(c);
    out += (std::isalnum(u) || c == '-' || c == '_' || c == '.') ? c : '-';
  }
  if (out.size() > 63) out.resize(63);
  while (!out.empty() && !std::isalnum(static_cast<unsigned char>(out.back()))) out.pop_back();
  while (!out.empty() && !std::isalnum(static_cast<unsigned char>(out.front()))) out.erase(out.begin());
  return out;
}

}  // namespace nic::kubeprov

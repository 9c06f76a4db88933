// outputs.json (design §7.4): what the application stages (04+) read instead of stage 02/03's
// Terraform outputs. Derived from the NIC document only (plus non-sensitive Terraform root
// outputs when importing), so a deploy can produce the same file from its state later.
#include "nic/importer.h"

namespace nic {
namespace {

using nlohmann::json;

// Items of a collection, whether stored as an array (state.h) or an object.
std::vector<const json*> Items(const json& section, std::initializer_list<const char*> path) {
  const json* cur = &section;
  for (const char* p : path) {
    if (!cur->is_object()) return {};
    auto it = cur->find(p);
    if (it == cur->end()) return {};
    cur = &*it;
  }
  std::vector<const json*> out;
  if (cur->is_array()) {
    for (const auto& e : *cur) out.push_back(&e);
  } else if (cur->is_object()) {
    for (const auto& [k, e] : cur->items()) out.push_back(&e);
  }
  return out;
}

json Field(const json* obj, const char* key) {
  if (obj == nullptr || !obj->is_object()) return nullptr;
  auto it = obj->find(key);
  return it == obj->end() ? json() : *it;
}

const json* Singleton(const json& section, const char* name) {
  auto it = section.find(name);
  return it != section.end() && it->is_object() ? &*it : nullptr;
}

json FromOutputs(const OutputsContext& ctx, const char* name) {
  auto it = ctx.terraform_outputs.find(name);
  return it == ctx.terraform_outputs.end() ? json() : it->second;
}

json FirstNonNull(std::initializer_list<json> values) {
  for (const auto& v : values) {
    if (!v.is_null() && !(v.is_string() && v.get<std::string>().empty())) return v;
  }
  return nullptr;
}

json OrNull(const std::string& s) { return s.empty() ? json() : json(s); }

}  // namespace

json BuildOutputs(const StateDocument& doc, const OutputsContext& ctx) {
  const json& cloud = doc.cloud;
  const json& k8s = doc.kubernetes;
  const json* cluster = Singleton(cloud, "cluster");
  const json* vpc = Singleton(cloud, "vpc");
  const json* storage = Singleton(cloud, "storage");
  const json* oidc = Singleton(cloud, "oidc_provider");

  json out = json::object();
  out["format_version"] = "1.0";
  out["provider"] = doc.provider;
  out["project_name"] = doc.project_name;
  out["region"] = OrNull(doc.region);

  // Without a cloud.cluster (e.g. only stage 03 imported), a cluster read by a Terraform data
  // source fills in.
  const json* dc = cluster == nullptr ? &ctx.data_cluster : nullptr;
  out["cluster"] = {
      {"name", FirstNonNull({Field(cluster, "name"), Field(dc, "name")})},
      {"id", Field(cluster, "id")},
      {"arn", Field(cluster, "arn")},
      {"endpoint", FirstNonNull({Field(cluster, "endpoint"), Field(dc, "endpoint")})},
      {"ca_certificate", FirstNonNull({Field(cluster, "ca_certificate"), Field(dc, "ca_certificate")})},
      {"kubernetes_version", FirstNonNull({Field(cluster, "version"), Field(dc, "kubernetes_version")})},
      {"oidc_issuer",
       FirstNonNull({Field(cluster, "oidc_issuer"), FromOutputs(ctx, "cluster_oidc_issuer_url")})},
  };

  json subnet_ids = json::array();
  for (const json* s : Items(cloud, {"vpc", "subnets"})) {
    if (json id = Field(s, "id"); !id.is_null()) subnet_ids.push_back(id);
  }
  json sg_ids = json::array();
  for (const json* s : Items(cloud, {"security_groups"})) {
    if (json id = Field(s, "id"); !id.is_null()) sg_ids.push_back(id);
  }
  json networking = {
      {"vpc_id", Field(vpc, "id")},
      {"vpc_cidr", Field(vpc, "cidr")},
      {"subnet_ids", subnet_ids},
      {"security_group_ids", sg_ids},
  };
  if (doc.provider == "gcp") {
    networking["network"] = FirstNonNull({Field(cluster, "network"), Field(vpc, "name")});
    networking["subnetwork"] = Field(cluster, "subnetwork");
    networking["project_id"] = FromOutputs(ctx, "project_id");
  }
  if (doc.provider == "azure") {
    networking["resource_group_name"] =
        FirstNonNull({Field(cluster, "resource_group_name"), FromOutputs(ctx, "resource_group_name")});
    networking["node_resource_group"] = Field(cluster, "node_resource_group");
  }
  out["networking"] = std::move(networking);

  out["kubeconfig"] = {{"path", OrNull(ctx.kubeconfig_path)},
                       {"context", OrNull(ctx.kubeconfig_context)}};

  json namespaces = json::array();
  for (const json* n : Items(k8s, {"namespaces"})) {
    if (json name = Field(n, "name"); !name.is_null()) namespaces.push_back(name);
  }
  // Service account -> the cloud identity it is bound to (IRSA role, GKE/Azure workload
  // identity), null when none.
  json sas = json::object();
  for (const json* s : Items(k8s, {"service_accounts"})) {
    json name = Field(s, "name"), ns = Field(s, "namespace");
    if (!name.is_string()) continue;
    std::string key = ns.is_string() ? ns.get<std::string>() + "/" + name.get<std::string>()
                                     : name.get<std::string>();
    json ann = Field(s, "annotations");
    json identity;
    if (ann.is_object()) {
      for (const char* k : {"eks.amazonaws.com/role-arn", "iam.gke.io/gcp-service-account",
                            "azure.workload.identity/client-id"}) {
        if (ann.contains(k)) identity = ann[k];
      }
    }
    sas[key] = identity;
  }
  json classes = json::array();
  json default_class;
  for (const json* c : Items(k8s, {"storage_classes"})) {
    json name = Field(c, "name");
    if (name.is_null()) continue;
    classes.push_back(name);
    if (Field(c, "is_default") == true) default_class = name;
  }
  out["kubernetes"] = {{"namespaces", namespaces},
                       {"service_accounts", sas},
                       {"storage_classes", classes},
                       {"default_storage_class", default_class}};

  json groups = json::object();
  json node_role;
  for (const json* g : Items(cloud, {"node_groups"})) {
    json name = Field(g, "name");
    if (!name.is_string()) continue;
    json sc = Field(g, "scaling_config");
    json instance_type = Field(g, "instance_type");
    if (instance_type.is_null()) {
      json types = Field(g, "instance_types");
      if (types.is_array() && !types.empty()) instance_type = types[0];
    }
    groups[name.get<std::string>()] = {
        {"id", Field(g, "id")},
        {"arn", Field(g, "arn")},
        {"instance_type", instance_type},
        {"min_size", Field(&sc, "min_size")},
        {"max_size", Field(&sc, "max_size")},
        {"desired_size", Field(&sc, "desired_size")},
    };
    if (node_role.is_null()) node_role = Field(g, "node_role_arn");
  }
  out["node_groups"] = std::move(groups);

  json volume_ids = json::array();
  for (const json* v : Items(cloud, {"volumes"})) {
    if (json id = Field(v, "id"); !id.is_null()) volume_ids.push_back(id);
  }
  json storage_type = Field(storage, "type");
  if (storage_type.is_null()) {
    bool ebs_addon = false;
    for (const json* a : Items(cloud, {"cluster_addons"})) {
      if (Field(a, "name") == "aws-ebs-csi-driver") ebs_addon = true;
    }
    if (ebs_addon || !volume_ids.empty()) storage_type = "ebs";
  }
  out["storage"] = {
      {"type", storage_type},
      {"volume_ids", volume_ids},
      {"file_system_id", Field(storage, "id")},
      {"nfs_endpoint", FirstNonNull({Field(storage, "dns_name"), FromOutputs(ctx, "nfs_endpoint")})},
      {"storage_class", default_class},
  };

  json autoscaler = FromOutputs(ctx, "cluster_autoscaler_role_arn");
  if (autoscaler.is_null()) {
    for (const json* r : Items(cloud, {"iam_roles"})) {
      json name = Field(r, "name");
      if (name.is_string() && name.get<std::string>().find("cluster-autoscaler") != std::string::npos) {
        autoscaler = Field(r, "arn");
      }
    }
  }
  json iam = {
      {"cluster_role_arn", Field(cluster, "role_arn")},
      {"node_role_arn", node_role},
      {"oidc_provider_arn", FirstNonNull({Field(oidc, "arn"), FromOutputs(ctx, "oidc_provider_arn")})},
      {"cluster_autoscaler_role_arn", autoscaler},
  };
  if (doc.provider == "gcp") {
    json email;
    for (const json* s : Items(cloud, {"service_accounts"})) {
      if (email.is_null()) email = Field(s, "email");
    }
    iam["service_account_email"] = email;
  }
  if (doc.provider == "azure" && cluster != nullptr) {
    json identity = Field(cluster, "identity");
    iam["cluster_principal_id"] = Field(&identity, "principal_id");
    json kubelet = Field(cluster, "kubelet_identity");
    iam["kubelet_client_id"] = Field(&kubelet, "client_id");
  }
  out["iam"] = std::move(iam);
  return out;
}

}  // namespace nic

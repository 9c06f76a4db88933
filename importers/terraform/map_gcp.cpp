// GCP resources of Nebari's stage 02 (template/gcp: modules registry-jupyterhub and
// kubernetes) and the network pieces GKE states commonly carry. Attribute names are the
// hashicorp/google provider's.
#include "importers/terraform/mapping.h"

namespace nic::tfimport {
namespace {

bool Network(const MapInput& in, MapOutput* out) {
  const json& a = in.attrs;
  json v = WithId(a);
  Copy(v, "name", a, "name");
  Copy(v, "self_link", a, "self_link");
  CopyBool(v, "auto_create_subnetworks", a, "auto_create_subnetworks");
  Copy(v, "routing_mode", a, "routing_mode");
  Copy(v, "project", a, "project");
  AddSingleton(out, "cloud.vpc", std::move(v));
  return true;
}

bool Subnetwork(const MapInput& in, MapOutput* out) {
  const json& a = in.attrs;
  json v = WithId(a);
  Copy(v, "name", a, "name");
  Copy(v, "cidr", a, "ip_cidr_range");
  Copy(v, "region", a, "region");
  Copy(v, "network", a, "network");
  Copy(v, "self_link", a, "self_link");
  CopyBool(v, "private_ip_google_access", a, "private_ip_google_access");
  if (const json* s = Attr(a, "secondary_ip_range"); s != nullptr && s->is_array()) {
    json ranges = json::array();
    for (const auto& r : *s) {
      json e = json::object();
      Copy(e, "range_name", r, "range_name");
      Copy(e, "ip_cidr_range", r, "ip_cidr_range");
      ranges.push_back(std::move(e));
    }
    v["secondary_ip_ranges"] = std::move(ranges);
  }
  return AddKeyed(out, "cloud.vpc.subnets", std::move(v));
}

bool Router(const MapInput& in, MapOutput* out) {
  const json& a = in.attrs;
  json v = WithId(a);
  Copy(v, "name", a, "name");
  Copy(v, "region", a, "region");
  Copy(v, "network", a, "network");
  Copy(v, "self_link", a, "self_link");
  return AddKeyed(out, "cloud.routers", std::move(v));
}

bool RouterNat(const MapInput& in, MapOutput* out) {
  const json& a = in.attrs;
  json v = WithId(a);
  v["kind"] = "nat";
  Copy(v, "name", a, "name");
  Copy(v, "router", a, "router");
  Copy(v, "region", a, "region");
  Copy(v, "nat_ip_allocate_option", a, "nat_ip_allocate_option");
  Copy(v, "source_subnetwork_ip_ranges_to_nat", a, "source_subnetwork_ip_ranges_to_nat");
  return AddKeyed(out, "cloud.gateways", std::move(v));
}

bool Firewall(const MapInput& in, MapOutput* out) {
  const json& a = in.attrs;
  json v = WithId(a);
  Copy(v, "name", a, "name");
  Copy(v, "network", a, "network");
  Copy(v, "direction", a, "direction");
  CopyInt(v, "priority", a, "priority");
  CopyStrings(v, "source_ranges", a, "source_ranges");
  CopyStrings(v, "target_tags", a, "target_tags");
  Copy(v, "allow", a, "allow");
  Copy(v, "deny", a, "deny");
  Copy(v, "self_link", a, "self_link");
  return AddKeyed(out, "cloud.firewalls", std::move(v));
}

bool Address(const MapInput& in, MapOutput* out) {
  const json& a = in.attrs;
  json v = WithId(a);
  Copy(v, "name", a, "name");
  Copy(v, "address", a, "address");
  Copy(v, "address_type", a, "address_type");
  Copy(v, "region", a, "region");
  return AddKeyed(out, "cloud.addresses", std::move(v));
}

bool ArtifactRegistry(const MapInput& in, MapOutput* out) {
  const json& a = in.attrs;
  json v = WithId(a);
  Copy(v, "name", a, "repository_id");
  Copy(v, "location", a, "location");
  Copy(v, "format", a, "format");
  Copy(v, "resource_name", a, "name");
  v["kind"] = "artifact_registry";
  return AddKeyed(out, "cloud.registries", std::move(v));
}

// google_container_registry (Nebari up to 2024.12.1) has no name: it is the project's GCR
// bucket for a location.
bool ContainerRegistry(const MapInput& in, MapOutput* out) {
  const json& a = in.attrs;
  json v = WithId(a);
  std::string location = Str(a, "location");
  v["name"] = location.empty() ? "gcr" : "gcr-" + location;
  Copy(v, "location", a, "location");
  Copy(v, "bucket_self_link", a, "bucket_self_link");
  v["kind"] = "container_registry";
  return AddKeyed(out, "cloud.registries", std::move(v));
}

bool ContainerCluster(const MapInput& in, MapOutput* out) {
  const json& a = in.attrs;
  json v = WithId(a);
  Copy(v, "name", a, "name");
  Copy(v, "location", a, "location");
  std::string endpoint = Str(a, "endpoint");
  if (!endpoint.empty()) v["endpoint"] = "https://" + endpoint;
  Copy(v, "ca_certificate", a, "master_auth.0.cluster_ca_certificate");
  Copy(v, "version", a, "master_version");
  Copy(v, "min_master_version", a, "min_master_version");
  Copy(v, "network", a, "network");
  Copy(v, "subnetwork", a, "subnetwork");
  Copy(v, "self_link", a, "self_link");
  CopyStrings(v, "node_locations", a, "node_locations");
  Copy(v, "workload_pool", a, "workload_identity_config.0.workload_pool");
  Copy(v, "release_channel", a, "release_channel.0.channel");
  Copy(v, "cluster_ipv4_cidr", a, "cluster_ipv4_cidr");
  Copy(v, "services_ipv4_cidr", a, "services_ipv4_cidr");
  CopyBool(v, "remove_default_node_pool", a, "remove_default_node_pool");
  CopyBool(v, "deletion_protection", a, "deletion_protection");
  if (Attr(a, "private_cluster_config.0") != nullptr) {
    json p = json::object();
    CopyBool(p, "enable_private_nodes", a, "private_cluster_config.0.enable_private_nodes");
    CopyBool(p, "enable_private_endpoint", a, "private_cluster_config.0.enable_private_endpoint");
    Copy(p, "master_ipv4_cidr_block", a, "private_cluster_config.0.master_ipv4_cidr_block");
    v["private_cluster_config"] = std::move(p);
  }
  Copy(v, "resource_labels", a, "resource_labels");
  AddSingleton(out, "cloud.cluster", std::move(v));
  return true;
}

bool NodePool(const MapInput& in, MapOutput* out) {
  const json& a = in.attrs;
  json v = WithId(a);
  Copy(v, "name", a, "name");
  Copy(v, "cluster", a, "cluster");
  Copy(v, "location", a, "location");
  Copy(v, "instance_type", a, "node_config.0.machine_type");
  CopyInt(v, "disk_size_gb", a, "node_config.0.disk_size_gb");
  Copy(v, "disk_type", a, "node_config.0.disk_type");
  Copy(v, "image_type", a, "node_config.0.image_type");
  CopyBool(v, "preemptible", a, "node_config.0.preemptible");
  CopyBool(v, "spot", a, "node_config.0.spot");
  Copy(v, "labels", a, "node_config.0.labels");
  Copy(v, "service_account", a, "node_config.0.service_account");
  CopyStrings(v, "oauth_scopes", a, "node_config.0.oauth_scopes");
  if (const json* t = Attr(a, "node_config.0.taint"); t != nullptr && t->is_array()) {
    json taints = json::array();
    for (const auto& e : *t) {
      json x = json::object();
      for (const char* k : {"key", "value", "effect"}) Copy(x, k, e, k);
      taints.push_back(std::move(x));
    }
    v["taints"] = std::move(taints);
  }
  if (const json* g = Attr(a, "node_config.0.guest_accelerator"); g != nullptr && g->is_array() && !g->empty()) {
    json accs = json::array();
    for (const auto& e : *g) {
      json x = json::object();
      Copy(x, "type", e, "type");
      CopyInt(x, "count", e, "count");
      accs.push_back(std::move(x));
    }
    v["guest_accelerators"] = std::move(accs);
  }
  json sc = json::object();
  CopyInt(sc, "min_size", a, "autoscaling.0.min_node_count");
  CopyInt(sc, "max_size", a, "autoscaling.0.max_node_count");
  CopyInt(sc, "desired_size", a, "node_count");
  v["scaling_config"] = std::move(sc);
  CopyInt(v, "initial_node_count", a, "initial_node_count");
  Copy(v, "version", a, "version");
  CopyStrings(v, "node_locations", a, "node_locations");
  CopyStrings(v, "instance_group_urls", a, "instance_group_urls");
  return AddKeyed(out, "cloud.node_groups", std::move(v));
}

bool ServiceAccount(const MapInput& in, MapOutput* out) {
  const json& a = in.attrs;
  json v = WithId(a);
  Copy(v, "name", a, "account_id");
  Copy(v, "email", a, "email");
  Copy(v, "unique_id", a, "unique_id");
  Copy(v, "display_name", a, "display_name");
  Copy(v, "project", a, "project");
  Copy(v, "resource_name", a, "name");
  return AddKeyed(out, "cloud.service_accounts", std::move(v));
}

bool ProjectIamMember(const MapInput& in, MapOutput* out) {
  const json& a = in.attrs;
  json v = WithId(a);
  Copy(v, "project", a, "project");
  Copy(v, "role", a, "role");
  Copy(v, "member", a, "member");
  return AddKeyed(out, "cloud.iam_members", std::move(v));
}

}  // namespace

const std::vector<TypeMapping>& GcpMappings() {
  static const std::vector<TypeMapping> kTable = {
      {"google_compute_network", "VPC", Network},
      {"google_compute_subnetwork", "Subnets", Subnetwork},
      {"google_compute_router", "Routers", Router},
      {"google_compute_router_nat", "Gateways", RouterNat},
      {"google_compute_firewall", "Firewalls", Firewall},
      {"google_compute_address", "Addresses", Address},
      {"google_artifact_registry_repository", "Registries", ArtifactRegistry},
      {"google_container_registry", "Registries", ContainerRegistry},
      {"google_container_cluster", "Cluster", ContainerCluster},
      {"google_container_node_pool", "Node groups", NodePool},
      {"google_service_account", "Service accounts (cloud)", ServiceAccount},
      {"google_project_iam_member", "IAM members", ProjectIamMember},
  };
  return kTable;
}

}  // namespace nic::tfimport

// Azure resources of Nebari's stage 02 (template/azure: resource group, modules registry and
// kubernetes) and the network/identity pieces AKS states commonly carry. Attribute names are
// the hashicorp/azurerm provider's (v3 `enable_auto_scaling` and v4 `auto_scaling_enabled`
// are both read).
#include "importers/terraform/mapping.h"

namespace nic::tfimport {
namespace {

void CopyAutoscaling(json& v, const json& a, const std::string& prefix) {
  if (auto b = Bool(a, prefix + "auto_scaling_enabled")) {
    v["auto_scaling_enabled"] = *b;
  } else if (auto b3 = Bool(a, prefix + "enable_auto_scaling")) {
    v["auto_scaling_enabled"] = *b3;
  }
}

json AksPool(const json& a, const std::string& prefix) {
  json v = json::object();
  Copy(v, "name", a, prefix + "name");
  Copy(v, "instance_type", a, prefix + "vm_size");
  json sc = json::object();
  CopyInt(sc, "min_size", a, prefix + "min_count");
  CopyInt(sc, "max_size", a, prefix + "max_count");
  CopyInt(sc, "desired_size", a, prefix + "node_count");
  v["scaling_config"] = std::move(sc);
  CopyAutoscaling(v, a, prefix);
  Copy(v, "labels", a, prefix + "node_labels");
  CopyStrings(v, "taints", a, prefix + "node_taints");
  CopyInt(v, "os_disk_size_gb", a, prefix + "os_disk_size_gb");
  Copy(v, "vnet_subnet_id", a, prefix + "vnet_subnet_id");
  Copy(v, "orchestrator_version", a, prefix + "orchestrator_version");
  CopyStrings(v, "zones", a, prefix + "zones");
  Copy(v, "mode", a, prefix + "mode");
  Copy(v, "priority", a, prefix + "priority");
  Copy(v, "eviction_policy", a, prefix + "eviction_policy");
  return v;
}

bool ResourceGroup(const MapInput& in, MapOutput* out) {
  const json& a = in.attrs;
  json v = WithId(a);
  Copy(v, "name", a, "name");
  Copy(v, "location", a, "location");
  Copy(v, "tags", a, "tags");
  return AddKeyed(out, "cloud.resource_groups", std::move(v));
}

bool KubernetesCluster(const MapInput& in, MapOutput* out) {
  const json& a = in.attrs;
  json v = WithId(a);
  Copy(v, "name", a, "name");
  Copy(v, "location", a, "location");
  Copy(v, "resource_group_name", a, "resource_group_name");
  Copy(v, "version", a, "kubernetes_version");
  Copy(v, "current_version", a, "current_kubernetes_version");
  Copy(v, "dns_prefix", a, "dns_prefix");
  Copy(v, "fqdn", a, "fqdn");
  std::string fqdn = Str(a, "fqdn");
  // The API server URL without the port: kube_config[0].host ("https://<fqdn>:443") is marked
  // sensitive by the provider and must not be reproduced.
  if (!fqdn.empty()) v["endpoint"] = "https://" + fqdn;
  Copy(v, "private_fqdn", a, "private_fqdn");
  Copy(v, "node_resource_group", a, "node_resource_group");
  CopyBool(v, "oidc_issuer_enabled", a, "oidc_issuer_enabled");
  Copy(v, "oidc_issuer", a, "oidc_issuer_url");
  CopyBool(v, "workload_identity_enabled", a, "workload_identity_enabled");
  Copy(v, "sku_tier", a, "sku_tier");
  if (Attr(a, "identity.0") != nullptr) {
    json id = json::object();
    Copy(id, "type", a, "identity.0.type");
    Copy(id, "principal_id", a, "identity.0.principal_id");
    Copy(id, "tenant_id", a, "identity.0.tenant_id");
    v["identity"] = std::move(id);
  }
  if (Attr(a, "kubelet_identity.0") != nullptr) {
    json id = json::object();
    Copy(id, "client_id", a, "kubelet_identity.0.client_id");
    Copy(id, "object_id", a, "kubelet_identity.0.object_id");
    Copy(id, "user_assigned_identity_id", a, "kubelet_identity.0.user_assigned_identity_id");
    v["kubelet_identity"] = std::move(id);
  }
  if (Attr(a, "network_profile.0") != nullptr) {
    json np = json::object();
    for (const char* k : {"network_plugin", "network_policy", "service_cidr", "dns_service_ip",
                          "pod_cidr", "load_balancer_sku", "outbound_type"}) {
      Copy(np, k, a, std::string("network_profile.0.") + k);
    }
    v["network_profile"] = std::move(np);
  }
  Copy(v, "tags", a, "tags");
  std::string pool = Str(a, "default_node_pool.0.name");
  if (!pool.empty()) v["default_node_pool"] = pool;
  AddSingleton(out, "cloud.cluster", std::move(v));

  // Nebari's first node group (general) is the cluster's inline default_node_pool: NIC tracks
  // it as a node group like the others, owned by this same Terraform resource.
  if (!pool.empty()) {
    json ng = AksPool(a, "default_node_pool.0.");
    ng["default_node_pool"] = true;
    ng["cluster_id"] = Str(a, "id");
    return AddKeyed(out, "cloud.node_groups", std::move(ng));
  }
  return true;
}

bool NodePool(const MapInput& in, MapOutput* out) {
  const json& a = in.attrs;
  json v = AksPool(a, "");
  std::string id = Str(a, "id");
  if (!id.empty()) v["id"] = id;
  Copy(v, "cluster_id", a, "kubernetes_cluster_id");
  return AddKeyed(out, "cloud.node_groups", std::move(v));
}

bool ContainerRegistry(const MapInput& in, MapOutput* out) {
  const json& a = in.attrs;
  json v = WithId(a);
  Copy(v, "name", a, "name");
  Copy(v, "login_server", a, "login_server");
  Copy(v, "sku", a, "sku");
  CopyBool(v, "admin_enabled", a, "admin_enabled");
  Copy(v, "location", a, "location");
  Copy(v, "resource_group_name", a, "resource_group_name");
  v["kind"] = "acr";
  return AddKeyed(out, "cloud.registries", std::move(v));
}

bool VirtualNetwork(const MapInput& in, MapOutput* out) {
  const json& a = in.attrs;
  json v = WithId(a);
  Copy(v, "name", a, "name");
  CopyStrings(v, "address_space", a, "address_space");
  if (v.contains("address_space") && !v["address_space"].empty()) v["cidr"] = v["address_space"][0];
  Copy(v, "location", a, "location");
  Copy(v, "resource_group_name", a, "resource_group_name");
  AddSingleton(out, "cloud.vpc", std::move(v));
  return true;
}

bool Subnet(const MapInput& in, MapOutput* out) {
  const json& a = in.attrs;
  json v = WithId(a);
  Copy(v, "name", a, "name");
  CopyStrings(v, "address_prefixes", a, "address_prefixes");
  if (!v.contains("address_prefixes")) CopyStrings(v, "address_prefixes", a, "address_prefix");
  if (v.contains("address_prefixes") && !v["address_prefixes"].empty()) v["cidr"] = v["address_prefixes"][0];
  Copy(v, "virtual_network_name", a, "virtual_network_name");
  Copy(v, "resource_group_name", a, "resource_group_name");
  return AddKeyed(out, "cloud.vpc.subnets", std::move(v));
}

bool NetworkSecurityGroup(const MapInput& in, MapOutput* out) {
  const json& a = in.attrs;
  json v = WithId(a);
  Copy(v, "name", a, "name");
  Copy(v, "location", a, "location");
  Copy(v, "resource_group_name", a, "resource_group_name");
  Copy(v, "security_rules", a, "security_rule");
  return AddKeyed(out, "cloud.security_groups", std::move(v));
}

bool UserAssignedIdentity(const MapInput& in, MapOutput* out) {
  const json& a = in.attrs;
  json v = WithId(a);
  Copy(v, "name", a, "name");
  Copy(v, "principal_id", a, "principal_id");
  Copy(v, "client_id", a, "client_id");
  Copy(v, "tenant_id", a, "tenant_id");
  Copy(v, "resource_group_name", a, "resource_group_name");
  return AddKeyed(out, "cloud.identities", std::move(v));
}

bool RoleAssignment(const MapInput& in, MapOutput* out) {
  const json& a = in.attrs;
  json v = WithId(a);
  Copy(v, "scope", a, "scope");
  Copy(v, "role_definition_name", a, "role_definition_name");
  Copy(v, "role_definition_id", a, "role_definition_id");
  Copy(v, "principal_id", a, "principal_id");
  Copy(v, "principal_type", a, "principal_type");
  return AddKeyed(out, "cloud.role_assignments", std::move(v));
}

bool PublicIp(const MapInput& in, MapOutput* out) {
  const json& a = in.attrs;
  json v = WithId(a);
  Copy(v, "name", a, "name");
  Copy(v, "address", a, "ip_address");
  Copy(v, "allocation_method", a, "allocation_method");
  Copy(v, "sku", a, "sku");
  return AddKeyed(out, "cloud.addresses", std::move(v));
}

bool StorageAccount(const MapInput& in, MapOutput* out) {
  const json& a = in.attrs;
  json v = WithId(a);
  Copy(v, "name", a, "name");
  Copy(v, "account_tier", a, "account_tier");
  Copy(v, "account_replication_type", a, "account_replication_type");
  Copy(v, "account_kind", a, "account_kind");
  Copy(v, "location", a, "location");
  Copy(v, "resource_group_name", a, "resource_group_name");
  return AddKeyed(out, "cloud.storage_accounts", std::move(v));
}

}  // namespace

const std::vector<TypeMapping>& AzureMappings() {
  static const std::vector<TypeMapping> kTable = {
      {"azurerm_resource_group", "Resource groups", ResourceGroup},
      {"azurerm_kubernetes_cluster", "Cluster", KubernetesCluster},
      {"azurerm_kubernetes_cluster_node_pool", "Node groups", NodePool},
      {"azurerm_container_registry", "Registries", ContainerRegistry},
      {"azurerm_virtual_network", "VPC", VirtualNetwork},
      {"azurerm_subnet", "Subnets", Subnet},
      {"azurerm_network_security_group", "Security groups", NetworkSecurityGroup},
      {"azurerm_user_assigned_identity", "Identities", UserAssignedIdentity},
      {"azurerm_role_assignment", "Role assignments", RoleAssignment},
      {"azurerm_public_ip", "Addresses", PublicIp},
      {"azurerm_storage_account", "Storage accounts", StorageAccount},
  };
  return kTable;
}

}  // namespace nic::tfimport

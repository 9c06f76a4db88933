// AWS resources of Nebari's stage 02 (template/aws: modules accounting, network, registry,
// efs, kubernetes), plus the neighbours real EKS states carry (NAT gateways, EIPs, routes,
// security group rules, EBS volumes, KMS keys). Attribute names are the hashicorp/aws
// provider's.
#include "importers/terraform/mapping.h"

namespace nic::tfimport {
namespace {

bool Vpc(const MapInput& in, MapOutput* out) {
  const json& a = in.attrs;
  json v = WithId(a);
  Copy(v, "arn", a, "arn");
  Copy(v, "cidr", a, "cidr_block");
  CopyBool(v, "enable_dns_hostnames", a, "enable_dns_hostnames");
  CopyBool(v, "enable_dns_support", a, "enable_dns_support");
  Copy(v, "tags", a, "tags");
  AddSingleton(out, "cloud.vpc", std::move(v));
  return true;
}

bool Subnet(const MapInput& in, MapOutput* out) {
  const json& a = in.attrs;
  json v = WithId(a);
  Copy(v, "arn", a, "arn");
  Copy(v, "cidr", a, "cidr_block");
  Copy(v, "availability_zone", a, "availability_zone");
  Copy(v, "vpc_id", a, "vpc_id");
  CopyBool(v, "map_public_ip_on_launch", a, "map_public_ip_on_launch");
  if (auto pub = Bool(a, "map_public_ip_on_launch")) v["type"] = *pub ? "public" : "private";
  Copy(v, "tags", a, "tags");
  return AddKeyed(out, "cloud.vpc.subnets", std::move(v));
}

bool InternetGateway(const MapInput& in, MapOutput* out) {
  json v = WithId(in.attrs);
  v["kind"] = "internet";
  Copy(v, "arn", in.attrs, "arn");
  Copy(v, "vpc_id", in.attrs, "vpc_id");
  Copy(v, "tags", in.attrs, "tags");
  return AddKeyed(out, "cloud.gateways", std::move(v));
}

bool NatGateway(const MapInput& in, MapOutput* out) {
  json v = WithId(in.attrs);
  v["kind"] = "nat";
  Copy(v, "subnet_id", in.attrs, "subnet_id");
  Copy(v, "allocation_id", in.attrs, "allocation_id");
  Copy(v, "connectivity_type", in.attrs, "connectivity_type");
  Copy(v, "public_ip", in.attrs, "public_ip");
  Copy(v, "tags", in.attrs, "tags");
  return AddKeyed(out, "cloud.gateways", std::move(v));
}

bool Eip(const MapInput& in, MapOutput* out) {
  json v = WithId(in.attrs);
  Copy(v, "public_ip", in.attrs, "public_ip");
  Copy(v, "domain", in.attrs, "domain");
  Copy(v, "allocation_id", in.attrs, "allocation_id");
  Copy(v, "tags", in.attrs, "tags");
  return AddKeyed(out, "cloud.addresses", std::move(v));
}

bool RouteTable(const MapInput& in, MapOutput* out) {
  json v = WithId(in.attrs);
  Copy(v, "arn", in.attrs, "arn");
  Copy(v, "vpc_id", in.attrs, "vpc_id");
  if (const json* routes = Attr(in.attrs, "route"); routes != nullptr && routes->is_array()) {
    json rs = json::array();
    for (const auto& r : *routes) {
      json e = json::object();
      for (const char* k : {"cidr_block", "ipv6_cidr_block", "gateway_id", "nat_gateway_id",
                            "transit_gateway_id", "vpc_peering_connection_id"}) {
        if (const json* x = Attr(r, k); x != nullptr && !(x->is_string() && x->get<std::string>().empty())) {
          e[k] = *x;
        }
      }
      rs.push_back(std::move(e));
    }
    v["routes"] = std::move(rs);
  }
  Copy(v, "tags", in.attrs, "tags");
  return AddKeyed(out, "cloud.route_tables", std::move(v));
}

bool RouteTableAssociation(const MapInput& in, MapOutput* out) {
  json v = WithId(in.attrs);
  Copy(v, "route_table_id", in.attrs, "route_table_id");
  Copy(v, "subnet_id", in.attrs, "subnet_id");
  Copy(v, "gateway_id", in.attrs, "gateway_id");
  return AddKeyed(out, "cloud.route_table_associations", std::move(v));
}

bool Route(const MapInput& in, MapOutput* out) {
  json v = WithId(in.attrs);
  for (const char* k : {"route_table_id", "destination_cidr_block", "gateway_id", "nat_gateway_id"}) {
    Copy(v, k, in.attrs, k);
  }
  return AddKeyed(out, "cloud.routes", std::move(v));
}

json SgRules(const json* rules) {
  json out = json::array();
  if (rules == nullptr || !rules->is_array()) return out;
  for (const auto& r : *rules) {
    json e = json::object();
    for (const char* k : {"protocol", "description", "self"}) Copy(e, k, r, k);
    CopyInt(e, "from_port", r, "from_port");
    CopyInt(e, "to_port", r, "to_port");
    CopyStrings(e, "cidr_blocks", r, "cidr_blocks");
    CopyStrings(e, "security_groups", r, "security_groups");
    out.push_back(std::move(e));
  }
  return out;
}

bool SecurityGroup(const MapInput& in, MapOutput* out) {
  const json& a = in.attrs;
  json v = WithId(a);
  Copy(v, "name", a, "name");
  Copy(v, "arn", a, "arn");
  Copy(v, "description", a, "description");
  Copy(v, "vpc_id", a, "vpc_id");
  v["ingress"] = SgRules(Attr(a, "ingress"));
  v["egress"] = SgRules(Attr(a, "egress"));
  Copy(v, "tags", a, "tags");
  return AddKeyed(out, "cloud.security_groups", std::move(v));
}

bool SecurityGroupRule(const MapInput& in, MapOutput* out) {
  const json& a = in.attrs;
  json v = WithId(a);
  for (const char* k : {"security_group_id", "type", "protocol", "source_security_group_id", "description"}) {
    Copy(v, k, a, k);
  }
  CopyBool(v, "self", a, "self");
  CopyInt(v, "from_port", a, "from_port");
  CopyInt(v, "to_port", a, "to_port");
  CopyStrings(v, "cidr_blocks", a, "cidr_blocks");
  return AddKeyed(out, "cloud.security_group_rules", std::move(v));
}

bool EcrRepository(const MapInput& in, MapOutput* out) {
  const json& a = in.attrs;
  json v = WithId(a);
  Copy(v, "name", a, "name");
  Copy(v, "arn", a, "arn");
  Copy(v, "repository_url", a, "repository_url");
  Copy(v, "registry_id", a, "registry_id");
  Copy(v, "image_tag_mutability", a, "image_tag_mutability");
  v["kind"] = "ecr";
  return AddKeyed(out, "cloud.registries", std::move(v));
}

bool ResourceGroupsGroup(const MapInput& in, MapOutput* out) {
  const json& a = in.attrs;
  json v = WithId(a);
  Copy(v, "name", a, "name");
  Copy(v, "arn", a, "arn");
  Copy(v, "resource_query", a, "resource_query.0.query");
  Copy(v, "tags", a, "tags");
  return AddKeyed(out, "cloud.resource_groups", std::move(v));
}

bool EfsFileSystem(const MapInput& in, MapOutput* out) {
  const json& a = in.attrs;
  json v = WithId(a);
  v["type"] = "efs";
  for (const char* k : {"arn", "creation_token", "dns_name", "kms_key_id", "performance_mode",
                        "throughput_mode"}) {
    Copy(v, k, a, k);
  }
  CopyBool(v, "encrypted", a, "encrypted");
  Copy(v, "provisioned_throughput_in_mibps", a, "provisioned_throughput_in_mibps");
  Copy(v, "tags", a, "tags");
  AddSingleton(out, "cloud.storage", std::move(v));
  return true;
}

bool EfsMountTarget(const MapInput& in, MapOutput* out) {
  const json& a = in.attrs;
  json v = WithId(a);
  for (const char* k : {"file_system_id", "subnet_id", "ip_address", "availability_zone_name",
                        "network_interface_id", "dns_name"}) {
    Copy(v, k, a, k);
  }
  CopyStrings(v, "security_groups", a, "security_groups");
  return AddKeyed(out, "cloud.storage.mount_targets", std::move(v));
}

bool EbsVolume(const MapInput& in, MapOutput* out) {
  const json& a = in.attrs;
  json v = WithId(a);
  Copy(v, "arn", a, "arn");
  CopyInt(v, "size", a, "size");
  Copy(v, "type", a, "type");
  CopyInt(v, "iops", a, "iops");
  CopyInt(v, "throughput", a, "throughput");
  CopyBool(v, "encrypted", a, "encrypted");
  Copy(v, "availability_zone", a, "availability_zone");
  Copy(v, "tags", a, "tags");
  return AddKeyed(out, "cloud.volumes", std::move(v));
}

bool EksCluster(const MapInput& in, MapOutput* out) {
  const json& a = in.attrs;
  json v = WithId(a);
  Copy(v, "name", a, "name");
  Copy(v, "arn", a, "arn");
  Copy(v, "endpoint", a, "endpoint");
  Copy(v, "ca_certificate", a, "certificate_authority.0.data");
  Copy(v, "version", a, "version");
  Copy(v, "platform_version", a, "platform_version");
  Copy(v, "status", a, "status");
  Copy(v, "oidc_issuer", a, "identity.0.oidc.0.issuer");
  Copy(v, "role_arn", a, "role_arn");
  Copy(v, "created_at", a, "created_at");
  CopyStrings(v, "enabled_cluster_log_types", a, "enabled_cluster_log_types");
  if (Attr(a, "vpc_config.0") != nullptr) {
    json vc = json::object();
    CopyStrings(vc, "subnet_ids", a, "vpc_config.0.subnet_ids");
    CopyStrings(vc, "security_group_ids", a, "vpc_config.0.security_group_ids");
    Copy(vc, "cluster_security_group_id", a, "vpc_config.0.cluster_security_group_id");
    Copy(vc, "vpc_id", a, "vpc_config.0.vpc_id");
    CopyBool(vc, "endpoint_private_access", a, "vpc_config.0.endpoint_private_access");
    CopyBool(vc, "endpoint_public_access", a, "vpc_config.0.endpoint_public_access");
    CopyStrings(vc, "public_access_cidrs", a, "vpc_config.0.public_access_cidrs");
    v["vpc_config"] = std::move(vc);
  }
  Copy(v, "encryption_key_arn", a, "encryption_config.0.provider.0.key_arn");
  Copy(v, "tags", a, "tags");
  AddSingleton(out, "cloud.cluster", std::move(v));
  return true;
}

bool EksNodeGroup(const MapInput& in, MapOutput* out) {
  const json& a = in.attrs;
  json v = WithId(a);
  std::string name = Str(a, "node_group_name");
  if (name.empty()) {
    out->reason = "aws_eks_node_group without node_group_name";
    return false;
  }
  v["name"] = name;
  Copy(v, "arn", a, "arn");
  Copy(v, "cluster_name", a, "cluster_name");
  CopyStrings(v, "instance_types", a, "instance_types");
  Copy(v, "ami_type", a, "ami_type");
  Copy(v, "capacity_type", a, "capacity_type");
  CopyInt(v, "disk_size", a, "disk_size");
  json sc = json::object();
  CopyInt(sc, "min_size", a, "scaling_config.0.min_size");
  CopyInt(sc, "max_size", a, "scaling_config.0.max_size");
  CopyInt(sc, "desired_size", a, "scaling_config.0.desired_size");
  v["scaling_config"] = std::move(sc);
  CopyStrings(v, "subnet_ids", a, "subnet_ids");
  Copy(v, "labels", a, "labels");
  if (const json* t = Attr(a, "taint"); t != nullptr && t->is_array()) {
    json taints = json::array();
    for (const auto& e : *t) {
      json x = json::object();
      for (const char* k : {"key", "value", "effect"}) Copy(x, k, e, k);
      taints.push_back(std::move(x));
    }
    v["taints"] = std::move(taints);
  }
  Copy(v, "node_role_arn", a, "node_role_arn");
  Copy(v, "status", a, "status");
  Copy(v, "version", a, "version");
  Copy(v, "release_version", a, "release_version");
  if (Attr(a, "launch_template.0") != nullptr) {
    json lt = json::object();
    Copy(lt, "id", a, "launch_template.0.id");
    Copy(lt, "name", a, "launch_template.0.name");
    Copy(lt, "version", a, "launch_template.0.version");
    v["launch_template"] = std::move(lt);
  }
  Copy(v, "autoscaling_group", a, "resources.0.autoscaling_groups.0.name");
  Copy(v, "tags", a, "tags");
  return AddKeyed(out, "cloud.node_groups", std::move(v));
}

bool LaunchTemplate(const MapInput& in, MapOutput* out) {
  const json& a = in.attrs;
  json v = WithId(a);
  Copy(v, "name", a, "name");
  Copy(v, "arn", a, "arn");
  CopyInt(v, "latest_version", a, "latest_version");
  CopyInt(v, "default_version", a, "default_version");
  Copy(v, "image_id", a, "image_id");
  Copy(v, "instance_type", a, "instance_type");
  return AddKeyed(out, "cloud.launch_templates", std::move(v));
}

bool EksAddon(const MapInput& in, MapOutput* out) {
  const json& a = in.attrs;
  json v = WithId(a);
  Copy(v, "name", a, "addon_name");
  Copy(v, "arn", a, "arn");
  Copy(v, "cluster_name", a, "cluster_name");
  Copy(v, "addon_version", a, "addon_version");
  Copy(v, "service_account_role_arn", a, "service_account_role_arn");
  Copy(v, "resolve_conflicts_on_create", a, "resolve_conflicts_on_create");
  Copy(v, "resolve_conflicts_on_update", a, "resolve_conflicts_on_update");
  Copy(v, "configuration_values", a, "configuration_values");
  return AddKeyed(out, "cloud.cluster_addons", std::move(v));
}

bool OidcProvider(const MapInput& in, MapOutput* out) {
  const json& a = in.attrs;
  json v = WithId(a);
  Copy(v, "arn", a, "arn");
  Copy(v, "url", a, "url");
  CopyStrings(v, "client_id_list", a, "client_id_list");
  CopyStrings(v, "thumbprint_list", a, "thumbprint_list");
  AddSingleton(out, "cloud.oidc_provider", std::move(v));
  return true;
}

bool IamRole(const MapInput& in, MapOutput* out) {
  const json& a = in.attrs;
  json v = WithId(a);
  Copy(v, "name", a, "name");
  Copy(v, "arn", a, "arn");
  Copy(v, "unique_id", a, "unique_id");
  Copy(v, "path", a, "path");
  Copy(v, "assume_role_policy", a, "assume_role_policy");
  Copy(v, "permissions_boundary", a, "permissions_boundary");
  CopyInt(v, "max_session_duration", a, "max_session_duration");
  Copy(v, "tags", a, "tags");
  return AddKeyed(out, "cloud.iam_roles", std::move(v));
}

bool IamRolePolicyAttachment(const MapInput& in, MapOutput* out) {
  json v = WithId(in.attrs);
  Copy(v, "role", in.attrs, "role");
  Copy(v, "policy_arn", in.attrs, "policy_arn");
  return AddKeyed(out, "cloud.iam_role_policy_attachments", std::move(v));
}

bool IamPolicy(const MapInput& in, MapOutput* out) {
  const json& a = in.attrs;
  json v = WithId(a);
  Copy(v, "name", a, "name");
  Copy(v, "arn", a, "arn");
  Copy(v, "path", a, "path");
  Copy(v, "policy", a, "policy");
  Copy(v, "description", a, "description");
  return AddKeyed(out, "cloud.iam_policies", std::move(v));
}

bool IamInstanceProfile(const MapInput& in, MapOutput* out) {
  const json& a = in.attrs;
  json v = WithId(a);
  Copy(v, "name", a, "name");
  Copy(v, "arn", a, "arn");
  Copy(v, "role", a, "role");
  return AddKeyed(out, "cloud.iam_instance_profiles", std::move(v));
}

bool KmsKey(const MapInput& in, MapOutput* out) {
  const json& a = in.attrs;
  json v = WithId(a);
  Copy(v, "arn", a, "arn");
  Copy(v, "key_id", a, "key_id");
  Copy(v, "description", a, "description");
  CopyBool(v, "enable_key_rotation", a, "enable_key_rotation");
  return AddKeyed(out, "cloud.kms_keys", std::move(v));
}

}  // namespace

const std::vector<TypeMapping>& AwsMappings() {
  static const std::vector<TypeMapping> kTable = {
      {"aws_vpc", "VPC", Vpc},
      {"aws_subnet", "Subnets", Subnet},
      {"aws_internet_gateway", "Gateways", InternetGateway},
      {"aws_nat_gateway", "Gateways", NatGateway},
      {"aws_eip", "Addresses", Eip},
      {"aws_route_table", "Route tables", RouteTable},
      {"aws_route_table_association", "Route table associations", RouteTableAssociation},
      {"aws_route", "Routes", Route},
      {"aws_security_group", "Security groups", SecurityGroup},
      {"aws_security_group_rule", "Security group rules", SecurityGroupRule},
      {"aws_ecr_repository", "Registries", EcrRepository},
      {"aws_resourcegroups_group", "Resource groups", ResourceGroupsGroup},
      {"aws_efs_file_system", "Storage", EfsFileSystem},
      {"aws_efs_mount_target", "Storage mount targets", EfsMountTarget},
      {"aws_ebs_volume", "Volumes", EbsVolume},
      {"aws_eks_cluster", "Cluster", EksCluster},
      {"aws_eks_node_group", "Node groups", EksNodeGroup},
      {"aws_launch_template", "Launch templates", LaunchTemplate},
      {"aws_eks_addon", "Cluster add-ons", EksAddon},
      {"aws_iam_openid_connect_provider", "OIDC provider", OidcProvider},
      {"aws_iam_role", "IAM roles", IamRole},
      {"aws_iam_role_policy_attachment", "IAM policy attachments", IamRolePolicyAttachment},
      {"aws_iam_policy", "IAM policies", IamPolicy},
      {"aws_iam_instance_profile", "IAM instance profiles", IamInstanceProfile},
      {"aws_kms_key", "KMS keys", KmsKey},
  };
  return kTable;
}

}  // namespace nic::tfimport

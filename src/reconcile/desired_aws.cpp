// The AWS desired model: what Nebari's stage-02 Terraform creates (template/aws, modules network,
// kubernetes and efs; ../shared/reference/nebari-terraform-resources.md) in the state shape of
// the AWS provider's collections (providers/aws/README.md), plus the stage-03 namespace. The
// values are Nebari's, so a stack Terraform made and NIC imported plans as 0 changes.
//
// Not modelled (the AWS provider has no collection for them, or NIC v1.0 leaves them alone):
// the ECR repository, the accounting resource group, EKS add-ons, the OIDC provider and the
// IRSA roles (ebs_csi_driver, cluster_autoscaler), the worker-autoscaling policy.
#include <cstdint>
#include <cstdio>

#include "nic/plan.h"

namespace nic {

using json = nlohmann::json;

namespace {

std::string EksTaintEffect(const std::string& k8s) {
  if (k8s == "NoSchedule") return "NO_SCHEDULE";
  if (k8s == "PreferNoSchedule") return "PREFER_NO_SCHEDULE";
  if (k8s == "NoExecute") return "NO_EXECUTE";
  return k8s;
}

std::string TrustPolicy(const std::string& service) {
  return json{{"Version", "2012-10-17"},
              {"Statement", json::array({{{"Effect", "Allow"}, {"Principal", {{"Service", service}}}, {"Action", "sts:AssumeRole"}}})}}
      .dump();
}

// Terraform's cidrsubnet(cidr, 4, i), as Nebari's network module numbers its subnets.
Result<std::string> SubnetCidr(const std::string& vpc_cidr, int index) {
  unsigned a = 0, b = 0, c = 0, d = 0, prefix = 0;
  if (std::sscanf(vpc_cidr.c_str(), "%u.%u.%u.%u/%u", &a, &b, &c, &d, &prefix) != 5 || prefix > 28) {
    return Status::InvalidConfig("amazon_web_services.vpc_cidr_block " + vpc_cidr + " leaves no room for /" +
                                 std::to_string(prefix + 4) + " subnets");
  }
  uint32_t base = (a << 24) | (b << 16) | (c << 8) | d;
  uint32_t net = base + (static_cast<uint32_t>(index) << (32 - (prefix + 4)));
  return std::to_string(net >> 24) + "." + std::to_string((net >> 16) & 255) + "." + std::to_string((net >> 8) & 255) + "." +
         std::to_string(net & 255) + "/" + std::to_string(prefix + 4);
}

std::vector<std::string> Strings(const json& v) {
  std::vector<std::string> out;
  if (v.is_array()) {
    for (const auto& s : v) {
      if (s.is_string()) out.push_back(s.get<std::string>());
    }
  }
  return out;
}

std::string Str(const json& settings, const char* key) {
  auto it = settings.find(key);
  return it != settings.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

Result<DesiredModel> BuildDesiredAws(const NebariConfig& config) {
  DesiredModel m;
  const json& ps = config.provider_settings;
  // Nebari names everything "{project}-{namespace}" (the EKS cluster, the security group, ...).
  const std::string name = config.project_name + "-" + config.namespace_name;
  auto add = [&](std::string address, std::string collection, json value) {
    m.resources.push_back({std::move(address), std::move(collection), std::move(value)});
  };

  // ---- network (module.network[0]; absent when existing subnets and a security group are given)
  json subnet_ids = json::array();
  json security_group_ids = json::array();
  std::vector<std::string> existing_subnets = Strings(ps.value("existing_subnet_ids", json()));
  std::string existing_sg = Str(ps, "existing_security_group_id");
  if (!existing_subnets.empty() && !existing_sg.empty()) {
    for (const auto& s : existing_subnets) subnet_ids.push_back(s);
    security_group_ids.push_back(existing_sg);
  } else {
    const std::string vpc_cidr = ps.value("vpc_cidr_block", "10.10.0.0/16");
    add("cloud.vpc", "cloud.vpc", {{"cidr", vpc_cidr}, {"enable_dns_hostnames", true}, {"enable_dns_support", true}});
    m.create_only["cloud.vpc"] = {{"tags", {{"Name", name}}}};
    const std::string vpc_id = DesiredRef("cloud.vpc", "id");

    const std::string igw = "cloud.gateways." + name + "-igw";
    add(igw, "cloud.gateways", {{"kind", "internet"}, {"vpc_id", vpc_id}});
    m.match_on[igw] = {"kind", "vpc_id"};

    const std::string rt = "cloud.route_tables." + name + "-rt";
    add(rt, "cloud.route_tables",
        {{"vpc_id", vpc_id}, {"routes", json::array({{{"cidr_block", "0.0.0.0/0"}, {"gateway_id", DesiredRef(igw, "id")}}})}});
    m.match_on[rt] = {"vpc_id"};

    std::vector<std::string> azs = Strings(ps.value("availability_zones", json()));
    if (azs.empty()) azs = {config.region + "a", config.region + "b"};
    for (size_t i = 0; i < azs.size(); ++i) {
      NIC_ASSIGN_OR_RETURN(std::string cidr, SubnetCidr(vpc_cidr, static_cast<int>(i)));
      const std::string subnet = "cloud.vpc.subnets." + name + "-subnet-" + std::to_string(i);
      add(subnet, "cloud.vpc.subnets",
          {{"vpc_id", vpc_id}, {"cidr", cidr}, {"availability_zone", azs[i]}, {"map_public_ip_on_launch", true}});
      m.match_on[subnet] = {"vpc_id", "cidr"};
      m.create_only[subnet] = {{"tags", {{"Name", name + "-subnet-" + std::to_string(i)}}}};
      subnet_ids.push_back(DesiredRef(subnet, "id"));

      const std::string assoc = "cloud.route_table_associations." + name + "-rta-" + std::to_string(i);
      add(assoc, "cloud.route_table_associations", {{"route_table_id", DesiredRef(rt, "id")}, {"subnet_id", DesiredRef(subnet, "id")}});
      m.match_on[assoc] = {"subnet_id"};
    }

    // Everything inside the group may talk to everything inside it; all egress.
    const std::string sg = "cloud.security_groups." + name;
    add(sg, "cloud.security_groups",
        {{"name", name},
         {"description", "Main security group for infrastructure deployment"},
         {"vpc_id", vpc_id},
         {"ingress", json::array({{{"protocol", "-1"}, {"from_port", 0}, {"to_port", 0}, {"self", true},
                                   {"description", "Allow all ports and protocols to enter the security group"}}})},
         {"egress", json::array({{{"protocol", "-1"}, {"from_port", 0}, {"to_port", 0}, {"self", false}, {"cidr_blocks", {"0.0.0.0/0"}},
                                  {"description", "Allow all ports and protocols to exit the security group"}}})}});
    security_group_ids.push_back(DesiredRef(sg, "id"));
  }

  // ---- identity (module.kubernetes policy.tf) ----
  const std::string boundary = Str(ps, "permissions_boundary");
  auto role = [&](const std::string& role_name, const std::string& service, const std::vector<std::string>& policies) {
    const std::string address = "cloud.iam_roles." + role_name;
    json v = {{"name", role_name}, {"path", "/"}, {"assume_role_policy", TrustPolicy(service)}};
    if (!boundary.empty()) v["permissions_boundary"] = boundary;
    add(address, "cloud.iam_roles", v);
    for (const auto& p : policies) {
      const std::string attachment = "cloud.iam_role_policy_attachments." + role_name + "-" + p;
      add(attachment, "cloud.iam_role_policy_attachments", {{"role", role_name}, {"policy_arn", "arn:aws:iam::aws:policy/" + p}});
      m.match_on[attachment] = {"role", "policy_arn"};
    }
    return address;
  };
  const std::string cluster_role = role(name + "-eks-cluster-role", "eks.amazonaws.com",
                                        {"AmazonEKSClusterPolicy", "AmazonEKSServicePolicy", "AmazonEKSVPCResourceController"});
  const std::string node_role = role(name + "-eks-node-group-role", "ec2.amazonaws.com",
                                     {"AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"});

  // ---- cluster (module.kubernetes main.tf) ----
  json cluster = {{"name", name}, {"role_arn", DesiredRef(cluster_role, "arn")}};
  if (!config.kubernetes_version.empty()) cluster["version"] = config.kubernetes_version;
  add("cloud.cluster", "cloud.cluster", cluster);
  // Subnets and security groups are set when the cluster is created; an imported cluster keeps
  // what Terraform gave it (both are immutable), so they are not compared.
  const std::string access = ps.value("eks_endpoint_access", "public");
  json vpc_config = {{"subnet_ids", subnet_ids},
                     {"security_group_ids", security_group_ids},
                     {"endpoint_public_access", access != "private"},
                     {"endpoint_private_access", access != "public"}};
  if (auto cidrs = ps.find("eks_public_access_cidrs"); cidrs != ps.end() && cidrs->is_array()) vpc_config["public_access_cidrs"] = *cidrs;
  m.create_only["cloud.cluster"] = {{"vpc_config", vpc_config}};
  if (std::string kms = Str(ps, "eks_kms_arn"); !kms.empty()) m.create_only["cloud.cluster"]["encryption_key_arn"] = kms;

  // ---- node groups ----
  // One per config entry, so built member by member in key order (constant-time inserts)
  // rather than from initializer lists, which copy every value once more: at 100k node groups
  // this loop was most of the model's cost.
  auto put = [](json& obj, const char* key, json value) {
    auto& o = obj.get_ref<json::object_t&>();
    o.insert_or_assign(o.end(), key, std::move(value));
  };
  const json node_role_arn = DesiredRef(node_role, "arn");
  m.resources.reserve(m.resources.size() + config.node_groups.size() + 8);
  for (const auto& g : config.node_groups) {
    json v(json::value_t::object);
    if (g.spot) put(v, "capacity_type", "SPOT");
    if (g.disk_size) put(v, "disk_size", *g.disk_size);
    json types(json::value_t::array);
    types.push_back(g.instance);
    put(v, "instance_types", std::move(types));
    if (!g.labels.empty()) put(v, "labels", g.labels);
    put(v, "name", g.name);
    json scaling(json::value_t::object);
    put(scaling, "max_size", g.max_nodes);
    put(scaling, "min_size", g.min_nodes);
    put(v, "scaling_config", std::move(scaling));
    if (!g.taints.empty()) {
      json t(json::value_t::array);
      t.get_ref<json::array_t&>().reserve(g.taints.size());
      // EKS (and so Terraform's aws_eks_node_group) spells effects NO_SCHEDULE, ...
      for (const auto& x : g.taints) {
        json taint(json::value_t::object);
        put(taint, "effect", EksTaintEffect(x.effect));
        put(taint, "key", x.key);
        put(taint, "value", x.value);
        t.push_back(std::move(taint));
      }
      put(v, "taints", std::move(t));
    }
    std::string address = "cloud.node_groups." + g.name;
    json create(json::value_t::object);
    put(create, "ami_type", g.gpu ? "AL2_x86_64_GPU" : "AL2_x86_64");
    if (!g.spot) put(create, "capacity_type", "ON_DEMAND");
    put(create, "cluster_name", name);
    if (!g.disk_size) put(create, "disk_size", 50);
    put(create, "node_role_arn", node_role_arn);
    put(create, "subnet_ids", g.single_subnet && !subnet_ids.empty() ? json::array({subnet_ids[0]}) : subnet_ids);
    m.create_only.insert_or_assign(m.create_only.end(), address, std::move(create));
    add(std::move(address), "cloud.node_groups", std::move(v));
  }
  m.authoritative.push_back("cloud.node_groups");

  // ---- storage (module.efs[0], when storage.type is efs: the AWS default) ----
  if (config.storage_type == "efs") {
    add("cloud.storage", "cloud.storage",
        {{"type", "efs"}, {"encrypted", true}, {"performance_mode", "generalPurpose"}, {"throughput_mode", "bursting"}});
    // The importer drops the creation token as credential-like: it only matters when creating.
    m.create_only["cloud.storage"] = {{"creation_token", name + "-jupyterhub-shared"}};
    for (size_t i = 0; i < subnet_ids.size(); ++i) {
      const std::string mt = "cloud.storage.mount_targets." + name + "-mt-" + std::to_string(i);
      add(mt, "cloud.storage.mount_targets",
          {{"file_system_id", DesiredRef("cloud.storage", "id")}, {"subnet_id", subnet_ids[i]}, {"security_groups", security_group_ids}});
      m.match_on[mt] = {"subnet_id"};
    }
  }

  // ---- stage 03: the namespace of module.kubernetes-initialization (needs a Kubernetes API) ----
  add("kubernetes.namespaces." + config.namespace_name, "kubernetes.namespaces", {{"name", config.namespace_name}});
  return m;
}

}  // namespace nic

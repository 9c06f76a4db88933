// Nebari stage 02/03 fixtures per provider: NIC addresses, key attributes, outputs, and that
// no FAKE-SECRET-* value from the fixtures reaches the document, outputs or report.
#include <algorithm>

#include <gtest/gtest.h>

#include "nic/importer.h"
#include "tests/importer/test_util.h"

namespace nic {
namespace {

using nlohmann::json;
using testing_importer::Fixture;

Result<ImportResult> Import(const std::string& provider, std::vector<TerraformStateSource> sources,
                            bool strict = true) {
  for (auto& s : sources) s.path = Fixture(s.path);
  ImportOptions opts;
  opts.provider = provider;
  opts.project_name = "nebari";
  opts.region = provider == "aws" ? "us-west-2" : "";
  opts.configuration_hash = "sha256:0000";
  opts.strict = strict;
  return BuildImport(sources, opts);
}

std::vector<std::string> Addresses(const ImportReport& rep) {
  std::vector<std::string> out;
  for (const auto& i : rep.imported) {
    for (const auto& a : i.nic_addresses) out.push_back(a);
  }
  std::sort(out.begin(), out.end());
  return out;
}

const ImportedResource* ByTerraform(const ImportReport& rep, const std::string& address) {
  for (const auto& i : rep.imported) {
    if (i.terraform_address == address) return &i;
  }
  return nullptr;
}

void ExpectNoSecrets(const ImportResult& r) {
  std::string all = SerializeStateDocument(r.state) + r.outputs.dump() + ImportReportToJson(r.report).dump() +
                    FormatImportReport(r.report);
  EXPECT_EQ(all.find("FAKE-SECRET"), std::string::npos)
      << all.substr(all.find("FAKE-SECRET") == std::string::npos ? 0 : all.find("FAKE-SECRET") - 200, 300);
}

json At(const ImportResult& r, const std::string& address) {
  const json* v = FindResource(r.state, address);
  return v == nullptr ? json() : *v;
}

TEST(ImportMapping, AwsStages02And03) {
  auto r = Import("aws", {{"aws_02.tfstate", "02"}, {"aws_03.tfstate", "03"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const ImportReport& rep = r->report;
  EXPECT_TRUE(rep.unmanaged.empty());
  EXPECT_EQ(rep.imported.size(), 35u + 11u);
  EXPECT_EQ(rep.resource_count, 46u);
  EXPECT_EQ(rep.data_sources.size(), 6u + 2u);
  ASSERT_EQ(rep.sources.size(), 2u);
  EXPECT_EQ(rep.sources[0].managed_instances, 35u);
  EXPECT_EQ(rep.sources[1].managed_instances, 11u);

  // Every Nebari address lands at a stable NIC address.
  struct Row { const char* tf; const char* nic; };
  for (const Row& row : std::initializer_list<Row>{
           {"module.network[0].aws_vpc.main", "cloud.vpc"},
           {"module.network[0].aws_subnet.main[1]", "cloud.vpc.subnets.subnet-0a1b2c3d4e5f60002"},
           {"module.network[0].aws_internet_gateway.main", "cloud.gateways.igw-0a1b2c3d4e5f60004"},
           {"module.network[0].aws_route_table.main", "cloud.route_tables.rtb-0a1b2c3d4e5f60005"},
           {"module.network[0].aws_route_table_association.main[0]", "cloud.route_table_associations.rtbassoc-0a1b2c3d4e5f60000"},
           {"module.network[0].aws_security_group.main", "cloud.security_groups.nebari-dev"},
           {"module.accounting.aws_resourcegroups_group.main", "cloud.resource_groups.nebari-dev"},
           {"module.registry-jupyterlab.aws_ecr_repository.main", "cloud.registries.nebari-dev-jupyterlab"},
           {"module.efs[0].aws_efs_file_system.main", "cloud.storage"},
           {"module.efs[0].aws_efs_mount_target.main[1]", "cloud.storage.mount_targets.fsmt-0a1b2c3d4e5f60001"},
           {"module.kubernetes.aws_eks_cluster.main", "cloud.cluster"},
           {"module.kubernetes.aws_eks_node_group.main[0]", "cloud.node_groups.general"},
           {"module.kubernetes.aws_eks_node_group.main[2]", "cloud.node_groups.worker"},
           {"module.kubernetes.aws_eks_addon.aws-ebs-csi-driver", "cloud.cluster_addons.aws-ebs-csi-driver"},
           {"module.kubernetes.aws_iam_openid_connect_provider.oidc_provider", "cloud.oidc_provider"},
           {"module.kubernetes.aws_iam_role.node-group", "cloud.iam_roles.nebari-dev-eks-node-group-role"},
           {"module.kubernetes.aws_iam_role_policy_attachment.cluster-policy[2]",
            "cloud.iam_role_policy_attachments.nebari-dev-eks-cluster-role-202501151020020000000003"},
           {"module.kubernetes.aws_iam_policy.worker_autoscaling", "cloud.iam_policies.eks-worker-autoscaling-nebari-dev2025"},
           {"local_file.kubeconfig[0]", "cloud.local_files.kubeconfig"},
           {"module.kubernetes-initialization.kubernetes_namespace.main", "kubernetes.namespaces.dev"},
           {"module.kubernetes-autoscaling[0].helm_release.autoscaler", "kubernetes.helm_releases.dev/cluster-autoscaler"},
           {"module.traefik-crds.kubernetes_manifest.ingress_route", "kubernetes.custom_resource_definitions.ingressroutes.traefik.io"},
       }) {
    const auto* i = ByTerraform(rep, row.tf);
    ASSERT_NE(i, nullptr) << row.tf;
    EXPECT_EQ(i->nic_addresses, std::vector<std::string>{row.nic}) << row.tf;
    json v = At(*r, row.nic);
    ASSERT_TRUE(v.is_object()) << row.nic;
    EXPECT_EQ(v["imported"], true);
    EXPECT_EQ(v["terraform_address"], row.tf);
  }

  json cluster = At(*r, "cloud.cluster");
  EXPECT_EQ(cluster["name"], "nebari-dev");
  EXPECT_EQ(cluster["version"], "1.31");
  EXPECT_EQ(cluster["oidc_issuer"], "https://oidc.eks.us-west-2.amazonaws.com/id/ABCDEF0123456789ABCDEF0123456789");
  EXPECT_EQ(cluster["role_arn"], "arn:aws:iam::123456789012:role/nebari-dev-eks-cluster-role");
  EXPECT_EQ(cluster["vpc_config"]["subnet_ids"].size(), 2u);
  EXPECT_EQ(cluster["ca_certificate"].get<std::string>().rfind("LS0tLS1CRUdJTi", 0), 0u);

  json user = At(*r, "cloud.node_groups.user");
  EXPECT_EQ(user["instance_types"], json::array({"m5.xlarge"}));
  EXPECT_EQ(user["scaling_config"], json({{"min_size", 0}, {"max_size", 5}, {"desired_size", 0}}));
  EXPECT_EQ(user["taints"][0]["effect"], "NO_SCHEDULE");
  EXPECT_EQ(user["disk_size"], 50);
  EXPECT_NE(user["arn"].get<std::string>().find(":nodegroup/nebari-dev/user/"), std::string::npos);

  json vpc = At(*r, "cloud.vpc");
  EXPECT_EQ(vpc["id"], "vpc-0a1b2c3d4e5f60000");
  EXPECT_EQ(vpc["cidr"], "10.10.0.0/16");
  EXPECT_EQ(vpc["subnets"].size(), 2u);
  json storage = At(*r, "cloud.storage");
  EXPECT_EQ(storage["type"], "efs");
  EXPECT_EQ(storage["dns_name"], "fs-0a1b2c3d4e5f60006.efs.us-west-2.amazonaws.com");
  EXPECT_EQ(storage["mount_targets"].size(), 2u);
  EXPECT_FALSE(storage.contains("creation_token"));  // dropped as credential-like
  json release = At(*r, "kubernetes.helm_releases.dev/cluster-autoscaler");
  EXPECT_EQ(release["chart"], "cluster-autoscaler");
  EXPECT_EQ(release["version"], "9.52.1");
  EXPECT_FALSE(release.contains("values"));
  EXPECT_EQ(At(*r, "cloud.local_files.kubeconfig")["filename"], "/tmp/NEBARI_KUBECONFIG");

  // Outputs (§7.4).
  const json& o = r->outputs;
  EXPECT_EQ(o["provider"], "aws");
  EXPECT_EQ(o["cluster"]["endpoint"], "https://ABCDEF0123456789ABCDEF0123456789.gr7.us-west-2.eks.amazonaws.com");
  EXPECT_EQ(o["cluster"]["kubernetes_version"], "1.31");
  EXPECT_EQ(o["networking"]["vpc_id"], "vpc-0a1b2c3d4e5f60000");
  EXPECT_EQ(o["networking"]["subnet_ids"], json::array({"subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"}));
  EXPECT_EQ(o["networking"]["security_group_ids"], json::array({"sg-0a1b2c3d4e5f60003"}));
  EXPECT_EQ(o["kubeconfig"]["path"], "/tmp/NEBARI_KUBECONFIG");
  EXPECT_EQ(o["kubernetes"]["namespaces"], json::array({"dev"}));
  EXPECT_EQ(o["node_groups"]["general"]["instance_type"], "m5.2xlarge");
  EXPECT_EQ(o["node_groups"]["worker"]["max_size"], 5);
  EXPECT_EQ(o["storage"]["type"], "efs");
  EXPECT_EQ(o["storage"]["nfs_endpoint"], "fs-0a1b2c3d4e5f60006.efs.us-west-2.amazonaws.com");
  EXPECT_EQ(o["iam"]["node_role_arn"], "arn:aws:iam::123456789012:role/nebari-dev-eks-node-group-role");
  EXPECT_EQ(o["iam"]["cluster_autoscaler_role_arn"], "arn:aws:iam::123456789012:role/nebari-dev-cluster-autoscaler");
  EXPECT_EQ(o["iam"]["oidc_provider_arn"],
            "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/ABCDEF0123456789ABCDEF0123456789");

  // Sensitive values: dropped, listed by path, never copied.
  ExpectNoSecrets(*r);
  auto dropped = [&](const std::string& addr, const std::string& path) {
    return std::any_of(rep.dropped.begin(), rep.dropped.end(),
                       [&](const DroppedValue& d) { return d.terraform_address == addr && d.path == path; });
  };
  EXPECT_TRUE(dropped("local_file.kubeconfig[0]", "content"));
  EXPECT_TRUE(dropped("output.kubernetes_credentials", ""));
  EXPECT_TRUE(dropped("module.kubernetes-autoscaling[0].helm_release.autoscaler", "set_sensitive"));
  EXPECT_TRUE(dropped("module.kubernetes-autoscaling[0].helm_release.autoscaler", "metadata[0].values"));
  // The document validates and round-trips through the engine.
  EXPECT_TRUE(ValidateStateDocument(r->state, "aws").ok());
  EXPECT_EQ(r->state.metadata.configuration_hash, "sha256:0000");
  EXPECT_TRUE(r->state.imported_from_terraform);
  EXPECT_FALSE(r->state.lineage.empty());
  EXPECT_EQ(ListResources(r->state).size(), rep.resource_count);
}

TEST(ImportMapping, GcpStages02And03) {
  auto r = Import("gcp", {{"gcp_02.tfstate", "02"}, {"gcp_03.tfstate", "03"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const ImportReport& rep = r->report;
  EXPECT_TRUE(rep.unmanaged.empty());
  EXPECT_EQ(rep.imported.size(), 13u + 11u);
  EXPECT_EQ(ByTerraform(rep, "module.kubernetes.google_container_cluster.main")->nic_addresses[0], "cloud.cluster");
  EXPECT_EQ(ByTerraform(rep, "module.kubernetes.google_container_node_pool.main[1]")->nic_addresses[0], "cloud.node_groups.user");
  EXPECT_EQ(ByTerraform(rep, "module.registry-jupyterhub.google_artifact_registry_repository.registry")->nic_addresses[0],
            "cloud.registries.nebari-dev");
  EXPECT_EQ(ByTerraform(rep, "module.kubernetes.google_service_account.main")->nic_addresses[0],
            "cloud.service_accounts.nebari-dev");
  EXPECT_EQ(ByTerraform(rep, "module.kubernetes.google_project_iam_member.main[\"roles/logging.logWriter\"]")->nic_addresses[0],
            "cloud.iam_members.nebari-project-123/roles/logging.logWriter/serviceAccount:nebari-dev@nebari-project-123.iam.gserviceaccount.com");
  EXPECT_EQ(ByTerraform(rep, "module.nvidia-driver-installer[0].kubernetes_daemonset.gcp_nvidia_installer[0]")->nic_addresses[0],
            "kubernetes.daemonsets.kube-system/nvidia-driver-installer");

  json cluster = At(*r, "cloud.cluster");
  EXPECT_EQ(cluster["endpoint"], "https://34.123.45.67");
  EXPECT_EQ(cluster["version"], "1.31.5-gke.1023000");
  EXPECT_EQ(cluster["workload_pool"], "nebari-project-123.svc.id.goog");
  EXPECT_FALSE(cluster.contains("client_key"));
  json pool = At(*r, "cloud.node_groups.general");
  EXPECT_EQ(pool["instance_type"], "e2-highmem-4");
  EXPECT_EQ(pool["scaling_config"]["min_size"], 1);
  EXPECT_EQ(pool["scaling_config"]["max_size"], 1);
  EXPECT_EQ(pool["disk_size_gb"], 100);

  const json& o = r->outputs;
  EXPECT_EQ(o["cluster"]["ca_certificate"], "LS0tLS1CRUdJTiBHS0UgQ0EtLS0tLQ==");
  EXPECT_EQ(o["cluster"]["oidc_issuer"],
            "https://container.googleapis.com/v1/projects/nebari-project-123/locations/us-central1/clusters/nebari-dev");
  EXPECT_EQ(o["networking"]["network"], "projects/nebari-project-123/global/networks/default");
  EXPECT_EQ(o["networking"]["project_id"], "nebari-project-123");
  EXPECT_EQ(o["iam"]["service_account_email"], "nebari-dev@nebari-project-123.iam.gserviceaccount.com");
  EXPECT_EQ(o["node_groups"]["user"]["instance_type"], "e2-standard-4");
  ExpectNoSecrets(*r);
  EXPECT_TRUE(std::any_of(rep.dropped.begin(), rep.dropped.end(), [](const DroppedValue& d) {
    return d.terraform_address == "module.kubernetes.google_container_cluster.main" && d.path == "master_auth[0].client_key";
  }));
  EXPECT_TRUE(ValidateStateDocument(r->state, "gcp").ok());
}

TEST(ImportMapping, AzureStages02And03) {
  auto r = Import("azure", {{"azure_02.tfstate", "02"}, {"azure_03.tfstate", "03"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const ImportReport& rep = r->report;
  EXPECT_TRUE(rep.unmanaged.empty());
  EXPECT_EQ(rep.imported.size(), 6u + 10u);
  EXPECT_EQ(rep.resource_count, 7u + 10u);  // the cluster also yields the general node group
  const auto* cluster_tf = ByTerraform(rep, "module.kubernetes.azurerm_kubernetes_cluster.main");
  ASSERT_NE(cluster_tf, nullptr);
  EXPECT_EQ(cluster_tf->nic_addresses, (std::vector<std::string>{"cloud.cluster", "cloud.node_groups.general"}));
  EXPECT_EQ(ByTerraform(rep, "module.kubernetes.azurerm_kubernetes_cluster_node_pool.node_group[\"2\"]")->nic_addresses[0],
            "cloud.node_groups.worker");
  EXPECT_EQ(ByTerraform(rep, "azurerm_resource_group.resource_group")->nic_addresses[0], "cloud.resource_groups.nebari-dev-rg");
  EXPECT_EQ(ByTerraform(rep, "module.registry.azurerm_container_registry.container_registry")->nic_addresses[0],
            "cloud.registries.nebaridev");

  json cluster = At(*r, "cloud.cluster");
  EXPECT_EQ(cluster["version"], "1.31.5");
  EXPECT_EQ(cluster["endpoint"], "https://nebari-dev-a1b2c3d4.hcp.eastus.azmk8s.io");
  EXPECT_EQ(cluster["node_resource_group"], "nebari-dev-node-resource-group");
  EXPECT_EQ(cluster["identity"]["type"], "SystemAssigned");
  EXPECT_FALSE(cluster.contains("kube_config"));
  json general = At(*r, "cloud.node_groups.general");
  EXPECT_EQ(general["instance_type"], "Standard_D8_v3");
  EXPECT_EQ(general["default_node_pool"], true);
  EXPECT_EQ(general["auto_scaling_enabled"], true);
  json worker = At(*r, "cloud.node_groups.worker");
  EXPECT_EQ(worker["scaling_config"]["max_size"], 5);
  EXPECT_FALSE(At(*r, "cloud.registries.nebaridev").contains("admin_password"));

  const json& o = r->outputs;
  EXPECT_EQ(o["networking"]["resource_group_name"], "nebari-dev-rg");
  EXPECT_EQ(o["cluster"]["ca_certificate"], nullptr);  // only in the sensitive kube_config
  EXPECT_EQ(o["iam"]["kubelet_client_id"], "22222222-3333-4444-8555-666666666666");
  EXPECT_EQ(o["node_groups"].size(), 3u);
  ExpectNoSecrets(*r);
  EXPECT_TRUE(ValidateStateDocument(r->state, "azure").ok());
}

TEST(ImportMapping, LocalKindStages02And03) {
  auto r = Import("local", {{"local_02.tfstate", "02"}, {"local_03.tfstate", "03"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const ImportReport& rep = r->report;
  EXPECT_TRUE(rep.unmanaged.empty());
  EXPECT_EQ(rep.imported.size(), 7u + 10u);
  EXPECT_EQ(rep.data_sources.size(), 2u);
  std::vector<std::string> got = Addresses(rep);
  for (const char* want : {"cloud.cluster", "kubernetes.namespaces.metallb-system", "cloud.local_files.default",
                           "kubernetes.service_accounts.metallb-system/controller",
                           "kubernetes.cluster_roles.metallb-system:controller",
                           "kubernetes.manifests.metallb-system/deployment:controller",
                           "kubernetes.manifests.metallb-system/configmap:config"}) {
    EXPECT_NE(std::find(got.begin(), got.end(), want), got.end()) << want;
  }
  json cluster = At(*r, "cloud.cluster");
  EXPECT_EQ(cluster["name"], "test-cluster");
  EXPECT_EQ(cluster["endpoint"], "https://127.0.0.1:39111");
  EXPECT_EQ(r->outputs["kubeconfig"]["path"], "/home/user/.kube/config");
  ExpectNoSecrets(*r);
  EXPECT_TRUE(ValidateStateDocument(r->state, "local").ok());
}

TEST(ImportMapping, EdgeCasesTaintedDeposedUnmappedAndOldAddresses) {
  auto r = Import("aws", {{"edge_v4.tfstate", ""}}, /*strict=*/false);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const ImportReport& rep = r->report;
  // Old-release addresses still map.
  EXPECT_EQ(ByTerraform(rep, "module.network.aws_vpc.main")->nic_addresses[0], "cloud.vpc");
  EXPECT_EQ(ByTerraform(rep, "module.efs.aws_efs_file_system.main")->nic_addresses[0], "cloud.storage");
  EXPECT_EQ(ByTerraform(rep, "module.kubernetes.azurerm_kubernetes_cluster_node_pool.user_node_group")->nic_addresses[0],
            "cloud.node_groups.user");
  // Tainted: imported as-is, flagged, warned.
  const auto* tainted = ByTerraform(rep, "module.network.aws_subnet.main[1]");
  ASSERT_NE(tainted, nullptr);
  EXPECT_TRUE(tainted->tainted);
  EXPECT_EQ(At(*r, "cloud.vpc.subnets.subnet-0e0000000000000002")["terraform_tainted"], true);
  // Deposed: not imported, listed with its ID.
  std::map<std::string, UnmanagedResource> un;
  for (const auto& u : rep.unmanaged) un[u.address] = u;
  ASSERT_TRUE(un.count("module.kubernetes.aws_eks_node_group.main[0] (deposed 00000001)"));
  EXPECT_EQ(un["module.kubernetes.aws_eks_node_group.main[0] (deposed 00000001)"].id, "edge:general-old");
  EXPECT_EQ(At(*r, "cloud.node_groups.general")["id"], "edge:general");
  ASSERT_TRUE(un.count("random_password.db"));
  EXPECT_EQ(un["random_password.db"].id, "none");
  ASSERT_TRUE(un.count("module.kubernetes-initialization.null_resource.wait"));
  EXPECT_EQ(un.size(), 3u);
  ASSERT_EQ(r->state.unmanaged.size(), 3u);
  // Nested modules with count and for_each.
  EXPECT_EQ(ByTerraform(rep, "module.addons.module.addon[\"cert-manager\"].module.irsa[0].kubernetes_service_account_v1.irsa[0]")
                ->nic_addresses[0],
            "kubernetes.service_accounts.kube-system/addon-sa");
  EXPECT_EQ(r->outputs["kubernetes"]["service_accounts"]["kube-system/addon-sa"], "arn:aws:iam::123456789012:role/addon-irsa");
  // Secrets: metadata only; manifests by kind.
  json secret = At(*r, "kubernetes.secrets.dev/extcr-creds");
  EXPECT_EQ(secret["type"], "Opaque");
  EXPECT_FALSE(secret.contains("data"));
  EXPECT_TRUE(At(*r, "kubernetes.service_accounts.dev/extcr-cred-updater").is_object());
  EXPECT_TRUE(At(*r, "kubernetes.roles.dev/extcr-cred-updater").is_object());
  EXPECT_EQ(At(*r, "kubernetes.manifests.dev/cronjob:extcr-cred-updater")["kind"], "CronJob");
  json sc = At(*r, "kubernetes.storage_classes.gp3");
  EXPECT_EQ(sc["is_default"], true);
  EXPECT_EQ(sc["provisioner"], "ebs.csi.aws.com");
  EXPECT_EQ(r->outputs["kubernetes"]["default_storage_class"], "gp3");
  EXPECT_EQ(At(*r, "kubernetes.priority_classes.nebari-high")["value"], 1000000);
  EXPECT_EQ(At(*r, "kubernetes.resource_quotas.dev/quota")["hard"]["pods"], "100");
  EXPECT_TRUE(At(*r, "kubernetes.limit_ranges.dev/limits").is_object());
  EXPECT_TRUE(At(*r, "kubernetes.network_policies.dev/deny-all").is_object());
  EXPECT_EQ(At(*r, "kubernetes.cluster_role_bindings.nebari-admin")["role_ref"]["name"], "cluster-admin");
  // Warnings: tainted, and an azure resource under an aws config.
  auto has_warning = [&](const std::string& w) {
    return std::any_of(rep.warnings.begin(), rep.warnings.end(),
                       [&](const std::string& s) { return s.find(w) != std::string::npos; });
  };
  EXPECT_TRUE(has_warning("module.network.aws_subnet.main[1] is marked tainted"));
  EXPECT_TRUE(has_warning("azurerm_kubernetes_cluster_node_pool is a azure resource but the config's provider is aws"));
  ExpectNoSecrets(*r);
  EXPECT_TRUE(ValidateStateDocument(r->state, "edge").ok());

  // --strict refuses the same input and says what was unmapped.
  auto strict = Import("aws", {{"edge_v4.tfstate", ""}}, /*strict=*/true);
  ASSERT_FALSE(strict.ok());
  EXPECT_EQ(strict.status().code(), ErrorCode::kRefused);
  EXPECT_NE(strict.status().message().find("random_password.db (random_password)"), std::string::npos);
}

TEST(ImportMapping, V3State) {
  auto r = Import("aws", {{"v3_aws.tfstate", ""}}, /*strict=*/false);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const ImportReport& rep = r->report;
  EXPECT_EQ(rep.sources[0].format_version, 3);
  EXPECT_EQ(rep.imported.size(), 6u);  // vpc, 2 subnets, security group, cluster, node group
  ASSERT_EQ(rep.unmanaged.size(), 1u);
  EXPECT_EQ(rep.unmanaged[0].address, "module.network.aws_security_group.main (deposed v3-0)");
  EXPECT_EQ(rep.unmanaged[0].id, "sg-0c00000000000000ff");
  json vpc = At(*r, "cloud.vpc");
  EXPECT_EQ(vpc["cidr"], "10.30.0.0/16");
  EXPECT_EQ(vpc["enable_dns_hostnames"], true);  // "true" in the flatmap
  EXPECT_EQ(vpc["tags"]["kubernetes.io/cluster/qhub-dev"], "shared");
  json ng = At(*r, "cloud.node_groups.general");
  EXPECT_EQ(ng["scaling_config"]["max_size"], 1);  // "1" in the flatmap
  EXPECT_EQ(ng["disk_size"], 20);
  EXPECT_EQ(ng["instance_types"], json::array({"m5.large"}));
  EXPECT_EQ(At(*r, "cloud.vpc.subnets.subnet-0c0000000000000002")["type"], "private");
  EXPECT_EQ(At(*r, "cloud.cluster")["ca_certificate"], "LS0tLS1DQQ==");
  EXPECT_EQ(At(*r, "cloud.security_groups.qhub-dev")["ingress"][0]["self"], "true");
  EXPECT_EQ(rep.data_sources, std::vector<std::string>{"module.kubernetes.data.aws_eks_cluster_auth.main"});
  ExpectNoSecrets(*r);
  EXPECT_TRUE(ValidateStateDocument(r->state, "v3").ok());
}

TEST(ImportMapping, SubnetsWithoutAVpcGoToATopLevelCollection) {
  std::string text = R"({"version": 4, "resources": [{"module": "module.network[0]", "mode": "managed",
    "type": "aws_subnet", "name": "main", "provider": "p", "instances": [
      {"index_key": 0, "attributes": {"id": "subnet-1", "cidr_block": "10.0.0.0/24"}}]}]})";
  testing_importer::TempDir dir;
  std::string path = dir.File("s.tfstate");
  std::ofstream(path) << text;
  ImportOptions opts;
  opts.provider = "aws";
  auto r = BuildImport({{path, "02"}}, opts);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->report.imported[0].nic_addresses[0], "cloud.vpc_subnets.subnet-1");
  EXPECT_TRUE(FindResource(r->state, "cloud.vpc_subnets.subnet-1") != nullptr);
  EXPECT_EQ(r->report.warnings.size(), 1u);
}

TEST(ImportMapping, TwoObjectsForOneSingletonKeepTheFirst) {
  std::string text = R"({"version": 4, "resources": [
    {"mode": "managed", "type": "aws_eks_cluster", "name": "a", "provider": "p", "instances": [{"attributes": {"id": "one", "name": "one"}}]},
    {"mode": "managed", "type": "aws_eks_cluster", "name": "b", "provider": "p", "instances": [{"attributes": {"id": "two", "name": "two"}}]}]})";
  testing_importer::TempDir dir;
  std::string path = dir.File("c.tfstate");
  std::ofstream(path) << text;
  ImportOptions opts;
  opts.provider = "aws";
  auto r = BuildImport({{path, "02"}}, opts);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*FindResource(r->state, "cloud.cluster"))["id"], "one");
  ASSERT_EQ(r->report.unmanaged.size(), 1u);
  EXPECT_EQ(r->report.unmanaged[0].address, "aws_eks_cluster.b");
  EXPECT_EQ(r->report.unmanaged[0].id, "two");
  EXPECT_NE(r->report.unmanaged[0].reason.find("cloud.cluster is already imported from aws_eks_cluster.a"), std::string::npos);
}

TEST(ImportMapping, DataSourcesFeedOutputsButAreNeverImported) {
  auto r = Import("aws", {{"aws_03.tfstate", "03"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(FindResource(r->state, "cloud.cluster"), nullptr);
  EXPECT_EQ(r->report.data_sources, (std::vector<std::string>{"data.aws_eks_cluster.default",
                                                               "data.aws_eks_cluster_auth.default"}));
  const json& c = r->outputs["cluster"];
  EXPECT_EQ(c["name"], "nebari-dev");
  EXPECT_EQ(c["endpoint"], "https://ABCDEF0123456789ABCDEF0123456789.gr7.us-west-2.eks.amazonaws.com");
  EXPECT_EQ(c["ca_certificate"], "LS0tLS1CRUdJTi0tLS0t");
  EXPECT_EQ(c["kubernetes_version"], "1.31");
  ExpectNoSecrets(*r);  // the data source's token stays out
}

TEST(ImportMapping, ReportJsonCarriesTheSameFacts) {
  auto r = Import("aws", {{"aws_02.tfstate", "02"}, {"aws_03.tfstate", "03"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  json j = ImportReportToJson(r->report);
  EXPECT_EQ(j["success"], true);
  EXPECT_EQ(j["resource_count"], r->report.resource_count);
  EXPECT_EQ(j["imported"].size(), r->report.imported.size());
  EXPECT_EQ(j["counts"]["cloud.node_groups"], 3);
  EXPECT_EQ(j["counts"]["kubernetes.custom_resource_definitions"], 9);
  EXPECT_EQ(j["sources"][1]["stage"], "03");
  std::string text = FormatImportReport(r->report);
  EXPECT_NE(text.find("module.kubernetes.aws_eks_node_group.main[1] -> cloud.node_groups.user"), std::string::npos);
  EXPECT_NE(text.find("Tracking 46 resources"), std::string::npos);
  EXPECT_NE(text.find("local_file.kubeconfig[0] content"), std::string::npos);
}

}  // namespace
}  // namespace nic

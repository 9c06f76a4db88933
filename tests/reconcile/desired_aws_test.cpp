// The AWS desired model (src/reconcile/desired_aws.cpp) and how the plan uses it: references,
// placeholder addresses matched to recorded resources, create-only fields. Offline (no
// provider); the moto acceptance is tests/py/test_aws_acceptance.py.
#include <gtest/gtest.h>

#include <map>

#include "nic/env.h"
#include "nic/plan.h"

namespace nic {
namespace {

using json = nlohmann::json;

NebariConfig AwsConfig() {
  NebariConfig c;
  c.project_name = "demo";
  c.namespace_name = "dev";
  c.provider = "aws";
  c.region = "us-west-2";
  c.kubernetes_version = "1.29";
  c.storage_type = "efs";
  NodeGroup g;
  g.name = "general";
  g.instance = "m5.xlarge";
  g.min_nodes = 1;
  g.max_nodes = 5;
  c.node_groups = {g};
  return c;
}

std::map<std::string, const ResourceRef*> ByAddress(const DesiredModel& m) {
  std::map<std::string, const ResourceRef*> out;
  for (const auto& r : m.resources) out[r.address] = &r;
  return out;
}

TEST(DesiredAws, WholeStackInDependencyOrderWithNebarisValues) {
  auto m = BuildDesiredModel(AwsConfig());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  auto by = ByAddress(*m);
  // 1 VPC, 1 gateway, 1 route table, 2 subnets, 2 associations, 1 security group, 2 roles,
  // 6 attachments, the cluster, 1 node group, EFS, 2 mount targets, the namespace.
  EXPECT_EQ(m->resources.size(), 22u);
  ASSERT_TRUE(by.count("cloud.vpc.subnets.demo-dev-subnet-0"));
  EXPECT_EQ(by["cloud.vpc.subnets.demo-dev-subnet-0"]->value["cidr"], "10.10.0.0/20");
  EXPECT_EQ(by["cloud.vpc.subnets.demo-dev-subnet-1"]->value["cidr"], "10.10.16.0/20");
  EXPECT_EQ(by["cloud.vpc.subnets.demo-dev-subnet-1"]->value["availability_zone"], "us-west-2b");
  EXPECT_EQ(by["cloud.vpc.subnets.demo-dev-subnet-0"]->value["vpc_id"], "${cloud.vpc.id}");
  EXPECT_EQ(by["cloud.cluster"]->value["role_arn"], "${cloud.iam_roles.demo-dev-eks-cluster-role.arn}");
  EXPECT_EQ(m->create_only["cloud.cluster"]["vpc_config"]["subnet_ids"],
            json({"${cloud.vpc.subnets.demo-dev-subnet-0.id}", "${cloud.vpc.subnets.demo-dev-subnet-1.id}"}));
  EXPECT_EQ(m->create_only["cloud.storage"]["creation_token"], "demo-dev-jupyterhub-shared");
  EXPECT_TRUE(by.count("cloud.iam_role_policy_attachments.demo-dev-eks-node-group-role-AmazonEKS_CNI_Policy"));
  EXPECT_TRUE(by.count("kubernetes.namespaces.dev"));
  // Dependency order: everything a resource refers to comes before it.
  std::map<std::string, size_t> pos;
  for (size_t i = 0; i < m->resources.size(); ++i) pos[m->resources[i].address] = i;
  for (const auto& r : m->resources) {
    json v = r.value;
    if (auto co = m->create_only.find(r.address); co != m->create_only.end()) v["create_only"] = co->second;
    ResolveDesiredRefs(v, [&](const std::string& address, const std::string&) -> std::optional<json> {
      EXPECT_TRUE(pos.count(address)) << r.address << " refers to unknown " << address;
      EXPECT_LT(pos[address], pos[r.address]) << r.address << " comes before " << address;
      return json("x");
    });
  }
}

TEST(DesiredAws, CustomCidrAndExistingNetwork) {
  NebariConfig c = AwsConfig();
  c.provider_settings["vpc_cidr_block"] = "10.20.0.0/16";
  c.provider_settings["availability_zones"] = {"us-west-2c", "us-west-2d", "us-west-2a"};
  auto by_model = BuildDesiredModel(c);
  ASSERT_TRUE(by_model.ok());
  auto by = ByAddress(*by_model);
  EXPECT_EQ(by["cloud.vpc.subnets.demo-dev-subnet-2"]->value["cidr"], "10.20.32.0/20");
  EXPECT_EQ(by["cloud.vpc.subnets.demo-dev-subnet-0"]->value["availability_zone"], "us-west-2c");

  c.provider_settings["existing_subnet_ids"] = {"subnet-a", "subnet-b"};
  c.provider_settings["existing_security_group_id"] = "sg-0123";
  auto existing = BuildDesiredModel(c);
  ASSERT_TRUE(existing.ok());
  for (const auto& r : existing->resources) {
    EXPECT_NE(r.collection.rfind("cloud.vpc", 0), 0u) << "no network is modelled over existing subnets: " << r.address;
  }
  EXPECT_EQ(existing->create_only["cloud.cluster"]["vpc_config"]["security_group_ids"], json({"sg-0123"}));
}

TEST(DesiredAws, ResolveRefsLeavesWhatItCannotFind) {
  json v = {{"a", "${cloud.vpc.id}"}, {"b", {"${cloud.x.id}", "plain"}}, {"c", "$notaref"}};
  bool all = ResolveDesiredRefs(v, [](const std::string& address, const std::string& field) -> std::optional<json> {
    if (address == "cloud.vpc" && field == "id") return json("vpc-1");
    return std::nullopt;
  });
  EXPECT_FALSE(all);
  EXPECT_EQ(v["a"], "vpc-1");
  EXPECT_EQ(v["b"][0], "${cloud.x.id}");
  EXPECT_EQ(v["c"], "$notaref");
}

TEST(DesiredAws, EmptyStatePlansEveryCreateAndNoRefusal) {
  StateDocument empty = StateDocument::NewEmpty("aws", "demo", "us-west-2", Env::Default()->NowMicros());
  auto plan = ComputePlan(BuildDesiredModel(AwsConfig()).value(), empty, nullptr, PlanOptions{.refresh = false});
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->change_count(), 22);
  EXPECT_FALSE(plan->has_refusals()) << plan->ToText();
  for (const auto& c : plan->changes) {
    EXPECT_EQ(c.action, ChangeAction::kCreate) << c.address;
    if (c.address == "cloud.storage") {
      EXPECT_EQ(c.desired["creation_token"], "demo-dev-jupyterhub-shared");
    }
    if (c.address == "cloud.node_groups.general") {
      EXPECT_EQ(c.desired["node_role_arn"], "${cloud.iam_roles.demo-dev-eks-node-group-role.arn}");
      EXPECT_EQ(c.desired["ami_type"], "AL2_x86_64");
    }
  }
}

TEST(DesiredAws, PlaceholdersMatchRecordedResourcesByTheirFields) {
  StateDocument s = StateDocument::NewEmpty("aws", "demo", "us-west-2", Env::Default()->NowMicros());
  s.cloud["vpc"] = {{"id", "vpc-1"}, {"cidr", "10.10.0.0/16"}, {"enable_dns_hostnames", true}, {"enable_dns_support", true},
                    {"subnets", json::array({{{"id", "subnet-b"}, {"vpc_id", "vpc-1"}, {"cidr", "10.10.16.0/20"},
                                              {"availability_zone", "us-west-2b"}, {"map_public_ip_on_launch", true}},
                                             {{"id", "subnet-a"}, {"vpc_id", "vpc-1"}, {"cidr", "10.10.0.0/20"},
                                              {"availability_zone", "us-west-2a"}, {"map_public_ip_on_launch", false}}})}};
  auto plan = ComputePlan(BuildDesiredModel(AwsConfig()).value(), s, nullptr, PlanOptions{.refresh = false});
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  std::map<std::string, const PlannedChange*> by;
  for (const auto& c : plan->changes) by[c.address] = &c;
  ASSERT_TRUE(by.count("cloud.vpc.subnets.subnet-a")) << plan->ToText();
  ASSERT_TRUE(by.count("cloud.vpc.subnets.subnet-b"));
  EXPECT_FALSE(by.count("cloud.vpc.subnets.demo-dev-subnet-0"));
  EXPECT_EQ(by["cloud.vpc"]->action, ChangeAction::kNoop);
  EXPECT_EQ(by["cloud.vpc.subnets.subnet-b"]->action, ChangeAction::kNoop);
  ASSERT_EQ(by["cloud.vpc.subnets.subnet-a"]->action, ChangeAction::kUpdate);
  EXPECT_EQ(by["cloud.vpc.subnets.subnet-a"]->fields.at(0).field, "map_public_ip_on_launch");
  // Dependants of matched resources get their IDs resolved now.
  EXPECT_EQ(by["cloud.route_table_associations.demo-dev-rta-0"]->desired["subnet_id"], "subnet-a");
  EXPECT_EQ(by["cloud.gateways.demo-dev-igw"]->desired["vpc_id"], "vpc-1");
}

}  // namespace
}  // namespace nic

// The full Nebari-shaped AWS stack through the provider: create, read back field by field,
// discover by tags (and not the neighbours), update, delete in reverse order.
#include <gtest/gtest.h>

#include <set>

#include "nic/xml.h"
#include "tests/providers/aws_fixture.h"

namespace nic::awstest {
namespace {

const char* const kProject = "nebari-stack";

json TrustPolicy(const std::string& service) {
  return json{{"Version", "2012-10-17"},
              {"Statement",
               json::array({{{"Effect", "Allow"}, {"Principal", {{"Service", service}}}, {"Action", "sts:AssumeRole"}}})}};
}

struct Created {
  std::string collection;
  json value;
};

class AwsStackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string err;
    if (SharedMotos(&err) == nullptr) GTEST_FAIL() << "moto did not start: " << err;
    p_ = NewProvider(kProject);
    ASSERT_NE(p_, nullptr);
  }

  // Creates through the provider, checks the returned live JSON against desired and the NIC
  // tags, and remembers it for the read-back, discovery and delete steps.
  json Create(const std::string& collection, const json& desired, const std::string& resource_type) {
    auto r = p_->Create(collection, desired, "tok-" + collection + "-" + std::to_string(created_.size()));
    EXPECT_TRUE(r.ok()) << collection << ": " << r.status().ToString();
    if (!r.ok()) return json();
    ExpectMatches(desired, *r, collection);
    if (!resource_type.empty()) ExpectNicTags(r->value("tags", json::object()), kProject, resource_type);
    created_.push_back({collection, *r});
    return *r;
  }

  std::unique_ptr<Provider> p_;
  std::vector<Created> created_;
};

TEST_F(AwsStackTest, CreateReadDiscoverUpdateDelete) {
  // ---- network ----
  json vpc = Create("cloud.vpc",
                    {{"cidr", "10.10.0.0/16"}, {"enable_dns_hostnames", true}, {"enable_dns_support", true},
                     {"tags", {{"Name", "nebari-stack-vpc"}}}},
                    "vpc");
  ASSERT_TRUE(vpc.contains("id"));
  const std::string vpc_id = vpc["id"];
  EXPECT_EQ(vpc["arn"].get<std::string>().rfind("arn:aws:ec2:us-west-2:", 0), 0u) << vpc.dump();

  std::vector<std::string> pub, priv;
  const char* azs[] = {"us-west-2a", "us-west-2b"};
  for (int i = 0; i < 2; ++i) {
    json s = Create("cloud.vpc.subnets",
                    {{"vpc_id", vpc_id}, {"cidr", "10.10." + std::to_string(i) + ".0/24"}, {"availability_zone", azs[i]},
                     {"map_public_ip_on_launch", true}, {"type", "public"}, {"tags", {{"Name", "public-" + std::to_string(i)}}}},
                    "subnet");
    pub.push_back(s.value("id", ""));
    s = Create("cloud.vpc.subnets",
               {{"vpc_id", vpc_id}, {"cidr", "10.10." + std::to_string(10 + i) + ".0/24"}, {"availability_zone", azs[i]},
                {"map_public_ip_on_launch", false}, {"type", "private"}},
               "subnet");
    priv.push_back(s.value("id", ""));
  }
  ASSERT_FALSE(HasFailure());

  json igw = Create("cloud.gateways", {{"kind", "internet"}, {"vpc_id", vpc_id}}, "internet-gateway");
  json nat = Create("cloud.gateways", {{"kind", "nat"}, {"subnet_id", pub[0]}, {"connectivity_type", "public"}}, "nat-gateway");
  ASSERT_FALSE(HasFailure());
  EXPECT_FALSE(nat.value("allocation_id", "").empty()) << "a public NAT gateway gets an Elastic IP: " << nat.dump();
  {
    auto eips = RawQuery("ec2", "DescribeAddresses",
                         {{"Filter.1.Name", std::string("tag:") + kTagClusterName}, {"Filter.1.Value.1", kProject}});
    ASSERT_TRUE(eips.ok()) << eips.status().ToString();
    EXPECT_NE(eips->find(nat.value("allocation_id", "?")), std::string::npos) << "the EIP is tagged for NIC: " << *eips;
  }

  json rt_pub = Create("cloud.route_tables",
                       {{"vpc_id", vpc_id}, {"routes", json::array({{{"cidr_block", "0.0.0.0/0"}, {"gateway_id", igw["id"]}}})}},
                       "route-table");
  json rt_priv = Create("cloud.route_tables",
                        {{"vpc_id", vpc_id}, {"routes", json::array({{{"cidr_block", "0.0.0.0/0"}, {"nat_gateway_id", nat["id"]}}})}},
                        "route-table");
  ASSERT_FALSE(HasFailure());
  for (const auto& s : pub) Create("cloud.route_table_associations", {{"route_table_id", rt_pub["id"]}, {"subnet_id", s}}, "");
  for (const auto& s : priv) Create("cloud.route_table_associations", {{"route_table_id", rt_priv["id"]}, {"subnet_id", s}}, "");

  json sg = Create("cloud.security_groups",
                   {{"name", kProject},
                    {"description", "Nebari cluster security group"},
                    {"vpc_id", vpc_id},
                    {"ingress", json::array({{{"protocol", "-1"}, {"from_port", 0}, {"to_port", 0}, {"self", true},
                                              {"cidr_blocks", json::array()}, {"security_groups", json::array()},
                                              {"description", ""}}})},
                    {"egress", json::array({{{"protocol", "-1"}, {"from_port", 0}, {"to_port", 0}, {"self", false},
                                             {"cidr_blocks", {"0.0.0.0/0"}}, {"security_groups", json::array()},
                                             {"description", ""}}})}},
                   "security-group");
  ASSERT_FALSE(HasFailure());

  // ---- identity ----
  json cluster_role = Create("cloud.iam_roles",
                             {{"name", std::string(kProject) + "-eks-cluster-role"},
                              {"path", "/"},
                              {"assume_role_policy", TrustPolicy("eks.amazonaws.com").dump()}},
                             "iam-role");
  json node_role = Create("cloud.iam_roles",
                          {{"name", std::string(kProject) + "-eks-node-group-role"},
                           {"path", "/"},
                           {"assume_role_policy", TrustPolicy("ec2.amazonaws.com").dump()}},
                          "iam-role");
  ASSERT_FALSE(HasFailure());
  for (const char* policy : {"AmazonEKSClusterPolicy", "AmazonEKSServicePolicy", "AmazonEKSVPCResourceController"}) {
    Create("cloud.iam_role_policy_attachments",
           {{"role", cluster_role["name"]}, {"policy_arn", std::string("arn:aws:iam::aws:policy/") + policy}}, "");
  }
  for (const char* policy : {"AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"}) {
    Create("cloud.iam_role_policy_attachments",
           {{"role", node_role["name"]}, {"policy_arn", std::string("arn:aws:iam::aws:policy/") + policy}}, "");
  }
  ASSERT_FALSE(HasFailure());

  // ---- cluster ----
  std::vector<std::string> all_subnets = pub;
  all_subnets.insert(all_subnets.end(), priv.begin(), priv.end());
  json cluster = Create("cloud.cluster",
                        {{"name", kProject},
                         {"version", "1.29"},
                         {"role_arn", cluster_role["arn"]},
                         {"vpc_config",
                          {{"subnet_ids", all_subnets},
                           {"security_group_ids", {sg["id"]}},
                           {"endpoint_public_access", true},
                           {"endpoint_private_access", false}}}},
                        "eks-cluster");
  ASSERT_FALSE(HasFailure());
  EXPECT_FALSE(cluster.value("endpoint", "").empty());
  EXPECT_FALSE(cluster.value("ca_certificate", "").empty());
  EXPECT_FALSE(cluster.value("oidc_issuer", "").empty());
  EXPECT_EQ(cluster.value("status", ""), "ACTIVE");

  std::string issuer = cluster.value("oidc_issuer", "");
  json oidc = Create("cloud.oidc_provider",
                     {{"url", issuer.substr(issuer.find("://") + 3)},
                      {"client_id_list", {"sts.amazonaws.com"}},
                      {"thumbprint_list", {"9e99a48a9960b14926bb7f3b02e22da2b0ab7280"}}},
                     "oidc-provider");

  struct Group {
    const char* name;
    const char* instance;
    int min, max, desired;
    json labels;
    json taints;
  };
  std::vector<Group> groups = {
      {"general", "m5.2xlarge", 1, 1, 1, {{"dedicated", "general"}}, json::array()},
      {"user", "m5.xlarge", 0, 5, 1, {{"dedicated", "user"}}, json::array()},
      {"worker", "m5.xlarge", 0, 5, 1, {{"dedicated", "worker"}},
       json::array({{{"key", "dedicated"}, {"value", "worker"}, {"effect", "NO_SCHEDULE"}}})},
  };
  for (const auto& g : groups) {
    json ng = Create("cloud.node_groups",
                     {{"name", g.name},
                      {"cluster_name", kProject},
                      {"instance_types", {g.instance}},
                      {"ami_type", "AL2_x86_64"},
                      {"capacity_type", "ON_DEMAND"},
                      {"disk_size", 50},
                      {"scaling_config", {{"min_size", g.min}, {"max_size", g.max}, {"desired_size", g.desired}}},
                      {"subnet_ids", priv},
                      {"labels", g.labels},
                      {"taints", g.taints},
                      {"node_role_arn", node_role["arn"]},
                      {"version", "1.29"}},
                     "node-pool");
    EXPECT_EQ(ng.value("tags", json::object()).value(kTagNodePool, ""), g.name);
    EXPECT_EQ(ng.value("id", ""), std::string(kProject) + ":" + g.name);
  }
  ASSERT_FALSE(HasFailure());

  // ---- storage ----
  json efs = Create("cloud.storage",
                    {{"type", "efs"},
                     {"creation_token", std::string(kProject) + "-jupyterhub-shared"},
                     {"encrypted", true},
                     {"performance_mode", "generalPurpose"},
                     {"throughput_mode", "bursting"}},
                    "efs");
  ASSERT_FALSE(HasFailure());
  EXPECT_EQ(efs.value("dns_name", ""), efs.value("id", "") + ".efs.us-west-2.amazonaws.com");
  // EFS runs on the moto without signature checking (see aws_fixture.h), and moto wants a mount
  // target's subnet and security group in its own EC2: a copy of the private network there.
  auto mirror = NewOpenProvider(kProject);
  ASSERT_NE(mirror, nullptr);
  std::vector<std::pair<std::string, json>> mirrored;
  auto mirror_create = [&](const std::string& collection, const json& d) -> json {
    auto r = mirror->Create(collection, d, "tok-mirror-" + std::to_string(mirrored.size()));
    EXPECT_TRUE(r.ok()) << "mirror " << collection << ": " << r.status().ToString();
    if (!r.ok()) return json::object();
    mirrored.push_back({collection, *r});
    return *r;
  };
  json mvpc = mirror_create("cloud.vpc", {{"cidr", "10.10.0.0/16"}});
  json msg = mirror_create("cloud.security_groups", {{"name", kProject}, {"description", "efs"}, {"vpc_id", mvpc["id"]}});
  std::vector<std::string> mpriv;
  for (int i = 0; i < 2; ++i) {
    json ms = mirror_create("cloud.vpc.subnets", {{"vpc_id", mvpc["id"]}, {"cidr", "10.10." + std::to_string(10 + i) + ".0/24"},
                                                 {"availability_zone", azs[i]}});
    mpriv.push_back(ms.value("id", ""));
  }
  ASSERT_FALSE(HasFailure());
  for (const auto& s : mpriv) {
    json mt = Create("cloud.storage.mount_targets",
                     {{"file_system_id", efs["id"]}, {"subnet_id", s}, {"security_groups", {msg["id"]}}}, "");
    EXPECT_FALSE(mt.value("ip_address", "").empty()) << mt.dump();
    EXPECT_EQ(mt.value("availability_zone_name", "").substr(0, 9), "us-west-2") << mt.dump();
  }
  ASSERT_FALSE(HasFailure());

  // ---- read everything back, concurrently: equal to what Create returned ----
  {
    std::vector<ResourceRef> refs;
    for (const auto& c : created_) refs.push_back({"", c.collection, c.value});
    auto reads = p_->ReadAll(refs);
    ASSERT_EQ(reads.size(), created_.size());
    for (size_t i = 0; i < reads.size(); ++i) {
      ASSERT_TRUE(reads[i].ok()) << created_[i].collection << ": " << reads[i].status().ToString();
      ASSERT_TRUE(reads[i].value().has_value()) << created_[i].collection << " " << created_[i].value.dump();
      EXPECT_EQ(*reads[i].value(), created_[i].value) << created_[i].collection;
    }
    std::printf("[aws tests] created and read back %zu resources field by field\n", created_.size());
  }

  // ---- discovery by tags; neighbours stay out ----
  {
    // Untagged neighbours in the same VPC and account, and one tagged for another cluster.
    auto raw_vpc = RawQuery("ec2", "CreateVpc", {{"CidrBlock", "10.99.0.0/16"}});
    ASSERT_TRUE(raw_vpc.ok()) << raw_vpc.status().ToString();
    auto raw_doc = xml::Parse(*raw_vpc);
    ASSERT_TRUE(raw_doc.ok());
    const std::string raw_vpc_id = raw_doc->PathText("vpc/vpcId");
    ASSERT_TRUE(RawQuery("ec2", "CreateSubnet", {{"VpcId", raw_vpc_id}, {"CidrBlock", "10.99.1.0/24"}}).ok());
    ASSERT_TRUE(RawQuery("ec2", "CreateSecurityGroup",
                         {{"GroupName", "untagged"}, {"GroupDescription", "x"}, {"VpcId", raw_vpc_id}})
                    .ok());
    ASSERT_TRUE(RawQuery("iam", "CreateRole",
                         {{"RoleName", std::string(kProject) + "-hand-made"},
                          {"AssumeRolePolicyDocument", TrustPolicy("ec2.amazonaws.com").dump()}})
                    .ok());
    auto other = NewProvider("other-cluster");
    ASSERT_NE(other, nullptr);
    auto other_vpc = other->Create("cloud.vpc", {{"cidr", "10.20.0.0/16"}}, "tok-other-vpc");
    ASSERT_TRUE(other_vpc.ok()) << other_vpc.status().ToString();
    auto other_cluster = other->Create(
        "cloud.cluster",
        {{"name", "other-cluster"}, {"version", "1.29"}, {"role_arn", cluster_role["arn"]}, {"vpc_config", {{"subnet_ids", pub}}}},
        "tok-other-cluster");
    ASSERT_TRUE(other_cluster.ok()) << other_cluster.status().ToString();

    auto found = p_->Discover(kProject);
    ASSERT_TRUE(found.ok()) << found.status().ToString();
    std::map<std::string, json> by_id;
    std::map<std::string, int> per_collection;
    for (const auto& ref : found.value()) {
      per_collection[ref.collection]++;
      std::string id = ref.value.value("id", "");
      by_id[ref.collection + "|" + id] = ref.value;
      EXPECT_NE(id, other_vpc->value("id", "")) << "another cluster's VPC was discovered";
      EXPECT_NE(ref.value.value("name", ""), "untagged");
      EXPECT_NE(ref.value.value("name", ""), "other-cluster");
      EXPECT_NE(ref.value.value("name", ""), std::string(kProject) + "-hand-made");
      EXPECT_FALSE(ref.address.empty());
    }
    for (const auto& c : created_) {
      std::string key = c.collection + "|" + c.value.value("id", "");
      auto it = by_id.find(key);
      if (it == by_id.end()) {
        ADD_FAILURE() << "not discovered: " << key;
        continue;
      }
      ExpectMatches(c.value, it->second, "discovered " + key);
    }
    std::map<std::string, int> want = {{"cloud.vpc", 1},
                                       {"cloud.vpc.subnets", 4},
                                       {"cloud.gateways", 2},
                                       {"cloud.route_tables", 2},
                                       {"cloud.route_table_associations", 4},
                                       {"cloud.security_groups", 1},
                                       {"cloud.iam_roles", 2},
                                       {"cloud.iam_role_policy_attachments", 6},
                                       {"cloud.cluster", 1},
                                       {"cloud.oidc_provider", 1},
                                       {"cloud.node_groups", 3},
                                       {"cloud.storage", 1},
                                       {"cloud.storage.mount_targets", 2}};
    EXPECT_EQ(per_collection, want);
    // Addresses follow state.h: singletons by collection, node groups by name.
    std::set<std::string> addresses;
    for (const auto& ref : found.value()) addresses.insert(ref.address);
    for (const char* a : {"cloud.vpc", "cloud.cluster", "cloud.storage", "cloud.oidc_provider", "cloud.node_groups.general",
                          "cloud.node_groups.user", "cloud.node_groups.worker"}) {
      EXPECT_TRUE(addresses.count(a)) << a;
    }
    EXPECT_TRUE(other->Delete("cloud.cluster", *other_cluster).ok());
    EXPECT_TRUE(other->Delete("cloud.vpc", *other_vpc).ok());
  }

  // ---- updates ----
  auto find = [&](const std::string& collection, const std::string& name) -> json& {
    for (auto& c : created_) {
      if (c.collection == collection && c.value.value("name", "") == name) return c.value;
    }
    static json none;
    ADD_FAILURE() << "no " << collection << " " << name;
    return none;
  };
  {
    json& user = find("cloud.node_groups", "user");
    json desired = user;
    desired["scaling_config"] = {{"min_size", 2}, {"max_size", 8}, {"desired_size", 3}};
    desired["labels"] = {{"dedicated", "user"}, {"tier", "interactive"}};
    desired["taints"] = json::array({{{"key", "gpu"}, {"value", "false"}, {"effect", "PREFER_NO_SCHEDULE"}}});
    auto updated = p_->Update("cloud.node_groups", user, desired);
    ASSERT_TRUE(updated.ok()) << updated.status().ToString();
    auto reread = p_->Read("cloud.node_groups", user);
    ASSERT_TRUE(reread.ok() && reread->has_value());
    for (const json* v : {&updated.value(), &*reread.value()}) {
      EXPECT_EQ((*v)["scaling_config"], desired["scaling_config"]);
      EXPECT_EQ((*v)["labels"], desired["labels"]);
      EXPECT_EQ((*v)["taints"], desired["taints"]);
    }
    user = *reread.value();

    // The worker's taint goes away, its label changes.
    json& worker = find("cloud.node_groups", "worker");
    desired = worker;
    desired["labels"] = {{"dedicated", "batch"}};
    desired["taints"] = json::array();
    auto w = p_->Update("cloud.node_groups", worker, desired);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    EXPECT_EQ((*w)["labels"], desired["labels"]);
    EXPECT_EQ((*w)["taints"], json::array());
    worker = *w;

    // Immutable fields and the control-plane version are refused, and nothing is sent.
    desired = user;
    desired["instance_types"] = {"m5.4xlarge"};
    auto refused = p_->Update("cloud.node_groups", user, desired);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.status().code(), ErrorCode::kRefused) << refused.status().ToString();
    EXPECT_NE(refused.status().message().find("instance_types"), std::string::npos);

    json& k = find("cloud.cluster", kProject);
    desired = k;
    desired["version"] = "1.30";
    auto v = p_->Update("cloud.cluster", k, desired);
    ASSERT_FALSE(v.ok());
    EXPECT_EQ(v.status().code(), ErrorCode::kRefused) << v.status().ToString();
    desired = k;
    desired["vpc_config"]["subnet_ids"] = pub;
    v = p_->Update("cloud.cluster", k, desired);
    ASSERT_FALSE(v.ok());
    EXPECT_EQ(v.status().code(), ErrorCode::kRefused) << v.status().ToString();

    // Cluster tags (TagResource).
    desired = k;
    desired["tags"] = {{"cost-center", "42"}};
    v = p_->Update("cloud.cluster", k, desired);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    EXPECT_EQ((*v)["tags"].value("cost-center", ""), "42");
    ExpectNicTags((*v)["tags"], kProject, "eks-cluster");
    k = *v;
  }
  {
    // Security group rules: one more ingress rule, read back in canonical form.
    json& g = find("cloud.security_groups", kProject);
    json desired = g;
    desired["ingress"].push_back({{"protocol", "tcp"}, {"from_port", 443}, {"to_port", 443}, {"self", false},
                                  {"cidr_blocks", {"10.0.0.0/8"}}, {"security_groups", json::array()},
                                  {"description", "https"}});
    auto u = p_->Update("cloud.security_groups", g, desired);
    ASSERT_TRUE(u.ok()) << u.status().ToString();
    EXPECT_EQ((*u)["ingress"].size(), 2u) << u->dump();
    bool has_https = false;
    for (const auto& r : (*u)["ingress"]) has_https |= r.value("from_port", 0) == 443 && r["cidr_blocks"] == json{"10.0.0.0/8"};
    EXPECT_TRUE(has_https) << u->dump();
    g = *u;

    // VPC: DNS hostnames off, one tag more.
    json& v = created_.front().value;
    desired = v;
    desired["enable_dns_hostnames"] = false;
    desired["tags"]["env"] = "dev";
    auto uv = p_->Update("cloud.vpc", v, desired);
    ASSERT_TRUE(uv.ok()) << uv.status().ToString();
    EXPECT_EQ((*uv)["enable_dns_hostnames"], false);
    EXPECT_EQ((*uv)["tags"].value("env", ""), "dev");
    v = *uv;

    // IAM role: trust policy and session duration.
    json& r = find("cloud.iam_roles", std::string(kProject) + "-eks-node-group-role");
    desired = r;
    desired["max_session_duration"] = 7200;
    auto ur = p_->Update("cloud.iam_roles", r, desired);
    ASSERT_TRUE(ur.ok()) << ur.status().ToString();
    EXPECT_EQ((*ur)["max_session_duration"], 7200);
    r = *ur;
  }

  // ---- delete in reverse order; each is gone and a second delete is fine ----
  for (auto it = created_.rbegin(); it != created_.rend(); ++it) {
    Status st = p_->Delete(it->collection, it->value);
    ASSERT_TRUE(st.ok()) << it->collection << " " << it->value.value("id", "") << ": " << st.ToString();
    auto gone = p_->Read(it->collection, it->value);
    ASSERT_TRUE(gone.ok()) << it->collection << ": " << gone.status().ToString();
    EXPECT_FALSE(gone->has_value()) << it->collection << " still there: " << gone->value_or(json()).dump();
    EXPECT_TRUE(p_->Delete(it->collection, it->value).ok()) << "second delete of " << it->collection;
  }
  // The Elastic IP NIC allocated for the NAT gateway was released with it.
  auto eips = RawQuery("ec2", "DescribeAddresses",
                       {{"Filter.1.Name", std::string("tag:") + kTagClusterName}, {"Filter.1.Value.1", kProject}});
  ASSERT_TRUE(eips.ok()) << eips.status().ToString();
  EXPECT_EQ(eips->find("<allocationId>"), std::string::npos) << *eips;
  for (auto it = mirrored.rbegin(); it != mirrored.rend(); ++it) {
    EXPECT_TRUE(mirror->Delete(it->first, it->second).ok()) << "mirror " << it->first;
  }
  auto after = p_->Discover(kProject);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_TRUE(after->empty()) << after->size() << " resources left, first " << (after->empty() ? "" : after->front().address);
}

}  // namespace
}  // namespace nic::awstest

// EC2 (query protocol, XML): VPC, subnets, internet and NAT gateways, route tables and their
// associations, security groups with their rules, EBS volumes.
#include <algorithm>
#include <map>
#include <set>
#include <string_view>

#include "providers/aws/collections.h"

namespace nic::awsprov {
namespace {

std::string Need(const json& j, const char* key, const std::string& collection, Status* st) {
  std::string v = JStr(j, key);
  if (v.empty() && st->ok()) *st = Status::InvalidInput(collection + ": the resource has no \"" + key + "\"");
  return v;
}

// "arn:aws:ec2:<region>:<account>:<kind>/<id>"; the account from the item's owner, else STS.
std::string Ec2Arn(AwsClient& c, const xml::Node& item, const std::string& kind, const std::string& id) {
  std::string owner = item.ChildText("ownerId");
  if (owner.empty()) {
    if (auto caller = c.Caller(); caller.ok()) owner = caller->account;
  }
  std::string partition = c.region().rfind("cn-", 0) == 0 ? "aws-cn" : "aws";
  return "arn:" + partition + ":ec2:" + c.region() + ":" + owner + ":" + kind + "/" + id;
}

void TagSpec(Params& p, const std::string& resource_type, const Tags& tags) {
  p.emplace_back("TagSpecification.1.ResourceType", resource_type);
  AppendTagParams(p, "TagSpecification.1.Tag", tags);
}

// Describe one resource by ID; nullopt when EC2 says it does not exist.
Result<std::optional<xml::Node>> DescribeOne(AwsClient& c, const std::string& action, const std::string& id_param,
                                             const std::string& id, const char* set_name) {
  auto doc = c.Query("ec2", action, {{id_param + ".1", id}});
  if (!doc.ok()) {
    if (IsNotFound(doc.status())) return std::optional<xml::Node>();
    return doc.status();
  }
  for (const xml::Node* item : Items(*doc, set_name)) return std::optional<xml::Node>(*item);
  return std::optional<xml::Node>();
}

// Every item of a Describe* call over all pages.
Result<std::vector<xml::Node>> DescribeAll(AwsClient& c, const std::string& action, const Params& params,
                                           const char* set_name) {
  std::vector<xml::Node> out;
  NIC_RETURN_IF_ERROR(c.QueryPages("ec2", action, params, [&](const xml::Node& doc) {
    for (const xml::Node* item : Items(doc, set_name)) out.push_back(*item);
  }));
  return out;
}

Status IgnoreNotFound(const Status& st) { return IsNotFound(st) ? Status::OK() : st; }

Status Ec2Call(AwsClient& c, const std::string& action, const Params& params) {
  return c.Query("ec2", action, params).status();
}

// ---- VPC ------------------------------------------------------------------------------------

json VpcJson(AwsClient& c, const xml::Node& item) {
  json v = json::object();
  v["id"] = item.ChildText("vpcId");
  v["arn"] = Ec2Arn(c, item, "vpc", v["id"]);
  v["cidr"] = item.ChildText("cidrBlock");
  v["tags"] = XmlTags(item.Child("tagSet"));
  return v;
}

Status ReadVpcDns(AwsClient& c, json& v) {
  for (const char* attr : {"enableDnsHostnames", "enableDnsSupport"}) {
    NIC_ASSIGN_OR_RETURN(xml::Node doc, c.Query("ec2", "DescribeVpcAttribute", {{"VpcId", v["id"]}, {"Attribute", attr}}));
    const xml::Node* a = doc.Child(attr);
    bool on = a != nullptr && a->ChildText("value") == "true";
    v[std::string(attr) == "enableDnsHostnames" ? "enable_dns_hostnames" : "enable_dns_support"] = on;
  }
  return Status::OK();
}

Result<std::optional<json>> ReadVpc(AwsClient& c, const json& rec) {
  Status st;
  std::string id = Need(rec, "id", "cloud.vpc", &st);
  NIC_RETURN_IF_ERROR(st);
  NIC_ASSIGN_OR_RETURN(auto item, DescribeOne(c, "DescribeVpcs", "VpcId", id, "vpcSet"));
  if (!item) return std::optional<json>();
  json v = VpcJson(c, *item);
  NIC_RETURN_IF_ERROR(ReadVpcDns(c, v));
  return std::optional<json>(std::move(v));
}

Status SetVpcDns(AwsClient& c, const std::string& id, const json& live, const json& desired) {
  // One attribute per ModifyVpcAttribute call (an EC2 rule); support before hostnames, which
  // needs it.
  for (auto [field, param] : {std::pair{"enable_dns_support", "EnableDnsSupport.Value"},
                              std::pair{"enable_dns_hostnames", "EnableDnsHostnames.Value"}}) {
    auto want = JBool(desired, field);
    if (!want || JBool(live, field) == want) continue;
    NIC_RETURN_IF_ERROR(Ec2Call(c, "ModifyVpcAttribute", {{"VpcId", id}, {param, *want ? "true" : "false"}}));
  }
  return Status::OK();
}

Result<json> CreateVpc(AwsClient& c, const json& d, const std::string&) {
  std::string cidr = JStr(d, "cidr");
  if (cidr.empty()) return Status::InvalidInput("cloud.vpc: \"cidr\" is required to create a VPC");
  Params p = {{"CidrBlock", cidr}};
  TagSpec(p, "vpc", c.NicTags("vpc", d));
  NIC_ASSIGN_OR_RETURN(xml::Node doc, c.Query("ec2", "CreateVpc", p));
  std::string id = doc.PathText("vpc/vpcId");
  if (id.empty()) return Status::InvalidInput("ec2:CreateVpc returned no vpcId");
  NIC_RETURN_IF_ERROR(c.WaitUntil("VPC " + id, [&](std::string* state) -> Result<bool> {
    NIC_ASSIGN_OR_RETURN(auto item, DescribeOne(c, "DescribeVpcs", "VpcId", id, "vpcSet"));
    *state = item ? item->ChildText("state") : "not visible yet";
    return item && *state == "available";
  }));
  json live = {{"id", id}, {"enable_dns_support", true}, {"enable_dns_hostnames", false}};
  NIC_RETURN_IF_ERROR(SetVpcDns(c, id, live, d));
  return json{{"id", id}};
}

Result<json> UpdateVpc(AwsClient& c, const json& rec, const json& live, const json& d) {
  std::string id = JStr(live, "id");
  NIC_RETURN_IF_ERROR(SetVpcDns(c, id, live, d));
  NIC_RETURN_IF_ERROR(Ec2Retag(c, id, live.value("tags", json::object()), c.NicTags("vpc", d), rec));
  return json{{"id", id}};
}

Status DeleteVpc(AwsClient& c, const json& rec) {
  std::string id = JStr(rec, "id");
  if (id.empty()) return Status::OK();
  return IgnoreNotFound(Ec2Call(c, "DeleteVpc", {{"VpcId", id}}));
}

// ---- Subnets --------------------------------------------------------------------------------

json SubnetJson(const xml::Node& item) {
  json v = json::object();
  v["id"] = item.ChildText("subnetId");
  v["arn"] = item.ChildText("subnetArn");
  v["cidr"] = item.ChildText("cidrBlock");
  v["availability_zone"] = item.ChildText("availabilityZone");
  v["vpc_id"] = item.ChildText("vpcId");
  bool pub = XmlBool(item.ChildText("mapPublicIpOnLaunch"));
  v["map_public_ip_on_launch"] = pub;
  v["type"] = pub ? "public" : "private";
  v["tags"] = XmlTags(item.Child("tagSet"));
  return v;
}

Result<std::optional<json>> ReadSubnet(AwsClient& c, const json& rec) {
  Status st;
  std::string id = Need(rec, "id", "cloud.vpc.subnets", &st);
  NIC_RETURN_IF_ERROR(st);
  NIC_ASSIGN_OR_RETURN(auto item, DescribeOne(c, "DescribeSubnets", "SubnetId", id, "subnetSet"));
  if (!item) return std::optional<json>();
  return std::optional<json>(SubnetJson(*item));
}

std::optional<bool> WantPublic(const json& d) {
  if (auto b = JBool(d, "map_public_ip_on_launch")) return b;
  std::string type = JStr(d, "type");
  if (type == "public") return true;
  if (type == "private") return false;
  return std::nullopt;
}

Status SetSubnetPublic(AwsClient& c, const std::string& id, const json& live, const json& d) {
  auto want = WantPublic(d);
  if (!want || JBool(live, "map_public_ip_on_launch") == want) return Status::OK();
  return Ec2Call(c, "ModifySubnetAttribute", {{"SubnetId", id}, {"MapPublicIpOnLaunch.Value", *want ? "true" : "false"}});
}

Result<json> CreateSubnet(AwsClient& c, const json& d, const std::string&) {
  Status st;
  std::string vpc = Need(d, "vpc_id", "cloud.vpc.subnets", &st);
  std::string cidr = Need(d, "cidr", "cloud.vpc.subnets", &st);
  NIC_RETURN_IF_ERROR(st);
  Params p = {{"VpcId", vpc}, {"CidrBlock", cidr}};
  if (std::string az = JStr(d, "availability_zone"); !az.empty()) p.emplace_back("AvailabilityZone", az);
  TagSpec(p, "subnet", c.NicTags("subnet", d));
  NIC_ASSIGN_OR_RETURN(xml::Node doc, c.Query("ec2", "CreateSubnet", p));
  std::string id = doc.PathText("subnet/subnetId");
  if (id.empty()) return Status::InvalidInput("ec2:CreateSubnet returned no subnetId");
  NIC_RETURN_IF_ERROR(c.WaitUntil("subnet " + id, [&](std::string* state) -> Result<bool> {
    NIC_ASSIGN_OR_RETURN(auto item, DescribeOne(c, "DescribeSubnets", "SubnetId", id, "subnetSet"));
    *state = item ? item->ChildText("state") : "not visible yet";
    return item && *state == "available";
  }));
  NIC_RETURN_IF_ERROR(SetSubnetPublic(c, id, json{{"map_public_ip_on_launch", false}}, d));
  return json{{"id", id}};
}

Result<json> UpdateSubnet(AwsClient& c, const json& rec, const json& live, const json& d) {
  std::string id = JStr(live, "id");
  NIC_RETURN_IF_ERROR(SetSubnetPublic(c, id, live, d));
  NIC_RETURN_IF_ERROR(Ec2Retag(c, id, live.value("tags", json::object()), c.NicTags("subnet", d), rec));
  return json{{"id", id}};
}

Status DeleteSubnet(AwsClient& c, const json& rec) {
  std::string id = JStr(rec, "id");
  if (id.empty()) return Status::OK();
  return IgnoreNotFound(Ec2Call(c, "DeleteSubnet", {{"SubnetId", id}}));
}

// ---- Gateways (internet | nat) --------------------------------------------------------------

std::string GatewayKind(const json& j) {
  std::string kind = JStr(j, "kind");
  if (!kind.empty()) return kind;
  return JStr(j, "id").rfind("nat-", 0) == 0 ? "nat" : "internet";
}

json IgwJson(AwsClient& c, const xml::Node& item) {
  json v = json::object();
  v["id"] = item.ChildText("internetGatewayId");
  v["kind"] = "internet";
  v["arn"] = Ec2Arn(c, item, "internet-gateway", v["id"]);
  auto att = Items(item, "attachmentSet");
  if (!att.empty()) v["vpc_id"] = att.front()->ChildText("vpcId");
  v["tags"] = XmlTags(item.Child("tagSet"));
  return v;
}

json NatJson(const xml::Node& item) {
  json v = json::object();
  v["id"] = item.ChildText("natGatewayId");
  v["kind"] = "nat";
  v["subnet_id"] = item.ChildText("subnetId");
  auto addrs = Items(item, "natGatewayAddressSet");
  if (!addrs.empty()) {
    if (std::string a = addrs.front()->ChildText("allocationId"); !a.empty()) v["allocation_id"] = a;
    if (std::string ip = addrs.front()->ChildText("publicIp"); !ip.empty()) v["public_ip"] = ip;
  }
  std::string ct = item.ChildText("connectivityType");
  v["connectivity_type"] = ct.empty() ? "public" : ct;
  v["tags"] = XmlTags(item.Child("tagSet"));
  return v;
}

bool NatGone(const std::string& state) { return state == "deleted" || state == "deleting" || state == "failed"; }

Result<std::optional<json>> ReadGateway(AwsClient& c, const json& rec) {
  Status st;
  std::string id = Need(rec, "id", "cloud.gateways", &st);
  NIC_RETURN_IF_ERROR(st);
  if (GatewayKind(rec) == "nat") {
    NIC_ASSIGN_OR_RETURN(auto item, DescribeOne(c, "DescribeNatGateways", "NatGatewayId", id, "natGatewaySet"));
    if (!item || NatGone(item->ChildText("state"))) return std::optional<json>();
    return std::optional<json>(NatJson(*item));
  }
  NIC_ASSIGN_OR_RETURN(auto item, DescribeOne(c, "DescribeInternetGateways", "InternetGatewayId", id, "internetGatewaySet"));
  if (!item) return std::optional<json>();
  return std::optional<json>(IgwJson(c, *item));
}

Result<json> CreateGateway(AwsClient& c, const json& d, const std::string& token) {
  if (GatewayKind(d) == "internet") {
    Params p;
    TagSpec(p, "internet-gateway", c.NicTags("internet-gateway", d));
    NIC_ASSIGN_OR_RETURN(xml::Node doc, c.Query("ec2", "CreateInternetGateway", p));
    std::string id = doc.PathText("internetGateway/internetGatewayId");
    if (id.empty()) return Status::InvalidInput("ec2:CreateInternetGateway returned no internetGatewayId");
    if (std::string vpc = JStr(d, "vpc_id"); !vpc.empty()) {
      NIC_RETURN_IF_ERROR(Ec2Call(c, "AttachInternetGateway", {{"InternetGatewayId", id}, {"VpcId", vpc}}));
    }
    return json{{"id", id}, {"kind", "internet"}};
  }
  Status st;
  std::string subnet = Need(d, "subnet_id", "cloud.gateways (nat)", &st);
  NIC_RETURN_IF_ERROR(st);
  std::string connectivity = JStr(d, "connectivity_type");
  if (connectivity.empty()) connectivity = "public";
  std::string alloc = JStr(d, "allocation_id");
  if (alloc.empty() && connectivity == "public") {
    // A public NAT gateway needs an Elastic IP; NIC allocates one tagged as its own, so that
    // deleting the gateway can release it again.
    Params p = {{"Domain", "vpc"}};
    TagSpec(p, "elastic-ip", c.NicTags("eip", json::object()));
    NIC_ASSIGN_OR_RETURN(xml::Node doc, c.Query("ec2", "AllocateAddress", p));
    alloc = doc.ChildText("allocationId");
    if (alloc.empty()) return Status::InvalidInput("ec2:AllocateAddress returned no allocationId");
  }
  Params p = {{"SubnetId", subnet}, {"ConnectivityType", connectivity}, {"ClientToken", token}};
  if (!alloc.empty()) p.emplace_back("AllocationId", alloc);
  TagSpec(p, "natgateway", c.NicTags("nat-gateway", d));
  NIC_ASSIGN_OR_RETURN(xml::Node doc, c.Query("ec2", "CreateNatGateway", p));
  std::string id = doc.PathText("natGateway/natGatewayId");
  if (id.empty()) return Status::InvalidInput("ec2:CreateNatGateway returned no natGatewayId");
  std::string failure;
  NIC_RETURN_IF_ERROR(c.WaitUntil("NAT gateway " + id, [&](std::string* state) -> Result<bool> {
    NIC_ASSIGN_OR_RETURN(auto item, DescribeOne(c, "DescribeNatGateways", "NatGatewayId", id, "natGatewaySet"));
    *state = item ? item->ChildText("state") : "not visible yet";
    if (*state == "failed") {
      return Status::Unavailable("NAT gateway " + id + " failed: " + item->ChildText("failureMessage"));
    }
    return item && *state == "available";
  }));
  return json{{"id", id}, {"kind", "nat"}};
}

Result<json> UpdateGateway(AwsClient& c, const json& rec, const json& live, const json& d) {
  std::string id = JStr(live, "id");
  bool nat = GatewayKind(live) == "nat";
  NIC_RETURN_IF_ERROR(Ec2Retag(c, id, live.value("tags", json::object()),
                               c.NicTags(nat ? "nat-gateway" : "internet-gateway", d), rec));
  return json{{"id", id}, {"kind", nat ? "nat" : "internet"}};
}

Status ReleaseNicAddress(AwsClient& c, const std::string& alloc) {
  auto doc = c.Query("ec2", "DescribeAddresses", {{"AllocationId.1", alloc}});
  if (!doc.ok()) return IgnoreNotFound(doc.status());
  for (const xml::Node* item : Items(*doc, "addressesSet")) {
    // Only addresses NIC allocated for this cluster; an imported EIP stays.
    if (!IsNicTagged(XmlTags(item->Child("tagSet")), c.context().project_name)) return Status::OK();
    return IgnoreNotFound(Ec2Call(c, "ReleaseAddress", {{"AllocationId", alloc}}));
  }
  return Status::OK();
}

Status DeleteGateway(AwsClient& c, const json& rec) {
  std::string id = JStr(rec, "id");
  if (id.empty()) return Status::OK();
  NIC_ASSIGN_OR_RETURN(auto live, ReadGateway(c, rec));
  if (!live) return Status::OK();
  if (GatewayKind(rec) == "internet") {
    if (std::string vpc = JStr(*live, "vpc_id"); !vpc.empty()) {
      NIC_RETURN_IF_ERROR(IgnoreNotFound(Ec2Call(c, "DetachInternetGateway", {{"InternetGatewayId", id}, {"VpcId", vpc}})));
    }
    return IgnoreNotFound(Ec2Call(c, "DeleteInternetGateway", {{"InternetGatewayId", id}}));
  }
  NIC_RETURN_IF_ERROR(IgnoreNotFound(Ec2Call(c, "DeleteNatGateway", {{"NatGatewayId", id}})));
  NIC_RETURN_IF_ERROR(c.WaitUntil("deleting NAT gateway " + id, [&](std::string* state) -> Result<bool> {
    NIC_ASSIGN_OR_RETURN(auto item, DescribeOne(c, "DescribeNatGateways", "NatGatewayId", id, "natGatewaySet"));
    *state = item ? item->ChildText("state") : "gone";
    return !item || *state == "deleted";
  }));
  if (std::string alloc = JStr(*live, "allocation_id"); !alloc.empty()) return ReleaseNicAddress(c, alloc);
  return Status::OK();
}

// ---- Route tables and associations ----------------------------------------------------------

const char* const kRouteTargets[][2] = {{"gateway_id", "GatewayId"},
                                        {"nat_gateway_id", "NatGatewayId"},
                                        {"transit_gateway_id", "TransitGatewayId"},
                                        {"vpc_peering_connection_id", "VpcPeeringConnectionId"}};

json RouteTableJson(AwsClient& c, const xml::Node& item) {
  json v = json::object();
  v["id"] = item.ChildText("routeTableId");
  v["arn"] = Ec2Arn(c, item, "route-table", v["id"]);
  v["vpc_id"] = item.ChildText("vpcId");
  json routes = json::array();
  for (const xml::Node* r : Items(item, "routeSet")) {
    // The VPC's own "local" route is implicit, as in Terraform's aws_route_table.
    if (r->ChildText("gatewayId") == "local") continue;
    if (r->ChildText("origin") == "EnableVgwRoutePropagation") continue;
    json e = json::object();
    if (std::string s = r->ChildText("destinationCidrBlock"); !s.empty()) e["cidr_block"] = s;
    if (std::string s = r->ChildText("destinationIpv6CidrBlock"); !s.empty()) e["ipv6_cidr_block"] = s;
    for (const xml::Node* x : {r->Child("gatewayId"), r->Child("natGatewayId"), r->Child("transitGatewayId"),
                               r->Child("vpcPeeringConnectionId")}) {
      if (x == nullptr || x->text.empty()) continue;
      if (x->name == "gatewayId") e["gateway_id"] = x->text;
      if (x->name == "natGatewayId") e["nat_gateway_id"] = x->text;
      if (x->name == "transitGatewayId") e["transit_gateway_id"] = x->text;
      if (x->name == "vpcPeeringConnectionId") e["vpc_peering_connection_id"] = x->text;
    }
    routes.push_back(std::move(e));
  }
  std::sort(routes.begin(), routes.end(), [](const json& a, const json& b) { return a.dump() < b.dump(); });
  v["routes"] = std::move(routes);
  v["tags"] = XmlTags(item.Child("tagSet"));
  return v;
}

Result<std::optional<json>> ReadRouteTable(AwsClient& c, const json& rec) {
  Status st;
  std::string id = Need(rec, "id", "cloud.route_tables", &st);
  NIC_RETURN_IF_ERROR(st);
  NIC_ASSIGN_OR_RETURN(auto item, DescribeOne(c, "DescribeRouteTables", "RouteTableId", id, "routeTableSet"));
  if (!item) return std::optional<json>();
  return std::optional<json>(RouteTableJson(c, *item));
}

std::string RouteDestination(const json& r) {
  std::string d = JStr(r, "cidr_block");
  return d.empty() ? JStr(r, "ipv6_cidr_block") : d;
}

Params RouteParams(const std::string& table, const json& r) {
  Params p = {{"RouteTableId", table}};
  if (std::string s = JStr(r, "cidr_block"); !s.empty()) p.emplace_back("DestinationCidrBlock", s);
  if (std::string s = JStr(r, "ipv6_cidr_block"); !s.empty()) p.emplace_back("DestinationIpv6CidrBlock", s);
  for (const auto& t : kRouteTargets) {
    if (std::string s = JStr(r, t[0]); !s.empty()) p.emplace_back(t[1], s);
  }
  return p;
}

Status SyncRoutes(AwsClient& c, const std::string& table, const json& live_routes, const json& desired) {
  auto it = desired.find("routes");
  if (it == desired.end() || !it->is_array()) return Status::OK();
  std::map<std::string, json> have, want;
  if (live_routes.is_array()) {
    for (const auto& r : live_routes) have[RouteDestination(r)] = r;
  }
  for (const auto& r : *it) want[RouteDestination(r)] = r;
  for (const auto& [dest, r] : want) {
    auto h = have.find(dest);
    if (h == have.end()) {
      NIC_RETURN_IF_ERROR(Ec2Call(c, "CreateRoute", RouteParams(table, r)));
    } else if (h->second != r) {
      NIC_RETURN_IF_ERROR(Ec2Call(c, "ReplaceRoute", RouteParams(table, r)));
    }
  }
  for (const auto& [dest, r] : have) {
    if (want.count(dest)) continue;
    Params p = {{"RouteTableId", table}};
    p.emplace_back(JStr(r, "cidr_block").empty() ? "DestinationIpv6CidrBlock" : "DestinationCidrBlock", dest);
    NIC_RETURN_IF_ERROR(IgnoreNotFound(Ec2Call(c, "DeleteRoute", p)));
  }
  return Status::OK();
}

Result<json> CreateRouteTable(AwsClient& c, const json& d, const std::string& token) {
  Status st;
  std::string vpc = Need(d, "vpc_id", "cloud.route_tables", &st);
  NIC_RETURN_IF_ERROR(st);
  Params p = {{"VpcId", vpc}, {"ClientToken", token}};
  TagSpec(p, "route-table", c.NicTags("route-table", d));
  NIC_ASSIGN_OR_RETURN(xml::Node doc, c.Query("ec2", "CreateRouteTable", p));
  std::string id = doc.PathText("routeTable/routeTableId");
  if (id.empty()) return Status::InvalidInput("ec2:CreateRouteTable returned no routeTableId");
  NIC_RETURN_IF_ERROR(SyncRoutes(c, id, json::array(), d));
  return json{{"id", id}};
}

Result<json> UpdateRouteTable(AwsClient& c, const json& rec, const json& live, const json& d) {
  std::string id = JStr(live, "id");
  NIC_RETURN_IF_ERROR(SyncRoutes(c, id, live.value("routes", json::array()), d));
  NIC_RETURN_IF_ERROR(Ec2Retag(c, id, live.value("tags", json::object()), c.NicTags("route-table", d), rec));
  return json{{"id", id}};
}

Status DeleteRouteTable(AwsClient& c, const json& rec) {
  std::string id = JStr(rec, "id");
  if (id.empty()) return Status::OK();
  return IgnoreNotFound(Ec2Call(c, "DeleteRouteTable", {{"RouteTableId", id}}));
}

json AssociationJson(const xml::Node& a) {
  json v = json::object();
  v["id"] = a.ChildText("routeTableAssociationId");
  v["route_table_id"] = a.ChildText("routeTableId");
  if (std::string s = a.ChildText("subnetId"); !s.empty()) v["subnet_id"] = s;
  if (std::string s = a.ChildText("gatewayId"); !s.empty()) v["gateway_id"] = s;
  return v;
}

Result<std::optional<json>> ReadAssociation(AwsClient& c, const json& rec) {
  Status st;
  std::string id = Need(rec, "id", "cloud.route_table_associations", &st);
  NIC_RETURN_IF_ERROR(st);
  Params p;
  AppendFilter(p, 1, "association.route-table-association-id", id);
  NIC_ASSIGN_OR_RETURN(auto tables, DescribeAll(c, "DescribeRouteTables", p, "routeTableSet"));
  for (const auto& t : tables) {
    for (const xml::Node* a : Items(t, "associationSet")) {
      if (a->ChildText("routeTableAssociationId") != id) continue;
      std::string state = a->PathText("associationState/state");
      if (state == "disassociated" || state == "disassociating") return std::optional<json>();
      return std::optional<json>(AssociationJson(*a));
    }
  }
  return std::optional<json>();
}

Result<json> CreateAssociation(AwsClient& c, const json& d, const std::string&) {
  Status st;
  std::string table = Need(d, "route_table_id", "cloud.route_table_associations", &st);
  NIC_RETURN_IF_ERROR(st);
  Params p = {{"RouteTableId", table}};
  if (std::string s = JStr(d, "subnet_id"); !s.empty()) p.emplace_back("SubnetId", s);
  if (std::string s = JStr(d, "gateway_id"); !s.empty()) p.emplace_back("GatewayId", s);
  NIC_ASSIGN_OR_RETURN(xml::Node doc, c.Query("ec2", "AssociateRouteTable", p));
  std::string id = doc.ChildText("associationId");
  if (id.empty()) return Status::InvalidInput("ec2:AssociateRouteTable returned no associationId");
  return json{{"id", id}};
}

Result<json> UpdateAssociation(AwsClient& c, const json&, const json& live, const json& d) {
  std::string id = JStr(live, "id");
  std::string table = JStr(d, "route_table_id");
  if (table.empty() || table == JStr(live, "route_table_id")) return json{{"id", id}};
  // Moving a subnet to another table replaces the association, and with it the ID.
  NIC_ASSIGN_OR_RETURN(xml::Node doc,
                       c.Query("ec2", "ReplaceRouteTableAssociation", {{"AssociationId", id}, {"RouteTableId", table}}));
  std::string next = doc.ChildText("newAssociationId");
  return json{{"id", next.empty() ? id : next}};
}

Status DeleteAssociation(AwsClient& c, const json& rec) {
  std::string id = JStr(rec, "id");
  if (id.empty()) return Status::OK();
  return IgnoreNotFound(Ec2Call(c, "DisassociateRouteTable", {{"AssociationId", id}}));
}

// ---- Security groups ------------------------------------------------------------------------

// One rule per IP permission, as Terraform's aws_security_group flattens them: the group's
// own ID becomes self=true, other groups go to security_groups.
json RulesJson(const xml::Node& item, const char* set_name, const std::string& self_id) {
  json out = json::array();
  for (const xml::Node* perm : Items(item, set_name)) {
    json r = json::object();
    r["protocol"] = perm->ChildText("ipProtocol");
    r["from_port"] = XmlInt(perm->ChildText("fromPort")).value_or(0);
    r["to_port"] = XmlInt(perm->ChildText("toPort")).value_or(0);
    std::vector<std::string> cidrs, groups;
    std::string description;
    bool self = false;
    for (const xml::Node* ip : Items(*perm, "ipRanges")) {
      cidrs.push_back(ip->ChildText("cidrIp"));
      if (description.empty()) description = ip->ChildText("description");
    }
    for (const xml::Node* g : Items(*perm, "groups")) {
      std::string gid = g->ChildText("groupId");
      if (gid == self_id) {
        self = true;
      } else {
        groups.push_back(gid);
      }
      if (description.empty()) description = g->ChildText("description");
    }
    r["cidr_blocks"] = Sorted(cidrs);
    r["security_groups"] = Sorted(groups);
    r["self"] = self;
    r["description"] = description;
    out.push_back(std::move(r));
  }
  std::sort(out.begin(), out.end(), [](const json& a, const json& b) { return a.dump() < b.dump(); });
  return out;
}

json SgJson(AwsClient& c, const xml::Node& item) {
  json v = json::object();
  std::string id = item.ChildText("groupId");
  v["id"] = id;
  v["name"] = item.ChildText("groupName");
  v["arn"] = Ec2Arn(c, item, "security-group", id);
  v["description"] = item.ChildText("groupDescription");
  v["vpc_id"] = item.ChildText("vpcId");
  v["ingress"] = RulesJson(item, "ipPermissions", id);
  v["egress"] = RulesJson(item, "ipPermissionsEgress", id);
  v["tags"] = XmlTags(item.Child("tagSet"));
  return v;
}

Result<std::optional<json>> ReadSg(AwsClient& c, const json& rec) {
  Status st;
  std::string id = Need(rec, "id", "cloud.security_groups", &st);
  NIC_RETURN_IF_ERROR(st);
  NIC_ASSIGN_OR_RETURN(auto item, DescribeOne(c, "DescribeSecurityGroups", "GroupId", id, "securityGroupInfo"));
  if (!item) return std::optional<json>();
  return std::optional<json>(SgJson(c, *item));
}

// A rule in the canonical form RulesJson produces, so desired and live compare equal.
json CanonicalRule(const json& r) {
  json out = json::object();
  std::string proto = JStr(r, "protocol");
  if (proto == "all" || proto == "-1" || proto.empty()) proto = "-1";
  out["protocol"] = proto;
  out["from_port"] = JInt(r, "from_port").value_or(0);
  out["to_port"] = JInt(r, "to_port").value_or(0);
  out["cidr_blocks"] = Sorted(JStrings(r, "cidr_blocks"));
  out["security_groups"] = Sorted(JStrings(r, "security_groups"));
  out["self"] = JBool(r, "self").value_or(false);
  out["description"] = JStr(r, "description");
  return out;
}

Params PermissionParams(const std::string& group, const json& r, bool with_description) {
  Params p = {{"GroupId", group}};
  const std::string base = "IpPermissions.1.";
  std::string proto = JStr(r, "protocol");
  p.emplace_back(base + "IpProtocol", proto);
  if (proto != "-1") {
    p.emplace_back(base + "FromPort", std::to_string(JInt(r, "from_port").value_or(0)));
    p.emplace_back(base + "ToPort", std::to_string(JInt(r, "to_port").value_or(0)));
  }
  std::string desc = JStr(r, "description");
  int i = 1;
  for (const auto& cidr : JStrings(r, "cidr_blocks")) {
    std::string b = base + "IpRanges." + std::to_string(i++) + ".";
    p.emplace_back(b + "CidrIp", cidr);
    if (with_description && !desc.empty()) p.emplace_back(b + "Description", desc);
  }
  std::vector<std::string> groups = JStrings(r, "security_groups");
  if (JBool(r, "self").value_or(false)) groups.push_back(group);
  i = 1;
  for (const auto& g : groups) {
    std::string b = base + "Groups." + std::to_string(i++) + ".";
    p.emplace_back(b + "GroupId", g);
    if (with_description && !desc.empty()) p.emplace_back(b + "Description", desc);
  }
  return p;
}

Status SyncRules(AwsClient& c, const std::string& group, const json& live, const json& d) {
  for (auto [field, kind] : {std::pair{"ingress", "Ingress"}, std::pair{"egress", "Egress"}}) {
    auto it = d.find(field);
    if (it == d.end() || !it->is_array()) continue;  // not managed by this config
    std::set<std::string> have, want;
    std::map<std::string, json> rules;
    for (const auto& r : live.value(field, json::array())) {
      json cr = CanonicalRule(r);
      have.insert(cr.dump());
      rules[cr.dump()] = cr;
    }
    for (const auto& r : *it) {
      json cr = CanonicalRule(r);
      want.insert(cr.dump());
      rules[cr.dump()] = cr;
    }
    for (const auto& k : have) {
      if (want.count(k)) continue;
      NIC_RETURN_IF_ERROR(IgnoreNotFound(
          Ec2Call(c, std::string("RevokeSecurityGroup") + kind, PermissionParams(group, rules[k], false))));
    }
    for (const auto& k : want) {
      if (have.count(k)) continue;
      NIC_RETURN_IF_ERROR(Ec2Call(c, std::string("AuthorizeSecurityGroup") + kind, PermissionParams(group, rules[k], true)));
    }
  }
  return Status::OK();
}

Result<json> CreateSg(AwsClient& c, const json& d, const std::string&) {
  Status st;
  std::string name = Need(d, "name", "cloud.security_groups", &st);
  std::string vpc = Need(d, "vpc_id", "cloud.security_groups", &st);
  NIC_RETURN_IF_ERROR(st);
  std::string description = JStr(d, "description");
  if (description.empty()) description = "Managed by NIC";
  Params p = {{"GroupName", name}, {"GroupDescription", description}, {"VpcId", vpc}};
  TagSpec(p, "security-group", c.NicTags("security-group", d));
  NIC_ASSIGN_OR_RETURN(xml::Node doc, c.Query("ec2", "CreateSecurityGroup", p));
  std::string id = doc.ChildText("groupId");
  if (id.empty()) return Status::InvalidInput("ec2:CreateSecurityGroup returned no groupId");
  NIC_ASSIGN_OR_RETURN(auto live, ReadSg(c, json{{"id", id}}));
  if (!live) return Status::Unavailable("security group " + id + " is not visible after creation");
  NIC_RETURN_IF_ERROR(SyncRules(c, id, *live, d));
  return json{{"id", id}};
}

Result<json> UpdateSg(AwsClient& c, const json& rec, const json& live, const json& d) {
  std::string id = JStr(live, "id");
  NIC_RETURN_IF_ERROR(SyncRules(c, id, live, d));
  NIC_RETURN_IF_ERROR(Ec2Retag(c, id, live.value("tags", json::object()), c.NicTags("security-group", d), rec));
  return json{{"id", id}};
}

Status DeleteSg(AwsClient& c, const json& rec) {
  std::string id = JStr(rec, "id");
  if (id.empty()) return Status::OK();
  return IgnoreNotFound(Ec2Call(c, "DeleteSecurityGroup", {{"GroupId", id}}));
}

// ---- EBS volumes ----------------------------------------------------------------------------

json VolumeJson(AwsClient& c, const xml::Node& item) {
  json v = json::object();
  v["id"] = item.ChildText("volumeId");
  v["arn"] = Ec2Arn(c, item, "volume", v["id"]);
  if (auto n = XmlInt(item.ChildText("size"))) v["size"] = *n;
  v["type"] = item.ChildText("volumeType");
  if (auto n = XmlInt(item.ChildText("iops"))) v["iops"] = *n;
  if (auto n = XmlInt(item.ChildText("throughput"))) v["throughput"] = *n;
  v["encrypted"] = XmlBool(item.ChildText("encrypted"));
  v["availability_zone"] = item.ChildText("availabilityZone");
  v["tags"] = XmlTags(item.Child("tagSet"));
  return v;
}

Result<std::optional<json>> ReadVolume(AwsClient& c, const json& rec) {
  Status st;
  std::string id = Need(rec, "id", "cloud.volumes", &st);
  NIC_RETURN_IF_ERROR(st);
  NIC_ASSIGN_OR_RETURN(auto item, DescribeOne(c, "DescribeVolumes", "VolumeId", id, "volumeSet"));
  if (!item || item->ChildText("status") == "deleted" || item->ChildText("status") == "deleting") {
    return std::optional<json>();
  }
  return std::optional<json>(VolumeJson(c, *item));
}

void VolumeShape(Params& p, const json& d, const json& live) {
  auto differs = [&](const char* k) { return d.contains(k) && (live.is_null() || d[k] != live.value(k, json())); };
  if (auto n = JInt(d, "size"); n && differs("size")) p.emplace_back("Size", std::to_string(*n));
  if (std::string t = JStr(d, "type"); !t.empty() && differs("type")) p.emplace_back("VolumeType", t);
  if (auto n = JInt(d, "iops"); n && differs("iops")) p.emplace_back("Iops", std::to_string(*n));
  if (auto n = JInt(d, "throughput"); n && differs("throughput")) p.emplace_back("Throughput", std::to_string(*n));
}

Result<json> CreateVolume(AwsClient& c, const json& d, const std::string& token) {
  Status st;
  std::string az = Need(d, "availability_zone", "cloud.volumes", &st);
  NIC_RETURN_IF_ERROR(st);
  Params p = {{"AvailabilityZone", az}, {"ClientToken", token}};
  VolumeShape(p, d, json());
  if (JBool(d, "encrypted").value_or(false)) p.emplace_back("Encrypted", "true");
  TagSpec(p, "volume", c.NicTags("ebs-volume", d));
  NIC_ASSIGN_OR_RETURN(xml::Node doc, c.Query("ec2", "CreateVolume", p));
  std::string id = doc.ChildText("volumeId");
  if (id.empty()) return Status::InvalidInput("ec2:CreateVolume returned no volumeId");
  NIC_RETURN_IF_ERROR(c.WaitUntil("EBS volume " + id, [&](std::string* state) -> Result<bool> {
    NIC_ASSIGN_OR_RETURN(auto item, DescribeOne(c, "DescribeVolumes", "VolumeId", id, "volumeSet"));
    *state = item ? item->ChildText("status") : "not visible yet";
    if (*state == "error") return Status::Unavailable("EBS volume " + id + " is in state error");
    return item && *state == "available";
  }));
  return json{{"id", id}};
}

Result<json> UpdateVolume(AwsClient& c, const json& rec, const json& live, const json& d) {
  std::string id = JStr(live, "id");
  Params p = {{"VolumeId", id}};
  VolumeShape(p, d, live);
  if (p.size() > 1) NIC_RETURN_IF_ERROR(Ec2Call(c, "ModifyVolume", p));
  NIC_RETURN_IF_ERROR(Ec2Retag(c, id, live.value("tags", json::object()), c.NicTags("ebs-volume", d), rec));
  return json{{"id", id}};
}

Status DeleteVolume(AwsClient& c, const json& rec) {
  std::string id = JStr(rec, "id");
  if (id.empty()) return Status::OK();
  NIC_RETURN_IF_ERROR(IgnoreNotFound(Ec2Call(c, "DeleteVolume", {{"VolumeId", id}})));
  return c.WaitUntil("deleting EBS volume " + id, [&](std::string* state) -> Result<bool> {
    NIC_ASSIGN_OR_RETURN(auto live, ReadVolume(c, rec));
    *state = live ? "deleting" : "gone";
    return !live.has_value();
  });
}

// ---- Discovery ------------------------------------------------------------------------------

template <typename ToJson>
DiscoverFn Ec2Discover(std::string collection, bool singleton, std::string action, std::string set_name,
                       ToJson to_json) {
  return [=](AwsClient& c, const std::string& cluster, std::vector<ResourceRef>* out) -> Status {
    NIC_ASSIGN_OR_RETURN(auto items, DescribeAll(c, action, NicFilters(cluster), set_name.c_str()));
    for (const auto& item : items) {
      NIC_ASSIGN_OR_RETURN(json v, to_json(c, item));
      if (v.is_null()) continue;
      out->push_back(MakeRef(collection, singleton, std::move(v)));
    }
    return Status::OK();
  };
}

// Reads many resources of one EC2 collection with one paged Describe* call: a filter on the
// ID returns only the resources that exist. Listing the IDs themselves (SubnetId.N, GroupId.N)
// would make EC2 fail the whole call with InvalidSubnetID.NotFound / InvalidGroup.NotFound as
// soon as one of them is gone, and those parameters also refuse MaxResults. Items whose ID was
// not asked for (an endpoint that ignores the filter) are left out.
template <typename ToJson>
ReadManyFn Ec2ReadMany(std::string action, std::string filter, std::string set_name, std::string id_field,
                       ToJson to_json) {
  return [=](AwsClient& c, const std::vector<std::string>& ids) -> Result<std::map<std::string, json>> {
    Params p;
    p.reserve(ids.size() + 1);
    p.emplace_back("Filter.1.Name", filter);
    for (size_t i = 0; i < ids.size(); ++i) p.emplace_back("Filter.1.Value." + std::to_string(i + 1), ids[i]);
    std::set<std::string_view> wanted(ids.begin(), ids.end());
    std::map<std::string, json> found;
    NIC_RETURN_IF_ERROR(c.QueryPages("ec2", action, std::move(p), [&](const xml::Node& doc) {
      for (const xml::Node* item : Items(doc, set_name.c_str())) {
        std::string id = item->ChildText(id_field.c_str());
        if (wanted.count(id) == 0) continue;
        if (std::optional<json> v = to_json(c, *item)) found.emplace(std::move(id), std::move(*v));
      }
    }));
    return found;
  };
}

}  // namespace

Status Ec2Retag(AwsClient& c, const std::string& id, const json& live, const Tags& want, const json& recorded) {
  Tags set;
  std::vector<std::string> remove;
  TagDelta(live, want, recorded, &set, &remove);
  if (!set.empty()) {
    Params p = {{"ResourceId.1", id}};
    AppendTagParams(p, "Tag", set);
    NIC_RETURN_IF_ERROR(Ec2Call(c, "CreateTags", p));
  }
  if (!remove.empty()) {
    Params p = {{"ResourceId.1", id}};
    for (size_t i = 0; i < remove.size(); ++i) p.emplace_back("Tag." + std::to_string(i + 1) + ".Key", remove[i]);
    NIC_RETURN_IF_ERROR(Ec2Call(c, "DeleteTags", p));
  }
  return Status::OK();
}

std::vector<CollectionOps> Ec2Collections() {
  std::vector<CollectionOps> out;
  out.push_back({"cloud.vpc", true, {"cidr", "enable_dns_hostnames", "enable_dns_support", "tags"}, {"cidr"},
                 ReadVpc, CreateVpc, UpdateVpc, DeleteVpc});
  out.push_back({"cloud.vpc.subnets", false,
                 {"cidr", "availability_zone", "vpc_id", "map_public_ip_on_launch", "tags"},
                 {"cidr", "availability_zone", "vpc_id"}, ReadSubnet, CreateSubnet, UpdateSubnet, DeleteSubnet});
  out.push_back({"cloud.gateways", false,
                 {"kind", "vpc_id", "subnet_id", "allocation_id", "connectivity_type", "tags"},
                 {"kind", "vpc_id", "subnet_id", "allocation_id", "connectivity_type"}, ReadGateway, CreateGateway,
                 UpdateGateway, DeleteGateway});
  out.push_back({"cloud.route_tables", false, {"vpc_id", "routes", "tags"}, {"vpc_id"}, ReadRouteTable,
                 CreateRouteTable, UpdateRouteTable, DeleteRouteTable});
  out.push_back({"cloud.route_table_associations", false, {"route_table_id", "subnet_id", "gateway_id"},
                 {"subnet_id", "gateway_id"}, ReadAssociation, CreateAssociation, UpdateAssociation, DeleteAssociation});
  out.push_back({"cloud.security_groups", false, {"name", "description", "vpc_id", "ingress", "egress", "tags"},
                 {"name", "description", "vpc_id"}, ReadSg, CreateSg, UpdateSg, DeleteSg});
  out.push_back({"cloud.volumes", false, {"size", "type", "iops", "throughput", "encrypted", "availability_zone", "tags"},
                 {"encrypted", "availability_zone"}, ReadVolume, CreateVolume, UpdateVolume, DeleteVolume});
  return out;
}

std::map<std::string, ReadManyFn> Ec2ReadManys() {
  std::map<std::string, ReadManyFn> out;
  out.emplace("cloud.vpc.subnets",
              Ec2ReadMany("DescribeSubnets", "subnet-id", "subnetSet", "subnetId",
                          [](AwsClient&, const xml::Node& i) -> std::optional<json> { return SubnetJson(i); }));
  out.emplace("cloud.security_groups",
              Ec2ReadMany("DescribeSecurityGroups", "group-id", "securityGroupInfo", "groupId",
                          [](AwsClient& c, const xml::Node& i) -> std::optional<json> { return SgJson(c, i); }));
  out.emplace("cloud.volumes", Ec2ReadMany("DescribeVolumes", "volume-id", "volumeSet", "volumeId",
                                           [](AwsClient& c, const xml::Node& i) -> std::optional<json> {
                                             std::string s = i.ChildText("status");
                                             if (s == "deleted" || s == "deleting") return std::nullopt;
                                             return VolumeJson(c, i);
                                           }));
  return out;
}

std::vector<DiscoverFn> Ec2Discoverers() {
  std::vector<DiscoverFn> out;
  out.push_back(Ec2Discover("cloud.vpc", true, "DescribeVpcs", "vpcSet", [](AwsClient& c, const xml::Node& i) -> Result<json> {
    json v = VpcJson(c, i);
    NIC_RETURN_IF_ERROR(ReadVpcDns(c, v));
    return v;
  }));
  out.push_back(Ec2Discover("cloud.vpc.subnets", false, "DescribeSubnets", "subnetSet",
                            [](AwsClient&, const xml::Node& i) -> Result<json> { return SubnetJson(i); }));
  out.push_back(Ec2Discover("cloud.gateways", false, "DescribeInternetGateways", "internetGatewaySet",
                            [](AwsClient& c, const xml::Node& i) -> Result<json> { return IgwJson(c, i); }));
  out.push_back(Ec2Discover("cloud.gateways", false, "DescribeNatGateways", "natGatewaySet",
                            [](AwsClient&, const xml::Node& i) -> Result<json> {
                              if (NatGone(i.ChildText("state"))) return json();
                              return NatJson(i);
                            }));
  out.push_back([](AwsClient& c, const std::string& cluster, std::vector<ResourceRef>* out) -> Status {
    // Associations carry no tags; they are found through the tagged route tables.
    NIC_ASSIGN_OR_RETURN(auto items, DescribeAll(c, "DescribeRouteTables", NicFilters(cluster), "routeTableSet"));
    for (const auto& item : items) {
      out->push_back(MakeRef("cloud.route_tables", false, RouteTableJson(c, item)));
      for (const xml::Node* a : Items(item, "associationSet")) {
        if (a->ChildText("main") == "true") continue;
        out->push_back(MakeRef("cloud.route_table_associations", false, AssociationJson(*a)));
      }
    }
    return Status::OK();
  });
  out.push_back(Ec2Discover("cloud.security_groups", false, "DescribeSecurityGroups", "securityGroupInfo",
                            [](AwsClient& c, const xml::Node& i) -> Result<json> { return SgJson(c, i); }));
  out.push_back(Ec2Discover("cloud.volumes", false, "DescribeVolumes", "volumeSet",
                            [](AwsClient& c, const xml::Node& i) -> Result<json> {
                              std::string s = i.ChildText("status");
                              if (s == "deleted" || s == "deleting") return json();
                              return VolumeJson(c, i);
                            }));
  return out;
}

}  // namespace nic::awsprov

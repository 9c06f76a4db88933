#!/usr/bin/env python3
"""Plays Terraform for the demo: creates a Nebari-shaped AWS stack in moto_server with boto3,
exactly as Nebari's stage 02/03 Terraform modules would (template/aws: network, efs,
kubernetes), and writes the terraform.tfstate files those stages would hold for it (format v4,
hashicorp/aws attribute names, Nebari's module addresses), plus the matching
nebari-config.yaml.

Usage: make_terraform_stack.py --endpoint http://127.0.0.1:PORT --out DIR
"""
import argparse
import json
import os
import uuid

import boto3

AWS_PROVIDER = 'provider["registry.terraform.io/hashicorp/aws"]'
K8S_PROVIDER = 'provider["registry.terraform.io/hashicorp/kubernetes"]'


def resource(module, rtype, name, instances, mode="managed", provider=AWS_PROVIDER, each=None):
    r = {"mode": mode, "type": rtype, "name": name, "provider": provider, "instances": instances}
    if module:
        r["module"] = module
    if each:
        r["each"] = each
    return r


def instance(attrs, index_key=None, schema_version=0, sensitive=None, deps=None):
    i = {"schema_version": schema_version, "attributes": attrs, "sensitive_attributes": sensitive or []}
    if index_key is not None:
        i["index_key"] = index_key
    if deps:
        i["dependencies"] = deps
    return i


def tfstate(resources, outputs):
    return {"version": 4, "terraform_version": "1.5.7", "serial": 17, "lineage": str(uuid.uuid4()),
            "outputs": outputs, "resources": resources, "check_results": None}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--project", default="nicdemo")
    ap.add_argument("--namespace", default="dev")
    ap.add_argument("--region", default="us-west-2")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    kw = dict(endpoint_url=a.endpoint, region_name=a.region, aws_access_key_id="testing",
              aws_secret_access_key="testing")
    ec2, iam, eks, efs = (boto3.client(s, **kw) for s in ("ec2", "iam", "eks", "efs"))
    name = f"{a.project}-{a.namespace}"
    tags = {"Project": a.project, "Environment": a.namespace, "Owner": "terraform"}
    tag_list = [{"Key": k, "Value": v} for k, v in tags.items()]

    # module.network[0]
    vpc = ec2.create_vpc(CidrBlock="10.10.0.0/16", TagSpecifications=[{"ResourceType": "vpc", "Tags": tag_list + [{"Key": "Name", "Value": name}]}])["Vpc"]
    vpc_id = vpc["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc_id, EnableDnsHostnames={"Value": True})
    azs = [f"{a.region}a", f"{a.region}b"]
    subnets = []
    for i, az in enumerate(azs):
        s = ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.10.{i * 16}.0/20", AvailabilityZone=az,
                              TagSpecifications=[{"ResourceType": "subnet", "Tags": tag_list + [{"Key": "Name", "Value": f"{name}-subnet-{i}"}]}])["Subnet"]
        ec2.modify_subnet_attribute(SubnetId=s["SubnetId"], MapPublicIpOnLaunch={"Value": True})
        subnets.append(s)
    igw = ec2.create_internet_gateway(TagSpecifications=[{"ResourceType": "internet-gateway", "Tags": tag_list}])["InternetGateway"]
    ec2.attach_internet_gateway(InternetGatewayId=igw["InternetGatewayId"], VpcId=vpc_id)
    rt = ec2.create_route_table(VpcId=vpc_id, TagSpecifications=[{"ResourceType": "route-table", "Tags": tag_list}])["RouteTable"]
    ec2.create_route(RouteTableId=rt["RouteTableId"], DestinationCidrBlock="0.0.0.0/0", GatewayId=igw["InternetGatewayId"])
    assocs = [ec2.associate_route_table(RouteTableId=rt["RouteTableId"], SubnetId=s["SubnetId"])["AssociationId"] for s in subnets]
    sg = ec2.create_security_group(GroupName=name, Description="Main security group for infrastructure deployment", VpcId=vpc_id,
                                   TagSpecifications=[{"ResourceType": "security-group", "Tags": tag_list}])
    sg_id = sg["GroupId"]
    # Nebari's network module: all traffic within the group in, everything out.
    ec2.authorize_security_group_ingress(GroupId=sg_id, IpPermissions=[{
        "IpProtocol": "-1", "FromPort": 0, "ToPort": 0,
        "UserIdGroupPairs": [{"GroupId": sg_id, "Description": "Allow all ports and protocols to enter the security group"}]}])
    ec2.revoke_security_group_egress(GroupId=sg_id, IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
    ec2.authorize_security_group_egress(GroupId=sg_id, IpPermissions=[{
        "IpProtocol": "-1", "FromPort": 0, "ToPort": 0,
        "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "Allow all ports and protocols to exit the security group"}]}])

    # module.kubernetes: IAM roles (policy.tf), cluster and node groups (main.tf)
    assume = lambda svc: json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": svc}, "Action": "sts:AssumeRole"}]})
    cluster_role = iam.create_role(RoleName=f"{name}-eks-cluster-role", AssumeRolePolicyDocument=assume("eks.amazonaws.com"))["Role"]
    node_role = iam.create_role(RoleName=f"{name}-eks-node-group-role", AssumeRolePolicyDocument=assume("ec2.amazonaws.com"))["Role"]
    # policy.tf: the cluster-policy[0..2] and node-group-policy[0..2] attachments
    attachments = {"cluster-policy": (cluster_role, ["AmazonEKSClusterPolicy", "AmazonEKSServicePolicy", "AmazonEKSVPCResourceController"]),
                   "node-group-policy": (node_role, ["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"])}
    for role, policies in attachments.values():
        for p in policies:
            iam.attach_role_policy(RoleName=role["RoleName"], PolicyArn=f"arn:aws:iam::aws:policy/{p}")
    cluster = eks.create_cluster(name=name, version="1.29", roleArn=cluster_role["Arn"],
                                 resourcesVpcConfig={"subnetIds": [s["SubnetId"] for s in subnets], "securityGroupIds": [sg_id]},
                                 tags=tags)["cluster"]
    cluster = eks.describe_cluster(name=name)["cluster"]
    groups = [("general", "m5.xlarge", 1, 5, []),
              ("user", "m5.2xlarge", 0, 10, [{"key": "dedicated", "value": "nebari", "effect": "NO_SCHEDULE"}]),
              ("worker", "m5.2xlarge", 0, 10, [{"key": "dedicated", "value": "nebari", "effect": "NO_SCHEDULE"}])]
    ngs = []
    for gname, itype, mn, mx, taints in groups:
        args = dict(clusterName=name, nodegroupName=gname, scalingConfig={"minSize": mn, "maxSize": mx, "desiredSize": max(mn, 1) if gname == "general" else mn},
                    subnets=[s["SubnetId"] for s in subnets], instanceTypes=[itype], nodeRole=node_role["Arn"], diskSize=50,
                    amiType="AL2_x86_64", capacityType="ON_DEMAND", labels={"dedicated": gname}, tags=tags)
        if taints:
            args["taints"] = taints
        eks.create_nodegroup(**args)
        ngs.append(eks.describe_nodegroup(clusterName=name, nodegroupName=gname)["nodegroup"])

    # module.efs[0]
    fs = efs.create_file_system(CreationToken=f"{name}-jupyterhub-shared", Encrypted=True, PerformanceMode="generalPurpose",
                                ThroughputMode="bursting", Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
    mts = [efs.create_mount_target(FileSystemId=fs["FileSystemId"], SubnetId=s["SubnetId"], SecurityGroups=[sg_id]) for s in subnets]

    # ---- stage 02 tfstate, with the attributes hashicorp/aws records --------------------------
    net = "module.network[0]"
    res = []
    res.append(resource(net, "aws_vpc", "main", [instance({
        "id": vpc_id, "arn": f"arn:aws:ec2:{a.region}:123456789012:vpc/{vpc_id}", "cidr_block": "10.10.0.0/16",
        "enable_dns_hostnames": True, "enable_dns_support": True, "instance_tenancy": "default",
        "tags": {**tags, "Name": name}, "tags_all": {**tags, "Name": name}}, schema_version=1)]))
    res.append(resource(net, "aws_subnet", "main", [instance({
        "id": s["SubnetId"], "arn": f"arn:aws:ec2:{a.region}:123456789012:subnet/{s['SubnetId']}", "availability_zone": s["AvailabilityZone"],
        "cidr_block": s["CidrBlock"], "vpc_id": vpc_id, "map_public_ip_on_launch": True,
        "tags": {**tags, "Name": f"{name}-subnet-{i}"}}, index_key=i, schema_version=1) for i, s in enumerate(subnets)]))
    res.append(resource(net, "aws_internet_gateway", "main", [instance({
        "id": igw["InternetGatewayId"], "arn": f"arn:aws:ec2:{a.region}:123456789012:internet-gateway/{igw['InternetGatewayId']}",
        "vpc_id": vpc_id, "tags": tags})]))
    res.append(resource(net, "aws_route_table", "main", [instance({
        "id": rt["RouteTableId"], "vpc_id": vpc_id, "route": [{"cidr_block": "0.0.0.0/0", "gateway_id": igw["InternetGatewayId"]}],
        "tags": tags})]))
    res.append(resource(net, "aws_route_table_association", "main", [instance({
        "id": assoc, "route_table_id": rt["RouteTableId"], "subnet_id": subnets[i]["SubnetId"]}, index_key=i) for i, assoc in enumerate(assocs)]))
    res.append(resource(net, "aws_security_group", "main", [instance({
        "id": sg_id, "arn": f"arn:aws:ec2:{a.region}:123456789012:security-group/{sg_id}", "name": name, "vpc_id": vpc_id,
        "description": "Main security group for infrastructure deployment",
        "ingress": [{"from_port": 0, "to_port": 0, "protocol": "-1", "self": True, "cidr_blocks": [], "description": "Allow all ports and protocols to enter the security group"}],
        "egress": [{"from_port": 0, "to_port": 0, "protocol": "-1", "cidr_blocks": ["0.0.0.0/0"], "self": False, "description": "Allow all ports and protocols to exit the security group"}],
        "tags": tags}, schema_version=1)]))
    res.append(resource("module.efs[0]", "aws_efs_file_system", "main", [instance({
        "id": fs["FileSystemId"], "arn": fs.get("FileSystemArn", ""), "creation_token": f"{name}-jupyterhub-shared", "encrypted": True,
        "dns_name": f"{fs['FileSystemId']}.efs.{a.region}.amazonaws.com", "performance_mode": "generalPurpose",
        "throughput_mode": "bursting", "tags": tags})]))
    res.append(resource("module.efs[0]", "aws_efs_mount_target", "main", [instance({
        "id": mt["MountTargetId"], "file_system_id": fs["FileSystemId"], "subnet_id": mt["SubnetId"],
        "ip_address": mt.get("IpAddress", ""), "security_groups": [sg_id]}, index_key=i) for i, mt in enumerate(mts)]))
    k = "module.kubernetes"
    for rname, role in (("cluster", cluster_role), ("node-group", node_role)):
        res.append(resource(k, "aws_iam_role", rname, [instance({
            "id": role["RoleName"], "arn": role["Arn"], "name": role["RoleName"], "unique_id": role["RoleId"],
            "assume_role_policy": role["AssumeRolePolicyDocument"] if isinstance(role["AssumeRolePolicyDocument"], str) else json.dumps(role["AssumeRolePolicyDocument"]),
            "path": "/", "tags": {}})]))
    for rname, (role, policies) in attachments.items():
        res.append(resource(k, "aws_iam_role_policy_attachment", rname, [instance({
            "id": f"{role['RoleName']}-2024010100000000000000000{i}", "role": role["RoleName"],
            "policy_arn": f"arn:aws:iam::aws:policy/{p}"}, index_key=i) for i, p in enumerate(policies)]))
    res.append(resource(k, "aws_eks_cluster", "main", [instance({
        "id": name, "name": name, "arn": cluster["arn"], "endpoint": cluster.get("endpoint", ""),
        "version": cluster["version"], "platform_version": cluster.get("platformVersion", ""), "status": cluster["status"],
        "role_arn": cluster_role["Arn"], "created_at": str(cluster.get("createdAt", "")),
        "certificate_authority": [{"data": cluster.get("certificateAuthority", {}).get("data", "")}],
        "identity": [{"oidc": [{"issuer": cluster.get("identity", {}).get("oidc", {}).get("issuer", "")}]}],
        "vpc_config": [{"subnet_ids": [s["SubnetId"] for s in subnets], "security_group_ids": [sg_id],
                        "cluster_security_group_id": cluster["resourcesVpcConfig"].get("clusterSecurityGroupId", ""), "vpc_id": vpc_id,
                        "endpoint_private_access": cluster["resourcesVpcConfig"].get("endpointPrivateAccess", False),
                        "endpoint_public_access": cluster["resourcesVpcConfig"].get("endpointPublicAccess", True),
                        "public_access_cidrs": cluster["resourcesVpcConfig"].get("publicAccessCidrs", [])}],
        "tags": tags}, schema_version=0)]))
    res.append(resource(k, "aws_eks_node_group", "main", [instance({
        "id": f"{name}:{ng['nodegroupName']}", "node_group_name": ng["nodegroupName"], "arn": ng["nodegroupArn"], "cluster_name": name,
        "instance_types": ng["instanceTypes"], "ami_type": ng.get("amiType", "AL2_x86_64"), "capacity_type": ng.get("capacityType", "ON_DEMAND"),
        "disk_size": ng.get("diskSize", 50),
        "scaling_config": [{"min_size": ng["scalingConfig"]["minSize"], "max_size": ng["scalingConfig"]["maxSize"], "desired_size": ng["scalingConfig"]["desiredSize"]}],
        "subnet_ids": ng["subnets"], "labels": ng.get("labels", {}), "taint": ng.get("taints", []), "node_role_arn": node_role["Arn"],
        "status": ng["status"], "version": ng.get("version", "1.29"), "release_version": ng.get("releaseVersion", ""),
        "resources": [{"autoscaling_groups": [{"name": g["name"]} for g in ng.get("resources", {}).get("autoScalingGroups", [])], "remote_access_security_group_id": ""}],
        "tags": tags}, index_key=i) for i, ng in enumerate(ngs)]))
    res.append(resource(k, "aws_eks_cluster_auth", "main", [instance({"id": name, "name": name, "token": "k8s-aws-v1.REDACTED-TOKEN"}, sensitive=[[{"type": "get_attr", "value": "token"}]])], mode="data"))
    outputs = {
        "kubeconfig_filename": {"value": os.path.join(os.path.abspath(a.out), "kubeconfig"), "type": "string"},
        "nfs_endpoint": {"value": f"{fs['FileSystemId']}.efs.{a.region}.amazonaws.com", "type": "string"},
        "kubernetes_credentials": {"value": {"host": cluster.get("endpoint", ""), "cluster_ca_certificate": "REDACTED", "token": "REDACTED"}, "type": ["object", {}], "sensitive": True},
    }
    with open(os.path.join(a.out, "02-infrastructure.tfstate"), "w") as f:
        json.dump(tfstate(res, outputs), f, indent=2)

    # ---- stage 03 tfstate ----------------------------------------------------------------------
    res3 = [resource(None, "aws_eks_cluster", "default", [instance({"id": name, "name": name, "arn": cluster["arn"], "endpoint": cluster.get("endpoint", "")})], mode="data"),
            resource("module.kubernetes-initialization", "kubernetes_namespace", "main", [instance({
                "id": a.namespace, "metadata": [{"name": a.namespace, "labels": {}, "annotations": {}, "generation": 0,
                                                 "resource_version": "1", "uid": str(uuid.uuid4())}], "timeouts": None}, schema_version=0)],
                     provider=K8S_PROVIDER)]
    with open(os.path.join(a.out, "03-kubernetes-initialize.tfstate"), "w") as f:
        json.dump(tfstate(res3, {}), f, indent=2)

    with open(os.path.join(a.out, "nebari-config.yaml"), "w") as f:
        f.write(f"""project_name: {a.project}
namespace: {a.namespace}
provider: aws
domain: {a.project}.example.com
nebari_version: 2024.11.1
terraform_state:
  type: remote
amazon_web_services:
  region: {a.region}
  kubernetes_version: "1.29"
  node_groups:
    general:
      instance: m5.xlarge
      min_nodes: 1
      max_nodes: 5
    user:
      instance: m5.2xlarge
      min_nodes: 0
      max_nodes: 10
    worker:
      instance: m5.2xlarge
      min_nodes: 0
      max_nodes: 10
certificate:
  type: self-signed
""")
    print(json.dumps({"vpc": vpc_id, "cluster": name, "node_groups": [n["nodegroupName"] for n in ngs], "efs": fs["FileSystemId"]}))


if __name__ == "__main__":
    main()

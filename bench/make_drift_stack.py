#!/usr/bin/env python3
"""Grows the demo's Terraform-made Nebari stack (scripts/demo/make_terraform_stack.py) to a few
hundred live resources in moto_server, for measuring refresh / `nic drift detect`.

Adds N subnets, N security groups and N EKS node groups to the stack's VPC and cluster (boto3,
as Terraform would), and appends them to the stack's 02-infrastructure.tfstate in the same
hashicorp/aws shape, so `nic import --from-terraform` takes them all into NIC's state.

    make_drift_stack.py --endpoint http://127.0.0.1:PORT --dir DIR --count 100
"""
import argparse
import json
import os

import boto3

AWS = 'provider["registry.terraform.io/hashicorp/aws"]'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--dir", required=True, help="the --out of make_terraform_stack.py")
    ap.add_argument("--count", type=int, default=100, help="subnets, security groups and node groups each")
    ap.add_argument("--region", default="us-west-2")
    a = ap.parse_args()
    path = os.path.join(a.dir, "02-infrastructure.tfstate")
    with open(path) as f:
        st = json.load(f)
    res = st["resources"]
    get = lambda t: next(r for r in res if r["type"] == t and r["mode"] == "managed")
    vpc_id = get("aws_vpc")["instances"][0]["attributes"]["id"]
    cluster = get("aws_eks_cluster")["instances"][0]["attributes"]
    ng0 = get("aws_eks_node_group")["instances"][0]["attributes"]
    kw = dict(endpoint_url=a.endpoint, region_name=a.region, aws_access_key_id="testing", aws_secret_access_key="testing")
    ec2, eks = boto3.client("ec2", **kw), boto3.client("eks", **kw)
    tags = {"Project": "nicdemo", "Environment": "dev", "Owner": "terraform"}
    tag_list = [{"Key": k, "Value": v} for k, v in tags.items()]
    subnets, sgs, ngs = [], [], []
    for i in range(a.count):
        s = ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.10.{32 + i}.0/24", AvailabilityZone=f"{a.region}{'abc'[i % 3]}",
                              TagSpecifications=[{"ResourceType": "subnet", "Tags": tag_list}])["Subnet"]
        subnets.append(s)
        g = ec2.create_security_group(GroupName=f"bench-sg-{i}", Description=f"bench group {i}", VpcId=vpc_id,
                                      TagSpecifications=[{"ResourceType": "security-group", "Tags": tag_list}])
        sgs.append(ec2.describe_security_groups(GroupIds=[g["GroupId"]])["SecurityGroups"][0])
        eks.create_nodegroup(clusterName=cluster["name"], nodegroupName=f"bench-{i:03d}",
                             scalingConfig={"minSize": 0, "maxSize": 3, "desiredSize": 0}, subnets=[s["SubnetId"]],
                             instanceTypes=["m5.large"], nodeRole=ng0["node_role_arn"], diskSize=50, amiType="AL2_x86_64",
                             capacityType="ON_DEMAND", labels={"dedicated": f"bench-{i:03d}"}, tags=tags)
        ngs.append(eks.describe_nodegroup(clusterName=cluster["name"], nodegroupName=f"bench-{i:03d}")["nodegroup"])
    net = "module.network[0]"
    rule = lambda p: {"from_port": p.get("FromPort", 0), "to_port": p.get("ToPort", 0), "protocol": p["IpProtocol"],
                      "cidr_blocks": [r["CidrIp"] for r in p.get("IpRanges", [])], "self": False, "description": ""}
    res.append({"module": net, "mode": "managed", "type": "aws_subnet", "name": "bench", "provider": AWS, "each": "list",
                "instances": [{"index_key": i, "schema_version": 1, "sensitive_attributes": [], "attributes": {
                    "id": s["SubnetId"], "arn": f"arn:aws:ec2:{a.region}:123456789012:subnet/{s['SubnetId']}",
                    "availability_zone": s["AvailabilityZone"], "cidr_block": s["CidrBlock"], "vpc_id": vpc_id,
                    "map_public_ip_on_launch": False, "tags": tags}} for i, s in enumerate(subnets)]})
    res.append({"module": net, "mode": "managed", "type": "aws_security_group", "name": "bench", "provider": AWS, "each": "list",
                "instances": [{"index_key": i, "schema_version": 1, "sensitive_attributes": [], "attributes": {
                    "id": g["GroupId"], "arn": f"arn:aws:ec2:{a.region}:123456789012:security-group/{g['GroupId']}",
                    "name": g["GroupName"], "description": g["Description"], "vpc_id": vpc_id,
                    "ingress": [rule(p) for p in g.get("IpPermissions", [])],
                    "egress": [rule(p) for p in g.get("IpPermissionsEgress", [])], "tags": tags}} for i, g in enumerate(sgs)]})
    res.append({"module": "module.kubernetes", "mode": "managed", "type": "aws_eks_node_group", "name": "bench", "provider": AWS,
                "each": "list", "instances": [{"index_key": i, "schema_version": 0, "sensitive_attributes": [], "attributes": {
                    "id": f"{cluster['name']}:{ng['nodegroupName']}", "node_group_name": ng["nodegroupName"], "arn": ng["nodegroupArn"],
                    "cluster_name": cluster["name"], "instance_types": ng["instanceTypes"], "ami_type": ng.get("amiType", "AL2_x86_64"),
                    "capacity_type": ng.get("capacityType", "ON_DEMAND"), "disk_size": ng.get("diskSize", 50),
                    "scaling_config": [{"min_size": ng["scalingConfig"]["minSize"], "max_size": ng["scalingConfig"]["maxSize"],
                                        "desired_size": ng["scalingConfig"]["desiredSize"]}],
                    "subnet_ids": ng["subnets"], "labels": ng.get("labels", {}), "taint": [], "node_role_arn": ng0["node_role_arn"],
                    "status": ng["status"], "version": ng.get("version", "1.29"), "release_version": ng.get("releaseVersion", ""),
                    "tags": tags}} for i, ng in enumerate(ngs)]})
    with open(path, "w") as f:
        json.dump(st, f, indent=2)
    print(json.dumps({"subnets": len(subnets), "security_groups": len(sgs), "node_groups": len(ngs)}))


if __name__ == "__main__":
    main()

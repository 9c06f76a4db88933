#!/usr/bin/env python3
"""Writes a large synthetic tfstate (format v4) for measuring `nic import`.

The mix imitates a big real state: Nebari's stage 02 objects (VPC, subnets, EKS cluster,
node groups, IAM, EFS) repeated across many module instances, plus many kubernetes_* and
helm_release objects, unmapped types (aws_route, aws_security_group_rule, null_resource,
random_password), data sources, sensitive attributes, and long `dependencies` lists (which
make up most of the bytes of very large real states, hashicorp/terraform#35822).

    python3 bench/gen_tfstate.py --size-mb 100 -o /tmp/big.tfstate

Writes resource by resource, so the generator itself stays small in memory.
"""
import argparse
import json
import random

AWS = 'provider["registry.terraform.io/hashicorp/aws"]'
K8S = 'provider["registry.terraform.io/hashicorp/kubernetes"]'
HELM = 'provider["registry.terraform.io/hashicorp/helm"]'
NULL = 'provider["registry.terraform.io/hashicorp/null"]'
RANDOM = 'provider["registry.terraform.io/hashicorp/random"]'


def hexid(rng, n=17):
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def tags(rng, i):
    return {"Project": "nebari", "Environment": "bench", "Owner": f"team-{i % 17}",
            "CostCenter": str(1000 + i % 97), "Name": f"bench-{i}-{hexid(rng, 6)}"}


def deps(rng, mod, n):
    return [f"{mod}.aws_iam_role.r{rng.randrange(50)}" for _ in range(n)]


def block(rng, b, mod, ndeps):
    """One resource block (dict) of the b-th kind in module `mod`."""
    kind = b % 10
    i = b
    if kind == 0:
        count = 6
        return {"module": mod, "mode": "managed", "type": "aws_subnet", "name": f"s{b}", "provider": AWS,
                "each": "list", "instances": [{
                    "index_key": k, "schema_version": 1, "sensitive_attributes": [],
                    "attributes": {"id": f"subnet-{hexid(rng)}", "arn": f"arn:aws:ec2:us-west-2:123456789012:subnet/subnet-{hexid(rng)}",
                                   "availability_zone": f"us-west-2{'abc'[k % 3]}", "cidr_block": f"10.{b % 250}.{k * 16}.0/20",
                                   "map_public_ip_on_launch": k % 2 == 0, "vpc_id": f"vpc-{hexid(rng)}",
                                   "tags": tags(rng, i), "tags_all": tags(rng, i), "ipv6_cidr_block": "", "owner_id": "123456789012"},
                    "dependencies": deps(rng, mod, ndeps)} for k in range(count)]}
    if kind == 1:
        return {"module": mod, "mode": "managed", "type": "aws_eks_node_group", "name": f"ng{b}", "provider": AWS,
                "each": "list", "instances": [{
                    "index_key": k, "schema_version": 0, "sensitive_attributes": [],
                    "attributes": {"id": f"bench:{mod}-ng{b}-{k}", "node_group_name": f"{mod.replace('.', '-')}-ng{b}-{k}",
                                   "arn": f"arn:aws:eks:us-west-2:123456789012:nodegroup/bench/ng{b}-{k}/{hexid(rng, 8)}",
                                   "cluster_name": "bench", "instance_types": ["m5.xlarge"], "ami_type": "AL2_x86_64",
                                   "capacity_type": "ON_DEMAND", "disk_size": 50, "labels": {"dedicated": f"ng{k}"},
                                   "scaling_config": [{"min_size": 0, "max_size": 5, "desired_size": 1}],
                                   "subnet_ids": [f"subnet-{hexid(rng)}" for _ in range(3)],
                                   "taint": [{"key": "dedicated", "value": f"ng{k}", "effect": "NO_SCHEDULE"}],
                                   "node_role_arn": "arn:aws:iam::123456789012:role/bench-node", "status": "ACTIVE",
                                   "version": "1.31", "tags": tags(rng, i)},
                    "dependencies": deps(rng, mod, ndeps)} for k in range(3)]}
    if kind == 2:
        return {"module": mod, "mode": "managed", "type": "aws_iam_role", "name": f"r{b}", "provider": AWS,
                "instances": [{"schema_version": 0, "sensitive_attributes": [],
                               "attributes": {"id": f"{mod.replace('.', '-')}-role-{b}", "name": f"{mod.replace('.', '-')}-role-{b}",
                                              "arn": f"arn:aws:iam::123456789012:role/{mod}-role-{b}", "path": "/",
                                              "assume_role_policy": json.dumps({"Version": "2012-10-17", "Statement": [
                                                  {"Effect": "Allow", "Principal": {"Service": "eks.amazonaws.com"}, "Action": "sts:AssumeRole"}] * 3}),
                                              "max_session_duration": 3600, "unique_id": "AROA" + hexid(rng, 16).upper(), "tags": tags(rng, i)},
                               "dependencies": deps(rng, mod, ndeps)}]}
    if kind == 3:
        return {"module": mod, "mode": "managed", "type": "aws_security_group_rule", "name": f"rule{b}", "provider": AWS,
                "each": "map", "instances": [{
                    "index_key": f"rule-{k}", "schema_version": 2, "sensitive_attributes": [],
                    "attributes": {"id": f"sgrule-{rng.randrange(10**9)}", "security_group_id": f"sg-{hexid(rng)}", "type": "ingress",
                                   "protocol": "tcp", "from_port": 443, "to_port": 443, "cidr_blocks": ["10.0.0.0/8"],
                                   "self": False, "description": "bench rule " * 3},
                    "dependencies": deps(rng, mod, ndeps)} for k in range(8)]}
    if kind == 4:
        return {"module": mod, "mode": "managed", "type": "kubernetes_namespace", "name": f"ns{b}", "provider": K8S,
                "instances": [{"schema_version": 0, "sensitive_attributes": [],
                               "attributes": {"id": f"ns-{b}", "metadata": [{"name": f"ns-{b}", "labels": {"team": f"t{b % 9}"},
                                                                              "annotations": {}, "uid": hexid(rng, 32), "resource_version": "1"}]},
                               "dependencies": deps(rng, mod, ndeps)}]}
    if kind == 5:
        return {"module": mod, "mode": "managed", "type": "helm_release", "name": f"h{b}", "provider": HELM,
                "instances": [{"schema_version": 1, "sensitive_attributes": [[{"type": "get_attr", "value": "set_sensitive"}]],
                               "attributes": {"id": f"rel-{b}", "name": f"rel-{b}", "namespace": f"ns-{b - 1}", "chart": "bench",
                                              "version": "1.2.3", "status": "deployed",
                                              "values": ["replicas: 3\n" + "key: value\n" * 40],
                                              "set_sensitive": [{"name": "password", "value": "bench-secret-" + hexid(rng, 12)}],
                                              "metadata": [{"app_version": "1.0", "revision": 3, "values": json.dumps({"a": "b" * 200})}]},
                               "dependencies": deps(rng, mod, ndeps)}]}
    if kind == 6:
        return {"module": mod, "mode": "managed", "type": "kubernetes_service_account", "name": f"sa{b}", "provider": K8S,
                "instances": [{"schema_version": 0, "sensitive_attributes": [],
                               "attributes": {"id": f"ns-{b - 2}/sa-{b}", "automount_service_account_token": True,
                                              "metadata": [{"name": f"sa-{b}", "namespace": f"ns-{b - 2}",
                                                            "annotations": {"eks.amazonaws.com/role-arn": f"arn:aws:iam::123456789012:role/r{b}"}}]},
                               "dependencies": deps(rng, mod, ndeps)}]}
    if kind == 7:
        return {"module": mod, "mode": "managed", "type": "null_resource", "name": f"n{b}", "provider": NULL,
                "instances": [{"schema_version": 0, "sensitive_attributes": [],
                               "attributes": {"id": str(rng.randrange(10**18)), "triggers": {"k": hexid(rng, 40)}},
                               "dependencies": deps(rng, mod, ndeps)}]}
    if kind == 8:
        return {"module": mod, "mode": "managed", "type": "random_password", "name": f"p{b}", "provider": RANDOM,
                "instances": [{"schema_version": 3, "sensitive_attributes": [[{"type": "get_attr", "value": "result"}]],
                               "attributes": {"id": "none", "length": 32, "result": "bench-secret-" + hexid(rng, 20), "special": True}}]}
    return {"module": mod, "mode": "data", "type": "aws_iam_policy_document", "name": f"d{b}", "provider": AWS,
            "instances": [{"schema_version": 0, "attributes": {"id": str(rng.randrange(10**10)),
                                                               "json": json.dumps({"Statement": [{"Action": ["s3:*"], "Resource": "*"}] * 5})}}]}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=float, default=10.0, help="approximate output size in MB (10^6 bytes)")
    ap.add_argument("--deps", type=int, default=40, help="dependencies per instance")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    target = int(args.size_mb * 1_000_000)
    written = 0
    blocks = 0
    with open(args.output, "w") as f:
        head = ('{\n  "version": 4,\n  "terraform_version": "1.9.8",\n  "serial": 1234,\n'
                '  "lineage": "b0b0b0b0-0000-4000-8000-000000000000",\n  "outputs": {\n'
                '    "kubeconfig_filename": {"value": "/tmp/kc", "type": "string"}\n  },\n  "resources": [\n')
        f.write(head)
        written += len(head)
        first = True
        while written < target:
            mod = f"module.tenant[{blocks // 40}].module.stack[\"s{blocks % 7}\"]"
            text = json.dumps(block(rng, blocks, mod, args.deps), indent=2)
            text = "\n".join("    " + line for line in text.split("\n"))
            if not first:
                f.write(",\n")
                written += 2
            f.write(text)
            written += len(text)
            first = False
            blocks += 1
        tail = '\n  ],\n  "check_results": null\n}\n'
        f.write(tail)
        written += len(tail)
    print(json.dumps({"output": args.output, "bytes": written, "resource_blocks": blocks}))


if __name__ == "__main__":
    main()

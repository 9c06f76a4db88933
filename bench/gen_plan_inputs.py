#!/usr/bin/env python3
"""Writes a NIC state document and a matching nebari-config.yaml with N node groups, for
measuring `nic plan --refresh=false` at 1k/10k/100k resources.

The state is a real imported Nebari AWS stack (bench/plan_state_template.json: what
`nic import --from-terraform` wrote for scripts/demo/make_terraform_stack.py's stack, with
its node groups removed; its six IAM policy attachments, which the AWS desired model plans
since, are what the same import writes for that script's aws_iam_role_policy_attachment
resources, whose attributes do not depend on the cloud) plus N node groups in the importer's
shape. The document has no
"checksum" field: NIC reads such a document (the field is optional on read) and the plan
does not write the state. The config names each group on one line in YAML flow style, `ng000001: {instance: m5.xlarge}`,
leaving min_nodes/max_nodes at Nebari's defaults (0 and 1): nic refuses a config file over
4 MiB (src/config/parse.cpp kMaxFileBytes), and the block style with min/max written out takes
7.9 MB at 100k groups. Config and state agree (Nebari's default taint dedicated=nebari:NoSchedule on every group
but "general"), so the plan is "0 changes" and the whole comparison runs.

    python3 bench/gen_plan_inputs.py -n 10000 --state /tmp/s.json --config /tmp/c.yaml
"""
import argparse
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, required=True, help="number of node groups")
    ap.add_argument("--state", required=True)
    ap.add_argument("--config", required=True)
    a = ap.parse_args()
    with open(os.path.join(HERE, "plan_state_template.json")) as f:
        doc = json.load(f)
    cluster = doc["cloud"]["cluster"]
    cname = cluster["name"]
    subnets = cluster.get("vpc_config", {}).get("subnet_ids", [])
    role = next((r["arn"] for r in doc["cloud"].get("iam_roles", []) if "node" in r.get("name", "")), "")
    groups = []
    cfg = []
    for i in range(a.n):
        name = f"ng{i:06d}"
        itype = ("m5.xlarge", "m5.2xlarge", "r5.xlarge")[i % 3]
        mn, mx = 0, 1  # Nebari's defaults: the config line leaves them out (see below)
        groups.append({
            "ami_type": "AL2_x86_64",
            "arn": f"arn:aws:eks:us-west-2:123456789012:nodegroup/{cname}/{name}/{i:08x}-0000-4000-8000-000000000000",
            "autoscaling_group": f"eks-{i:08x}-0000-4000-8000-000000000000",
            "capacity_type": "ON_DEMAND", "cluster_name": cname, "disk_size": 50,
            "id": f"{cname}:{name}", "imported": True, "instance_types": [itype],
            "labels": {"dedicated": name}, "name": name, "node_role_arn": role,
            "scaling_config": {"desired_size": mn, "max_size": mx, "min_size": mn},
            "status": "ACTIVE", "subnet_ids": list(subnets),
            "tags": {"Environment": doc["cloud"]["cluster"].get("tags", {}).get("Environment", "dev"),
                     "Owner": "terraform", "Project": doc["project_name"]},
            "taints": [{"effect": "NO_SCHEDULE", "key": "dedicated", "value": "nebari"}],
            "terraform_address": f"module.kubernetes.aws_eks_node_group.main[{i}]",
            "version": cluster.get("version", "1.29"),
        })
        cfg.append(f"    {name}: {{instance: {itype}}}\n")
    doc["cloud"]["node_groups"] = groups
    fd = os.open(a.state, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(doc, f, indent=2, sort_keys=True)
        f.write("\n")
    with open(a.config, "w") as f:
        f.write(f"""project_name: {doc['project_name']}
namespace: dev
provider: aws
domain: {doc['project_name']}.example.com
nebari_version: 2024.11.1
terraform_state:
  type: remote
amazon_web_services:
  region: {doc['region']}
  kubernetes_version: "{cluster.get('version', '1.29')}"
  node_groups:
""")
        f.writelines(cfg)
        f.write("certificate:\n  type: self-signed\n")
    if os.path.getsize(a.config) > 4 << 20:
        raise SystemExit(f"{a.config}: over nic's 4 MiB config limit (src/config/parse.cpp kMaxFileBytes)")
    print(json.dumps({"node_groups": a.n, "state_bytes": os.path.getsize(a.state),
                      "config_bytes": os.path.getsize(a.config)}))


if __name__ == "__main__":
    main()

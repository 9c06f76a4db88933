"""Acceptance of the reconciler on AWS (issue #6, design §11.2) with the real nic binary against
moto_server, and the stage-03 objects against the Kubernetes stand-in (moto's EKS is not a
Kubernetes API), selected with --kubeconfig as a user would for an existing cluster.

Every AWS and Kubernetes request nic makes goes through a recording proxy (below), so a test can
count write calls and can hold a chosen request (before it reaches moto, or after moto answered)
to make a deploy hold its lock, or to kill nic between a cloud create and its state write. The
test's own boto3 calls go to moto directly and are not counted.
"""
import http.client
import http.server
import json
import os
import re
import shutil
import signal
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
import urllib.request

import boto3

from niclib import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NIC = os.environ.get("NIC_BINARY", os.path.join(ROOT, "build", "nic"))
REGION = "us-west-2"
READ_PREFIXES = ("Describe", "List", "Get")
TAG_MANAGED_BY = "nic.nebari.dev/managed-by"
TAG_CLUSTER = "nic.nebari.dev/cluster-name"


class Rule:
    """Holds the requests `match` accepts until released; `after`: once the upstream answered."""

    def __init__(self, match, after):
        self.match, self.after = match, after
        self.release = threading.Event()
        self.held = threading.Semaphore(0)


class RecordingProxy:
    """Forwards to one upstream, recording (service, operation, is_write) per request."""

    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.lock = threading.Lock()
        self.log = []
        self.rules = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def handle_any(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                op, write = proxy.classify(self.command, self.path, self.headers, body)
                with proxy.lock:
                    proxy.log.append((op, write))
                    rules = [r for r in proxy.rules if r.match(op)]
                for r in rules:
                    if not r.after:
                        r.held.release()
                        r.release.wait()
                conn = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=120)
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "keep-alive")}
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                for r in rules:
                    if r.after:
                        r.held.release()
                        r.release.wait()
                self.send_response(resp.status)
                for k, v in resp.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "content-length", "server", "date"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                conn.close()

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = handle_any

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # a client killed mid-request (the crash test) is expected here

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @staticmethod
    def classify(method, path, headers, body):
        """("ec2:CreateVpc", True), ("eks:GET /clusters", False), ("k8s:POST /api/v1/namespaces", True)."""
        auth = headers.get("Authorization", "")
        m = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/aws4_request", auth)
        if not m:
            return "k8s:%s %s" % (method, urllib.parse.urlsplit(path).path), method not in ("GET", "HEAD")
        service = m.group(1)
        form = urllib.parse.parse_qs(body.decode("utf-8", "replace")) if body and b"Action=" in body else {}
        if "Action" in form:
            action = form["Action"][0]
            return "%s:%s" % (service, action), not action.startswith(READ_PREFIXES)
        return "%s:%s %s" % (service, method, urllib.parse.urlsplit(path).path), method not in ("GET", "HEAD")

    def hold(self, pattern, after=False):
        rule = Rule(lambda op: re.search(pattern, op) is not None, after)
        with self.lock:
            self.rules.append(rule)
        return rule

    def release(self, rule):
        with self.lock:
            self.rules.remove(rule)
        rule.release.set()

    def take_log(self):
        with self.lock:
            out, self.log = self.log, []
        return out

    def stop(self):
        self.server.shutdown()


CONFIG = """project_name: {project}
namespace: {namespace}
provider: aws
domain: {project}.example.com
nebari_version: 2024.11.1
terraform_state:
  type: remote
amazon_web_services:
  region: us-west-2
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
{extra}certificate:
  type: self-signed
"""
GPU_GROUP = """    gpu:
      instance: g4dn.xlarge
      min_nodes: 0
      max_nodes: 2
"""


class AwsAcceptanceTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="nic-acceptance-")
        cls.moto_port = free_port()
        cls.moto_log = open(os.path.join(cls.tmp, "moto.log"), "w")
        cls.moto = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(cls.moto_port)], stdout=cls.moto_log,
                                    stderr=subprocess.STDOUT, env=dict(os.environ, MOTO_IAM_LOAD_MANAGED_POLICIES="true"))
        cls.moto_url = "http://127.0.0.1:%d" % cls.moto_port
        for _ in range(300):
            try:
                urllib.request.urlopen(cls.moto_url + "/moto-api/data.json", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        port_file = os.path.join(cls.tmp, "k8s.port")
        cls.k8s = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "servers", "k8s_server.py"), "--host",
                                    "127.0.0.1", "--port", "0", "--port-file", port_file, "--token", "acceptance-token"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(300):
            if os.path.exists(port_file) and os.path.getsize(port_file) > 0:
                break
            time.sleep(0.05)
        with open(port_file) as f:
            cls.k8s_port = int(f.read().strip())
        cls.aws_proxy = RecordingProxy(cls.moto_port)
        cls.k8s_proxy = RecordingProxy(cls.k8s_port)
        cls.kubeconfig = os.path.join(cls.tmp, "kubeconfig")
        with open(cls.kubeconfig, "w") as f:
            f.write("""apiVersion: v1
kind: Config
clusters:
- name: existing
  cluster: {server: "http://127.0.0.1:%d"}
users:
- name: admin
  user: {token: acceptance-token}
contexts:
- name: existing
  context: {cluster: existing, user: admin}
current-context: existing
""" % cls.k8s_proxy.port)
        cls.env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_REGION=REGION,
                       AWS_DEFAULT_REGION=REGION, AWS_ENDPOINT_URL="http://127.0.0.1:%d" % cls.aws_proxy.port)
        cls.env.pop("KUBECONFIG", None)
        kw = dict(endpoint_url=cls.moto_url, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
        cls.ec2, cls.iam, cls.eks, cls.efs = (boto3.client(s, **kw) for s in ("ec2", "iam", "eks", "efs"))

    @classmethod
    def tearDownClass(cls):
        cls.aws_proxy.stop()
        cls.k8s_proxy.stop()
        for p in (cls.moto, cls.k8s):
            p.terminate()
            p.wait(10)
        cls.moto_log.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    _counter = 0

    def setUp(self):
        urllib.request.urlopen(urllib.request.Request(self.moto_url + "/moto-api/reset", method="POST"), timeout=10)
        AwsAcceptanceTest._counter += 1
        self.project = "acc%d" % AwsAcceptanceTest._counter
        self.namespace = "ns" + "abcdefghijklmnopqrstuvwxyz"[AwsAcceptanceTest._counter % 26]
        self.name = self.project + "-" + self.namespace
        self.dir = tempfile.mkdtemp(dir=self.tmp)
        self.state = os.path.join(self.dir, "state", "nic-state.json")
        self.config = self.write_config("")
        self.aws_proxy.take_log()
        self.k8s_proxy.take_log()

    def write_config(self, extra_groups):
        path = os.path.join(self.dir, "nebari-config.yaml")
        text = CONFIG.format(project=self.project, namespace=self.namespace, extra="")
        text = text.replace("      max_nodes: 10\ncertificate:", "      max_nodes: 10\n" + extra_groups + "certificate:")
        with open(path, "w") as f:
            f.write(text)
        return path

    # ---- running nic ----

    def nic_args(self, command, *extra, kube=True):
        args = [NIC] + command.split() + ["--state", self.state, "--format", "json"]
        if command in ("plan", "deploy"):
            args += ["-f", self.config]
        if command == "deploy":
            args += ["--auto-approve"]
        if kube:
            args += ["--kubeconfig", self.kubeconfig]
        return args + list(extra)

    def nic(self, command, *extra, kube=True, expect=0):
        r = subprocess.run(self.nic_args(command, *extra, kube=kube), capture_output=True, text=True, env=self.env,
                           timeout=600, stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, expect, "nic %s: %s\n%s" % (command, r.stdout[-3000:], r.stderr[-3000:]))
        return json.loads(r.stdout) if r.stdout.strip() else {}

    def start(self, command, *extra):
        return subprocess.Popen(self.nic_args(command, *extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=self.env, stdin=subprocess.DEVNULL)

    def state_doc(self):
        with open(self.state) as f:
            return json.load(f)

    def addresses(self):
        r = subprocess.run([NIC, "state", "list", "--state", self.state, "--format", "json"], capture_output=True,
                           text=True, env=self.env)
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        items = doc.get("resources", doc.get("addresses", []))
        return sorted(x["address"] if isinstance(x, dict) else x for x in items)

    # ---- what moto holds ----

    def nic_filter(self):
        return [{"Name": "tag:" + TAG_MANAGED_BY, "Values": ["nic"]}, {"Name": "tag:" + TAG_CLUSTER, "Values": [self.project]}]

    def count_moto(self):
        vpcs = self.ec2.describe_vpcs(Filters=self.nic_filter())["Vpcs"]
        vpc_ids = [v["VpcId"] for v in vpcs]
        in_vpcs = [{"Name": "vpc-id", "Values": vpc_ids}] if vpc_ids else None
        subnets = self.ec2.describe_subnets(Filters=in_vpcs)["Subnets"] if in_vpcs else []
        rts = self.ec2.describe_route_tables(Filters=self.nic_filter())["RouteTables"]
        sgs = self.ec2.describe_security_groups(Filters=self.nic_filter())["SecurityGroups"]
        igws = self.ec2.describe_internet_gateways(Filters=self.nic_filter())["InternetGateways"]
        roles = [r["RoleName"] for r in self.iam.list_roles()["Roles"] if r["RoleName"].startswith(self.name)]
        attachments = sum(len(self.iam.list_attached_role_policies(RoleName=r)["AttachedPolicies"]) for r in roles)
        clusters = self.eks.list_clusters()["clusters"]
        groups = self.eks.list_nodegroups(clusterName=self.name)["nodegroups"] if self.name in clusters else []
        filesystems = self.efs.describe_file_systems()["FileSystems"]
        mounts = sum(len(self.efs.describe_mount_targets(FileSystemId=f["FileSystemId"])["MountTargets"]) for f in filesystems)
        return {"vpc": len(vpcs), "subnet": len(subnets), "route_table": len(rts),
                "route_table_association": sum(1 for rt in rts for a in rt.get("Associations", []) if not a.get("Main")),
                "security_group": len(sgs), "internet_gateway": len(igws), "iam_role": len(roles),
                "policy_attachment": attachments, "cluster": len(clusters), "node_group": len(groups),
                "efs": len(filesystems), "mount_target": mounts}

    FULL_STACK = {"vpc": 1, "subnet": 2, "route_table": 1, "route_table_association": 2, "security_group": 1,
                  "internet_gateway": 1, "iam_role": 2, "policy_attachment": 6, "cluster": 1, "node_group": 3, "efs": 1,
                  "mount_target": 2}

    def namespace_exists(self):
        req = urllib.request.Request("http://127.0.0.1:%d/api/v1/namespaces/%s" % (self.k8s_port, self.namespace),
                                     headers={"Authorization": "Bearer acceptance-token"})
        try:
            return json.load(urllib.request.urlopen(req, timeout=10))["metadata"]["name"] == self.namespace
        except urllib.error.HTTPError as e:
            if e.code == 404:
                return False
            raise

    def writes(self):
        return [op for op, write in self.aws_proxy.take_log() + self.k8s_proxy.take_log() if write]

    # ---- the §11.2 cases ----

    def test_fresh_deploy_then_idempotent_second_deploy(self):
        plan = self.nic("plan", "--detailed-exitcode", expect=2)
        self.assertFalse(plan["refused"], json.dumps(plan, indent=1)[:3000])
        self.assertEqual(plan["counts"]["create"], 24, [c["address"] for c in plan["changes"]])
        self.assertEqual(self.writes(), [], "plan made no write calls")

        out = self.nic("deploy")
        self.assertEqual(out["changes_applied"], 24)
        self.assertEqual(self.count_moto(), self.FULL_STACK)
        self.assertTrue(self.namespace_exists())
        addresses = self.addresses()
        self.assertEqual(len(addresses), 24, addresses)
        self.assertIn("cloud.cluster", addresses)
        self.assertIn("kubernetes.namespaces." + self.namespace, addresses)
        self.assertEqual(sum(a.startswith("cloud.vpc.subnets.subnet-") for a in addresses), 2, addresses)
        doc = self.state_doc()
        # The references were resolved in dependency order: the cluster got the role and subnets.
        self.assertEqual(doc["cloud"]["cluster"]["role_arn"],
                         [r for r in doc["cloud"]["iam_roles"] if r["name"] == self.name + "-eks-cluster-role"][0]["arn"])
        self.assertEqual(sorted(doc["cloud"]["cluster"]["vpc_config"]["subnet_ids"]),
                         sorted(s["id"] for s in doc["cloud"]["vpc"]["subnets"]))
        self.writes()

        again = self.nic("deploy")
        self.assertEqual(again["changes_applied"], 0)
        self.assertEqual(again["plan"]["change_count"], 0, json.dumps(again["plan"], indent=1)[:3000])
        self.assertEqual(self.writes(), [], "a second deploy with the same config writes nothing")
        self.assertEqual(self.count_moto(), self.FULL_STACK)
        detect = self.nic("drift detect", "--detailed-exitcode")
        self.assertFalse(detect["has_drift"], json.dumps(detect)[:2000])

    def test_destroy_after_fresh_deploy_removes_everything(self):
        self.nic("deploy")
        out = self.nic("destroy", "--auto-approve")
        self.assertEqual(len(out["destroyed"]), 24)
        self.assertEqual(self.count_moto(), {k: 0 for k in self.FULL_STACK})
        self.assertFalse(self.namespace_exists())
        self.assertEqual(self.addresses(), [])

    def test_kubernetes_part_skipped_without_kubeconfig(self):
        r = subprocess.run(self.nic_args("plan", kube=False), capture_output=True, text=True, env=self.env)
        self.assertEqual(r.returncode, 0, r.stderr)
        plan = json.loads(r.stdout)
        self.assertEqual(plan["counts"]["create"], 23)
        skipped = [n for n in plan["notes"] if n["kind"] == "skipped"]
        self.assertEqual(len(skipped), 1, plan["notes"])
        self.assertIn("--kubeconfig", skipped[0]["message"])
        # An explicit kubeconfig that cannot be used is an error, not a smaller plan.
        missing = self.nic_args("plan", kube=False) + ["--kubeconfig", os.path.join(self.dir, "nope")]
        r = subprocess.run(missing, capture_output=True, text=True, env=self.env)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("--kubeconfig", r.stdout + r.stderr)

    def test_add_node_group_creates_only_it(self):
        self.nic("deploy")
        self.writes()
        self.config = self.write_config(GPU_GROUP)
        out = self.nic("deploy")
        applied = [(a["address"], a["action"]) for a in out["applied"]]
        self.assertEqual(applied, [("cloud.node_groups.gpu", "create")])
        writes = self.writes()
        self.assertEqual([w for w in writes if "node-groups" in w], ["eks:POST /clusters/%s/node-groups" % self.name], writes)
        self.assertEqual(self.count_moto()["node_group"], 4)
        ng = self.eks.describe_nodegroup(clusterName=self.name, nodegroupName="gpu")["nodegroup"]
        general = self.eks.describe_nodegroup(clusterName=self.name, nodegroupName="general")["nodegroup"]
        self.assertEqual(ng["nodeRole"], general["nodeRole"])
        self.assertEqual(sorted(ng["subnets"]), sorted(general["subnets"]))

    def test_scaling_changed_out_of_band_detect_accept_fix(self):
        self.nic("deploy")
        self.eks.update_nodegroup_config(clusterName=self.name, nodegroupName="general",
                                         scalingConfig={"minSize": 1, "maxSize": 8, "desiredSize": 1})
        detect = self.nic("drift detect", "--detailed-exitcode", expect=2)
        self.assertEqual(detect["summary"]["drifted_resources"], 1)
        self.assertEqual([i["address"] for i in detect["items"]], ["cloud.node_groups.general"])
        fields = detect["items"][0]["fields"]
        self.assertEqual([f["field"] for f in fields], ["scaling_config"], fields)
        self.assertEqual(fields[0]["state_value"]["max_size"], 5)
        self.assertEqual(fields[0]["actual_value"]["max_size"], 8)

        accepted = self.nic("drift accept")
        self.assertEqual(accepted["accepted"], ["cloud.node_groups.general"])
        self.assertEqual([g for g in self.state_doc()["cloud"]["node_groups"] if g["name"] == "general"][0]
                         ["scaling_config"]["max_size"], 8)
        self.assertFalse(self.nic("drift detect", "--detailed-exitcode")["has_drift"])

        self.eks.update_nodegroup_config(clusterName=self.name, nodegroupName="general",
                                         scalingConfig={"minSize": 1, "maxSize": 9, "desiredSize": 1})
        self.nic("drift detect", "--detailed-exitcode", expect=2)
        fixed = self.nic("drift fix")
        self.assertEqual(fixed["fixed"], ["cloud.node_groups.general"])
        live = self.eks.describe_nodegroup(clusterName=self.name, nodegroupName="general")["nodegroup"]["scalingConfig"]
        self.assertEqual(live["maxSize"], 8, "fix restores the recorded value")
        self.assertFalse(self.nic("drift detect", "--detailed-exitcode")["has_drift"])

    def test_two_concurrent_deploys(self):
        self.nic("deploy")
        before = self.state_doc()["serial"]
        self.config = self.write_config(GPU_GROUP)
        gate = self.aws_proxy.hold(r"^eks:POST /clusters/[^/]+/node-groups$")
        first = self.start("deploy")
        try:
            # The first deploy is creating the node group, so it holds the lock.
            self.assertTrue(gate.held.acquire(timeout=120), "the first deploy never reached CreateNodegroup")
            second = self.nic("deploy", expect=3)
            self.assertIn("lock", json.dumps(second).lower())
            waiting = self.start("deploy", "--lock-timeout", "5m")
        finally:
            self.aws_proxy.release(gate)
        out, err = first.communicate(timeout=300)
        self.assertEqual(first.returncode, 0, err[-3000:])
        self.assertEqual(json.loads(out)["changes_applied"], 1)
        out, err = waiting.communicate(timeout=300)
        self.assertEqual(waiting.returncode, 0, err[-3000:])
        # It waited for the lock, then found the first deploy's work done.
        self.assertEqual(json.loads(out)["changes_applied"], 0)
        doc = self.state_doc()
        self.assertEqual(doc["serial"], before + 2, "one change + the deploy's completion record")
        self.assertEqual(sorted(g["name"] for g in doc["cloud"]["node_groups"]), ["general", "gpu", "user", "worker"])
        self.assertEqual(self.count_moto()["node_group"], 4)

    def test_killed_between_create_and_state_write_adopts_on_rerun(self):
        # moto creates the subnets, but nic dies before it hears back: nothing recorded them.
        gate = self.aws_proxy.hold(r"^ec2:CreateSubnet$", after=True)
        proc = self.start("deploy")
        try:
            self.assertTrue(gate.held.acquire(timeout=120), "the deploy never created a subnet")
            proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=30)
        finally:
            self.aws_proxy.release(gate)
        self.assertGreaterEqual(len(self.ec2.describe_subnets(Filters=self.nic_filter())["Subnets"]), 1)
        recorded = [a for a in self.addresses() if a.startswith("cloud.vpc.subnets.")]
        self.assertEqual(recorded, [], "the kill came before the subnet was recorded")

        out = self.nic("deploy")
        self.assertTrue(any("subnets" in r for r in out["recovered"]), out["recovered"])
        self.assertEqual(self.count_moto(), self.FULL_STACK, "no duplicate subnet")
        self.assertEqual(sum(a.startswith("cloud.vpc.subnets.") for a in self.addresses()), 2)
        self.assertEqual(self.nic("deploy")["plan"]["change_count"], 0)

    def test_orphan_reported_and_adopted_only_on_request(self):
        self.nic("deploy")
        vpc = self.ec2.describe_vpcs(Filters=self.nic_filter())["Vpcs"][0]["VpcId"]
        orphan = self.ec2.create_subnet(VpcId=vpc, CidrBlock="10.10.200.0/24", AvailabilityZone="us-west-2a",
                                        TagSpecifications=[{"ResourceType": "subnet", "Tags": [
                                            {"Key": TAG_MANAGED_BY, "Value": "nic"}, {"Key": TAG_CLUSTER, "Value": self.project},
                                            {"Key": "nic.nebari.dev/resource-type", "Value": "subnet"}]}])["Subnet"]["SubnetId"]
        address = "cloud.vpc.subnets." + orphan
        detect = self.nic("drift detect", "--detailed-exitcode", expect=2)
        self.assertEqual(detect["summary"]["added_resources"], 1)
        self.assertEqual([i["address"] for i in detect["items"]], [address])
        plan = self.nic("plan")
        self.assertEqual(plan["change_count"], 0)
        self.assertIn(address, [n["address"] for n in plan["notes"] if n["kind"] == "orphan"])

        self.nic("deploy")
        self.assertNotIn(address, self.addresses(), "not adopted without --adopt-orphans")
        out = self.nic("deploy", "--adopt-orphans")
        self.assertEqual([(a["address"], a["action"]) for a in out["applied"]], [(address, "adopt")])
        self.assertIn(address, self.addresses())
        self.assertFalse(self.nic("drift detect", "--detailed-exitcode")["has_drift"])


if __name__ == "__main__":
    unittest.main()

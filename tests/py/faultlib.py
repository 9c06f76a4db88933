"""Helpers for the reliability tests (test_fault_soak, test_crash_deploy, test_permanent_faults):
peers started on 127.0.0.1 at free ports and stopped by PID, the build's binaries, and the
Terraform-made Nebari stack on moto."""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from niclib import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NIC = os.environ.get("NIC_BINARY", os.path.join(ROOT, "build", "nic"))
# The soak driver is built next to the test executables (build/tests/nic_soak_driver).
SOAK_DRIVER = os.environ.get("NIC_SOAK_DRIVER", os.path.join(os.path.dirname(NIC), "tests", "nic_soak_driver"))
# Long variants (label "soak"): NIC_SOAK_LONG=1.
LONG = os.environ.get("NIC_SOAK_LONG") == "1"


def read(path):
    with open(path) as f:
        return f.read()


def wait_http(url, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return True
        except urllib.error.HTTPError:
            return True  # something answered
        except OSError:
            time.sleep(0.1)
    return False


class Peer:
    """A server child process, stopped by its PID (SIGTERM, then SIGKILL)."""

    def __init__(self, argv, log_path, env=None, cwd=None):
        self.log_path = log_path
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=cwd)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def tail(self, n=2000):
        return read(self.log_path)[-n:]


# moto_server as moto's own main() runs it, but with one request at a time. moto checks S3's
# If-None-Match / If-Match (and DynamoDB's conditions) in the request thread and stores later,
# without a lock, so two concurrent conditional PUTs can both pass; real S3 and DynamoDB decide
# them atomically. Serving requests one by one makes each atomic, as on AWS.
SERIAL_MOTO = """
import sys
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple
run_simple(sys.argv[1], int(sys.argv[2]), DomainDispatcherApplication(create_backend_app), threaded=False)
"""


def start_moto(workdir, serial=False):
    port = free_port()
    env = dict(os.environ, MOTO_IAM_LOAD_MANAGED_POLICIES="true")
    argv = [sys.executable, "-c", SERIAL_MOTO, "127.0.0.1", str(port)] if serial else \
        ["moto_server", "-H", "127.0.0.1", "-p", str(port)]
    p = Peer(argv, os.path.join(workdir, "moto.log"), env=env)
    url = f"http://127.0.0.1:{port}"
    if not wait_http(url + "/moto-api/data.json"):
        p.stop()
        raise RuntimeError("moto_server did not start: " + p.tail())
    p.url, p.port = url, port
    return p


def start_gcs(workdir):
    port_file = os.path.join(workdir, "gcs.port")
    p = Peer([sys.executable, os.path.join(ROOT, "tests", "servers", "gcs_server.py"), "--host", "127.0.0.1",
              "--port", "0", "--port-file", port_file], os.path.join(workdir, "gcs.log"))
    for _ in range(300):
        if os.path.exists(port_file) and read(port_file).strip():
            break
        time.sleep(0.1)
    p.url = "http://127.0.0.1:" + read(port_file).strip()
    return p


AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def azurite_binary():
    return os.path.join(ROOT, "tests", "node_modules", ".bin", "azurite-blob")


def start_azurite(workdir):
    port = free_port()
    p = Peer([azurite_binary(), "--blobHost", "127.0.0.1", "--blobPort", str(port), "--inMemoryPersistence",
              "--disableTelemetry", "--silent", "--skipApiVersionCheck"], os.path.join(workdir, "azurite.log"), cwd=workdir)
    if not wait_http(f"http://127.0.0.1:{port}/devstoreaccount1?comp=list"):
        p.stop()
        raise RuntimeError("Azurite did not start: " + p.tail())
    p.url = f"http://127.0.0.1:{port}/devstoreaccount1"
    return p


def aws_env(moto_url, region="us-west-2"):
    return dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_REGION=region,
                AWS_DEFAULT_REGION=region, AWS_ENDPOINT_URL=moto_url, AWS_EC2_METADATA_DISABLED="true")


def boto(moto_url, service, region="us-west-2"):
    import boto3
    return boto3.client(service, endpoint_url=moto_url, region_name=region, aws_access_key_id="testing",
                        aws_secret_access_key="testing")


def no_fault_env(env):
    """The environment without the fault hook (checks must see the truth)."""
    return {k: v for k, v in env.items() if not k.startswith("NIC_FAULT") and k != "NIC_TEST_FAULTS"}


def mkdtemp(prefix):
    return tempfile.mkdtemp(prefix=prefix)


def nic(args, env, timeout=600, cwd=None):
    return subprocess.run([NIC] + args, env=env, capture_output=True, text=True, timeout=timeout, cwd=cwd)


def json_out(proc):
    try:
        return json.loads(proc.stdout)
    except ValueError:
        raise AssertionError(f"not JSON on stdout (exit {proc.returncode}): {proc.stdout!r}\nstderr: {proc.stderr[-3000:]}")


# ---- the Nebari stack on moto, for deploy crash and fault tests ---------------------------------

# What the crash/fault deploys change: four node groups added, the scaling of all three existing
# ones changed. With the 18 imported resources the stack has 22 after the deploy.
ADDED_GROUPS = {
    "gpu": ("g4dn.xlarge", 0, 2),
    "highmem": ("r5.2xlarge", 0, 4),
    "batch": ("c5.2xlarge", 1, 6),
    "spot": ("m5.large", 0, 3),
}
CHANGED_SCALING = {"general": (1, 8), "user": (0, 12), "worker": (1, 6)}


def grown_config(base_config_text):
    """The Terraform-made stack's nebari-config.yaml with ADDED_GROUPS and CHANGED_SCALING."""
    import yaml
    cfg = yaml.safe_load(base_config_text)
    groups = cfg["amazon_web_services"]["node_groups"]
    for name, (mn, mx) in CHANGED_SCALING.items():
        groups[name]["min_nodes"], groups[name]["max_nodes"] = mn, mx
    for name, (inst, mn, mx) in ADDED_GROUPS.items():
        groups[name] = {"instance": inst, "min_nodes": mn, "max_nodes": mx}
    return yaml.safe_dump(cfg, sort_keys=False)


def make_stack(moto_url, out):
    subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "demo", "make_terraform_stack.py"), "--endpoint", moto_url,
                    "--out", out], check=True, capture_output=True, env=aws_env(moto_url))


class CloudCensus:
    """Counts what exists in moto, to prove no resource was created twice."""

    def __init__(self, moto_url, cluster="nicdemo-dev"):
        self.ec2, self.eks = boto(moto_url, "ec2"), boto(moto_url, "eks")
        self.iam, self.efs = boto(moto_url, "iam"), boto(moto_url, "efs")
        self.cluster = cluster

    def counts(self):
        groups = self.eks.list_nodegroups(clusterName=self.cluster, maxResults=100)["nodegroups"]
        return {
            "vpcs": len(self.ec2.describe_vpcs()["Vpcs"]),
            "subnets": len(self.ec2.describe_subnets()["Subnets"]),
            "security_groups": len(self.ec2.describe_security_groups()["SecurityGroups"]),
            "route_tables": len(self.ec2.describe_route_tables()["RouteTables"]),
            "internet_gateways": len(self.ec2.describe_internet_gateways()["InternetGateways"]),
            "clusters": len(self.eks.list_clusters()["clusters"]),
            "node_groups": len(groups),
            "roles": len(self.iam.list_roles()["Roles"]),
            "file_systems": len(self.efs.describe_file_systems()["FileSystems"]),
        }

    def groups(self):
        out = {}
        for g in self.eks.list_nodegroups(clusterName=self.cluster, maxResults=100)["nodegroups"]:
            sc = self.eks.describe_nodegroup(clusterName=self.cluster, nodegroupName=g)["nodegroup"]["scalingConfig"]
            out[g] = (sc["minSize"], sc["maxSize"], sc.get("desiredSize"))
        return out

    def restore_groups(self, baseline):
        """Puts the node groups back to `baseline` (a groups() result)."""
        for g, sc in self.groups().items():
            if g not in baseline:
                self.eks.delete_nodegroup(clusterName=self.cluster, nodegroupName=g)
            elif sc != baseline[g]:
                mn, mx, desired = baseline[g]
                self.eks.update_nodegroup_config(clusterName=self.cluster, nodegroupName=g,
                                                 scalingConfig={"minSize": mn, "maxSize": mx, "desiredSize": desired})
        for _ in range(100):
            if set(self.groups()) == set(baseline):
                return
            time.sleep(0.1)
        raise AssertionError(f"node groups not restored: {self.groups()}")


def open_intents(history_db):
    """Journal intents with no result: cloud calls a killed deploy had started."""
    import sqlite3
    if not os.path.exists(history_db):
        return 0
    db = sqlite3.connect(history_db, timeout=30)
    try:
        return db.execute("SELECT count(*) FROM journal WHERE status = 'intent'").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        db.close()


class TcpProxy:
    """A loopback TCP proxy in front of a server, that a test can take down ("endpoint down":
    new connections refused, open ones reset) and bring back on the same port."""

    def __init__(self, target_port):
        import threading
        self.target_port = target_port
        self.port = free_port()
        self.up = False
        self.conns = []
        self.lock = threading.Lock()
        self.start()

    def start(self):
        import threading
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", self.port))
        self.listener.listen(64)
        self.up = True
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def _accept(self, listener):
        import threading
        while self.up:
            try:
                c, _ = listener.accept()
            except OSError:
                return
            try:
                u = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                c.close()
                continue
            with self.lock:
                self.conns += [c, u]
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(a, b):
        try:
            while True:
                data = a.recv(65536)
                if not data:
                    break
                b.sendall(data)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def stop(self):
        """Endpoint down: stop listening and reset every open connection."""
        import struct
        self.up = False
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() blocked on it
        except OSError:
            pass
        self.listener.close()
        with self.lock:
            for s in self.conns:
                try:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    s.close()
                except OSError:
                    pass
            self.conns = []

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

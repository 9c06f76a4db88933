"""Nebari's "local"/"existing" provider end to end: the real binary plans and deploys the stage-03
namespace through a kubeconfig against the Kubernetes stand-in server, kubectl sees it, a second
deploy changes nothing, and a namespace deleted outside NIC is reported and recreated on request."""
import json
import os
import subprocess
import tempfile
import unittest

from niclib import start_k8s_server

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NIC = os.environ.get("NIC_BINARY", os.path.join(ROOT, "build", "nic"))

CONFIG = """project_name: localdemo
namespace: science
provider: local
domain: localdemo.example.com
local:
  kube_context: kind-localdemo
certificate:
  type: self-signed
"""


class LocalProviderTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        d = cls.tmp.name
        cls.server, cls.kubeconfig = start_k8s_server(d)
        cls.config = os.path.join(d, "nebari-config.yaml")
        with open(cls.config, "w") as f:
            f.write(CONFIG)
        cls.state = os.path.join(d, "state", "nic-state.json")
        cls.env = dict(os.environ, KUBECONFIG=cls.kubeconfig)

    @classmethod
    def tearDownClass(cls):
        cls.server.terminate()
        cls.server.wait(10)
        cls.tmp.cleanup()

    def nic(self, *args, ok=(0,)):
        r = subprocess.run([NIC, *args, "--format", "json"], capture_output=True, text=True, env=self.env,
                           stdin=subprocess.DEVNULL, timeout=120)
        self.assertIn(r.returncode, ok, r.stdout + r.stderr)
        return json.loads(r.stdout), r.returncode

    def kubectl(self, *args):
        return subprocess.run(["kubectl", "--kubeconfig", self.kubeconfig, *args], capture_output=True, text=True, timeout=60)

    def test_fresh_deploy_idempotence_and_drift(self):
        plan, _ = self.nic("plan", "-f", self.config, "--state", self.state)
        self.assertEqual(plan["change_count"], 1)
        self.assertEqual(plan["changes"][0]["address"], "kubernetes.namespaces.science")
        self.assertEqual(plan["changes"][0]["action"], "create")
        dep, _ = self.nic("deploy", "-f", self.config, "--state", self.state, "--auto-approve")
        self.assertEqual(dep["changes_applied"], 1)
        got = self.kubectl("get", "ns", "science", "-o", "json")
        self.assertEqual(got.returncode, 0, got.stderr)
        labels = json.loads(got.stdout)["metadata"]["labels"]
        self.assertEqual(labels.get("nic.nebari.dev/managed-by"), "nic")
        again, _ = self.nic("deploy", "-f", self.config, "--state", self.state, "--auto-approve")
        self.assertEqual(again["changes_applied"], 0)
        self.assertEqual(again["plan"]["change_count"], 0)
        # Deleted outside NIC: reported, and recreated only when asked.
        self.assertEqual(self.kubectl("delete", "ns", "science").returncode, 0)
        drift, rc = self.nic("drift", "detect", "--state", self.state, "--detailed-exitcode", ok=(2,))
        self.assertEqual(drift["summary"]["removed_resources"], 1)
        plain, _ = self.nic("plan", "-f", self.config, "--state", self.state)
        self.assertEqual(plain["change_count"], 0)
        self.assertTrue(any(n["kind"] == "deleted-outside" for n in plain["notes"]))
        fixed, _ = self.nic("deploy", "-f", self.config, "--state", self.state, "--auto-approve", "--recreate-missing")
        self.assertEqual(fixed["changes_applied"], 1)
        self.assertEqual(self.kubectl("get", "ns", "science").returncode, 0)
        status, _ = self.nic("status", "--state", self.state)
        self.assertTrue(status["healthy"], status)


if __name__ == "__main__":
    unittest.main()

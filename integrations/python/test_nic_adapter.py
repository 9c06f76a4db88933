"""The adapter against the real nic binary and a real AWS emulator (moto_server): validate,
import, plan, deploy, status, drift; every failure kind arrives as its exception with the §9.5
error object."""
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

import jsonschema

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "py"))

from nic_adapter import (NICAdapter, NICError, NICImportError, NICLockedError, NICRefusedError,  # noqa: E402
                         NICUsageError, NICValidationError)
from niclib import free_port  # noqa: E402

NIC = os.environ.get("NIC_BINARY", os.path.join(ROOT, "build", "nic"))


class AdapterTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="nic-adapter-")
        cls.port = free_port()
        env = dict(os.environ, MOTO_IAM_LOAD_MANAGED_POLICIES="true")
        cls.log = open(os.path.join(cls.tmp, "moto.log"), "w")
        cls.moto = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(cls.port)], stdout=cls.log,
                                    stderr=subprocess.STDOUT, env=env)
        url = f"http://127.0.0.1:{cls.port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(url + "/moto-api/data.json", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        cls.env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                       AWS_REGION="us-west-2", AWS_ENDPOINT_URL=url)
        cls.tf = os.path.join(cls.tmp, "terraform")
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "demo", "make_terraform_stack.py"),
                        "--endpoint", url, "--out", cls.tf], check=True, capture_output=True, env=cls.env)
        cls.nic = NICAdapter(NIC, env=cls.env, timeout=300)

    @classmethod
    def tearDownClass(cls):
        cls.moto.terminate()
        cls.moto.wait(10)
        cls.log.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def schema(self, name):
        with open(os.path.join(ROOT, "schemas", name)) as f:
            return json.load(f)

    def check(self, document, name):
        """Validates a real nic output against schemas/<name>, resolving refs between schemas."""
        from referencing import Registry, Resource
        base = "https://nebari.dev/schemas/nic/"
        registry = Registry()
        for f in os.listdir(os.path.join(ROOT, "schemas")):
            if f.endswith(".schema.json"):
                registry = registry.with_resource(base + f, Resource.from_contents(self.schema(f)))
        validator = jsonschema.Draft202012Validator(self.schema(name), registry=registry)
        validator.validate(document)

    def test_journey_through_the_adapter(self):
        out = os.path.join(self.tmp, "stage02")
        os.makedirs(out)
        cfg = os.path.join(self.tf, "nebari-config.yaml")
        v = self.nic.validate(cfg)
        self.assertTrue(v["valid"])
        imp = self.nic.import_from_terraform(cfg, os.path.join(self.tf, "02-infrastructure.tfstate"),
                                             os.path.join(self.tf, "03-kubernetes-initialize.tfstate"), out)
        self.assertTrue(imp["success"])
        self.assertEqual(imp["resource_count"], 24)
        self.check(imp, "import-report.schema.json")
        # --verify-live reads everything imported back through the AWS provider.
        verified = self.nic.import_from_terraform(cfg, os.path.join(self.tf, "02-infrastructure.tfstate"),
                                                  os.path.join(self.tf, "03-kubernetes-initialize.tfstate"),
                                                  os.path.join(self.tmp, "verified"), verify_live=True)
        self.assertTrue(verified["verification"]["ok"], verified["verification"])
        self.assertEqual(verified["verification"]["checked"], 23)  # the namespace needs a cluster API
        self.check(verified, "import-report.schema.json")
        with open(os.path.join(out, "outputs.json")) as f:
            jsonschema.validate(json.load(f), self.schema("outputs.schema.json"))
        state = os.path.join(out, "nic-state.json")
        plan = self.nic.plan(cfg, state)
        self.assertEqual(plan["change_count"], 0)
        self.check(plan, "plan.schema.json")
        with self.assertLogs("nic", level="INFO") as logs:  # progress arrives through stderr
            dep = self.nic.deploy(cfg, out)
        self.assertTrue(any("Refreshed" in m for m in logs.output), logs.output)
        self.assertTrue(dep["success"])
        self.check(dep, "deploy-result.schema.json")
        self.assertEqual(dep["changes_applied"], 0)
        # Without a terminal and without auto-approve: non-destructive plans go ahead, a plan
        # that would delete something is refused and nothing is touched.
        self.assertTrue(self.nic.deploy(cfg, out, auto_approve=False)["success"])
        smaller = os.path.join(self.tmp, "no-worker.yaml")
        with open(cfg) as f:
            text = f.read()
        cut = text.index("    worker:")
        with open(smaller, "w") as f:
            f.write(text[:cut] + text[text.index("certificate:"):])
        with self.assertRaises(NICRefusedError) as ctx:
            self.nic.deploy(smaller, out, auto_approve=False, extra_args=["--prune", "--include-imported"])
        self.assertEqual(ctx.exception.exit_code, 10)
        self.assertTrue(any("worker" in s for s in ctx.exception.recovery_suggestions))
        self.assertEqual(self.nic.plan(cfg, state)["change_count"], 0)
        st = self.nic.status(state)
        self.assertTrue(st["healthy"], st)
        self.check(st, "status.schema.json")
        self.assertEqual(st["resource_count"], 24)
        drift = self.nic.drift_detect(state)
        self.assertFalse(drift["has_drift"])
        self.check(drift, "drift-report.schema.json")

        # A held lock: NICLockedError with the holder in the error object.
        lock_holder = subprocess.Popen(
            [sys.executable, "-c", "import fcntl,sys,time,json;f=open(sys.argv[1],'a+');fcntl.flock(f,fcntl.LOCK_EX);"
             "f.truncate(0);f.write(json.dumps({'ID':'11111111-2222-4333-8444-555555555555','Operation':'deploy','Who':'ci@host',"
             "'Version':'x','Created':'2026-01-01T00:00:00Z','Path':'p','Info':''}));f.flush();print('locked',flush=True);time.sleep(30)",
             state + ".lock"], stdout=subprocess.PIPE, text=True)
        try:
            self.assertEqual(lock_holder.stdout.readline().strip(), "locked")
            with self.assertRaises(NICLockedError) as ctx:
                self.nic.deploy(cfg, out)
            self.assertEqual(ctx.exception.exit_code, 3)
            self.assertEqual(ctx.exception.code, "LOCK_HELD")
            self.assertEqual(ctx.exception.error["details"]["lock_id"], "11111111-2222-4333-8444-555555555555")
            self.assertTrue(any("unlock --force" in s for s in ctx.exception.recovery_suggestions))
            self.check(ctx.exception.details, "error.schema.json")
        finally:
            lock_holder.kill()
            lock_holder.wait()

        # Drift made outside NIC: the report names the field, and matches its schema.
        import boto3
        boto3.client("eks", endpoint_url=self.env["AWS_ENDPOINT_URL"], region_name="us-west-2",
                     aws_access_key_id="testing", aws_secret_access_key="testing").update_nodegroup_config(
            clusterName="nicdemo-dev", nodegroupName="user", scalingConfig={"minSize": 0, "maxSize": 3, "desiredSize": 0})
        drift = self.nic.drift_detect(state)
        self.assertTrue(drift["has_drift"])
        self.assertEqual(drift["summary"]["drifted_resources"], 1)
        self.assertEqual(drift["cloud"]["node_groups"]["user"]["actual_value"]["max_size"], 3)
        self.check(drift, "drift-report.schema.json")
        st = self.nic.status(state)
        self.assertFalse(st["healthy"])
        self.check(st, "status.schema.json")

        # A resource Terraform recorded that no longer exists: --verify-live says so (exit 2).
        boto3.client("eks", endpoint_url=self.env["AWS_ENDPOINT_URL"], region_name="us-west-2",
                     aws_access_key_id="testing", aws_secret_access_key="testing").delete_nodegroup(
            clusterName="nicdemo-dev", nodegroupName="worker")
        gone = self.nic.import_from_terraform(cfg, os.path.join(self.tf, "02-infrastructure.tfstate"), None,
                                              os.path.join(self.tmp, "verified"), verify_live=True, force=True)
        self.assertFalse(gone["verification"]["ok"])
        self.assertIn("cloud.node_groups.worker", gone["verification"]["missing"])
        self.assertEqual(gone["verification"]["mismatched"][0]["address"], "cloud.node_groups.user")

    def test_failures_map_to_exceptions(self):
        bad = os.path.join(self.tmp, "bad.yaml")
        with open(bad, "w") as f:
            f.write("project_name: x\nprovider: aws\namazon_web_services:\n  region: us-west-2\n  kubernetes_version: 1.29\n")
        v = self.nic.validate(bad)
        self.assertFalse(v["valid"])
        self.assertTrue(any(e["line"] == 5 for e in v["errors"]), v["errors"])
        with self.assertRaises(NICValidationError) as ctx:
            self.nic.deploy(bad, self.tmp)
        self.assertEqual(ctx.exception.exit_code, 5)
        self.check(ctx.exception.details, "error.schema.json")
        truncated = os.path.join(self.tmp, "truncated.tfstate")
        with open(truncated, "w") as f:
            f.write('{"version": 4, "resources": [')
        with self.assertRaises(NICImportError) as ctx:
            self.nic.import_from_terraform(os.path.join(self.tf, "nebari-config.yaml"), truncated, None,
                                           os.path.join(self.tmp, "never"))
        self.assertIn("truncated.tfstate", str(ctx.exception))
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "never", "nic-state.json")))
        with self.assertRaises(NICUsageError):
            self.nic._run(["plan", "--no-such-flag"])
        with self.assertRaises(NICError) as ctx:
            self.nic.status(os.path.join(self.tmp, "missing", "nic-state.json"))
        self.assertEqual(ctx.exception.code, "NOT_FOUND")


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    unittest.main()

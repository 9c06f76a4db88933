"""Permanent faults in the middle of `nic deploy` on moto: the endpoint goes down (a TCP proxy in
front of moto stops listening and resets its connections) or access is denied from some request
on (the test hook NIC_TEST_FAULTS answers 403 AccessDenied to every request after the Nth).

Each must fail cleanly: the exit code status.h assigns (1 UNAVAILABLE, 9 PERMISSION_DENIED), the
§9.5 error object on stdout with --format json (code, message, recovery_suggestions), the state
parses and holds exactly the changes that completed (everything it records exists in the cloud),
and once the fault is gone the next deploy converges with no duplicate."""
import json
import os
import re
import shutil
import subprocess
import time
import unittest

import faultlib as fl


class PermanentFaults(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = fl.mkdtemp("nic-permanent-")
        cls.moto = fl.start_moto(cls.tmp)
        cls.tf = os.path.join(cls.tmp, "terraform")
        fl.make_stack(cls.moto.url, cls.tf)
        cls.config = os.path.join(cls.tmp, "nebari-config.yaml")
        with open(os.path.join(cls.tf, "nebari-config.yaml")) as f, open(cls.config, "w") as out:
            out.write(fl.grown_config(f.read()))
        cls.census = fl.CloudCensus(cls.moto.url)
        cls.baseline_groups = cls.census.groups()
        cls.baseline_counts = cls.census.counts()
        cls.proxy = fl.TcpProxy(cls.moto.port)
        # NIC reaches moto only through the proxy; the test's own checks go to moto directly.
        cls.env = fl.no_fault_env(fl.aws_env(cls.proxy.url))

    @classmethod
    def tearDownClass(cls):
        cls.proxy.stop()
        cls.moto.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        if not self.proxy.up:
            self.proxy.start()
        self.census.restore_groups(self.baseline_groups)
        self.work = fl.mkdtemp("nic-permanent-state-")
        self.state = os.path.join(self.work, "nic-state.json")
        r = fl.nic(["import", "--from-terraform", "--config", os.path.join(self.tf, "nebari-config.yaml"),
                    "--terraform-state-02", os.path.join(self.tf, "02-infrastructure.tfstate"),
                    "--terraform-state-03", os.path.join(self.tf, "03-kubernetes-initialize.tfstate"),
                    "--state", self.state, "--output-file", os.path.join(self.work, "outputs.json")], self.env)
        self.assertEqual(r.returncode, 0, r.stderr)
        base = self.state_doc()
        self.base_serial = base["serial"]
        self.base_scaling = {g["name"]: (g["scaling_config"]["min_size"], g["scaling_config"]["max_size"])
                             for g in base["cloud"]["node_groups"]}

    def tearDown(self):
        shutil.rmtree(self.work, ignore_errors=True)

    def deploy_argv(self, parallelism=10):
        # --parallelism 1 applies the changes one after another, so "mid-deploy" (after the first
        # change, before the last) is a point the test can hit.
        return [fl.NIC, "deploy", "-f", self.config, "--state", self.state, "--outputs", os.path.join(self.work, "outputs.json"),
                "--auto-approve", "--format", "json", "--parallelism", str(parallelism)]

    def serial_on_disk(self):
        try:
            return json.loads(fl.read(self.state))["serial"]
        except (OSError, ValueError, KeyError):
            return self.base_serial

    def state_doc(self):
        r = fl.nic(["state", "pull", "--state", self.state], self.env)
        self.assertEqual(r.returncode, 0, "the state does not parse: " + r.stderr)
        return json.loads(r.stdout)

    def check_clean_failure(self, proc_out, rc, exit_code, codes):
        self.assertEqual(rc, exit_code, proc_out)
        out = json.loads(proc_out)
        self.assertFalse(out["success"])
        err = out["error"]
        self.assertIn(err["code"], codes, err)
        self.assertTrue(err["message"])
        self.assertTrue(err["recovery_suggestions"], f"no recovery suggestion: {err}")
        # The state parses and records only what exists: every node group it holds is live, with
        # the recorded scaling or, for the one change in flight when the fault hit (the cloud may
        # have applied it while its answer was lost), the scaling it had before this deploy; and
        # its serial advanced once per completed change at most.
        doc = self.state_doc()
        live = self.census.groups()
        recorded = {g["name"]: g for g in doc["cloud"]["node_groups"]}
        in_flight = []
        for name, g in recorded.items():
            self.assertIn(name, live, f"the state records node group {name}, which was never created")
            sc = g["scaling_config"]
            rec = (sc["min_size"], sc["max_size"])
            if rec != tuple(live[name][:2]):
                in_flight.append(name)
                self.assertEqual(rec, self.base_scaling.get(name),
                                 f"the state records a scaling of {name} that is neither the live one nor the one before")
        self.assertLessEqual(len(in_flight), 1, f"more than one change in flight at once with --parallelism 1: {in_flight}")
        done = [n for n in fl.ADDED_GROUPS if n in recorded]
        self.assertLessEqual(doc["serial"] - self.base_serial, len(fl.ADDED_GROUPS) + len(fl.CHANGED_SCALING))
        return err, doc, done

    def converge(self):
        d = subprocess.run(self.deploy_argv(), env=self.env, capture_output=True, text=True, timeout=600)
        self.assertEqual(d.returncode, 0, d.stdout + d.stderr[-3000:])
        p = fl.nic(["plan", "-f", self.config, "--state", self.state, "--detailed-exitcode"], self.env)
        self.assertEqual(p.returncode, 0, "plan after recovery is not empty: " + p.stdout)
        expected = dict(self.baseline_counts, node_groups=self.baseline_counts["node_groups"] + len(fl.ADDED_GROUPS))
        self.assertEqual(self.census.counts(), expected, "a cloud resource was created twice or lost")

    def test_endpoint_down_mid_deploy(self):
        proc = subprocess.Popen(self.deploy_argv(parallelism=1), env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        # Mid-deploy: as soon as the first change is persisted.
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None and self.serial_on_disk() == self.base_serial:
            time.sleep(0.01)
        self.assertIsNone(proc.poll(), "the deploy ended before the endpoint could be taken down")
        self.proxy.stop()
        t0 = time.time()
        out, errtext = proc.communicate(timeout=600)
        secs = time.time() - t0
        err, doc, done = self.check_clean_failure(out, proc.returncode, 1, ("UNAVAILABLE", "TIMEOUT"))
        self.assertGreater(doc["serial"], self.base_serial)
        print(f"\n[ permanent ] endpoint down mid-deploy: exit {proc.returncode} {err['code']} after {secs:.1f}s of retries; "
              f"{len(done)} of {len(fl.ADDED_GROUPS)} new node groups recorded; serial {self.base_serial} -> {doc['serial']}; "
              f"suggestions: {err['recovery_suggestions']}", flush=True)
        self.proxy.start()
        self.converge()

    def test_access_denied_mid_deploy(self):
        # Where the middle of the changes is, in requests: a plan makes the deploy's reads, the
        # full deploy (on a copy of the baseline) its reads and changes.
        counted = dict(self.env, NIC_TEST_FAULTS="1", NIC_FAULT_RATE="0")
        count = lambda stderr: int(re.search(r"NIC_TEST_FAULTS: \d+ of (\d+) loopback requests", stderr).group(1))
        plan = fl.nic(["plan", "-f", self.config, "--state", self.state], counted)
        reads = count(plan.stderr)
        shutil.copy(self.state, self.state + ".baseline")
        shutil.copy(os.path.join(self.work, "nic-history.db"), os.path.join(self.work, "history.baseline"))
        probe = subprocess.run(self.deploy_argv(parallelism=1), env=counted, capture_output=True, text=True, timeout=600)
        self.assertEqual(probe.returncode, 0, probe.stderr[-3000:])
        total = count(probe.stderr)
        self.census.restore_groups(self.baseline_groups)
        shutil.copy(self.state + ".baseline", self.state)
        shutil.copy(os.path.join(self.work, "history.baseline"), os.path.join(self.work, "nic-history.db"))
        after = reads + (total - reads) // 2

        env = dict(self.env, NIC_TEST_FAULTS="1", NIC_FAULT_RATE="1", NIC_FAULT_KINDS="403", NIC_FAULT_AFTER=str(after))
        d = subprocess.run(self.deploy_argv(parallelism=1), env=env, capture_output=True, text=True, timeout=600)
        self.assertIn("WARNING: NIC_TEST_FAULTS=1", d.stderr)
        err, doc, done = self.check_clean_failure(d.stdout, d.returncode, 9, ("PERMISSION_DENIED",))
        self.assertGreater(doc["serial"], self.base_serial, "denied from the middle on, some changes completed first")
        print(f"\n[ permanent ] access denied from request {after} of {total} on: exit {d.returncode} {err['code']}; "
              f"{len(done)} of {len(fl.ADDED_GROUPS)} new node groups recorded; serial {self.base_serial} -> {doc['serial']}; "
              f"suggestions: {err['recovery_suggestions']}", flush=True)
        self.converge()


if __name__ == "__main__":
    unittest.main()

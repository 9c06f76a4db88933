"""The README's main job (scripts/demo.sh) as a smoke test: the whole journey against moto with
the real binary, checking each step's outcome, not just the exit code."""
import json
import os
import subprocess
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NIC = os.environ.get("NIC_BINARY", os.path.join(ROOT, "build", "nic"))


class DemoTest(unittest.TestCase):
    def test_journey(self):
        with tempfile.TemporaryDirectory() as work:
            env = dict(os.environ, NIC_BINARY=NIC, NIC_DEMO_DIR=os.path.join(work, "demo"))
            r = subprocess.run(["bash", os.path.join(ROOT, "scripts", "demo.sh")], capture_output=True, text=True,
                               env=env, timeout=600, stdin=subprocess.DEVNULL)
            self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr[-3000:])
            out = r.stdout
            # 2. import then plan: nothing to do
            self.assertIn("Tracking 24 resources", out)
            self.assertIn("Plan: 0 changes", out)
            # 3. exactly one change, then none
            self.assertIn("Done. (1 change,", out)
            self.assertIn("Done. (0 changes,", out)
            # 4. the out-of-band change is seen and repaired
            self.assertIn("Drift detected: 1 item", out)
            self.assertIn("scaling_config", out)
            self.assertIn("Restored recorded values: cloud.node_groups.general", out)
            self.assertIn("No drift", out)
            self.assertIn('"maxSize": 5', out)
            state = os.path.join(work, "demo", ".nebari", "stages", "02-infrastructure", "nic-state.json")
            s = subprocess.run([NIC, "state", "show", "--state", state, "--format", "json"], capture_output=True, text=True)
            doc = json.loads(s.stdout)
            addresses = {x["address"] for x in doc["resources"]}
            self.assertIn("cloud.node_groups.gpu", addresses)
            self.assertTrue(doc["imported_from_terraform"])
            self.assertEqual(doc["metadata"]["deploy_count"], 1)
            # moto was stopped by the script
            self.assertIn("Stopping moto_server", r.stderr)


if __name__ == "__main__":
    unittest.main()

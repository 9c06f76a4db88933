"""Client-side state encryption end to end with a real deploy: the local provider deploys a
namespace (Kubernetes stand-in server) with NIC_STATE_KEY set; afterwards no file under the
state directory (state, .backup, .lock, history DB with its deploy journal) holds the plaintext
canary, a second deploy reads the encrypted state and changes nothing, the state written by NIC
matches schemas/nic-state-envelope.schema.json for the raw-key and passphrase providers, and a
command without the key fails with exit 9."""
import base64
import json
import os
import subprocess
import tempfile
import unittest

import jsonschema

from niclib import start_k8s_server

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NIC = os.environ.get("NIC_BINARY", os.path.join(ROOT, "build", "nic"))
CANARY = "canaryproj7f3a"

CONFIG = f"""project_name: {CANARY}
namespace: science
provider: local
domain: {CANARY}.example.com
local:
  kube_context: kind-localdemo
certificate:
  type: self-signed
"""


class StateEncryptionDeployTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        d = cls.tmp.name
        cls.server, cls.kubeconfig = start_k8s_server(d)
        cls.config = os.path.join(d, "nebari-config.yaml")
        with open(cls.config, "w") as f:
            f.write(CONFIG)
        cls.state_dir = os.path.join(d, "state")
        cls.state = os.path.join(cls.state_dir, "nic-state.json")
        cls.key = base64.b64encode(os.urandom(32)).decode()
        with open(os.path.join(ROOT, "schemas", "nic-state-envelope.schema.json")) as f:
            schema = json.load(f)
        jsonschema.Draft202012Validator.check_schema(schema)
        cls.validator = jsonschema.Draft202012Validator(schema)

    @classmethod
    def tearDownClass(cls):
        cls.server.terminate()
        cls.server.wait(10)
        cls.tmp.cleanup()

    def nic(self, *args, env_extra=None, ok=(0,)):
        env = {k: v for k, v in os.environ.items() if not k.startswith("NIC_STATE_")}
        env["KUBECONFIG"] = self.kubeconfig
        env.update(env_extra or {})
        r = subprocess.run([NIC, *args, "--format", "json"], capture_output=True, text=True, env=env,
                           stdin=subprocess.DEVNULL, timeout=180)
        self.assertIn(r.returncode, ok, r.stdout + r.stderr)
        return json.loads(r.stdout), r.returncode

    def assert_no_canary_on_disk(self):
        files = 0
        for root, _, names in os.walk(self.state_dir):
            for n in names:
                files += 1
                with open(os.path.join(root, n), "rb") as f:
                    self.assertNotIn(CANARY.encode(), f.read(), f"plaintext canary in {n}")
        self.assertGreaterEqual(files, 3)

    def test_encrypted_deploy_leaves_no_plaintext_and_envelopes_match_the_schema(self):
        key = {"NIC_STATE_KEY": self.key}
        dep, _ = self.nic("deploy", "-f", self.config, "--state", self.state, "--auto-approve", env_extra=key)
        self.assertEqual(dep["changes_applied"], 1)
        with open(self.state) as f:
            envelope = json.load(f)
        self.validator.validate(envelope)
        self.assertEqual(envelope["nic_encryption"]["key_provider"], "raw_key")
        self.assert_no_canary_on_disk()

        again, _ = self.nic("deploy", "-f", self.config, "--state", self.state, "--auto-approve", env_extra=key)
        self.assertEqual(again["changes_applied"], 0)
        shown, _ = self.nic("state", "show", "--state", self.state, env_extra=key)
        self.assertEqual(shown["project_name"], CANARY)

        err, rc = self.nic("state", "show", "--state", self.state, ok=(9,))
        self.assertEqual(err["error"]["code"], "UNAUTHENTICATED")
        err, rc = self.nic("deploy", "-f", self.config, "--state", self.state, "--auto-approve", ok=(9,))

        # Rotate to a passphrase: the raw key becomes the fallback, state encrypt re-seals.
        rot = {"NIC_STATE_PASSPHRASE": "a passphrase for the python test", "NIC_STATE_FALLBACK_KEY": self.key}
        out, _ = self.nic("state", "encrypt", "--state", self.state, env_extra=rot)
        self.assertTrue(out["read_with_fallback_key"])
        self.assertEqual(out["key_provider"], "passphrase")
        with open(self.state) as f:
            envelope = json.load(f)
        self.validator.validate(envelope)
        self.assertEqual(envelope["nic_encryption"]["iterations"], 600000)
        self.assert_no_canary_on_disk()
        tampered = json.loads(json.dumps(envelope))
        tampered["nic_encryption"]["method"] = "aes-128-cbc"
        with self.assertRaises(jsonschema.ValidationError):
            self.validator.validate(tampered)


if __name__ == "__main__":
    unittest.main()

"""nic import --from-terraform end to end: outputs.json and the --format json report validate
against schemas/outputs.schema.json and schemas/import-report.schema.json, for every provider's
stage 02+03 fixture, and the CLI's refusals and input errors behave as documented.

Needs NIC_BINARY (the nic executable; ctest sets it) and python3-jsonschema.
"""
import json
import os
import stat
import subprocess
import tempfile
import unittest

import jsonschema

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "tests", "fixtures", "tfstate")
SCHEMAS = os.path.join(ROOT, "schemas")
NIC = os.environ.get("NIC_BINARY", "")

EXIT_INVALID_INPUT = 8
EXIT_REFUSED = 10


def load_schema(name):
    with open(os.path.join(SCHEMAS, name)) as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@unittest.skipUnless(NIC and os.path.exists(NIC), "NIC_BINARY is not set to the nic executable")
class ImportSchemaTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.outputs_schema = load_schema("outputs.schema.json")
        cls.report_schema = load_schema("import-report.schema.json")

    def run_import(self, tmp, provider, *extra, stage03=True, state02=None):
        args = [NIC, "import", "--from-terraform",
                "--config", os.path.join(FIXTURES, f"nebari-config-{provider}.yaml"),
                "--terraform-state-02", state02 or os.path.join(FIXTURES, f"{provider}_02.tfstate"),
                "--output-state", os.path.join(tmp, "nic-state.json"),
                "--output-file", os.path.join(tmp, "outputs.json"),
                "--history-db", os.path.join(tmp, "history.db")]
        if stage03:
            args += ["--terraform-state-03", os.path.join(FIXTURES, f"{provider}_03.tfstate")]
        args += list(extra)
        return subprocess.run(args, capture_output=True, text=True, timeout=120)

    def assert_valid(self, validator, doc, what):
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
        self.assertEqual([], [f"{list(e.path)}: {e.message}" for e in errors], what)

    def test_every_provider_validates(self):
        for provider in ("aws", "gcp", "azure", "local"):
            with self.subTest(provider=provider), tempfile.TemporaryDirectory() as tmp:
                proc = self.run_import(tmp, provider, "--format", "json")
                self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
                report = json.loads(proc.stdout)
                self.assert_valid(self.report_schema, report, f"{provider} report")

                outputs_path = os.path.join(tmp, "outputs.json")
                self.assertEqual(stat.S_IMODE(os.stat(outputs_path).st_mode), 0o600)
                with open(outputs_path) as f:
                    outputs = json.load(f)
                self.assert_valid(self.outputs_schema, outputs, f"{provider} outputs.json")
                self.assertEqual(outputs["provider"], provider)

                with open(os.path.join(tmp, "nic-state.json")) as f:
                    state_text = f.read()
                state = json.loads(state_text)
                self.assertTrue(state["imported_from_terraform"])
                self.assertEqual(state["serial"], 1)
                self.assertEqual(report["state"]["lineage"], state["lineage"])
                self.assertEqual(report["state"]["serial"], 1)
                self.assertEqual(report["unmanaged_count"], 0)
                self.assertGreater(report["resource_count"], 0)
                self.assertEqual(report["resource_count"], sum(report["counts"].values()))
                self.assertTrue(state["metadata"]["configuration_hash"].startswith("sha256:"))
                for text in (state_text, proc.stdout, json.dumps(outputs)):
                    self.assertNotIn("FAKE-SECRET", text)

    def test_aws_outputs_carry_the_cluster(self):
        with tempfile.TemporaryDirectory() as tmp:
            proc = self.run_import(tmp, "aws", "--format", "json")
            self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
            with open(os.path.join(tmp, "outputs.json")) as f:
                outputs = json.load(f)
            self.assertEqual(outputs["cluster"]["name"], "nebari-dev")
            self.assertEqual(sorted(outputs["node_groups"]), ["general", "user", "worker"])
            self.assertEqual(outputs["storage"]["type"], "efs")
            self.assertEqual(outputs["kubernetes"]["namespaces"], ["dev"])

    def test_refuses_to_overwrite_without_force(self):
        with tempfile.TemporaryDirectory() as tmp:
            first = self.run_import(tmp, "aws", "--format", "json")
            self.assertEqual(first.returncode, 0, first.stdout + first.stderr)
            with open(os.path.join(tmp, "nic-state.json")) as f:
                before = f.read()
            again = self.run_import(tmp, "aws", "--format", "json")
            self.assertEqual(again.returncode, EXIT_REFUSED, again.stdout + again.stderr)
            err = json.loads(again.stdout)
            self.assertFalse(err["success"])
            self.assertEqual(err["error"]["code"], "REFUSED")
            with open(os.path.join(tmp, "nic-state.json")) as f:
                self.assertEqual(before, f.read())
            forced = self.run_import(tmp, "aws", "--force", "--format", "json")
            self.assertEqual(forced.returncode, 0, forced.stdout + forced.stderr)
            self.assertNotEqual(json.loads(forced.stdout)["state"]["lineage"], json.loads(first.stdout)["state"]["lineage"])

    def test_malformed_state_names_file_and_path_and_writes_nothing(self):
        bad = os.path.join(FIXTURES, "malformed_index_key_type.tfstate")
        with tempfile.TemporaryDirectory() as tmp:
            proc = self.run_import(tmp, "aws", "--format", "json", state02=bad)
            self.assertEqual(proc.returncode, EXIT_INVALID_INPUT, proc.stdout + proc.stderr)
            err = json.loads(proc.stdout)
            self.assertEqual(err["error"]["code"], "INVALID_INPUT")
            self.assertIn(bad, err["error"]["message"])
            self.assertIn("$.resources[0].instances[0].index_key", err["error"]["message"])
            self.assertFalse(os.path.exists(os.path.join(tmp, "nic-state.json")))
            self.assertFalse(os.path.exists(os.path.join(tmp, "outputs.json")))

    def test_text_report(self):
        with tempfile.TemporaryDirectory() as tmp:
            proc = self.run_import(tmp, "gcp")
            self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
            self.assertIn("module.kubernetes.google_container_node_pool.main[0] -> cloud.node_groups.general", proc.stdout)
            self.assertIn("Tracking 24 resources", proc.stdout)
            self.assertIn("master_auth[0].client_key", proc.stdout)
            self.assertNotIn("FAKE-SECRET", proc.stdout + proc.stderr)


if __name__ == "__main__":
    unittest.main()

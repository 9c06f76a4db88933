"""`nic validate --format json` output against schemas/validate-result.schema.json, and the real
Nebari configs in ../shared/testdata/nebari-configs against schemas/nebari-config.schema.json."""

import json
import os
import pathlib
import subprocess
import tempfile
import unittest

import jsonschema
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHARED = pathlib.Path(os.environ.get("NIC_SHARED_DIR", ROOT.parent / "shared"))
CONFIGS = SHARED / "testdata" / "nebari-configs"
NIC = os.environ.get("NIC_BINARY", str(ROOT / "build" / "nic"))

# Files in the current format (validate, with Nebari's defaults) and QHub-era/foreign ones.
CURRENT = [
    "TheSenya__nebari__nebari-config.yaml",
    "nebari-dev__nebari__output.yaml",
    "nebari-dev__nebari__tests_tests_unit_cli_validate_aws.happy.yaml",
    "nebari-dev__nebari__tests_tests_unit_cli_validate_gcp.happy.yaml",
    "nebari-dev__nebari__tests_tests_unit_cli_validate_azure.happy.yaml",
]
OLD = [
    "NCAR__ncar-aws-binder__qhub-config.yaml",
    "Quansight__jupytercon-qhub-demo__qhub-config.yaml",
    "tarundmsharma__qhub__qhub-config.yaml",
]


def load_schema(name):
    with open(ROOT / "schemas" / name, encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def run_validate(*args, stdin=None):
    proc = subprocess.run([NIC, "validate", *args, "--format", "json"], input=stdin,
                          capture_output=True, text=True, timeout=60)
    return proc.returncode, json.loads(proc.stdout)


class ValidateResultSchema(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.validator = load_schema("validate-result.schema.json")

    def test_every_real_config_output_matches_schema(self):
        for name in CURRENT + OLD:
            with self.subTest(name=name):
                code, out = run_validate("-f", str(CONFIGS / name))
                self.validator.validate(out)
                self.assertEqual(out["valid"], name in CURRENT)
                self.assertEqual(code, 0 if name in CURRENT else 5)

    def test_invalid_output_lists_located_errors(self):
        code, out = run_validate("-f", str(CONFIGS / "tarundmsharma__qhub__qhub-config.yaml"))
        self.assertEqual(code, 5)
        self.validator.validate(out)
        lines = sorted(e["line"] for e in out["errors"])
        self.assertEqual(lines, [53, 66])

    def test_inline_errors_and_warnings_match_schema(self):
        text = ("project_name: x\nprovider: aws\nmy_plugin: 1\namazon_web_services:\n"
                "  region: us-west-2\n  kubernetes_version: 1.29\n")
        code, out = run_validate("-f", "-", stdin=text)
        self.assertEqual(code, 5)
        self.validator.validate(out)
        self.assertEqual({e["path"] for e in out["errors"]},
                         {"project_name", "amazon_web_services.kubernetes_version"})
        self.assertTrue(any(w["path"] == "my_plugin" for w in out["warnings"]))

    def test_schema_rejects_inconsistent_results(self):
        code, out = run_validate("-f", str(CONFIGS / CURRENT[2]))
        self.assertEqual(code, 0)
        out["valid"] = False  # valid=false needs at least one error
        with self.assertRaises(jsonschema.ValidationError):
            self.validator.validate(out)


class NebariConfigSchema(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.validator = load_schema("nebari-config.schema.json")

    def load(self, name):
        with open(CONFIGS / name, encoding="utf-8") as f:
            return yaml.safe_load(f)

    def test_current_format_configs_match(self):
        for name in CURRENT:
            with self.subTest(name=name):
                self.validator.validate(self.load(name))

    def test_old_configs_do_not_match(self):
        for name in OLD:
            with self.subTest(name=name):
                self.assertFalse(self.validator.is_valid(self.load(name)))

    def test_design_document_aliases_match(self):
        doc = yaml.safe_load("""
project_name: my-nebari
provider: aws
amazon_web_services:
  region: us-west-2
  kubernetes_version: "1.28"
  vpc_cidr: "10.0.0.0/16"
  node_groups:
    general: {instance_type: m5.xlarge, min_size: 1, max_size: 5, disk_size: 100,
              labels: {role: general},
              taints: [{key: workload, value: general, effect: NoSchedule}]}
""")
        self.validator.validate(doc)

    def test_unquoted_kubernetes_version_and_unknown_keys_fail(self):
        base = {"project_name": "demo", "provider": "aws",
                "amazon_web_services": {"region": "us-west-2", "kubernetes_version": 1.29}}
        self.assertFalse(self.validator.is_valid(base))
        base["amazon_web_services"]["kubernetes_version"] = "1.29"
        self.validator.validate(base)
        base["amazon_web_services"]["node_groups"] = {"general": {"instance": "m5.large", "instace": 1}}
        self.assertFalse(self.validator.is_valid(base))

    def test_schema_and_nic_agree_on_real_configs(self):
        for name in CURRENT + OLD:
            with self.subTest(name=name):
                _, out = run_validate("-f", str(CONFIGS / name))
                self.assertEqual(out["valid"], self.validator.is_valid(self.load(name)))


if __name__ == "__main__":
    unittest.main()

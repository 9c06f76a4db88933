"""The state schema accepts the design's §14.2 example and every document NIC writes, and
rejects documents with wrong types. Documents are produced by the real nic binary."""
import json
import os
import re
import subprocess
import tempfile
import unittest
import uuid

import jsonschema

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SHARED = os.environ.get("NIC_SHARED_DIR", os.path.join(ROOT, "..", "shared"))
NIC = os.environ.get("NIC_BINARY", os.path.join(ROOT, "build", "nic"))


def load_schema():
    with open(os.path.join(ROOT, "schemas", "nic-state.schema.json")) as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())


def design_example():
    with open(os.path.join(SHARED, "seeds", "nic-design-document.md")) as f:
        text = f.read()
    sec = text.index("### 14.2 State File Example")
    m = re.search(r"```json\n(.*?)```", text[sec:], re.S)
    return json.loads(m.group(1))


class StateSchemaTest(unittest.TestCase):
    def setUp(self):
        self.validator = load_schema()

    def test_design_example_is_valid(self):
        self.validator.validate(design_example())

    def test_documents_written_by_nic_are_valid(self):
        doc = design_example()
        doc["lineage"] = str(uuid.uuid4())
        doc["serial"] = 4
        with tempfile.TemporaryDirectory() as d:
            src = os.path.join(d, "in.json")
            with open(src, "w") as f:
                json.dump(doc, f)
            state = os.path.join(d, "nic-state.json")
            r = subprocess.run([NIC, "state", "push", src, "--state", state], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            r = subprocess.run([NIC, "state", "pull", "--state", state], capture_output=True, text=True)
            self.assertEqual(r.returncode, 0, r.stderr)
            written = json.loads(r.stdout)
            self.validator.validate(written)
            # NIC always writes lineage, serial and checksum.
            for key in ("lineage", "serial", "checksum"):
                self.assertIn(key, written)
            self.assertEqual(written["serial"], 4)
            self.assertEqual(written["format_version"], "1")

    def test_wrong_types_are_rejected(self):
        doc = design_example()
        doc["cloud"]["node_groups"][0]["scaling_config"]["min_size"] = "1"
        with self.assertRaises(jsonschema.ValidationError):
            self.validator.validate(doc)
        doc = design_example()
        doc["provider"] = "digital_ocean"
        with self.assertRaises(jsonschema.ValidationError):
            self.validator.validate(doc)
        doc = design_example()
        doc["surprise"] = True
        with self.assertRaises(jsonschema.ValidationError):
            self.validator.validate(doc)


if __name__ == "__main__":
    unittest.main()

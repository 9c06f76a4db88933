"""Fault soak per state backend: many processes run full lock/read/modify/write/unlock cycles
through the engine (tests/tools/soak_driver.cpp) while the test hook fails 10% of their HTTP
requests (5xx, 429, resets, refused connections, timeouts, slow replies, replies lost after the
server acted). Every cycle must either commit or fail cleanly: the final serial is the initial one
plus the committed cycles, every committed serial is distinct (no lost write), the stored state
and every version in history parse (no torn write), and no lock is left behind.

Default: 4 processes x 5 cycles. NIC_SOAK_LONG=1 (ctest label "soak"): 16 x 50."""
import json
import os
import shutil
import subprocess
import time
import unittest

import faultlib as fl

PROCS, CYCLES = (16, 50) if fl.LONG else (4, 5)
FAULT_RATE = "0.1"


class FaultSoak(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.exists(fl.SOAK_DRIVER):
            raise unittest.SkipTest(f"{fl.SOAK_DRIVER} is not built (ninja nic_soak_driver)")
        cls.tmp = fl.mkdtemp("nic-fault-soak-")
        cls.peers = []

    @classmethod
    def tearDownClass(cls):
        for p in cls.peers:
            p.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def soak(self, name, backend, config, env=None):
        work = os.path.join(self.tmp, name)
        os.makedirs(work)
        hist, journal = os.path.join(work, "history.db"), os.path.join(work, "journal")
        common = ["--backend", backend]
        for k, v in config.items():
            common += ["--backend-config", f"{k}={v}"]
        common += ["--history", hist]
        base_env = fl.no_fault_env(dict(env or os.environ))
        seed = subprocess.run([fl.SOAK_DRIVER, "seed"] + common, env=base_env, capture_output=True, text=True, timeout=120)
        self.assertEqual(seed.returncode, 0, seed.stderr)
        initial = 1

        start = time.time()
        kids = []
        for i in range(PROCS):
            result = os.path.join(work, f"result-{i}.json")
            fenv = dict(base_env, NIC_TEST_FAULTS="1", NIC_FAULT_RATE=FAULT_RATE, NIC_FAULT_SEED=str(1000 + i))
            log = open(os.path.join(work, f"driver-{i}.log"), "w")
            kids.append((subprocess.Popen([fl.SOAK_DRIVER, "cycles"] + common +
                                          ["--journal", journal, "--cycles", str(CYCLES), "--result", result],
                                          env=fenv, stdout=log, stderr=subprocess.STDOUT), result, log))
        committed, failed, failures, requests, injected, kinds, messages = [], 0, {}, 0, 0, {}, []
        for proc, result, log in kids:
            rc = proc.wait(timeout=3600)
            log.close()
            self.assertEqual(rc, 0, f"driver died (exit {rc}): " + fl.read(log.name)[-2000:])
            r = json.loads(fl.read(result))
            committed += r["committed"]
            failed += r["failed"]
            for k, v in r["failures"].items():
                failures[k] = failures.get(k, 0) + v
            messages += r["messages"]
            requests += r["requests"]
            injected += r["injected"]
            for k, v in r["faults"].items():
                kinds[k] = kinds.get(k, 0) + v
        secs = time.time() - start
        warned = fl.read(os.path.join(work, "driver-0.log"))

        v = subprocess.run([fl.SOAK_DRIVER, "verify"] + common, env=base_env, capture_output=True, text=True, timeout=120)
        self.assertEqual(v.returncode, 0, v.stderr)
        final = json.loads(v.stdout)
        # Each process ran every cycle; a failed one may fail without committing or commit then
        # fail to unlock, so committed + failed is at least the cycles run.
        total = PROCS * CYCLES
        print(f"\n[ soak ] {name}: {PROCS} processes x {CYCLES} cycles in {secs:.1f}s: {len(committed)} committed, "
              f"{failed} failed cleanly {failures or ''}; {injected} of {requests} requests failed by injection "
              f"{dict(sorted(kinds.items()))}; final serial {final.get('serial')}", flush=True)
        for m in messages[:5]:
            print(f"[ soak ]   failure: {m}", flush=True)
        # First the journal: two holders at once would explain any count below.
        holds = fl.read(journal).split()
        pairs = list(zip(holds[0::2], holds[1::2]))
        for (b, e) in zip(pairs[0::2], pairs[1::2]):
            self.assertEqual((b[0], e[0], b[1]), ("B", "E", e[1]), "two lock holders overlapped")
        self.assertTrue(final["parses"], final["parse_error"])
        self.assertEqual(len(committed), len(set(committed)), "two cycles committed the same serial: a lost write")
        self.assertEqual(final["serial"], initial + len(committed), "final serial != initial + committed cycles")
        self.assertEqual(sorted(committed), list(range(initial + 1, final["serial"] + 1)))
        self.assertEqual(final["deploy_count"], final["serial"], "an increment was lost")
        self.assertFalse(final["locked"], f"a lock was left behind: {final.get('lock_id')}")
        self.assertEqual(sorted(final["history_serials"]), list(range(1, final["serial"] + 1)), "history misses a version")
        self.assertTrue(final["history_top_matches"])
        self.assertEqual(final["history_bad_versions"], 0)
        self.assertGreaterEqual(len(committed) + failed, total)
        # The retry layer absorbs single transient faults; a cycle fails only when one request
        # meets several in a row, so nearly all commit.
        self.assertGreaterEqual(len(committed), total * 0.9)
        return requests, injected, warned

    def test_local(self):
        # The local backend makes no HTTP requests: this is the same soak under contention only.
        path = os.path.join(self.tmp, "local-state", "nic-state.json")
        os.makedirs(os.path.dirname(path))
        self.soak("local", "local", {"path": path})

    def moto(self):
        if not hasattr(type(self), "_moto"):
            # One request at a time: see fl.SERIAL_MOTO (moto's conditional writes are not atomic).
            type(self)._moto = fl.start_moto(self.tmp, serial=True)
            self.peers.append(type(self)._moto)
        return type(self)._moto

    def s3(self, name, lock):
        m = self.moto()
        s3, ddb = fl.boto(m.url, "s3"), fl.boto(m.url, "dynamodb")
        bucket = f"nic-soak-{name}"
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
        cfg = {"bucket": bucket, "key": "nebari/nic-state.json", "region": "us-west-2", "access_key": "testing",
               "secret_key": "testing", "endpoints.s3": m.url, "endpoints.dynamodb": m.url}
        if lock == "dynamodb":
            table = bucket + "-locks"
            ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                             AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
                             KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}])
            cfg["dynamodb_table"] = table
        else:
            cfg["use_lockfile"] = "true"
        requests, injected, warned = self.soak(name, "s3", cfg)
        self.assertGreater(injected, 0, "the fault hook injected nothing")
        self.assertIn("WARNING: NIC_TEST_FAULTS=1", warned)

    def test_s3_dynamodb(self):
        self.s3("s3-dynamodb", "dynamodb")

    def test_s3_lockfile(self):
        self.s3("s3-lockfile", "lockfile")

    def test_gcs(self):
        g = fl.start_gcs(self.tmp)
        self.peers.append(g)
        import urllib.request
        req = urllib.request.Request(g.url + "/storage/v1/b?project=nic-test", data=json.dumps({"name": "nic-soak"}).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        urllib.request.urlopen(req, timeout=10)
        _, injected, _ = self.soak("gcs", "gcs", {"bucket": "nic-soak", "prefix": "nebari/dev", "endpoint": g.url})
        self.assertGreater(injected, 0)

    def test_azurerm(self):
        if not os.path.exists(fl.azurite_binary()):
            self.skipTest("Azurite is not installed (scripts/setup-npm.sh)")
        az = fl.start_azurite(self.tmp)
        self.peers.append(az)
        _, injected, _ = self.soak("azurerm", "azurerm", {"storage_account_name": "devstoreaccount1", "container_name": "nic-soak",
                                                          "key": "nebari/dev.tfstate", "access_key": fl.AZURITE_KEY,
                                                          "endpoint": az.url})
        self.assertGreater(injected, 0)


if __name__ == "__main__":
    unittest.main()

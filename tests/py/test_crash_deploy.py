"""Crash injection: `nic deploy` SIGKILLed at random moments on moto.

The stack: Nebari's AWS stack made by "Terraform" (scripts/demo/make_terraform_stack.py, 18
resources) and imported; the deploy adds four node groups and changes the scaling of the three
existing ones (22 resources after it). Each run starts from that baseline (cloud and state put
back), starts the deploy, kills it with SIGKILL after a random delay, and then checks:
  - the state parses (checksum valid) as some complete version;
  - the lock is recoverable: released by the kernel (local flock), or force-unlockable with the
    lock ID the next command shows (S3 + DynamoDB);
  - the next deploy converges (plan afterwards: 0 changes) and created no duplicate: the cloud
    census (VPCs, subnets, clusters, node groups, roles, EFS...) equals the expected one.

Default: 6 local runs and 2 S3 runs. NIC_SOAK_LONG=1 (ctest label "soak"): 100 + 50.
NIC_CRASH_SEED fixes the random delays (printed at the start)."""
import json
import os
import random
import shutil
import sqlite3
import signal
import subprocess
import time
import unittest

import faultlib as fl

LOCAL_RUNS, S3_RUNS = (100, 50) if fl.LONG else (6, 2)


class Target:
    """Where the state lives; snapshot() and restore() put it back to the baseline."""

    def __init__(self, work):
        self.work = work
        self.hist = os.path.join(work, "nic-history.db")
        self.snap = os.path.join(work, "baseline")

    def snapshot(self):
        # The history database is in WAL mode: committed records may still be in nic-history.db-wal,
        # so the copy goes through SQLite's backup API rather than copying the main file alone.
        os.makedirs(self.snap, exist_ok=True)
        src = sqlite3.connect(self.hist)
        dst = sqlite3.connect(os.path.join(self.snap, "nic-history.db"))
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()

    def restore(self):
        # A -wal/-shm left from the killed run belongs to the old file: remove them with it.
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(self.hist + suffix):
                os.remove(self.hist + suffix)
        shutil.copy(os.path.join(self.snap, "nic-history.db"), self.hist)


class LocalTarget(Target):
    remote = False

    def __init__(self, work):
        super().__init__(work)
        self.state = os.path.join(work, "nic-state.json")

    def args(self):
        return ["--state", self.state]

    def snapshot(self):
        super().snapshot()
        shutil.copy(self.state, self.snap)

    def restore(self):
        super().restore()
        shutil.copy(os.path.join(self.snap, "nic-state.json"), self.state)
        if os.path.exists(self.state + ".backup"):
            os.remove(self.state + ".backup")


class S3Target(Target):
    remote = True
    bucket, key, table = "nic-crash", "nebari/nic-state.json", "nic-crash-locks"

    def __init__(self, work, moto_url):
        super().__init__(work)
        self.url = moto_url
        self.s3, self.ddb = fl.boto(moto_url, "s3"), fl.boto(moto_url, "dynamodb")
        self.s3.create_bucket(Bucket=self.bucket, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
        self.ddb.create_table(TableName=self.table, BillingMode="PAY_PER_REQUEST",
                              AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
                              KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}])

    def args(self):
        cfg = {"bucket": self.bucket, "key": self.key, "region": "us-west-2", "dynamodb_table": self.table,
               "endpoints.s3": self.url, "endpoints.dynamodb": self.url}
        out = ["--backend", "s3", "--history-db", self.hist]
        for k, v in cfg.items():
            out += ["--backend-config", f"{k}={v}"]
        return out

    def snapshot(self):
        super().snapshot()
        self.bytes = self.s3.get_object(Bucket=self.bucket, Key=self.key)["Body"].read()

    def restore(self):
        import hashlib
        super().restore()
        self.s3.put_object(Bucket=self.bucket, Key=self.key, Body=self.bytes)
        # The digest item Terraform's S3 backend keeps beside the lock must match the object.
        self.ddb.put_item(TableName=self.table, Item={"LockID": {"S": f"{self.bucket}/{self.key}-md5"},
                                                      "Digest": {"S": hashlib.md5(self.bytes).hexdigest()}})
        self.ddb.delete_item(TableName=self.table, Key={"LockID": {"S": f"{self.bucket}/{self.key}"}})


class CrashDeploy(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = fl.mkdtemp("nic-crash-")
        cls.moto = fl.start_moto(cls.tmp)
        cls.env = fl.no_fault_env(fl.aws_env(cls.moto.url))
        tf = os.path.join(cls.tmp, "terraform")
        fl.make_stack(cls.moto.url, tf)
        cls.tf = tf
        cls.config = os.path.join(cls.tmp, "nebari-config.yaml")
        with open(os.path.join(tf, "nebari-config.yaml")) as f, open(cls.config, "w") as out:
            out.write(fl.grown_config(f.read()))
        cls.census = fl.CloudCensus(cls.moto.url)
        cls.baseline_groups = cls.census.groups()
        cls.baseline_counts = cls.census.counts()
        seed = int(os.environ.get("NIC_CRASH_SEED", str(int(time.time()))))
        print(f"\n[ crash ] NIC_CRASH_SEED={seed}", flush=True)
        cls.rng = random.Random(seed)

    @classmethod
    def tearDownClass(cls):
        cls.moto.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def nic(self, args, timeout=600):
        return fl.nic(args, self.env, timeout=timeout, cwd=self.tmp)

    def deploy_args(self, target):
        return ["deploy", "-f", self.config] + target.args() + ["--outputs", os.path.join(self.tmp, "outputs.json"),
                                                                "--auto-approve", "--format", "json"]

    def import_into(self, target):
        r = self.nic(["import", "--from-terraform", "--config", os.path.join(self.tf, "nebari-config.yaml"),
                      "--terraform-state-02", os.path.join(self.tf, "02-infrastructure.tfstate"),
                      "--terraform-state-03", os.path.join(self.tf, "03-kubernetes-initialize.tfstate"),
                      "--output-file", os.path.join(self.tmp, "outputs.json")] + target.args())
        self.assertEqual(r.returncode, 0, r.stderr)
        target.snapshot()

    def expected_counts(self):
        c = dict(self.baseline_counts)
        c["node_groups"] += len(fl.ADDED_GROUPS)
        return c

    def recover(self, target, figures):
        """The next deploy after a crash: unlock with the ID shown if a remote lock was left."""
        d = self.nic(self.deploy_args(target))
        if d.returncode == 3:
            self.assertTrue(target.remote, "a local flock outlived its killed holder: " + d.stdout)
            err = fl.json_out(d)["error"]
            lock_id = err["details"]["lock_id"]
            self.assertTrue(any(lock_id in s for s in err["recovery_suggestions"]), err)
            u = self.nic(["state", "unlock", lock_id, "--force"] + target.args())
            self.assertEqual(u.returncode, 0, u.stdout + u.stderr)
            figures["force_unlocks"] += 1
            d = self.nic(self.deploy_args(target))
        self.assertEqual(d.returncode, 0, d.stdout + d.stderr[-3000:])
        out = fl.json_out(d)
        recovered = out.get("recovered", [])
        figures["adoptions"] += sum("adopted" in r for r in recovered)
        figures["recovered"] += len(recovered)

    def check_converged(self, target):
        p = self.nic(["plan", "-f", self.config] + target.args() + ["--detailed-exitcode", "--format", "json"])
        self.assertEqual(p.returncode, 0, "plan after recovery is not empty: " + p.stdout[-3000:] + p.stderr[-2000:])
        self.assertEqual(self.census.counts(), self.expected_counts(), "a cloud resource was created twice or lost")
        groups = self.census.groups()
        for name, (mn, mx) in fl.CHANGED_SCALING.items():
            self.assertEqual(groups[name][:2], (mn, mx), name)
        for name, (_, mn, mx) in fl.ADDED_GROUPS.items():
            self.assertEqual(groups[name][:2], (mn, mx), name)
        s = self.nic(["state", "list"] + target.args() + ["--format", "json"])
        self.assertEqual(s.returncode, 0, s.stderr)
        listed = json.dumps(fl.json_out(s))
        for name in list(fl.ADDED_GROUPS) + list(fl.CHANGED_SCALING):
            self.assertIn(f"cloud.node_groups.{name}", listed)

    def crash_runs(self, target, runs, label):
        self.census.restore_groups(self.baseline_groups)
        self.import_into(target)
        # Calibrate: one uninterrupted deploy gives the window the kills are spread over.
        t0 = time.time()
        d = self.nic(self.deploy_args(target))
        window = time.time() - t0
        self.assertEqual(d.returncode, 0, d.stdout + d.stderr[-3000:])
        self.check_converged(target)
        figures = {"runs": 0, "killed": 0, "finished_first": 0, "in_cloud_call": 0, "force_unlocks": 0, "adoptions": 0,
                   "recovered": 0, "partial_states": 0}
        start = time.time()
        for i in range(runs):
            self.census.restore_groups(self.baseline_groups)
            target.restore()
            base_serial = self.serial(target)
            delay = self.rng.uniform(0.0, window)
            proc = subprocess.Popen([fl.NIC] + self.deploy_args(target), env=self.env, cwd=self.tmp,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(delay)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
            rc = proc.wait()
            figures["runs"] += 1
            if rc == -signal.SIGKILL:
                figures["killed"] += 1
            else:
                self.assertEqual(rc, 0, f"run {i}: the deploy failed on its own")
                figures["finished_first"] += 1
            # The state parses (valid checksum) and is a complete version.
            serial = self.serial(target)
            figures["partial_states"] += base_serial < serial
            figures["in_cloud_call"] += fl.open_intents(target.hist) > 0
            self.recover(target, figures)
            self.check_converged(target)
        secs = time.time() - start
        print(f"[ crash ] {label}: {figures['runs']} runs in {secs:.0f}s (deploy window {window:.1f}s): "
              f"{figures['killed']} killed mid-deploy ({figures['in_cloud_call']} during a cloud call, journal intent open; "
              f"{figures['partial_states']} after some changes were persisted), {figures['finished_first']} finished before "
              f"the kill; recovery: {figures['adoptions']} adoptions, {figures['recovered']} journal entries resolved, "
              f"{figures['force_unlocks']} force-unlocks; every run converged with no duplicate", flush=True)
        return figures

    def serial(self, target):
        r = self.nic(["state", "show"] + target.args() + ["--format", "json"])
        self.assertEqual(r.returncode, 0, "the state does not parse after the crash: " + r.stdout + r.stderr[-2000:])
        doc = fl.json_out(r)
        return doc.get("serial", doc.get("state", {}).get("serial", 0))

    def test_local_backend(self):
        work = os.path.join(self.tmp, "local")
        os.makedirs(work)
        f = self.crash_runs(LocalTarget(work), LOCAL_RUNS, "local backend")
        self.assertGreater(f["killed"], 0)
        self.assertEqual(f["force_unlocks"], 0, "flock locks are released by the kernel")

    def test_s3_dynamodb_backend(self):
        work = os.path.join(self.tmp, "s3")
        os.makedirs(work)
        f = self.crash_runs(S3Target(work, self.moto.url), S3_RUNS, "S3 + DynamoDB backend")
        # A deploy killed after taking the DynamoDB lock leaves it; the next one names its ID.
        self.assertLessEqual(f["force_unlocks"], f["killed"])


if __name__ == "__main__":
    unittest.main()

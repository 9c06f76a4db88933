#!/usr/bin/env python3
"""NIC's end-to-end benchmarks against named baselines (issue 9). Run it through bench/run.sh,
which installs the bench-only tools, builds nic, nic_bench and the two floors, then calls:

    harness.py --nic BIN --nic-bench BIN --simdjson-floor BIN --fsync-floor BIN --work DIR --out RESULTS.md

Every figure is a ratio against a baseline measured in the same run: the median of several
runs of each command, wall and CPU (user+sys of the child, from wait4), and the child's peak
RSS as /usr/bin/time -v reports it ("Maximum resident set size"). Servers (moto_server, the GCS
stand-in, Azurite, the recording proxy) are started here on 127.0.0.1 and stopped by PID.
"""
import argparse
import base64
import datetime
import hashlib
import hmac
import json
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import traceback
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
R = {"sections": {}, "commands": [], "notes": []}
ARGS = None
SERVERS = []


# ---- measuring ---------------------------------------------------------------------------------

def run_once(cmd, env=None, cwd=None, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL):
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=stdout, stderr=subprocess.PIPE, stdin=stdin)
    # stderr is drained only after exit: commands here write little to it.
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    return {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime, "user": ru.ru_utime, "sys": ru.ru_stime,
            "maxrss_kb": ru.ru_maxrss, "rc": p.returncode, "stderr": err[-2000:]}


def peak_rss_time_v(cmd, env=None, cwd=None):
    """Peak RSS in KiB from /usr/bin/time -v (one extra, untimed run)."""
    out = os.path.join(ARGS.work, "time-v.txt")
    r = run_once(["/usr/bin/time", "-v", "-o", out] + cmd, env=env, cwd=cwd)
    with open(out) as f:
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", f.read())
    return int(m.group(1)) if m else None


def measure(label, cmd, runs, warmup=1, env=None, cwd=None, ok_rc=(0,), pre=None, rss=True):
    """Median wall and CPU of `runs` runs after `warmup` untimed ones; peak RSS from time -v."""
    R["commands"].append(" ".join(shlex.quote(c) for c in cmd))
    for _ in range(warmup):
        if pre:
            pre()
        run_once(cmd, env=env, cwd=cwd)
    samples = []
    for _ in range(runs):
        if pre:
            pre()
        s = run_once(cmd, env=env, cwd=cwd)
        if s["rc"] not in ok_rc:
            raise RuntimeError(f"{label}: exit {s['rc']}: {s['stderr']}")
        samples.append(s)
    if pre:
        pre()
    rss_kb = peak_rss_time_v(cmd, env=env, cwd=cwd) if rss else None
    walls = [s["wall"] for s in samples]
    cpus = [s["cpu"] for s in samples]
    res = {"label": label, "runs": runs, "wall": statistics.median(walls), "wall_min": min(walls),
           "wall_max": max(walls), "cpu": statistics.median(cpus), "user": statistics.median(s["user"] for s in samples),
           "sys": statistics.median(s["sys"] for s in samples), "rss_kb": rss_kb,
           "wait4_rss_kb": max(s["maxrss_kb"] for s in samples)}
    print(f"  {label}: wall {res['wall']:.4f}s (min {res['wall_min']:.4f}) cpu {res['cpu']:.4f}s rss {rss_kb} KiB",
          file=sys.stderr, flush=True)
    return res


def measure_many(specs, runs, warmup=1):
    """Like measure() for several commands, run round-robin (A B C A B C ...) so that a change in
    the machine's load during the measurement falls on all of them alike. specs: list of
    (key, label, cmd, kwargs) with kwargs from measure() (env, cwd, pre, ok_rc)."""
    samples = {k: [] for k, *_ in specs}
    for key, label, cmd, kw in specs:
        R["commands"].append(" ".join(shlex.quote(c) for c in cmd))
    for i in range(warmup + runs):
        for key, label, cmd, kw in specs:
            if kw.get("pre"):
                kw["pre"]()
            # Every run under /usr/bin/time -v (its own cost, ~1 ms, is noise at these durations):
            # peak RSS without an extra run.
            tv = os.path.join(ARGS.work, "time-v.txt")
            s = run_once(["/usr/bin/time", "-v", "-o", tv] + cmd, env=kw.get("env"), cwd=kw.get("cwd"))
            if s["rc"] not in kw.get("ok_rc", (0,)):
                raise RuntimeError(f"{label}: exit {s['rc']}: {s['stderr']}")
            with open(tv) as f:
                m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", f.read())
            s["time_v_rss_kb"] = int(m.group(1)) if m else None
            if i >= warmup:
                samples[key].append(s)
    out = {}
    for key, label, cmd, kw in specs:
        ss = samples[key]
        rss_kb = max((x["time_v_rss_kb"] or 0) for x in ss) or None
        walls = [x["wall"] for x in ss]
        cpus = [x["cpu"] for x in ss]
        res = {"label": label, "runs": runs, "wall": statistics.median(walls), "wall_min": min(walls), "wall_max": max(walls),
               "cpu": statistics.median(cpus), "user": statistics.median(x["user"] for x in ss),
               "sys": statistics.median(x["sys"] for x in ss), "rss_kb": rss_kb, "wait4_rss_kb": max(x["maxrss_kb"] for x in ss)}
        print(f"  {label}: wall {res['wall']:.4f}s (min {res['wall_min']:.4f}) cpu {res['cpu']:.4f}s rss {rss_kb} KiB",
              file=sys.stderr, flush=True)
        out[key] = res
    return out


def instructions(label, cmd, env=None, cwd=None, top=18):
    """Instruction count (callgrind Ir) of one run and the top inclusive functions."""
    if not shutil.which("valgrind"):
        return None
    out = os.path.join(ARGS.work, "profiles", re.sub(r"[^A-Za-z0-9_.-]", "_", label) + ".callgrind")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    r = run_once(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"] + cmd, env=env, cwd=cwd)
    R["commands"].append("valgrind --tool=callgrind " + " ".join(shlex.quote(c) for c in cmd))
    m = re.findall(r"Collected : (\d+)", r["stderr"])
    total = int(m[-1]) if m else None
    ann = subprocess.run(["callgrind_annotate", "--inclusive=yes", out], capture_output=True, text=True).stdout
    excl = subprocess.run(["callgrind_annotate", out], capture_output=True, text=True).stdout
    skip = ("PROGRAM TOTALS", "ld-linux", "(below main)", "__libc_start", "0x000000", "'2", "_dl_", "dl_main")

    def top_of(text, n):
        fn = []
        for line in text.splitlines():
            mm = re.match(r"\s*([\d,]+) \(\s*([\d.]+)%\)\s+(\S.*)", line)
            if not mm or any(k in line for k in skip):
                continue
            name = re.sub(r"^(\?\?\?|[^ :]*\.(?:cpp|h|hpp|c|cc|tcc|S)):", "", mm.group(3))
            name = re.sub(r" \[[^\]]*\]$", "", name)
            name = re.sub(r"std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >", "std::string", name)
            name = re.sub(r"nlohmann::json_abi_v3_11_2::", "nlohmann::", name)
            if fn and fn[-1][1] == name[:160]:
                continue  # the same function listed once per source file
            fn.append((float(mm.group(2)), name[:160]))
            if len(fn) >= n:
                break
        return fn

    fn = top_of(ann, top)
    self_fn = top_of(excl, 12) if top else []
    with open(out + ".annotate.txt", "w") as f:
        f.write(ann)
    with open(out + ".self.txt", "w") as f:
        f.write(excl)
    print(f"  {label}: {total} instructions", file=sys.stderr, flush=True)
    return {"label": label, "instructions": total, "top": fn, "self": self_fn, "file": out}


# ---- servers -----------------------------------------------------------------------------------

def stale(outputs, generators):
    """Generated inputs are reused between runs unless missing or older than their generator."""
    if not all(os.path.exists(o) for o in outputs):
        return True
    newest = max(os.path.getmtime(os.path.join(HERE, g)) for g in generators)
    return any(os.path.getmtime(o) < newest for o in outputs)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def start(name, cmd, ready, env=None, log=None):
    logf = open(os.path.join(ARGS.work, f"{name}.log") if log is None else log, "w")
    p = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    SERVERS.append((name, p))
    for _ in range(300):
        if p.poll() is not None:
            raise RuntimeError(f"{name} exited with {p.returncode}; see {logf.name}")
        try:
            if ready():
                return p
        except Exception:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{name} did not become ready")


def stop(p):
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGTERM)  # its own session: the server and nothing else
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    for i, (n, q) in enumerate(SERVERS):
        if q is p:
            SERVERS.pop(i)
            break


def http_ok(url, method="GET"):
    req = urllib.request.Request(url, method=method)
    with urllib.request.urlopen(req, timeout=2) as r:
        return r.status < 500


def start_moto():
    port = free_port()
    # The demo stack attaches AWS-managed IAM policies, which moto serves only when asked to.
    p = start("moto", ["moto_server", "-H", "127.0.0.1", "-p", str(port)],
              lambda: http_ok(f"http://127.0.0.1:{port}/moto-api/data.json"),
              env=dict(os.environ, MOTO_IAM_LOAD_MANAGED_POLICIES="true"))
    return p, f"http://127.0.0.1:{port}"


def start_proxy(upstream, name):
    pf = os.path.join(ARGS.work, f"{name}.port")
    log = os.path.join(ARGS.work, f"{name}.jsonl")
    for f in (pf, log):
        if os.path.exists(f):
            os.remove(f)
    p = start(name, [sys.executable, os.path.join(HERE, "record_proxy.py"), "--upstream", upstream,
                     "--port-file", pf, "--log", log], lambda: os.path.exists(pf) and os.path.getsize(pf) > 0)
    with open(pf) as f:
        return p, f"http://127.0.0.1:{int(f.read())}", log


def read_log(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def aws_env(endpoint):
    e = dict(os.environ)
    e.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_REGION="us-west-2",
             AWS_DEFAULT_REGION="us-west-2", AWS_ENDPOINT_URL=endpoint, AWS_EC2_METADATA_DISABLED="true")
    for k in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        e.pop(k, None)
    return e


def nic(*a):
    return [ARGS.nic] + list(a)


def section(name):
    def deco(fn):
        def wrapped():
            print(f"== {name}", file=sys.stderr, flush=True)
            t0 = time.time()
            try:
                R["sections"][name] = fn()
            except Exception as e:
                traceback.print_exc()
                R["sections"][name] = {"error": f"{type(e).__name__}: {e}"}
            finally:
                for _, p in list(SERVERS):
                    stop(p)
            R["sections"].setdefault(name, {})
            if isinstance(R["sections"][name], dict):
                R["sections"][name]["elapsed_s"] = round(time.time() - t0, 1)
        return wrapped
    return deco


# ---- 1. import ---------------------------------------------------------------------------------

IMPORT_CFG = """project_name: bench
namespace: dev
provider: aws
domain: bench.example.com
nebari_version: 2024.11.1
amazon_web_services:
  region: us-west-2
  kubernetes_version: "1.31"
  node_groups:
    general:
      instance: m5.xlarge
      min_nodes: 1
      max_nodes: 5
certificate:
  type: self-signed
"""


@section("import")
def bench_import():
    out = {"sizes": []}
    cfg = os.path.join(ARGS.work, "import-config.yaml")
    with open(cfg, "w") as f:
        f.write(IMPORT_CFG)
    sizes = [(10, 5), (100, 3)] if not ARGS.quick else [(10, 3)]
    for mb, runs in sizes:
        tf = os.path.join(ARGS.work, f"gen-{mb}mb.tfstate")
        if stale([tf], ["gen_tfstate.py"]):
            subprocess.run([sys.executable, os.path.join(HERE, "gen_tfstate.py"), "--size-mb", str(mb), "-o", tf],
                           check=True, stdout=subprocess.DEVNULL)
        size = os.path.getsize(tf)
        odir = os.path.join(ARGS.work, f"import-{mb}")

        def clean():
            shutil.rmtree(odir, ignore_errors=True)
            os.makedirs(odir)

        cmd = nic("import", "--from-terraform", "--config", cfg, "--terraform-state", tf,
                  "--output-state", os.path.join(odir, "nic-state.json"), "--output-file", os.path.join(odir, "outputs.json"))
        w = 0 if mb >= 100 else 1
        row = {"mb": mb, "bytes": size}
        row.update(measure_many([("jq", f"jq empty {mb}MB", ["jq", "empty", tf], {}),
                                 ("simdjson", f"simdjson {mb}MB", [ARGS.simdjson_floor, tf], {}),
                                 ("nic", f"nic import {mb}MB", cmd, {"pre": clean})], runs, warmup=w))
        row["state_bytes"] = os.path.getsize(os.path.join(odir, "nic-state.json")) if os.path.exists(os.path.join(odir, "nic-state.json")) else None
        out["sizes"].append(row)
    # instruction profile on a small input
    tf1 = os.path.join(ARGS.work, "gen-1mb.tfstate")
    if stale([tf1], ["gen_tfstate.py"]):
        subprocess.run([sys.executable, os.path.join(HERE, "gen_tfstate.py"), "--size-mb", "1", "-o", tf1], check=True,
                       stdout=subprocess.DEVNULL)
    odir = os.path.join(ARGS.work, "import-prof")
    shutil.rmtree(odir, ignore_errors=True)
    os.makedirs(odir)
    out["profile"] = instructions("nic import 1MB", nic("import", "--from-terraform", "--config", cfg, "--terraform-state", tf1,
                                                         "--output-state", os.path.join(odir, "s.json"),
                                                         "--output-file", os.path.join(odir, "o.json")))
    out["profile_jq"] = instructions("jq empty 1MB", ["jq", "empty", tf1], top=0)
    out["profile_simdjson"] = instructions("simdjson 1MB", [ARGS.simdjson_floor, tf1], top=0)
    return out


# ---- 2. plan -----------------------------------------------------------------------------------

@section("plan")
def bench_plan():
    out = {"sizes": []}
    # (state groups, config groups, runs). Since the config limits scale with the file
    # (src/config/parse.cpp), the 100k-group config is read, so every row is N / N.
    sizes = [(1000, 1000, 5), (10000, 10000, 5), (100000, 100000, 3)] if not ARGS.quick else [(1000, 1000, 3), (10000, 10000, 3)]
    for n, cn, runs in sizes:
        st = os.path.join(ARGS.work, f"plan-{n}.json")
        cfg = os.path.join(ARGS.work, f"plan-{cn}.yaml")
        if stale([st, os.path.join(ARGS.work, f"plan-{n}.yaml")], ["gen_plan_inputs.py", "plan_state_template.json"]):
            subprocess.run([sys.executable, os.path.join(HERE, "gen_plan_inputs.py"), "-n", str(n), "--state", st,
                            "--config", os.path.join(ARGS.work, f"plan-{n}.yaml")], check=True, stdout=subprocess.DEVNULL)
        v = run_once(nic("validate", "-f", cfg))
        R["commands"].append(" ".join(nic("validate", "-f", cfg)))
        p = subprocess.run(nic("plan", "--refresh=false", "-f", cfg, "--state", st), capture_output=True, text=True)
        summary = next((l for l in p.stdout.splitlines() if l.startswith("Plan:")), p.stdout.strip()[:200] + p.stderr[:300])
        w = 0 if n >= 100000 else 1
        full = os.path.join(ARGS.work, f"plan-{n}.yaml")
        vfull = subprocess.run(nic("validate", "-f", full), capture_output=True, text=True) if cn != n else None
        row = {"n": n, "config_n": cn, "state_bytes": os.path.getsize(st), "config_bytes": os.path.getsize(cfg), "validate_rc": v["rc"],
               "full_config_bytes": os.path.getsize(full),
               "full_config_validate": None if vfull is None else (vfull.returncode, (vfull.stdout + vfull.stderr).strip()[:400]),
               "plan_summary": summary}
        row.update(measure_many([("jq", f"jq empty state {n}", ["jq", "empty", st], {}),
                                 ("nic", f"nic plan {n}", nic("plan", "--refresh=false", "-f", cfg, "--state", st), {})],
                                runs, warmup=w))
        out["sizes"].append(row)
    st = os.path.join(ARGS.work, "plan-1000.json")
    cfg = os.path.join(ARGS.work, "plan-1000.yaml")
    out["profile"] = instructions("nic plan 1k", nic("plan", "--refresh=false", "-f", cfg, "--state", st))
    out["profile_jq"] = instructions("jq empty state 1k", ["jq", "empty", st], top=0)
    return out


# ---- 3. drift detect ---------------------------------------------------------------------------

@section("drift")
def bench_drift():
    out = {}
    moto, moto_url = start_moto()
    d = os.path.join(ARGS.work, "drift")
    shutil.rmtree(d, ignore_errors=True)
    t0 = time.time()
    subprocess.run([sys.executable, os.path.join(ROOT, "scripts/demo/make_terraform_stack.py"), "--endpoint", moto_url,
                    "--out", d], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([sys.executable, os.path.join(HERE, "make_drift_stack.py"), "--endpoint", moto_url, "--dir", d,
                    "--count", str(ARGS.drift_count)], check=True, stdout=subprocess.DEVNULL)
    out["stack_build_s"] = round(time.time() - t0, 1)
    state = os.path.join(d, "nic-state.json")
    imp = subprocess.run(nic("import", "--from-terraform", "--config", os.path.join(d, "nebari-config.yaml"),
                             "--terraform-state-02", os.path.join(d, "02-infrastructure.tfstate"),
                             "--terraform-state-03", os.path.join(d, "03-kubernetes-initialize.tfstate"),
                             "--output-state", state, "--output-file", os.path.join(d, "outputs.json")),
                         capture_output=True, text=True)
    if imp.returncode != 0:
        raise RuntimeError("import of the drift stack failed: " + imp.stderr[-800:])
    # Record NIC's requests once through the proxy (untimed).
    proxy, purl, plog = start_proxy(moto_url, "drift-proxy")
    rec = subprocess.run(nic("drift", "detect", "--state", state), env=aws_env(purl), capture_output=True, text=True)
    stop(proxy)
    reqs = read_log(plog)
    first = rec.stdout.splitlines()[0] if rec.stdout else rec.stderr[:300]
    m = re.search(r"(\d+)(?: resources refreshed| refreshed resources)", rec.stdout)
    out.update(requests=len(reqs), resources=int(m.group(1)) if m else None, nic_summary=first)
    out["by_action"] = action_histogram(reqs)
    # curl config replaying exactly those requests
    curl_cfg = os.path.join(d, "curl-requests.cfg")
    write_curl_config(reqs, moto_url, curl_cfg)
    reqfile = os.path.join(d, "requests.jsonl")
    shutil.copy(plog, reqfile)
    runs = 5
    env = aws_env(moto_url)
    b3 = [sys.executable, os.path.join(HERE, "boto3_replay.py"), "--endpoint", moto_url, "--requests", reqfile,
          "--threads", "10", "--report", os.path.join(d, "boto3-report.json")]
    out.update(measure_many([
        ("nic", "nic drift detect", nic("drift", "detect", "--state", state), {"env": env}),
        ("curl", "curl --parallel 10", ["curl", "--parallel", "--parallel-immediate", "--parallel-max", "10", "-s",
                                        "--no-progress-meter", "-K", curl_cfg], {}),
        ("boto3", "boto3 10 threads", b3, {"env": env})], runs))
    with open(os.path.join(d, "boto3-report.json")) as f:
        out["boto3_report"] = json.load(f)
    return out


def action_histogram(reqs):
    h = {}
    for r in reqs:
        if r["method"] == "POST" and "Action=" in r["body"]:
            a = re.search(r"Action=([A-Za-z]+)", r["body"]).group(1)
        else:
            path = r["path"]
            q = path.split("?", 1)[1] if "?" in path else ""
            path = path.split("?")[0]
            path = re.sub(r"/node-groups/[^/]+", "/node-groups/{name}", path)
            path = re.sub(r"/clusters/[^/]+", "/clusters/{name}", path)
            path = re.sub(r"/(fs|fsmt)-[0-9a-f]+", r"/{\1-id}", path)
            keys = sorted(x.split("=")[0] for x in q.split("&") if x)
            a = r["method"] + " " + path + ("?" + "&".join(keys) if keys else "")
        h[a] = h.get(a, 0) + 1
    return dict(sorted(h.items(), key=lambda kv: -kv[1]))


def write_curl_config(reqs, base, path):
    def q(s):
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t") + '"'
    with open(path, "w") as f:
        for i, r in enumerate(reqs):
            if i:
                f.write("next\n")
            f.write(f"url = {q(base + r['path'])}\n")
            f.write(f"request = {r['method']}\n")
            for k, v in r["headers"]:
                if k.lower() in ("host", "content-length", "accept-encoding", "user-agent"):
                    continue
                f.write(f"header = {q(k + ': ' + v)}\n")
            if r["body"]:
                f.write(f"data-binary = {q(r['body'])}\n")
            f.write("output = \"/dev/null\"\n")


# ---- 4. backends -------------------------------------------------------------------------------

@section("backends")
def bench_backends():
    out = {}
    # local: in-process cycle (nic_bench) vs the C floor, same document size
    try:
        # Five rounds, each one nic_bench repetition then the floor at the same sizes, so both
        # see the same disk and load (fsync latency drifts by minutes on a shared machine).
        bj = os.path.join(ARGS.work, "nic_bench_local.json")
        fd = os.path.join("/tmp", f"nic-fsync-floor-{os.getpid()}")
        os.makedirs(fd, exist_ok=True)
        rounds = {}  # node groups -> {"bytes", "nic": [cycles/s], "cpu": [ms], "floor": [cycles/s]}
        for _ in range(5):
            subprocess.run([ARGS.nic_bench, "--benchmark_filter=BM_LocalCycle", "--benchmark_format=json",
                            f"--benchmark_out={bj}", "--benchmark_out_format=json"],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            with open(bj) as f:
                bjs = json.load(f)
            for b in bjs["benchmarks"]:
                if b.get("run_type", "iteration") != "iteration":
                    continue
                arg = int(b["run_name"].split("/")[1])
                sb = int(b.get("state_bytes", 0))
                r = rounds.setdefault(arg, {"bytes": sb, "nic": [], "cpu": [], "floor": []})
                r["nic"].append(1.0 / (b["real_time"] / 1e3))  # unit: ms
                r["cpu"].append(b["cpu_time"])
                fl = subprocess.run([ARGS.fsync_floor, fd, str(sb or 4096), "200"], capture_output=True, text=True, check=True)
                r["floor"].append(json.loads(fl.stdout)["cycles_per_second"])
        shutil.rmtree(fd, ignore_errors=True)
        R["commands"].append(f"({ARGS.nic_bench} --benchmark_filter=BM_LocalCycle; "
                             f"{ARGS.fsync_floor} /tmp/DIR BYTES 200 per size)  x5 rounds")
        local = []
        for arg, r in sorted(rounds.items()):
            ratios = [n / f for n, f in zip(r["nic"], r["floor"])]
            local.append({"node_groups": arg, "state_bytes": r["bytes"], "nic_cycles_per_s": statistics.median(r["nic"]),
                          "nic_cpu_ms": statistics.median(r["cpu"]), "floor_cycles_per_s": statistics.median(r["floor"]),
                          "ratio_per_round": [round(x, 3) for x in ratios], "ratio_median": statistics.median(ratios)})
        out["local"] = local
    except Exception as e:
        traceback.print_exc()
        out["local"] = {"error": str(e)}
    # CLI cycle on local: one `nic state push` (lock, read, write, unlock) per process
    try:
        d = os.path.join(ARGS.work, "local-cli")
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        small = os.path.join(d, "doc.json")
        serial = [1]

        def next_serial():  # a new serial per cycle, so every push writes (an equal one is a no-op)
            small_doc(small, serial=serial[0])
            serial[0] += 1

        next_serial()
        subprocess.run(nic("state", "push", small, "--state", os.path.join(d, "s.json")), check=True, capture_output=True)
        out["local_cli"] = measure("nic state push (local)", nic("state", "push", small, "--state", os.path.join(d, "s.json")), 10,
                                   pre=next_serial)
        out["local_cli"]["state_bytes"] = os.path.getsize(small)
    except Exception as e:
        traceback.print_exc()
        out["local_cli"] = {"error": str(e)}
    # S3 + DynamoDB / lockfile on moto: requests per cycle through the recording proxy
    try:
        out["s3"] = s3_cycles()
    except Exception as e:
        traceback.print_exc()
        out["s3"] = {"error": f"{type(e).__name__}: {e}"}
    for _, p in list(SERVERS):
        stop(p)
    try:
        out["gcs"] = gcs_cycles()
    except Exception as e:
        traceback.print_exc()
        out["gcs"] = {"error": f"{type(e).__name__}: {e}"}
    for _, p in list(SERVERS):
        stop(p)
    try:
        out["azure"] = azure_cycles()
    except Exception as e:
        traceback.print_exc()
        out["azure"] = {"error": f"{type(e).__name__}: {e}"}
    return out


def small_doc(path, serial=None):
    with open(os.path.join(HERE, "plan_state_template.json")) as f:
        t = json.load(f)
    if serial is not None:
        t["serial"] = serial
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(t, f)


def count_cycle(flags, env, cycles, label):
    """Runs `nic state push` `cycles` times through the proxy; requests per cycle (after the first)."""
    d = os.path.join(ARGS.work, label)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    doc = os.path.join(d, "doc.json")
    counts = []
    log = env["_LOG"]
    e = {k: v for k, v in env.items() if k != "_LOG"}
    for i in range(cycles):
        small_doc(doc, serial=i + 1)  # a new serial each time, so every cycle writes
        n0 = len(read_log(log))
        r = subprocess.run(nic("state", "push", doc, *flags), env=e, capture_output=True, text=True, cwd=d)
        if r.returncode != 0:
            raise RuntimeError(f"{label}: nic state push exit {r.returncode}: {r.stderr[-600:]}")
        reqs = read_log(log)[n0:]
        counts.append({"requests": len(reqs), "sequence": [summarise(x) for x in reqs]})
    R["commands"].append("nic state push doc.json " + " ".join(shlex.quote(f) for f in flags) + f"   (x{cycles}, through bench/record_proxy.py)")
    return counts


def summarise(r):
    if r["method"] == "POST" and r["body"].startswith("{") and any(k.lower() == "x-amz-target" for k, _ in r["headers"]):
        return next(v for k, v in r["headers"] if k.lower() == "x-amz-target").split(".")[-1]
    path = r["path"]
    path = re.sub(r"\?.*", lambda m: "?" + "&".join(sorted(x.split("=")[0] for x in m.group(0)[1:].split("&"))), path)
    return f"{r['method']} {path}"


def s3_cycles():
    moto, moto_url = start_moto()
    import boto3
    kw = dict(endpoint_url=moto_url, region_name="us-west-2", aws_access_key_id="testing", aws_secret_access_key="testing")
    boto3.client("s3", **kw).create_bucket(Bucket="nic-bench", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    boto3.client("dynamodb", **kw).create_table(TableName="nic-locks", KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
                                                AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
                                                BillingMode="PAY_PER_REQUEST")
    proxy, purl, plog = start_proxy(moto_url, "s3-proxy")
    env = aws_env(purl)
    env["_LOG"] = plog
    base = ["--backend", "s3", "--backend-config", "bucket=nic-bench", "--backend-config", "region=us-west-2",
            "--backend-config", f"endpoint={purl}", "--backend-config", f"dynamodb_endpoint={purl}",
            "--backend-config", "use_path_style=true"]
    res = {}
    res["dynamodb"] = count_cycle(base + ["--backend-config", "key=dyn/terraform.tfstate", "--backend-config", "dynamodb_table=nic-locks"],
                                  env, 3, "s3-dynamodb")
    res["lockfile"] = count_cycle(base + ["--backend-config", "key=lf/terraform.tfstate", "--backend-config", "use_lockfile=true"],
                                  env, 3, "s3-lockfile")
    res["both"] = count_cycle(base + ["--backend-config", "key=both/terraform.tfstate", "--backend-config", "dynamodb_table=nic-locks",
                                      "--backend-config", "use_lockfile=true"], env, 3, "s3-both")
    stop(proxy)
    # wall per cycle straight against moto (one process per cycle)
    d = os.path.join(ARGS.work, "s3-timed")
    os.makedirs(d, exist_ok=True)
    doc = os.path.join(d, "doc.json")
    small_doc(doc)
    flags = [f.replace(purl, moto_url) for f in base] + ["--backend-config", "key=timed/terraform.tfstate",
                                                        "--backend-config", "dynamodb_table=nic-locks"]
    e2 = aws_env(moto_url)
    serial = [1]

    def next_serial():
        small_doc(doc, serial=serial[0])
        serial[0] += 1

    next_serial()
    subprocess.run(nic("state", "push", doc, *flags), env=e2, check=True, capture_output=True, cwd=d)
    res["timed_dynamodb"] = measure("nic state push (s3+dynamodb)", nic("state", "push", doc, *flags), 5, env=e2, cwd=d,
                                    pre=next_serial)
    res["terraform"] = {"dynamodb": 7, "lockfile": 5, "both": 10,
                        "source": "backends/s3/README.md (hashicorp/terraform internal/backend/remote-state/s3 client)"}
    return res


def gcs_cycles():
    pf = os.path.join(ARGS.work, "gcs.port")
    if os.path.exists(pf):
        os.remove(pf)
    start("gcs", [sys.executable, os.path.join(ROOT, "tests/servers/gcs_server.py"), "--host", "127.0.0.1", "--port", "0",
                  "--port-file", pf], lambda: os.path.exists(pf) and os.path.getsize(pf) > 0)
    with open(pf) as f:
        port = int(f.read())
    req = urllib.request.Request(f"http://127.0.0.1:{port}/storage/v1/b?project=nic-bench", data=json.dumps({"name": "nic-bench"}).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    urllib.request.urlopen(req, timeout=5).read()
    proxy, purl, plog = start_proxy(f"http://127.0.0.1:{port}", "gcs-proxy")
    env = dict(os.environ)
    env["_LOG"] = plog
    flags = ["--backend", "gcs", "--backend-config", "bucket=nic-bench", "--backend-config", "prefix=nebari/bench",
             "--backend-config", f"endpoint={purl}"]
    res = {"cycles": count_cycle(flags, env, 3, "gcs")}
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_test/requests", timeout=5) as r:
        res["server_counter"] = json.load(r)
    res["terraform"] = {"cycle": 5, "source": "backends/gcs/README.md (internal/backend/remote-state/gcs/client.go)"}
    return res


AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def azure_put_container(endpoint, container):
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT")
    ver = "2021-08-06"
    sts = "\n".join(["PUT", "", "", "", "", "", "", "", "", "", "", "",
                     f"x-ms-date:{now}\nx-ms-version:{ver}", f"/devstoreaccount1/devstoreaccount1/{container}\nrestype:container"])
    sig = base64.b64encode(hmac.new(base64.b64decode(AZURITE_KEY), sts.encode(), hashlib.sha256).digest()).decode()
    import http.client
    import urllib.parse as up
    u = up.urlsplit(endpoint)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=10)
    c.request("PUT", f"{u.path}/{container}?restype=container", body=b"",
              headers={"x-ms-date": now, "x-ms-version": ver, "Content-Length": "0",
                       "Authorization": f"SharedKey devstoreaccount1:{sig}"})
    r = c.getresponse()
    body = r.read()
    c.close()
    if r.status not in (201, 409):
        raise RuntimeError(f"create container: {r.status} {body[:300]!r}")


def azure_cycles():
    exe = os.path.join(ROOT, "tests/node_modules/.bin/azurite-blob")
    if not os.path.exists(exe):
        return {"error": "azurite-blob not installed (scripts/setup-npm.sh)"}
    port = free_port()
    loc = os.path.join(ARGS.work, "azurite")
    shutil.rmtree(loc, ignore_errors=True)
    os.makedirs(loc)
    start("azurite", [exe, "--blobHost", "127.0.0.1", "--blobPort", str(port), "--location", loc, "--silent"],
          lambda: socket.create_connection(("127.0.0.1", port), timeout=1).close() or True)
    endpoint = f"http://127.0.0.1:{port}/devstoreaccount1"
    azure_put_container(endpoint, "nic-bench")
    proxy, purl, plog = start_proxy(f"http://127.0.0.1:{port}", "azure-proxy")
    env = dict(os.environ)
    env["_LOG"] = plog
    flags = ["--backend", "azurerm", "--backend-config", "storage_account_name=devstoreaccount1", "--backend-config",
             "container_name=nic-bench", "--backend-config", "key=nebari/bench.tfstate", "--backend-config",
             f"endpoint={purl}/devstoreaccount1", "--backend-config", f"access_key={AZURITE_KEY}"]
    res = {"cycles": count_cycle(flags, env, 3, "azure")}
    res["terraform"] = {"cycle": 11, "source": "backends/azurerm/README.md (Terraform/OpenTofu azurerm client)"}
    return res


# ---- 5. startup --------------------------------------------------------------------------------

@section("startup")
def bench_startup():
    out = {}
    cfgdir = os.path.join(ROOT, "..", "shared", "testdata", "nebari-configs")
    cfg = os.path.abspath(os.path.join(cfgdir, "nebari-dev__nebari__tests_tests_unit_cli_validate_aws.happy.yaml"))
    alt = os.path.abspath(os.path.join(cfgdir, "TheSenya__nebari__nebari-config.yaml"))
    out["config"] = os.path.relpath(cfg, ROOT)
    out["validate_rc"] = run_once(nic("validate", "-f", cfg))["rc"]
    cmds = {"true": ["/bin/true"], "version": nic("--version"), "validate": nic("validate", "-f", cfg)}
    if os.path.exists(alt):
        out["config_alt"] = os.path.relpath(alt, ROOT)
        out["validate_alt_rc"] = run_once(nic("validate", "-f", alt))["rc"]
        cmds["validate_alt"] = nic("validate", "-f", alt)
    if shutil.which("hyperfine"):
        hj = os.path.join(ARGS.work, "hyperfine-startup.json")
        names = list(cmds)
        hcmd = ["hyperfine", "-N", "--warmup", "10", "--runs", "200", "-i", "--export-json", hj, "--style", "none"]
        for k in names:
            hcmd += ["-n", k, " ".join(shlex.quote(c) for c in cmds[k])]
        subprocess.run(hcmd, check=True, stdout=subprocess.DEVNULL)
        R["commands"].append(" ".join(shlex.quote(c) for c in hcmd))
        with open(hj) as f:
            h = json.load(f)
        out["hyperfine"] = {r["command"]: {"median": r["median"], "mean": r["mean"], "min": r["min"], "stddev": r["stddev"],
                                           "user": r["user"], "system": r["system"]} for r in h["results"]}
    for k, c in cmds.items():
        out[k] = measure(f"startup {k}", c, 30, warmup=3, ok_rc=(0, 1))
        if k != "true":
            out[k]["profile"] = instructions(f"nic {k}", c, top=14)
    return out


# ---- report ------------------------------------------------------------------------------------

def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=10).stdout.strip()
    except Exception:
        return ""


def machine():
    return {"date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "cpu": sh("lscpu | sed -n 's/^Model name: *//p'"), "nproc": os.cpu_count(),
            "mem": sh("free -g | awk '/Mem:/{print $2\" GiB\"}'"), "kernel": platform.release(),
            "os": sh(". /etc/os-release && echo $PRETTY_NAME"), "fs": sh(f"df -T {shlex.quote(ARGS.work)} | awk 'NR==2{{print $2}}'"),
            "loadavg": sh("cat /proc/loadavg"), "gxx": sh("g++ --version | head -1"),
            "nic": sh(f"{shlex.quote(ARGS.nic)} --version"), "git": sh(f"git -C {shlex.quote(ROOT)} rev-parse --short HEAD"),
            "git_dirty": sh(f"git -C {shlex.quote(ROOT)} status --porcelain | wc -l"),
            "jq": sh("jq --version"), "curl": sh("curl --version | head -1 | cut -d' ' -f1-2"),
            "moto": sh(f"{sys.executable} -c 'import moto; print(moto.__version__)'"),
            "boto3": sh(f"{sys.executable} -c 'import boto3; print(boto3.__version__)'"),
            "simdjson": sh("dpkg-query -W -f='${Version}' libsimdjson-dev"), "hyperfine": sh("hyperfine --version"),
            "valgrind": sh("valgrind --version"), "build_type": ARGS.build_type}


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--nic")
    ap.add_argument("--nic-bench")
    ap.add_argument("--simdjson-floor")
    ap.add_argument("--fsync-floor")
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--json", help="also write the raw results here")
    ap.add_argument("--only", default="import,plan,drift,backends,startup")
    ap.add_argument("--quick", action="store_true", help="smaller sizes (smoke test of the harness)")
    ap.add_argument("--drift-count", type=int, default=100)
    ap.add_argument("--build-type", default="")
    ap.add_argument("--render-only", action="store_true", help="re-render --out from the work dir's results.json")
    ap.add_argument("--keep-from", help="an earlier results.json: sections not in --only are carried over from it "
                                        "(and marked so in RESULTS.md) instead of being left out")
    ARGS = ap.parse_args()
    # SIGTERM (e.g. a timeout around run.sh) unwinds like Ctrl-C, so the finally below stops the servers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if ARGS.render_only:
        import report
        with open(ARGS.json or os.path.join(ARGS.work, "results.json")) as f:
            res = json.load(f)
        with open(ARGS.out, "w") as f:
            f.write(report.render(res))
        return
    for a in ("nic", "nic_bench", "simdjson_floor", "fsync_floor"):
        if not getattr(ARGS, a):
            ap.error(f"--{a.replace('_', '-')} is required")
    os.makedirs(ARGS.work, exist_ok=True)
    R["machine_start"] = machine()
    t0 = time.time()
    fns = {"import": bench_import, "plan": bench_plan, "drift": bench_drift, "backends": bench_backends, "startup": bench_startup}
    try:
        for name in ARGS.only.split(","):
            fns[name]()
    finally:
        for _, p in list(SERVERS):
            stop(p)
    R["machine_end"] = machine()
    R["elapsed_s"] = round(time.time() - t0, 1)
    if ARGS.keep_from:
        with open(ARGS.keep_from) as f:
            old = json.load(f)
        om = old.get("machine_start", {})
        for name, sec in old.get("sections", {}).items():
            if name not in R["sections"]:
                R["sections"][name] = sec
                R.setdefault("carried", {})[name] = {"date_utc": om.get("date_utc"), "git": om.get("git"),
                                                     "build_type": om.get("build_type"), "nic": om.get("nic")}
    R["argv"] = sys.argv
    js = ARGS.json or os.path.join(ARGS.work, "results.json")
    with open(js, "w") as f:
        json.dump(R, f, indent=1, default=str)
    import report
    with open(ARGS.out, "w") as f:
        f.write(report.render(R))
    print(f"wrote {ARGS.out} and {js} in {R['elapsed_s']} s", file=sys.stderr)


if __name__ == "__main__":
    sys.dont_write_bytecode = True  # no __pycache__ in bench/
    sys.path.insert(0, HERE)
    main()

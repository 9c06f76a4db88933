#!/usr/bin/env python3
"""Baseline for `nic drift detect`: the same AWS calls made from boto3 with 10 threads
(Terraform's default -parallelism), as a Python tool would make them.

Reads the requests NIC made (recorded by bench/record_proxy.py as JSONL), turns each back into
the boto3 client call it is (service from the SigV4 credential scope; query-protocol parameters
decoded with botocore's own service model; REST paths matched against the model's requestUri
templates), then runs all the calls on a ThreadPoolExecutor(10) with one client per service.
Responses are parsed by botocore as usual. Writes {calls, errors, cpu_calls_s, wall_calls_s} to
--report: the CPU of the call phase alone, without interpreter start and imports.

    boto3_replay.py --endpoint http://127.0.0.1:PORT --requests requests.jsonl --threads 10 --report r.json
"""
import argparse
import json
import re
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import boto3
import botocore.config
from botocore import xform_name

SERVICE = {"ec2": "ec2", "iam": "iam", "sts": "sts", "eks": "eks", "elasticfilesystem": "efs"}


def member_key(name, shape, ec2):
    ser = shape.serialization
    if ec2:
        if "queryName" in ser:
            return ser["queryName"]
        if "name" in ser:
            return ser["name"][0].upper() + ser["name"][1:]
        return name
    return ser.get("name", name)


def decode(shape, params, prefix, ec2):
    t = shape.type_name
    if t == "structure":
        out = {}
        for name, m in shape.members.items():
            key = member_key(name, m, ec2)
            p = f"{prefix}.{key}" if prefix else key
            v = decode(m, params, p, ec2)
            if v is not None:
                out[name] = v
        return out or None
    if t == "list":
        items = []
        flat = ec2 or shape.serialization.get("flattened")
        base = prefix if flat else f"{prefix}.{shape.member.serialization.get('name', 'member')}"
        i = 1
        while any(k == f"{base}.{i}" or k.startswith(f"{base}.{i}.") for k in params):
            items.append(decode(shape.member, params, f"{base}.{i}", ec2))
            i += 1
        if not items and f"{prefix}" in params and params[prefix] == "":
            return []
        return items or None
    if t == "map":
        return None
    if prefix not in params:
        return None
    v = params[prefix]
    if t in ("integer", "long"):
        return int(v)
    if t == "boolean":
        return v.lower() == "true"
    return v


def rest_call(model, method, path):
    p, _, q = path.partition("?")
    qs = dict(urllib.parse.parse_qsl(q, keep_blank_values=True))
    for op_name in model.operation_names:
        op = model.operation_model(op_name)
        if op.http.get("method") != method:
            continue
        tmpl = op.http["requestUri"].split("?")[0]
        names = re.findall(r"\{([^}+]+)\+?\}", tmpl)
        rx = "^" + re.sub(r"\\\{[^}]+\\\}", "([^/]+)", re.escape(tmpl)) + "$"
        m = re.match(rx, p)
        if not m:
            continue
        kwargs = {}
        members = op.input_shape.members if op.input_shape else {}
        loc = {(s.serialization.get("location"), s.serialization.get("name")): n for n, s in members.items()}
        ok = True
        for n, val in zip(names, m.groups()):
            mem = loc.get(("uri", n))
            if mem is None:
                ok = False
                break
            kwargs[mem] = urllib.parse.unquote(val)
        if not ok:
            continue
        for k, v in qs.items():
            mem = loc.get(("querystring", k))
            if mem is None:
                ok = False
                break
            kwargs[mem] = int(v) if members[mem].type_name == "integer" else v
        if ok:
            return op_name, kwargs
    raise ValueError(f"no {model.service_name} operation for {method} {path}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--requests", required=True)
    ap.add_argument("--threads", type=int, default=10)
    ap.add_argument("--report")
    a = ap.parse_args()
    cfg = botocore.config.Config(max_pool_connections=a.threads, retries={"max_attempts": 1})
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-west-2")
    clients = {}
    calls = []
    with open(a.requests) as f:
        for line in f:
            r = json.loads(line)
            auth = next((v for k, v in r["headers"] if k.lower() == "authorization"), "")
            m = re.search(r"Credential=[^/]+/\d+/([^/]+)/([^/]+)/", auth)
            svc = SERVICE[m.group(2)]
            if svc not in clients:
                clients[svc] = session.client(svc, endpoint_url=a.endpoint, region_name=m.group(1) if svc != "iam" else "us-east-1",
                                              config=cfg)
            model = clients[svc].meta.service_model
            if model.protocol in ("query", "ec2"):
                body = r["body"] if r["method"] == "POST" else r["path"].partition("?")[2]
                params = dict(urllib.parse.parse_qsl(body, keep_blank_values=True))
                op_name = params.pop("Action")
                params.pop("Version", None)
                op = model.operation_model(op_name)
                kwargs = decode(op.input_shape, params, "", model.protocol == "ec2") if op.input_shape else {}
            else:
                op_name, kwargs = rest_call(model, r["method"], r["path"])
            calls.append((svc, xform_name(op_name), kwargs or {}))

    def one(c):
        svc, name, kwargs = c
        try:
            getattr(clients[svc], name)(**kwargs)
            return None
        except Exception as e:  # a NotFound is a completed call too
            return f"{svc}.{name}: {type(e).__name__}"

    t0, c0 = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(a.threads) as ex:
        errors = [e for e in ex.map(one, calls) if e]
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    rep = {"calls": len(calls), "errors": len(errors), "error_sample": errors[:5], "cpu_calls_s": cpu, "wall_calls_s": wall}
    if a.report:
        with open(a.report, "w") as f:
            json.dump(rep, f)
    print(json.dumps(rep))


if __name__ == "__main__":
    main()

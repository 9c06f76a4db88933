#!/usr/bin/env python3
"""In-memory stand-in for the GKE API (container/v1) and Compute Engine networking (compute/v1). TEST USE ONLY.

This is not Google Kubernetes Engine or Compute Engine and not an emulator shipped by Google: it
is a small protocol-faithful fake written for NIC's tests from the public REST references (see
tests/servers/README.md for the pages each behaviour follows and what is missing). Both APIs are
served on one port, under their real path prefixes:

    /v1/projects/{p}/locations/{l}/clusters[/{c}[/nodePools[/{np}]]]     (container.googleapis.com)
    /v1/projects/{p}/locations/{l}/operations/{op}
    /compute/v1/projects/{p}/global/networks|firewalls[/{name}]          (compute.googleapis.com)
    /compute/v1/projects/{p}/regions/{r}/subnetworks[/{name}]
    /compute/v1/projects/{p}/global/operations/{op}, .../regions/{r}/operations/{op}

Start:  python3 tests/servers/gcp_server.py --host 127.0.0.1 --port 0 --port-file FILE
        [--require-token TOKEN] [--op-polls N] [--verbose]
"""

import datetime
import hashlib
import itertools
import json
import os
import random
import re
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serverutil  # noqa: E402

GKE_PREFIX = "/v1/"
COMPUTE_PREFIX = "/compute/v1/"
COMPUTE_ROOT = "https://www.googleapis.com/compute/v1/"
CONTAINER_ROOT = "https://container.googleapis.com/v1/"
DEFAULT_MAX_RESULTS = 500  # compute list default and maximum

# google.rpc.Code numbers used in GKE Operation.error (a google.rpc.Status).
RPC_CODES = {"INVALID_ARGUMENT": 3, "NOT_FOUND": 5, "ALREADY_EXISTS": 6, "FAILED_PRECONDITION": 9,
             "RESOURCE_EXHAUSTED": 8, "INTERNAL": 13, "UNAVAILABLE": 14}


def rfc3339(ts=None):
    ts = time.time() if ts is None else ts
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def fingerprint(value):
    """Compute fingerprints are base64 of 8 bytes; GKE labelFingerprint is 8 hex digits."""
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:8]


# ----------------------------------------------------------------------------- errors

class ApiError(Exception):
    """An error in the shape of the API that raised it.

    GKE (a One Platform API): {"error": {"code", "message", "status", "details": []}} plus the
    legacy "errors" list the googleapis front end still adds. Compute: {"error": {"code",
    "message", "errors": [{"domain", "reason", "message"}]}} without "status".
    """

    def __init__(self, code, status, message, reason=None, compute=False, extra=None):
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message
        self.reason = reason or {400: "badRequest", 401: "required", 403: "forbidden", 404: "notFound",
                                 409: "alreadyExists", 412: "conditionNotMet"}.get(code, "backendError")
        self.compute = compute
        self.extra = extra or {}

    def body(self):
        item = {"message": self.message, "domain": "global", "reason": self.reason}
        item.update(self.extra)
        err = {"code": self.code, "message": self.message, "errors": [item]}
        if not self.compute:
            err["status"] = self.status
            err["details"] = []
        return {"error": err}


def gke_not_found(what):
    return ApiError(404, "NOT_FOUND", "Not found: %s." % what)


def compute_not_found(path):
    return ApiError(404, "NOT_FOUND", "The resource '%s' was not found" % path, "notFound", compute=True)


# ----------------------------------------------------------------------------- store

class Store:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.clusters = {}      # (project, location, name) -> cluster dict (nodePools inside, by name)
        self.gke_ops = {}       # (project, location, op) -> op record
        self.networks = {}      # (project, name) -> network
        self.subnetworks = {}   # (project, region, name) -> subnetwork
        self.firewalls = {}     # (project, name) -> firewall
        self.compute_ops = {}   # (project, region or "", op) -> op record
        self.ids = itertools.count(int(time.time()) % 100000 * 1000 + 1)
        self.stale_fingerprints = 0   # /_test/stale-fingerprint: writes that meet a concurrent writer
        self.fail_operations = []     # /_test/fail-operation: error bodies for the next operations

    def new_id(self):
        return str(5000000000000000000 + next(self.ids) * 7919)


def op_name():
    return "operation-%d-%08x" % (int(time.time() * 1000), random.getrandbits(32))


# ----------------------------------------------------------------------------- handler

class GcpHandler(serverutil.BaseHandler):
    server_version = "nic-gcp-stand-in/1"

    def _dispatch(self):
        raw_path, _, raw_query = self.path.partition("?")
        self.q = dict(urllib.parse.parse_qsl(raw_query, keep_blank_values=True))
        if raw_path.startswith("/_test/"):
            return self._test_endpoint(raw_path)
        self.server.count(self.command)
        compute = raw_path.startswith(COMPUTE_PREFIX)
        try:
            self.read_body()
            self._check_auth(compute)
            if compute:
                self._route_compute(raw_path[len(COMPUTE_PREFIX):].split("/"))
            elif raw_path.startswith(GKE_PREFIX):
                self._route_gke(raw_path[len(GKE_PREFIX):])
            else:
                raise ApiError(404, "NOT_FOUND", "The requested URL %s was not found on this server." % raw_path)
        except ApiError as e:
            self.send_json(e.code, e.body(), content_type="application/json; charset=UTF-8")
        except Exception as e:  # pragma: no cover - surfaced to tests as 500
            import traceback
            traceback.print_exc()
            self.send_json(500, ApiError(500, "INTERNAL", "internal error in test server: %s" % e).body())

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _dispatch

    def _check_auth(self, compute):
        tok = self.server.required_token
        if tok is None:
            return
        if self.headers.get("Authorization") != "Bearer " + tok:
            raise ApiError(401, "UNAUTHENTICATED",
                           "Request had invalid authentication credentials. Expected OAuth 2 access token, login "
                           "cookie or other valid authentication credential.", "required", compute=compute,
                           extra={"locationType": "header", "location": "Authorization"})

    def _test_endpoint(self, path):
        store = self.server.store
        if path == "/_test/requests" and self.command == "GET":
            return self.send_json(200, self.server.counts_snapshot())
        self.read_body()
        if path == "/_test/reset" and self.command == "POST":
            self.server.reset_counts()
            if self.q.get("data") in ("1", "true"):
                with store.lock:
                    store.reset()
            return self.send_json(200, {"status": "ok"})
        if path == "/_test/stale-fingerprint" and self.command == "POST":
            with store.lock:
                store.stale_fingerprints = int(self.q.get("count", "1"))
            return self.send_json(200, {"status": "ok"})
        if path == "/_test/fail-operation" and self.command == "POST":
            with store.lock:
                for _ in range(int(self.q.get("count", "1"))):
                    store.fail_operations.append((self.q.get("status", "RESOURCE_EXHAUSTED"),
                                                  self.q.get("message", "Quota exceeded (injected by the test)")))
            return self.send_json(200, {"status": "ok"})
        return self.send_json(404, ApiError(404, "NOT_FOUND", "unknown test endpoint").body())

    def _json_body(self, compute=False):
        body = self.read_body()
        if not body:
            return {}
        try:
            v = json.loads(body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "INVALID_ARGUMENT", "Invalid JSON payload received.", "parseError", compute)
        if not isinstance(v, dict):
            raise ApiError(400, "INVALID_ARGUMENT", "Invalid JSON payload received. Expected an object.",
                           "parseError", compute)
        return v

    def _stale_write(self, store):
        """A concurrent writer changed the resource just before this write (test hook)."""
        if store.stale_fingerprints > 0:
            store.stale_fingerprints -= 1
            return True
        return False

    # ========================================================================= GKE
    def _route_gke(self, rest):
        m = self.command
        parts = rest.split("/")
        # projects/{p}/locations/{l}/...  (zones/{z} is the deprecated alias of locations/{l})
        if len(parts) < 5 or parts[0] != "projects" or parts[2] not in ("locations", "zones"):
            raise ApiError(404, "NOT_FOUND", "The requested URL was not found on this server.")
        project, location = parts[1], parts[3]
        kind, tail = parts[4], parts[5:]
        if kind == "operations":
            if not tail and m == "GET":
                return self.gke_op_list(project, location)
            if len(tail) == 1 and m == "GET":
                return self.gke_op_get(project, location, tail[0])
            raise ApiError(405, "INVALID_ARGUMENT", "Method not allowed")
        if kind.startswith("clusters"):
            if kind == "clusters" and not tail:
                if m == "POST":
                    return self.cluster_create(project, location)
                if m == "GET":
                    return self.cluster_list(project, location)
                raise ApiError(405, "INVALID_ARGUMENT", "Method not allowed")
            if not tail:
                raise ApiError(404, "NOT_FOUND", "The requested URL was not found on this server.")
            name, _, verb = tail[0].partition(":")
            if len(tail) == 1:
                if verb == "setResourceLabels" and m == "POST":
                    return self.cluster_set_labels(project, location, name)
                if verb:
                    raise ApiError(400, "INVALID_ARGUMENT", "Unknown method :%s (not implemented by this stand-in)" % verb)
                if m == "GET":
                    return self.cluster_get(project, location, name)
                if m == "PUT":
                    return self.cluster_update(project, location, name)
                if m == "DELETE":
                    return self.cluster_delete(project, location, name)
                raise ApiError(405, "INVALID_ARGUMENT", "Method not allowed")
            if tail[1] != "nodePools":
                raise ApiError(404, "NOT_FOUND", "The requested URL was not found on this server.")
            if len(tail) == 2:
                if m == "POST":
                    return self.pool_create(project, location, name)
                if m == "GET":
                    return self.pool_list(project, location, name)
                raise ApiError(405, "INVALID_ARGUMENT", "Method not allowed")
            pool, _, pverb = tail[2].partition(":")
            if pverb == "setAutoscaling" and m == "POST":
                return self.pool_set_autoscaling(project, location, name, pool)
            if pverb == "setSize" and m == "POST":
                return self.pool_set_size(project, location, name, pool)
            if pverb:
                raise ApiError(400, "INVALID_ARGUMENT", "Unknown method :%s (not implemented by this stand-in)" % pverb)
            if m == "GET":
                return self.pool_get(project, location, name, pool)
            if m == "PUT":
                return self.pool_update(project, location, name, pool)
            if m == "DELETE":
                return self.pool_delete(project, location, name, pool)
            raise ApiError(405, "INVALID_ARGUMENT", "Method not allowed")
        raise ApiError(404, "NOT_FOUND", "The requested URL was not found on this server.")

    # -- operations --
    def _gke_op(self, store, project, location, op_type, cluster, target, on_done=None, pool=None):
        """Creates an Operation that settles after --op-polls reads; `on_done` applies its effect."""
        name = op_name()
        target_link = CONTAINER_ROOT + "projects/%s/locations/%s/clusters/%s" % (project, location, cluster)
        if pool:
            target_link += "/nodePools/" + pool
        op = {
            "name": name,
            "zone": location,
            "operationType": op_type,
            "status": "PENDING",
            "selfLink": CONTAINER_ROOT + "projects/%s/locations/%s/operations/%s" % (project, location, name),
            "targetLink": target_link,
            "location": location,
            "startTime": rfc3339(),
        }
        failure = store.fail_operations.pop(0) if store.fail_operations else None
        store.gke_ops[(project, location, name)] = {
            "op": op, "polls_left": self.server.op_polls, "on_done": on_done, "cluster": (project, location, cluster),
            "failure": failure,
        }
        if self.server.op_polls == 0:
            self._advance_gke(store, store.gke_ops[(project, location, name)], force_done=True)
        return op

    def _advance_gke(self, store, rec, force_done=False):
        op = rec["op"]
        if op["status"] == "DONE":
            return
        rec["polls_left"] -= 1
        if rec["polls_left"] > 0 and not force_done:
            op["status"] = "RUNNING"
            return
        op["status"] = "DONE"
        op["endTime"] = rfc3339()
        if rec["failure"]:
            status, message = rec["failure"]
            op["error"] = {"code": RPC_CODES.get(status, 2), "message": message, "details": []}
            op["statusMessage"] = message
            if rec["on_done"]:
                rec["on_done"](failed=True)
            return
        if rec["on_done"]:
            rec["on_done"](failed=False)

    def _busy(self, store, key):
        """GKE refuses a cluster mutation while another operation on it runs (400 FAILED_PRECONDITION)."""
        doing = {"CREATE_CLUSTER": "creating", "DELETE_CLUSTER": "deleting", "UPGRADE_MASTER": "upgrading",
                 "CREATE_NODE_POOL": "creating a node pool for", "DELETE_NODE_POOL": "deleting a node pool for",
                 "SET_LABELS": "setting labels on"}
        for rec in store.gke_ops.values():
            if rec["cluster"] == key and rec["op"]["status"] != "DONE":
                raise ApiError(400, "FAILED_PRECONDITION",
                               "Operation %s is currently %s cluster %s. Please wait and try again once it is done."
                               % (rec["op"]["name"], doing.get(rec["op"]["operationType"], "updating"), key[2]),
                               "failedPrecondition")

    def gke_op_get(self, project, location, name):
        store = self.server.store
        with store.lock:
            rec = store.gke_ops.get((project, location, name))
            if rec is None:
                raise gke_not_found("operation \"projects/%s/locations/%s/operations/%s\"" % (project, location, name))
            self._advance_gke(store, rec)
            return self.send_json(200, rec["op"])

    def gke_op_list(self, project, location):
        store = self.server.store
        with store.lock:
            ops = [r["op"] for (p, l, _), r in sorted(store.gke_ops.items()) if p == project and l in (location, "-")]
        return self.send_json(200, {"operations": ops})

    # -- clusters --
    def _cluster(self, store, project, location, name):
        c = store.clusters.get((project, location, name))
        if c is None:
            raise gke_not_found("projects/%s/locations/%s/clusters/%s" % (project, location, name))
        return c

    def _pool_resource(self, project, location, cluster, body, version):
        cfg = dict(body.get("config") or {})
        cfg.setdefault("machineType", "e2-medium")
        cfg.setdefault("diskSizeGb", 100)
        cfg.setdefault("diskType", "pd-balanced")
        cfg.setdefault("imageType", "COS_CONTAINERD")
        for t in cfg.get("taints") or []:
            if t.get("effect") not in ("NO_SCHEDULE", "PREFER_NO_SCHEDULE", "NO_EXECUTE"):
                raise ApiError(400, "INVALID_ARGUMENT", "Invalid taint effect %r: must be one of NO_SCHEDULE, "
                               "PREFER_NO_SCHEDULE, NO_EXECUTE." % t.get("effect"))
        auto = dict(body.get("autoscaling") or {})
        count = int(body.get("initialNodeCount") or 0)
        if auto.get("enabled"):
            lo, hi = int(auto.get("minNodeCount", 0)), int(auto.get("maxNodeCount", 0))
            if lo < 0 or hi < lo or hi == 0:
                raise ApiError(400, "INVALID_ARGUMENT", "Invalid autoscaling: min_node_count (%d) must be >= 0 and <= "
                               "max_node_count (%d), and max_node_count must be > 0." % (lo, hi))
        elif count <= 0:
            raise ApiError(400, "INVALID_ARGUMENT", "Node_pool.initial_node_count must be greater than zero.")
        name = body["name"]
        return {
            "name": name,
            "config": cfg,
            "initialNodeCount": count,
            "autoscaling": auto,
            "locations": body.get("locations") or [location + "-a" if location.count("-") == 1 else location],
            "selfLink": CONTAINER_ROOT + "projects/%s/locations/%s/clusters/%s/nodePools/%s" % (project, location, cluster, name),
            "version": version,
            "instanceGroupUrls": [COMPUTE_ROOT + "projects/%s/zones/%s-a/instanceGroupManagers/gke-%s-%s-grp"
                                  % (project, location, cluster, name)],
            "status": "PROVISIONING",
            "nodeCount": count,  # not in the API: what setSize set (kept for reads of the current size)
            "etag": fingerprint([name, time.time()]),
        }

    def _pool_public(self, pool):
        p = {k: v for k, v in pool.items() if k != "nodeCount"}
        if not p["autoscaling"]:
            del p["autoscaling"]
        return p

    def _cluster_public(self, c):
        out = {k: v for k, v in c.items() if k != "nodePoolsByName"}
        out["nodePools"] = [self._pool_public(p) for _, p in sorted(c["nodePoolsByName"].items())]
        return out

    def cluster_create(self, project, location):
        body = self._json_body()
        spec = body.get("cluster")
        if not isinstance(spec, dict) or not spec.get("name"):
            raise ApiError(400, "INVALID_ARGUMENT", "Cluster.name must be specified.")
        name = spec["name"]
        if not re.match(r"^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$", name):
            raise ApiError(400, "INVALID_ARGUMENT", "Invalid value for field \"cluster.name\": \"%s\". Must be a match "
                           "of regex '(?:[a-z](?:[-a-z0-9]{0,38}[a-z0-9])?)' (only alphanumerics and '-' allowed, must "
                           "start with a letter and end with an alphanumeric, and must be no longer than 40 characters)."
                           % name)
        pools = spec.get("nodePools") or []
        if not pools and not spec.get("initialNodeCount"):
            raise ApiError(400, "INVALID_ARGUMENT", "Cluster.initial_node_count must be greater than zero.")
        if not pools:
            pools = [{"name": "default-pool", "initialNodeCount": spec["initialNodeCount"],
                      "config": spec.get("nodeConfig") or {}}]
        store = self.server.store
        with store.lock:
            key = (project, location, name)
            if key in store.clusters:
                raise ApiError(409, "ALREADY_EXISTS", "Already exists: projects/%s/locations/%s/clusters/%s."
                               % key, "alreadyExists")
            version = spec.get("initialClusterVersion") or "1.29.8-gke.1031000"
            c = {
                "name": name,
                "description": spec.get("description", ""),
                "network": spec.get("network") or "default",
                "subnetwork": spec.get("subnetwork") or "default",
                "resourceLabels": dict(spec.get("resourceLabels") or {}),
                "locations": spec.get("locations") or [location + "-a"],
                "location": location,
                "zone": location,
                "selfLink": CONTAINER_ROOT + "projects/%s/locations/%s/clusters/%s" % key,
                "id": hashlib.sha256(repr(key).encode()).hexdigest()[:32],
                "endpoint": "34.%d.%d.%d" % (random.randint(1, 254), random.randint(1, 254), random.randint(1, 254)),
                "masterAuth": {"clusterCaCertificate": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk5JQy1TVEFORC1JTgo="},
                "initialClusterVersion": version,
                "currentMasterVersion": version,
                "currentNodeVersion": version,
                "createTime": rfc3339(),
                "status": "PROVISIONING",
            }
            if spec.get("releaseChannel"):
                c["releaseChannel"] = spec["releaseChannel"]
            if spec.get("workloadIdentityConfig"):
                c["workloadIdentityConfig"] = spec["workloadIdentityConfig"]
            if spec.get("privateClusterConfig"):
                c["privateClusterConfig"] = spec["privateClusterConfig"]
            c["labelFingerprint"] = fingerprint(c["resourceLabels"])
            c["nodePoolsByName"] = {}
            for p in pools:
                if not p.get("name"):
                    raise ApiError(400, "INVALID_ARGUMENT", "NodePool.name must be specified.")
                c["nodePoolsByName"][p["name"]] = self._pool_resource(project, location, name, p, version)
            store.clusters[key] = c

            def done(failed):
                if failed:
                    c["status"] = "ERROR"
                    return
                c["status"] = "RUNNING"
                for p in c["nodePoolsByName"].values():
                    p["status"] = "RUNNING"
            op = self._gke_op(store, project, location, "CREATE_CLUSTER", name, None, done)
        return self.send_json(200, op)

    def cluster_get(self, project, location, name):
        store = self.server.store
        with store.lock:
            return self.send_json(200, self._cluster_public(self._cluster(store, project, location, name)))

    def cluster_list(self, project, location):
        store = self.server.store
        with store.lock:
            items = [self._cluster_public(c) for (p, l, _), c in sorted(store.clusters.items())
                     if p == project and location in (l, "-")]
        # ListClustersResponse has no paging: every cluster of the location in one answer.
        return self.send_json(200, {"clusters": items} if items else {})

    def cluster_update(self, project, location, name):
        body = self._json_body()
        upd = body.get("update")
        if not isinstance(upd, dict) or not upd:
            raise ApiError(400, "INVALID_ARGUMENT", "Update must be specified.")
        store = self.server.store
        with store.lock:
            key = (project, location, name)
            c = self._cluster(store, *key)
            self._busy(store, key)
            known = {"desiredMasterVersion", "desiredNodeVersion", "desiredReleaseChannel"}
            unknown = set(upd) - known
            if unknown:
                raise ApiError(400, "INVALID_ARGUMENT", "Update fields %s are not implemented by this stand-in."
                               % sorted(unknown))
            c["status"] = "RECONCILING"

            def done(failed):
                c["status"] = "RUNNING"
                if failed:
                    return
                if "desiredMasterVersion" in upd:
                    c["currentMasterVersion"] = upd["desiredMasterVersion"]
                if "desiredNodeVersion" in upd:
                    c["currentNodeVersion"] = upd["desiredNodeVersion"]
                if "desiredReleaseChannel" in upd:
                    c["releaseChannel"] = upd["desiredReleaseChannel"]
            op_type = "UPGRADE_MASTER" if "desiredMasterVersion" in upd else "UPDATE_CLUSTER"
            op = self._gke_op(store, project, location, op_type, name, None, done)
        return self.send_json(200, op)

    def cluster_delete(self, project, location, name):
        store = self.server.store
        with store.lock:
            key = (project, location, name)
            c = self._cluster(store, *key)
            self._busy(store, key)
            c["status"] = "STOPPING"

            def done(failed):
                if not failed:
                    store.clusters.pop(key, None)
            op = self._gke_op(store, project, location, "DELETE_CLUSTER", name, None, done)
        return self.send_json(200, op)

    def cluster_set_labels(self, project, location, name):
        body = self._json_body()
        labels = body.get("resourceLabels")
        if not isinstance(labels, dict):
            labels = {}
        for k, v in labels.items():
            if not re.match(r"^[a-z][a-z0-9_-]{0,62}$", k) or not re.match(r"^[a-z0-9_-]{0,63}$", str(v)):
                raise ApiError(400, "INVALID_ARGUMENT", "Invalid label %s=%s: keys must start with a lowercase letter; "
                               "keys and values may hold only lowercase letters, digits, '_' and '-' (63 at most)."
                               % (k, v))
        store = self.server.store
        with store.lock:
            key = (project, location, name)
            c = self._cluster(store, *key)
            if self._stale_write(store):
                c["labelFingerprint"] = fingerprint([c["resourceLabels"], "concurrent", time.time()])
            supplied = body.get("labelFingerprint", "")
            if supplied != c["labelFingerprint"]:
                raise ApiError(400, "FAILED_PRECONDITION",
                               "Labels could not be set due to fingerprint mismatch; try again with the proper "
                               "fingerprint: incorrect fingerprint supplied was \"%s\", the expected one is \"%s\"."
                               % (supplied, c["labelFingerprint"]), "failedPrecondition")
            self._busy(store, key)
            c["resourceLabels"] = {k: str(v) for k, v in labels.items()}
            c["labelFingerprint"] = fingerprint([c["resourceLabels"], time.time()])
            op = self._gke_op(store, project, location, "SET_LABELS", name, None, None)
        return self.send_json(200, op)

    # -- node pools --
    def _pool(self, store, project, location, cluster, pool):
        c = self._cluster(store, project, location, cluster)
        p = c["nodePoolsByName"].get(pool)
        if p is None:
            raise gke_not_found("projects/%s/locations/%s/clusters/%s/nodePools/%s" % (project, location, cluster, pool))
        return c, p

    def pool_create(self, project, location, cluster):
        body = self._json_body()
        spec = body.get("nodePool")
        if not isinstance(spec, dict) or not spec.get("name"):
            raise ApiError(400, "INVALID_ARGUMENT", "NodePool.name must be specified.")
        store = self.server.store
        with store.lock:
            key = (project, location, cluster)
            c = self._cluster(store, *key)
            if spec["name"] in c["nodePoolsByName"]:
                raise ApiError(409, "ALREADY_EXISTS", "Already exists: projects/%s/locations/%s/clusters/%s/nodePools/%s."
                               % (project, location, cluster, spec["name"]), "alreadyExists")
            self._busy(store, key)
            pool = self._pool_resource(project, location, cluster, spec, c["currentNodeVersion"])
            c["nodePoolsByName"][spec["name"]] = pool

            def done(failed):
                pool["status"] = "ERROR" if failed else "RUNNING"
            op = self._gke_op(store, project, location, "CREATE_NODE_POOL", cluster, None, done, spec["name"])
        return self.send_json(200, op)

    def pool_get(self, project, location, cluster, pool):
        store = self.server.store
        with store.lock:
            _, p = self._pool(store, project, location, cluster, pool)
            return self.send_json(200, self._pool_public(p))

    def pool_list(self, project, location, cluster):
        store = self.server.store
        with store.lock:
            c = self._cluster(store, project, location, cluster)
            items = [self._pool_public(p) for _, p in sorted(c["nodePoolsByName"].items())]
        return self.send_json(200, {"nodePools": items} if items else {})

    def _pool_mutation(self, project, location, cluster, pool, op_type, apply):
        store = self.server.store
        with store.lock:
            key = (project, location, cluster)
            _, p = self._pool(store, project, location, cluster, pool)
            self._busy(store, key)
            etag = (self._json_body() or {}).get("etag")
            if etag and self._stale_write(store):
                p["etag"] = fingerprint([p["etag"], "concurrent"])
            if etag and etag != p["etag"]:
                raise ApiError(409, "ABORTED", "Etag mismatch: the node pool was changed since it was read; read it "
                               "again and retry.", "aborted")
            apply(p)
            p["etag"] = fingerprint([p["etag"], time.time()])
            p["status"] = "RECONCILING"

            def done(failed):
                p["status"] = "RUNNING"
            op = self._gke_op(store, project, location, op_type, cluster, None, done, pool)
        return self.send_json(200, op)

    def pool_set_autoscaling(self, project, location, cluster, pool):
        auto = self._json_body().get("autoscaling")
        if not isinstance(auto, dict):
            raise ApiError(400, "INVALID_ARGUMENT", "Autoscaling must be specified.")
        if auto.get("enabled"):
            lo, hi = int(auto.get("minNodeCount", 0)), int(auto.get("maxNodeCount", 0))
            if lo < 0 or hi < lo or hi == 0:
                raise ApiError(400, "INVALID_ARGUMENT", "Invalid autoscaling: min_node_count (%d) must be >= 0 and <= "
                               "max_node_count (%d), and max_node_count must be > 0." % (lo, hi))

        def apply(p):
            p["autoscaling"] = dict(auto) if auto.get("enabled") else {}
        return self._pool_mutation(project, location, cluster, pool, "UPDATE_CLUSTER", apply)

    def pool_set_size(self, project, location, cluster, pool):
        body = self._json_body()
        if not isinstance(body.get("nodeCount"), int) or body["nodeCount"] < 0:
            raise ApiError(400, "INVALID_ARGUMENT", "NodeCount must be a non-negative integer.")

        def apply(p):
            p["nodeCount"] = body["nodeCount"]
        return self._pool_mutation(project, location, cluster, pool, "SET_NODE_POOL_SIZE", apply)

    def pool_update(self, project, location, cluster, pool):
        body = self._json_body()
        known = {"name", "projectId", "zone", "clusterId", "nodePoolId", "nodeVersion", "imageType", "locations",
                 "labels", "taints", "resourceLabels", "machineType", "diskSizeGb", "diskType", "etag"}
        unknown = set(body) - known
        if unknown:
            raise ApiError(400, "INVALID_ARGUMENT", "Update fields %s are not implemented by this stand-in."
                           % sorted(unknown))
        for t in (body.get("taints") or {}).get("taints") or []:
            if t.get("effect") not in ("NO_SCHEDULE", "PREFER_NO_SCHEDULE", "NO_EXECUTE"):
                raise ApiError(400, "INVALID_ARGUMENT", "Invalid taint effect %r." % t.get("effect"))

        def apply(p):
            cfg = p["config"]
            # NodeLabels / NodeTaints / ResourceLabels wrappers: present means "replace with this".
            if "labels" in body:
                cfg["labels"] = dict((body["labels"] or {}).get("labels") or {})
            if "taints" in body:
                cfg["taints"] = list((body["taints"] or {}).get("taints") or [])
            if "resourceLabels" in body:
                cfg["resourceLabels"] = dict((body["resourceLabels"] or {}).get("labels") or {})
            for f in ("machineType", "diskSizeGb", "diskType", "imageType"):
                if body.get(f):
                    cfg[f] = body[f]
            if body.get("nodeVersion"):
                p["version"] = body["nodeVersion"]
            if body.get("locations"):
                p["locations"] = list(body["locations"])
        return self._pool_mutation(project, location, cluster, pool, "UPDATE_CLUSTER", apply)

    def pool_delete(self, project, location, cluster, pool):
        store = self.server.store
        with store.lock:
            key = (project, location, cluster)
            c, p = self._pool(store, project, location, cluster, pool)
            self._busy(store, key)
            p["status"] = "STOPPING"

            def done(failed):
                if not failed:
                    c["nodePoolsByName"].pop(pool, None)
            op = self._gke_op(store, project, location, "DELETE_NODE_POOL", cluster, None, done, pool)
        return self.send_json(200, op)

    # ========================================================================= Compute
    def _route_compute(self, parts):
        m = self.command
        if len(parts) < 2 or parts[0] != "projects":
            raise ApiError(404, "NOT_FOUND", "Not Found", "notFound", compute=True)
        project = parts[1]
        rest = parts[2:]
        if len(rest) >= 2 and rest[0] == "global":
            coll, tail, region = rest[1], rest[2:], ""
        elif len(rest) >= 3 and rest[0] == "regions":
            region, coll, tail = rest[1], rest[2], rest[3:]
        else:
            raise ApiError(404, "NOT_FOUND", "Not Found", "notFound", compute=True)
        if coll == "operations":
            if len(tail) == 1 and m == "GET":
                return self.compute_op_get(project, region, tail[0], wait=False)
            if len(tail) == 2 and tail[1] == "wait" and m == "POST":
                return self.compute_op_get(project, region, tail[0], wait=True)
            if not tail and m == "GET":
                return self.compute_op_list(project, region)
            raise ApiError(405, "METHOD_NOT_ALLOWED", "Method not allowed", "methodNotAllowed", compute=True)
        kinds = {("", "networks"): "network", ("", "firewalls"): "firewall"}
        kind = kinds.get(("", coll)) if not region else ("subnetwork" if coll == "subnetworks" else None)
        if kind is None:
            raise ApiError(404, "NOT_FOUND", "Not Found", "notFound", compute=True)
        if not tail:
            if m == "POST":
                return self.compute_insert(kind, project, region)
            if m == "GET":
                return self.compute_list(kind, project, region)
        elif len(tail) == 1:
            if m == "GET":
                return self.compute_get(kind, project, region, tail[0])
            if m == "PATCH":
                return self.compute_patch(kind, project, region, tail[0])
            if m == "DELETE":
                return self.compute_delete(kind, project, region, tail[0])
        raise ApiError(405, "METHOD_NOT_ALLOWED", "Method not allowed", "methodNotAllowed", compute=True)

    def _table(self, store, kind):
        return {"network": store.networks, "subnetwork": store.subnetworks, "firewall": store.firewalls}[kind]

    @staticmethod
    def _key(kind, project, region, name):
        return (project, region, name) if kind == "subnetwork" else (project, name)

    @staticmethod
    def _rel(kind, project, region, name):
        if kind == "subnetwork":
            return "projects/%s/regions/%s/subnetworks/%s" % (project, region, name)
        return "projects/%s/global/%ss/%s" % (project, kind, name)

    def _compute_op(self, store, project, region, op_type, kind, name, target_id, on_done=None):
        oname = op_name()
        scope = ("projects/%s/regions/%s" % (project, region)) if region else ("projects/%s/global" % project)
        op = {
            "kind": "compute#operation",
            "id": store.new_id(),
            "name": oname,
            "operationType": op_type,
            "targetLink": COMPUTE_ROOT + self._rel(kind, project, region, name),
            "targetId": target_id,
            "status": "PENDING",
            "user": "nic-test@example.iam.gserviceaccount.com",
            "progress": 0,
            "insertTime": rfc3339(),
            "startTime": rfc3339(),
            "selfLink": COMPUTE_ROOT + scope + "/operations/" + oname,
        }
        if region:
            op["region"] = COMPUTE_ROOT + "projects/%s/regions/%s" % (project, region)
        failure = store.fail_operations.pop(0) if store.fail_operations else None
        rec = {"op": op, "polls_left": self.server.op_polls, "on_done": on_done, "failure": failure}
        store.compute_ops[(project, region, oname)] = rec
        if self.server.op_polls == 0:
            self._advance_compute(rec, force_done=True)
        return op

    def _advance_compute(self, rec, force_done=False):
        op = rec["op"]
        if op["status"] == "DONE":
            return
        rec["polls_left"] -= 1
        if rec["polls_left"] > 0 and not force_done:
            op["status"] = "RUNNING"
            op["progress"] = 50
            return
        op["status"] = "DONE"
        op["progress"] = 100
        op["endTime"] = rfc3339()
        if rec["failure"]:
            reason, message = rec["failure"]
            # A failed compute operation: HTTP 200 for the poll, the failure inside the operation.
            op["error"] = {"errors": [{"code": reason, "message": message}]}
            op["httpErrorStatusCode"] = 403 if "QUOTA" in reason.upper() or "EXHAUSTED" in reason.upper() else 400
            op["httpErrorMessage"] = "FORBIDDEN" if op["httpErrorStatusCode"] == 403 else "BAD REQUEST"
        if rec["on_done"]:
            rec["on_done"](failed=bool(rec["failure"]))

    def compute_op_get(self, project, region, name, wait):
        store = self.server.store
        with store.lock:
            rec = store.compute_ops.get((project, region, name))
            if rec is None:
                scope = ("projects/%s/regions/%s" % (project, region)) if region else ("projects/%s/global" % project)
                raise compute_not_found("%s/operations/%s" % (scope, name))
            self._advance_compute(rec, force_done=wait)
            return self.send_json(200, rec["op"])

    def compute_op_list(self, project, region):
        store = self.server.store
        with store.lock:
            ops = [r["op"] for (p, r_, _), r in sorted(store.compute_ops.items()) if p == project and r_ == region]
        return self.send_json(200, {"kind": "compute#operationList", "items": ops})

    def _public(self, kind, r):
        return {k: v for k, v in r.items() if not k.startswith("_")}

    def compute_insert(self, kind, project, region):
        body = self._json_body(compute=True)
        name = body.get("name")
        if not name:
            raise ApiError(400, "INVALID_ARGUMENT", "Required field 'resource.name' not specified", "required",
                           compute=True)
        if not re.match(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$", name):
            raise ApiError(400, "INVALID_ARGUMENT", "Invalid value for field 'resource.name': '%s'. Must be a match of "
                           "regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'" % name, "invalid", compute=True)
        store = self.server.store
        with store.lock:
            table = self._table(store, kind)
            key = self._key(kind, project, region, name)
            rel = self._rel(kind, project, region, name)
            if key in table:
                raise ApiError(409, "ALREADY_EXISTS", "The resource '%s' already exists" % rel, "alreadyExists",
                               compute=True)
            r = {"kind": "compute#" + kind, "id": store.new_id(), "creationTimestamp": rfc3339(), "name": name,
                 "description": body.get("description", ""), "selfLink": COMPUTE_ROOT + rel}
            if kind == "network":
                r["autoCreateSubnetworks"] = bool(body.get("autoCreateSubnetworks", False))
                r["routingConfig"] = {"routingMode": (body.get("routingConfig") or {}).get("routingMode", "REGIONAL")}
                r["mtu"] = int(body.get("mtu") or 1460)
                r["subnetworks"] = []
            else:
                net = body.get("network")
                if not net:
                    raise ApiError(400, "INVALID_ARGUMENT", "Required field 'resource.network' not specified",
                                   "required", compute=True)
                net_name = net.rstrip("/").split("/")[-1]
                if (project, net_name) not in store.networks:
                    raise ApiError(404, "NOT_FOUND", "The resource 'projects/%s/global/networks/%s' was not found"
                                   % (project, net_name), "notFound", compute=True)
                r["network"] = COMPUTE_ROOT + "projects/%s/global/networks/%s" % (project, net_name)
                if kind == "subnetwork":
                    if not body.get("ipCidrRange"):
                        raise ApiError(400, "INVALID_ARGUMENT", "Required field 'resource.ipCidrRange' not specified",
                                       "required", compute=True)
                    r["ipCidrRange"] = body["ipCidrRange"]
                    r["region"] = COMPUTE_ROOT + "projects/%s/regions/%s" % (project, region)
                    r["privateIpGoogleAccess"] = bool(body.get("privateIpGoogleAccess", False))
                    r["secondaryIpRanges"] = list(body.get("secondaryIpRanges") or [])
                    r["gatewayAddress"] = body["ipCidrRange"].split("/")[0].rsplit(".", 1)[0] + ".1"
                    r["fingerprint"] = fingerprint([r["ipCidrRange"], time.time()])
                    r["stackType"] = "IPV4_ONLY"
                    r["_creating"] = True
                else:
                    if not body.get("allowed") and not body.get("denied"):
                        raise ApiError(400, "INVALID_ARGUMENT", "Invalid value for field 'resource': "
                                       "exactly one of 'allowed' or 'denied' must be specified.", "invalid",
                                       compute=True)
                    r["priority"] = int(body.get("priority", 1000))
                    r["direction"] = body.get("direction", "INGRESS")
                    r["sourceRanges"] = list(body.get("sourceRanges") or [])
                    r["targetTags"] = list(body.get("targetTags") or [])
                    if body.get("allowed"):
                        r["allowed"] = body["allowed"]
                    if body.get("denied"):
                        r["denied"] = body["denied"]
                    r["disabled"] = bool(body.get("disabled", False))
            table[key] = r

            def done(failed):
                if failed:
                    table.pop(key, None)
                    return
                r.pop("_creating", None)
                if kind == "subnetwork":
                    n = store.networks.get((project, r["network"].split("/")[-1]))
                    if n is not None and r["selfLink"] not in n["subnetworks"]:
                        n["subnetworks"].append(r["selfLink"])
            op = self._compute_op(store, project, region, "insert", kind, name, r["id"], done)
        return self.send_json(200, op)

    def compute_get(self, kind, project, region, name):
        store = self.server.store
        with store.lock:
            r = self._table(store, kind).get(self._key(kind, project, region, name))
            if r is None:
                raise compute_not_found(self._rel(kind, project, region, name))
            return self.send_json(200, self._public(kind, r))

    def compute_list(self, kind, project, region):
        mr = self.q.get("maxResults")
        try:
            max_results = DEFAULT_MAX_RESULTS if mr is None else int(mr)
        except ValueError:
            max_results = -1
        if max_results < 0 or max_results > DEFAULT_MAX_RESULTS:
            raise ApiError(400, "INVALID_ARGUMENT", "Invalid value for field 'maxResults': '%s'. Must be less than or "
                           "equal to 500" % mr, "invalid", compute=True)
        if max_results == 0:
            max_results = DEFAULT_MAX_RESULTS
        token = self.q.get("pageToken")
        store = self.server.store
        with store.lock:
            table = self._table(store, kind)
            items = [self._public(kind, r) for k, r in sorted(table.items())
                     if k[0] == project and (kind != "subnetwork" or k[1] == region)]
        start = 0
        if token:
            # Tokens are opaque to clients; this one is "o:<offset>" reversed, which the client never parses.
            try:
                start = int(token[::-1].split(":", 1)[1])
            except (ValueError, IndexError):
                raise ApiError(400, "INVALID_ARGUMENT", "Invalid value for field 'pageToken': '%s'." % token,
                               "invalid", compute=True)
        page = items[start:start + max_results]
        scope = ("projects/%s/regions/%s" % (project, region)) if region else ("projects/%s/global" % project)
        out = {"kind": "compute#%sList" % kind, "id": scope + "/" + kind + "s", "items": page,
               "selfLink": COMPUTE_ROOT + scope + "/" + kind + "s"}
        if start + max_results < len(items):
            out["nextPageToken"] = ("o:%d" % (start + max_results))[::-1]
        return self.send_json(200, out)

    def compute_patch(self, kind, project, region, name):
        body = self._json_body(compute=True)
        store = self.server.store
        with store.lock:
            r = self._table(store, kind).get(self._key(kind, project, region, name))
            if r is None:
                raise compute_not_found(self._rel(kind, project, region, name))
            if kind == "subnetwork":
                # subnetworks.patch: "fingerprint ... must be provided in order to patch"; a stale one is
                # refused (412 conditionNotMet) so concurrent patches cannot silently overwrite each other.
                if self._stale_write(store):
                    r["fingerprint"] = fingerprint([r["fingerprint"], "concurrent"])
                if not body.get("fingerprint"):
                    raise ApiError(400, "INVALID_ARGUMENT", "Required field 'resource.fingerprint' not specified",
                                   "required", compute=True)
                if body["fingerprint"] != r["fingerprint"]:
                    raise ApiError(412, "FAILED_PRECONDITION", "Supplied fingerprint does not match current "
                                   "metadata fingerprint.", "conditionNotMet", compute=True,
                                   extra={"location": "If-Match", "locationType": "header"})
                if body.get("ipCidrRange") and body["ipCidrRange"] != r["ipCidrRange"]:
                    raise ApiError(400, "INVALID_ARGUMENT", "Invalid value for field 'resource.ipCidrRange': only "
                                   "expandIpCidrRange can change the range.", "invalid", compute=True)
                for f in ("privateIpGoogleAccess", "secondaryIpRanges", "description"):
                    if f in body:
                        r[f] = body[f]
                r["fingerprint"] = fingerprint([r["fingerprint"], time.time()])
            elif kind == "firewall":
                for f in ("priority", "sourceRanges", "targetTags", "allowed", "denied", "disabled", "description"):
                    if f in body:
                        r[f] = body[f]
            else:
                if "autoCreateSubnetworks" in body and bool(body["autoCreateSubnetworks"]) != r["autoCreateSubnetworks"]:
                    if body["autoCreateSubnetworks"] or r["autoCreateSubnetworks"]:
                        raise ApiError(400, "INVALID_ARGUMENT", "Invalid value for field 'resource.autoCreateSubnetworks'"
                                       ": a custom-mode network cannot switch to auto mode with patch.", "invalid",
                                       compute=True)
                if "routingConfig" in body:
                    r["routingConfig"] = body["routingConfig"]
                if "mtu" in body:
                    r["mtu"] = body["mtu"]
            op = self._compute_op(store, project, region, "patch", kind, name, r["id"])
        return self.send_json(200, op)

    def compute_delete(self, kind, project, region, name):
        store = self.server.store
        with store.lock:
            table = self._table(store, kind)
            key = self._key(kind, project, region, name)
            r = table.get(key)
            if r is None:
                raise compute_not_found(self._rel(kind, project, region, name))
            if kind == "network":
                link = r["selfLink"]
                users = [s["selfLink"] for s in store.subnetworks.values() if s["network"] == link]
                users += [f["selfLink"] for f in store.firewalls.values() if f["network"] == link]
                if users:
                    raise ApiError(400, "FAILED_PRECONDITION", "The network resource '%s' is already being used by '%s'"
                                   % (self._rel(kind, project, region, name), users[0][len(COMPUTE_ROOT):]),
                                   "resourceInUseByAnotherResource", compute=True)

            def done(failed):
                if failed:
                    return
                table.pop(key, None)
                if kind == "subnetwork":
                    n = store.networks.get((project, r["network"].split("/")[-1]))
                    if n is not None and r["selfLink"] in n["subnetworks"]:
                        n["subnetworks"].remove(r["selfLink"])
            op = self._compute_op(store, project, region, "delete", kind, name, r["id"], done)
        return self.send_json(200, op)


def main(argv=None):
    p = serverutil.base_arg_parser(__doc__.splitlines()[1])
    p.add_argument("--require-token", default=None,
                   help="require 'Authorization: Bearer TOKEN' on every API request (else 401)")
    p.add_argument("--op-polls", type=int, default=2,
                   help="operation reads before an operation is DONE (PENDING, RUNNING..., DONE); 0 = done at once")
    args = p.parse_args(argv)
    httpd = serverutil.CountingServer((args.host, args.port), GcpHandler, quiet=args.quiet)
    httpd.store = Store()
    httpd.required_token = args.require_token
    httpd.op_polls = max(0, args.op_polls)
    serverutil.serve(httpd, args.port_file, "gcp_server")


if __name__ == "__main__":
    main()

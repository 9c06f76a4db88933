"""Tests for tests/servers/k8s_server.py (the in-memory Kubernetes API stand-in).

Run: cd /work/main && PYTHONPATH=tests/servers python3 -m unittest -v test_k8s_server

The kubectl fidelity tests use /usr/bin/kubectl (skipped if absent) against an HTTPS instance of
the server with bearer-token auth and a self-signed certificate made with the openssl CLI.
"""

import base64
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serverutil  # noqa: E402

TOKEN = "k8s-test-token"
KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"
HAVE_KUBECTL = os.path.exists(KUBECTL)
HAVE_OPENSSL = shutil.which("openssl") is not None

CORE = "/api/v1"
RBAC = "/apis/rbac.authorization.k8s.io/v1"


def ns_obj(name, labels=None):
    o = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    if labels:
        o["metadata"]["labels"] = labels
    return o


def sa_obj(name, ns, labels=None, **extra):
    o = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": ns}}
    if labels:
        o["metadata"]["labels"] = labels
    o.update(extra)
    return o


class K8sApiTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = serverutil.start_server("k8s_server.py")
        cls.port = cls.srv.port

    @classmethod
    def tearDownClass(cls):
        serverutil.stop_server(cls.srv)

    def req(self, method, path, body=None, headers=None):
        return serverutil.http_request(self.port, method, path, body, headers)

    def mkns(self, name, labels=None):
        r = self.req("POST", CORE + "/namespaces", ns_obj(name, labels))
        self.assertEqual(r.status, 201, r)
        return r.json()

    def assertStatus(self, r, code, reason):
        self.assertEqual(r.status, code, r)
        j = r.json()
        self.assertEqual(j["kind"], "Status")
        self.assertEqual(j["apiVersion"], "v1")
        self.assertEqual(j["status"], "Failure")
        self.assertEqual(j["code"], code)
        self.assertEqual(j["reason"], reason)
        self.assertIsInstance(j["message"], str)
        return j

    # ------------------------------------------------------------------ discovery
    def test_version_and_discovery(self):
        v = self.req("GET", "/version").json()
        self.assertEqual(v["major"], "1")
        self.assertTrue(v["gitVersion"].startswith("v1."))
        a = self.req("GET", "/api").json()
        self.assertEqual(a["kind"], "APIVersions")
        self.assertEqual(a["versions"], ["v1"])
        g = self.req("GET", "/apis").json()
        self.assertEqual(g["kind"], "APIGroupList")
        names = {x["name"] for x in g["groups"]}
        self.assertEqual(names, {"rbac.authorization.k8s.io", "storage.k8s.io", "networking.k8s.io",
                                 "scheduling.k8s.io"})
        for grp in g["groups"]:
            self.assertEqual(grp["preferredVersion"]["version"], "v1")
        core = self.req("GET", "/api/v1").json()
        self.assertEqual(core["kind"], "APIResourceList")
        self.assertEqual(core["groupVersion"], "v1")
        by = {r["name"]: r for r in core["resources"]}
        self.assertEqual(set(by), {"namespaces", "serviceaccounts", "resourcequotas", "limitranges"})
        self.assertFalse(by["namespaces"]["namespaced"])
        self.assertTrue(by["serviceaccounts"]["namespaced"])
        self.assertEqual(by["serviceaccounts"]["kind"], "ServiceAccount")
        self.assertEqual(by["serviceaccounts"]["shortNames"], ["sa"])
        self.assertEqual(by["namespaces"]["shortNames"], ["ns"])
        self.assertEqual(by["resourcequotas"]["shortNames"], ["quota"])
        self.assertEqual(by["limitranges"]["shortNames"], ["limits"])
        for verb in ("create", "delete", "get", "list", "patch", "update", "watch"):
            self.assertIn(verb, by["serviceaccounts"]["verbs"])
        rbac = self.req("GET", RBAC).json()
        self.assertEqual(rbac["groupVersion"], "rbac.authorization.k8s.io/v1")
        rb = {r["name"]: r for r in rbac["resources"]}
        self.assertEqual(set(rb), {"roles", "rolebindings", "clusterroles", "clusterrolebindings"})
        self.assertTrue(rb["roles"]["namespaced"])
        self.assertFalse(rb["clusterroles"]["namespaced"])
        sc = {r["name"]: r for r in self.req("GET", "/apis/storage.k8s.io/v1").json()["resources"]}
        self.assertEqual(sc["storageclasses"]["shortNames"], ["sc"])
        self.assertFalse(sc["storageclasses"]["namespaced"])
        np_ = {r["name"]: r for r in self.req("GET", "/apis/networking.k8s.io/v1").json()["resources"]}
        self.assertEqual(np_["networkpolicies"]["shortNames"], ["netpol"])
        pc = {r["name"]: r for r in self.req("GET", "/apis/scheduling.k8s.io/v1").json()["resources"]}
        self.assertEqual(pc["priorityclasses"]["shortNames"], ["pc"])
        grp = self.req("GET", "/apis/storage.k8s.io").json()
        self.assertEqual(grp["kind"], "APIGroup")
        self.assertStatus(self.req("GET", "/apis/apps/v1"), 404, "NotFound")
        self.assertStatus(self.req("GET", "/api/v1/pods"), 404, "NotFound")

    def test_openapi_v3_field_validation_support(self):
        idx = self.req("GET", "/openapi/v3").json()
        self.assertIn("api/v1", idx["paths"])
        self.assertIn("apis/rbac.authorization.k8s.io/v1", idx["paths"])
        url = idx["paths"]["api/v1"]["serverRelativeURL"]
        doc = self.req("GET", url).json()
        patch = doc["paths"]["/api/v1/namespaces/{namespace}/serviceaccounts/{name}"]["patch"]
        self.assertEqual(patch["x-kubernetes-group-version-kind"], {"group": "", "version": "v1",
                                                                    "kind": "ServiceAccount"})
        self.assertIn("fieldValidation", [p["name"] for p in patch["parameters"]])
        self.assertStatus(self.req("GET", "/openapi/v2"), 404, "NotFound")

    # ------------------------------------------------------------------ CRUD + errors
    def test_default_namespaces_and_ns_metadata(self):
        j = self.req("GET", CORE + "/namespaces").json()
        self.assertEqual(j["kind"], "NamespaceList")
        names = [i["metadata"]["name"] for i in j["items"]]
        for n in ("default", "kube-system", "kube-public", "kube-node-lease"):
            self.assertIn(n, names)
        o = self.mkns("meta-ns")
        md = o["metadata"]
        self.assertEqual(len(md["uid"]), 36)
        self.assertTrue(md["resourceVersion"].isdigit())
        self.assertRegex(md["creationTimestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual(md["labels"]["kubernetes.io/metadata.name"], "meta-ns")
        self.assertEqual(o["status"]["phase"], "Active")
        self.assertEqual(o["spec"]["finalizers"], ["kubernetes"])
        self.assertNotIn("namespace", md)
        g = self.req("GET", CORE + "/namespaces/meta-ns").json()
        self.assertEqual(g["metadata"]["uid"], md["uid"])
        self.assertEqual(g["kind"], "Namespace")

    def test_create_errors(self):
        self.mkns("errs")
        r = self.req("POST", CORE + "/namespaces/missing-ns/serviceaccounts", sa_obj("a", "missing-ns"))
        j = self.assertStatus(r, 404, "NotFound")
        self.assertEqual(j["message"], 'namespaces "missing-ns" not found')
        self.assertEqual(j["details"], {"name": "missing-ns", "kind": "namespaces"})
        self.assertEqual(self.req("POST", CORE + "/namespaces/errs/serviceaccounts", sa_obj("a", "errs")).status, 201)
        j = self.assertStatus(self.req("POST", CORE + "/namespaces/errs/serviceaccounts", sa_obj("a", "errs")),
                              409, "AlreadyExists")
        self.assertEqual(j["message"], 'serviceaccounts "a" already exists')
        self.assertEqual(j["details"]["name"], "a")
        j = self.assertStatus(self.req("POST", CORE + "/namespaces", ns_obj("Bad_Name")), 422, "Invalid")
        self.assertEqual(j["details"]["causes"][0]["field"], "metadata.name")
        self.assertStatus(self.req("POST", CORE + "/namespaces/errs/serviceaccounts", sa_obj("b", "other")),
                          400, "BadRequest")
        self.assertStatus(self.req("POST", CORE + "/namespaces/errs/serviceaccounts",
                                   {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}}),
                          400, "BadRequest")
        self.assertStatus(self.req("POST", CORE + "/namespaces/errs/serviceaccounts", b"{nope",
                                   {"Content-Type": "application/json"}), 400, "BadRequest")
        self.assertStatus(self.req("POST", CORE + "/namespaces/errs/serviceaccounts",
                                   {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {}}), 422, "Invalid")
        # kind/apiVersion may be omitted on POST: filled from the URL like the real decoder does
        r = self.req("POST", CORE + "/namespaces/errs/serviceaccounts", {"metadata": {"name": "nokind"}})
        self.assertEqual(r.status, 201, r)
        self.assertEqual((r.json()["kind"], r.json()["apiVersion"]), ("ServiceAccount", "v1"))
        # CBOR bodies are not understood
        self.assertStatus(self.req("POST", CORE + "/namespaces/errs/serviceaccounts", b"\xa0",
                                   {"Content-Type": "application/cbor"}), 415, "UnsupportedMediaType")
        # generateName
        r = self.req("POST", CORE + "/namespaces/errs/serviceaccounts",
                     {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"generateName": "gen-"}})
        self.assertEqual(r.status, 201)
        self.assertTrue(r.json()["metadata"]["name"].startswith("gen-"))

    def test_get_not_found_status_shape(self):
        j = self.assertStatus(self.req("GET", CORE + "/namespaces/default/serviceaccounts/ghost"), 404, "NotFound")
        self.assertEqual(j["message"], 'serviceaccounts "ghost" not found')
        self.assertEqual(j["details"], {"name": "ghost", "kind": "serviceaccounts"})
        self.assertEqual(j["metadata"], {})
        j = self.assertStatus(self.req("GET", RBAC + "/clusterroles/ghost"), 404, "NotFound")
        self.assertEqual(j["message"], 'clusterroles.rbac.authorization.k8s.io "ghost" not found')
        self.assertEqual(j["details"]["group"], "rbac.authorization.k8s.io")

    def test_all_resource_types_roundtrip(self):
        self.mkns("every")
        objs = [
            (CORE + "/namespaces/every/serviceaccounts", sa_obj("sa1", "every")),
            (CORE + "/namespaces/every/resourcequotas", {"apiVersion": "v1", "kind": "ResourceQuota",
                                                         "metadata": {"name": "q"},
                                                         "spec": {"hard": {"pods": "10"}}}),
            (CORE + "/namespaces/every/limitranges", {"apiVersion": "v1", "kind": "LimitRange",
                                                      "metadata": {"name": "lr"},
                                                      "spec": {"limits": [{"type": "Container",
                                                                           "default": {"cpu": "100m"}}]}}),
            (RBAC + "/namespaces/every/roles", {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                                                "metadata": {"name": "r"},
                                                "rules": [{"apiGroups": [""], "resources": ["pods"],
                                                           "verbs": ["get"]}]}),
            (RBAC + "/namespaces/every/rolebindings", {"apiVersion": "rbac.authorization.k8s.io/v1",
                                                       "kind": "RoleBinding", "metadata": {"name": "rb"},
                                                       "roleRef": {"apiGroup": "rbac.authorization.k8s.io",
                                                                   "kind": "Role", "name": "r"},
                                                       "subjects": [{"kind": "ServiceAccount", "name": "sa1",
                                                                     "namespace": "every"}]}),
            (RBAC + "/clusterroles", {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                                      "metadata": {"name": "nic:reader"}, "rules": []}),
            (RBAC + "/clusterrolebindings", {"apiVersion": "rbac.authorization.k8s.io/v1",
                                             "kind": "ClusterRoleBinding", "metadata": {"name": "nic:reader"},
                                             "roleRef": {"apiGroup": "rbac.authorization.k8s.io",
                                                         "kind": "ClusterRole", "name": "nic:reader"}}),
            ("/apis/storage.k8s.io/v1/storageclasses", {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                                                        "metadata": {"name": "fast"},
                                                        "provisioner": "ebs.csi.aws.com",
                                                        "parameters": {"type": "gp3"}}),
            ("/apis/networking.k8s.io/v1/namespaces/every/networkpolicies",
             {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "deny"},
              "spec": {"podSelector": {}, "policyTypes": ["Ingress"]}}),
            ("/apis/scheduling.k8s.io/v1/priorityclasses", {"apiVersion": "scheduling.k8s.io/v1",
                                                            "kind": "PriorityClass", "metadata": {"name": "high"},
                                                            "value": 1000}),
        ]
        for coll, o in objs:
            r = self.req("POST", coll, o)
            self.assertEqual(r.status, 201, (coll, r))
            created = r.json()
            self.assertEqual(created["kind"], o["kind"])
            name = o["metadata"]["name"]
            g = self.req("GET", coll + "/" + name)
            self.assertEqual(g.status, 200, (coll, g))
            self.assertEqual(g.json()["metadata"]["uid"], created["metadata"]["uid"])
            lst = self.req("GET", coll).json()
            self.assertEqual(lst["kind"], o["kind"] + "List")
            self.assertIn(name, [i["metadata"]["name"] for i in lst["items"]])
            if "namespaces/every" in coll:
                self.assertEqual(created["metadata"]["namespace"], "every")
            else:
                self.assertNotIn("namespace", created["metadata"])
        sc = self.req("GET", "/apis/storage.k8s.io/v1/storageclasses/fast").json()
        self.assertEqual(sc["reclaimPolicy"], "Delete")
        self.assertEqual(sc["volumeBindingMode"], "Immediate")
        pc = self.req("GET", "/apis/scheduling.k8s.io/v1/priorityclasses/high").json()
        self.assertEqual(pc["metadata"]["generation"], 1)
        self.assertEqual(pc["preemptionPolicy"], "PreemptLowerPriority")
        self.assertStatus(self.req("POST", "/apis/scheduling.k8s.io/v1/priorityclasses",
                                   {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                                    "metadata": {"name": "novalue"}}), 422, "Invalid")
        # cluster-wide list of a namespaced resource spans namespaces
        allsa = self.req("GET", CORE + "/serviceaccounts").json()
        self.assertIn(("every", "sa1"), [(i["metadata"]["namespace"], i["metadata"]["name"]) for i in allsa["items"]])
        # list in a namespace that does not exist: empty list, not 404
        r = self.req("GET", CORE + "/namespaces/nowhere/serviceaccounts")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["items"], [])
        for coll, o in reversed(objs):
            r = self.req("DELETE", coll + "/" + o["metadata"]["name"])
            self.assertEqual(r.status, 200, (coll, r))
            self.assertStatus(self.req("GET", coll + "/" + o["metadata"]["name"]), 404, "NotFound")

    def test_resource_version_is_global_and_monotonic(self):
        self.mkns("rvns")
        rvs = []
        for i in range(3):
            rvs.append(int(self.req("POST", CORE + "/namespaces/rvns/serviceaccounts",
                                    sa_obj("s%d" % i, "rvns")).json()["metadata"]["resourceVersion"]))
            rvs.append(int(self.req("POST", RBAC + "/clusterroles",
                                    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                                     "metadata": {"name": "rv-%d" % i}}).json()["metadata"]["resourceVersion"]))
        self.assertEqual(rvs, sorted(rvs))
        self.assertEqual(len(set(rvs)), len(rvs))
        lst = self.req("GET", CORE + "/namespaces/rvns/serviceaccounts").json()
        self.assertGreaterEqual(int(lst["metadata"]["resourceVersion"]), rvs[-1])

    def test_update_conflict(self):
        self.mkns("upd")
        o = self.req("POST", CORE + "/namespaces/upd/serviceaccounts", sa_obj("u", "upd")).json()
        rv1 = o["metadata"]["resourceVersion"]
        o["metadata"]["labels"] = {"v": "2"}
        r = self.req("PUT", CORE + "/namespaces/upd/serviceaccounts/u", o)
        self.assertEqual(r.status, 200, r)
        rv2 = r.json()["metadata"]["resourceVersion"]
        self.assertGreater(int(rv2), int(rv1))
        self.assertEqual(r.json()["metadata"]["uid"], o["metadata"]["uid"])
        self.assertNotIn("generation", r.json()["metadata"])  # ServiceAccount has no generation
        # stale resourceVersion
        o["metadata"]["labels"] = {"v": "3"}
        o["metadata"]["resourceVersion"] = rv1
        j = self.assertStatus(self.req("PUT", CORE + "/namespaces/upd/serviceaccounts/u", o), 409, "Conflict")
        self.assertEqual(j["message"], 'Operation cannot be fulfilled on serviceaccounts "u": the object has been '
                                       'modified; please apply your changes to the latest version and try again')
        # no resourceVersion: unconditional update
        del o["metadata"]["resourceVersion"]
        r = self.req("PUT", CORE + "/namespaces/upd/serviceaccounts/u", o)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["metadata"]["labels"], {"v": "3"})
        # no-op update keeps the resourceVersion
        cur = r.json()
        r2 = self.req("PUT", CORE + "/namespaces/upd/serviceaccounts/u", cur)
        self.assertEqual(r2.json()["metadata"]["resourceVersion"], cur["metadata"]["resourceVersion"])
        # missing object / name mismatch
        self.assertStatus(self.req("PUT", CORE + "/namespaces/upd/serviceaccounts/ghost", sa_obj("ghost", "upd")),
                          404, "NotFound")
        self.assertStatus(self.req("PUT", CORE + "/namespaces/upd/serviceaccounts/u", sa_obj("other", "upd")),
                          400, "BadRequest")

    def test_concurrent_updates_one_wins(self):
        self.mkns("race")
        o = self.req("POST", CORE + "/namespaces/race/serviceaccounts", sa_obj("r", "race")).json()
        results = []
        barrier = threading.Barrier(8)

        def worker(i):
            body = json.loads(json.dumps(o))
            body["metadata"]["labels"] = {"writer": str(i)}
            barrier.wait()
            results.append(self.req("PUT", CORE + "/namespaces/race/serviceaccounts/r", body).status)

        ts = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(sorted(results), [200] + [409] * 7)

        results.clear()
        barrier = threading.Barrier(8)

        def creator(i):
            barrier.wait()
            results.append(self.req("POST", CORE + "/namespaces/race/serviceaccounts", sa_obj("c", "race")).status)

        ts = [threading.Thread(target=creator, args=(i,)) for i in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(sorted(results), [201] + [409] * 7)

    def test_generation_networkpolicy(self):
        self.mkns("gen")
        base = "/apis/networking.k8s.io/v1/namespaces/gen/networkpolicies"
        o = self.req("POST", base, {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                                    "metadata": {"name": "np"}, "spec": {"podSelector": {}}}).json()
        self.assertEqual(o["metadata"]["generation"], 1)
        r = self.req("PATCH", base + "/np", {"metadata": {"labels": {"a": "b"}}},
                     {"Content-Type": "application/merge-patch+json"})
        self.assertEqual(r.json()["metadata"]["generation"], 1)
        r = self.req("PATCH", base + "/np", {"spec": {"policyTypes": ["Ingress"]}},
                     {"Content-Type": "application/merge-patch+json"})
        self.assertEqual(r.json()["metadata"]["generation"], 2)

    def test_rolebinding_roleref_immutable(self):
        self.mkns("rbns")
        base = RBAC + "/namespaces/rbns/rolebindings"
        o = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "b"},
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "a"}}
        self.assertEqual(self.req("POST", base, o).status, 201)
        r = self.req("PATCH", base + "/b", {"roleRef": {"name": "other"}}, {"Content-Type": "application/merge-patch+json"})
        self.assertStatus(r, 422, "Invalid")

    # ------------------------------------------------------------------ patch
    def test_merge_patch(self):
        self.mkns("mp")
        self.req("POST", CORE + "/namespaces/mp/serviceaccounts", sa_obj("m", "mp", {"a": "1", "b": "2"}))
        r = self.req("PATCH", CORE + "/namespaces/mp/serviceaccounts/m",
                     {"metadata": {"labels": {"a": None, "c": "3"}}, "automountServiceAccountToken": False},
                     {"Content-Type": "application/merge-patch+json"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["metadata"]["labels"], {"b": "2", "c": "3"})
        self.assertIs(r.json()["automountServiceAccountToken"], False)
        # resourceVersion in a patch is a precondition
        r = self.req("PATCH", CORE + "/namespaces/mp/serviceaccounts/m",
                     {"metadata": {"resourceVersion": "1", "labels": {"x": "y"}}},
                     {"Content-Type": "application/merge-patch+json"})
        self.assertStatus(r, 409, "Conflict")
        self.assertStatus(self.req("PATCH", CORE + "/namespaces/mp/serviceaccounts/ghost", {"a": 1},
                                   {"Content-Type": "application/merge-patch+json"}), 404, "NotFound")
        self.assertStatus(self.req("PATCH", CORE + "/namespaces/mp/serviceaccounts/m", {"a": 1},
                                   {"Content-Type": "text/plain"}), 415, "UnsupportedMediaType")

    def test_strategic_merge_patch(self):
        self.mkns("smp")
        self.req("POST", CORE + "/namespaces/smp/serviceaccounts",
                 sa_obj("s", "smp", secrets=[{"name": "one"}, {"name": "two"}]))
        hdr = {"Content-Type": "application/strategic-merge-patch+json"}
        r = self.req("PATCH", CORE + "/namespaces/smp/serviceaccounts/s",
                     {"secrets": [{"name": "three"}], "$setElementOrder/secrets": [{"name": "one"}, {"name": "two"},
                                                                                 {"name": "three"}]}, hdr)
        self.assertEqual(r.status, 200, r)
        self.assertEqual([s["name"] for s in r.json()["secrets"]], ["one", "two", "three"])
        r = self.req("PATCH", CORE + "/namespaces/smp/serviceaccounts/s",
                     {"secrets": [{"name": "two", "$patch": "delete"}], "metadata": {"labels": {"k": "v"}}}, hdr)
        self.assertEqual([s["name"] for s in r.json()["secrets"]], ["one", "three"])
        self.assertEqual(r.json()["metadata"]["labels"], {"k": "v"})

    def test_json_patch(self):
        self.mkns("jp")
        self.req("POST", CORE + "/namespaces/jp/serviceaccounts", sa_obj("j", "jp", {"a": "1"}))
        hdr = {"Content-Type": "application/json-patch+json"}
        r = self.req("PATCH", CORE + "/namespaces/jp/serviceaccounts/j", [
            {"op": "test", "path": "/metadata/labels/a", "value": "1"},
            {"op": "add", "path": "/metadata/labels/app.kubernetes.io~1name", "value": "nic"},
            {"op": "replace", "path": "/metadata/labels/a", "value": "2"},
            {"op": "add", "path": "/secrets", "value": [{"name": "x"}]},
            {"op": "add", "path": "/secrets/-", "value": {"name": "y"}},
            {"op": "remove", "path": "/secrets/0"},
        ], hdr)
        self.assertEqual(r.status, 200, r)
        j = r.json()
        self.assertEqual(j["metadata"]["labels"], {"a": "2", "app.kubernetes.io/name": "nic"})
        self.assertEqual(j["secrets"], [{"name": "y"}])
        r = self.req("PATCH", CORE + "/namespaces/jp/serviceaccounts/j",
                     [{"op": "test", "path": "/metadata/labels/a", "value": "nope"}], hdr)
        self.assertStatus(r, 422, "Invalid")
        r = self.req("PATCH", CORE + "/namespaces/jp/serviceaccounts/j",
                     [{"op": "remove", "path": "/metadata/labels/missing"}], hdr)
        self.assertStatus(r, 422, "Invalid")
        # resourceVersion test via JSON patch 'replace' of a stale value -> Conflict
        r = self.req("PATCH", CORE + "/namespaces/jp/serviceaccounts/j",
                     [{"op": "replace", "path": "/metadata/resourceVersion", "value": "1"}], hdr)
        self.assertStatus(r, 409, "Conflict")

    def test_server_side_apply(self):
        self.mkns("ssa")
        url = CORE + "/namespaces/ssa/serviceaccounts/app"
        hdr = {"Content-Type": "application/apply-patch+yaml"}
        cfg = sa_obj("app", "ssa", {"a": "1", "b": "2"})
        self.assertStatus(self.req("PATCH", url, cfg, hdr), 400, "BadRequest")  # fieldManager required
        r = self.req("PATCH", url + "?fieldManager=nic", cfg, hdr)
        self.assertEqual(r.status, 201, r)
        mf = r.json()["metadata"]["managedFields"]
        self.assertEqual(mf[0]["manager"], "nic")
        self.assertEqual(mf[0]["operation"], "Apply")
        self.assertEqual(mf[0]["fieldsType"], "FieldsV1")
        self.assertIn("f:a", mf[0]["fieldsV1"]["f:metadata"]["f:labels"])
        rv = r.json()["metadata"]["resourceVersion"]
        # same config again: no change, same resourceVersion
        r = self.req("PATCH", url + "?fieldManager=nic", cfg, hdr)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["metadata"]["resourceVersion"], rv)
        # another manager takes label c via a merge patch (Update)
        self.req("PATCH", url + "?fieldManager=other", {"metadata": {"labels": {"c": "3"}}},
                 {"Content-Type": "application/merge-patch+json"})
        # dropping b from the applied config removes it; c (owned by 'other') stays
        cfg2 = sa_obj("app", "ssa", {"a": "1"})
        r = self.req("PATCH", url + "?fieldManager=nic", cfg2, hdr)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["metadata"]["labels"], {"a": "1", "c": "3"})
        # applying a different value for a field owned by 'other' conflicts ...
        cfg3 = sa_obj("app", "ssa", {"a": "1", "c": "mine"})
        j = self.assertStatus(self.req("PATCH", url + "?fieldManager=nic", cfg3, hdr), 409, "Conflict")
        self.assertIn('conflict with "other"', j["message"])
        self.assertEqual(j["details"]["causes"][0]["field"], ".metadata.labels.c")
        # ... unless forced, which transfers ownership
        r = self.req("PATCH", url + "?fieldManager=nic&force=true", cfg3, hdr)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["metadata"]["labels"]["c"], "mine")
        managers = {m["manager"]: m for m in r.json()["metadata"]["managedFields"]}
        self.assertIn("f:c", managers["nic"]["fieldsV1"]["f:metadata"]["f:labels"])
        self.assertNotIn("other", managers)  # it owned only c
        # apply into a missing namespace
        self.assertStatus(self.req("PATCH", CORE + "/namespaces/nope/serviceaccounts/x?fieldManager=nic",
                                   sa_obj("x", "nope"), hdr), 404, "NotFound")
        # name mismatch
        self.assertStatus(self.req("PATCH", url + "?fieldManager=nic", sa_obj("zzz", "ssa"), hdr), 400, "BadRequest")
        # apply bodies must name their kind
        self.assertStatus(self.req("PATCH", url + "?fieldManager=nic", {"metadata": {"name": "app"}}, hdr),
                          400, "BadRequest")
        # dry-run apply changes nothing
        before = self.req("GET", url).json()
        r = self.req("PATCH", url + "?fieldManager=nic&force=true&dryRun=All", sa_obj("app", "ssa", {"a": "dry"}), hdr)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["metadata"]["labels"], {"a": "dry"})
        self.assertEqual(self.req("GET", url).json(), before)

    def test_field_validation_and_dry_run(self):
        self.mkns("fv")
        bad = sa_obj("f", "fv", bogus=1)
        r = self.req("POST", CORE + "/namespaces/fv/serviceaccounts?fieldValidation=Strict", bad)
        j = self.assertStatus(r, 400, "BadRequest")
        self.assertIn('unknown field "bogus"', j["message"])
        r = self.req("POST", CORE + "/namespaces/fv/serviceaccounts?fieldValidation=Warn", bad)
        self.assertEqual(r.status, 201)
        self.assertIn("unknown field", r.headers.get("warning", ""))
        self.assertStatus(self.req("POST", CORE + "/namespaces/fv/serviceaccounts?fieldValidation=Loose",
                                   sa_obj("g", "fv")), 400, "BadRequest")
        r = self.req("POST", CORE + "/namespaces/fv/serviceaccounts?dryRun=All", sa_obj("dry", "fv"))
        self.assertEqual(r.status, 201)
        self.assertStatus(self.req("GET", CORE + "/namespaces/fv/serviceaccounts/dry"), 404, "NotFound")

    def test_protobuf_create(self):
        """kubectl's imperative generators send application/vnd.kubernetes.protobuf bodies."""
        def fld(num, payload):
            if isinstance(payload, int):
                return pb_varint(num << 3) + pb_varint(payload)
            if isinstance(payload, str):
                payload = payload.encode()
            return pb_varint(num << 3 | 2) + pb_varint(len(payload)) + payload

        self.mkns("pbns")
        meta = fld(1, "pb-sa") + fld(2, "") + fld(3, "pbns") + fld(7, 0) + fld(8, b"") + \
            fld(11, fld(1, "app") + fld(2, "nic"))
        raw = fld(1, meta) + fld(4, 1)  # automountServiceAccountToken: true
        body = b"k8s\x00" + fld(1, fld(1, "v1") + fld(2, "ServiceAccount")) + fld(2, raw) + fld(3, "") + fld(4, "")
        r = self.req("POST", CORE + "/namespaces/pbns/serviceaccounts", body,
                     {"Content-Type": "application/vnd.kubernetes.protobuf"})
        self.assertEqual(r.status, 201, r)
        j = r.json()
        self.assertEqual(j["metadata"]["name"], "pb-sa")
        self.assertEqual(j["metadata"]["labels"], {"app": "nic"})
        self.assertIs(j["automountServiceAccountToken"], True)
        self.assertNotIn("generateName", j["metadata"])
        # negative int32 (PriorityClass.value) is a 10-byte varint
        pc = b"k8s\x00" + fld(1, fld(1, "scheduling.k8s.io/v1") + fld(2, "PriorityClass")) + \
            fld(2, fld(1, fld(1, "pb-low")) + fld(2, (1 << 64) - 5))
        r = self.req("POST", "/apis/scheduling.k8s.io/v1/priorityclasses", pc,
                     {"Content-Type": "application/vnd.kubernetes.protobuf"})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["value"], -5)
        # kinds without a protobuf schema here, and garbage, are 415
        self.assertStatus(self.req("POST", CORE + "/namespaces/pbns/serviceaccounts", b"nope",
                                   {"Content-Type": "application/vnd.kubernetes.protobuf"}),
                          415, "UnsupportedMediaType")
        sc = b"k8s\x00" + fld(1, fld(1, "storage.k8s.io/v1") + fld(2, "StorageClass")) + fld(2, fld(1, fld(1, "x")))
        self.assertStatus(self.req("POST", "/apis/storage.k8s.io/v1/storageclasses", sc,
                                   {"Content-Type": "application/vnd.kubernetes.protobuf"}),
                          415, "UnsupportedMediaType")

    # ------------------------------------------------------------------ delete
    def test_delete(self):
        self.mkns("del")
        o = self.req("POST", CORE + "/namespaces/del/serviceaccounts", sa_obj("d", "del")).json()
        r = self.req("DELETE", CORE + "/namespaces/del/serviceaccounts/d",
                     {"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": {"uid": "wrong"}})
        self.assertStatus(r, 409, "Conflict")
        r = self.req("DELETE", CORE + "/namespaces/del/serviceaccounts/d",
                     {"kind": "DeleteOptions", "apiVersion": "v1",
                      "preconditions": {"resourceVersion": o["metadata"]["resourceVersion"]}})
        self.assertEqual(r.status, 200, r)
        j = r.json()
        self.assertEqual(j["kind"], "Status")
        self.assertEqual(j["status"], "Success")
        self.assertEqual(j["details"]["uid"], o["metadata"]["uid"])
        self.assertStatus(self.req("DELETE", CORE + "/namespaces/del/serviceaccounts/d"), 404, "NotFound")
        # namespace delete returns the namespace (Terminating) and removes its contents
        self.req("POST", CORE + "/namespaces/del/serviceaccounts", sa_obj("e", "del"))
        self.req("POST", RBAC + "/namespaces/del/roles", {"apiVersion": "rbac.authorization.k8s.io/v1",
                                                          "kind": "Role", "metadata": {"name": "r"}})
        r = self.req("DELETE", CORE + "/namespaces/del")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["kind"], "Namespace")
        self.assertEqual(r.json()["status"]["phase"], "Terminating")
        self.assertIn("deletionTimestamp", r.json()["metadata"])
        self.assertStatus(self.req("GET", CORE + "/namespaces/del"), 404, "NotFound")
        self.assertEqual([i for i in self.req("GET", RBAC + "/roles").json()["items"]
                          if i["metadata"]["namespace"] == "del"], [])
        self.mkns("del")  # can be recreated, and is empty
        self.assertEqual(self.req("GET", CORE + "/namespaces/del/serviceaccounts").json()["items"], [])
        self.assertStatus(self.req("DELETE", CORE + "/namespaces/kube-system"), 403, "Forbidden")

    def test_delete_collection(self):
        self.mkns("dc")
        for i in range(4):
            self.req("POST", CORE + "/namespaces/dc/serviceaccounts", sa_obj("x%d" % i, "dc", {"odd": str(i % 2)}))
        r = self.req("DELETE", CORE + "/namespaces/dc/serviceaccounts?labelSelector=odd%3D1")
        self.assertEqual(r.status, 200)
        self.assertEqual(sorted(i["metadata"]["name"] for i in r.json()["items"]), ["x1", "x3"])
        left = self.req("GET", CORE + "/namespaces/dc/serviceaccounts").json()["items"]
        self.assertEqual(sorted(i["metadata"]["name"] for i in left), ["x0", "x2"])

    # ------------------------------------------------------------------ list
    def test_label_selectors(self):
        self.mkns("sel")
        specs = {"a": {"env": "prod", "tier": "web"}, "b": {"env": "dev", "tier": "web"},
                 "c": {"env": "prod"}, "d": {}}
        for n, labels in specs.items():
            self.req("POST", CORE + "/namespaces/sel/serviceaccounts", sa_obj(n, "sel", labels or None))

        def names(selector):
            r = self.req("GET", CORE + "/namespaces/sel/serviceaccounts?labelSelector=" +
                         serverutil_quote(selector))
            self.assertEqual(r.status, 200, r)
            return sorted(i["metadata"]["name"] for i in r.json()["items"])

        self.assertEqual(names("env=prod"), ["a", "c"])
        self.assertEqual(names("env==prod"), ["a", "c"])
        self.assertEqual(names("env!=prod"), ["b", "d"])
        self.assertEqual(names("tier"), ["a", "b"])
        self.assertEqual(names("!tier"), ["c", "d"])
        self.assertEqual(names("env=prod,tier=web"), ["a"])
        self.assertEqual(names("env in (dev,prod)"), ["a", "b", "c"])
        self.assertEqual(names("env notin (prod)"), ["b", "d"])
        self.assertEqual(names("env in (prod),!tier"), ["c"])
        self.assertEqual(names(""), ["a", "b", "c", "d"])
        self.assertStatus(self.req("GET", CORE + "/namespaces/sel/serviceaccounts?labelSelector=" +
                                   serverutil_quote("env=prod=x")), 400, "BadRequest")
        # field selectors kubectl uses
        r = self.req("GET", CORE + "/namespaces/sel/serviceaccounts?fieldSelector=metadata.name%3Db")
        self.assertEqual([i["metadata"]["name"] for i in r.json()["items"]], ["b"])
        self.assertStatus(self.req("GET", CORE + "/namespaces/sel/serviceaccounts?fieldSelector=spec.x%3D1"),
                          400, "BadRequest")

    def test_pagination(self):
        self.mkns("page")
        for i in range(7):
            self.req("POST", CORE + "/namespaces/page/serviceaccounts", sa_obj("p%02d" % i, "page"))
        got, cont, pages, rvs = [], None, 0, set()
        while True:
            path = CORE + "/namespaces/page/serviceaccounts?limit=3" + ("&continue=" + cont if cont else "")
            j = self.req("GET", path).json()
            pages += 1
            got += [i["metadata"]["name"] for i in j["items"]]
            rvs.add(j["metadata"]["resourceVersion"])
            cont = j["metadata"].get("continue")
            if pages == 1:
                self.assertEqual(j["metadata"]["remainingItemCount"], 4)
            if not cont:
                self.assertNotIn("remainingItemCount", j["metadata"])
                break
        self.assertEqual(got, ["p%02d" % i for i in range(7)])
        self.assertEqual(pages, 3)
        self.assertEqual(len(rvs), 1)  # pages report the resourceVersion of the first page
        self.assertStatus(self.req("GET", CORE + "/namespaces/page/serviceaccounts?limit=3&continue=garbage"),
                          400, "BadRequest")
        self.assertStatus(self.req("GET", CORE + "/namespaces/page/serviceaccounts?limit=x"), 400, "BadRequest")
        # limit larger than the set: no continue
        j = self.req("GET", CORE + "/namespaces/page/serviceaccounts?limit=500").json()
        self.assertNotIn("continue", j["metadata"])

    def test_table_output(self):
        j = self.req("GET", CORE + "/namespaces?limit=500",
                     headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}).json()
        self.assertEqual(j["kind"], "Table")
        self.assertEqual([c["name"] for c in j["columnDefinitions"]], ["Name", "Status", "Age"])
        row = [r for r in j["rows"] if r["cells"][0] == "default"][0]
        self.assertEqual(row["cells"][1], "Active")
        self.assertEqual(row["object"]["kind"], "PartialObjectMetadata")

    def test_watch(self):
        self.mkns("watch")
        rv = self.req("GET", CORE + "/namespaces/watch/serviceaccounts").json()["metadata"]["resourceVersion"]

        def later():
            import time
            time.sleep(0.3)
            self.req("POST", CORE + "/namespaces/watch/serviceaccounts", sa_obj("w", "watch"))

        t = threading.Thread(target=later)
        t.start()
        r = self.req("GET", CORE + "/namespaces/watch/serviceaccounts?watch=true&timeoutSeconds=1&resourceVersion="
                     + rv)
        t.join()
        events = [json.loads(line) for line in r.body.decode().splitlines() if line.strip()]
        self.assertEqual([(e["type"], e["object"]["metadata"]["name"]) for e in events], [("ADDED", "w")])

    # ------------------------------------------------------------------ test endpoints
    def test_request_counters(self):
        self.req("POST", "/_test/reset")
        self.req("GET", "/api/v1/namespaces")
        self.req("GET", "/api/v1/namespaces/default")
        self.req("PATCH", "/api/v1/namespaces/default", {"metadata": {"labels": {"x": "y"}}},
                 {"Content-Type": "application/merge-patch+json"})
        j = self.req("GET", "/_test/requests").json()
        self.assertEqual(j["by_method"], {"GET": 2, "PATCH": 1})
        self.assertEqual(j["total"], 3)


def pb_varint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def serverutil_quote(s):
    import urllib.parse
    return urllib.parse.quote(s, safe="")


@unittest.skipUnless(HAVE_OPENSSL, "openssl CLI needed for the TLS tests")
class K8sTlsKubectlTest(unittest.TestCase):
    """HTTPS + bearer token; kubectl fidelity checks."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="nic-k8s-tls-")
        cls.cert = os.path.join(cls.tmp, "cert.pem")
        cls.key = os.path.join(cls.tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", cls.key,
                        "-out", cls.cert, "-days", "1", "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        cls.srv = serverutil.start_server("k8s_server.py", ["--token", TOKEN, "--tls-cert", cls.cert,
                                                            "--tls-key", cls.key])
        cls.ctx = ssl.create_default_context(cafile=cls.cert)
        cls.kubeconfig = os.path.join(cls.tmp, "kubeconfig")
        with open(cls.cert, "rb") as f:
            ca = base64.b64encode(f.read()).decode()
        with open(cls.kubeconfig, "w") as f:
            f.write("""apiVersion: v1
kind: Config
clusters:
- name: stand-in
  cluster:
    server: https://127.0.0.1:%d
    certificate-authority-data: %s
users:
- name: tester
  user:
    token: %s
contexts:
- name: stand-in
  context:
    cluster: stand-in
    user: tester
current-context: stand-in
""" % (cls.srv.port, ca, TOKEN))

    @classmethod
    def tearDownClass(cls):
        serverutil.stop_server(cls.srv)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def req(self, method, path, body=None, headers=None):
        return serverutil.http_request(self.srv.port, method, path, body, headers, https_context=self.ctx)

    def kubectl(self, *args, check=True):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.tmp, "KUBECONFIG": self.kubeconfig}
        p = subprocess.run([KUBECTL] + list(args), env=env, cwd=self.tmp, capture_output=True, text=True,
                           timeout=60)
        if check:
            self.assertEqual(p.returncode, 0, "kubectl %s failed:\nstdout:%s\nstderr:%s" % (args, p.stdout, p.stderr))
        return p

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_auth(self):
        r = self.req("GET", "/api/v1/namespaces")
        self.assertEqual(r.status, 401)
        j = r.json()
        self.assertEqual((j["kind"], j["reason"], j["code"], j["status"]), ("Status", "Unauthorized", 401, "Failure"))
        self.assertEqual(self.req("GET", "/api/v1/namespaces", headers={"Authorization": "Bearer nope"}).status, 401)
        r = self.req("GET", "/api/v1/namespaces", headers={"Authorization": "Bearer " + TOKEN})
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["kind"], "NamespaceList")

    @unittest.skipUnless(HAVE_KUBECTL, "kubectl not installed")
    def test_kubectl_flow(self):
        p = self.kubectl("get", "ns")
        lines = p.stdout.strip().splitlines()
        self.assertEqual(lines[0].split(), ["NAME", "STATUS", "AGE"])
        self.assertIn("default", [ln.split()[0] for ln in lines[1:]])
        self.assertEqual([ln.split()[1] for ln in lines[1:]], ["Active"] * (len(lines) - 1))

        ns_yaml = self.write("ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: nic-demo\n"
                                        "  labels:\n    team: infra\n")
        p = self.kubectl("create", "-f", ns_yaml)
        self.assertEqual(p.stdout.strip(), "namespace/nic-demo created")
        p = self.kubectl("create", "-f", ns_yaml, check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('namespaces "nic-demo" already exists', p.stderr)
        self.assertIn("AlreadyExists", p.stderr)

        sa_yaml = self.write("sa.yaml", "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: builder\n"
                                        "  namespace: nic-demo\n  labels:\n    app: nic\n")
        p = self.kubectl("apply", "-f", sa_yaml)
        self.assertEqual(p.stdout.strip(), "serviceaccount/builder created")
        p = self.kubectl("apply", "-f", sa_yaml)
        self.assertEqual(p.stdout.strip(), "serviceaccount/builder unchanged")
        self.assertNotIn("error", p.stderr.lower())
        sa_yaml2 = self.write("sa2.yaml", "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: builder\n"
                                          "  namespace: nic-demo\n  labels:\n    app: nic\n    tier: ci\n")
        p = self.kubectl("apply", "-f", sa_yaml2)
        self.assertEqual(p.stdout.strip(), "serviceaccount/builder configured")

        p = self.kubectl("get", "sa", "-n", "nic-demo", "-o", "json")
        j = json.loads(p.stdout)
        self.assertEqual(j["kind"], "List")
        self.assertEqual(len(j["items"]), 1)
        sa = j["items"][0]
        self.assertEqual(sa["kind"], "ServiceAccount")
        self.assertEqual(sa["metadata"]["name"], "builder")
        self.assertEqual(sa["metadata"]["namespace"], "nic-demo")
        self.assertEqual(sa["metadata"]["labels"], {"app": "nic", "tier": "ci"})
        last = json.loads(sa["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"])
        self.assertEqual(last["metadata"]["labels"], {"app": "nic", "tier": "ci"})

        p = self.kubectl("get", "sa", "-n", "nic-demo", "-l", "tier=ci", "-o", "name")
        self.assertEqual(p.stdout.strip(), "serviceaccount/builder")
        p = self.kubectl("get", "sa", "-n", "nic-demo", "-l", "tier!=ci", "-o", "name")
        self.assertEqual(p.stdout.strip(), "")

        # server-side apply through kubectl
        role_yaml = self.write("role.yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n"
                                            "  name: reader\n  namespace: nic-demo\nrules:\n- apiGroups: ['']\n"
                                            "  resources: ['pods']\n  verbs: ['get', 'list']\n")
        p = self.kubectl("apply", "--server-side", "-f", role_yaml)
        self.assertEqual(p.stdout.strip(), "role.rbac.authorization.k8s.io/reader serverside-applied")
        p = self.kubectl("get", "role", "reader", "-n", "nic-demo", "-o", "jsonpath={.rules[0].verbs}")
        self.assertEqual(json.loads(p.stdout), ["get", "list"])

        p = self.kubectl("delete", "ns", "nic-demo")
        self.assertEqual(p.stdout.strip(), 'namespace "nic-demo" deleted')
        p = self.kubectl("get", "ns", "-o", "name")
        self.assertNotIn("namespace/nic-demo", p.stdout.split())
        p = self.kubectl("get", "ns", "nic-demo", check=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('namespaces "nic-demo" not found', p.stderr)

    @unittest.skipUnless(HAVE_KUBECTL, "kubectl not installed")
    def test_kubectl_imperative_create(self):
        """Generators send protobuf; the stand-in decodes the kinds it serves."""
        expected = [
            (["create", "namespace", "imp"], "namespace/imp created"),
            (["create", "serviceaccount", "bot", "-n", "imp"], "serviceaccount/bot created"),
            (["create", "role", "r", "--verb=get,list", "--resource=serviceaccounts", "-n", "imp"],
             "role.rbac.authorization.k8s.io/r created"),
            (["create", "rolebinding", "rb", "--role=r", "--serviceaccount=imp:bot", "-n", "imp"],
             "rolebinding.rbac.authorization.k8s.io/rb created"),
            (["create", "quota", "q", "--hard=pods=3", "-n", "imp"], "resourcequota/q created"),
            (["create", "priorityclass", "imp-low", "--value=-5"], "priorityclass.scheduling.k8s.io/imp-low created"),
        ]
        for args, out in expected:
            self.assertEqual(self.kubectl(*args).stdout.strip(), out)
        rb = json.loads(self.kubectl("get", "rolebinding", "rb", "-n", "imp", "-o", "json").stdout)
        self.assertEqual(rb["subjects"], [{"kind": "ServiceAccount", "name": "bot", "namespace": "imp"}])
        self.assertEqual(rb["roleRef"], {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"})
        role = json.loads(self.kubectl("get", "role", "r", "-n", "imp", "-o", "json").stdout)
        self.assertEqual(role["rules"], [{"apiGroups": [""], "resources": ["serviceaccounts"],
                                          "verbs": ["get", "list"]}])
        q = json.loads(self.kubectl("get", "quota", "q", "-n", "imp", "-o", "json").stdout)
        self.assertEqual(q["spec"]["hard"], {"pods": "3"})
        p = self.kubectl("create", "namespace", "imp", check=False)
        self.assertIn('namespaces "imp" already exists', p.stderr)
        self.kubectl("delete", "ns", "imp")
        self.kubectl("delete", "priorityclass", "imp-low")

    @unittest.skipUnless(HAVE_KUBECTL, "kubectl not installed")
    def test_kubectl_rejects_bad_token(self):
        bad = os.path.join(self.tmp, "bad-kubeconfig")
        with open(self.kubeconfig) as f:
            txt = f.read().replace("token: " + TOKEN, "token: wrong")
        with open(bad, "w") as f:
            f.write(txt)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.tmp, "KUBECONFIG": bad}
        p = subprocess.run([KUBECTL, "get", "ns"], env=env, capture_output=True, text=True, timeout=60)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("Unauthorized", p.stderr)


if __name__ == "__main__":
    unittest.main()

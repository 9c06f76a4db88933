"""Tests for tests/servers/gcp_server.py (the in-memory GKE + Compute networking stand-in).

Run: PYTHONPATH=tests/servers python3 -m unittest -v test_gcp_server
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serverutil  # noqa: E402

TOKEN = "gcp-test-token"
AUTH = {"Authorization": "Bearer " + TOKEN}
LOC = "/v1/projects/p1/locations/us-central1"
CMP = "/compute/v1/projects/p1"


class GcpServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = serverutil.start_server("gcp_server.py", ["--require-token", TOKEN, "--op-polls", "2"])
        cls.port = cls.srv.port

    @classmethod
    def tearDownClass(cls):
        serverutil.stop_server(cls.srv)

    def setUp(self):
        self.assertEqual(self.req("POST", "/_test/reset?data=1").status, 200)

    def req(self, method, path, body=None, auth=True):
        return serverutil.http_request(self.port, method, path, body, AUTH if auth else None)

    def assertGkeError(self, r, code, status):
        self.assertEqual(r.status, code, r)
        e = r.json()["error"]
        self.assertEqual(e["code"], code)
        self.assertEqual(e["status"], status)
        self.assertTrue(e["message"])
        self.assertEqual(len(e["errors"]), 1)
        return e

    def assertComputeError(self, r, code, reason):
        self.assertEqual(r.status, code, r)
        e = r.json()["error"]
        self.assertEqual(e["code"], code)
        self.assertNotIn("status", e)
        self.assertEqual(e["errors"][0]["reason"], reason)
        self.assertEqual(e["errors"][0]["domain"], "global")
        return e

    def wait_gke(self, op):
        seen = [op["status"]]
        for _ in range(10):
            if op["status"] == "DONE":
                return op, seen
            r = self.req("GET", "%s/operations/%s" % (LOC, op["name"]))
            self.assertEqual(r.status, 200, r)
            op = r.json()
            seen.append(op["status"])
        self.fail("operation never finished: %r" % op)

    def wait_compute(self, op):
        link = op["selfLink"]
        path = "/compute/v1/" + link.split("/compute/v1/", 1)[1]
        for _ in range(10):
            if op["status"] == "DONE":
                return op
            op = self.req("GET", path).json()
        self.fail("compute operation never finished: %r" % op)

    def make_cluster(self, name="c1", labels=None):
        body = {"cluster": {"name": name, "initialNodeCount": 1, "resourceLabels": labels or {"a": "b"}}}
        r = self.req("POST", LOC + "/clusters", body)
        self.assertEqual(r.status, 200, r)
        return self.wait_gke(r.json())[0]

    # ------------------------------------------------------------------ auth
    def test_token_required(self):
        r = self.req("GET", LOC + "/clusters", auth=False)
        e = self.assertGkeError(r, 401, "UNAUTHENTICATED")
        self.assertEqual(e["errors"][0]["location"], "Authorization")
        r = serverutil.http_request(self.port, "GET", CMP + "/global/networks", headers={"Authorization": "Bearer x"})
        self.assertComputeError(r, 401, "required")

    # ------------------------------------------------------------------ GKE clusters
    def test_cluster_create_operation_lifecycle(self):
        r = self.req("POST", LOC + "/clusters", {"cluster": {"name": "c1", "initialNodeCount": 1}})
        self.assertEqual(r.status, 200, r)
        op = r.json()
        self.assertEqual(op["operationType"], "CREATE_CLUSTER")
        self.assertEqual(op["status"], "PENDING")
        self.assertTrue(op["targetLink"].endswith("/clusters/c1"))
        c = self.req("GET", LOC + "/clusters/c1").json()
        self.assertEqual(c["status"], "PROVISIONING")
        done, seen = self.wait_gke(op)
        self.assertEqual(seen, ["PENDING", "RUNNING", "DONE"])
        self.assertNotIn("error", done)
        c = self.req("GET", LOC + "/clusters/c1").json()
        self.assertEqual(c["status"], "RUNNING")
        self.assertEqual([p["name"] for p in c["nodePools"]], ["default-pool"])
        self.assertRegex(c["labelFingerprint"], "^[0-9a-f]{8}$")

    def test_cluster_errors(self):
        self.make_cluster()
        r = self.req("POST", LOC + "/clusters", {"cluster": {"name": "c1", "initialNodeCount": 1}})
        self.assertGkeError(r, 409, "ALREADY_EXISTS")
        self.assertGkeError(self.req("GET", LOC + "/clusters/nope"), 404, "NOT_FOUND")
        r = self.req("POST", LOC + "/clusters", {"cluster": {"name": "c2"}})
        self.assertGkeError(r, 400, "INVALID_ARGUMENT")
        r = self.req("POST", LOC + "/clusters", {"cluster": {"name": "Bad_Name", "initialNodeCount": 1}})
        self.assertGkeError(r, 400, "INVALID_ARGUMENT")
        self.assertGkeError(self.req("GET", LOC + "/operations/operation-0-0"), 404, "NOT_FOUND")

    def test_cluster_busy_while_operation_runs(self):
        r = self.req("POST", LOC + "/clusters", {"cluster": {"name": "c1", "initialNodeCount": 1}})
        op = r.json()
        r = self.req("POST", LOC + "/clusters/c1/nodePools", {"nodePool": {"name": "np", "initialNodeCount": 1}})
        e = self.assertGkeError(r, 400, "FAILED_PRECONDITION")
        self.assertIn(op["name"], e["message"])
        self.assertIn("Please wait and try again", e["message"])
        self.wait_gke(op)
        r = self.req("POST", LOC + "/clusters/c1/nodePools", {"nodePool": {"name": "np", "initialNodeCount": 1}})
        self.assertEqual(r.status, 200, r)

    def test_set_resource_labels_fingerprint(self):
        self.make_cluster()
        c = self.req("GET", LOC + "/clusters/c1").json()
        fp = c["labelFingerprint"]
        r = self.req("POST", LOC + "/clusters/c1:setResourceLabels", {"resourceLabels": {"x": "y"}, "labelFingerprint": "0"})
        e = self.assertGkeError(r, 400, "FAILED_PRECONDITION")
        self.assertIn("fingerprint mismatch", e["message"])
        r = self.req("POST", LOC + "/clusters/c1:setResourceLabels", {"resourceLabels": {"x": "y"}, "labelFingerprint": fp})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["operationType"], "SET_LABELS")
        self.wait_gke(r.json())
        c2 = self.req("GET", LOC + "/clusters/c1").json()
        self.assertEqual(c2["resourceLabels"], {"x": "y"})
        self.assertNotEqual(c2["labelFingerprint"], fp)
        # the old fingerprint is now stale
        r = self.req("POST", LOC + "/clusters/c1:setResourceLabels", {"resourceLabels": {}, "labelFingerprint": fp})
        self.assertGkeError(r, 400, "FAILED_PRECONDITION")
        # a concurrent writer (test hook) makes a fresh fingerprint stale once
        self.req("POST", "/_test/stale-fingerprint?count=1")
        fp2 = c2["labelFingerprint"]
        r = self.req("POST", LOC + "/clusters/c1:setResourceLabels", {"resourceLabels": {}, "labelFingerprint": fp2})
        self.assertGkeError(r, 400, "FAILED_PRECONDITION")
        fp3 = self.req("GET", LOC + "/clusters/c1").json()["labelFingerprint"]
        r = self.req("POST", LOC + "/clusters/c1:setResourceLabels", {"resourceLabels": {}, "labelFingerprint": fp3})
        self.assertEqual(r.status, 200, r)
        r = self.req("POST", LOC + "/clusters/c1:setResourceLabels",
                     {"resourceLabels": {"Bad.Key": "v"}, "labelFingerprint": fp3})
        self.assertGkeError(r, 400, "INVALID_ARGUMENT")

    def test_node_pools_crud_autoscaling_update(self):
        self.make_cluster()
        body = {"nodePool": {"name": "user", "initialNodeCount": 0,
                             "autoscaling": {"enabled": True, "minNodeCount": 0, "maxNodeCount": 5},
                             "config": {"machineType": "n2-standard-4", "diskSizeGb": 200,
                                        "labels": {"role": "user"},
                                        "taints": [{"key": "dedicated", "value": "user", "effect": "NO_SCHEDULE"}]}}}
        r = self.req("POST", LOC + "/clusters/c1/nodePools", body)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["operationType"], "CREATE_NODE_POOL")
        self.wait_gke(r.json())
        self.assertGkeError(self.req("POST", LOC + "/clusters/c1/nodePools", body), 409, "ALREADY_EXISTS")
        p = self.req("GET", LOC + "/clusters/c1/nodePools/user").json()
        self.assertEqual(p["status"], "RUNNING")
        self.assertEqual(p["config"]["machineType"], "n2-standard-4")
        self.assertEqual(p["config"]["diskSizeGb"], 200)
        self.assertEqual(p["autoscaling"], {"enabled": True, "minNodeCount": 0, "maxNodeCount": 5})
        names = [x["name"] for x in self.req("GET", LOC + "/clusters/c1/nodePools").json()["nodePools"]]
        self.assertEqual(names, ["default-pool", "user"])
        r = self.req("POST", LOC + "/clusters/c1/nodePools/user:setAutoscaling",
                     {"autoscaling": {"enabled": True, "minNodeCount": 1, "maxNodeCount": 9}})
        self.assertEqual(r.status, 200, r)
        self.wait_gke(r.json())
        r = self.req("POST", LOC + "/clusters/c1/nodePools/user:setAutoscaling",
                     {"autoscaling": {"enabled": True, "minNodeCount": 5, "maxNodeCount": 2}})
        self.assertGkeError(r, 400, "INVALID_ARGUMENT")
        r = self.req("PUT", LOC + "/clusters/c1/nodePools/user",
                     {"labels": {"labels": {"role": "jupyter"}}, "taints": {"taints": []}})
        self.assertEqual(r.status, 200, r)
        self.wait_gke(r.json())
        p = self.req("GET", LOC + "/clusters/c1/nodePools/user").json()
        self.assertEqual(p["autoscaling"]["maxNodeCount"], 9)
        self.assertEqual(p["config"]["labels"], {"role": "jupyter"})
        self.assertEqual(p["config"]["taints"], [])
        r = self.req("PUT", LOC + "/clusters/c1/nodePools/user", {"labels": {"labels": {}}, "etag": "stale"})
        self.assertGkeError(r, 409, "ABORTED")
        r = self.req("PUT", LOC + "/clusters/c1/nodePools/user", {"labels": {"labels": {}}, "etag": p["etag"]})
        self.assertEqual(r.status, 200, r)
        self.wait_gke(r.json())
        r = self.req("DELETE", LOC + "/clusters/c1/nodePools/user")
        self.assertEqual(r.json()["operationType"], "DELETE_NODE_POOL")
        self.wait_gke(r.json())
        self.assertGkeError(self.req("GET", LOC + "/clusters/c1/nodePools/user"), 404, "NOT_FOUND")

    def test_failed_operation_carries_error(self):
        self.req("POST", "/_test/fail-operation?status=RESOURCE_EXHAUSTED&message=Insufficient+regional+quota")
        r = self.req("POST", LOC + "/clusters", {"cluster": {"name": "c1", "initialNodeCount": 1}})
        done, _ = self.wait_gke(r.json())
        self.assertEqual(done["error"]["code"], 8)
        self.assertEqual(done["error"]["message"], "Insufficient regional quota")
        self.assertEqual(self.req("GET", LOC + "/clusters/c1").json()["status"], "ERROR")

    def test_cluster_delete(self):
        self.make_cluster()
        r = self.req("DELETE", LOC + "/clusters/c1")
        self.assertEqual(r.json()["operationType"], "DELETE_CLUSTER")
        self.assertEqual(self.req("GET", LOC + "/clusters/c1").json()["status"], "STOPPING")
        self.wait_gke(r.json())
        self.assertGkeError(self.req("GET", LOC + "/clusters/c1"), 404, "NOT_FOUND")
        self.assertEqual(self.req("GET", LOC + "/clusters").json(), {})

    # ------------------------------------------------------------------ compute
    def make_network(self, name="net"):
        r = self.req("POST", CMP + "/global/networks", {"name": name, "autoCreateSubnetworks": False})
        self.assertEqual(r.status, 200, r)
        op = r.json()
        self.assertEqual(op["kind"], "compute#operation")
        self.assertEqual(op["operationType"], "insert")
        self.assertIn("/global/operations/", op["selfLink"])
        done = self.wait_compute(op)
        self.assertEqual(done["progress"], 100)
        return done

    def test_network_insert_get_conflict_delete(self):
        self.make_network()
        n = self.req("GET", CMP + "/global/networks/net").json()
        self.assertEqual(n["kind"], "compute#network")
        self.assertFalse(n["autoCreateSubnetworks"])
        r = self.req("POST", CMP + "/global/networks", {"name": "net"})
        e = self.assertComputeError(r, 409, "alreadyExists")
        self.assertEqual(e["message"], "The resource 'projects/p1/global/networks/net' already exists")
        e = self.assertComputeError(self.req("GET", CMP + "/global/networks/zzz"), 404, "notFound")
        self.assertEqual(e["message"], "The resource 'projects/p1/global/networks/zzz' was not found")
        self.assertComputeError(self.req("POST", CMP + "/global/networks", {"name": "Bad_Name"}), 400, "invalid")
        op = self.req("DELETE", CMP + "/global/networks/net").json()
        self.assertEqual(op["operationType"], "delete")
        self.wait_compute(op)
        self.assertComputeError(self.req("GET", CMP + "/global/networks/net"), 404, "notFound")

    def test_subnetwork_regional_operation_and_fingerprint(self):
        self.make_network()
        r = self.req("POST", CMP + "/regions/us-central1/subnetworks",
                     {"name": "sub", "network": "projects/p1/global/networks/net", "ipCidrRange": "10.10.0.0/16"})
        self.assertEqual(r.status, 200, r)
        op = r.json()
        self.assertIn("/regions/us-central1/operations/", op["selfLink"])
        self.assertTrue(op["region"].endswith("/regions/us-central1"))
        self.wait_compute(op)
        s = self.req("GET", CMP + "/regions/us-central1/subnetworks/sub").json()
        self.assertEqual(s["ipCidrRange"], "10.10.0.0/16")
        self.assertTrue(s["network"].endswith("/global/networks/net"))
        n = self.req("GET", CMP + "/global/networks/net").json()
        self.assertEqual(n["subnetworks"], [s["selfLink"]])
        e = self.assertComputeError(self.req("DELETE", CMP + "/global/networks/net"), 400,
                                    "resourceInUseByAnotherResource")
        self.assertIn("subnetworks/sub", e["message"])
        r = self.req("PATCH", CMP + "/regions/us-central1/subnetworks/sub",
                     {"privateIpGoogleAccess": True, "fingerprint": "stale"})
        e = self.assertComputeError(r, 412, "conditionNotMet")
        self.assertEqual(e["errors"][0]["location"], "If-Match")
        r = self.req("PATCH", CMP + "/regions/us-central1/subnetworks/sub", {"privateIpGoogleAccess": True})
        self.assertComputeError(r, 400, "required")
        r = self.req("PATCH", CMP + "/regions/us-central1/subnetworks/sub",
                     {"privateIpGoogleAccess": True, "fingerprint": s["fingerprint"]})
        self.assertEqual(r.status, 200, r)
        self.wait_compute(r.json())
        s2 = self.req("GET", CMP + "/regions/us-central1/subnetworks/sub").json()
        self.assertTrue(s2["privateIpGoogleAccess"])
        self.assertNotEqual(s2["fingerprint"], s["fingerprint"])
        self.req("POST", "/_test/stale-fingerprint?count=1")
        r = self.req("PATCH", CMP + "/regions/us-central1/subnetworks/sub",
                     {"privateIpGoogleAccess": False, "fingerprint": s2["fingerprint"]})
        self.assertComputeError(r, 412, "conditionNotMet")

    def test_firewall_patch(self):
        self.make_network()
        r = self.req("POST", CMP + "/global/firewalls",
                     {"name": "fw", "network": "global/networks/net", "sourceRanges": ["10.0.0.0/8"],
                      "allowed": [{"IPProtocol": "tcp", "ports": ["22"]}]})
        self.assertEqual(r.status, 200, r)
        self.wait_compute(r.json())
        f = self.req("GET", CMP + "/global/firewalls/fw").json()
        self.assertEqual(f["priority"], 1000)
        self.assertEqual(f["direction"], "INGRESS")
        r = self.req("PATCH", CMP + "/global/firewalls/fw", {"sourceRanges": ["10.1.0.0/16"], "priority": 900})
        self.wait_compute(r.json())
        f = self.req("GET", CMP + "/global/firewalls/fw").json()
        self.assertEqual((f["sourceRanges"], f["priority"]), (["10.1.0.0/16"], 900))
        r = self.req("POST", CMP + "/global/firewalls", {"name": "fw2", "network": "global/networks/nope",
                                                        "allowed": [{"IPProtocol": "tcp"}]})
        self.assertComputeError(r, 404, "notFound")

    def test_list_pagination(self):
        for i in range(7):
            r = self.req("POST", CMP + "/global/networks", {"name": "n%d" % i})
            self.assertEqual(r.status, 200, r)
        names, token, pages = [], None, 0
        while True:
            path = CMP + "/global/networks?maxResults=3" + ("&pageToken=" + token if token else "")
            j = self.req("GET", path).json()
            self.assertEqual(j["kind"], "compute#networkList")
            pages += 1
            names += [x["name"] for x in j["items"]]
            token = j.get("nextPageToken")
            if not token:
                break
        self.assertEqual(pages, 3)
        self.assertEqual(names, ["n%d" % i for i in range(7)])
        self.assertComputeError(self.req("GET", CMP + "/global/networks?maxResults=501"), 400, "invalid")
        self.assertComputeError(self.req("GET", CMP + "/global/networks?pageToken=garbage"), 400, "invalid")

    def test_failed_compute_operation(self):
        self.req("POST", "/_test/fail-operation?status=QUOTA_EXCEEDED&message=Quota+NETWORKS+exceeded")
        r = self.req("POST", CMP + "/global/networks", {"name": "net"})
        done = self.wait_compute(r.json())
        self.assertEqual(done["error"]["errors"][0]["code"], "QUOTA_EXCEEDED")
        self.assertEqual(done["httpErrorStatusCode"], 403)
        self.assertComputeError(self.req("GET", CMP + "/global/networks/net"), 404, "notFound")

    def test_operations_list_wait_and_set_size(self):
        r = self.req("POST", LOC + "/clusters", {"cluster": {"name": "c1", "initialNodeCount": 1}})
        op = r.json()
        ops = self.req("GET", LOC + "/operations").json()["operations"]
        self.assertEqual([o["name"] for o in ops], [op["name"]])
        self.assertEqual(ops[0]["status"], "PENDING")
        self.wait_gke(op)
        r = self.req("POST", LOC + "/clusters/c1/nodePools/default-pool:setSize", {"nodeCount": 3})
        self.assertEqual(r.json()["operationType"], "SET_NODE_POOL_SIZE")
        self.assertGkeError(self.req("POST", LOC + "/clusters/c1/nodePools/default-pool:setSize", {"nodeCount": 1}),
                            400, "FAILED_PRECONDITION")
        self.wait_gke(r.json())
        self.assertGkeError(self.req("POST", LOC + "/clusters/c1/nodePools/default-pool:setSize", {"nodeCount": -1}),
                            400, "INVALID_ARGUMENT")
        # compute: POST .../operations/{op}/wait returns the operation DONE
        op = self.req("POST", CMP + "/global/networks", {"name": "net"}).json()
        done = self.req("POST", CMP + "/global/operations/%s/wait" % op["name"]).json()
        self.assertEqual(done["status"], "DONE")
        self.assertComputeError(self.req("GET", CMP + "/global/operations/operation-0-0"), 404, "notFound")

    def test_request_counter(self):
        self.req("GET", CMP + "/global/networks")
        self.req("GET", LOC + "/clusters")
        c = self.req("GET", "/_test/requests").json()
        self.assertEqual(c["by_method"].get("GET"), 2)


if __name__ == "__main__":
    unittest.main()

"""Tests of the ARM stand-in itself (tests/servers/arm_server.py), over real HTTP."""

import unittest
import urllib.parse

import serverutil

SUB = "/subscriptions/00000000-0000-0000-0000-000000000001"
RG = SUB + "/resourceGroups/nebari-dev"
NET = RG + "/providers/Microsoft.Network/virtualNetworks/vnet"
AKS = RG + "/providers/Microsoft.ContainerService/managedClusters/nebari-dev"
MI = RG + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities/wi"
V_RES, V_NET, V_AKS, V_MI = "2021-04-01", "2024-05-01", "2024-09-01", "2023-01-31"
TOKEN = "arm-test-token"


def q(path, version):
    return path + ("&" if "?" in path else "?") + "api-version=" + version


class ArmServerTest(unittest.TestCase):
    extra_args = ["--require-token", TOKEN, "--page-size", "2", "--lro-polls", "2"]

    @classmethod
    def setUpClass(cls):
        cls.sp = serverutil.start_server("arm_server.py", cls.extra_args)

    @classmethod
    def tearDownClass(cls):
        serverutil.stop_server(cls.sp)

    def setUp(self):
        self.raw("POST", "/_test/reset?data=1")

    def raw(self, method, path, body=None, headers=None, token=True):
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + TOKEN
        return serverutil.http_request(self.sp.port, method, path, body=body, headers=h)

    def call(self, method, path, version, body=None, headers=None):
        return self.raw(method, q(path, version), body, headers)

    def follow(self, url):
        """GET an absolute operation URL from a header."""
        u = urllib.parse.urlsplit(url)
        return self.raw("GET", u.path + "?" + u.query)

    def wait_op(self, r):
        url = r.headers["azure-asyncoperation"]
        for _ in range(10):
            s = self.follow(url).json()
            if s["status"] != "InProgress":
                return s
        self.fail("operation never finished")

    def make_rg(self, tags=None):
        r = self.call("PUT", RG, V_RES, {"location": "eastus", "tags": tags or {}})
        self.assertIn(r.status, (200, 201), r)
        return r

    def make_cluster(self):
        self.make_rg()
        body = {"location": "eastus", "tags": {"nic.nebari.dev_managed-by": "nic"},
                "properties": {"dnsPrefix": "nebari", "kubernetesVersion": "1.29.7",
                               "agentPoolProfiles": [{"name": "general", "vmSize": "Standard_D4s_v3", "count": 1,
                                                      "mode": "System"}]}}
        r = self.call("PUT", AKS, V_AKS, body)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(self.wait_op(r)["status"], "Succeeded")
        return r

    # ------------------------------------------------------------------ protocol basics
    def test_api_version_is_required_and_checked(self):
        r = self.raw("GET", RG)
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json()["error"]["code"], "MissingApiVersionParameter")
        r = self.call("GET", RG, "1999-01-01")
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json()["error"]["code"], "InvalidApiVersionParameter")
        self.assertIn("2021-04-01", r.json()["error"]["message"])
        r = self.call("GET", NET, "2021-04-01")  # a Microsoft.Resources version on a network path
        self.assertEqual(r.json()["error"]["code"], "NoRegisteredProviderFound")

    def test_token_required(self):
        r = self.raw("GET", q(RG, V_RES), token=False)
        self.assertEqual(r.status, 401)
        self.assertEqual(r.json()["error"]["code"], "AuthenticationFailed")
        self.assertIn("www-authenticate", r.headers)
        r = self.raw("GET", q(RG, V_RES), headers={"Authorization": "Bearer wrong"}, token=False)
        self.assertEqual(r.json()["error"]["code"], "InvalidAuthenticationToken")

    def test_resource_group_lifecycle_and_not_found(self):
        r = self.call("GET", RG, V_RES)
        self.assertEqual((r.status, r.json()["error"]["code"]), (404, "ResourceGroupNotFound"))
        self.assertEqual(self.make_rg({"a": "b"}).status, 201)
        self.assertEqual(self.make_rg({"a": "c"}).status, 200)
        g = self.call("GET", RG, V_RES).json()
        self.assertEqual((g["name"], g["location"], g["tags"]), ("nebari-dev", "eastus", {"a": "c"}))
        self.assertEqual(g["properties"]["provisioningState"], "Succeeded")
        r = self.call("PUT", RG, V_RES, {"location": "westus"})
        self.assertEqual((r.status, r.json()["error"]["code"]), (409, "InvalidResourceGroupLocation"))
        # resources in a missing group
        r = self.call("GET", SUB + "/resourceGroups/nope/providers/Microsoft.Network/virtualNetworks/v", V_NET)
        self.assertEqual(r.json()["error"]["code"], "ResourceGroupNotFound")

    def test_invalid_tag_names_rejected(self):
        r = self.call("PUT", RG, V_RES, {"location": "eastus", "tags": {"nic.nebari.dev/managed-by": "nic"}})
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json()["error"]["code"], "InvalidTagNameCharacters")

    # ------------------------------------------------------------------ async operations
    def test_vnet_put_is_async_then_succeeds(self):
        self.make_rg()
        r = self.call("PUT", NET, V_NET, {"location": "eastus", "properties": {
            "addressSpace": {"addressPrefixes": ["10.10.0.0/16"]},
            "subnets": [{"name": "nodes", "properties": {"addressPrefix": "10.10.0.0/20"}}]}})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["properties"]["provisioningState"], "Creating")
        self.assertTrue(r.headers["azure-asyncoperation"].startswith("http://"))
        self.assertIn("retry-after", r.headers)
        first = self.follow(r.headers["azure-asyncoperation"]).json()
        self.assertEqual(first["status"], "InProgress")
        self.assertEqual(self.wait_op(r)["status"], "Succeeded")
        v = self.call("GET", NET, V_NET).json()
        self.assertEqual(v["properties"]["provisioningState"], "Succeeded")
        self.assertEqual([s["name"] for s in v["properties"]["subnets"]], ["nodes"])
        s = self.call("GET", NET + "/subnets/nodes", V_NET).json()
        self.assertEqual(s["properties"]["addressPrefix"], "10.10.0.0/20")

    def test_conflict_while_operation_in_progress(self):
        self.make_rg()
        body = {"location": "eastus", "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}}
        r = self.call("PUT", NET, V_NET, body)
        r2 = self.call("PUT", NET, V_NET, body)
        self.assertEqual(r2.status, 409)
        self.assertEqual(r2.json()["error"]["code"], "AnotherOperationInProgress")
        self.wait_op(r)
        self.assertEqual(self.call("PUT", NET, V_NET, body).status, 200)

    def test_failed_operation_reports_error(self):
        self.make_rg()
        self.raw("POST", "/_test/lro-fail", {"path_contains": "virtualNetworks/vnet", "code": "QuotaExceeded",
                                             "message": "no quota"})
        r = self.call("PUT", NET, V_NET, {"location": "eastus",
                                          "properties": {"addressSpace": {"addressPrefixes": ["10.0.0.0/16"]}}})
        s = self.wait_op(r)
        self.assertEqual(s["status"], "Failed")
        self.assertEqual(s["error"], {"code": "QuotaExceeded", "message": "no quota"})
        self.assertEqual(self.call("GET", NET, V_NET).json()["properties"]["provisioningState"], "Failed")

    def test_delete_polls_location_then_404(self):
        self.make_cluster()
        r = self.call("DELETE", AKS, V_AKS)
        self.assertEqual(r.status, 202)
        loc = r.headers["location"]
        self.assertIn("/operationresults/", loc)
        self.assertEqual(self.follow(loc).status, 202)
        self.assertEqual(self.follow(loc).status, 204)
        r = self.call("GET", AKS, V_AKS)
        self.assertEqual((r.status, r.json()["error"]["code"]), (404, "ResourceNotFound"))
        self.assertEqual(self.call("GET", AKS + "/agentPools/general", V_AKS).status, 404)
        self.assertEqual(self.call("DELETE", AKS, V_AKS).status, 204)  # already gone

    def test_resource_group_delete_removes_contents(self):
        self.make_cluster()
        r = self.call("DELETE", RG, V_RES)
        self.assertEqual(r.status, 202)
        for _ in range(5):
            if self.follow(r.headers["location"]).status != 202:
                break
        self.assertEqual(self.call("GET", RG, V_RES).status, 404)
        self.assertEqual(self.call("GET", SUB + "/resources", V_RES).json()["value"], [])

    # ------------------------------------------------------------------ AKS
    def test_agent_pool_fields_validation_and_etag(self):
        self.make_cluster()
        pool = AKS + "/agentPools/user"
        r = self.call("PUT", pool, V_AKS, {"properties": {
            "vmSize": "Standard_D8s_v3", "enableAutoScaling": True, "minCount": 0, "maxCount": 5, "count": 0,
            "nodeLabels": {"role": "user"}, "nodeTaints": ["dedicated=user:NoSchedule"], "mode": "User",
            "tags": {"nic.nebari.dev_node-pool": "user"}}})
        self.assertEqual(r.status, 201, r)
        self.wait_op(r)
        g = self.call("GET", pool, V_AKS)
        p = g.json()["properties"]
        self.assertEqual((p["vmSize"], p["minCount"], p["maxCount"], p["enableAutoScaling"]),
                         ("Standard_D8s_v3", 0, 5, True))
        self.assertEqual(p["nodeLabels"], {"role": "user"})
        self.assertEqual(p["nodeTaints"], ["dedicated=user:NoSchedule"])
        etag = g.json()["eTag"]
        self.assertEqual(g.headers["etag"], etag)
        cl = self.call("GET", AKS, V_AKS).json()
        self.assertEqual(sorted(x["name"] for x in cl["properties"]["agentPoolProfiles"]), ["general", "user"])
        # vmSize is immutable
        r = self.call("PUT", pool, V_AKS, {"properties": {"vmSize": "Standard_D16s_v3"}})
        self.assertEqual((r.status, r.json()["error"]["code"]), (400, "PropertyChangeNotAllowed"))
        # min > max
        r = self.call("PUT", pool, V_AKS, {"properties": {"vmSize": "Standard_D8s_v3", "enableAutoScaling": True,
                                                           "minCount": 3, "maxCount": 1}})
        self.assertEqual((r.status, r.json()["error"]["code"]), (400, "InvalidParameter"))
        # If-Match: current etag works, the old one then fails with 412
        upd = {"properties": {"vmSize": "Standard_D8s_v3", "enableAutoScaling": True, "minCount": 1,
                              "maxCount": 7}}
        r = self.call("PUT", pool, V_AKS, upd, {"If-Match": etag})
        self.assertEqual(r.status, 200, r)
        self.wait_op(r)
        r = self.call("PUT", pool, V_AKS, upd, {"If-Match": etag})
        self.assertEqual((r.status, r.json()["error"]["code"]), (412, "PreconditionFailed"))

    def test_cluster_needs_system_pool_and_last_system_pool_stays(self):
        self.make_rg()
        r = self.call("PUT", AKS, V_AKS, {"location": "eastus", "properties": {"dnsPrefix": "x"}})
        self.assertEqual((r.status, r.json()["error"]["code"]), (400, "InvalidParameter"))
        self.make_cluster()
        c = self.call("GET", AKS, V_AKS).json()
        self.assertTrue(c["properties"]["fqdn"].endswith(".hcp.eastus.azmk8s.io"))
        self.assertIn("kubeletidentity", c["properties"]["identityProfile"])
        r = self.call("DELETE", AKS + "/agentPools/general", V_AKS)
        self.assertEqual((r.status, r.json()["error"]["code"]), (400, "OperationNotAllowed"))

    # ------------------------------------------------------------------ identities, lists
    def test_identity_is_synchronous(self):
        self.make_rg()
        r = self.call("PUT", MI, V_MI, {"location": "eastus", "tags": {"k": "v"}})
        self.assertEqual(r.status, 201)
        p = r.json()["properties"]
        self.assertTrue(p["principalId"] and p["clientId"] and p["tenantId"])
        self.assertNotIn("azure-asyncoperation", r.headers)
        self.assertEqual(self.call("GET", MI, V_MI).json()["properties"]["clientId"], p["clientId"])
        self.assertEqual(self.call("DELETE", MI, V_MI).status, 200)
        self.assertEqual(self.call("GET", MI, V_MI).status, 404)

    def test_pagination_and_tag_filter(self):
        self.make_rg()
        for i in range(5):
            tags = {"nic.nebari.dev_cluster-name": "c1"} if i % 2 == 0 else {"other": "x"}
            self.assertEqual(self.call("PUT", MI.replace("/wi", "/id%d" % i), V_MI,
                                       {"location": "eastus", "tags": tags}).status, 201)
        names, url, pages = [], q(RG + "/providers/Microsoft.ManagedIdentity/userAssignedIdentities", V_MI), 0
        while url:
            body = self.raw("GET", url).json()
            pages += 1
            names += [x["name"] for x in body["value"]]
            nl = body.get("nextLink")
            url = None if not nl else urllib.parse.urlsplit(nl).path + "?" + urllib.parse.urlsplit(nl).query
        self.assertEqual(pages, 3)
        self.assertEqual(names, ["id0", "id1", "id2", "id3", "id4"])
        flt = urllib.parse.quote("tagName eq 'nic.nebari.dev_cluster-name' and tagValue eq 'c1'")
        body = self.raw("GET", q(SUB + "/resources?$filter=" + flt, V_RES)).json()
        self.assertEqual([x["name"] for x in body["value"]], ["id0", "id2"])
        self.assertIn("nextLink", body)
        r = self.raw("GET", q(SUB + "/resources?$filter=" + urllib.parse.quote("location eq 'x'"), V_RES))
        self.assertEqual(r.json()["error"]["code"], "InvalidFilterInQueryString")

    def test_entra_token_endpoint(self):
        form = "grant_type=client_credentials&client_id=c&client_secret=s&scope=" + \
            urllib.parse.quote("https://management.azure.com/.default", safe="")
        r = serverutil.http_request(self.sp.port, "POST", "/tenant-1/oauth2/v2.0/token", body=form,
                                    headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(r.status, 200, r)
        tok = r.json()["access_token"]
        self.assertEqual(tok, TOKEN)
        self.assertEqual(self.raw("GET", q(RG, V_RES), headers={"Authorization": "Bearer " + tok}, token=False).status,
                         404)  # authenticated; the group just does not exist
        r = serverutil.http_request(self.sp.port, "POST", "/tenant-1/oauth2/v2.0/token",
                                    body=form.replace("client_credentials", "password"))
        self.assertEqual(r.json()["error"], "unsupported_grant_type")

    def test_if_none_match_and_subnet_in_use(self):
        self.make_cluster()
        r = self.call("PUT", AKS, V_AKS, {"location": "eastus", "properties": {}}, {"If-None-Match": "*"})
        self.assertEqual((r.status, r.json()["error"]["code"]), (412, "PreconditionFailed"))
        self.assertEqual(self.call("PUT", NET, V_NET, {"location": "eastus", "properties": {
            "addressSpace": {"addressPrefixes": ["10.1.0.0/16"]},
            "subnets": [{"name": "aks", "properties": {"addressPrefix": "10.1.0.0/20"}}]}}).status, 201)
        r = self.call("PUT", AKS + "/agentPools/user", V_AKS, {"properties": {
            "vmSize": "Standard_D4_v3", "count": 1, "vnetSubnetID": NET + "/subnets/aks"}})
        self.assertEqual(r.status, 201, r)
        self.wait_op(r)
        for _ in range(3):
            self.call("GET", NET, V_NET)  # lets the network's own create finish
        r = self.call("DELETE", NET + "/subnets/aks", V_NET)
        self.assertEqual((r.status, r.json()["error"]["code"]), (400, "InUseSubnetCannotBeDeleted"))
        r = self.raw("GET", q(RG + "/providers/Microsoft.Network/virtualNetworks", V_NET) + "&$skiptoken=zz")
        self.assertEqual(r.json()["error"]["code"], "InvalidSkipToken")

    def test_injected_error_and_request_counter(self):
        self.raw("POST", "/_test/reset")
        self.raw("POST", "/_test/inject", {"method": "GET", "path_contains": "resourceGroups/nebari-dev",
                                           "status": 429, "code": "TooManyRequests", "retry_after": 1})
        r = self.call("GET", RG, V_RES)
        self.assertEqual((r.status, r.headers.get("retry-after")), (429, "1"))
        self.assertEqual(self.call("GET", RG, V_RES).status, 404)
        counts = self.raw("GET", "/_test/requests").json()
        self.assertEqual(counts["by_method"].get("GET"), 2)


if __name__ == "__main__":
    unittest.main()

#!/usr/bin/env python3
"""In-memory stand-in for Azure Resource Manager (management.azure.com). TEST USE ONLY.

This is not Azure Resource Manager and not an emulator shipped by Microsoft: it is a small
protocol-faithful fake written for NIC's tests, following the public ARM REST reference and the
ARM async-operation guidelines (see tests/servers/README.md for the pages each behaviour follows
and what is missing).

Start:  python3 tests/servers/arm_server.py --host 127.0.0.1 --port 0 --port-file FILE
        [--require-token TOKEN] [--page-size N] [--lro-polls N] [--verbose]
Clients use http://127.0.0.1:<port> where they would use https://management.azure.com.
"""

import hashlib
import json
import os
import re
import sys
import threading
import time
import urllib.parse
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serverutil  # noqa: E402

# api-versions accepted per resource provider namespace (a subset of what ARM serves; the
# versions NIC pins are in this list).
API_VERSIONS = {
    "microsoft.resources": ["2021-04-01", "2022-09-01"],
    "microsoft.network": ["2023-09-01", "2024-05-01"],
    "microsoft.containerservice": ["2024-02-01", "2024-09-01"],
    "microsoft.managedidentity": ["2023-01-31"],
}

# Resource types: (namespace, type path) -> settings. `async` types answer PUT/DELETE with an
# Azure-AsyncOperation / Location operation; the others complete synchronously.
TYPES = {
    "Microsoft.Network/virtualNetworks": {"async": True, "tracked": True, "etag_field": "etag"},
    "Microsoft.Network/virtualNetworks/subnets": {"async": True, "tracked": False, "etag_field": "etag"},
    "Microsoft.ContainerService/managedClusters": {"async": True, "tracked": True, "etag_field": "eTag"},
    "Microsoft.ContainerService/managedClusters/agentPools": {"async": True, "tracked": False, "etag_field": "eTag"},
    "Microsoft.ManagedIdentity/userAssignedIdentities": {"async": False, "tracked": True, "etag_field": None},
}
TYPES_LOWER = {k.lower(): k for k in TYPES}

TAG_FORBIDDEN = set('<>%&\\?/')


class ArmError(Exception):
    def __init__(self, status, code, message, details=None, headers=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []
        self.headers = headers or {}

    def body(self):
        err = {"code": self.code, "message": self.message}
        if self.details:
            err["details"] = self.details
        return {"error": err}


def now_iso():
    t = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%06dZ" % int((t % 1) * 1e6)


def new_etag(kind):
    tag = str(uuid.uuid4())
    # Network resources use weak ETags (W/"guid"); AKS returns a bare guid.
    return 'W/"%s"' % tag if kind.startswith("Microsoft.Network") else tag


def rg_not_found(rg):
    return ArmError(404, "ResourceGroupNotFound", "Resource group '%s' could not be found." % rg)


def resource_not_found(kind, name, rg):
    return ArmError(404, "ResourceNotFound",
                    "The Resource '%s/%s' under resource group '%s' was not found. For more details please go "
                    "to https://aka.ms/ARMResourceNotFoundFix" % (kind, name, rg))


def bad_request(code, message, target=None):
    details = [{"code": code, "message": message, "target": target}] if target else None
    return ArmError(400, code, message, details)


def check_tags(tags):
    if tags is None:
        return {}
    if not isinstance(tags, dict):
        raise bad_request("InvalidRequestContent", "The request content was invalid: 'tags' must be an object.")
    if len(tags) > 50:
        raise bad_request("InvalidTagCount", "The number of tags (%d) exceeds the limit of 50." % len(tags))
    bad = [k for k in tags if any(c in TAG_FORBIDDEN or ord(c) < 32 for c in k)]
    if bad:
        raise bad_request("InvalidTagNameCharacters",
                          "The tag names '%s' have reserved characters '<,>,%%,&,\\,?,/' or control characters."
                          % ",".join(bad))
    for k, v in tags.items():
        if len(k) > 512 or not isinstance(v, str) or len(v) > 256:
            raise bad_request("InvalidTag", "The tag '%s' has a name longer than 512 or a value that is not a string "
                              "of at most 256 characters." % k)
    return dict(tags)


# ----------------------------------------------------------------------------- store

class Operation:
    def __init__(self, op_id, sub, namespace, location, key, kind, polls):
        self.id = op_id
        self.sub = sub
        self.namespace = namespace
        self.location = location
        self.key = key          # resource key the operation works on
        self.kind = kind        # "put" or "delete"
        self.remaining = polls  # polls left until it completes
        self.status = "InProgress"
        self.error = None
        self.start = now_iso()
        self.end = None
        self.fail = None        # (code, message) to end with


class Store:
    def __init__(self):
        self.lock = threading.RLock()
        self.reset()

    def reset(self):
        self.groups = {}      # (sub, rg lower) -> rg dict
        self.resources = {}   # key (lower resource id) -> {"kind", "body", "op"}
        self.operations = {}  # op id -> Operation
        self.injections = []  # one-shot error responses (see /_test/inject)
        self.lro_failures = []  # (path_contains, code, message)


def key_of(rid):
    return rid.lower()


# ----------------------------------------------------------------------------- handler

RG_RE = re.compile(r"^/subscriptions/([^/]+)/resourcegroups/([^/]+)$", re.I)
RG_LIST_RE = re.compile(r"^/subscriptions/([^/]+)/resourcegroups$", re.I)
RES_LIST_RE = re.compile(r"^/subscriptions/([^/]+)(?:/resourcegroups/([^/]+))?/resources$", re.I)
PROVIDER_RE = re.compile(r"^/subscriptions/([^/]+)/resourcegroups/([^/]+)/providers/([^/]+)/(.+)$", re.I)
OP_RE = re.compile(r"^/subscriptions/([^/]+)/providers/([^/]+)/locations/([^/]+)/(operations|operationresults)/([^/]+)$", re.I)
TOKEN_RE = re.compile(r"^/([^/]+)/oauth2/v2\.0/token$")
FILTER_RE = re.compile(r"^\s*tagName\s+eq\s+'((?:[^']|'')*)'(?:\s+and\s+tagValue\s+eq\s+'((?:[^']|'')*)')?\s*$", re.I)


class ArmHandler(serverutil.BaseHandler):
    server_version = "nic-arm-stand-in/1"

    def _dispatch(self):
        raw_path, _, raw_query = self.path.partition("?")
        self.q = dict(urllib.parse.parse_qsl(raw_query, keep_blank_values=True))
        path = urllib.parse.unquote(raw_path)
        if path.startswith("/_test/"):
            return self._test_endpoint(path)
        if TOKEN_RE.match(path) and self.command == "POST":
            return self._token(path)
        self.server.count(self.command)
        self.request_id = str(uuid.uuid4())
        try:
            self.read_body()
            self._check_auth()
            self._check_injection(path)
            self._route(path.rstrip("/") or "/")
        except ArmError as e:
            self._send(e.status, e.body(), e.headers)
        except Exception as e:  # pragma: no cover - surfaced to tests as 500
            import traceback
            traceback.print_exc()
            self._send(500, ArmError(500, "InternalServerError", "internal error in test server: %s" % e).body())

    do_GET = do_PUT = do_PATCH = do_DELETE = do_POST = do_HEAD = _dispatch

    def _send(self, status, obj, headers=None):
        h = {"x-ms-request-id": self.request_id, "x-ms-correlation-request-id": self.request_id}
        h.update(headers or {})
        if obj is None:
            self.send_bytes(status, b"", None, h)
        else:
            self.send_json(status, obj, h, content_type="application/json; charset=utf-8")

    @property
    def base(self):
        return "http://%s" % (self.headers.get("Host") or "127.0.0.1:%d" % self.server.server_address[1])

    def _check_auth(self):
        tok = self.server.required_token
        if tok is None:
            return
        got = self.headers.get("Authorization")
        hdr = {"WWW-Authenticate": 'Bearer authorization_uri="https://login.microsoftonline.com/common", '
                                   'error="invalid_token", error_description="The authentication failed"'}
        if not got:
            raise ArmError(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.",
                           headers=hdr)
        if got != "Bearer " + tok:
            raise ArmError(401, "InvalidAuthenticationToken", "The access token is invalid.", headers=hdr)

    def _check_injection(self, path):
        st = self.server.store
        with st.lock:
            for inj in st.injections:
                if inj["method"] not in ("*", self.command):
                    continue
                if inj["path_contains"].lower() not in path.lower():
                    continue
                inj["count"] -= 1
                if inj["count"] <= 0:
                    st.injections.remove(inj)
                headers = {}
                if inj.get("retry_after") is not None:
                    headers["Retry-After"] = str(inj["retry_after"])
                raise ArmError(inj["status"], inj["code"], inj["message"], headers=headers)

    def _api_version(self, namespace):
        v = self.q.get("api-version")
        if not v:
            raise ArmError(400, "MissingApiVersionParameter",
                           "The api-version query parameter (?api-version=) is required for all requests.")
        supported = API_VERSIONS.get(namespace.lower(), [])
        if v not in supported:
            raise ArmError(400, "InvalidApiVersionParameter" if namespace.lower() == "microsoft.resources"
                           else "NoRegisteredProviderFound",
                           "The api-version '%s' is invalid. The supported versions are '%s'." % (v, ",".join(supported)))
        return v

    def _json_body(self):
        raw = self.read_body()
        if not raw:
            raise bad_request("InvalidRequestContent", "The request content was invalid and could not be deserialized: "
                              "the body is empty.")
        try:
            obj = json.loads(raw.decode())
        except ValueError as e:
            raise bad_request("InvalidRequestContent", "The request content was invalid and could not be deserialized: "
                              "%s" % e)
        if not isinstance(obj, dict):
            raise bad_request("InvalidRequestContent", "The request content must be a JSON object.")
        return obj

    # ---------------------------------------------------------------------- Entra token
    def _token(self, path):
        """OAuth2 client credentials as login.microsoftonline.com/{tenant}/oauth2/v2.0/token answers
        them (a convenience so one stand-in covers the whole ARM credential path)."""
        form = dict(urllib.parse.parse_qsl(self.read_body().decode()))
        if form.get("grant_type") != "client_credentials":
            return self.send_json(400, {"error": "unsupported_grant_type",
                                        "error_description": "AADSTS70003: grant_type must be client_credentials"})
        if not form.get("client_id") or (self.server.client_secret is not None
                                         and form.get("client_secret") != self.server.client_secret):
            return self.send_json(401, {"error": "invalid_client",
                                        "error_description": "AADSTS7000215: Invalid client secret provided."})
        if form.get("scope") != "https://management.azure.com/.default":
            return self.send_json(400, {"error": "invalid_scope",
                                        "error_description": "AADSTS70011: the scope '%s' is not valid here."
                                        % form.get("scope")})
        return self.send_json(200, {"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599,
                                    "access_token": self.server.required_token or "arm-stand-in-token"})

    # ---------------------------------------------------------------------- test endpoints
    def _test_endpoint(self, path):
        st = self.server.store
        if path == "/_test/requests" and self.command == "GET":
            return self.send_json(200, self.server.counts_snapshot())
        if path == "/_test/reset" and self.command == "POST":
            self.read_body()
            self.server.reset_counts()
            if self.q.get("data") in ("1", "true"):
                with st.lock:
                    st.reset()
            return self.send_json(200, {"status": "ok"})
        if path == "/_test/inject" and self.command == "POST":
            spec = json.loads(self.read_body() or b"{}")
            inj = {"method": spec.get("method", "*"), "path_contains": spec.get("path_contains", ""),
                   "status": int(spec.get("status", 500)), "code": spec.get("code", "InternalServerError"),
                   "message": spec.get("message", "injected failure"), "count": int(spec.get("count", 1)),
                   "retry_after": spec.get("retry_after")}
            with st.lock:
                st.injections.append(inj)
            return self.send_json(200, {"status": "ok"})
        if path == "/_test/lro-fail" and self.command == "POST":
            spec = json.loads(self.read_body() or b"{}")
            with st.lock:
                st.lro_failures.append((spec.get("path_contains", ""), spec.get("code", "InternalOperationError"),
                                        spec.get("message", "injected operation failure")))
            return self.send_json(200, {"status": "ok"})
        return self.send_json(404, {"error": {"code": "NotFound", "message": "unknown test endpoint"}})

    # ---------------------------------------------------------------------- routing
    def _route(self, path):
        m = self.command
        mt = OP_RE.match(path)
        if mt:
            self._api_version(mt.group(2))
            if m != "GET":
                raise ArmError(405, "MethodNotAllowed", "The requested method is not allowed.")
            return self._operation(mt.group(4).lower(), mt.group(5))
        mt = RG_LIST_RE.match(path)
        if mt:
            self._api_version("Microsoft.Resources")
            if m != "GET":
                raise ArmError(405, "MethodNotAllowed", "The requested method is not allowed.")
            return self._list_groups(mt.group(1))
        mt = RES_LIST_RE.match(path)
        if mt:
            self._api_version("Microsoft.Resources")
            if m != "GET":
                raise ArmError(405, "MethodNotAllowed", "The requested method is not allowed.")
            return self._list_resources(mt.group(1), mt.group(2))
        mt = RG_RE.match(path)
        if mt:
            self._api_version("Microsoft.Resources")
            sub, rg = mt.group(1), mt.group(2)
            if m == "PUT":
                return self._put_group(sub, rg)
            if m == "GET":
                return self._get_group(sub, rg)
            if m == "DELETE":
                return self._delete_group(sub, rg)
            if m == "HEAD":
                with self.server.store.lock:
                    exists = (sub.lower(), rg.lower()) in self.server.store.groups
                return self._send(204 if exists else 404, None)
            raise ArmError(405, "MethodNotAllowed", "The requested method is not allowed.")
        mt = PROVIDER_RE.match(path)
        if mt:
            sub, rg, ns, rest = mt.groups()
            self._api_version(ns)
            return self._provider_resource(sub, rg, ns, rest)
        raise ArmError(404, "InvalidResourceType" if "/providers/" in path else "NotFound",
                       "The resource path '%s' is not served by this stand-in." % path)

    # ---------------------------------------------------------------------- pagination
    def _page(self, items):
        size = self.server.page_size
        try:
            start = int(self.q.get("$skiptoken", "0"))
        except ValueError:
            raise bad_request("InvalidSkipToken", "The $skiptoken '%s' is not valid." % self.q.get("$skiptoken"))
        if start < 0 or start > len(items):
            raise bad_request("InvalidSkipToken", "The $skiptoken '%s' is not valid." % start)
        out = {"value": items[start:start + size]}
        if start + size < len(items):
            q = dict(self.q)
            q["$skiptoken"] = str(start + size)
            raw_path = self.path.partition("?")[0]
            out["nextLink"] = self.base + raw_path + "?" + urllib.parse.urlencode(q, quote_via=urllib.parse.quote)
        return out

    def _tag_filter(self):
        f = self.q.get("$filter")
        if not f:
            return None
        mt = FILTER_RE.match(f)
        if not mt:
            raise bad_request("InvalidFilterInQueryString",
                              "The $filter '%s' is not supported. Use tagName eq 'name' [and tagValue eq 'value']." % f)
        name = mt.group(1).replace("''", "'")
        value = mt.group(2).replace("''", "'") if mt.group(2) is not None else None
        return name, value

    @staticmethod
    def _matches(tags, flt):
        if flt is None:
            return True
        name, value = flt
        for k, v in (tags or {}).items():
            # ARM tag names are case-insensitive; values are case-sensitive.
            if k.lower() == name.lower() and (value is None or v == value):
                return True
        return False

    # ---------------------------------------------------------------------- resource groups
    def _group_json(self, g):
        return {"id": g["id"], "name": g["name"], "type": "Microsoft.Resources/resourceGroups",
                "location": g["location"], "tags": g["tags"],
                "properties": {"provisioningState": g["state"]}}

    def _put_group(self, sub, rg):
        body = self._json_body()
        loc = body.get("location")
        if not loc:
            raise bad_request("LocationRequired", "The location property is required for this definition.")
        if not re.match(r"^[-\w._()]{1,90}$", rg) or rg.endswith("."):
            raise bad_request("InvalidResourceGroup", "The provided resource group name '%s' has these invalid "
                              "characters or is too long." % rg)
        tags = check_tags(body.get("tags"))
        st = self.server.store
        with st.lock:
            k = (sub.lower(), rg.lower())
            g = st.groups.get(k)
            if g is not None:
                if g["state"] == "Deleting":
                    raise ArmError(409, "ResourceGroupBeingDeleted",
                                   "The resource group '%s' is in deprovisioning state and cannot perform this "
                                   "operation." % g["name"])
                if g["location"].replace(" ", "").lower() != loc.replace(" ", "").lower():
                    raise ArmError(409, "InvalidResourceGroupLocation",
                                   "Invalid resource group location '%s'. The Resource group already exists in "
                                   "location '%s'." % (loc, g["location"]))
                g["tags"] = tags
                return self._send(200, self._group_json(g))
            g = {"id": "/subscriptions/%s/resourceGroups/%s" % (sub, rg), "name": rg, "location": loc,
                 "tags": tags, "state": "Succeeded", "sub": sub}
            st.groups[k] = g
            return self._send(201, self._group_json(g))

    def _get_group(self, sub, rg):
        st = self.server.store
        with st.lock:
            g = st.groups.get((sub.lower(), rg.lower()))
            if g is None:
                raise rg_not_found(rg)
            if g["state"] == "Deleting":
                self._advance_for(("rg", sub.lower(), rg.lower()))
                g = st.groups.get((sub.lower(), rg.lower()))
                if g is None:
                    raise rg_not_found(rg)
            return self._send(200, self._group_json(g))

    def _delete_group(self, sub, rg):
        st = self.server.store
        with st.lock:
            g = st.groups.get((sub.lower(), rg.lower()))
            if g is None:
                # ARM: deleting a resource group that does not exist is 404 ResourceGroupNotFound
                raise rg_not_found(rg)
            if g["state"] == "Deleting":
                op = self._find_op(("rg", sub.lower(), rg.lower()))
            else:
                g["state"] = "Deleting"
                op = self._new_op(sub, "Microsoft.Resources", g["location"], ("rg", sub.lower(), rg.lower()), "delete",
                                  g["id"])
            return self._send(202, None, self._op_headers(op, "Microsoft.Resources", location_only=True))

    def _list_groups(self, sub):
        flt = self._tag_filter()
        st = self.server.store
        with st.lock:
            items = [self._group_json(g) for (s, _), g in sorted(st.groups.items()) if s == sub.lower()
                     and self._matches(g["tags"], flt)]
        return self._send(200, self._page(items))

    def _list_resources(self, sub, rg):
        flt = self._tag_filter()
        st = self.server.store
        with st.lock:
            if rg is not None and (sub.lower(), rg.lower()) not in st.groups:
                raise rg_not_found(rg)
            items = []
            for k in sorted(st.resources):
                r = st.resources[k]
                if not TYPES[r["kind"]]["tracked"] or r["sub"] != sub.lower():
                    continue
                if rg is not None and r["rg"] != rg.lower():
                    continue
                b = r["body"]
                if not self._matches(b.get("tags"), flt):
                    continue
                items.append({"id": b["id"], "name": b["name"], "type": b["type"], "location": b.get("location"),
                              "tags": b.get("tags", {})})
        return self._send(200, self._page(items))

    # ---------------------------------------------------------------------- operations
    def _new_op(self, sub, namespace, location, key, kind, resource_id):
        st = self.server.store
        op = Operation(str(uuid.uuid4()), sub, namespace, (location or "eastus").replace(" ", "").lower(), key, kind,
                       self.server.lro_polls)
        for pc, code, msg in list(st.lro_failures):
            if pc.lower() in resource_id.lower():
                op.fail = (code, msg)
                st.lro_failures.remove((pc, code, msg))
                break
        st.operations[op.id] = op
        if op.remaining <= 0:
            self._complete(op)
        return op

    def _find_op(self, key):
        for op in self.server.store.operations.values():
            if op.key == key and op.status == "InProgress":
                return op
        return None

    def _op_headers(self, op, namespace, location_only=False):
        av = self.q.get("api-version")
        base = "%s/subscriptions/%s/providers/%s/locations/%s" % (self.base, op.sub, namespace, op.location)
        h = {"Location": "%s/operationresults/%s?api-version=%s" % (base, op.id, av),
             "Retry-After": str(self.server.retry_after)}
        if not location_only:
            h["Azure-AsyncOperation"] = "%s/operations/%s?api-version=%s" % (base, op.id, av)
        return h

    def _advance_for(self, key):
        op = self._find_op(key)
        if op is not None:
            self._advance(op)

    def _advance(self, op):
        if op.status != "InProgress":
            return
        op.remaining -= 1
        if op.remaining <= 0:
            self._complete(op)

    def _complete(self, op):
        st = self.server.store
        op.end = now_iso()
        if op.fail:
            op.status = "Failed"
            op.error = {"code": op.fail[0], "message": op.fail[1]}
        else:
            op.status = "Succeeded"
        if op.key[0] == "rg":
            g = st.groups.get(op.key[1:])
            if op.status == "Succeeded":
                st.groups.pop(op.key[1:], None)
                prefix = "/subscriptions/%s/resourcegroups/%s/" % op.key[1:]
                for k in [k for k in st.resources if k.startswith(prefix)]:
                    del st.resources[k]
            elif g is not None:
                g["state"] = "Succeeded"
            return
        r = st.resources.get(op.key)
        if r is None:
            return
        r["op"] = None
        if op.kind == "delete":
            if op.status == "Succeeded":
                self._drop(op.key)
            else:
                r["body"]["properties"]["provisioningState"] = "Failed"
        else:
            r["body"]["properties"]["provisioningState"] = op.status
            if r["kind"].endswith("/agentPools") and op.status == "Succeeded":
                self._sync_cluster_profiles(r["parent"])

    def _drop(self, key):
        st = self.server.store
        r = st.resources.pop(key, None)
        if r is None:
            return
        for k in [k for k in st.resources if k.startswith(key + "/")]:
            del st.resources[k]
        if r["kind"].endswith("/agentPools"):
            self._sync_cluster_profiles(r["parent"])
        if r["kind"].endswith("/subnets"):
            self._sync_vnet_subnets(r["parent"])

    def _operation(self, which, op_id):
        st = self.server.store
        with st.lock:
            op = st.operations.get(op_id)
            if op is None:
                raise ArmError(404, "OperationNotFound", "The operation '%s' could not be found." % op_id)
            self._advance(op)
            if which == "operations":
                body = {"id": "/subscriptions/%s/providers/%s/locations/%s/operations/%s" % (
                    op.sub, op.namespace, op.location, op.id), "name": op.id, "status": op.status,
                    "startTime": op.start}
                if op.end:
                    body["endTime"] = op.end
                if op.error:
                    body["error"] = op.error
                return self._send(200, body)
            # Location (operationresults): 202 while running, then the final result.
            if op.status == "InProgress":
                return self._send(202, None, {"Location": self.base + self.path,
                                              "Retry-After": str(self.server.retry_after)})
            if op.status == "Failed":
                return self._send(400 if op.error["code"] != "InternalOperationError" else 500, {"error": op.error})
            if op.kind == "delete":
                return self._send(204, None)
            r = st.resources.get(op.key)
            return self._send(200, self._public(r) if r else None)

    # ---------------------------------------------------------------------- provider resources
    def _provider_resource(self, sub, rg, ns, rest):
        segs = rest.split("/")
        # type/name pairs: virtualNetworks/v[/subnets/s]
        type_parts, names = segs[0::2], segs[1::2]
        kind_l = (ns + "/" + "/".join(type_parts)).lower()
        kind = TYPES_LOWER.get(kind_l)
        if kind is None:
            raise ArmError(400, "InvalidResourceType", "The resource type '%s' could not be found in the namespace "
                           "'%s' for api version '%s'." % ("/".join(type_parts), ns, self.q.get("api-version")))
        st = self.server.store
        with st.lock:
            if (sub.lower(), rg.lower()) not in st.groups:
                raise rg_not_found(rg)
            parent_id = None
            if len(type_parts) > 1:
                parent_kind = kind.rsplit("/", 1)[0]
                parent_id = "/subscriptions/%s/resourceGroups/%s/providers/%s/%s" % (
                    sub, rg, ns, "/".join(p for pair in zip(type_parts[:-1], names[:len(type_parts) - 1]) for p in pair))
                parent = st.resources.get(key_of(parent_id))
                if parent is None:
                    raise resource_not_found(parent_kind, names[len(type_parts) - 2], rg)
            coll_id = "/subscriptions/%s/resourceGroups/%s/providers/%s/%s" % (
                sub, rg, kind.split("/")[0], "/".join(p for pair in zip(type_parts, names + [None]) for p in pair
                                                     if p is not None))
            if len(names) < len(type_parts):
                if self.command != "GET":
                    raise ArmError(405, "MethodNotAllowed", "The requested method is not allowed.")
                return self._list_kind(kind, coll_id)
            rid = coll_id
            name = names[-1]
            m = self.command
            if m == "GET":
                return self._get_resource(kind, rid, name, rg)
            if m == "PUT":
                return self._put_resource(kind, rid, name, sub, rg, parent_id)
            if m == "DELETE":
                return self._delete_resource(kind, rid, name, sub, rg)
            raise ArmError(405, "MethodNotAllowed", "The requested method is not allowed.")

    def _public(self, r):
        return json.loads(json.dumps(r["body"]))

    def _list_kind(self, kind, coll_id):
        st = self.server.store
        prefix = key_of(coll_id) + "/"
        items = [self._public(r) for k, r in sorted(st.resources.items())
                 if r["kind"] == kind and k.startswith(prefix) and "/" not in k[len(prefix):]]
        return self._send(200, self._page(items))

    def _get_resource(self, kind, rid, name, rg):
        st = self.server.store
        r = st.resources.get(key_of(rid))
        if r is None:
            raise resource_not_found(kind, name, rg)
        if r["op"] is not None:
            # a client polling the resource itself (provisioningState) also moves time on
            op = st.operations.get(r["op"])
            if op is not None:
                self._advance(op)
            r = st.resources.get(key_of(rid))
            if r is None:
                raise resource_not_found(kind, name, rg)
        h = {}
        ef = TYPES[kind]["etag_field"]
        if ef:
            h["ETag"] = r["body"][ef]
        return self._send(200, self._public(r), h)

    def _check_conditions(self, kind, r):
        ef = TYPES[kind]["etag_field"]
        im = self.headers.get("If-Match")
        inm = self.headers.get("If-None-Match")
        if im is not None:
            if r is None or (im.strip() != "*" and (not ef or im.strip() != r["body"].get(ef))):
                raise ArmError(412, "PreconditionFailed",
                               "Operation failed as the provided etag '%s' does not match the current etag of the "
                               "resource." % im)
        if inm is not None and inm.strip() == "*" and r is not None:
            raise ArmError(412, "PreconditionFailed", "The resource already exists (If-None-Match: *).")

    def _busy(self, r, rid):
        st = self.server.store
        if r is not None and r["op"] is not None:
            op = st.operations.get(r["op"])
            if op is not None and op.status == "InProgress":
                verb = "Deleting" if op.kind == "delete" else "Updating"
                raise ArmError(409, "AnotherOperationInProgress",
                               "Operation is not allowed because there's an in progress %s operation on '%s'. "
                               "Please wait for it to finish before starting a new operation." % (verb.lower(), rid))

    def _put_resource(self, kind, rid, name, sub, rg, parent_id):
        st = self.server.store
        body = self._json_body()
        key = key_of(rid)
        r = st.resources.get(key)
        self._check_conditions(kind, r)
        self._busy(r, rid)
        parent = st.resources.get(key_of(parent_id)) if parent_id else None
        if parent is not None:
            self._busy(parent, parent_id)
        info = TYPES[kind]
        props = body.get("properties") or {}
        if not isinstance(props, dict):
            raise bad_request("InvalidRequestContent", "'properties' must be an object.")
        out = {"id": rid, "name": name, "type": kind}
        if info["tracked"]:
            loc = body.get("location")
            if not loc:
                raise bad_request("LocationRequired", "The location property is required for this definition.")
            if r is not None and r["body"]["location"].replace(" ", "").lower() != loc.replace(" ", "").lower():
                raise bad_request("InvalidResourceLocation",
                                  "The resource '%s' already exists in location '%s'. A resource with the same name "
                                  "cannot be created in location '%s'." % (name, r["body"]["location"], loc))
            out["location"] = loc
            out["tags"] = check_tags(body.get("tags"))
        old = r["body"] if r else None
        build = {
            "Microsoft.Network/virtualNetworks": self._vnet,
            "Microsoft.Network/virtualNetworks/subnets": self._subnet,
            "Microsoft.ContainerService/managedClusters": self._cluster,
            "Microsoft.ContainerService/managedClusters/agentPools": self._agent_pool,
            "Microsoft.ManagedIdentity/userAssignedIdentities": self._identity,
        }[kind]
        out["properties"] = build(body, props, old, rid, rg, sub)
        ef = info["etag_field"]
        if ef:
            out[ef] = new_etag(kind)
        status = 200 if r is not None else 201
        loc = out.get("location") or (parent["body"].get("location") if parent else None) or "eastus"
        entry = {"kind": kind, "body": out, "op": None, "sub": sub.lower(), "rg": rg.lower(),
                 "parent": key_of(parent_id) if parent_id else None}
        st.resources[key] = entry
        headers = {}
        if info["async"]:
            out["properties"]["provisioningState"] = "Updating" if r is not None else "Creating"
            op = self._new_op(sub, kind.split("/")[0], loc, key, "put", rid)
            if op.status == "InProgress":
                entry["op"] = op.id
            headers = self._op_headers(op, kind.split("/")[0])
            headers.pop("Location", None)
        else:
            out["properties"]["provisioningState"] = "Succeeded"
        if kind == "Microsoft.ContainerService/managedClusters":
            self._create_inline_pools(entry, body, sub, rg, r is None)
        if kind == "Microsoft.Network/virtualNetworks":
            # Documented simplification: a PUT without properties.subnets keeps the subnets.
            if "subnets" in props:
                self._replace_inline_subnets(entry, props.get("subnets") or [], rg, sub)
            else:
                self._sync_vnet_subnets(key)
        if kind == "Microsoft.Network/virtualNetworks/subnets":
            self._sync_vnet_subnets(entry["parent"])
        if ef:
            headers["ETag"] = out[ef]
        return self._send(status, self._public(entry), headers)

    def _delete_resource(self, kind, rid, name, sub, rg):
        st = self.server.store
        key = key_of(rid)
        r = st.resources.get(key)
        if r is None:
            # ARM: DELETE of a resource that does not exist is 204 No Content
            return self._send(204, None)
        self._check_conditions(kind, r)
        if r["op"] is not None:
            op = st.operations.get(r["op"])
            if op is not None and op.kind == "delete" and op.status == "InProgress":
                return self._send(202, None, self._op_headers(op, kind.split("/")[0]))
        self._busy(r, rid)
        if kind == "Microsoft.ContainerService/managedClusters/agentPools":
            pools = [x for x in st.resources.values() if x["parent"] == r["parent"]
                     and x["kind"] == kind and x["body"]["properties"].get("mode") == "System"]
            if r["body"]["properties"].get("mode") == "System" and len(pools) <= 1:
                raise bad_request("OperationNotAllowed", "The agent pool '%s' is the last System pool of the cluster "
                                  "and cannot be deleted." % name)
        if kind == "Microsoft.Network/virtualNetworks/subnets":
            users = [x["body"]["id"] for x in st.resources.values()
                     if x["kind"].endswith("/agentPools")
                     and (x["body"]["properties"].get("vnetSubnetID") or "").lower() == key]
            if users:
                raise bad_request("InUseSubnetCannotBeDeleted", "Subnet %s is in use by %s and cannot be deleted."
                                  % (name, users[0]), target=rid)
        if not TYPES[kind]["async"]:
            self._drop(key)
            return self._send(200, None)
        r["body"]["properties"]["provisioningState"] = "Deleting"
        loc = r["body"].get("location") or "eastus"
        op = self._new_op(sub, kind.split("/")[0], loc, key, "delete", rid)
        if op.status == "InProgress":
            r["op"] = op.id
        return self._send(202, None, self._op_headers(op, kind.split("/")[0]))

    # ---------------------------------------------------------------------- per-type bodies
    def _vnet(self, body, props, old, rid, rg, sub):
        prefixes = ((props.get("addressSpace") or {}).get("addressPrefixes"))
        if not prefixes or not isinstance(prefixes, list):
            raise bad_request("InvalidRequestFormat",
                              "Cannot parse the request: properties.addressSpace.addressPrefixes is required.",
                              target="properties.addressSpace")
        out = {"addressSpace": {"addressPrefixes": list(prefixes)},
               "resourceGuid": (old or {}).get("properties", {}).get("resourceGuid") or str(uuid.uuid4()),
               "enableDdosProtection": bool(props.get("enableDdosProtection", False)), "subnets": []}
        return out

    def _subnet(self, body, props, old, rid, rg, sub):
        p = props.get("addressPrefix")
        ps = props.get("addressPrefixes")
        if not p and not ps:
            raise bad_request("InvalidRequestFormat", "Cannot parse the request: the subnet needs addressPrefix or "
                              "addressPrefixes.", target="properties.addressPrefix")
        out = {}
        if p:
            out["addressPrefix"] = p
        if ps:
            out["addressPrefixes"] = list(ps)
        for k in ("serviceEndpoints", "privateEndpointNetworkPolicies", "delegations"):
            if k in props:
                out[k] = props[k]
        return out

    def _identity(self, body, props, old, rid, rg, sub):
        prev = (old or {}).get("properties", {})
        return {"tenantId": prev.get("tenantId") or "72f988bf-86f1-41af-91ab-2d7cd011db47",
                "principalId": prev.get("principalId") or str(uuid.uuid4()),
                "clientId": prev.get("clientId") or str(uuid.uuid4())}

    def _cluster(self, body, props, old, rid, rg, sub):
        prev = (old or {}).get("properties", {})
        pools = props.get("agentPoolProfiles")
        if old is None:
            if not pools:
                raise bad_request("InvalidParameter", "A managed cluster needs at least one agent pool in "
                                  "properties.agentPoolProfiles.", target="agentPoolProfiles")
            if not any((p.get("mode") or "System") == "System" for p in pools):
                raise bad_request("InvalidParameter", "At least one agent pool must have mode System.",
                                  target="agentPoolProfiles")
            if not props.get("dnsPrefix"):
                raise bad_request("InvalidParameter", "properties.dnsPrefix is required.", target="dnsPrefix")
        elif props.get("dnsPrefix") and props["dnsPrefix"] != prev.get("dnsPrefix"):
            raise bad_request("PropertyChangeNotAllowed", "Changing property 'dnsPrefix' is not allowed.",
                              target="dnsPrefix")
        dns = props.get("dnsPrefix") or prev.get("dnsPrefix")
        loc = (body.get("location") or "eastus").replace(" ", "").lower()
        h = hashlib.sha1(rid.lower().encode()).hexdigest()[:8]
        out = {
            "kubernetesVersion": props.get("kubernetesVersion") or prev.get("kubernetesVersion") or "1.29.7",
            "dnsPrefix": dns,
            "fqdn": "%s-%s.hcp.%s.azmk8s.io" % (dns, h, loc),
            "nodeResourceGroup": props.get("nodeResourceGroup") or prev.get("nodeResourceGroup")
            or "MC_%s_%s_%s" % (rg, rid.rsplit("/", 1)[1], loc),
            "enableRBAC": props.get("enableRBAC", True),
            "oidcIssuerProfile": {"enabled": bool((props.get("oidcIssuerProfile") or {}).get("enabled"))},
            "securityProfile": props.get("securityProfile") or {},
            "networkProfile": props.get("networkProfile") or prev.get("networkProfile")
            or {"networkPlugin": "kubenet", "serviceCidr": "10.0.0.0/16", "dnsServiceIP": "10.0.0.10"},
            "identityProfile": prev.get("identityProfile") or {"kubeletidentity": {
                "resourceId": "/subscriptions/%s/resourceGroups/MC_%s/providers/Microsoft.ManagedIdentity/"
                              "userAssignedIdentities/%s-agentpool" % (sub, rg, rid.rsplit("/", 1)[1]),
                "clientId": str(uuid.uuid4()), "objectId": str(uuid.uuid4())}},
            "agentPoolProfiles": [],
        }
        if out["oidcIssuerProfile"]["enabled"]:
            out["oidcIssuerProfile"]["issuerURL"] = "https://%s.oic.prod-aks.azure.com/%s/" % (loc, h)
        return out

    def _agent_pool(self, body, props, old, rid, rg, sub):
        prev = (old or {}).get("properties", {})
        name = rid.rsplit("/", 1)[1]
        if not re.match(r"^[a-z][a-z0-9]{0,11}$", name):
            raise bad_request("InvalidAgentPoolName", "The agent pool name '%s' is invalid: it must start with a "
                              "lowercase letter and have at most 12 lowercase letters and digits." % name,
                              target="name")
        return self._pool_props(props, prev, name)

    def _pool_props(self, props, prev, name):
        vm = props.get("vmSize") or prev.get("vmSize")
        if not vm:
            raise bad_request("InvalidParameter", "The agent pool '%s' needs properties.vmSize." % name,
                              target="vmSize")
        if prev and props.get("vmSize") and props["vmSize"] != prev.get("vmSize"):
            raise bad_request("PropertyChangeNotAllowed", "Changing property 'vmSize' is not allowed.", target="vmSize")
        auto = bool(props.get("enableAutoScaling", False))
        count = props.get("count", prev.get("count", 1))
        out = {"vmSize": vm, "count": count, "enableAutoScaling": auto,
               "mode": props.get("mode") or prev.get("mode") or "User",
               "osType": "Linux", "type": "VirtualMachineScaleSets",
               "osDiskSizeGB": props.get("osDiskSizeGB") or prev.get("osDiskSizeGB") or 128,
               "orchestratorVersion": props.get("orchestratorVersion") or prev.get("orchestratorVersion") or "1.29.7",
               "powerState": {"code": "Running"}}
        if auto:
            mn, mx = props.get("minCount"), props.get("maxCount")
            if mn is None or mx is None:
                raise bad_request("InvalidParameter", "minCount and maxCount are required when enableAutoScaling is "
                                  "true (agent pool '%s')." % name, target="minCount")
            if not (isinstance(mn, int) and isinstance(mx, int)) or mn < 0 or mn > mx:
                raise bad_request("InvalidParameter", "The value of minCount (%s) must be at most maxCount (%s) "
                                  "(agent pool '%s')." % (mn, mx, name), target="minCount")
            if count is not None and not (mn <= count <= mx):
                count = max(mn, min(mx, count))
            out.update({"minCount": mn, "maxCount": mx, "count": count})
        elif props.get("minCount") is not None or props.get("maxCount") is not None:
            raise bad_request("InvalidParameter", "minCount and maxCount can only be set when enableAutoScaling is "
                              "true (agent pool '%s')." % name, target="minCount")
        for k in ("nodeLabels", "tags"):
            v = props.get(k)
            if v is not None:
                if not isinstance(v, dict):
                    raise bad_request("InvalidParameter", "%s must be an object." % k, target=k)
                out[k] = check_tags(v) if k == "tags" else dict(v)
        taints = props.get("nodeTaints")
        if taints is not None:
            for t in taints:
                if not re.match(r"^[^=:]+(=[^:]*)?:(NoSchedule|PreferNoSchedule|NoExecute)$", t or ""):
                    raise bad_request("InvalidParameter", "The node taint '%s' is invalid: expected "
                                      "key=value:NoSchedule|PreferNoSchedule|NoExecute." % t, target="nodeTaints")
            out["nodeTaints"] = list(taints)
        for k in ("vnetSubnetID", "availabilityZones", "scaleSetPriority", "scaleSetEvictionPolicy"):
            if props.get(k) is not None:
                out[k] = props[k]
            elif prev.get(k) is not None:
                out[k] = prev[k]
        return out

    def _create_inline_pools(self, entry, body, sub, rg, creating):
        st = self.server.store
        cid = entry["body"]["id"]
        if not creating:
            # AKS use-etags: a cluster-level operation updates the cluster's and every agent
            # pool's eTag.
            for r in st.resources.values():
                if r["parent"] == key_of(cid) and r["kind"].endswith("/agentPools"):
                    r["body"]["eTag"] = new_etag("aks")
        if creating:
            for p in body["properties"].get("agentPoolProfiles") or []:
                pname = p.get("name") or ""
                if not re.match(r"^[a-z][a-z0-9]{0,11}$", pname):
                    raise bad_request("InvalidAgentPoolName", "The agent pool name '%s' is invalid." % pname,
                                      target="agentPoolProfiles.name")
                pp = self._pool_props(p, {}, pname)
                if not p.get("mode"):
                    pp["mode"] = "System"
                pp["provisioningState"] = "Succeeded"
                pid = cid + "/agentPools/" + pname
                st.resources[key_of(pid)] = {
                    "kind": "Microsoft.ContainerService/managedClusters/agentPools",
                    "body": {"id": pid, "name": pname, "type": "Microsoft.ContainerService/managedClusters/agentPools",
                             "eTag": new_etag("aks"), "properties": pp},
                    "op": None, "sub": sub.lower(), "rg": rg.lower(), "parent": key_of(cid)}
        self._sync_cluster_profiles(key_of(cid))

    def _sync_cluster_profiles(self, cluster_key):
        st = self.server.store
        c = st.resources.get(cluster_key)
        if c is None:
            return
        profiles = []
        for k, r in sorted(st.resources.items()):
            if r["parent"] == cluster_key and r["kind"].endswith("/agentPools"):
                p = {"name": r["body"]["name"]}
                p.update(r["body"]["properties"])
                profiles.append(p)
        c["body"]["properties"]["agentPoolProfiles"] = profiles

    def _replace_inline_subnets(self, entry, subnets, rg, sub):
        st = self.server.store
        vid = entry["body"]["id"]
        vkey = key_of(vid)
        keep = set()
        for s in subnets:
            sname = s.get("name")
            if not sname:
                raise bad_request("InvalidRequestFormat", "Every subnet in properties.subnets needs a name.")
            sid = vid + "/subnets/" + sname
            props = self._subnet(s, s.get("properties") or {}, None, sid, rg, sub)
            props["provisioningState"] = "Succeeded"
            old = st.resources.get(key_of(sid))
            st.resources[key_of(sid)] = {
                "kind": "Microsoft.Network/virtualNetworks/subnets",
                "body": {"id": sid, "name": sname, "type": "Microsoft.Network/virtualNetworks/subnets",
                         "etag": old["body"]["etag"] if old else new_etag("Microsoft.Network"), "properties": props},
                "op": None, "sub": sub.lower(), "rg": rg.lower(), "parent": vkey}
            keep.add(key_of(sid))
        for k in [k for k, r in st.resources.items() if r["parent"] == vkey and k not in keep]:
            del st.resources[k]
        self._sync_vnet_subnets(vkey)

    def _sync_vnet_subnets(self, vkey):
        st = self.server.store
        v = st.resources.get(vkey)
        if v is None:
            return
        v["body"]["properties"]["subnets"] = [
            {"id": r["body"]["id"], "name": r["body"]["name"], "properties": r["body"]["properties"]}
            for k, r in sorted(st.resources.items()) if r["parent"] == vkey]


def main(argv=None):
    p = serverutil.base_arg_parser(__doc__.splitlines()[1])
    p.add_argument("--require-token", default=None,
                   help="require 'Authorization: Bearer TOKEN' on every API request (else 401)")
    p.add_argument("--client-secret", default=None,
                   help="the client secret POST /{tenant}/oauth2/v2.0/token accepts (default: any); the token "
                        "it hands out is --require-token's")
    p.add_argument("--page-size", type=int, default=100, help="items per list page before nextLink (default 100)")
    p.add_argument("--lro-polls", type=int, default=2,
                   help="status polls before an async operation completes (default 2; 0 = at once)")
    p.add_argument("--retry-after", type=int, default=0,
                   help="Retry-After seconds sent with operation headers (default 0)")
    args = p.parse_args(argv)
    httpd = serverutil.CountingServer((args.host, args.port), ArmHandler, quiet=args.quiet)
    httpd.store = Store()
    httpd.required_token = args.require_token
    httpd.client_secret = args.client_secret
    httpd.page_size = max(1, args.page_size)
    httpd.lro_polls = max(0, args.lro_polls)
    httpd.retry_after = max(0, args.retry_after)
    serverutil.serve(httpd, args.port_file, "arm_server")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""In-memory stand-in for a subset of the Kubernetes API server. TEST USE ONLY.

This is not kube-apiserver: it is a small fake written for NIC's tests that follows the
public API conventions (Status objects, resourceVersion optimistic concurrency, list
pagination, label selectors, merge/JSON/strategic/apply patches) closely enough for NIC's
client and for kubectl. See tests/servers/README.md for the documents each behaviour follows
and what is not implemented.

Start:  python3 tests/servers/k8s_server.py --host 127.0.0.1 --port 0 --port-file FILE
        [--token TOKEN] [--tls-cert CERT --tls-key KEY] [--verbose]
"""

import base64
import copy
import datetime
import json
import os
import re
import ssl
import sys
import threading
import time
import urllib.parse
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serverutil  # noqa: E402

SERVER_VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-nic-test-stand-in",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.23.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}

VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]

# group, version, plural, singular, kind, namespaced, shortNames
RESOURCE_TABLE = [
    ("", "v1", "namespaces", "namespace", "Namespace", False, ["ns"]),
    ("", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", True, ["sa"]),
    ("", "v1", "resourcequotas", "resourcequota", "ResourceQuota", True, ["quota"]),
    ("", "v1", "limitranges", "limitrange", "LimitRange", True, ["limits"]),
    ("rbac.authorization.k8s.io", "v1", "roles", "role", "Role", True, []),
    ("rbac.authorization.k8s.io", "v1", "rolebindings", "rolebinding", "RoleBinding", True, []),
    ("rbac.authorization.k8s.io", "v1", "clusterroles", "clusterrole", "ClusterRole", False, []),
    ("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "clusterrolebinding", "ClusterRoleBinding", False, []),
    ("storage.k8s.io", "v1", "storageclasses", "storageclass", "StorageClass", False, ["sc"]),
    ("networking.k8s.io", "v1", "networkpolicies", "networkpolicy", "NetworkPolicy", True, ["netpol"]),
    ("scheduling.k8s.io", "v1", "priorityclasses", "priorityclass", "PriorityClass", False, ["pc"]),
]


class Resource:
    def __init__(self, group, version, plural, singular, kind, namespaced, short):
        self.group, self.version, self.plural, self.singular = group, version, plural, singular
        self.kind, self.namespaced, self.short = kind, namespaced, short
        self.api_version = "%s/%s" % (group, version) if group else version
        self.gr = "%s.%s" % (plural, group) if group else plural  # for messages

    def discovery(self):
        d = {"name": self.plural, "singularName": self.singular, "namespaced": self.namespaced,
             "kind": self.kind, "verbs": list(VERBS)}
        if self.short:
            d["shortNames"] = list(self.short)
        if self.group == "rbac.authorization.k8s.io":
            d["categories"] = []
        return d


RESOURCES = [Resource(*r) for r in RESOURCE_TABLE]
BY_GV = {}
for _r in RESOURCES:
    BY_GV.setdefault((_r.group, _r.version), {})[_r.plural] = _r

# Kinds whose registry strategy sets metadata.generation (PrepareForCreate sets 1); only
# NetworkPolicy bumps it, on spec changes (PriorityClass has an immutable value). Other kinds
# served here carry no generation, as on a real API server.
GENERATION_KINDS = ("NetworkPolicy", "PriorityClass")

# Known top-level fields per kind, for fieldValidation (Strict/Warn) of unknown fields.
KNOWN_FIELDS = {
    "Namespace": {"spec", "status"},
    "ServiceAccount": {"secrets", "imagePullSecrets", "automountServiceAccountToken"},
    "ResourceQuota": {"spec", "status"},
    "LimitRange": {"spec"},
    "Role": {"rules"},
    "ClusterRole": {"rules", "aggregationRule"},
    "RoleBinding": {"subjects", "roleRef"},
    "ClusterRoleBinding": {"subjects", "roleRef"},
    "StorageClass": {"provisioner", "parameters", "reclaimPolicy", "mountOptions", "allowVolumeExpansion",
                     "volumeBindingMode", "allowedTopologies"},
    "NetworkPolicy": {"spec"},
    "PriorityClass": {"value", "globalDefault", "description", "preemptionPolicy"},
}
OBJECT_META_FIELDS = {"name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation",
                      "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "labels",
                      "annotations", "ownerReferences", "finalizers", "managedFields"}


def unknown_fields(res, obj):
    out = []
    allowed = KNOWN_FIELDS.get(res.kind, set()) | {"apiVersion", "kind", "metadata"}
    for k in obj:
        if k not in allowed:
            out.append(k)
    for k in obj.get("metadata") or {}:
        if k not in OBJECT_META_FIELDS:
            out.append("metadata." + k)
    return out


PROTECTED_NAMESPACES = ("default", "kube-system", "kube-public")
INITIAL_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")

IGNORED_FIELD_PATHS = {("apiVersion",), ("kind",), ("metadata", "name"), ("metadata", "namespace"),
                       ("metadata", "uid"), ("metadata", "resourceVersion"), ("metadata", "generation"),
                       ("metadata", "creationTimestamp"), ("metadata", "managedFields"),
                       ("metadata", "deletionTimestamp"), ("metadata", "selfLink"), ("status",)}

# strategic-merge-patch merge keys for list fields of the kinds served here
SMP_MERGE_KEYS = {"secrets": "name", "imagePullSecrets": "name"}


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# ----------------------------------------------------------------------------- OpenAPI v3
#
# kubectl (create/apply/replace with the default --validate=strict) asks the OpenAPI v3 document
# whether the PATCH operation of the object's group/version/kind accepts the "fieldValidation"
# query parameter. If yes, it leaves validation to the server (fieldValidation=Strict), otherwise it
# downloads full schemas for client-side validation. The documents below therefore carry the paths,
# operations, x-kubernetes-group-version-kind extensions and query parameters of the real API, but
# no component schemas.

def _gv_path(group, version):
    return "apis/%s/%s" % (group, version) if group else "api/%s" % version


def openapi_v3_index():
    paths = {}
    for (g, v) in BY_GV:
        p = _gv_path(g, v)
        paths[p] = {"serverRelativeURL": "/openapi/v3/%s?hash=%s" % (p, "0" * 16)}
    return {"paths": paths}


def _q(name, desc):
    return {"name": name, "in": "query", "description": desc, "schema": {"type": "string", "uniqueItems": True}}


_WRITE_PARAMS = [_q("dryRun", "When present, indicates that modifications should not be persisted."),
                 _q("fieldManager", "fieldManager is a name associated with the actor or entity that is making these changes."),
                 _q("fieldValidation", "fieldValidation instructs the server on how to handle objects in the request "
                                       "containing unknown or duplicate fields (Ignore, Warn, Strict).")]
_LIST_PARAMS = [_q("labelSelector", "A selector to restrict the list of returned objects by their labels."),
                _q("fieldSelector", "A selector to restrict the list of returned objects by their fields."),
                _q("limit", "limit is a maximum number of responses to return for a list call."),
                _q("continue", "The continue option should be set when retrieving more results from the server."),
                _q("resourceVersion", "resourceVersion sets a constraint on what resource versions a request may be served from."),
                _q("watch", "Watch for changes to the described resources.")]


def openapi_v3_doc(gvpath):
    gv = None
    for (g, v) in BY_GV:
        if _gv_path(g, v) == gvpath:
            gv = (g, v)
    if gv is None:
        return None
    paths = {}
    for r in BY_GV[gv].values():
        gvk = {"group": r.group, "version": r.version, "kind": r.kind}
        base = "/" + gvpath + ("/namespaces/{namespace}/" if r.namespaced else "/") + r.plural
        params = [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}]
        if r.namespaced:
            params.append({"name": "namespace", "in": "path", "required": True, "schema": {"type": "string"}})

        def op(verb, action, extra=()):
            return {"operationId": "%s%s" % (verb, r.kind), "tags": [gvpath],
                    "x-kubernetes-action": action, "x-kubernetes-group-version-kind": dict(gvk),
                    "parameters": list(extra), "responses": {"200": {"description": "OK"}}}

        paths[base] = {
            "get": op("list", "list", _LIST_PARAMS),
            "post": op("create", "post", _WRITE_PARAMS),
            "delete": op("deletecollection", "deletecollection", _LIST_PARAMS + _WRITE_PARAMS[:1]),
            "parameters": params[1:],
        }
        paths[base + "/{name}"] = {
            "get": op("read", "get"),
            "put": op("replace", "put", _WRITE_PARAMS),
            "patch": op("patch", "patch", _WRITE_PARAMS + [_q("force", "Force is going to \"force\" Apply requests.")]),
            "delete": op("delete", "delete", _WRITE_PARAMS[:1]),
            "parameters": params,
        }
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes (NIC test stand-in)", "version": SERVER_VERSION["gitVersion"]},
            "paths": paths, "components": {"schemas": {}}}


# ----------------------------------------------------------------------------- protobuf request bodies
#
# kubectl's imperative generators (kubectl create namespace|serviceaccount|role|clusterrole|rolebinding|
# clusterrolebinding|quota|priorityclass) send application/vnd.kubernetes.protobuf: the 4-byte magic
# "k8s\0" followed by a runtime.Unknown {1: typeMeta{1 apiVersion, 2 kind}, 2: raw object, 3: contentEncoding,
# 4: contentType}. The object schemas below cover the fields of the kinds served here (field numbers as in
# the published k8s.io/api generated.proto files; checked against bodies sent by kubectl 1.32).

PB_MAGIC = b"k8s\x00"

# message -> {field number: (json name, type, nested message or None, repeated)}
_S, _I, _B, _M, _MAP, _QMAP, _T = "str", "int", "bool", "msg", "map", "qmap", "time"
PB_SCHEMAS = {
    "Unknown": {1: ("typeMeta", _M, "TypeMeta", False), 2: ("raw", "bytes", None, False),
                3: ("contentEncoding", _S, None, False), 4: ("contentType", _S, None, False)},
    "TypeMeta": {1: ("apiVersion", _S, None, False), 2: ("kind", _S, None, False)},
    "ObjectMeta": {1: ("name", _S, None, False), 2: ("generateName", _S, None, False),
                   3: ("namespace", _S, None, False), 4: ("selfLink", _S, None, False), 5: ("uid", _S, None, False),
                   6: ("resourceVersion", _S, None, False), 7: ("generation", _I, None, False),
                   8: ("creationTimestamp", _T, None, False), 9: ("deletionTimestamp", _T, None, False),
                   10: ("deletionGracePeriodSeconds", _I, None, False), 11: ("labels", _MAP, None, False),
                   12: ("annotations", _MAP, None, False), 13: ("ownerReferences", _M, "OwnerReference", True),
                   14: ("finalizers", _S, None, True)},
    "OwnerReference": {1: ("kind", _S, None, False), 3: ("name", _S, None, False), 4: ("uid", _S, None, False),
                       5: ("apiVersion", _S, None, False), 6: ("controller", _B, None, False),
                       7: ("blockOwnerDeletion", _B, None, False)},
    "Namespace": {1: ("metadata", _M, "ObjectMeta", False), 2: ("spec", _M, "NamespaceSpec", False)},
    "NamespaceSpec": {1: ("finalizers", _S, None, True)},
    "ServiceAccount": {1: ("metadata", _M, "ObjectMeta", False), 2: ("secrets", _M, "ObjectReference", True),
                       3: ("imagePullSecrets", _M, "LocalObjectReference", True),
                       4: ("automountServiceAccountToken", _B, None, False)},
    "ObjectReference": {1: ("kind", _S, None, False), 2: ("namespace", _S, None, False), 3: ("name", _S, None, False),
                        4: ("uid", _S, None, False), 5: ("apiVersion", _S, None, False),
                        6: ("resourceVersion", _S, None, False), 7: ("fieldPath", _S, None, False)},
    "LocalObjectReference": {1: ("name", _S, None, False)},
    "ResourceQuota": {1: ("metadata", _M, "ObjectMeta", False), 2: ("spec", _M, "ResourceQuotaSpec", False)},
    "ResourceQuotaSpec": {1: ("hard", _QMAP, None, False), 2: ("scopes", _S, None, True)},
    "Role": {1: ("metadata", _M, "ObjectMeta", False), 2: ("rules", _M, "PolicyRule", True)},
    "ClusterRole": {1: ("metadata", _M, "ObjectMeta", False), 2: ("rules", _M, "PolicyRule", True),
                    3: ("aggregationRule", _M, "AggregationRule", False)},
    "PolicyRule": {1: ("verbs", _S, None, True), 2: ("apiGroups", _S, None, True), 3: ("resources", _S, None, True),
                   4: ("resourceNames", _S, None, True), 5: ("nonResourceURLs", _S, None, True)},
    "AggregationRule": {1: ("clusterRoleSelectors", _M, "LabelSelector", True)},
    "LabelSelector": {1: ("matchLabels", _MAP, None, False),
                      2: ("matchExpressions", _M, "LabelSelectorRequirement", True)},
    "LabelSelectorRequirement": {1: ("key", _S, None, False), 2: ("operator", _S, None, False),
                                 3: ("values", _S, None, True)},
    "RoleBinding": {1: ("metadata", _M, "ObjectMeta", False), 2: ("subjects", _M, "Subject", True),
                    3: ("roleRef", _M, "RoleRef", False)},
    "ClusterRoleBinding": {1: ("metadata", _M, "ObjectMeta", False), 2: ("subjects", _M, "Subject", True),
                           3: ("roleRef", _M, "RoleRef", False)},
    "Subject": {1: ("kind", _S, None, False), 2: ("apiGroup", _S, None, False), 3: ("name", _S, None, False),
                4: ("namespace", _S, None, False)},
    "RoleRef": {1: ("apiGroup", _S, None, False), 2: ("kind", _S, None, False), 3: ("name", _S, None, False)},
    "PriorityClass": {1: ("metadata", _M, "ObjectMeta", False), 2: ("value", _I, None, False),
                      3: ("globalDefault", _B, None, False), 4: ("description", _S, None, False),
                      5: ("preemptionPolicy", _S, None, False)},
}
# Values JSON keeps even when zero/false (required fields and pointer fields).
PB_KEEP_ZERO = {"value", "automountServiceAccountToken"}


class PbError(Exception):
    pass


def _pb_varint(b, i):
    r = shift = 0
    while True:
        if i >= len(b):
            raise PbError("truncated varint")
        x = b[i]
        i += 1
        r |= (x & 0x7F) << shift
        shift += 7
        if not x & 0x80:
            return r, i


def _pb_fields(b):
    i = 0
    while i < len(b):
        key, i = _pb_varint(b, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _pb_varint(b, i)
        elif wt == 2:
            n, i = _pb_varint(b, i)
            if i + n > len(b):
                raise PbError("truncated field")
            v, i = b[i:i + n], i + n
        elif wt == 1:
            v, i = b[i:i + 8], i + 8
        elif wt == 5:
            v, i = b[i:i + 4], i + 4
        else:
            raise PbError("unsupported wire type %d" % wt)
        yield num, wt, v


def _pb_map(v, quantity):
    k = val = ""
    for num, _wt, x in _pb_fields(v):
        if num == 1:
            k = x.decode()
        elif num == 2:
            if quantity:
                val = next((q.decode() for n, _w, q in _pb_fields(x) if n == 1), "")
            else:
                val = x.decode()
    return k, val


def pb_decode(b, msg):
    schema = PB_SCHEMAS[msg]
    out = {}
    for num, wt, v in _pb_fields(b):
        if num not in schema:
            continue  # fields this stand-in does not model are dropped
        name, typ, sub, rep = schema[num]
        if typ == _S:
            val = v.decode("utf-8")
        elif typ == "bytes":
            val = bytes(v)
        elif typ == _I:
            val = v - (1 << 64) if v >= 1 << 63 else v
        elif typ == _B:
            val = bool(v)
        elif typ == _M:
            val = pb_decode(v, sub)
        elif typ == _T:
            secs = next((x for n, _w, x in _pb_fields(v) if n == 1), 0)
            val = (datetime.datetime.fromtimestamp(secs, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
                   if secs else "")
        elif typ in (_MAP, _QMAP):
            k, mv = _pb_map(v, typ == _QMAP)
            out.setdefault(name, {})[k] = mv
            continue
        else:
            continue
        if rep:
            out.setdefault(name, []).append(val)
        else:
            out[name] = val
    return out


def _pb_clean(v):
    """Drop proto zero values the JSON form omits (omitempty)."""
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            x = _pb_clean(x)
            if k in PB_KEEP_ZERO and x is not None:
                out[k] = x
            elif x in ("", 0, False, None, [], {}) and not (isinstance(x, list) and x):
                continue
            else:
                out[k] = x
        return out
    if isinstance(v, list):
        return [_pb_clean(x) for x in v]
    return v


def decode_k8s_protobuf(body):
    if not body.startswith(PB_MAGIC):
        raise PbError("missing protobuf magic prefix")
    unk = pb_decode(body[len(PB_MAGIC):], "Unknown")
    tm = unk.get("typeMeta") or {}
    kind = tm.get("kind", "")
    if kind not in PB_SCHEMAS or kind in ("Unknown", "TypeMeta"):
        raise PbError("protobuf bodies of kind %r are not supported by this stand-in" % kind)
    obj = _pb_clean(pb_decode(unk.get("raw", b""), kind))
    obj["apiVersion"], obj["kind"] = tm.get("apiVersion", ""), kind
    obj.setdefault("metadata", {})
    return obj


# ----------------------------------------------------------------------------- Status errors

class KubeError(Exception):
    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details

    def status(self):
        s = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
             "message": self.message, "reason": self.reason, "code": self.code}
        if self.details is not None:
            s["details"] = self.details
        return s


def _details(res, name):
    d = {"name": name, "kind": res.plural}
    if res.group:
        d["group"] = res.group
    return d


def err_not_found(res, name):
    return KubeError(404, "NotFound", '%s "%s" not found' % (res.gr, name), _details(res, name))


def err_ns_not_found(ns):
    return KubeError(404, "NotFound", 'namespaces "%s" not found' % ns, {"name": ns, "kind": "namespaces"})


def err_already_exists(res, name):
    return KubeError(409, "AlreadyExists", '%s "%s" already exists' % (res.gr, name), _details(res, name))


def err_conflict(res, name, why="the object has been modified; please apply your changes to the latest version and try again"):
    return KubeError(409, "Conflict", 'Operation cannot be fulfilled on %s "%s": %s' % (res.gr, name, why),
                     _details(res, name))


def err_bad_request(msg):
    return KubeError(400, "BadRequest", msg)


def err_invalid(res, name, causes):
    msg = '%s "%s" is invalid: %s' % (res.kind, name, ", ".join("%s: %s" % (c["field"], c["message"]) for c in causes))
    d = _details(res, name)
    d["kind"] = res.kind
    d["causes"] = [{"reason": c.get("reason", "FieldValueInvalid"), "message": c["message"], "field": c["field"]}
                   for c in causes]
    return KubeError(422, "Invalid", msg, d)


def err_path_not_found():
    return KubeError(404, "NotFound", "the server could not find the requested resource",
                     {"causes": [{"reason": "UnexpectedServerResponse", "message": "404 page not found"}]})


# ----------------------------------------------------------------------------- selectors

class Selector:
    """Label selector (equality- and set-based) per the 'Labels and Selectors' concept page."""

    def __init__(self, text):
        self.reqs = []
        text = (text or "").strip()
        if not text:
            return
        for part in self._split(text):
            self.reqs.append(self._parse_req(part.strip(), text))

    @staticmethod
    def _split(text):
        parts, depth, cur = [], 0, ""
        for ch in text:
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
            if ch == "," and depth == 0:
                parts.append(cur)
                cur = ""
            else:
                cur += ch
        parts.append(cur)
        return parts

    KEY = r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_./]*[A-Za-z0-9])?)"
    VAL = r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?"

    def _parse_req(self, s, whole):
        bad = err_bad_request("unable to parse requirement: invalid label selector: %r" % whole)
        m = re.match(r"^(?P<k>%s)\s+(?P<op>in|notin)\s*\((?P<vals>[^()]*)\)$" % self.KEY, s)
        if m:
            vals = [v.strip() for v in m.group("vals").split(",")]
            if any(not re.match("^%s$" % self.VAL, v) for v in vals):
                raise bad
            return (m.group("k"), m.group("op"), set(vals))
        m = re.match(r"^!\s*(?P<k>%s)$" % self.KEY, s)
        if m:
            return (m.group("k"), "!", None)
        m = re.match(r"^(?P<k>%s)\s*(?P<op>==|=|!=)\s*(?P<v>%s)$" % (self.KEY, self.VAL), s)
        if m:
            op = "!=" if m.group("op") == "!=" else "=="
            return (m.group("k"), op, m.group("v"))
        m = re.match(r"^(?P<k>%s)$" % self.KEY, s)
        if m:
            return (m.group("k"), "exists", None)
        raise bad

    def matches(self, labels):
        labels = labels or {}
        for key, op, val in self.reqs:
            has = key in labels
            if op == "==" and labels.get(key) != val:
                return False
            if op == "!=" and has and labels[key] == val:
                return False
            if op == "exists" and not has:
                return False
            if op == "!" and has:
                return False
            if op == "in" and (not has or labels[key] not in val):
                return False
            if op == "notin" and has and labels[key] in val:
                return False
        return True


class FieldSelector:
    SUPPORTED = {"metadata.name", "metadata.namespace"}

    def __init__(self, text):
        self.reqs = []
        for part in (text or "").split(","):
            part = part.strip()
            if not part:
                continue
            m = re.match(r"^([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*)$", part)
            if not m:
                raise err_bad_request("invalid field selector: %r" % text)
            if m.group(1) not in self.SUPPORTED:
                raise err_bad_request('field label not supported: %s' % m.group(1))
            self.reqs.append((m.group(1), "!=" if m.group(2) == "!=" else "==", m.group(3)))

    def matches(self, obj):
        md = obj.get("metadata", {})
        for field, op, val in self.reqs:
            actual = md.get(field.split(".", 1)[1], "")
            if (actual == val) != (op == "=="):
                return False
        return True


# ----------------------------------------------------------------------------- patches

def json_merge_patch(target, patch):
    """RFC 7386."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            result.pop(k, None)
        else:
            result[k] = json_merge_patch(result.get(k), v)
    return result


def strategic_merge_patch(target, patch, field=None):
    """Strategic merge patch subset: maps merge like RFC 7386; lists replace, except list fields
    with a known merge key (SMP_MERGE_KEYS) which merge by key; directives $patch (replace,
    delete), $retainKeys, $setElementOrder/<f> and $deleteFromPrimitiveList/<f> are honoured."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    retain = patch.get("$retainKeys")
    for k, v in patch.items():
        if k.startswith("$setElementOrder/") or k in ("$retainKeys", "$patch"):
            continue
        if k.startswith("$deleteFromPrimitiveList/"):
            f = k.split("/", 1)[1]
            if isinstance(result.get(f), list):
                result[f] = [x for x in result[f] if x not in v]
            continue
        if v is None:
            result.pop(k, None)
        elif isinstance(v, list) and k in SMP_MERGE_KEYS and isinstance(result.get(k), list):
            mk = SMP_MERGE_KEYS[k]
            cur = [copy.deepcopy(x) for x in result[k]]
            for item in v:
                if not isinstance(item, dict):
                    continue
                idx = next((i for i, x in enumerate(cur) if isinstance(x, dict) and x.get(mk) == item.get(mk)), None)
                if item.get("$patch") == "delete":
                    if idx is not None:
                        cur.pop(idx)
                elif idx is None:
                    cur.append({a: b for a, b in item.items() if not a.startswith("$")})
                else:
                    cur[idx] = strategic_merge_patch(cur[idx], item)
            order = patch.get("$setElementOrder/" + k)
            if isinstance(order, list):
                keys = [o.get(mk) for o in order if isinstance(o, dict)]
                cur.sort(key=lambda x: keys.index(x.get(mk)) if x.get(mk) in keys else len(keys))
            result[k] = cur
        elif isinstance(v, dict):
            sub = strategic_merge_patch(result.get(k), v, k)
            if sub is None:
                result.pop(k, None)
            else:
                result[k] = sub
        elif isinstance(v, list):
            result[k] = [({a: b for a, b in x.items() if not a.startswith("$")} if isinstance(x, dict) else x)
                         for x in v]
        else:
            result[k] = copy.deepcopy(v)
    if isinstance(retain, list):
        for k in list(result):
            if k not in retain:
                del result[k]
    return result


class JsonPatchError(Exception):
    pass


def _ptr(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise JsonPatchError("invalid JSON pointer %r" % path)
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _container(doc, parts):
    cur = doc
    for p in parts[:-1]:
        if isinstance(cur, dict):
            if p not in cur:
                raise JsonPatchError("path does not exist: /%s" % "/".join(parts))
            cur = cur[p]
        elif isinstance(cur, list):
            try:
                cur = cur[int(p)]
            except (ValueError, IndexError):
                raise JsonPatchError("invalid index %r" % p)
        else:
            raise JsonPatchError("cannot traverse %r" % p)
    return cur


def _get(doc, parts):
    if not parts:
        return doc
    c = _container(doc, parts)
    last = parts[-1]
    if isinstance(c, dict):
        if last not in c:
            raise JsonPatchError("path does not exist: /%s" % "/".join(parts))
        return c[last]
    try:
        return c[int(last)]
    except (ValueError, IndexError, TypeError):
        raise JsonPatchError("invalid index %r" % last)


def _remove(doc, parts):
    c = _container(doc, parts)
    last = parts[-1]
    if isinstance(c, dict):
        if last not in c:
            raise JsonPatchError("unable to remove nonexistent key: %s" % last)
        return c.pop(last)
    try:
        return c.pop(int(last))
    except (ValueError, IndexError, TypeError):
        raise JsonPatchError("invalid index %r" % last)


def _add(doc, parts, value):
    if not parts:
        return value
    c = _container(doc, parts)
    last = parts[-1]
    if isinstance(c, dict):
        c[last] = value
    elif isinstance(c, list):
        if last == "-":
            c.append(value)
        else:
            try:
                i = int(last)
            except ValueError:
                raise JsonPatchError("invalid index %r" % last)
            if i < 0 or i > len(c):
                raise JsonPatchError("index out of range: %d" % i)
            c.insert(i, value)
    else:
        raise JsonPatchError("cannot add to a scalar")
    return doc


def json_patch(doc, ops):
    """RFC 6902."""
    if not isinstance(ops, list):
        raise JsonPatchError("a JSON patch must be an array of operations")
    doc = copy.deepcopy(doc)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise JsonPatchError("invalid operation %r" % (op,))
        kind, parts = op["op"], _ptr(op["path"])
        if kind == "add":
            doc = _add(doc, parts, copy.deepcopy(op.get("value")))
        elif kind == "remove":
            _remove(doc, parts)
        elif kind == "replace":
            _get(doc, parts)
            if not parts:
                doc = copy.deepcopy(op.get("value"))
            else:
                _remove(doc, parts)
                doc = _add(doc, parts, copy.deepcopy(op.get("value")))
        elif kind == "move":
            v = _remove(doc, _ptr(op["from"]))
            doc = _add(doc, parts, v)
        elif kind == "copy":
            v = copy.deepcopy(_get(doc, _ptr(op["from"])))
            doc = _add(doc, parts, v)
        elif kind == "test":
            if _get(doc, parts) != op.get("value"):
                raise JsonPatchError("testing value %s failed" % op["path"])
        else:
            raise JsonPatchError("unknown operation %r" % kind)
    return doc


# ----------------------------------------------------------------------------- field management

def leaf_paths(obj, prefix=()):
    """Leaf field paths of an object; lists are atomic (treated as one leaf)."""
    out = set()
    if isinstance(obj, dict) and obj:
        for k, v in obj.items():
            p = prefix + (k,)
            if p in IGNORED_FIELD_PATHS or (len(p) == 1 and p[0] == "status"):
                continue
            if isinstance(v, dict) and v:
                out |= leaf_paths(v, p)
            else:
                out.add(p)
    return out


def get_path(obj, path):
    cur = obj
    for p in path:
        if not isinstance(cur, dict) or p not in cur:
            return _MISSING
        cur = cur[p]
    return cur


_MISSING = object()


def delete_path(obj, path):
    stack = []
    cur = obj
    for p in path[:-1]:
        if not isinstance(cur, dict) or p not in cur:
            return
        stack.append((cur, p))
        cur = cur[p]
    if isinstance(cur, dict):
        cur.pop(path[-1], None)
    # prune maps that became empty
    while stack:
        parent, key = stack.pop()
        if isinstance(parent.get(key), dict) and not parent[key]:
            del parent[key]
        else:
            break


def deep_merge(live, applied):
    if not isinstance(live, dict) or not isinstance(applied, dict):
        return copy.deepcopy(applied)
    out = copy.deepcopy(live)
    for k, v in applied.items():
        out[k] = deep_merge(out.get(k), v) if isinstance(v, dict) else copy.deepcopy(v)
    return out


def paths_to_fieldsv1(paths):
    tree = {}
    for p in sorted(paths):
        cur = tree
        for k in p:
            key = "f:" + k
            cur = cur.setdefault(key, {})
    return tree


def fieldsv1_to_paths(tree, prefix=()):
    out = set()
    for k, v in (tree or {}).items():
        if k == ".":
            continue
        name = k[2:] if k.startswith("f:") else k
        p = prefix + (name,)
        if isinstance(v, dict) and any(kk != "." for kk in v):
            out |= fieldsv1_to_paths(v, p)
        else:
            out.add(p)
    return out


def managers_of(obj):
    """[(manager, operation, set(paths))] from metadata.managedFields."""
    res = []
    for e in obj.get("metadata", {}).get("managedFields") or []:
        res.append([e.get("manager", ""), e.get("operation", "Update"), fieldsv1_to_paths(e.get("fieldsV1"))])
    return res


def set_managers(obj, api_version, entries):
    mf = []
    ts = now_rfc3339()
    for manager, op, paths in entries:
        if not paths:
            continue
        mf.append({"manager": manager, "operation": op, "apiVersion": api_version, "time": ts,
                   "fieldsType": "FieldsV1", "fieldsV1": paths_to_fieldsv1(paths)})
    if mf:
        obj["metadata"]["managedFields"] = mf
    else:
        obj["metadata"].pop("managedFields", None)


def covers(owner_path, path):
    n = min(len(owner_path), len(path))
    return owner_path[:n] == path[:n]


# ----------------------------------------------------------------------------- store

class Store:
    def __init__(self):
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.reset()

    def reset(self):
        self.rv = 1
        self.data = {(r.group, r.plural): {} for r in RESOURCES}
        self.events = []  # (rv, type, group, plural, obj) for watch
        for ns in INITIAL_NAMESPACES:
            res = BY_GV[("", "v1")]["namespaces"]
            obj = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}, "spec": {}, "status": {}}
            self._prepare_new(res, obj, None)
            self.data[("", "namespaces")][(None, ns)] = obj

    def next_rv(self):
        self.rv += 1
        return str(self.rv)

    def table(self, res):
        return self.data[(res.group, res.plural)]

    def record(self, typ, res, obj):
        self.events.append((int(obj["metadata"]["resourceVersion"]), typ, res.group, res.plural, copy.deepcopy(obj)))
        if len(self.events) > 10000:
            del self.events[:5000]
        self.cond.notify_all()

    def _prepare_new(self, res, obj, ns):
        md = obj.setdefault("metadata", {})
        md["uid"] = str(uuid.uuid4())
        md["resourceVersion"] = self.next_rv()
        md["creationTimestamp"] = now_rfc3339()
        if res.namespaced:
            md["namespace"] = ns
        else:
            md.pop("namespace", None)
        md.pop("generation", None)
        if res.kind in GENERATION_KINDS:
            md["generation"] = 1
        apply_defaults(res, obj)


def apply_defaults(res, obj):
    md = obj["metadata"]
    if res.kind == "Namespace":
        labels = md.setdefault("labels", {})
        labels["kubernetes.io/metadata.name"] = md["name"]
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        obj.setdefault("status", {})["phase"] = obj.get("status", {}).get("phase") or "Active"
    elif res.kind == "StorageClass":
        obj.setdefault("reclaimPolicy", "Delete")
        obj.setdefault("volumeBindingMode", "Immediate")
    elif res.kind == "PriorityClass":
        obj.setdefault("preemptionPolicy", "PreemptLowerPriority")


def validate(res, obj, old=None):
    md = obj.get("metadata", {})
    name = md.get("name", "")
    causes = []
    if res.kind == "Namespace":
        if not (DNS1123_LABEL.match(name) and len(name) <= 63):
            causes.append({"field": "metadata.name", "message": 'Invalid value: "%s": a lowercase RFC 1123 label must '
                           "consist of lower case alphanumeric characters or '-', and must start and end with an "
                           "alphanumeric character" % name})
    elif res.group == "rbac.authorization.k8s.io":
        if name in (".", "..") or "/" in name or "%" in name:
            causes.append({"field": "metadata.name", "message": 'Invalid value: "%s": may not contain \'/\' or \'%%\'' % name})
    else:
        if not (DNS1123_SUBDOMAIN.match(name) and len(name) <= 253):
            causes.append({"field": "metadata.name", "message": 'Invalid value: "%s": a lowercase RFC 1123 subdomain '
                           "must consist of lower case alphanumeric characters, '-' or '.', and must start and end "
                           "with an alphanumeric character" % name})
    for fld in ("labels", "annotations"):
        v = md.get(fld)
        if v is not None and (not isinstance(v, dict) or any(not isinstance(x, str) for x in v.values())):
            causes.append({"field": "metadata." + fld, "message": "Invalid value: must be a map of string to string",
                           "reason": "FieldValueTypeInvalid"})
    if res.kind == "PriorityClass" and not isinstance(obj.get("value"), int):
        causes.append({"field": "value", "message": "Required value", "reason": "FieldValueRequired"})
    if res.kind in ("RoleBinding", "ClusterRoleBinding"):
        rr = obj.get("roleRef")
        if not isinstance(rr, dict) or not rr.get("name") or not rr.get("kind"):
            causes.append({"field": "roleRef", "message": "Required value", "reason": "FieldValueRequired"})
        elif old is not None and old.get("roleRef") != rr:
            causes.append({"field": "roleRef", "message": "Invalid value: cannot change roleRef"})
    if res.kind == "PriorityClass" and old is not None and old.get("value") != obj.get("value"):
        causes.append({"field": "value", "message": "Forbidden: may not be changed in an update.",
                       "reason": "FieldValueForbidden"})
    if causes:
        raise err_invalid(res, name, causes)


def human_age(ts):
    try:
        t = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError):
        return "<unknown>"
    s = max(0, int((datetime.datetime.now(datetime.timezone.utc) - t).total_seconds()))
    if s < 120:
        return "%ds" % s
    m = s // 60
    if m < 10:
        return "%dm%ds" % (m, s % 60) if s % 60 else "%dm" % m
    if m < 180:
        return "%dm" % m
    h = m // 60
    if h < 48:
        return "%dh" % h
    return "%dd" % (h // 24)


def strip_for_list(obj):
    o = dict(obj)
    o.pop("kind", None)
    o.pop("apiVersion", None)
    return o


# ----------------------------------------------------------------------------- handler

class K8sHandler(serverutil.BaseHandler):
    server_version = "nic-k8s-stand-in/1"

    def _dispatch(self):
        raw_path, _, raw_query = self.path.partition("?")
        self.q = dict(urllib.parse.parse_qsl(raw_query, keep_blank_values=True))
        self.warnings = None
        self._table_kind = None
        if raw_path.startswith("/_test/"):
            return self._test_endpoint(raw_path)
        self.server.count(self.command)
        try:
            self.read_body()
            self._check_auth()
            self._route(raw_path.rstrip("/") or "/")
        except KubeError as e:
            self.send_json(e.code, e.status())
        except BrokenPipeError:
            pass
        except Exception as e:  # pragma: no cover
            import traceback
            traceback.print_exc()
            self.send_json(500, KubeError(500, "InternalError", "test server error: %s" % e).status())

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _dispatch

    def _check_auth(self):
        tok = self.server.token
        if tok is None:
            return
        if self.headers.get("Authorization") != "Bearer " + tok:
            raise KubeError(401, "Unauthorized", "Unauthorized")

    def _test_endpoint(self, path):
        if path == "/_test/requests" and self.command == "GET":
            return self.send_json(200, self.server.counts_snapshot())
        if path == "/_test/reset" and self.command == "POST":
            self.read_body()
            self.server.reset_counts()
            if self.q.get("data") in ("1", "true"):
                with self.server.store.lock:
                    self.server.store.reset()
            return self.send_json(200, {"status": "ok"})
        return self.send_json(404, err_path_not_found().status())

    # --------------------------------------------------------------------------- routing
    def _route(self, path):
        m = self.command
        if path in ("/healthz", "/readyz", "/livez"):
            return self.send_bytes(200, b"ok", "text/plain; charset=utf-8")
        if path == "/version":
            return self.send_json(200, SERVER_VERSION)
        if path == "/api":
            return self.send_json(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": "%s:%d" % self.server.server_address[:2]}]})
        if path == "/apis":
            return self.send_json(200, self._group_list())
        if path == "/openapi/v3":
            return self.send_json(200, openapi_v3_index())
        if path.startswith("/openapi/v3/"):
            doc = openapi_v3_doc(path[len("/openapi/v3/"):])
            if doc is None:
                raise err_path_not_found()
            return self.send_json(200, doc)
        if path.startswith("/openapi/"):
            # /openapi/v2 is not served (see README); kubectl uses /openapi/v3.
            raise err_path_not_found()
        parts = [urllib.parse.unquote(p) for p in path.split("/")[1:]]
        if parts[0] == "api":
            if len(parts) < 2 or parts[1] != "v1":
                raise err_path_not_found()
            gv, rest = ("", "v1"), parts[2:]
        elif parts[0] == "apis":
            if len(parts) == 2:
                g = self._group_list_entry(parts[1])
                if g is None:
                    raise err_path_not_found()
                g = dict(g, kind="APIGroup", apiVersion="v1")
                return self.send_json(200, g)
            if len(parts) < 3 or (parts[1], parts[2]) not in BY_GV:
                raise err_path_not_found()
            gv, rest = (parts[1], parts[2]), parts[3:]
        else:
            raise err_path_not_found()
        resources = BY_GV[gv]
        if not rest:
            if m != "GET":
                raise KubeError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
            return self.send_json(200, {
                "kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": "%s/%s" % gv if gv[0] else "v1",
                "resources": [r.discovery() for r in resources.values()]})
        ns = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            ns, rest = rest[1], rest[2:]
        res = resources.get(rest[0])
        if res is None or len(rest) > 2:
            raise err_path_not_found()
        if ns is not None and not res.namespaced:
            raise err_path_not_found()
        name = rest[1] if len(rest) == 2 else None
        if name is None:
            if m == "GET":
                if self.q.get("watch") in ("1", "true"):
                    return self.do_watch(res, ns)
                return self.do_list(res, ns)
            if m == "POST":
                return self.do_create(res, ns)
            if m == "DELETE":
                return self.do_delete_collection(res, ns)
        else:
            if res.namespaced and ns is None:
                raise err_path_not_found()
            if m in ("GET", "HEAD"):
                return self.do_get(res, ns, name)
            if m == "PUT":
                return self.do_update(res, ns, name)
            if m == "PATCH":
                return self.do_patch(res, ns, name)
            if m == "DELETE":
                return self.do_delete(res, ns, name)
        raise KubeError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    def _group_list_entry(self, group):
        for (g, v) in BY_GV:
            if g == group and g:
                gv = {"groupVersion": "%s/%s" % (g, v), "version": v}
                return {"name": g, "versions": [gv], "preferredVersion": gv}
        return None

    def _group_list(self):
        groups, seen = [], set()
        for (g, v) in BY_GV:
            if g and g not in seen:
                seen.add(g)
                groups.append(self._group_list_entry(g))
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}

    # --------------------------------------------------------------------------- helpers
    @property
    def store(self):
        return self.server.store

    def _body_json(self):
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype == "application/vnd.kubernetes.protobuf":
            try:
                return decode_k8s_protobuf(self.read_body())
            except (PbError, UnicodeDecodeError) as e:
                raise KubeError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                                "protobuf support in this stand-in is limited: %s" % e)
        if ctype == "application/cbor":
            raise KubeError(415, "UnsupportedMediaType", 'the body of the request was in an unknown format - '
                            'accepted media types include: application/json, application/yaml, '
                            'application/vnd.kubernetes.protobuf')
        body = self.read_body()
        if not body:
            raise err_bad_request("the body of the request was empty")
        try:
            return json.loads(body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as e:
            raise err_bad_request("the object provided is unrecognized (must be JSON): %s" % e)

    def _dry_run(self):
        v = self.q.get("dryRun")
        if v is None:
            return False
        if v != "All":
            raise err_bad_request("Invalid dry run value: %r (only 'All' is supported)" % v)
        return True

    def _check_ns_exists(self, res, ns):
        if res.namespaced and (None, ns) not in self.store.data[("", "namespaces")]:
            raise err_ns_not_found(ns)

    def _check_type(self, res, obj, fill_defaults=True):
        """POST/PUT bodies may omit kind/apiVersion: like the real decoder, the server fills them
        from the URL's group/version/kind. Apply bodies must carry both."""
        if not isinstance(obj, dict):
            raise err_bad_request("the object provided is not a JSON object")
        if fill_defaults:
            obj.setdefault("kind", res.kind)
            obj.setdefault("apiVersion", res.api_version)
        kind, av = obj.get("kind"), obj.get("apiVersion")
        if not kind:
            raise err_bad_request("Object 'Kind' is missing in '%s'" % json.dumps(obj)[:200])
        if not av:
            raise err_bad_request("Object 'apiVersion' is missing in '%s'" % json.dumps(obj)[:200])
        if kind != res.kind or av != res.api_version:
            raise err_bad_request("the API version in the data (%s) does not match the expected API version (%s)"
                                  % (av, res.api_version) if av != res.api_version else
                                  "the kind in the data (%s) does not match the expected kind (%s)" % (kind, res.kind))
        md = obj.setdefault("metadata", {})
        if not isinstance(md, dict):
            raise err_bad_request("metadata must be an object")

    def _check_body_ns(self, res, obj, ns):
        if not res.namespaced:
            return
        bns = obj["metadata"].get("namespace")
        if bns and bns != ns:
            raise err_bad_request("the namespace of the provided object does not match the namespace sent on the request")

    def _field_validation(self, res, obj):
        """fieldValidation query parameter: Strict -> 400 on unknown fields, Warn (server default)
        -> Warning header, Ignore -> nothing."""
        mode = self.q.get("fieldValidation") or "Warn"
        if mode not in ("Ignore", "Warn", "Strict"):
            raise err_bad_request('fieldValidation: Invalid value: "%s": fieldValidation must be one of '
                                  '"Ignore", "Warn", or "Strict"' % mode)
        unknown = unknown_fields(res, obj)
        if not unknown or mode == "Ignore":
            return
        if mode == "Strict":
            raise err_bad_request('%s in version "%s" cannot be handled as a %s: strict decoding error: %s'
                                  % (res.kind, res.version, res.kind,
                                     ", ".join('unknown field "%s"' % u for u in unknown)))
        self.warnings = ['unknown field "%s"' % u for u in unknown]

    def send_json(self, status, obj, headers=None, content_type="application/json"):
        h = list((headers or {}).items())
        for w in getattr(self, "warnings", None) or []:
            h.append(("Warning", '299 - "%s"' % w.replace('"', '\\"')))
        self.warnings = None
        return super().send_json(status, obj, h, content_type)

    def _field_manager(self, default_op="Update"):
        fm = self.q.get("fieldManager")
        if fm:
            if len(fm) > 128:
                raise err_bad_request("fieldManager: Too long: may not be longer than 128")
            return fm
        ua = self.headers.get("User-Agent") or "unknown"
        return ua.split("/", 1)[0]

    def _respond_obj(self, code, obj):
        if "as=Table" in (self.headers.get("Accept") or ""):
            return self.send_json(code, self._table([obj], obj["metadata"].get("resourceVersion", ""), None))
        return self.send_json(code, obj)

    # --------------------------------------------------------------------------- tables
    def _table(self, objs, rv, cont, remaining=None):
        cols = [{"name": "Name", "type": "string", "format": "name", "priority": 0,
                 "description": "Name must be unique within a namespace."}]
        extra = []
        kind = objs[0].get("kind") if objs else self._table_kind
        if kind == "Namespace":
            cols.append({"name": "Status", "type": "string", "format": "", "priority": 0,
                         "description": "The status of the namespace"})
            extra = [lambda o: o.get("status", {}).get("phase", "")]
        elif kind == "ServiceAccount":
            cols.append({"name": "Secrets", "type": "string", "format": "", "priority": 0,
                         "description": "Secrets is a list of the secrets in the same namespace."})
            extra = [lambda o: len(o.get("secrets") or [])]
        cols.append({"name": "Age", "type": "string", "format": "", "priority": 0,
                     "description": "CreationTimestamp is a timestamp representing the server time when this object was created."})
        include = self.q.get("includeObject", "Metadata")
        rows = []
        for o in objs:
            cells = [o["metadata"]["name"]] + [f(o) for f in extra] + [human_age(o["metadata"].get("creationTimestamp"))]
            row = {"cells": cells}
            if include == "Object":
                row["object"] = o
            elif include != "None":
                row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                                 "metadata": o["metadata"]}
            rows.append(row)
        md = {"resourceVersion": rv}
        if cont:
            md["continue"] = cont
        if remaining:
            md["remainingItemCount"] = remaining
        return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": md, "columnDefinitions": cols,
                "rows": rows}

    # --------------------------------------------------------------------------- verbs
    def _select(self, res, ns):
        sel = Selector(self.q.get("labelSelector"))
        fsel = FieldSelector(self.q.get("fieldSelector"))
        items = []
        for (ons, oname) in sorted(self.store.table(res), key=lambda k: (k[0] or "", k[1])):
            if ns is not None and ons != ns:
                continue
            o = self.store.table(res)[(ons, oname)]
            if sel.matches(o["metadata"].get("labels")) and fsel.matches(o):
                items.append(o)
        return items

    def do_list(self, res, ns):
        limit = self.q.get("limit")
        try:
            limit = int(limit) if limit not in (None, "") else 0
        except ValueError:
            raise err_bad_request("limit: Invalid value: %r" % limit)
        if limit < 0:
            raise err_bad_request("limit: Invalid value: %d" % limit)
        cont = self.q.get("continue")
        with self.store.lock:
            items = self._select(res, ns)
            rv = str(self.store.rv)
            if cont:
                try:
                    tok = json.loads(base64.urlsafe_b64decode(cont + "=" * (-len(cont) % 4)).decode())
                    start = tuple(tok["start"])
                    rv = tok["rv"]
                except (ValueError, KeyError, TypeError):
                    raise err_bad_request("continue key is not valid")
                items = [o for o in items if (o["metadata"].get("namespace") or "", o["metadata"]["name"]) > start]
            next_tok, remaining = None, None
            if limit and len(items) > limit:
                last = items[limit - 1]["metadata"]
                remaining = len(items) - limit
                items = items[:limit]
                next_tok = base64.urlsafe_b64encode(json.dumps(
                    {"rv": rv, "start": [last.get("namespace") or "", last["name"]]}).encode()).decode().rstrip("=")
            items = [copy.deepcopy(o) for o in items]
        if "as=Table" in (self.headers.get("Accept") or ""):
            self._table_kind = res.kind
            return self.send_json(200, self._table(items, rv, next_tok, remaining))
        md = {"resourceVersion": rv}
        if next_tok:
            md["continue"] = next_tok
            md["remainingItemCount"] = remaining
        return self.send_json(200, {"kind": res.kind + "List", "apiVersion": res.api_version, "metadata": md,
                                    "items": [strip_for_list(o) for o in items]})

    def do_get(self, res, ns, name):
        with self.store.lock:
            o = self.store.table(res).get((ns, name))
            if o is None:
                raise err_not_found(res, name)
            o = copy.deepcopy(o)
        return self._respond_obj(200, o)

    def do_create(self, res, ns):
        obj = self._body_json()
        self._check_type(res, obj)
        self._check_body_ns(res, obj, ns)
        dry = self._dry_run()
        fm = self._field_manager()
        md = obj["metadata"]
        self._field_validation(res, obj)
        if md.get("resourceVersion"):
            raise err_bad_request("resourceVersion should not be set on objects to be created")
        with self.store.lock:
            if not md.get("name") and md.get("generateName"):
                md["name"] = md["generateName"] + uuid.uuid4().hex[:5]
            if not md.get("name"):
                raise err_invalid(res, "", [{"field": "metadata.name", "reason": "FieldValueRequired",
                                             "message": "Required value: name or generateName is required"}])
            validate(res, obj)
            self._check_ns_exists(res, ns)
            key = (ns if res.namespaced else None, md["name"])
            if key in self.store.table(res):
                raise err_already_exists(res, md["name"])
            for k in ("uid", "creationTimestamp", "generation", "managedFields", "deletionTimestamp", "selfLink"):
                md.pop(k, None)
            if res.kind == "Namespace":
                obj.pop("status", None)
            self.store._prepare_new(res, obj, ns)
            set_managers(obj, res.api_version, [[fm, "Update", leaf_paths(obj)]])
            if not dry:
                self.store.table(res)[key] = obj
                self.store.record("ADDED", res, obj)
            out = copy.deepcopy(obj)
        return self._respond_obj(201, out)

    def _commit_update(self, res, ns, name, old, new, manager, op="Update", owned_paths=None, dry=False):
        """Finish an update: keep server-owned metadata, bump RV/generation, update managedFields."""
        md = new.setdefault("metadata", {})
        omd = old["metadata"]
        if md.get("uid") and md["uid"] != omd["uid"]:
            raise err_conflict(res, name, "Precondition failed: UID in precondition: %s, UID in object meta: %s"
                               % (omd["uid"], md["uid"]))
        if md.get("resourceVersion") and md["resourceVersion"] != omd["resourceVersion"]:
            raise err_conflict(res, name)
        if md.get("name") != name:
            raise err_bad_request("the name of the object (%s) does not match the name on the URL (%s)"
                                  % (md.get("name"), name))
        for k in ("uid", "creationTimestamp", "generation", "deletionTimestamp"):
            if k in omd:
                md[k] = omd[k]
            else:
                md.pop(k, None)
        md["resourceVersion"] = omd["resourceVersion"]
        if res.namespaced:
            md["namespace"] = ns
        else:
            md.pop("namespace", None)
        new["kind"], new["apiVersion"] = res.kind, res.api_version
        if res.kind == "Namespace":
            new["status"] = copy.deepcopy(old.get("status", {}))
        apply_defaults(res, new)
        validate(res, new, old)
        # field ownership
        entries = managers_of(old)
        old_paths, new_paths = leaf_paths(old), leaf_paths(new)
        changed = {p for p in new_paths if get_path(old, p) != get_path(new, p)}
        removed = old_paths - new_paths
        for e in entries:
            e[2] = {p for p in e[2] if p not in removed and not any(covers(c, p) for c in changed)}
        if op == "Apply":
            entry = next((e for e in entries if e[0] == manager and e[1] == "Apply"), None)
            if entry is None:
                entry = [manager, "Apply", set()]
                entries.append(entry)
            entry[2] = set(owned_paths)
            for e in entries:
                if e is not entry:
                    e[2] = {p for p in e[2] if not any(covers(c, p) for c in changed)}
        elif changed:
            entry = next((e for e in entries if e[0] == manager and e[1] == "Update"), None)
            if entry is None:
                entry = [manager, "Update", set()]
                entries.append(entry)
            entry[2] |= changed
        md.pop("managedFields", None)
        cmp_old = copy.deepcopy(old)
        cmp_old["metadata"].pop("managedFields", None)
        if cmp_old == new:
            return copy.deepcopy(old)  # no-op: nothing is written, resourceVersion unchanged
        set_managers(new, res.api_version, entries)
        if res.kind == "NetworkPolicy" and old.get("spec") != new.get("spec"):
            md["generation"] = omd.get("generation", 1) + 1
        md["resourceVersion"] = self.store.next_rv() if not dry else omd["resourceVersion"]
        if not dry:
            self.store.table(res)[(ns, name)] = new
            self.store.record("MODIFIED", res, new)
        return copy.deepcopy(new)

    def do_update(self, res, ns, name):
        obj = self._body_json()
        self._check_type(res, obj)
        self._check_body_ns(res, obj, ns)
        dry = self._dry_run()
        fm = self._field_manager()
        self._field_validation(res, obj)
        with self.store.lock:
            old = self.store.table(res).get((ns, name))
            if old is None:
                raise err_not_found(res, name)
            out = self._commit_update(res, ns, name, old, obj, fm, dry=dry)
        return self._respond_obj(200, out)

    def do_patch(self, res, ns, name):
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        dry = self._dry_run()
        if ctype == "application/apply-patch+yaml":
            return self.do_apply(res, ns, name, dry)
        if ctype not in ("application/merge-patch+json", "application/strategic-merge-patch+json",
                         "application/json-patch+json"):
            raise KubeError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                            "accepted media types include: application/json-patch+json, application/merge-patch+json, "
                            "application/apply-patch+yaml, application/strategic-merge-patch+json")
        patch = self._body_json()
        fm = self._field_manager()
        with self.store.lock:
            old = self.store.table(res).get((ns, name))
            if old is None:
                raise err_not_found(res, name)
            base = copy.deepcopy(old)
            base["metadata"].pop("managedFields", None)
            try:
                if ctype == "application/json-patch+json":
                    new = json_patch(base, patch)
                elif ctype == "application/merge-patch+json":
                    if not isinstance(patch, dict):
                        raise err_bad_request("merge patch must be a JSON object")
                    new = json_merge_patch(base, patch)
                else:
                    if not isinstance(patch, dict):
                        raise err_bad_request("strategic merge patch must be a JSON object")
                    new = strategic_merge_patch(base, patch)
            except JsonPatchError as e:
                raise KubeError(422, "Invalid", str(e))
            if not isinstance(new, dict) or not isinstance(new.get("metadata"), dict):
                raise err_bad_request("patched object is not a valid object")
            if new.get("kind") != res.kind or new.get("apiVersion") != res.api_version:
                raise err_bad_request("patch may not change kind or apiVersion")
            self._field_validation(res, new)
            out = self._commit_update(res, ns, name, old, new, fm, dry=dry)
        return self._respond_obj(200, out)

    def do_apply(self, res, ns, name, dry):
        """Server-side apply (simplified field ownership: maps are granular, lists atomic)."""
        fm = self.q.get("fieldManager")
        if not fm:
            raise err_bad_request("PATCH requests with apply content type must specify fieldManager "
                                  "(query parameter fieldManager is required for apply patch)")
        force = self.q.get("force") in ("true", "1")
        body = self.read_body()
        try:
            applied = json.loads(body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            try:
                import yaml  # optional; not stdlib
            except ImportError:
                raise err_bad_request("apply patch bodies must be JSON (YAML needs PyYAML, which is not installed)")
            try:
                applied = yaml.safe_load(body.decode("utf-8"))
            except Exception as e:  # noqa: BLE001
                raise err_bad_request("error decoding YAML: %s" % e)
        self._check_type(res, applied, fill_defaults=False)
        self._check_body_ns(res, applied, ns)
        self._field_validation(res, applied)
        md = applied["metadata"]
        if md.get("name") != name:
            raise err_bad_request("the name of the object (%s) does not match the name on the URL (%s)"
                                  % (md.get("name"), name))
        owned = leaf_paths(applied)
        with self.store.lock:
            old = self.store.table(res).get((ns, name))
            if old is None:
                validate(res, applied)
                self._check_ns_exists(res, ns)
                obj = copy.deepcopy(applied)
                for k in ("uid", "creationTimestamp", "generation", "managedFields", "resourceVersion"):
                    obj["metadata"].pop(k, None)
                if res.kind == "Namespace":
                    obj.pop("status", None)
                self.store._prepare_new(res, obj, ns)
                set_managers(obj, res.api_version, [[fm, "Apply", owned]])
                if not dry:
                    self.store.table(res)[(ns if res.namespaced else None, name)] = obj
                    self.store.record("ADDED", res, obj)
                return self._respond_obj(201, copy.deepcopy(obj))
            entries = managers_of(old)
            conflicts = []
            for p in sorted(owned):
                live = get_path(old, p)
                if live is _MISSING or live == get_path(applied, p):
                    continue
                for mgr, op, paths in entries:
                    if mgr == fm and op == "Apply":
                        continue
                    if any(covers(q, p) for q in paths):
                        conflicts.append((self._manager_label(old, mgr, op), p))
            if conflicts and not force:
                msg = "Apply failed with %d conflict%s: %s" % (
                    len(conflicts), "" if len(conflicts) == 1 else "s",
                    "\n".join("conflict with %s: .%s" % (mgr, ".".join(p)) for mgr, p in conflicts))
                d = _details(res, name)
                d["causes"] = [{"reason": "FieldManagerConflict", "message": "conflict with %s" % mgr,
                                "field": "." + ".".join(p)} for mgr, p in conflicts]
                raise KubeError(409, "Conflict", msg, d)
            base = copy.deepcopy(old)
            base["metadata"].pop("managedFields", None)
            new = deep_merge(base, {k: v for k, v in applied.items()})
            # fields this manager applied before but dropped now are removed unless someone else owns them
            prev = next((e[2] for e in entries if e[0] == fm and e[1] == "Apply"), set())
            for p in sorted(prev - owned, key=len, reverse=True):
                others = any(covers(q, p) for mgr, op, paths in entries if not (mgr == fm and op == "Apply")
                             for q in paths)
                if not others:
                    delete_path(new, p)
            new["metadata"].pop("resourceVersion", None)
            if md.get("resourceVersion"):
                new["metadata"]["resourceVersion"] = md["resourceVersion"]
            out = self._commit_update(res, ns, name, old, new, fm, op="Apply", owned_paths=owned, dry=dry)
        return self._respond_obj(200, out)

    @staticmethod
    def _manager_label(obj, manager, op):
        """How the real server names a conflicting manager: "name", plus "using <apiVersion> at
        <time>" for Update managers."""
        if op != "Update":
            return '"%s"' % manager
        for e in obj.get("metadata", {}).get("managedFields") or []:
            if e.get("manager") == manager and e.get("operation") == op:
                return '"%s" using %s at %s' % (manager, e.get("apiVersion"), e.get("time"))
        return '"%s"' % manager

    def _delete_options(self):
        body = self.read_body()
        opts = {}
        if body:
            try:
                opts = json.loads(body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                raise err_bad_request("invalid DeleteOptions body")
            if not isinstance(opts, dict):
                raise err_bad_request("invalid DeleteOptions body")
        if self._dry_run():
            opts["dryRun"] = ["All"]
        return opts

    def do_delete(self, res, ns, name):
        opts = self._delete_options()
        dry = "All" in (opts.get("dryRun") or [])
        with self.store.lock:
            tab = self.store.table(res)
            o = tab.get((ns, name))
            if o is None:
                raise err_not_found(res, name)
            pre = opts.get("preconditions") or {}
            if pre.get("uid") and pre["uid"] != o["metadata"]["uid"]:
                raise err_conflict(res, name, "Precondition failed: UID in precondition: %s, UID in object meta: %s"
                                   % (pre["uid"], o["metadata"]["uid"]))
            if pre.get("resourceVersion") and pre["resourceVersion"] != o["metadata"]["resourceVersion"]:
                raise err_conflict(res, name, "Precondition failed: ResourceVersion in precondition: %s, "
                                   "ResourceVersion in object meta: %s" % (pre["resourceVersion"],
                                                                           o["metadata"]["resourceVersion"]))
            if res.kind == "Namespace" and name in PROTECTED_NAMESPACES:
                raise KubeError(403, "Forbidden", 'namespaces "%s" is forbidden: this namespace may not be deleted'
                                % name, {"name": name, "kind": "namespaces"})
            out = copy.deepcopy(o)
            if dry:
                pass
            elif res.kind == "Namespace":
                # Stand-in: the namespace and everything in it is removed at once (no Terminating phase,
                # no finalizers); the response shows the object as the real server would on deletion start.
                for r in RESOURCES:
                    if r.namespaced:
                        t = self.store.table(r)
                        for k in [k for k in t if k[0] == name]:
                            gone = t.pop(k)
                            gone["metadata"]["resourceVersion"] = self.store.next_rv()
                            self.store.record("DELETED", r, gone)
                del tab[(ns, name)]
                out["metadata"]["deletionTimestamp"] = now_rfc3339()
                out["status"] = {"phase": "Terminating"}
                out["metadata"]["resourceVersion"] = self.store.next_rv()
                self.store.record("DELETED", res, out)
            else:
                del tab[(ns, name)]
                gone = copy.deepcopy(o)
                gone["metadata"]["resourceVersion"] = self.store.next_rv()
                self.store.record("DELETED", res, gone)
        if res.kind == "Namespace":
            return self._respond_obj(200, out)
        d = _details(res, name)
        d["uid"] = o["metadata"]["uid"]
        return self.send_json(200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                                    "details": d})

    def do_delete_collection(self, res, ns):
        opts = self._delete_options()
        dry = "All" in (opts.get("dryRun") or [])
        if res.kind == "Namespace":
            raise KubeError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        with self.store.lock:
            items = self._select(res, ns)
            tab = self.store.table(res)
            out = []
            for o in items:
                out.append(strip_for_list(copy.deepcopy(o)))
                if not dry:
                    gone = tab.pop((o["metadata"].get("namespace"), o["metadata"]["name"]))
                    gone["metadata"]["resourceVersion"] = self.store.next_rv()
                    self.store.record("DELETED", res, gone)
            rv = str(self.store.rv)
        return self.send_json(200, {"kind": res.kind + "List", "apiVersion": res.api_version,
                                    "metadata": {"resourceVersion": rv}, "items": out})

    def do_watch(self, res, ns):
        """Minimal watch: newline-delimited JSON events (chunked), ends at timeoutSeconds (default 5s,
        capped at 60s). Without resourceVersion, starts with ADDED events for existing objects."""
        try:
            timeout = min(60, int(self.q.get("timeoutSeconds") or 5))
        except ValueError:
            raise err_bad_request("timeoutSeconds: invalid value")
        sel = Selector(self.q.get("labelSelector"))
        fsel = FieldSelector(self.q.get("fieldSelector"))
        rv_param = self.q.get("resourceVersion")
        with self.store.lock:
            if rv_param in (None, "", "0"):
                initial = [("ADDED", copy.deepcopy(o)) for o in self._select(res, ns)]
                since = self.store.rv
            else:
                try:
                    since = int(rv_param)
                except ValueError:
                    raise err_bad_request("invalid resourceVersion")
                initial = []
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def emit(typ, obj):
            line = json.dumps({"type": typ, "object": obj}).encode() + b"\n"
            self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
            self.wfile.flush()

        try:
            for typ, o in initial:
                emit(typ, o)
            deadline = time.monotonic() + timeout
            while True:
                with self.store.cond:
                    pending = [e for e in self.store.events if e[0] > since and e[2] == res.group and e[3] == res.plural]
                    if not pending:
                        left = deadline - time.monotonic()
                        if left <= 0:
                            break
                        self.store.cond.wait(min(left, 0.5))
                        continue
                for rv, typ, _g, _p, o in pending:
                    since = max(since, rv)
                    if ns is not None and o["metadata"].get("namespace") != ns:
                        continue
                    if sel.matches(o["metadata"].get("labels")) and fsel.matches(o):
                        emit(typ, o)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


def main(argv=None):
    p = serverutil.base_arg_parser(__doc__.splitlines()[1])
    p.add_argument("--token", default=None, help="require 'Authorization: Bearer TOKEN' (else 401 Status)")
    p.add_argument("--tls-cert", default=None, help="serve HTTPS with this PEM certificate")
    p.add_argument("--tls-key", default=None, help="PEM private key for --tls-cert")
    args = p.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        p.error("--tls-cert and --tls-key go together")
    httpd = serverutil.CountingServer((args.host, args.port), K8sHandler, quiet=args.quiet)
    httpd.store = Store()
    httpd.token = args.token
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        httpd.tls_context = ctx  # handshake happens per connection, on the worker thread
    serverutil.serve(httpd, args.port_file, "k8s_server")


if __name__ == "__main__":
    main()

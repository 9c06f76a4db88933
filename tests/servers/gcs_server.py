#!/usr/bin/env python3
"""In-memory stand-in for the Google Cloud Storage JSON API (storage/v1). TEST USE ONLY.

This is not Google Cloud Storage and not an emulator shipped by Google: it is a small
protocol-faithful fake written for NIC's tests, following the public JSON API reference
(see tests/servers/README.md for the pages each behaviour follows and what is missing).

Start:  python3 tests/servers/gcs_server.py --host 127.0.0.1 --port 0 --port-file FILE
        [--require-token TOKEN] [--verbose]
Clients point STORAGE_EMULATOR_HOST at http://127.0.0.1:<port> (plain HTTP).
"""

import base64
import datetime
import hashlib
import itertools
import json
import os
import re
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serverutil  # noqa: E402

# ----------------------------------------------------------------------------- CRC32C

def _crc32c_table():
    poly = 0x82F63B78  # Castagnoli, reflected
    tab = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        tab.append(c)
    return tab


_CRC_TAB = _crc32c_table()


def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    tab = _CRC_TAB
    for b in data:
        crc = tab[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def b64(b):
    return base64.b64encode(b).decode()


def rfc3339(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# ----------------------------------------------------------------------------- errors

class ApiError(Exception):
    def __init__(self, code, reason, message, extra=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.extra = extra or {}

    def body(self):
        err = {"domain": "global", "reason": self.reason, "message": self.message}
        err.update(self.extra)
        return {"error": {"code": self.code, "message": self.message, "errors": [err]}}


def not_found_object(bucket, name):
    return ApiError(404, "notFound", "No such object: %s/%s" % (bucket, name))


def not_found_bucket():
    return ApiError(404, "notFound", "The specified bucket does not exist.")


def precondition_failed(location="If-Match"):
    # JSON API status-codes page: 412 conditionNotMet
    return ApiError(412, "conditionNotMet", "At least one of the pre-conditions you specified did not hold.",
                    {"locationType": "header", "location": location})


class NotModified(Exception):
    pass


def bad_param(name, value):
    return ApiError(400, "invalid", "Invalid argument for %s: %r" % (name, value))


BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$")

PRECONDITIONS = ("ifGenerationMatch", "ifGenerationNotMatch", "ifMetagenerationMatch", "ifMetagenerationNotMatch")


def parse_int_param(q, name):
    v = q.get(name)
    if v is None:
        return None
    try:
        iv = int(v)
    except ValueError:
        raise bad_param(name, v)
    if iv < 0:
        raise bad_param(name, v)
    return iv


def parse_preconditions(q):
    return {n: parse_int_param(q, n) for n in PRECONDITIONS}


def check_preconditions(pre, obj, is_read):
    """Apply GCS generation/metageneration preconditions against ``obj`` (None = no live object).

    Following https://cloud.google.com/storage/docs/request-preconditions and the objects.* parameter
    descriptions:
    - ifGenerationMatch / ifMetagenerationMatch: on mismatch the request fails with 412 Precondition
      Failed. ifGenerationMatch=0 succeeds only if there is no live object.
    - ifGenerationNotMatch / ifMetagenerationNotMatch: if the values match, the request fails with
      304 Not Modified (on any method, as the table on that page says). If no live object exists the
      precondition fails; that case is reported as 412. ifGenerationNotMatch=0 therefore means "only
      if a live object exists".
    ``is_read`` is kept for callers' clarity; the outcome does not depend on it.
    """
    del is_read
    gm, gnm = pre["ifGenerationMatch"], pre["ifGenerationNotMatch"]
    mm, mnm = pre["ifMetagenerationMatch"], pre["ifMetagenerationNotMatch"]
    gen = obj["generation"] if obj else 0
    if gm is not None and gm != gen:
        raise precondition_failed()
    if mm is not None and (obj is None or mm != obj["metageneration"]):
        raise precondition_failed()
    if gnm is not None:
        if obj is None:
            raise precondition_failed("If-None-Match")
        if gnm == gen:
            raise NotModified()
    if mnm is not None:
        if obj is None:
            raise precondition_failed("If-None-Match")
        if mnm == obj["metageneration"]:
            raise NotModified()


# ----------------------------------------------------------------------------- store

class Store:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        self.buckets = {}   # name -> bucket dict
        self.objects = {}   # bucket -> {name -> obj}
        self._last_gen = 0
        self._bucket_ids = itertools.count(1)

    def next_generation(self):
        # microsecond clock like real generations, strictly increasing
        g = max(int(time.time() * 1_000_000), self._last_gen + 1)
        self._last_gen = g
        return g


UPDATABLE = ("contentType", "contentEncoding", "contentDisposition", "contentLanguage", "cacheControl",
             "metadata", "customTime", "temporaryHold", "eventBasedHold")


def object_resource(base_url, obj):
    b, n = obj["bucket"], obj["name"]
    qn = urllib.parse.quote(n, safe="")
    r = {
        "kind": "storage#object",
        "id": "%s/%s/%d" % (b, n, obj["generation"]),
        "selfLink": "%s/storage/v1/b/%s/o/%s" % (base_url, b, qn),
        "mediaLink": "%s/download/storage/v1/b/%s/o/%s?generation=%d&alt=media" % (base_url, b, qn, obj["generation"]),
        "name": n,
        "bucket": b,
        "generation": str(obj["generation"]),
        "metageneration": str(obj["metageneration"]),
        "contentType": obj.get("contentType") or "application/octet-stream",
        "storageClass": "STANDARD",
        "size": str(len(obj["data"])),
        "md5Hash": obj["md5Hash"],
        "crc32c": obj["crc32c"],
        "etag": obj["etag"],
        "timeCreated": obj["timeCreated"],
        "updated": obj["updated"],
        "timeStorageClassUpdated": obj["timeCreated"],
    }
    for k in UPDATABLE:
        if k != "contentType" and obj.get(k) is not None:
            r[k] = obj[k]
    return r


def etag_for(obj):
    return b64(hashlib.md5(("%d/%d" % (obj["generation"], obj["metageneration"])).encode()).digest())[:12]


# ----------------------------------------------------------------------------- handler

class GcsHandler(serverutil.BaseHandler):
    server_version = "nic-gcs-stand-in/1"

    # routing ------------------------------------------------------------------------
    def _dispatch(self):
        raw_path, _, raw_query = self.path.partition("?")
        q = {}
        for k, v in urllib.parse.parse_qsl(raw_query, keep_blank_values=True):
            q[k] = v
        self.q = q
        if raw_path.startswith("/_test/"):
            return self._test_endpoint(raw_path)
        self.server.count(self.command)
        try:
            self.read_body()
            self._check_auth()
            self._route(raw_path, q)
        except ApiError as e:
            self.send_json(e.code, e.body(), content_type="application/json; charset=UTF-8")
        except NotModified:
            self.send_bytes(304, b"")
        except Exception as e:  # pragma: no cover - surfaced to tests as 500
            import traceback
            traceback.print_exc()
            err = ApiError(500, "backendError", "internal error in test server: %s" % e)
            self.send_json(500, err.body())

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _dispatch

    def _check_auth(self):
        tok = self.server.required_token
        if tok is None:
            return
        if self.headers.get("Authorization") != "Bearer " + tok:
            raise ApiError(401, "required", "Login Required",
                           {"locationType": "header", "location": "Authorization"})

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
        return self.send_json(404, ApiError(404, "notFound", "unknown test endpoint").body())

    def _route(self, path, q):
        m = self.command
        if path.startswith("/storage/v1/b"):
            rest = path[len("/storage/v1/b"):]
            if rest in ("", "/"):
                if m == "POST":
                    return self.bucket_insert(q)
                if m == "GET":
                    return self.bucket_list(q)
                raise ApiError(405, "methodNotAllowed", "Method not allowed")
            if not rest.startswith("/"):
                raise ApiError(404, "notFound", "Not Found")
            rest = rest[1:]
            bucket_raw, sep, orest = rest.partition("/o")
            bucket = urllib.parse.unquote(bucket_raw)
            if not sep:
                if m == "GET":
                    return self.bucket_get(bucket)
                if m == "DELETE":
                    return self.bucket_delete(bucket)
                raise ApiError(405, "methodNotAllowed", "Method not allowed")
            if orest in ("", "/"):
                if m == "GET":
                    return self.object_list(bucket, q)
                if m == "POST":  # simple JSON-API insert without upload path: not supported
                    raise ApiError(400, "invalid", "Use /upload/storage/v1/b/<bucket>/o to upload media")
                raise ApiError(405, "methodNotAllowed", "Method not allowed")
            if not orest.startswith("/"):
                raise ApiError(404, "notFound", "Not Found")
            name = urllib.parse.unquote(orest[1:])
            if m in ("GET", "HEAD"):
                return self.object_get(bucket, name, q, media=(q.get("alt") == "media"))
            if m == "DELETE":
                return self.object_delete(bucket, name, q)
            if m in ("PATCH", "PUT"):
                return self.object_patch(bucket, name, q, replace=(m == "PUT"))
            raise ApiError(405, "methodNotAllowed", "Method not allowed")
        if path.startswith("/download/storage/v1/b/"):
            rest = path[len("/download/storage/v1/b/"):]
            bucket_raw, sep, orest = rest.partition("/o/")
            if not sep or m not in ("GET", "HEAD"):
                raise ApiError(404, "notFound", "Not Found")
            return self.object_get(urllib.parse.unquote(bucket_raw), urllib.parse.unquote(orest), q, media=True)
        if path.startswith("/upload/storage/v1/b/"):
            rest = path[len("/upload/storage/v1/b/"):]
            bucket_raw, sep, orest = rest.partition("/o")
            if not sep or orest not in ("", "/") or m != "POST":
                raise ApiError(404, "notFound", "Not Found")
            return self.object_upload(urllib.parse.unquote(bucket_raw), q)
        raise ApiError(404, "notFound", "Not Found")

    # helpers ----------------------------------------------------------------------------
    @property
    def base_url(self):
        host = self.headers.get("Host") or "%s:%d" % self.server.server_address[:2]
        return "http://" + host

    def _bucket_or_404(self, store, bucket):
        if bucket not in store.buckets:
            raise not_found_bucket()
        return store.objects[bucket]

    def _json_body(self):
        body = self.read_body()
        if not body:
            return {}
        try:
            v = json.loads(body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "parseError", "Parse Error")
        if not isinstance(v, dict):
            raise ApiError(400, "invalid", "Invalid JSON payload: expected an object")
        return v

    # buckets ----------------------------------------------------------------------------
    def bucket_insert(self, q):
        if not q.get("project"):
            raise ApiError(400, "required", "Required parameter: project")
        body = self._json_body()
        name = body.get("name")
        if not name:
            raise ApiError(400, "required", "Required")
        if not BUCKET_RE.match(name) or ".." in name:
            raise ApiError(400, "invalid", "Invalid bucket name: '%s'" % name)
        store = self.server.store
        with store.lock:
            if name in store.buckets:
                raise ApiError(409, "conflict",
                               "Your previous request to create the named bucket succeeded and you already own it.")
            now = rfc3339(time.time())
            b = {
                "kind": "storage#bucket",
                "id": name,
                "selfLink": "%s/storage/v1/b/%s" % (self.base_url, name),
                "projectNumber": str(100000000000 + next(store._bucket_ids)),
                "name": name,
                "timeCreated": now,
                "updated": now,
                "metageneration": "1",
                "location": (body.get("location") or "US").upper(),
                "locationType": "multi-region",
                "storageClass": body.get("storageClass") or "STANDARD",
                "etag": "CAE=",
            }
            if "labels" in body:
                b["labels"] = body["labels"]
            if "versioning" in body:
                b["versioning"] = body["versioning"]
            store.buckets[name] = b
            store.objects[name] = {}
            return self.send_json(200, b)

    def bucket_get(self, bucket):
        store = self.server.store
        with store.lock:
            if bucket not in store.buckets:
                raise not_found_bucket()
            return self.send_json(200, store.buckets[bucket])

    def bucket_list(self, q):
        if not q.get("project"):
            raise ApiError(400, "required", "Required parameter: project")
        store = self.server.store
        with store.lock:
            items = [store.buckets[n] for n in sorted(store.buckets)]
        out = {"kind": "storage#buckets"}
        if items:
            out["items"] = items
        return self.send_json(200, out)

    def bucket_delete(self, bucket):
        store = self.server.store
        with store.lock:
            objs = self._bucket_or_404(store, bucket)
            if objs:
                raise ApiError(409, "conflict", "The bucket you tried to delete is not empty.")
            del store.buckets[bucket]
            del store.objects[bucket]
        return self.send_bytes(204, b"")

    # objects ----------------------------------------------------------------------------
    def _generation_param(self, q):
        return parse_int_param(q, "generation")

    def object_get(self, bucket, name, q, media):
        pre = parse_preconditions(q)
        gen = self._generation_param(q)
        store = self.server.store
        with store.lock:
            objs = self._bucket_or_404(store, bucket)
            obj = objs.get(name)
            if obj is None or (gen is not None and gen != obj["generation"]):
                raise not_found_object(bucket, name)
            check_preconditions(pre, obj, is_read=True)
            res = object_resource(self.base_url, obj)
            data = obj["data"]
        if not media:
            return self.send_json(200, res)
        hdrs = {
            "x-goog-generation": res["generation"],
            "x-goog-metageneration": res["metageneration"],
            "x-goog-hash": "crc32c=%s,md5=%s" % (res["crc32c"], res["md5Hash"]),
            "x-goog-stored-content-length": res["size"],
            "ETag": '"%s"' % res["etag"],
        }
        return self.send_bytes(200, data, res["contentType"], hdrs)

    def object_delete(self, bucket, name, q):
        pre = parse_preconditions(q)
        gen = self._generation_param(q)
        store = self.server.store
        with store.lock:
            objs = self._bucket_or_404(store, bucket)
            obj = objs.get(name)
            if obj is None or (gen is not None and gen != obj["generation"]):
                raise not_found_object(bucket, name)
            check_preconditions(pre, obj, is_read=False)
            del objs[name]
        return self.send_bytes(204, b"")

    def object_patch(self, bucket, name, q, replace):
        pre = parse_preconditions(q)
        body = self._json_body()
        store = self.server.store
        with store.lock:
            objs = self._bucket_or_404(store, bucket)
            obj = objs.get(name)
            if obj is None:
                raise not_found_object(bucket, name)
            check_preconditions(pre, obj, is_read=False)
            new = dict(obj)
            if replace:  # objects.update: writable metadata replaced wholesale
                for k in UPDATABLE:
                    new.pop(k, None)
            for k in UPDATABLE:
                if k not in body:
                    continue
                v = body[k]
                if k == "metadata" and not replace and isinstance(v, dict):
                    md = dict(new.get("metadata") or {})
                    for mk, mv in v.items():
                        if mv is None:
                            md.pop(mk, None)
                        else:
                            md[mk] = str(mv)
                    new["metadata"] = md or None
                elif v is None:
                    new.pop(k, None)
                else:
                    new[k] = v
            new["metageneration"] = obj["metageneration"] + 1
            new["updated"] = rfc3339(time.time())
            new["etag"] = etag_for(new)
            objs[name] = new
            res = object_resource(self.base_url, new)
        return self.send_json(200, res)

    def object_list(self, bucket, q):
        prefix = q.get("prefix", "")
        delim = q.get("delimiter", "")
        start_off = q.get("startOffset", "")
        end_off = q.get("endOffset", "")
        mr = q.get("maxResults")
        max_results = 1000
        if mr is not None:
            try:
                max_results = int(mr)
            except ValueError:
                raise bad_param("maxResults", mr)
            if max_results < 0:
                raise bad_param("maxResults", mr)
            if max_results == 0 or max_results > 1000:
                max_results = 1000
        token = q.get("pageToken")
        after = None
        if token:
            try:
                after = base64.urlsafe_b64decode(token.encode() + b"=" * (-len(token) % 4)).decode("utf-8")
                if not after.startswith("n:"):
                    raise ValueError
                after = after[2:]
            except (ValueError, UnicodeDecodeError):
                raise bad_param("pageToken", token)
        store = self.server.store
        with store.lock:
            objs = self._bucket_or_404(store, bucket)
            names = sorted(objs)
            entries = []  # (sort key, kind, value)
            seen_prefixes = set()
            for n in names:
                if not n.startswith(prefix):
                    continue
                if start_off and n < start_off:
                    continue
                if end_off and n >= end_off:
                    continue
                if delim:
                    i = n.find(delim, len(prefix))
                    if i >= 0:
                        p = n[:i + len(delim)]
                        if p not in seen_prefixes:
                            seen_prefixes.add(p)
                            entries.append((p, "prefix", p))
                        continue
                entries.append((n, "item", objs[n]))
            if after is not None:
                entries = [e for e in entries if e[0] > after]
            page = entries[:max_results]
            more = len(entries) > max_results
            out = {"kind": "storage#objects"}
            items = [object_resource(self.base_url, e[2]) for e in page if e[1] == "item"]
            prefixes = [e[2] for e in page if e[1] == "prefix"]
            if prefixes:
                out["prefixes"] = prefixes
            if items:
                out["items"] = items
            if more:
                out["nextPageToken"] = base64.urlsafe_b64encode(("n:" + page[-1][0]).encode()).decode().rstrip("=")
        return self.send_json(200, out)

    def _parse_multipart(self):
        ctype = self.headers.get("Content-Type", "")
        m = re.search(r'boundary="?([^";]+)"?', ctype)
        if not ctype.lower().startswith("multipart/related") or not m:
            raise ApiError(400, "invalid", "Multipart upload requires Content-Type multipart/related with a boundary")
        boundary = m.group(1).encode()
        body = self.read_body()
        delim = b"--" + boundary
        parts = []
        for chunk in body.split(delim)[1:]:
            if chunk.startswith(b"--"):
                break
            if chunk.startswith(b"\r\n"):
                chunk = chunk[2:]
            elif chunk.startswith(b"\n"):
                chunk = chunk[1:]
            hdr_end = chunk.find(b"\r\n\r\n")
            sep_len = 4
            if hdr_end < 0:
                hdr_end = chunk.find(b"\n\n")
                sep_len = 2
            if hdr_end < 0:
                raise ApiError(400, "invalid", "Malformed multipart body")
            raw_headers = chunk[:hdr_end].decode("latin-1")
            content = chunk[hdr_end + sep_len:]
            if content.endswith(b"\r\n"):
                content = content[:-2]
            elif content.endswith(b"\n"):
                content = content[:-1]
            hdrs = {}
            for line in raw_headers.splitlines():
                if ":" in line:
                    k, v = line.split(":", 1)
                    hdrs[k.strip().lower()] = v.strip()
            parts.append((hdrs, content))
        if len(parts) != 2:
            raise ApiError(400, "invalid", "Multipart upload must have exactly 2 parts (metadata, media)")
        try:
            meta = json.loads(parts[0][1].decode("utf-8") or "{}")
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "parseError", "Parse Error")
        if not isinstance(meta, dict):
            raise ApiError(400, "invalid", "Metadata part must be a JSON object")
        return meta, parts[1][1], parts[1][0].get("content-type")

    def object_upload(self, bucket, q):
        ut = q.get("uploadType")
        if ut is None:
            raise ApiError(400, "required", "Required parameter: uploadType")
        if ut == "media":
            meta = {}
            data = self.read_body()
            media_ct = self.headers.get("Content-Type")
        elif ut == "multipart":
            meta, data, media_ct = self._parse_multipart()
        elif ut == "resumable":
            raise ApiError(501, "notImplemented", "uploadType=resumable is not implemented by this test server")
        else:
            raise bad_param("uploadType", ut)
        name = q.get("name") or meta.get("name")
        if not name:
            raise ApiError(400, "required", "Required parameter: name")
        if "metadata" in meta and meta["metadata"] is not None and not isinstance(meta["metadata"], dict):
            raise ApiError(400, "invalid", "Invalid value for metadata")
        pre = parse_preconditions(q)
        md5_b64 = b64(hashlib.md5(data).digest())
        crc_b64 = b64(crc32c(data).to_bytes(4, "big"))  # hashed outside the store lock
        if "md5Hash" in meta and meta["md5Hash"] != md5_b64:
            raise ApiError(400, "invalid", "Provided MD5 hash does not match the calculated MD5 hash of the data.")
        if "crc32c" in meta and meta["crc32c"] != crc_b64:
            raise ApiError(400, "invalid", "Provided CRC32C does not match the calculated CRC32C of the data.")
        content_type = meta.get("contentType") or media_ct or "application/octet-stream"
        store = self.server.store
        with store.lock:
            objs = self._bucket_or_404(store, bucket)
            old = objs.get(name)
            check_preconditions(pre, old, is_read=False)
            now = rfc3339(time.time())
            obj = {
                "bucket": bucket,
                "name": name,
                "data": bytes(data),
                "generation": store.next_generation(),
                "metageneration": 1,
                "contentType": content_type,
                "md5Hash": md5_b64,
                "crc32c": crc_b64,
                "timeCreated": now,
                "updated": now,
            }
            for k in UPDATABLE:
                if k != "contentType" and meta.get(k) is not None:
                    obj[k] = ({mk: str(mv) for mk, mv in meta[k].items() if mv is not None}
                              if k == "metadata" else meta[k])
            obj["etag"] = etag_for(obj)
            objs[name] = obj
            res = object_resource(self.base_url, obj)
        return self.send_json(200, res)


def main(argv=None):
    p = serverutil.base_arg_parser(__doc__.splitlines()[1])
    p.add_argument("--require-token", default=None,
                   help="require 'Authorization: Bearer TOKEN' on every API request (else 401)")
    args = p.parse_args(argv)
    httpd = serverutil.CountingServer((args.host, args.port), GcsHandler, quiet=args.quiet)
    httpd.store = Store()
    httpd.required_token = args.require_token
    serverutil.serve(httpd, args.port_file, "gcs_server")


if __name__ == "__main__":
    main()

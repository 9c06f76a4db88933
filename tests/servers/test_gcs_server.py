"""Tests for tests/servers/gcs_server.py (the in-memory GCS JSON API stand-in).

Run: cd /work/main && PYTHONPATH=tests/servers python3 -m unittest -v test_gcs_server
"""

import base64
import hashlib
import json
import os
import sys
import threading
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import serverutil  # noqa: E402
from gcs_server import crc32c  # noqa: E402

TOKEN = "test-token-123"
AUTH = {"Authorization": "Bearer " + TOKEN}


def q(name):
    return urllib.parse.quote(name, safe="")


class GcsServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = serverutil.start_server("gcs_server.py")
        cls.port = cls.srv.port
        r = cls.req("POST", "/storage/v1/b?project=p1", {"name": "bkt"})
        assert r.status == 200, r

    @classmethod
    def tearDownClass(cls):
        serverutil.stop_server(cls.srv)

    @classmethod
    def req(cls, method, path, body=None, headers=None):
        return serverutil.http_request(cls.port, method, path, body, headers)

    def upload(self, name, data, extra="", ctype="text/plain", bucket="bkt"):
        return self.req("POST", "/upload/storage/v1/b/%s/o?uploadType=media&name=%s%s" % (bucket, q(name), extra),
                        data, {"Content-Type": ctype})

    def assertError(self, r, code, reason):
        self.assertEqual(r.status, code, r)
        j = r.json()
        self.assertIn("error", j)
        self.assertEqual(j["error"]["code"], code)
        self.assertIsInstance(j["error"]["message"], str)
        self.assertEqual(len(j["error"]["errors"]), 1)
        e = j["error"]["errors"][0]
        self.assertEqual(e["reason"], reason)
        self.assertEqual(e["domain"], "global")
        self.assertIn("message", e)

    # ------------------------------------------------------------------ crc32c
    def test_crc32c_known_vectors(self):
        # RFC 3720 B.4 check value for "123456789"
        self.assertEqual(crc32c(b"123456789"), 0xE3069283)
        self.assertEqual(crc32c(b""), 0)
        self.assertEqual(crc32c(b"\x00" * 32), 0x8A9136AA)

    # ------------------------------------------------------------------ buckets
    def test_bucket_create_get_conflict(self):
        r = self.req("POST", "/storage/v1/b?project=p1", {"name": "bucket-two"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["kind"], "storage#bucket")
        self.assertEqual(r.json()["name"], "bucket-two")
        r = self.req("GET", "/storage/v1/b/bucket-two")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["name"], "bucket-two")
        self.assertError(self.req("POST", "/storage/v1/b?project=p1", {"name": "bucket-two"}), 409, "conflict")
        self.assertError(self.req("GET", "/storage/v1/b/no-such-bucket"), 404, "notFound")

    def test_bucket_bad_params(self):
        self.assertError(self.req("POST", "/storage/v1/b", {"name": "bucket-x"}), 400, "required")
        self.assertError(self.req("POST", "/storage/v1/b?project=p1", {}), 400, "required")
        self.assertError(self.req("POST", "/storage/v1/b?project=p1", {"name": "Bad_Name!"}), 400, "invalid")
        self.assertError(self.req("POST", "/storage/v1/b?project=p1", b"{not json",
                                  {"Content-Type": "application/json"}), 400, "parseError")

    def test_bucket_delete_non_empty(self):
        self.req("POST", "/storage/v1/b?project=p1", {"name": "bucket-del"})
        self.assertEqual(self.upload("x", b"1", bucket="bucket-del").status, 200)
        self.assertError(self.req("DELETE", "/storage/v1/b/bucket-del"), 409, "conflict")
        self.assertEqual(self.req("DELETE", "/storage/v1/b/bucket-del/o/x").status, 204)
        self.assertEqual(self.req("DELETE", "/storage/v1/b/bucket-del").status, 204)
        self.assertError(self.req("GET", "/storage/v1/b/bucket-del"), 404, "notFound")

    # ------------------------------------------------------------------ objects
    def test_upload_media_get_metadata_and_download(self):
        data = b"hello state\n"
        name = "env/prod/terraform.tfstate"
        r = self.upload(name, data, ctype="application/json")
        self.assertEqual(r.status, 200, r)
        o = r.json()
        self.assertEqual(o["kind"], "storage#object")
        self.assertEqual(o["name"], name)
        self.assertEqual(o["bucket"], "bkt")
        self.assertEqual(o["size"], str(len(data)))
        self.assertEqual(o["contentType"], "application/json")
        self.assertEqual(o["metageneration"], "1")
        self.assertTrue(o["generation"].isdigit())
        self.assertEqual(o["md5Hash"], base64.b64encode(hashlib.md5(data).digest()).decode())
        self.assertEqual(o["crc32c"], base64.b64encode(crc32c(data).to_bytes(4, "big")).decode())
        # metadata GET with %2F-encoded name
        r = self.req("GET", "/storage/v1/b/bkt/o/" + q(name))
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["generation"], o["generation"])
        # media
        r = self.req("GET", "/storage/v1/b/bkt/o/%s?alt=media" % q(name))
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, data)
        self.assertEqual(r.headers["x-goog-generation"], o["generation"])
        self.assertIn("md5=" + o["md5Hash"], r.headers["x-goog-hash"])
        self.assertEqual(r.headers["content-type"], "application/json")
        # download alias
        r = self.req("GET", "/download/storage/v1/b/bkt/o/%s?alt=media" % q(name))
        self.assertEqual(r.body, data)
        # mediaLink is usable
        link = urllib.parse.urlparse(o["mediaLink"])
        r = self.req("GET", link.path + "?" + link.query)
        self.assertEqual(r.body, data)

    def test_generation_changes_on_each_write(self):
        g = []
        for i in range(4):
            r = self.upload("gen-obj", b"v%d" % i)
            self.assertEqual(r.status, 200)
            g.append(int(r.json()["generation"]))
            self.assertEqual(r.json()["metageneration"], "1")
        self.assertEqual(g, sorted(g))
        self.assertEqual(len(set(g)), 4)

    def test_multipart_upload_with_metadata(self):
        boundary = "nic_boundary_42"
        meta = {"name": "mp/obj.json", "contentType": "application/json",
                "metadata": {"lockid": "abc", "owner": "nic"}}
        data = b'{"x": 1}'
        body = (("--%s\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n%s\r\n"
                 "--%s\r\nContent-Type: application/octet-stream\r\n\r\n") % (boundary, json.dumps(meta), boundary)).encode()
        body += data + ("\r\n--%s--\r\n" % boundary).encode()
        r = self.req("POST", "/upload/storage/v1/b/bkt/o?uploadType=multipart", body,
                     {"Content-Type": 'multipart/related; boundary="%s"' % boundary})
        self.assertEqual(r.status, 200, r)
        o = r.json()
        self.assertEqual(o["name"], "mp/obj.json")
        self.assertEqual(o["metadata"], {"lockid": "abc", "owner": "nic"})
        self.assertEqual(o["contentType"], "application/json")
        r = self.req("GET", "/storage/v1/b/bkt/o/%s?alt=media" % q("mp/obj.json"))
        self.assertEqual(r.body, data)
        # md5 mismatch in metadata part -> 400
        meta2 = dict(meta, md5Hash=base64.b64encode(b"0" * 16).decode())
        body2 = body.replace(json.dumps(meta).encode(), json.dumps(meta2).encode())
        r = self.req("POST", "/upload/storage/v1/b/bkt/o?uploadType=multipart", body2,
                     {"Content-Type": "multipart/related; boundary=%s" % boundary})
        self.assertError(r, 400, "invalid")
        # not multipart/related -> 400
        r = self.req("POST", "/upload/storage/v1/b/bkt/o?uploadType=multipart", b"x",
                     {"Content-Type": "text/plain"})
        self.assertError(r, 400, "invalid")

    def test_upload_errors(self):
        self.assertError(self.req("POST", "/upload/storage/v1/b/bkt/o?name=a", b"x"), 400, "required")
        self.assertError(self.req("POST", "/upload/storage/v1/b/bkt/o?uploadType=media", b"x"), 400, "required")
        self.assertError(self.req("POST", "/upload/storage/v1/b/bkt/o?uploadType=bogus&name=a", b"x"), 400, "invalid")
        self.assertError(self.upload("a", b"x", bucket="missing-bucket"), 404, "notFound")
        self.assertError(self.upload("a", b"x", extra="&ifGenerationMatch=abc"), 400, "invalid")
        self.assertError(self.upload("a", b"x", extra="&ifGenerationMatch=-1"), 400, "invalid")

    def test_get_missing(self):
        self.assertError(self.req("GET", "/storage/v1/b/bkt/o/nope"), 404, "notFound")
        self.assertError(self.req("GET", "/storage/v1/b/bkt/o/nope?alt=media"), 404, "notFound")
        self.assertError(self.req("DELETE", "/storage/v1/b/bkt/o/nope"), 404, "notFound")
        self.assertError(self.req("PATCH", "/storage/v1/b/bkt/o/nope", {"metadata": {"a": "b"}}), 404, "notFound")
        self.assertError(self.req("GET", "/storage/v1/b/missing-bucket/o/x"), 404, "notFound")
        r = self.req("GET", "/storage/v1/b/bkt/o/nope")
        self.assertIn("No such object: bkt/nope", r.json()["error"]["message"])

    # ------------------------------------------------------------------ preconditions
    def test_if_generation_match_zero_create_only(self):
        r = self.upload("lock/a", b"1", extra="&ifGenerationMatch=0")
        self.assertEqual(r.status, 200, r)
        r = self.upload("lock/a", b"2", extra="&ifGenerationMatch=0")
        self.assertError(r, 412, "conditionNotMet")
        self.assertEqual(self.req("GET", "/storage/v1/b/bkt/o/%s?alt=media" % q("lock/a")).body, b"1")

    def test_if_generation_match_on_write(self):
        g = self.upload("cas", b"1").json()["generation"]
        self.assertError(self.upload("cas", b"2", extra="&ifGenerationMatch=%d" % (int(g) + 5)), 412, "conditionNotMet")
        r = self.upload("cas", b"2", extra="&ifGenerationMatch=" + g)
        self.assertEqual(r.status, 200)
        g2 = r.json()["generation"]
        self.assertGreater(int(g2), int(g))
        # stale generation now fails
        self.assertError(self.upload("cas", b"3", extra="&ifGenerationMatch=" + g), 412, "conditionNotMet")
        # nonzero match on a missing object fails
        self.assertError(self.upload("cas-missing", b"3", extra="&ifGenerationMatch=123"), 412, "conditionNotMet")

    def test_if_generation_not_match(self):
        g = self.upload("gnm", b"1").json()["generation"]
        # write: matching values -> 304 Not Modified (request-preconditions table), nothing written
        r = self.upload("gnm", b"2", extra="&ifGenerationNotMatch=" + g)
        self.assertEqual(r.status, 304)
        self.assertEqual(r.body, b"")
        self.assertEqual(self.req("GET", "/storage/v1/b/bkt/o/gnm?alt=media").body, b"1")
        self.assertEqual(self.upload("gnm", b"2", extra="&ifGenerationNotMatch=1").status, 200)
        # no live object: the precondition fails (412); =0 means "only if a live object exists"
        self.assertError(self.upload("gnm-missing", b"2", extra="&ifGenerationNotMatch=0"), 412, "conditionNotMet")
        self.assertError(self.upload("gnm-missing", b"2", extra="&ifGenerationNotMatch=7"), 412, "conditionNotMet")
        self.assertError(self.upload("gnm-missing", b"2", extra="&ifMetagenerationNotMatch=7"), 412,
                         "conditionNotMet")
        self.assertEqual(self.upload("gnm", b"3", extra="&ifGenerationNotMatch=0").status, 200)
        # read: failed NotMatch -> 304 Not Modified, no body
        g = self.req("GET", "/storage/v1/b/bkt/o/gnm").json()["generation"]
        r = self.req("GET", "/storage/v1/b/bkt/o/gnm?ifGenerationNotMatch=" + g)
        self.assertEqual(r.status, 304)
        self.assertEqual(r.body, b"")
        r = self.req("GET", "/storage/v1/b/bkt/o/gnm?alt=media&ifGenerationNotMatch=1")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"3")
        # delete: 304, object kept
        self.assertEqual(self.req("DELETE", "/storage/v1/b/bkt/o/gnm?ifGenerationNotMatch=" + g).status, 304)
        self.assertEqual(self.req("GET", "/storage/v1/b/bkt/o/gnm").status, 200)

    def test_read_preconditions(self):
        g = self.upload("rp", b"1").json()["generation"]
        self.assertEqual(self.req("GET", "/storage/v1/b/bkt/o/rp?ifGenerationMatch=" + g).status, 200)
        self.assertError(self.req("GET", "/storage/v1/b/bkt/o/rp?ifGenerationMatch=1"), 412, "conditionNotMet")
        self.assertError(self.req("GET", "/storage/v1/b/bkt/o/rp?alt=media&ifMetagenerationMatch=2"), 412,
                         "conditionNotMet")
        self.assertEqual(self.req("GET", "/storage/v1/b/bkt/o/rp?ifMetagenerationMatch=1").status, 200)
        self.assertEqual(self.req("GET", "/storage/v1/b/bkt/o/rp?ifMetagenerationNotMatch=1").status, 304)
        self.assertEqual(self.req("GET", "/storage/v1/b/bkt/o/rp?ifMetagenerationNotMatch=7").status, 200)
        self.assertError(self.req("GET", "/storage/v1/b/bkt/o/rp?ifMetagenerationMatch=x"), 400, "invalid")
        # generation selector for a non-current generation -> 404 (no versioning)
        self.assertError(self.req("GET", "/storage/v1/b/bkt/o/rp?generation=1"), 404, "notFound")
        self.assertEqual(self.req("GET", "/storage/v1/b/bkt/o/rp?generation=" + g).status, 200)

    def test_delete_preconditions(self):
        g = self.upload("dp", b"1").json()["generation"]
        self.assertError(self.req("DELETE", "/storage/v1/b/bkt/o/dp?ifGenerationMatch=1"), 412, "conditionNotMet")
        self.assertError(self.req("DELETE", "/storage/v1/b/bkt/o/dp?ifMetagenerationMatch=9"), 412, "conditionNotMet")
        self.assertEqual(self.req("DELETE", "/storage/v1/b/bkt/o/dp?ifMetagenerationNotMatch=1").status, 304)
        r = self.req("DELETE", "/storage/v1/b/bkt/o/dp?ifGenerationMatch=%s&ifMetagenerationMatch=1" % g)
        self.assertEqual(r.status, 204)
        self.assertEqual(r.body, b"")
        self.assertError(self.req("GET", "/storage/v1/b/bkt/o/dp"), 404, "notFound")
        self.assertError(self.req("DELETE", "/storage/v1/b/bkt/o/dp?ifGenerationMatch=" + g), 404, "notFound")

    def test_patch_metadata_and_metageneration(self):
        o = self.upload("pm", b"1").json()
        r = self.req("PATCH", "/storage/v1/b/bkt/o/pm", {"metadata": {"a": "1", "b": "2"}})
        self.assertEqual(r.status, 200, r)
        p = r.json()
        self.assertEqual(p["metageneration"], "2")
        self.assertEqual(p["generation"], o["generation"])
        self.assertEqual(p["metadata"], {"a": "1", "b": "2"})
        # null removes a key; others are merged
        r = self.req("PATCH", "/storage/v1/b/bkt/o/pm?ifMetagenerationMatch=2", {"metadata": {"a": None, "c": "3"}})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json()["metadata"], {"b": "2", "c": "3"})
        self.assertEqual(r.json()["metageneration"], "3")
        # stale metageneration
        self.assertError(self.req("PATCH", "/storage/v1/b/bkt/o/pm?ifMetagenerationMatch=2", {"metadata": {"x": "y"}}),
                         412, "conditionNotMet")
        self.assertEqual(self.req("PATCH", "/storage/v1/b/bkt/o/pm?ifMetagenerationNotMatch=3",
                                  {"metadata": {"x": "y"}}).status, 304)
        self.assertEqual(self.req("GET", "/storage/v1/b/bkt/o/pm").json()["metageneration"], "3")
        self.assertError(self.req("PATCH", "/storage/v1/b/bkt/o/pm?ifGenerationMatch=1", {"contentType": "a/b"}),
                         412, "conditionNotMet")
        self.assertError(self.req("PATCH", "/storage/v1/b/bkt/o/pm", b"[1]", {"Content-Type": "application/json"}),
                         400, "invalid")
        # data untouched, new upload resets metageneration
        self.assertEqual(self.req("GET", "/storage/v1/b/bkt/o/pm?alt=media").body, b"1")
        self.assertEqual(self.upload("pm", b"2").json()["metageneration"], "1")

    # ------------------------------------------------------------------ concurrency
    def test_concurrent_create_only_uploads(self):
        for rnd in range(5):
            name = "race/obj-%d" % rnd
            results = []
            barrier = threading.Barrier(8)

            def worker(i):
                barrier.wait()
                r = self.upload(name, b"writer-%d" % i, extra="&ifGenerationMatch=0")
                results.append((r.status, i))

            ts = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            statuses = sorted(s for s, _ in results)
            self.assertEqual(statuses, [200] + [412] * 7, results)
            winner = [i for s, i in results if s == 200][0]
            self.assertEqual(self.req("GET", "/storage/v1/b/bkt/o/%s?alt=media" % q(name)).body, b"writer-%d" % winner)

    def test_concurrent_cas_updates(self):
        g = self.upload("race/cas", b"0").json()["generation"]
        for rnd in range(5):
            results = []
            barrier = threading.Barrier(8)

            def worker(i):
                barrier.wait()
                r = self.upload("race/cas", b"w%d-%d" % (rnd, i), extra="&ifGenerationMatch=" + g)
                results.append((r.status, r.json().get("generation")))

            ts = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
            self.assertEqual(sorted(s for s, _ in results), [200] + [412] * 7)
            g = [gen for s, gen in results if s == 200][0]
            self.assertEqual(self.req("GET", "/storage/v1/b/bkt/o/race%2Fcas").json()["generation"], g)

    # ------------------------------------------------------------------ list
    def test_list_pagination_prefix_delimiter(self):
        self.req("POST", "/storage/v1/b?project=p1", {"name": "listing"})
        names = ["a/1", "a/2", "a/3", "a/sub/x", "a/sub/y", "a/sub2/z", "b/1", "top"]
        for n in names:
            self.assertEqual(self.upload(n, b"x", bucket="listing").status, 200)
        # everything, 3 per page
        got, token, pages = [], None, 0
        while True:
            path = "/storage/v1/b/listing/o?maxResults=3" + ("&pageToken=" + token if token else "")
            j = self.req("GET", path).json()
            self.assertEqual(j["kind"], "storage#objects")
            got += [i["name"] for i in j.get("items", [])]
            pages += 1
            token = j.get("nextPageToken")
            if not token:
                break
        self.assertEqual(got, names)
        self.assertEqual(pages, 3)
        # prefix
        j = self.req("GET", "/storage/v1/b/listing/o?prefix=a/sub").json()
        self.assertEqual([i["name"] for i in j["items"]], ["a/sub/x", "a/sub/y", "a/sub2/z"])
        # delimiter: items + prefixes
        j = self.req("GET", "/storage/v1/b/listing/o?prefix=a/&delimiter=/").json()
        self.assertEqual([i["name"] for i in j["items"]], ["a/1", "a/2", "a/3"])
        self.assertEqual(j["prefixes"], ["a/sub/", "a/sub2/"])
        j = self.req("GET", "/storage/v1/b/listing/o?delimiter=/").json()
        self.assertEqual([i["name"] for i in j["items"]], ["top"])
        self.assertEqual(j["prefixes"], ["a/", "b/"])
        # delimiter + pagination across pages: prefixes and items both count
        seen_items, seen_prefixes, token, pages = [], [], None, 0
        while True:
            path = "/storage/v1/b/listing/o?prefix=a/&delimiter=/&maxResults=2" + ("&pageToken=" + token if token else "")
            j = self.req("GET", path).json()
            seen_items += [i["name"] for i in j.get("items", [])]
            seen_prefixes += j.get("prefixes", [])
            pages += 1
            token = j.get("nextPageToken")
            if not token:
                break
        self.assertEqual(seen_items, ["a/1", "a/2", "a/3"])
        self.assertEqual(seen_prefixes, ["a/sub/", "a/sub2/"])
        self.assertEqual(pages, 3)
        # empty result has no items key
        j = self.req("GET", "/storage/v1/b/listing/o?prefix=zzz").json()
        self.assertNotIn("items", j)
        self.assertNotIn("nextPageToken", j)
        # bad params
        self.assertError(self.req("GET", "/storage/v1/b/listing/o?maxResults=abc"), 400, "invalid")
        self.assertError(self.req("GET", "/storage/v1/b/listing/o?pageToken=%%%%"), 400, "invalid")
        self.assertError(self.req("GET", "/storage/v1/b/no-bucket/o"), 404, "notFound")

    # ------------------------------------------------------------------ test endpoints
    def test_request_counters_and_reset(self):
        self.assertEqual(self.req("POST", "/_test/reset").status, 200)
        self.upload("cnt", b"1")
        self.req("GET", "/storage/v1/b/bkt/o/cnt")
        self.req("GET", "/storage/v1/b/bkt/o/cnt?alt=media")
        self.req("DELETE", "/storage/v1/b/bkt/o/cnt")
        j = self.req("GET", "/_test/requests").json()
        # counters can include requests of tests running in parallel threads only; unittest is serial here
        self.assertEqual(j["by_method"], {"POST": 1, "GET": 2, "DELETE": 1})
        self.assertEqual(j["total"], 4)
        self.req("POST", "/_test/reset")
        self.assertEqual(self.req("GET", "/_test/requests").json()["total"], 0)

    def test_keepalive_connection_reuse(self):
        import http.client
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            for i in range(3):
                c.request("POST", "/upload/storage/v1/b/bkt/o?uploadType=media&name=ka", body=b"k%d" % i)
                r = c.getresponse()
                self.assertEqual(r.status, 200)
                r.read()
                c.request("GET", "/storage/v1/b/bkt/o/ka?alt=media")
                r = c.getresponse()
                self.assertEqual(r.read(), b"k%d" % i)
        finally:
            c.close()

    def test_chunked_upload_body(self):
        import http.client
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        try:
            c.request("POST", "/upload/storage/v1/b/bkt/o?uploadType=media&name=chunked",
                      body=iter([b"abc", b"defg"]), encode_chunked=True,
                      headers={"Transfer-Encoding": "chunked"})
            r = c.getresponse()
            body = r.read()
            self.assertEqual(r.status, 200, body)
            self.assertEqual(json.loads(body)["size"], "7")
        finally:
            c.close()


class GcsAuthTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = serverutil.start_server("gcs_server.py", ["--require-token", TOKEN])

    @classmethod
    def tearDownClass(cls):
        serverutil.stop_server(cls.srv)

    def test_bearer_required(self):
        p = self.srv.port
        r = serverutil.http_request(p, "POST", "/storage/v1/b?project=p", {"name": "authb"})
        self.assertEqual(r.status, 401)
        self.assertEqual(r.json()["error"]["errors"][0]["reason"], "required")
        r = serverutil.http_request(p, "POST", "/storage/v1/b?project=p", {"name": "authb"},
                                    {"Authorization": "Bearer wrong"})
        self.assertEqual(r.status, 401)
        r = serverutil.http_request(p, "POST", "/storage/v1/b?project=p", {"name": "authb"}, AUTH)
        self.assertEqual(r.status, 200)
        r = serverutil.http_request(p, "GET", "/storage/v1/b/authb", headers=AUTH)
        self.assertEqual(r.status, 200)
        # test endpoints need no token
        self.assertEqual(serverutil.http_request(p, "GET", "/_test/requests").status, 200)

    def test_port_file_and_pid(self):
        self.assertGreater(self.srv.port, 0)
        self.assertIsNone(self.srv.proc.poll())


if __name__ == "__main__":
    unittest.main()

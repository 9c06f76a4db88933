#!/usr/bin/env python3
"""A transparent HTTP/1.1 reverse proxy on 127.0.0.1 that records every request it forwards.

Used by bench/harness.py, never in a timed run: it records which requests NIC makes (to count
requests per backend cycle, and to replay NIC's exact drift-detect requests from curl and boto3
as baselines). Requests and responses are forwarded byte for byte (headers, bodies); each
request is appended to the JSONL file as {method, path, headers, body (latin-1 text)}.

    record_proxy.py --upstream http://127.0.0.1:5000 --port-file P --log requests.jsonl
"""
import argparse
import http.client
import http.server
import json
import os
import threading
import urllib.parse

HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--log", required=True)
    a = ap.parse_args()
    up = urllib.parse.urlsplit(a.upstream)
    lock = threading.Lock()
    logf = open(a.log, "a", buffering=1)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def _body(self):
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                out = b""
                while True:
                    n = int(self.rfile.readline().split(b";")[0], 16)
                    if n == 0:
                        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                            pass
                        return out
                    out += self.rfile.read(n)
                    self.rfile.readline()
            n = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(n) if n else b""

        def _any(self):
            body = self._body()
            headers = [(k, v) for k, v in self.headers.items() if k.lower() not in HOP and k.lower() != "expect"]
            with lock:
                logf.write(json.dumps({"method": self.command, "path": self.path, "headers": headers,
                                       "body": body.decode("latin-1")}) + "\n")
            conn = http.client.HTTPConnection(up.hostname, up.port, timeout=120)
            try:
                conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for k, v in headers:
                    if k.lower() != "content-length":
                        conn.putheader(k, v)
                if body or self.command in ("POST", "PUT", "PATCH"):
                    conn.putheader("Content-Length", str(len(body)))
                conn.endheaders(body if body else None)
                r = conn.getresponse()
                data = r.read()
                self.send_response_only(r.status, r.reason)
                for k, v in r.getheaders():
                    if k.lower() not in HOP and (k.lower() != "content-length" or self.command == "HEAD"):
                        self.send_header(k, v)
                if self.command != "HEAD" and not (r.status in (204, 304) or 100 <= r.status < 200):
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD" and data:
                    self.wfile.write(data)
            finally:
                conn.close()

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _any

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(f"{srv.server_address[1]}\n")
    os.replace(tmp, a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()

"""Shared plumbing for the protocol test servers in tests/servers/.

Standard library only. Two halves:

* server side: argument parsing (--host/--port/--port-file), a ThreadingHTTPServer with
  per-method request counters, a base request handler that reads bodies (Content-Length or
  chunked) and writes JSON, and the port-file readiness protocol;
* test side: ``start_server()`` / ``stop_server()`` to run a server script as a subprocess
  on port 0, wait for its port file and stop it by PID, plus a tiny HTTP client helper.

Readiness protocol: the server binds first, then writes the chosen port (decimal, with a
trailing newline) to ``--port-file`` via a temporary file + ``os.replace`` so a reader never
sees a partial file. Once the file exists the socket is already listening.
"""

import argparse
import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))


# --------------------------------------------------------------------------- server side

def base_arg_parser(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free port")
    p.add_argument("--port-file", default=None,
                   help="write the chosen port here once listening (atomic rename)")
    p.add_argument("--quiet", action="store_true", default=True, help="no per-request log (default)")
    p.add_argument("--verbose", dest="quiet", action="store_false", help="log every request to stderr")
    return p


class CountingServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that counts requests per method (for /_test/requests)."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, handler, quiet=True):
        super().__init__(addr, handler)
        self.quiet = quiet
        self.count_lock = threading.Lock()
        self.counts = {}
        self.total = 0

    tls_context = None

    def finish_request(self, request, client_address):
        # runs on the per-connection thread, so a slow TLS handshake never blocks accept()
        if self.tls_context is not None:
            try:
                request = self.tls_context.wrap_socket(request, server_side=True)
            except (OSError, ValueError):
                return
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)

    def count(self, method):
        with self.count_lock:
            self.counts[method] = self.counts.get(method, 0) + 1
            self.total += 1

    def counts_snapshot(self):
        with self.count_lock:
            return {"total": self.total, "by_method": dict(self.counts)}

    def reset_counts(self):
        with self.count_lock:
            self.counts = {}
            self.total = 0


class BaseHandler(BaseHTTPRequestHandler):
    # HTTP/1.1 so clients (libcurl) can keep connections alive; every response sets
    # Content-Length so this is safe.
    protocol_version = "HTTP/1.1"
    # Keep-alive replies are small and written in pieces; without TCP_NODELAY every request
    # waits ~40 ms for the delayed-ACK/Nagle interplay.
    disable_nagle_algorithm = True
    server_version = "nic-test-server/1"

    def log_message(self, fmt, *args):  # noqa: D401 - stdlib signature
        if not getattr(self.server, "quiet", True):
            sys.stderr.write("%s - %s\n" % (self.address_string(), fmt % args))

    # -- body -----------------------------------------------------------------------------
    def read_body(self):
        if getattr(self, "_body", None) is not None:
            return self._body
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks = []
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    break
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    # trailers until blank line
                    while True:
                        t = self.rfile.readline(65537)
                        if t in (b"\r\n", b"\n", b""):
                            break
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline(3)  # CRLF after chunk
            body = b"".join(chunks)
        else:
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n > 0 else b""
        self._body = body
        return body

    # -- responses ------------------------------------------------------------------------
    def send_bytes(self, status, body, content_type="application/json", headers=None):
        if body is None:
            body = b""
        self.send_response(status)
        if content_type and (body or status not in (204, 304)):
            self.send_header("Content-Type", content_type)
        for k, v in (headers.items() if isinstance(headers, dict) else (headers or [])):
            self.send_header(k, v)
        if status not in (204, 304):
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and status not in (204, 304):
            self.wfile.write(body)

    def send_json(self, status, obj, headers=None, content_type="application/json"):
        body = json.dumps(obj, indent=None, separators=(",", ":")).encode()
        self.send_bytes(status, body, content_type, headers)

    def handle_one_request(self):
        self._body = None
        super().handle_one_request()


def write_port_file(path, port):
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".port-", dir=d)
    with os.fdopen(fd, "w") as f:
        f.write("%d\n" % port)
    os.replace(tmp, path)


def serve(httpd, port_file, name):
    """Write the port file, then serve until SIGTERM/SIGINT."""
    port = httpd.server_address[1]

    def _stop(signum, frame):
        # shutdown() must not run on the serving thread
        threading.Thread(target=httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    if port_file:
        write_port_file(port_file, port)
    sys.stderr.write("%s listening on %s:%d\n" % (name, httpd.server_address[0], port))
    sys.stderr.flush()
    try:
        httpd.serve_forever(poll_interval=0.2)
    finally:
        httpd.server_close()


# --------------------------------------------------------------------------- test side

class ServerProcess:
    def __init__(self, proc, port, tmpdir, log_path):
        self.proc = proc
        self.port = port
        self.tmpdir = tmpdir
        self.log_path = log_path

    @property
    def pid(self):
        return self.proc.pid

    def log(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except OSError:
            return ""


def start_server(script, extra_args=(), timeout=15.0):
    """Start tests/servers/<script> on 127.0.0.1 port 0; wait for the port file."""
    tmpdir = tempfile.mkdtemp(prefix="nic-srv-")
    port_file = os.path.join(tmpdir, "port")
    log_path = os.path.join(tmpdir, "server.log")
    logf = open(log_path, "w")
    cmd = [sys.executable, os.path.join(HERE, script), "--host", "127.0.0.1", "--port", "0",
           "--port-file", port_file] + list(extra_args)
    proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    logf.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("%s exited early (rc=%s): %s" % (script, proc.returncode, open(log_path).read()))
        if os.path.exists(port_file):
            with open(port_file) as f:
                txt = f.read().strip()
            if txt:
                return ServerProcess(proc, int(txt), tmpdir, log_path)
        time.sleep(0.02)
    proc.kill()
    raise RuntimeError("%s did not write its port file within %.0fs" % (script, timeout))


def stop_server(sp, timeout=5.0):
    if sp is None:
        return
    if sp.proc.poll() is None:
        os.kill(sp.proc.pid, signal.SIGTERM)
        try:
            sp.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(sp.proc.pid, signal.SIGKILL)
            sp.proc.wait(timeout)
    try:
        for n in os.listdir(sp.tmpdir):
            os.unlink(os.path.join(sp.tmpdir, n))
        os.rmdir(sp.tmpdir)
    except OSError:
        pass


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body.decode()) if self.body else None

    def __repr__(self):
        return "<Response %d %r>" % (self.status, self.body[:300])


def http_request(port, method, path, body=None, headers=None, host="127.0.0.1", timeout=10.0,
                 https_context=None):
    """One request on a fresh connection (http.client only)."""
    if https_context is not None:
        conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=https_context)
    else:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    h = dict(headers or {})
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
        h.setdefault("Content-Type", "application/json")
    elif isinstance(body, str):
        body = body.encode()
    try:
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        return Response(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
    finally:
        conn.close()

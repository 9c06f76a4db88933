"""Helpers shared by the Python tests (tests/py, integrations/python): free ports on 127.0.0.1 and
the Kubernetes stand-in server with a kubeconfig pointing at it. Tests outside tests/py import it
after putting <repo>/tests/py on sys.path."""
import os
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_k8s_server(directory):
    """Starts tests/servers/k8s_server.py on 127.0.0.1 at a port it picks and writes
    <directory>/kubeconfig with the context kind-localdemo (token auth) for it. Returns
    (process, kubeconfig path); the caller stops the process (terminate, wait)."""
    port_file = os.path.join(directory, "port")
    server = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "servers", "k8s_server.py"),
                               "--host", "127.0.0.1", "--port", "0", "--port-file", port_file],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        if os.path.exists(port_file) and os.path.getsize(port_file) > 0:
            break
        time.sleep(0.05)
    with open(port_file) as f:
        port = int(f.read().strip())
    kubeconfig = os.path.join(directory, "kubeconfig")
    with open(kubeconfig, "w") as f:
        f.write(f"""apiVersion: v1
kind: Config
clusters:
- name: kind-localdemo
  cluster: {{server: "http://127.0.0.1:{port}"}}
users:
- name: dev
  user: {{token: s3cr3t-token}}
contexts:
- name: kind-localdemo
  context: {{cluster: kind-localdemo, user: dev}}
current-context: kind-localdemo
""")
    return server, kubeconfig

"""The engine pod's proxy as gpuctl renders it (render/security/engine_tls.py), run by Debian's HAProxy on loopback
in front of an engine that requires client certificates, with the deployment's TLS files from the site PKI."""

from __future__ import annotations

import contextlib
import http.client
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

from gpuctl.fsutil import write_atomic
from gpuctl.model import Deployment
from gpuctl.pki import Store, write_engine_files
from gpuctl.render.security import engine_tls

from .gateway_env import HAPROXY, free_port


class ProxyPorts(NamedTuple):
    api: int  # the router's and the probes' port
    metrics: int  # Prometheus' port: /metrics only


@contextlib.contextmanager
def engine_proxy(dep: Deployment, store: Store, tmp: Path, engine_port: int) -> Iterator[ProxyPorts]:
    """Start the rendered proxy in front of 127.0.0.1:engine_port; yields its API and metrics ports."""
    tls = tmp / f"{dep.name}-engine-tls"
    write_engine_files(store, dep.name, tls)
    port, metrics = free_port(), free_port()
    cfg = tmp / f"{dep.name}-proxy.cfg"
    upstream = f"127.0.0.1:{engine_port}"
    write_atomic(cfg, engine_tls.proxy_config(dep, str(tls), "127.0.0.1", port, upstream, metrics_port=metrics))
    check = subprocess.run([HAPROXY, "-c", "-q", "-f", str(cfg)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    proc = subprocess.Popen([HAPROXY, "-db", "-f", str(cfg)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            assert time.monotonic() < deadline and proc.poll() is None, "the engine proxy did not start"
            time.sleep(0.05)
        yield ProxyPorts(port, metrics)
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def plain(port: int, method: str, path: str, body: str | None = None) -> tuple[int, str]:
    """One plain-HTTP request to the proxy, as the router, the kubelet or Prometheus make it."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request(method, path, body, {"Content-Type": "application/json"} if body else {})
        resp = conn.getresponse()
        return resp.status, resp.read().decode(errors="replace")
    finally:
        conn.close()

"""A real HAProxy (Debian's package) on loopback with the configuration and certificates gpuctl renders, in front
of TLS stand-in engines; and a client that talks to it with a chosen certificate."""

from __future__ import annotations

import contextlib
import http.client
import json
import shutil
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gpuctl.fsutil import write_atomic
from gpuctl.loader import load_site
from gpuctl.model import Site
from gpuctl.pki import Store, issue, write_gateway_files
from gpuctl.render.security import gateway
from gpuctl.render.security.certs import service_names

from .standin import StandinEngine

LAB = Path(__file__).parents[2] / "inventories" / "lab" / "site.yaml"
GATEWAY_REPLICAS = 2
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def gateway_site(tmp: Path) -> Path:
    """The lab site with loopback gateway names, a rate-limited client and free ports."""
    data = yaml.safe_load(LAB.read_text())
    data["security"]["gateway"] = {
        "hostnames": ["localhost"], "port": free_port(), "metrics_port": free_port(), "replicas": GATEWAY_REPLICAS,
    }  # fmt: skip
    data["security"]["clients"].append(
        {"name": "lab-limited", "team": "lab", "deployments": ["qwen-7b"], "rate_limit": {"requests_per_second": 4}}
    )  # 4 per second over 2 replicas: the one replica the test runs allows 2
    path = tmp / "site.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@dataclass
class Gateway:
    site: Site
    store: Store
    tls: Path
    cfg: Path
    engines: dict[str, StandinEngine]  # the stand-ins (empty when the upstreams are real engines)
    ups: dict[str, gateway.Upstream]
    port: int
    metrics_port: int
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def render(self) -> None:
        write_gateway_files(self.store, self.tls)
        for name, text in gateway.maps(self.site).items():
            write_atomic(self.tls / name, text)
        write_atomic(self.cfg, gateway.config(self.site, str(self.tls), bind="127.0.0.1", ups=self.ups))

    def start(self) -> None:
        """Start (or, when running, reload: the new process takes the listeners, the old one finishes its
        connections and exits, as `systemctl reload haproxy` does)."""
        check = subprocess.run([HAPROXY, "-c", "-q", "-f", str(self.cfg)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        old = [p.pid for p in self.procs if p.poll() is None]
        cmd = [HAPROXY, "-db", "-f", str(self.cfg)] + (["-sf", *map(str, old)] if old else [])
        self.procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.metrics_port), 0.2):
                if not old:
                    return
                time.sleep(0.3)
                return
            time.sleep(0.05)
        raise AssertionError("haproxy did not start")

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(5)
            if p.poll() is None:
                p.kill()
                p.wait()

    def logs(self) -> str:
        out = ""
        for p in self.procs:
            if p.stderr is not None and p.poll() is not None:
                out += p.stderr.read().decode(errors="replace")
        return out

    def context(self, client: str | None, cert: Path | None = None, key: Path | None = None) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.store.bundle_path))
        if client is not None:
            ctx.load_cert_chain(self.store.cert_path("client", client), self.store.key_path("client", client))
        elif cert is not None:
            ctx.load_cert_chain(cert, key)
        return ctx

    def call(self, ctx: ssl.SSLContext, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        conn = http.client.HTTPSConnection("localhost", self.port, context=ctx, timeout=10)
        try:
            if body is None:
                conn.request("GET", path)
            else:
                conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
            resp = conn.getresponse()
            raw = resp.read()
            try:
                return resp.status, json.loads(raw)
            except ValueError:
                return resp.status, raw.decode(errors="replace")
        finally:
            conn.close()


@contextlib.contextmanager
def running_gateway(tmp: Path) -> Iterator[Gateway]:
    site_file = gateway_site(tmp)
    site = load_site(site_file).site
    store = Store(tmp / "pki")
    issue(site, store)
    with contextlib.ExitStack() as stack:
        engines = {
            dep.name: stack.enter_context(
                StandinEngine(
                    dep.model,
                    store.cert_path("server", dep.name),
                    store.key_path("server", dep.name),
                    store.bundle_path,
                )
            )
            for dep in site.deployments
        }
        with started_gateway(site, store, tmp, loopback_upstreams(site, {n: e.port for n, e in engines.items()})) as gw:
            gw.engines = engines
            yield gw


def loopback_upstreams(site: Site, ports: dict[str, int]) -> dict[str, gateway.Upstream]:
    """Each deployment's upstream at a loopback port: a TLS engine (stand-in or real vLLM) the gateway calls
    directly with mutual TLS, verified by the name its certificate carries."""
    names = {d.name: service_names(d.name, d.namespace)[1] for d in site.deployments}
    return {dep: gateway.Upstream("127.0.0.1", port, names[dep], tls=True) for dep, port in ports.items()}


@contextlib.contextmanager
def started_gateway(site: Site, store: Store, tmp: Path, ups: dict[str, gateway.Upstream]) -> Iterator[Gateway]:
    gw = Gateway(
        site, store, tmp / "gateway", tmp / "haproxy.cfg", {}, ups,
        site.security.gateway.port, site.security.gateway.metrics_port,
    )  # fmt: skip
    gw.render()
    gw.start()
    try:
        yield gw
    finally:
        gw.stop()

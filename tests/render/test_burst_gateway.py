"""The burst gateway's nginx configuration run in the real nginx (Debian nginx-light): local first, the burst
endpoint when the router fails, answers 503 or the local capacity is taken, with the API key only on the burst
leg, the request body replayed, and the split in the access log and in the real mtail sidecar's metrics (Debian
mtail, the rendered program and arguments). Local processes on loopback only; nginx, mtail and the stand-in servers
are stopped by PID."""

from __future__ import annotations

import http.server
import json
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gpuctl.loader import load_site
from gpuctl.render import burst
from tests.conftest import ROOT

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
MTAIL = shutil.which("mtail") or "/usr/bin/mtail"
pytestmark = pytest.mark.skipif(
    not (Path(NGINX).exists() and Path(MTAIL).exists()),
    reason="nginx or mtail not installed (scripts/bootstrap.sh dev)",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Upstream:
    """An OpenAI-compatible stand-in that says who it is, records what it got, and can fail or stall."""

    def __init__(self, name: str) -> None:
        self.name, self.status, self.delay_s = name, 200, 0.0
        self.seen: list[dict[str, Any]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.seen.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
                time.sleep(outer.delay_s)
                data = json.dumps({"served_by": outer.name}).encode()
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[tuple[str, Upstream, Upstream, Path]]:
    site = load_site(ROOT / "inventories" / "fra1" / "site.yaml").site
    dep = next(d for d in site.deployments if d.name == "llama-70b-chat")
    local, cloud = Upstream("local"), Upstream("burst")
    assert dep.burst is not None
    # one local slot per gateway pod: one replica of one sequence (capacity 1 over 2 gateway pods rounds up to 1)
    stand_in = dep.burst.model_copy(update={"url": f"http://127.0.0.1:{cloud.port}/v1"})
    dep = dep.model_copy(update={"autoscaling": None, "replicas": 1, "max_num_seqs": 1, "burst": stand_in})
    auth = tmp_path / "auth.conf"
    auth.write_text('proxy_set_header Authorization "Bearer burst-key-123";\n')
    port, syslog_port, metrics_port = free_port(), free_port(), free_port()
    progs = tmp_path / "progs"
    progs.mkdir()
    (progs / burst.PROGRAM).write_text(burst.split_program(dep))
    mtail = subprocess.Popen(
        mtail_argv(progs, f"127.0.0.1:{syslog_port}", metrics_port),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        burst.gateway_config(
            site,
            dep,
            router_url=f"http://127.0.0.1:{local.port}",
            auth_file=str(auth),
            run_dir=str(tmp_path),
            listen=f"127.0.0.1:{port}",
            metrics_syslog=f"127.0.0.1:{syslog_port}",
        )
    )
    check = subprocess.run([NGINX, "-t", "-c", str(conf), "-e", "stderr"], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    log = tmp_path / "access.log"
    proc = subprocess.Popen(
        [NGINX, "-c", str(conf), "-e", "stderr", "-g", "daemon off;"],
        stdout=log.open("w"),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for url in (f"http://127.0.0.1:{port}/healthz", f"http://127.0.0.1:{metrics_port}/metrics"):
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                try:
                    urllib.request.urlopen(url, timeout=1).read()
                    break
                except OSError:
                    time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", local, cloud, log, f"http://127.0.0.1:{metrics_port}/metrics"
    finally:
        for p in (proc, mtail):
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=10)
        local.stop()
        cloud.stop()


def mtail_argv(progs: Path, syslog: str, port: int) -> list[str]:
    """The sidecar's rendered mtail arguments with its directory, UDP address and port on loopback."""
    args = list(burst.METRICS_ARGS)
    swap = {"--progs": str(progs), "--logs": f"udp://{syslog}", "--address": "127.0.0.1", "--port": str(port)}
    for flag, value in swap.items():
        args[args.index(flag) + 1] = value
    return [MTAIL, *args]


def split(metrics_url: str, want: int, timeout_s: float = 5.0) -> dict[tuple[str, str], float]:
    """The sidecar's counts by (route, code), once they add up to `want` (UDP: records arrive after answers)."""
    deadline = time.monotonic() + timeout_s
    while True:
        text = urllib.request.urlopen(metrics_url, timeout=2).read().decode()
        counts = {}
        for line in text.splitlines():
            if line.startswith(burst.METRIC + "{"):
                labels = dict(kv.split("=", 1) for kv in line[line.index("{") + 1 : line.index("}")].split(","))
                assert labels["deployment"] == '"llama-70b-chat"', line
                counts[(labels["route"].strip('"'), labels["code"].strip('"'))] = float(line.rsplit(" ", 1)[1])
        if sum(counts.values()) >= want or time.monotonic() > deadline:
            return counts
        time.sleep(0.05)


def test_the_split_program_compiles_in_mtail(tmp_path: Path) -> None:
    site = load_site(ROOT / "inventories" / "fra1" / "site.yaml").site
    dep = next(d for d in site.deployments if d.burst is not None)
    (tmp_path / burst.PROGRAM).write_text(burst.split_program(dep))
    result = subprocess.run([MTAIL, "--compile_only", "--progs", str(tmp_path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    (tmp_path / burst.PROGRAM).write_text(burst.split_program(dep).replace("]++", "]+++"))
    broken = subprocess.run([MTAIL, "--compile_only", "--progs", str(tmp_path)], capture_output=True, text=True)
    assert broken.returncode != 0  # the check above can fail


def ask(base: str) -> str:
    body = json.dumps({"model": "llama-3.1-70b", "prompt": "hi", "max_tokens": 4}).encode()
    req = urllib.request.Request(f"{base}/v1/completions", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as answer:
        return str(json.loads(answer.read())["served_by"])


def test_local_first_then_burst_when_the_router_fails_or_is_full(gateway) -> None:  # type: ignore[no-untyped-def]
    base, local, cloud, log, metrics = gateway
    assert ask(base) == "local" and local.seen[-1]["auth"] is None  # the key never goes to local replicas
    local.status = 503  # the router's answer with no healthy replica
    assert ask(base) == "burst"
    got = cloud.seen[-1]
    assert got["auth"] == "Bearer burst-key-123" and got["path"] == "/v1/completions"
    assert json.loads(got["body"])["prompt"] == "hi"  # the body is replayed to the burst endpoint
    local.status = 500  # the router's answer before its health check has marked a dead replica down
    assert ask(base) == "burst"
    local.status = 400  # the client's own mistake is not the site's failure: it stays local
    with pytest.raises(urllib.error.HTTPError) as refused:
        ask(base)
    assert refused.value.code == 400
    local.status = 200
    local.stop()  # connection refused
    assert ask(base) == "burst"
    deadline = time.monotonic() + 5  # nginx logs after it answered
    while True:
        routes = [line.split("route=")[1].split()[0] for line in log.read_text().splitlines() if "route=" in line]
        if len(routes) >= 5 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    # sorted: nginx may log the refused request after the next one (it finishes it when the client lets go)
    assert sorted(routes) == ["burst", "burst", "burst", "local", "local"] and routes[:3] == ["local", "burst", "burst"]
    # the status is what the client got: the burst leg's 200 replaces the router's 503/500 and the refused connection
    assert split(metrics, 5) == {("local", "200"): 1, ("burst", "200"): 3, ("local", "400"): 1}


def test_saturated_local_capacity_overflows_to_burst(gateway) -> None:  # type: ignore[no-untyped-def]
    base, local, cloud, _, metrics = gateway
    local.delay_s = 1.5
    served_before = len(cloud.seen)
    results: list[str] = []
    slow = threading.Thread(target=lambda: results.append(ask(base)))
    slow.start()
    time.sleep(0.4)  # the one local slot is taken
    assert ask(base) == "burst"
    slow.join()
    assert results == ["local"] and len(cloud.seen) == served_before + 1
    assert split(metrics, 2) == {("local", "200"): 1, ("burst", "200"): 1}

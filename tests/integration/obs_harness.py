"""A real Prometheus and Alertmanager on loopback for the observability tests: gpuctl's rules (with `for:`
overridden) and gpuctl's Alertmanager routing for the site, a local webhook receiver that records each delivery
with its arrival time, and the waits a test needs (alert firing in Prometheus, alert delivered by Alertmanager)."""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from gpuctl.model import Site
from gpuctl.render.obs import rule_files
from gpuctl.render.obs.alertmanager import alertmanager_config
from tests.conftest import missing_part

PROMETHEUS, ALERTMANAGER = shutil.which("prometheus"), shutil.which("prometheus-alertmanager")
FOR = "3s"
RECEIVED: list[tuple[float, dict[str, Any]]] = []  # (monotonic arrival, Alertmanager's webhook body)


def require_binaries() -> None:
    if PROMETHEUS is None or ALERTMANAGER is None:
        missing_part("needs Debian's prometheus and prometheus-alertmanager (scripts/bootstrap.sh dev)")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def wait_for(what: str, check: Callable[[], Any], timeout: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = check()
        except OSError:
            result = None
        if result:
            return result
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


class Webhook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        RECEIVED.append((time.monotonic(), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


def webhook() -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Webhook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@dataclass
class Monitoring:
    tmp: Path
    prom: str = ""
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, args: list[str]) -> None:
        out = (self.tmp / f"{name}.log").open("wb")
        self.procs[name] = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.kill(name)

    def query(self, expr: str) -> Any:
        return get_json(f"{self.prom}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))

    def firing(self, alert: str, labels: dict[str, str]) -> bool:
        alerts = get_json(f"{self.prom}/api/v1/alerts")["data"]["alerts"]
        return any(
            a["labels"]["alertname"] == alert and a["state"] == "firing" and labels.items() <= a["labels"].items()
            for a in alerts
        )

    def inject_and_wait(self, fault: Callable[[], None], alert: str, labels: dict[str, str]) -> tuple[float, float]:
        """Inject, then wait for the alert firing in Prometheus and delivered by Alertmanager: seconds to each."""
        assert not self.firing(alert, labels), f"{alert} {labels} fires before the fault"
        t0 = time.monotonic()
        fault()
        wait_for(f"{alert} {labels} firing", lambda: self.firing(alert, labels))
        t_fire = time.monotonic() - t0
        at = wait_for(f"{alert} {labels} delivered", lambda: delivered(alert, labels, t0))
        return t_fire, at - t0


def delivered(alert: str, labels: dict[str, str], since: float) -> float | None:
    for at, body in list(RECEIVED):
        if at < since:
            continue
        for a in body["alerts"]:
            if a["status"] == "firing" and a["labels"]["alertname"] == alert and labels.items() <= a["labels"].items():
                return at
    return None


def start_monitoring(mon: Monitoring, site: Site, scrape_configs: list[dict[str, Any]]) -> None:
    """Prometheus (1 s scrapes and evaluations, gpuctl's rules) and Alertmanager (gpuctl's routing) on loopback."""
    tmp = mon.tmp
    prom_port, am_port = free_port(), free_port()
    mon.prom = f"http://127.0.0.1:{prom_port}"
    files = rule_files(site, for_override=FOR)
    for name, content in files.items():
        (tmp / name).write_text(yaml.safe_dump(content, sort_keys=False))
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "900ms"},
        "rule_files": [str(tmp / n) for n in files],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]},
        "scrape_configs": scrape_configs,
    }
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
    check = subprocess.run(["promtool", "check", "config", str(tmp / "prometheus.yml")], capture_output=True)
    assert check.returncode == 0, check.stdout + check.stderr
    routing = alertmanager_config(site, group_wait="0s", group_interval="1s", repeat_interval="1h")
    (tmp / "alertmanager.yml").write_text(yaml.safe_dump(routing))
    assert ALERTMANAGER is not None and PROMETHEUS is not None
    mon.start(
        "alertmanager",
        [ALERTMANAGER, f"--config.file={tmp / 'alertmanager.yml'}", f"--storage.path={tmp / 'am'}",
         f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address="],
    )  # fmt: skip
    mon.start(
        "prometheus",
        [PROMETHEUS, f"--config.file={tmp / 'prometheus.yml'}", f"--storage.tsdb.path={tmp / 'tsdb'}",
         f"--web.listen-address=127.0.0.1:{prom_port}"],
    )  # fmt: skip
    wait_for("Prometheus ready", lambda: get_json(f"{mon.prom}/api/v1/status/buildinfo")["status"] == "success")

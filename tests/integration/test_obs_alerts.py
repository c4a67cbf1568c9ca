"""Observability proven with real parts: Debian's Prometheus evaluates gpuctl's generated rules over stand-in
dcgm-exporters (one per GPU server of the lab site, the real exporter's names and labels) and stand-in vLLM
replicas (vLLM 0.11.0's metric families from its sdist); Debian's Alertmanager delivers to a local webhook.
Each injected fault's alert is awaited firing through Prometheus's API and arriving at the webhook, and the
time from injection to delivery is measured; every dashboard query runs against the same Prometheus.

Real: Prometheus, Alertmanager (with gpuctl's routing for the lab site's receiver), the rules, the dashboards'
queries. Stand-ins: the exporters and the vLLM
replicas (gpuctl/lab/standins), on loopback addresses 127.0.13.0/24 (not inside lab namespaces). The rules are
built with `for:` overridden to 3 s, scrape and evaluation every second.
"""

from __future__ import annotations

import json
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from gpuctl.loader import load_site_text
from gpuctl.model import Site
from gpuctl.render.obs import rule_files
from gpuctl.render.obs.alertmanager import alertmanager_config
from gpuctl.render.obs.dashboards import NODE_VARIABLE, dashboards, panel_queries
from tests.conftest import ROOT

pytestmark = pytest.mark.integration

STANDINS = ROOT / "modules" / "gpuctl" / "lab" / "standins"
FIXTURE = ROOT / "tests" / "obs" / "fixtures" / "engine_metrics" / "vllm-0.11.0.json"
COUNTERS = ROOT / "tests" / "render" / "snapshots" / "lab" / "dcgm-counters" / "lab-dgx-1.csv"
PROMETHEUS, ALERTMANAGER = shutil.which("prometheus"), shutil.which("prometheus-alertmanager")
FOR = "3s"
GPU_MODELS = {
    "l40s": ("NVIDIA L40S", 350, 89),
    "h100-sxm5-80gb": ("NVIDIA H100 80GB HBM3", 700, 87),
    "l4": ("NVIDIA L4", 72, 92),
}  # fmt: skip  (name, power limit W, slowdown °C as the stand-in reports)


LAB_RECEIVER = "http://127.0.0.1:9099/alerts"  # the lab site's webhook receiver; the test serves it on a free port


def lab_site(webhook: str = LAB_RECEIVER) -> Site:
    """The lab site, its rack on one 230 V 32 A feed (5.888 kW usable) so a GPU power surge can trip it."""
    text = (ROOT / "inventories" / "lab" / "site.yaml").read_text().replace(LAB_RECEIVER, webhook)
    assert webhook in text
    text = text.replace(
        "a: {circuits: [{voltage_v: 415, amps: 63, phases: 3}]}",
        "a: {circuits: [{voltage_v: 230, amps: 32, phases: 1}]}",
    )
    assert "amps: 32" in text
    return load_site_text(text, "lab-obs.yaml").site


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


RECEIVED: list[tuple[float, dict[str, Any]]] = []  # (monotonic arrival, Alertmanager's webhook body)


class Webhook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        RECEIVED.append((time.monotonic(), body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@dataclass
class Stack:
    tmp: Path
    prom: str
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    addresses: dict[str, str] = field(default_factory=dict)
    states: dict[str, Path] = field(default_factory=dict)

    def state(self, name: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.states[name].read_text())
        return data

    def set_state(self, name: str, data: dict[str, Any]) -> None:
        tmp = self.states[name].with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        tmp.rename(self.states[name])

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)

    def query(self, expr: str) -> Any:
        return get_json(f"{self.prom}/api/v1/query?" + urllib.parse.urlencode({"query": expr}))


def start(stack: Stack, name: str, args: list[str], log: str) -> None:
    out = (stack.tmp / f"{log}.log").open("wb")
    stack.procs[name] = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def gpu_state(site: Site, server: Any) -> dict[str, Any]:
    spec = site.server_spec(server)
    model, limit, slowdown = GPU_MODELS[spec.gpu or ""]
    gpus = [
        {"gpu": i, "model": model, "temp_c": 45, "slowdown_temp_c": slowdown, "power_w": limit * 0.3,
         "power_limit_w": limit, "util_pct": 10, "fb_used_mib": 1000, "fb_free_mib": 40000, "xids": {}}
        for i in range(spec.gpu_count)
    ]  # fmt: skip
    return {"hostname": server.name, "driver": "550.127.05", "gpus": gpus}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if PROMETHEUS is None or ALERTMANAGER is None:
        pytest.skip("needs Debian's prometheus and prometheus-alertmanager (scripts/bootstrap.sh dev)")
    webhook = ThreadingHTTPServer(("127.0.0.1", 0), Webhook)
    threading.Thread(target=webhook.serve_forever, daemon=True).start()
    site = lab_site(f"http://127.0.0.1:{webhook.server_address[1]}/alerts")
    tmp = tmp_path_factory.mktemp("obs")
    prom_port, am_port = free_port(), free_port()
    stack = Stack(tmp, f"http://127.0.0.1:{prom_port}")
    host = iter(range(10, 250))
    dcgm_targets: list[str] = []
    try:
        for _, server in site.all_servers():
            if not site.gpu_count(server):
                continue
            addr = stack.addresses[server.name] = f"127.0.13.{next(host)}:9400"
            stack.states[server.name] = tmp / f"{server.name}.json"
            stack.set_state(server.name, gpu_state(site, server))
            start(stack, server.name, [sys.executable, str(STANDINS / "dcgm_exporter.py"), "--listen", addr,
                  "--state", str(stack.states[server.name]), "--counters", str(COUNTERS)], server.name)  # fmt: skip
            dcgm_targets.append(addr)
        scrape = [{"job_name": "dcgm-exporter", "honor_labels": True, "static_configs": [{"targets": dcgm_targets}]}]
        for dep in site.deployments:
            targets = []
            for r in range(dep.replicas):
                name, addr = f"{dep.name}-{r}", f"127.0.13.{next(host)}:8000"
                stack.states[name] = tmp / f"{name}.json"
                stack.set_state(name, {"gauges": {}, "http": {"2xx": 0}})
                start(stack, name, [sys.executable, str(STANDINS / "vllm_metrics.py"), "--listen", addr, "--fixture",
                      str(FIXTURE), "--model", dep.model, "--state", str(stack.states[name])], name)  # fmt: skip
                targets.append(addr)
            scrape.append(
                {"job_name": dep.name, "static_configs": [{"targets": targets, "labels": {"deployment": dep.name}}]}
            )
        for name, content in rule_files(site, for_override=FOR).items():
            (tmp / name).write_text(yaml.safe_dump(content, sort_keys=False))
        (tmp / "prometheus.yml").write_text(yaml.safe_dump({
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "900ms"},
            "rule_files": [str(tmp / n) for n in rule_files(site)],
            "alerting": {"alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{am_port}"]}]}]},
            "scrape_configs": scrape,
        }))  # fmt: skip
        check = subprocess.run(["promtool", "check", "config", str(tmp / "prometheus.yml")], capture_output=True)
        assert check.returncode == 0, check.stdout + check.stderr
        # gpuctl's own routing for the site's receivers, with the test's short grouping intervals
        config = alertmanager_config(site, group_wait="0s", group_interval="1s", repeat_interval="1h")
        (tmp / "alertmanager.yml").write_text(yaml.safe_dump(config))
        start(stack, "alertmanager", [ALERTMANAGER, f"--config.file={tmp / 'alertmanager.yml'}",
              f"--storage.path={tmp / 'am'}", f"--web.listen-address=127.0.0.1:{am_port}",
              "--cluster.listen-address="], "alertmanager")  # fmt: skip
        start(stack, "prometheus", [PROMETHEUS, f"--config.file={tmp / 'prometheus.yml'}", f"--storage.tsdb.path="
              f"{tmp / 'tsdb'}", f"--web.listen-address=127.0.0.1:{prom_port}"], "prometheus")  # fmt: skip
        wait_for("every target up", lambda: len(stack.query("up == 1")["data"]["result"]) == len(dcgm_targets) + sum(
            d.replicas for d in site.deployments))  # fmt: skip
        yield stack
    finally:
        for name in list(stack.procs):
            stack.kill(name)
        webhook.shutdown()


def firing(stack: Stack, alert: str, labels: dict[str, str]) -> bool:
    alerts = get_json(f"{stack.prom}/api/v1/alerts")["data"]["alerts"]
    return any(
        a["labels"]["alertname"] == alert and a["state"] == "firing" and labels.items() <= a["labels"].items()
        for a in alerts
    )


def delivered(alert: str, labels: dict[str, str], since: float) -> float | None:
    for at, body in list(RECEIVED):
        if at < since:
            continue
        for a in body["alerts"]:
            if a["status"] == "firing" and a["labels"]["alertname"] == alert and labels.items() <= a["labels"].items():
                return at
    return None


def inject_and_wait(stack: Stack, fault: Callable[[], None], alert: str, labels: dict[str, str]) -> tuple[float, float]:
    """Inject, then wait for the alert firing in Prometheus and delivered by Alertmanager: seconds to each."""
    assert not firing(stack, alert, labels), f"{alert} {labels} fires before the fault"
    t0 = time.monotonic()
    fault()
    wait_for(f"{alert} {labels} firing", lambda: firing(stack, alert, labels))
    t_fire = time.monotonic() - t0
    at = wait_for(f"{alert} {labels} delivered", lambda: delivered(alert, labels, t0))
    return t_fire, at - t0


TIMINGS: dict[str, tuple[float, float]] = {}
QUEUE_OF_9 = {"vllm:num_requests_waiting": 9}


def mutate(stack: Stack, name: str, change: Callable[[dict[str, Any]], None]) -> Callable[[], None]:
    def apply() -> None:
        state = stack.state(name)
        change(state)
        stack.set_state(name, state)

    return apply


def test_no_alert_fires_on_a_healthy_lab(stack: Stack) -> None:
    time.sleep(6)  # two `for:` periods after every target is up
    alerts = get_json(f"{stack.prom}/api/v1/alerts")["data"]["alerts"]
    assert [a["labels"]["alertname"] for a in alerts if a["state"] == "firing"] == []


@pytest.mark.parametrize(
    ("fault", "alert", "labels"),
    [
        ("xid 79 on lab-dgx-1 GPU 3", "GpuctlXidFatal", {"Hostname": "lab-dgx-1", "gpu": "3", "xid": "79"}),
        ("lab-l40s-1 GPU 0 at 87 C (slowdown 89 C)", "GpuctlGpuNearSlowdown", {"Hostname": "lab-l40s-1", "gpu": "0"}),
        ("every GPU of rack lab-a near its limit", "GpuctlRackPowerNearFeed", {"rack": "lab-a"}),
        ("lab-dgx-1 loses GPU 7", "GpuctlGpuMissing", {"Hostname": "lab-dgx-1"}),
        ("lab-l40s-2's exporter up but blind", "GpuctlGpuMetricsAbsent", {"Hostname": "lab-l40s-2"}),
        ("lab-l4-1's exporter killed", "GpuctlTargetDown", {"job": "dcgm-exporter", "instance": "lab-l4-1"}),
        ("9 requests waiting on a qwen-7b replica", "GpuctlQueueSaturated", {"deployment": "qwen-7b"}),
        ("the only llama-70b replica killed", "GpuctlNoHealthyReplica", {"deployment": "llama-70b"}),
    ],
)
def test_each_injected_fault_fires_and_is_delivered(
    stack: Stack, fault: str, alert: str, labels: dict[str, str]
) -> None:
    def gpu(host: str, index: int, **values: Any) -> Callable[[], None]:
        return mutate(stack, host, lambda s: s["gpus"][index].update(values))

    def all_power(s: dict[str, Any]) -> None:
        for g in s["gpus"]:
            g["power_w"] = g["power_limit_w"] * 0.9

    faults: dict[str, Callable[[], None]] = {
        "GpuctlXidFatal": gpu("lab-dgx-1", 3, xids={"79": 1}),
        "GpuctlGpuNearSlowdown": gpu("lab-l40s-1", 0, temp_c=87),
        "GpuctlRackPowerNearFeed": lambda: [mutate(stack, h, all_power)() for h in stack.addresses],
        "GpuctlGpuMissing": mutate(stack, "lab-dgx-1", lambda s: s["gpus"].pop(7)),
        "GpuctlGpuMetricsAbsent": mutate(stack, "lab-l40s-2", lambda s: s.update(blind=True)),
        "GpuctlTargetDown": lambda: stack.kill("lab-l4-1"),
        "GpuctlQueueSaturated": mutate(stack, "qwen-7b-0", lambda s: s["gauges"].update(QUEUE_OF_9)),
        "GpuctlNoHealthyReplica": lambda: stack.kill("llama-70b-0"),
    }  # fmt: skip
    if labels.get("instance") in stack.addresses:
        labels = {**labels, "instance": stack.addresses[labels["instance"]]}
    TIMINGS[fault] = inject_and_wait(stack, faults[alert], alert, labels)
    print(f"\n{fault}: {alert} firing after {TIMINGS[fault][0]:.1f} s, delivered after {TIMINGS[fault][1]:.1f} s")


def test_every_dashboard_query_runs_against_the_lab_prometheus(stack: Stack) -> None:
    site = lab_site()
    ran, with_data = 0, 0
    for name, model in dashboards(site).items():
        for title, expr in panel_queries(model):
            answer = stack.query(expr.replace(f"${NODE_VARIABLE}", "lab-dgx-1"))
            assert answer["status"] == "success", f"{name} / {title}: {answer}"
            ran += 1
            with_data += bool(answer["data"]["result"])
    print(f"\ndashboard queries: {ran} ran without error, {with_data} returned series")
    assert ran >= 30 and with_data >= ran * 0.6
    if TIMINGS:
        worst = max(t for _, t in TIMINGS.values())
        print(f"injection to delivery: worst {worst:.1f} s over {len(TIMINGS)} faults")

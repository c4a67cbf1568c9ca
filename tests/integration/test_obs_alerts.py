"""Observability proven with real parts: Debian's Prometheus evaluates gpuctl's generated rules over stand-in
dcgm-exporters (one per GPU server of the lab site, the real exporter's names and labels) and stand-in vLLM
replicas (vLLM 0.11.0's metric families from its sdist); Debian's Alertmanager delivers to a local webhook.
Each injected fault's alert is awaited firing through Prometheus's API and arriving at the webhook, and the
time from injection to delivery is measured; every dashboard query runs against the same Prometheus.

Real: Prometheus, Alertmanager (with gpuctl's routing for the lab site's receiver), the rules, the dashboards'
queries. Stand-ins: the exporters and the vLLM replicas (gpuctl/lab/standins), on loopback addresses
127.0.13.0/24 (not inside lab namespaces). The rules are built with `for:` overridden to 3 s, scrape and
evaluation every second. The serving faults (queue past saturation, dead replicas) are injected into the real
vLLM replicas in tests/realparts/test_alerts_on_real_vllm.py; the stand-in replicas here give the dashboards'
serving queries series to read.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from gpuctl.loader import load_site_text
from gpuctl.model import Site
from gpuctl.render.obs.dashboards import NODE_VARIABLE, dashboards, panel_queries
from tests.conftest import ROOT

from .obs_harness import Monitoring, get_json, require_binaries, start_monitoring, wait_for, webhook

pytestmark = pytest.mark.integration

STANDINS = ROOT / "modules" / "gpuctl" / "lab" / "standins"
FIXTURE = ROOT / "tests" / "obs" / "fixtures" / "engine_metrics" / "vllm-0.11.0.json"
COUNTERS = ROOT / "tests" / "render" / "snapshots" / "lab" / "dcgm-counters" / "lab-dgx-1.csv"
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


@dataclass
class Stack(Monitoring):
    states: dict[str, Path] = field(default_factory=dict)
    addresses: dict[str, str] = field(default_factory=dict)

    def state(self, name: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.states[name].read_text())
        return data

    def set_state(self, name: str, data: dict[str, Any]) -> None:
        tmp = self.states[name].with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        tmp.rename(self.states[name])


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
    require_binaries()
    hook = webhook()
    site = lab_site(f"http://127.0.0.1:{hook.server_address[1]}/alerts")
    stack = Stack(tmp_path_factory.mktemp("obs"))
    host = iter(range(10, 250))
    try:
        for _, server in site.all_servers():
            if not site.gpu_count(server):
                continue
            addr = stack.addresses[server.name] = f"127.0.13.{next(host)}:9400"
            stack.states[server.name] = stack.tmp / f"{server.name}.json"
            stack.set_state(server.name, gpu_state(site, server))
            stack.start(server.name, [sys.executable, str(STANDINS / "dcgm_exporter.py"), "--listen", addr,
                        "--state", str(stack.states[server.name]), "--counters", str(COUNTERS)])  # fmt: skip
        exporters = list(stack.addresses.values())
        scrape = [{"job_name": "dcgm-exporter", "honor_labels": True, "static_configs": [{"targets": exporters}]}]
        for dep in site.deployments:
            targets = []
            for r in range(dep.replicas):
                name, addr = f"{dep.name}-{r}", f"127.0.13.{next(host)}:8000"
                stack.states[name] = stack.tmp / f"{name}.json"
                stack.set_state(name, {"gauges": {}, "http": {"2xx": 0}})
                stack.start(name, [sys.executable, str(STANDINS / "vllm_metrics.py"), "--listen", addr, "--fixture",
                            str(FIXTURE), "--model", dep.model, "--state", str(stack.states[name])])  # fmt: skip
                targets.append(addr)
            scrape.append(
                {"job_name": dep.name, "static_configs": [{"targets": targets, "labels": {"deployment": dep.name}}]}
            )
        start_monitoring(stack, site, scrape)
        expected = len(exporters) + sum(d.replicas for d in site.deployments)
        wait_for("every target up", lambda: len(stack.query("up == 1")["data"]["result"]) == expected)
        yield stack
    finally:
        stack.stop_all()
        hook.shutdown()


TIMINGS: dict[str, tuple[float, float]] = {}


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
    }  # fmt: skip
    if labels.get("instance") in stack.addresses:
        labels = {**labels, "instance": stack.addresses[labels["instance"]]}
    TIMINGS[fault] = stack.inject_and_wait(faults[alert], alert, labels)
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

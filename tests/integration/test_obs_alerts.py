"""Observability proven with real parts: Debian's Prometheus evaluates gpuctl's generated rules over the lab hosts'
dcgm-exporters and stand-in vLLM replicas (vLLM 0.11.0's metric families from its sdist); Debian's Alertmanager
delivers to a local webhook. Each injected fault's alert is awaited firing through Prometheus's API and arriving
at the webhook, and the time from injection to delivery is measured; every dashboard query runs against the same
Prometheus.

Real: Prometheus, Alertmanager (with gpuctl's routing for the lab site's receiver), the rules, the scrape config
of the exporters (gpuctl's, with the spec's rack per target, at the lab's addresses), the dashboards' queries.
Stand-ins: the exporter in each GPU lab host (started by `gpuctl lab up`, listening on the host's lab address
:9400, reading the host's hardware file like the host's nvidia-smi and dcgmi: gpuctl.lab.exporters), whose faults
are injected into the host as an operator would meet them (gpuctl.lab.faults, over SSH; a dead exporter is the
process in the host killed by its PID); and the vLLM replicas, on loopback (127.0.13.0/24). The serving faults
(queue past saturation, dead replicas) are injected into real vLLM replicas in
tests/realparts/test_alerts_on_real_vllm.py; the stand-in replicas here give the dashboards' serving queries
series to read. Rules are built with `for:` overridden to 3 s, scrape and evaluation every second. The test uses
the session's lab and puts every host back as it found it.
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

from gpuctl.lab import core, exporters, faults
from gpuctl.loader import load_site_text
from gpuctl.model import Site
from gpuctl.render.obs.dashboards import NODE_VARIABLE, dashboards, panel_queries
from gpuctl.render.obs.scrape import DCGM_EXPORTER, DCGM_EXPORTER_PORT, dcgm_scrape_config
from tests.conftest import ROOT

from .obs_harness import Monitoring, get_json, require_binaries, start_monitoring, wait_for, webhook

pytestmark = pytest.mark.integration

STANDINS = ROOT / "modules" / "gpuctl" / "lab" / "standins"
FIXTURE = ROOT / "tests" / "obs" / "fixtures" / "engine_metrics" / "vllm-0.11.0.json"
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
    lab: core.LabState | None = None
    states: dict[str, Path] = field(default_factory=dict)  # stand-in vLLM replicas' state files

    def set_state(self, name: str, data: dict[str, Any]) -> None:
        tmp = self.states[name].with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        tmp.rename(self.states[name])


@pytest.fixture(scope="module")
def stack(lab: core.LabState, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    require_binaries()
    hook = webhook()
    site = lab_site(f"http://127.0.0.1:{hook.server_address[1]}/alerts")
    stack = Stack(tmp_path_factory.mktemp("obs"), lab=lab)
    gpu_hosts = [h.name for h in lab.hosts if h.gpu_count]
    before = {name: faults.read(lab, name) for name in gpu_hosts}
    host = iter(range(10, 250))
    try:
        dcgm = dcgm_scrape_config(site, lab.addresses)
        assert dcgm is not None
        targets = [t for group in dcgm["static_configs"] for t in group["targets"]]
        assert sorted(targets) == sorted(f"{lab.addresses[n]}:{DCGM_EXPORTER_PORT}" for n in gpu_hosts)
        scrape = [{**dcgm, "scrape_interval": "1s"}]
        for dep in site.deployments:
            replicas = []
            for r in range(dep.replicas):
                name, addr = f"{dep.name}-{r}", f"127.0.13.{next(host)}:8000"
                stack.states[name] = stack.tmp / f"{name}.json"
                stack.set_state(name, {"gauges": {}, "http": {"2xx": 0}})
                stack.start(name, [sys.executable, str(STANDINS / "vllm_metrics.py"), "--listen", addr, "--fixture",
                            str(FIXTURE), "--model", dep.model, "--state", str(stack.states[name])])  # fmt: skip
                replicas.append(addr)
            scrape.append(
                {"job_name": dep.name, "static_configs": [{"targets": replicas, "labels": {"deployment": dep.name}}]}
            )
        start_monitoring(stack, site, scrape)
        expected = len(targets) + sum(d.replicas for d in site.deployments)
        wait_for("every target up", lambda: len(stack.query("up == 1")["data"]["result"]) == expected)
        yield stack
    finally:
        stack.stop_all()
        hook.shutdown()
        for name, hw in before.items():  # the session's lab as it was: hardware, and every exporter running
            faults.inject(lab, name, **{"driver_loaded": True, **hw})
            if exporters.pid(lab, name) is None:
                exporters.start(next(h for h in lab.hosts if h.name == name))


TIMINGS: dict[str, tuple[float, float]] = {}


def test_no_alert_fires_on_a_healthy_lab_and_every_gpu_has_its_rack(stack: Stack) -> None:
    time.sleep(6)  # two `for:` periods after every target is up
    alerts = get_json(f"{stack.prom}/api/v1/alerts")["data"]["alerts"]
    assert [a["labels"]["alertname"] for a in alerts if a["state"] == "firing"] == []
    assert stack.lab is not None
    gpus = sum(h.gpu_count for h in stack.lab.hosts)
    by_rack = stack.query("count by (rack) (DCGM_FI_DEV_GPU_TEMP)")["data"]["result"]
    assert [(r["metric"], r["value"][1]) for r in by_rack] == [({"rack": "lab-a"}, str(gpus))]


@pytest.mark.parametrize(
    ("fault", "alert", "labels"),
    [
        ("xid 79 on lab-dgx-1 GPU 3", "GpuctlXidFatal", {"Hostname": "lab-dgx-1", "gpu": "3", "xid": "79"}),
        ("lab-l40s-1 GPU 0 2 C under its slowdown", "GpuctlGpuNearSlowdown", {"Hostname": "lab-l40s-1", "gpu": "0"}),
        ("every GPU of rack lab-a at 90 % of its limit", "GpuctlRackPowerNearFeed", {"rack": "lab-a"}),
        ("lab-dgx-1 loses GPU 7", "GpuctlGpuMissing", {"Hostname": "lab-dgx-1"}),
        ("lab-l40s-2's driver gone: exporter up but blind", "GpuctlGpuMetricsAbsent", {"Hostname": "lab-l40s-2"}),
        ("lab-l4-1's exporter killed", "GpuctlTargetDown", {"job": DCGM_EXPORTER, "instance": "lab-l4-1"}),
    ],
)
def test_each_injected_fault_fires_and_is_delivered(
    stack: Stack, fault: str, alert: str, labels: dict[str, str]
) -> None:
    lab = stack.lab
    assert lab is not None

    def near_slowdown() -> None:
        slowdown = faults.read(lab, "lab-l40s-1")["gpus"][0]["slowdown_temp_c"]
        faults.inject(lab, "lab-l40s-1", gpu={0: {"temperature_c": slowdown - 2}})

    def rack_power() -> None:
        for h in lab.hosts:
            if h.gpu_count:
                faults.inject(lab, h.name, gpu={i: {"power_w": h.power_limit_w * 0.9} for i in range(h.gpu_count)})

    fired: dict[str, Callable[[], Any]] = {
        "GpuctlXidFatal": lambda: faults.inject(lab, "lab-dgx-1", gpu={3: {"xid": 79}}),
        "GpuctlGpuNearSlowdown": near_slowdown,
        "GpuctlRackPowerNearFeed": rack_power,
        "GpuctlGpuMissing": lambda: faults.inject(lab, "lab-dgx-1", remove_gpus=1),
        "GpuctlGpuMetricsAbsent": lambda: faults.inject(lab, "lab-l40s-2", driver_loaded=False),
        "GpuctlTargetDown": lambda: exporters.kill(lab, "lab-l4-1"),
    }
    if labels.get("instance") in lab.addresses:
        labels = {**labels, "instance": f"{lab.addresses[labels['instance']]}:{DCGM_EXPORTER_PORT}"}
    TIMINGS[fault] = stack.inject_and_wait(lambda: fired[alert](), alert, labels)
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

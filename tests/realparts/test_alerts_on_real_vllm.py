"""gpuctl's serving alerts against the real vLLM replicas of the session (tests/realparts/fixtures.py; no second
vLLM is started): a real Prometheus loaded with the rules gpuctl renders for the proof's site scrapes the
replicas the way the rendered PodMonitor does (every series labelled `deployment="tiny-chat"`), and a real
Alertmanager with gpuctl's routing for the site delivers to a local webhook. Two faults come from the real
engine: the queue past the saturation point (a burst of real requests on a replica serving one sequence at a
time) and dead replicas (SIGKILL). Each is timed from injection to firing and to delivery.

The same scrape checks the engine table's names against what the real vLLM exports, and runs the serving
dashboard's queries on real data. Rules are built with `for:` overridden to 3 s (tests/integration/obs_harness.py).
This file runs before test_proof.py, whose last tests leave every replica down; it leaves them down too.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial

import pytest

from gpuctl import engines
from gpuctl.loader import load_site_text
from gpuctl.model import Site
from gpuctl.render.obs.dashboards import dashboards, panel_queries
from tests.integration.obs_harness import Monitoring, get_json, require_binaries, start_monitoring, wait_for, webhook

from . import parts, rendered
from .fixtures import RealParts, Replica

pytestmark = pytest.mark.realparts

TIMINGS: dict[str, tuple[float, float]] = {}


def alert_site(webhook_url: str) -> Site:
    """The proof's site with a webhook receiver for every severity (its own spec declares no receiver)."""
    text = rendered.SITE_FILE.read_text()
    assert "\nobservability:" not in text
    text += f'\nobservability:\n  receivers: [{{name: test-webhook, webhook_url: "{webhook_url}"}}]\n'
    return load_site_text(text, str(rendered.SITE_FILE)).site


class Alerting(Monitoring):
    site: Site
    targets: list[str]


@pytest.fixture(scope="module")
def alerting(realparts: RealParts, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Alerting]:
    require_binaries()
    realparts.restore()
    hook = webhook()
    mon = Alerting(tmp_path_factory.mktemp("alerts-real-vllm"))
    mon.site = alert_site(f"http://127.0.0.1:{hook.server_address[1]}/alerts")
    dep = rendered.DEPLOYMENT
    mon.targets = [f"127.0.0.1:{r.port}" for r in realparts.replicas]
    # What the rendered PodMonitor does: the engine's metrics path, and `deployment` on every series.
    scrape = [{"job_name": dep, "static_configs": [{"targets": mon.targets, "labels": {"deployment": dep}}]}]
    try:
        start_monitoring(mon, mon.site, scrape)
        wait_for("both replicas up", lambda: len(mon.query(f'up{{deployment="{dep}"}} == 1')["data"]["result"]) == 2)
        yield mon
    finally:
        mon.stop_all()
        hook.shutdown()


def firing_serving_alerts(mon: Alerting) -> list[str]:
    """Alerts firing on the deployment (the GPU rules fire too: no dcgm-exporter runs here, as they should)."""
    alerts = get_json(f"{mon.prom}/api/v1/alerts")["data"]["alerts"]
    return [a["labels"]["alertname"] for a in alerts if a["state"] == "firing" and "deployment" in a["labels"]]


def test_the_engine_tables_names_are_what_the_real_vllm_exports(serving: RealParts) -> None:
    """Every series name gpuctl's rules read for this vLLM exists on the real /metrics page, as written there
    (prometheus_client adds `_total` to counters and keeps vLLM's `:`; nothing else is rewritten). One request
    first: labelled counters such as the HTTP instrumentator's `http_requests_total` appear at their first use."""
    dep = serving.deployment.deployment
    body = {"model": serving.deployment.served_model, "prompt": "names", "max_tokens": 4}
    assert parts.http("POST", f"{serving.replicas[0].url}/v1/completions", body, timeout=300)[0] == 200
    status, page = parts.http("GET", f"{serving.replicas[0].url}/metrics", timeout=10)
    assert status == 200
    exported = set(re.findall(r"^([a-zA-Z_:][a-zA-Z0-9_:]*?)(?:\{| )", str(page), flags=re.MULTILINE))
    suffix = {"histogram": "_bucket", "counter": "", "gauge": ""}
    wanted = {m.name + suffix[m.kind] for m in engines.get(dep.engine).metrics(dep.engine_version).values()}
    assert wanted - exported == set(), f"names the rules read that the real vLLM does not export: {wanted - exported}"
    assert "vllm:num_preemptions_total" in exported and "vllm:num_preemptions" not in exported


def test_no_serving_alert_fires_on_idle_replicas(serving: RealParts, alerting: Alerting) -> None:
    time.sleep(6)  # two `for:` periods with both replicas scraped
    assert firing_serving_alerts(alerting) == []


def test_prometheus_stores_the_names_as_the_rules_read_them(serving: RealParts, alerting: Alerting) -> None:
    """Prometheus scrapes with OpenMetrics when offered (2.42 asks for it first): the names it stores are still
    vLLM's, colons included, so a rule written against the /metrics page reads what Prometheus has."""
    dep = serving.deployment.deployment
    stored = alerting.query(f'count by (__name__) ({{deployment="{dep.name}",__name__=~"vllm:.+|http_.+"}})')
    names = {r["metric"]["__name__"] for r in stored["data"]["result"]}
    suffix = {"histogram": "_bucket", "counter": "", "gauge": ""}
    wanted = {m.name + suffix[m.kind] for m in engines.get(dep.engine).metrics(dep.engine_version).values()}
    assert wanted - names == set()


def test_queue_past_saturation_on_a_real_replica_fires_and_is_delivered(serving: RealParts, alerting: Alerting) -> None:
    limit = alerting.site.observability.queue_saturation_per_replica
    replica = serving.replicas[0]
    body = {"model": serving.deployment.served_model, "max_tokens": 384, "ignore_eos": True}
    count = limit + 8  # max_num_seqs 1: one runs, the rest wait, seconds each on two cores

    def request(i: int) -> int:
        return parts.http("POST", f"{replica.url}/v1/completions", {**body, "prompt": f"queue {i}"}, timeout=600)[0]

    with ThreadPoolExecutor(max_workers=count) as pool:
        futures: list[Future[int]] = []

        def burst() -> None:
            futures.extend(pool.submit(request, i) for i in range(count))

        fired, delivered = alerting.inject_and_wait(burst, "GpuctlQueueSaturated", {"deployment": "tiny-chat"})
        statuses = [f.result() for f in futures]
    assert statuses == [200] * count
    TIMINGS[f"{count} requests on one replica (max_num_seqs 1, saturation {limit})"] = (fired, delivered)


def test_dead_replicas_fire_and_are_delivered(serving: RealParts, alerting: Alerting) -> None:
    """SIGKILL one replica: its target is down; then the other: the deployment has no healthy replica."""
    first, second = serving.replicas
    for i, (replica, alert, labels) in enumerate(
        [
            (first, "GpuctlTargetDown", {"deployment": "tiny-chat", "instance": alerting.targets[0]}),
            (second, "GpuctlNoHealthyReplica", {"deployment": "tiny-chat"}),
        ]
    ):
        TIMINGS[f"SIGKILL of replica {i}"] = alerting.inject_and_wait(partial(sigkill, replica), alert, labels)


def sigkill(replica: Replica) -> None:
    assert replica.proc is not None
    replica.proc.kill()  # the server and its engine process, as a pod's death takes both
    replica.proc.popen.wait(timeout=10)


def test_serving_dashboard_queries_run_on_real_vllm_data(alerting: Alerting) -> None:
    model = dashboards(alerting.site)["gpuctl-serving.json"]
    ran, with_data = 0, 0
    for title, expr in panel_queries(model):
        answer = alerting.query(expr)
        assert answer["status"] == "success", f"{title}: {answer}"
        ran += 1
        with_data += bool(answer["data"]["result"])
    print(f"\nserving dashboard on real vLLM: {ran} queries ran, {with_data} returned series")
    for what, (fired, delivered) in TIMINGS.items():
        print(f"{what}: firing after {fired:.1f} s, delivered after {delivered:.1f} s")
    assert ran >= 8 and with_data >= ran * 0.8

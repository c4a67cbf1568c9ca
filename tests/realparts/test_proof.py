"""Proof with real parts (issue 12), in the order of the issue: two real vLLM replicas started with the arguments
gpuctl rendered, the real vllm-router and nginx burst gateway with gpuctl's rendered configuration, a real
Prometheus scraping the replicas. The fixtures (tests/realparts/fixtures.py) start everything once per session;
the tests that take replicas down come last and take the parts as found (`realparts`), the others first bring
any killed replica back (`serving`).

The cloud burst endpoint is a minimal OpenAI-compatible server (tests/realparts/cloud_standin.py), not a model:
it checks the credential and the model name as a hosted API would, and names itself in its answers.
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

import pytest

from . import cloud_standin, parts
from .fixtures import BurstGateway, RealParts

pytestmark = pytest.mark.realparts


def complete(stack: RealParts, url: str, prompt: str, tokens: int = 8) -> tuple[int, Any]:
    # ignore_eos: the random tiny model would otherwise stop at a random length; vLLM's sampling extension.
    body = {"model": stack.deployment.served_model, "prompt": prompt, "max_tokens": tokens, "ignore_eos": True}
    return parts.http("POST", f"{url}/v1/completions", body, timeout=300)


def metric_sum(url: str, name: str, first_label: str = "") -> float:
    """Sum of the series of one metric on a /metrics page (those whose labels start with first_label)."""
    status, text = parts.http("GET", url, timeout=10)
    assert status == 200, text
    start = f"{name}{{{first_label}"
    return sum(float(line.rsplit(" ", 1)[1]) for line in str(text).splitlines() if line.startswith(start))


def served(replica_url: str) -> float:
    """The replica's own count of requests it finished (vllm:request_success_total, every finish reason)."""
    return metric_sum(f"{replica_url}/metrics", "vllm:request_success_total")


def by_standin(body: Any) -> bool:
    return isinstance(body, dict) and body.get("system_fingerprint") == cloud_standin.FINGERPRINT


def concurrently(stack: RealParts, url: str, count: int, tokens: int) -> list[tuple[int, Any]]:
    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(complete, stack, url, f"burst request {i}", tokens) for i in range(count)]
        return [f.result() for f in futures]


def promql(stack: RealParts, query: str) -> list[dict[str, Any]]:
    status, body = parts.http("GET", f"{stack.prometheus_url}/api/v1/query?query={quote(query, safe='')}", timeout=10)
    assert status == 200 and body["status"] == "success", body
    return list(body["data"]["result"])


def standin_accepted(gateway: BurstGateway) -> float:
    return metric_sum(f"{gateway.standin_url}/metrics", "cloud_standin_requests_total", 'outcome="ok"')


def take_every_replica_down(stack: RealParts) -> None:
    for r in stack.replicas:
        if r.proc is not None and r.running():
            r.proc.kill()
            r.proc.popen.wait(timeout=10)


def test_requests_through_the_router_reach_both_replicas(serving: RealParts) -> None:
    before = [served(r.url) for r in serving.replicas]
    results = [complete(serving, serving.router_url, f"request {i} to the pool") for i in range(8)]
    assert [s for s, _ in results] == [200] * 8, results
    assert all(body["choices"][0]["text"] for _, body in results)
    gained = [served(r.url) - b for r, b in zip(serving.replicas, before, strict=True)]
    assert sum(gained) == 8
    assert all(g >= 1 for g in gained), f"one replica served nothing: {gained}"


def test_queue_past_saturation_makes_the_rendered_scaledobject_scale_out(serving: RealParts) -> None:
    """The rendered KEDA trigger's PromQL, evaluated by a real Prometheus on the replicas' real metrics, and the
    HPA's rule for an AverageValue target (desired = ceil(value / threshold), clamped to min/max)."""
    spec = serving.deployment.scaled_object()["spec"]
    (trigger,) = spec["triggers"]
    assert trigger["type"] == "prometheus" and trigger.get("metricType", "AverageValue") == "AverageValue"
    query, threshold = trigger["metadata"]["query"], float(trigger["metadata"]["threshold"])
    low, high, current = spec["minReplicaCount"], spec["maxReplicaCount"], len(serving.replicas)

    def desired(value: float) -> int:
        return max(low, min(high, math.ceil(value / threshold)))

    def demand() -> float:
        (sample,) = promql(serving, query)
        return float(sample["value"][1])

    # The query reads series that exist (a wrong label would leave only its `or vector(0)` fallbacks): every
    # replica is scraped and reports the rendered model name.
    model = serving.deployment.served_model
    deadline = time.monotonic() + 60
    while len(promql(serving, f'vllm:num_requests_running{{model_name="{model}"}}')) < current:
        assert time.monotonic() < deadline, "Prometheus never scraped both replicas"
        time.sleep(1)
    idle = demand()
    assert desired(idle) <= current, f"idle demand {idle} already asks for {desired(idle)} replicas"

    peak = 0.0
    with ThreadPoolExecutor(max_workers=1) as load:
        burst = load.submit(concurrently, serving, serving.router_url, 8, 384)  # seconds of queue on idle cores
        while not burst.done():
            peak = max(peak, demand())
            time.sleep(0.5)
        results = burst.result()
    assert [s for s, _ in results] == [200] * 8, results
    waiting = promql(serving, f'max_over_time(sum(vllm:num_requests_waiting{{model_name="{model}"}})[2m:1s])')
    assert float(waiting[0]["value"][1]) >= 1, "no request ever waited: the saturation point was not passed"
    assert peak > threshold * current, f"peak demand {peak} never exceeded {current} replicas × {threshold}"
    assert desired(peak) > current, f"demand {peak} at threshold {threshold} gives {desired(peak)} replicas"


def test_unsaturated_requests_through_the_gateway_stay_local(serving: RealParts, burst_gateway: BurstGateway) -> None:
    seen, counted = len(burst_gateway.routes()), burst_gateway.split()
    status, body = complete(serving, burst_gateway.url, "one quiet request")
    assert status == 200, body
    assert not by_standin(body), body
    assert burst_gateway.routes_since(seen, 1) == ["local"]
    assert burst_gateway.split_since(counted, 1) == {"local": 1}


def test_overflow_past_local_capacity_goes_to_the_burst_endpoint(
    serving: RealParts, burst_gateway: BurstGateway
) -> None:
    seen, counted = len(burst_gateway.routes()), burst_gateway.split()
    standin_before = standin_accepted(burst_gateway)
    results = concurrently(serving, burst_gateway.url, 8, 96)
    assert [s for s, _ in results] == [200] * 8, results
    remote = sum(by_standin(body) for _, body in results)
    assert 1 <= remote <= 7, f"{remote} of 8 went to the burst endpoint: no split"
    routes = burst_gateway.routes_since(seen, 8)
    assert sorted(routes) == sorted(["burst"] * remote + ["local"] * (8 - remote)), routes
    assert burst_gateway.split_since(counted, 8) == {"burst": remote, "local": 8 - remote}  # the metric of the split
    assert (
        standin_accepted(burst_gateway) - standin_before == remote
    )  # every overflow was accepted with the rendered credential


def test_sigkill_of_one_replica_costs_no_request(serving: RealParts) -> None:
    victim, survivor = serving.replicas
    before = served(survivor.url)
    assert victim.proc is not None
    victim.proc.kill()  # SIGKILL to the server and its engine process, as a node or pod loss would
    victim.proc.popen.wait(timeout=10)
    results = [complete(serving, serving.router_url, f"after the kill {i}") for i in range(6)]
    assert [s for s, _ in results] == [200] * 6, results
    assert served(survivor.url) - before == 6


def test_every_replica_down_gives_the_routers_error(realparts: RealParts) -> None:
    """Takes the parts as an earlier test left them (no restart of a killed replica only to kill it again)."""
    take_every_replica_down(realparts)
    deadline = time.monotonic() + 60
    status, body = complete(realparts, realparts.router_url, "nobody home")
    while status != 503 and time.monotonic() < deadline:  # until the health check has marked both down
        time.sleep(1)
        status, body = complete(realparts, realparts.router_url, "nobody home")
    assert status == 503, body
    assert "no_available_workers" in str(body) or "No available workers" in str(body), body


def test_every_replica_down_the_gateway_sends_requests_to_burst(
    realparts: RealParts, burst_gateway: BurstGateway
) -> None:
    take_every_replica_down(realparts)
    seen = len(burst_gateway.routes())
    results = [complete(realparts, burst_gateway.url, f"while down {i}") for i in range(4)]
    assert [s for s, _ in results] == [200] * 4, results
    assert all(by_standin(body) for _, body in results), results
    assert burst_gateway.routes_since(seen, 4) == ["burst"] * 4

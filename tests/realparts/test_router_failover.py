"""Proof with real parts (issue 12): requests through the real vllm-router reach both real vLLM replicas started
with gpuctl's rendered arguments; a SIGKILLed replica costs no request; with every replica down the client gets
the router's own error. The fixtures (tests/realparts/fixtures.py) start everything once per session.
"""

from __future__ import annotations

import time

import pytest

from . import parts
from .fixtures import RealParts

pytestmark = pytest.mark.realparts


def complete(stack: RealParts, url: str, prompt: str = "the rack serves") -> tuple[int, object]:
    body = {"model": stack.deployment.served_model, "prompt": prompt, "max_tokens": 8, "temperature": 0}
    return parts.http("POST", f"{url}/v1/completions", body, timeout=120)


def served(replica_url: str) -> float:
    """The replica's own count of requests it finished (vllm:request_success_total, every finish reason)."""
    status, text = parts.http("GET", f"{replica_url}/metrics", timeout=10)
    assert status == 200, text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in str(text).splitlines()
        if line.startswith("vllm:request_success_total{")
    )


def test_requests_through_the_router_reach_both_replicas(serving: RealParts) -> None:
    before = [served(r.url) for r in serving.replicas]
    results = [complete(serving, serving.router_url, f"request {i} to the pool") for i in range(8)]
    assert [s for s, _ in results] == [200] * 8, results
    assert all(body["choices"][0]["text"] for _, body in results)  # type: ignore[index]
    gained = [served(r.url) - b for r, b in zip(serving.replicas, before, strict=True)]
    assert sum(gained) == 8
    assert all(g >= 1 for g in gained), f"one replica served nothing: {gained}"


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
    serving = realparts
    for r in serving.replicas:
        if r.proc is not None:
            r.proc.kill()
            r.proc.popen.wait(timeout=10)
    deadline = time.monotonic() + 60
    status, body = complete(serving, serving.router_url)
    while status != 503 and time.monotonic() < deadline:  # until the health check has marked both down
        time.sleep(1)
        status, body = complete(serving, serving.router_url)
    assert status == 503, body
    assert "no_available_workers" in str(body) or "No available workers" in str(body), body

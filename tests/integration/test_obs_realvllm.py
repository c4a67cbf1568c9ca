"""The serving alerts against real vLLM (CPU) replicas from the real-parts session fixture (tests/realparts): a
second Prometheus, with gpuctl's rules for the real-parts site, scrapes both replicas as deployment `tiny-chat`;
Alertmanager routes with gpuctl's config to a local webhook. A burst of requests on replicas started with
`--max-num-seqs 1` fills vLLM's own waiting queue past the saturation point; killing both replicas leaves no
healthy one. Each alert is awaited firing and delivered, and the recording rules are read back from real series."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from gpuctl.model.observability import Receiver
from tests.realparts import parts
from tests.realparts.fixtures import RealParts

from .obs_harness import Monitoring, require_binaries, start_monitoring, wait_for, webhook

pytestmark = pytest.mark.integration
BURST = 24  # requests at once on replicas that run one at a time: vLLM's waiting queue passes 5 for seconds


@pytest.fixture(scope="module")
def monitored(realparts: RealParts, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RealParts, Monitoring]]:
    require_binaries()
    realparts.restore()
    hook = webhook()
    site = realparts.deployment.site
    receiver = Receiver(name="test", webhook_url=f"http://127.0.0.1:{hook.server_address[1]}/alerts")
    site = site.model_copy(update={"observability": site.observability.model_copy(update={"receivers": [receiver]})})
    dep = realparts.deployment.deployment
    mon = Monitoring(tmp_path_factory.mktemp("obs-realvllm"))
    targets = [f"127.0.0.1:{r.port}" for r in realparts.replicas]
    scrape = [{"job_name": dep.name, "static_configs": [{"targets": targets, "labels": {"deployment": dep.name}}]}]
    try:
        start_monitoring(mon, site, scrape)
        up = f'up{{deployment="{dep.name}"}} == 1'
        wait_for("both replicas scraped", lambda: len(mon.query(up)["data"]["result"]) == len(targets))
        yield realparts, mon
    finally:
        mon.stop_all()
        hook.shutdown()
        realparts.restore()


def _complete(url: str, model: str) -> None:
    parts.http("POST", f"{url}/v1/completions", {"model": model, "prompt": "hello", "max_tokens": 64}, timeout=300)


def test_vllm_queue_above_saturation_fires_and_is_delivered(monitored: tuple[RealParts, Monitoring]) -> None:
    stack, mon = monitored
    dep = stack.deployment.deployment
    url, model = stack.replicas[0].url, stack.deployment.served_model
    burst = [threading.Thread(target=_complete, args=(url, model), daemon=True) for _ in range(BURST)]
    fire, deliver = mon.inject_and_wait(
        lambda: [t.start() for t in burst], "GpuctlQueueSaturated", {"deployment": dep.name}
    )
    print(
        f"\nreal vLLM, {BURST} requests at once: GpuctlQueueSaturated firing after {fire:.1f} s, "
        f"delivered after {deliver:.1f} s"
    )
    for t in burst:
        t.join(timeout=300)
    # the recording rules read vLLM's real series: P99 TTFT from bucket rates, tokens/s per GPU
    for record in ("gpuctl:time_to_first_token_seconds:p99", "gpuctl:generation_tokens_per_gpu:rate5m"):
        expr = f'{record}{{deployment="{dep.name}"}} > 0'
        result = wait_for(record, lambda expr=expr: mon.query(expr)["data"]["result"])
        assert float(result[0]["value"][1]) > 0


def test_no_healthy_vllm_replica_fires_and_is_delivered(monitored: tuple[RealParts, Monitoring]) -> None:
    stack, mon = monitored
    dep = stack.deployment.deployment

    def kill_all() -> None:
        for replica in stack.replicas:
            assert replica.proc is not None
            replica.proc.kill()

    fire, deliver = mon.inject_and_wait(kill_all, "GpuctlNoHealthyReplica", {"deployment": dep.name})
    print(
        f"\nreal vLLM, both replicas killed: GpuctlNoHealthyReplica firing after {fire:.1f} s, "
        f"delivered after {deliver:.1f} s"
    )

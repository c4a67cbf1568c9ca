"""The engine's metric table against each release's real names and bucket edges (fixtures extracted from the
releases' PyPI sdists by fixtures/extract_vllm_metrics.py; each fixture names its sdist and SHA-256)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gpuctl.engines import get

FIXTURES = sorted((Path(__file__).parent / "fixtures" / "engine_metrics").glob("vllm-*.json"))


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.stem)
def test_every_vllm_metric_gpuctl_queries_exists_in_that_release(fixture: Path) -> None:
    data = json.loads(fixture.read_text())
    released = data["metrics"]
    for signal, metric in get("vllm").metrics(data["version"]).items():
        if metric.name == "http_requests_total":  # the HTTP instrumentator's, not the stat logger's
            continue
        assert metric.name in released, f"{signal}: {metric.name} is not defined by vLLM {data['version']}"
        assert released[metric.name]["kind"] == metric.kind, signal
        if metric.kind == "histogram":
            assert tuple(released[metric.name]["buckets"]) == metric.buckets, signal


def test_fixtures_disagree_where_the_names_changed() -> None:
    """The fixtures are the releases' own: the renamed series really are absent on the other side."""
    by_version = {json.loads(f.read_text())["version"]: json.loads(f.read_text())["metrics"] for f in FIXTURES}
    assert "vllm:kv_cache_usage_perc" not in by_version["0.8.5"]
    assert "vllm:gpu_cache_usage_perc" not in by_version["0.33.0"]
    assert "vllm:inter_token_latency_seconds" not in by_version["0.10.1"]
    assert "vllm:time_per_output_token_seconds" not in by_version["0.33.0"]
    assert "vllm:num_preemptions" not in by_version["0.33.0"]  # llm-d's rule queries this name: never exported
    assert by_version["0.6.3"]["vllm:time_to_first_token_seconds"]["buckets"][-1] == 10.0

"""The engines' metric tables against each release's real names and bucket edges (vLLM fixtures extracted from the
releases' PyPI sdists by fixtures/extract_vllm_metrics.py; Triton's and its TensorRT-LLM backend's from their release
tags' sources by fixtures/extract_triton_metrics.py; each fixture names its sources and their SHA-256)."""

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


TRITON = Path(__file__).parent / "fixtures" / "engine_metrics" / "triton-2.54.0-trtllm-backend-0.17.0.json"


def test_every_triton_metric_gpuctl_queries_exists_in_that_release() -> None:
    """Triton 2.54.0's families (its metrics page) and the TensorRT-LLM backend 0.17.0's (its metrics reporter,
    with the label values each family carries), extracted by fixtures/extract_triton_metrics.py."""
    families = json.loads(TRITON.read_text())["families"]
    queried = get("triton").metrics(None)
    assert len(queried) >= 6
    for signal, metric in queried.items():
        assert metric.name in families, f"{signal}: {metric.name} is not exported by Triton 2.54.0 or its backend"
        for key, value in metric.labels:
            assert value in families[metric.name].get(key, []), f"{signal}: {metric.name} has no {key}={value}"


def test_the_triton_fixture_can_disagree() -> None:
    families = json.loads(TRITON.read_text())["families"]
    assert "waiting" not in families["nv_trt_llm_request_metrics"]["request_type"]  # the core's pending count is it
    assert "nv_inference_request_duration_us" in families and "nv_inference_request_duration_seconds" not in families
    assert families["nv_trt_llm_kv_cache_block_metrics"]["kv_cache_block_type"][:3] == ["max", "free", "used"]

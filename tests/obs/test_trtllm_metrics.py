"""trtllm-serve as gpuctl renders it (TensorRT-LLM 1.0.0, no `return_perf_metrics`) exports no Prometheus metrics
(fixtures/engine_metrics/trtllm-serve-1.0.0.json, with its sources): gpuctl's table for it is empty, and no rule,
dashboard panel, monitor or scaler reads a trtllm series or counts its replicas by a scrape that would fail."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from gpuctl.engines import get, trtllm
from gpuctl.loader import load_site
from gpuctl.render.objects import site_objects
from gpuctl.render.obs.dashboards import dashboards, panel_queries
from gpuctl.render.obs.rules import rule_files

FIXTURE = Path(__file__).parent / "fixtures" / "engine_metrics" / "trtllm-serve-1.0.0.json"
SITE = Path(__file__).parent.parent / "rules" / "OBS004" / "pass.yaml"  # a vLLM deployment beside a trtllm one


def test_every_trtllm_series_gpuctl_queries_exists_in_that_release() -> None:
    data = json.loads(FIXTURE.read_text())
    assert data["version"] == trtllm.RELEASE
    for version in (None, trtllm.RELEASE):
        for signal, metric in get("trtllm").metrics(version).items():
            assert metric.name in data["families"], f"{signal}: {metric.name} is not exported by trtllm-serve 1.0.0"


def test_the_fixture_can_disagree() -> None:
    """The names gpuctl's table used to query are a later main's, absent from the release gpuctl renders."""
    data = json.loads(FIXTURE.read_text())
    later = data["later_main"]["families"]
    for name in ("trtllm_num_requests_waiting", "trtllm_kv_cache_utilization", "trtllm_time_to_first_token_seconds"):
        assert name in later and name not in data["families"]


def test_nothing_reads_or_scrapes_a_trtllm_engine() -> None:
    site = load_site(SITE).site
    (trt,) = [d for d in site.deployments if d.engine == "trtllm"]
    (chat,) = [d for d in site.deployments if d.engine == "vllm"]
    rules = yaml.safe_dump(rule_files(site))
    queries = " ".join(expr for model in dashboards(site).values() for _, expr in panel_queries(model))
    for text in (rules, queries):
        assert "trtllm_" not in text
        assert f'deployment="{trt.name}"' not in text  # no record, alert or panel for it (and no `up` count)
        assert f'deployment="{chat.name}"' in text  # the vLLM deployment beside it keeps its own
    monitors = [o for o in site_objects(site) if o["kind"] == "PodMonitor"]
    engine_monitors = {m["metadata"]["name"] for m in monitors if "engine" in json.dumps(m["spec"]["selector"])}
    assert engine_monitors == {chat.name}

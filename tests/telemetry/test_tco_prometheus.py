"""`gpuctl tco --prometheus` against a real Prometheus scraping series the test controls.

fra1's GPU servers report per GPU: 16 L40S at 60 %, 8 L4 at 50 %, 16 H100 at 80 % -> 66 % across the site's 40
GPUs; a host that is not in the site reports 0 % and must not count. vLLM counters grow at fixed rates per served
model (llama-3.1-70b 1,200 tokens/s and 2 requests/s; qwen2.5-7b 3,000; llama-3.1-8b 500); a model the site does not
serve grows at 9,999 tokens/s and must not count.

Hybrid sizing of llama-70b-chat (4 replicas × tp 4 on the two DGX H100 at 80 %): one replica serves
1,200 / 4 / 0.8 = 375 tokens/s at full use; 75 % of 1,200 steady tokens/s = 900 -> 3 bare-metal replicas
(1,125 tokens/s); the cloud serves the other 300 tokens/s on average = 0.8 replicas × 4 GPUs × 720 h = 2,304
GPU-hours × $3.85 (fra1's tco.yaml) = $8,870 a month, and at the 1,200 tokens/s peak needs 1 replica.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from tests.cli.test_validate_cli import gpuctl
from tests.conftest import ROOT

from .conftest import Stack

SITE = str(ROOT / "inventories/fra1/site.yaml")
SCENARIO = str(ROOT / "inventories/fra1/tco.yaml")
WINDOW = "20s"


@pytest.fixture(scope="module")
def fed(prometheus_stack: Stack) -> Stack:
    s = prometheus_stack.series
    for host, gpus, util in (
        *((f"gpu-a0{i}", 4, 60.0) for i in range(1, 5)),
        ("gpu-a11", 4, 50.0),
        ("gpu-a12", 4, 50.0),
        ("dgx-b01", 8, 80.0),
        ("dgx-b02", 8, 80.0),
        ("not-in-site", 8, 0.0),
    ):
        for gpu in range(gpus):
            s.gpu_util[(host, gpu)] = util
    for model, tokens, requests in (
        ("llama-3.1-70b", 1200.0, 2.0),
        ("qwen2.5-7b", 3000.0, 6.0),
        ("llama-3.1-8b", 500.0, 4.0),
        ("some-other-model", 9999.0, 99.0),
    ):
        s.rates[("vllm:generation_tokens", model)] = tokens
        s.rates[("vllm:prompt_tokens", model)] = tokens * 4
        s.rates[("vllm:request_success", model)] = requests
    fed_at = time.monotonic()
    deadline = fed_at + 120
    while time.monotonic() < deadline:
        # The series must span more than the window: a series younger than the window makes rate() extrapolate
        # over part of it only (Prometheus limits extrapolation to ~1.1 scrape intervals).
        first = prometheus_stack.value(
            "min_over_time(timestamp(DCGM_FI_DEV_GPU_UTIL{Hostname='dgx-b01',gpu='0'})[1m:1s])"
        )
        if first is not None and time.time() - first > 20 + 6:
            return prometheus_stack
        time.sleep(1)
    raise RuntimeError("Prometheus did not collect a window of samples")


def test_measured_utilisation_replaces_the_assumed_one(fed: Stack) -> None:
    out = gpuctl("tco", SITE, "--scenario", SCENARIO, "--prometheus", fed.url, "--window", WINDOW, "-f", "json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["inputs"]["utilization"] == pytest.approx(0.66, abs=1e-9)  # not tco.yaml's assumed 0.72
    measured = data["telemetry"]["measured"]
    assert measured["gpus_reporting"] == 40
    assert measured["tokens_per_s"] == pytest.approx(4700, rel=0.03)
    assert measured["requests_per_s"] == pytest.approx(12, rel=0.03)
    assert any(
        n.startswith("utilisation measured 66.0%: average DCGM_FI_DEV_GPU_UTIL of 40 GPUs") for n in data["notes"]
    )
    assert any(n.startswith("assumed (scenario or defaults): cloud rate") for n in data["notes"])


def test_hybrid_sizing_of_one_deployment(fed: Stack) -> None:
    out = gpuctl(
        "tco", SITE, "--scenario", SCENARIO, "--prometheus", fed.url, "--window", WINDOW,
        "--deployment", "llama-70b-chat", "-f", "json",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["inputs"]["utilization"] == pytest.approx(0.80, abs=1e-9)  # the deployment's pool only
    [entry] = data["telemetry"]["hybrid"]
    z = entry["sizing"]
    assert (entry["deployment"], z["replicas_now"], z["bare_metal_replicas"], z["cloud_peak_replicas"]) == (
        "llama-70b-chat", 4, 3, 1,
    )  # fmt: skip
    assert z["capacity_per_replica"] == pytest.approx(375, rel=0.03)
    assert z["cloud_gpu_hours_month"] == pytest.approx(2304, rel=0.03)
    assert z["cloud_burst_usd_month"] == pytest.approx(2304 * 3.85, rel=0.03)


def test_unreachable_prometheus_is_a_clear_error() -> None:
    out = gpuctl("tco", SITE, "--prometheus", "http://127.0.0.1:9", "--window", WINDOW)
    assert out.returncode == 1
    assert "Prometheus at http://127.0.0.1:9 cannot be reached" in out.stderr
    assert "Traceback" not in out.stderr
    bad = gpuctl("tco", SITE, "--prometheus", "file:///etc/passwd")
    assert bad.returncode == 2 and "an http(s)://host[:port][/path] URL" in bad.stderr


def test_report_marks_utilisation_as_measured(fed: Stack, tmp_path: Path) -> None:
    html = tmp_path / "fra1.html"
    out = gpuctl("report", SITE, "-o", str(html), "--prometheus", fed.url, "--window", WINDOW)
    assert out.returncode == 0, out.stderr
    text = html.read_text()
    row = re.search(r"<th scope=\"row\">GPU utilisation</th><td class=\"n\">([^<]+)</td><td[^>]*>([^<]+)</td>", text)
    assert row is not None
    assert row.groups() == ("66%", "measured: DCGM_FI_DEV_GPU_UTIL of 40 GPUs over 20s")
    assert "assumed: tco.yaml" in text  # the other inputs stay assumed

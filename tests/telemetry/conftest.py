"""A real Prometheus (Debian's package) on loopback, scraping a tiny exporter (prometheus-client) whose series the
test controls: DCGM's GPU utilisation gauge per GPU and host, and vLLM's token and request counters growing at a
fixed rate per model. Processes started here are stopped by PID."""

from __future__ import annotations

import http.server
import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from tests.conftest import missing_part

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(eq=False)  # hashable by identity: the registry keys collectors by the object
class Series:
    """What the exporter serves: utilisation per (host, gpu) in percent, counter rates per (name, model) per second."""

    gpu_util: dict[tuple[str, int], float] = field(default_factory=dict)
    rates: dict[tuple[str, str], float] = field(default_factory=dict)
    started: float = field(default_factory=time.time)

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        util = GaugeMetricFamily("DCGM_FI_DEV_GPU_UTIL", "GPU utilization (in %).", labels=["gpu", "Hostname"])
        for (host, gpu), value in self.gpu_util.items():
            util.add_metric([str(gpu), host], value)
        yield util
        # Each counter sample carries the time its value was computed at, so rate() is exact however late the
        # scrape is answered (a loaded machine otherwise skews a 20 s window by several percent).
        now = time.time()
        by_name: dict[str, CounterMetricFamily] = {}
        for (name, model), rate in self.rates.items():
            family = by_name.setdefault(name, CounterMetricFamily(name, name, labels=["model_name"]))
            family.add_metric([model], rate * (now - self.started), timestamp=now)
        yield from by_name.values()


@dataclass
class Stack:
    url: str
    series: Series

    def value(self, promql: str) -> float | None:
        q = urllib.parse.urlencode({"query": promql})
        with urllib.request.urlopen(f"{self.url}/api/v1/query?{q}", timeout=10) as r:
            result = json.loads(r.read())["data"]["result"]
        return float(result[0]["value"][1]) if result else None


def _handler(registry: CollectorRegistry) -> type[http.server.BaseHTTPRequestHandler]:
    """The classic text format whatever the scraper asks for: prometheus-client's OpenMetrics output rewrites the
    ':' of vLLM's metric names to '_' (vllm:generation_tokens_total -> vllm_generation_tokens_total)."""

    class Metrics(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = generate_latest(registry)
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE_LATEST)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Metrics


@pytest.fixture(scope="module")
def prometheus_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not Path(PROMETHEUS).exists():
        missing_part("Debian's prometheus is not installed (scripts/bootstrap.sh dev installs it)")
    series = Series()
    registry = CollectorRegistry()
    registry.register(series)  # type: ignore[arg-type]  # a collector is anything with collect()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(registry))
    exporter_port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    work = tmp_path_factory.mktemp("prometheus")
    config = work / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        "scrape_configs:\n"
        f"  - job_name: stand-in\n    static_configs: [{{targets: ['127.0.0.1:{exporter_port}']}}]\n"
    )
    port = free_port()
    proc = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={config}",
            f"--storage.tsdb.path={work / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(work / "prometheus.log").open("w"),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.3)
        else:
            raise RuntimeError("prometheus did not become ready: " + (work / "prometheus.log").read_text()[-2000:])
        yield Stack(url, series)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

"""Session fixtures of the real-parts proof, registered for the whole suite by one `pytest_plugins` line in
tests/conftest.py (so other test directories can use them too):

- `tiny_model`: the tiny Llama directory (built once, cached beside the vLLM venv);
- `realparts` (a RealParts): the real vLLM replicas started with the arguments gpuctl rendered for the test
  deployment (tests/realparts/rendered.py lists the substitutions; `.replicas[i].url`), the real vllm-router in
  front of them with its rendered command (`.router_url`, `.router_metrics_url`), and a real Prometheus on
  loopback scraping both replicas (job `vllm`) and the router (job `vllm-router`) every second
  (`.prometheus_url`); `.processes.logs` is the session's directory with every process's log. As a test left it;
- `serving`: the same, after restarting any replica an earlier test killed;
- `burst_gateway` (a BurstGateway): the rendered nginx burst gateway in front of the router (`.url`) and the
  cloud stand-in it overflows to (`.standin_url`), started on first use.
One start per session; every process is stopped by PID at the end, also when a start fails.

Without the parts (scripts/realparts.sh not run) the tests skip, except in CI or with GPUCTL_REQUIRE_LAB=1, where
a missing part is a failure.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from gpuctl.render import burst

from . import parts, rendered

TINY_MODEL_SCRIPT = Path(__file__).with_name("tiny_model.py")
CLOUD_STANDIN = Path(__file__).with_name("cloud_standin.py")
TIMINGS_S: dict[str, float] = {}  # what the session's parts took to start, printed at the end of the run
# 26 s alone on two idle cores; measured 564 s for two at once while eight developers shared the cores.
REPLICA_READY_S = 900.0
SCRAPE_INTERVAL_S = 1


def require_parts() -> None:
    reason = parts.missing_parts()
    if reason is None:
        return
    if os.environ.get("GPUCTL_REQUIRE_LAB") or os.environ.get("CI"):  # CI: a missing part fails, never skips
        pytest.fail(f"the real serving parts cannot run: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def tiny_model() -> Path:
    require_parts()
    digest = hashlib.sha256(TINY_MODEL_SCRIPT.read_bytes()).hexdigest()[:12]
    out = parts.VENV / "models" / f"tiny-llama-{digest}"
    if not (out / "config.json").is_file():
        t0 = time.monotonic()
        out.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run([str(parts.PYTHON), str(TINY_MODEL_SCRIPT), str(out)], check=True, timeout=300)
        TIMINGS_S["tiny model built"] = time.monotonic() - t0
    return out


@dataclass
class Replica:
    port: int
    argv: list[str]
    proc: parts.Proc | None = None

    def running(self) -> bool:
        return self.proc is not None and self.proc.running()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class RealParts:
    """The running parts. Tests may kill replicas; `restore()` brings any dead one back with the same command."""

    deployment: rendered.TestDeployment
    processes: parts.Processes
    replicas: list[Replica]
    router_url: str = ""
    router_metrics_url: str = ""
    prometheus_url: str = ""

    def start_replica(self, i: int) -> None:
        r = self.replicas[i]
        r.proc = self.processes.start(f"replica-{i}-{time.monotonic_ns()}", r.argv, self.deployment.replica_env())

    def wait_replicas(self) -> None:
        for r in self.replicas:
            assert r.proc is not None
            parts.wait_until_ready(r.proc, f"{r.url}/health", REPLICA_READY_S)

    def restore(self) -> None:
        """Restart replicas a test killed and wait until the router admits them again."""
        dead = [i for i, r in enumerate(self.replicas) if not r.running()]
        for i in dead:
            self.start_replica(i)
        self.wait_replicas()
        if dead:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and self.router_healthy_workers() < len(self.replicas):
                time.sleep(0.5)

    def router_healthy_workers(self) -> int:
        """How many workers the router counts healthy, from its own metrics."""
        status, text = parts.http("GET", self.router_metrics_url, timeout=5)
        if status != 200:
            return 0
        return sum(
            1
            for line in str(text).splitlines()
            if line.startswith("vllm_router_worker_health{") and line.rsplit(" ", 1)[1] == "1"
        )


def prometheus_config(path: Path, replica_ports: list[int], router_metrics_port: int) -> None:
    targets = ", ".join(f"'127.0.0.1:{p}'" for p in replica_ports)
    path.write_text(
        f"global:\n  scrape_interval: {SCRAPE_INTERVAL_S}s\n  evaluation_interval: {SCRAPE_INTERVAL_S}s\n"
        "scrape_configs:\n"
        f"  - job_name: vllm\n    static_configs: [{{targets: [{targets}]}}]\n"
        f"  - job_name: vllm-router\n    static_configs: [{{targets: ['127.0.0.1:{router_metrics_port}']}}]\n"
    )


def _start(stack: RealParts, workdir: Path, tiny: Path) -> None:
    t0 = time.monotonic()
    for i in range(stack.deployment.deployment.replicas):
        port = parts.free_port()
        stack.replicas.append(Replica(port, stack.deployment.engine_argv(tiny, port)))
        stack.start_replica(i)

    router_port, metrics_port, prom_port = parts.free_port(), parts.free_port(), parts.free_port()
    prom_cfg = workdir / "prometheus.yml"
    prometheus_config(prom_cfg, [r.port for r in stack.replicas], metrics_port)
    prom = stack.processes.start(
        "prometheus",
        [
            "prometheus",
            f"--config.file={prom_cfg}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
            f"--storage.tsdb.path={workdir / 'tsdb'}",
        ],
    )
    stack.prometheus_url = f"http://127.0.0.1:{prom_port}"
    parts.wait_until_ready(prom, f"{stack.prometheus_url}/-/ready", 60)

    stack.wait_replicas()
    TIMINGS_S["replicas ready"] = time.monotonic() - t0

    router_argv = stack.deployment.router_argv([r.url for r in stack.replicas], router_port, metrics_port)
    router = stack.processes.start("vllm-router", router_argv)
    stack.router_url = f"http://127.0.0.1:{router_port}"
    stack.router_metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
    parts.wait_until_ready(router, f"{stack.router_url}/health", 60)
    TIMINGS_S["replicas, Prometheus and router ready"] = time.monotonic() - t0


@pytest.fixture(scope="session")
def realparts(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealParts]:
    workdir = tmp_path_factory.mktemp("realparts")
    stack = RealParts(rendered.load(), parts.Processes(workdir), [])
    try:
        _start(stack, workdir, tiny_model)
        yield stack
    finally:
        stack.processes.stop_all()


@pytest.fixture
def serving(realparts: RealParts) -> RealParts:
    """The running parts with every replica up (restarting any an earlier test killed)."""
    realparts.restore()
    return realparts


@dataclass
class BurstGateway:
    """The rendered nginx burst gateway in front of the router, and the cloud stand-in it overflows to."""

    url: str
    standin_url: str
    nginx: parts.Proc
    split_url: str  # the mtail sidecar's metrics

    def split(self) -> dict[str, float]:
        """The sidecar's gpuctl_gateway_requests_total by route (every status)."""
        status, text = parts.http("GET", self.split_url, timeout=10)
        assert status == 200, text
        counts: dict[str, float] = {}
        for route in re.findall(r'^gpuctl_gateway_requests_total\{[^}]*route="(\w+)"[^}]*\} (\S+)$', str(text), re.M):
            counts[route[0]] = counts.get(route[0], 0.0) + float(route[1])
        return counts

    def split_since(self, before: dict[str, float], count: int, timeout_s: float = 10.0) -> dict[str, float]:
        """Requests per route counted after `before`, once `count` are there (UDP: they arrive after answers)."""
        deadline = time.monotonic() + timeout_s
        while True:
            now = self.split()
            gained = {r: now.get(r, 0.0) - before.get(r, 0.0) for r in now}
            if sum(gained.values()) >= count or time.monotonic() > deadline:
                return {r: n for r, n in gained.items() if n}
            time.sleep(0.1)

    def routes(self) -> list[str]:
        """`route=` of every request in the gateway's access log (gpuctl's log format), oldest first."""
        return re.findall(r" route=(\w+) ", self.nginx.log.read_text(errors="replace"))

    def routes_since(self, seen: int, count: int, timeout_s: float = 10.0) -> list[str]:
        """The routes logged after the first `seen`, once `count` are there (nginx logs after it answers)."""
        deadline = time.monotonic() + timeout_s
        while len(self.routes()) < seen + count and time.monotonic() < deadline:
            time.sleep(0.1)
        return self.routes()[seen:]


@pytest.fixture(scope="session")
def burst_gateway(realparts: RealParts) -> BurstGateway:
    t0 = time.monotonic()
    dep = realparts.deployment
    workdir = realparts.processes.logs / "gateway"
    workdir.mkdir()
    key_file = workdir / "burst-api-key"
    key_file.touch(mode=0o600)
    key_file.write_text(secrets.token_hex(24))
    # The rendered init container writes the credential's nginx include, as in the pod.
    auth = workdir / "auth.conf"
    env = {"PATH": os.environ["PATH"], "API_KEY": key_file.read_text()}
    subprocess.run(dep.gateway_auth_script(auth), env=env, check=True)

    standin_port, gateway_port = parts.free_port(), parts.free_port()
    syslog_port, split_port = parts.free_port(), parts.free_port()
    progs = workdir / "mtail"
    progs.mkdir()
    program = dep.rendered("ConfigMap", burst.name(dep.deployment))["data"][burst.PROGRAM]
    (progs / burst.PROGRAM).write_text(program)
    split_argv = rendered.split_counter_argv(dep, progs, f"127.0.0.1:{syslog_port}", split_port)
    mtail = realparts.processes.start("gateway-split-counter", split_argv)
    split_url = f"http://127.0.0.1:{split_port}/metrics"
    parts.wait_until_ready(mtail, split_url, 30)
    standin_argv = [sys.executable, str(CLOUD_STANDIN), "--port", str(standin_port)]
    standin_argv += ["--model", dep.served_model, "--api-key-file", str(key_file)]
    standin = realparts.processes.start("cloud-standin", standin_argv)
    standin_url = f"http://127.0.0.1:{standin_port}"
    parts.wait_until_ready(standin, f"{standin_url}/health", 30)

    config = workdir / "nginx.conf"
    syslog = f"127.0.0.1:{syslog_port}"
    config.write_text(dep.gateway_config(realparts.router_url, f"{standin_url}/v1", workdir, gateway_port, syslog))
    nginx = realparts.processes.start("nginx-gateway", rendered.gateway_argv(dep, config))
    url = f"http://127.0.0.1:{gateway_port}"
    parts.wait_until_ready(nginx, f"{url}/healthz", 30)
    TIMINGS_S["burst gateway and cloud stand-in ready"] = time.monotonic() - t0
    return BurstGateway(url, standin_url, nginx, split_url)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TIMINGS_S:
        terminalreporter.write_sep("-", "real parts start-up")
        for what, seconds in TIMINGS_S.items():
            terminalreporter.write_line(f"{what}: {seconds:.1f} s")

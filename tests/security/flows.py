"""The security proofs' record of every flow tried and its result, printed at the end of the run (and written as
JSON lines to $GPUCTL_FLOWS_FILE when set), for the issue's closing note. Registered for the whole suite by the
`pytest_plugins` line in tests/conftest.py.

Each test of the proof modules below is one flow (its name says which, its outcome is the result: a failed
assertion is a flow that did not behave as the spec says); tests with several flows in one run (the firewall's)
add each with `record`."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest

PROOF_MODULES = {
    "test_gateway.py": "gateway (real HAProxy, TLS stand-in engines)",
    "test_gateway_vllm.py": "gateway + engine TLS (real HAProxy, real vLLM CPU, real vllm-router)",
    "test_engine_tls.py": "engine TLS proxy (real HAProxy, TLS stand-in engine)",
    "test_firewall_lab.py": "host firewall (real nftables in lab hosts)",
}


@dataclass(frozen=True)
class Flow:
    proof: str
    flow: str
    result: str


FLOWS: list[Flow] = []


def record(proof: str, flow: str, result: str) -> None:
    FLOWS.append(Flow(proof, flow, result))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    module = Path(report.location[0]).name
    proof = PROOF_MODULES.get(module)
    if proof is None or (report.when != "call" and report.outcome == "passed"):
        return  # one line per test: its call, or the setup/teardown that skipped or failed it
    name = report.location[2].removeprefix("test_").replace("_", " ")
    result = report.outcome
    if report.skipped and isinstance(report.longrepr, tuple):
        result = f"skipped: {report.longrepr[2]}"
    record(proof, name, result)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not FLOWS:
        return
    terminalreporter.section("security flows tried")
    for f in FLOWS:
        terminalreporter.write_line(f"{f.result:>8}  {f.proof}: {f.flow}")
    out = os.environ.get("GPUCTL_FLOWS_FILE")
    if out:
        with Path(out).open("a", encoding="utf-8") as fh:
            fh.writelines(json.dumps(asdict(f)) + "\n" for f in FLOWS)

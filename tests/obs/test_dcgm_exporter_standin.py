"""The lab's dcgm-exporter stand-in answers from the host's hardware file, the same file as the lab's nvidia-smi
and dcgmi: a fault injected into the host shows in all three, and the exporter can disagree with the spec. Run as
a process on loopback over a hardware file (no lab host); the lab test runs it inside the hosts."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.provision.standins import STANDINS, edit, hostengine, hw, run

__all__ = ["hostengine", "hw"]  # fixtures


@pytest.fixture
def exporter(hw: Path, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The exporter on a free loopback port reading `hw`; (its URL, its pid file)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    pidfile = tmp_path / "dcgm-exporter.pid"
    script = Path(str(STANDINS.joinpath("dcgm_exporter.py")))
    env = {**os.environ, "STANDIN_HARDWARE_FILE": str(hw)}
    args = ["--listen", f"127.0.0.1:{port}", "--counters", str(tmp_path / "none.csv"), "--pidfile", str(pidfile)]
    proc = subprocess.Popen([sys.executable, str(script), *args], env=env, cwd=script.parent)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/metrics", pidfile
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def scrape(url: str) -> dict[str, dict[str, float]]:
    """metric -> {gpu (or gpu/xid): value}."""
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    out: dict[str, dict[str, float]] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            key = s.labels.get("gpu", "") + (f"/{s.labels['xid']}" if "xid" in s.labels else "")
            out.setdefault(s.name, {})[key] = s.value
    return out


def test_the_exporter_nvidia_smi_and_dcgmi_agree_on_each_fault(
    exporter: tuple[str, Path], hw: Path, hostengine: str
) -> None:
    url, pidfile = exporter
    healthy = scrape(url)
    assert len(healthy["DCGM_FI_DEV_GPU_TEMP"]) == 8 and healthy["DCGM_FI_DEV_SLOWDOWN_TEMP"]["0"] == 90
    assert int(pidfile.read_text()) > 0
    assert "DCGM_EXP_XID_ERRORS_COUNT" not in healthy or not healthy["DCGM_EXP_XID_ERRORS_COUNT"]

    edit(hw, gpu={3: {"xid": 79, "temperature_c": 88}})
    m = scrape(url)
    assert m["DCGM_EXP_XID_ERRORS_COUNT"] == {"3/79": 1} and m["DCGM_FI_DEV_XID_ERRORS"]["3"] == 79
    assert m["DCGM_FI_DEV_GPU_TEMP"]["3"] == 88
    dmon = run("dcgmi", hw, "dmon", "-e", "230", "-c", "1", engine=hostengine).stdout.splitlines()
    assert dmon[5].split() == ["GPU", "3", "79"]
    smi = run("nvidia-smi", hw, "--query-gpu=index,temperature.gpu", "--format=csv,noheader,nounits").stdout
    assert smi.splitlines()[3] == "3, 88"

    edit(hw, gpus=json_gpus(hw)[:-1])  # GPU 7 gone
    assert sorted(scrape(url)["DCGM_FI_DEV_GPU_TEMP"]) == [str(i) for i in range(7)]
    assert len(run("nvidia-smi", hw, "-L").stdout.splitlines()) == 7

    edit(hw, driver_loaded=False)  # blind: up, answering, no GPU series; nvidia-smi fails
    blind = scrape(url)
    assert blind.get("DCGM_FI_DEV_GPU_TEMP", {}) == {} and "DCGM_FI_DEV_GPU_TEMP" in urlopen_text(url)
    assert run("nvidia-smi", hw, "-L").returncode == 9


def test_only_the_counters_file_fields_are_exported(hw: Path, tmp_path: Path) -> None:
    counters = tmp_path / "counters.csv"
    counters.write_text("# field, type, help\nDCGM_FI_DEV_GPU_TEMP, gauge, T.\nDCGM_FI_DRIVER_VERSION, label, D.\n")
    script = Path(str(STANDINS.joinpath("dcgm_exporter.py")))
    code = (
        f"import sys, json; sys.path.insert(0, {str(script.parent)!r}); import dcgm_exporter as d; "
        f"print(d.render(json.load(open({str(hw)!r})), d.read_counters({str(counters)!r}), 'h'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    names = {f.name for f in text_string_to_metric_families(out)}
    assert names == {"DCGM_FI_DEV_GPU_TEMP"}


def json_gpus(hw: Path) -> list[dict[str, object]]:
    import json

    gpus: list[dict[str, object]] = json.loads(hw.read_text())["gpus"]
    return gpus


def urlopen_text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())

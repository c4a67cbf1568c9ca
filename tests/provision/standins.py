"""Running the lab's stand-in tools as plain processes on a hardware file (no lab host needed)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from gpuctl.lab.core import LabHost
from gpuctl.lab.faults import hardware

FIXTURES = Path(__file__).parent / "fixtures"
STANDINS = resources.files("gpuctl.lab").joinpath("standins")
HOST = LabHost("lab-dgx-1", "10.0.0.1", "ns", "/tmp", "NVIDIA H100 80GB HBM3", 8, 81559, 496.8)


@pytest.fixture
def hw(tmp_path: Path) -> Path:
    path = tmp_path / "hardware.json"
    path.write_text(json.dumps(hardware(HOST, 0)))
    return path


@pytest.fixture
def hostengine() -> Iterator[str]:
    srv = socket.create_server(("127.0.0.1", 0))
    try:
        yield f"127.0.0.1:{srv.getsockname()[1]}"
    finally:
        srv.close()


def run(tool: str, hw: Path, *args: str, engine: str = "127.0.0.1:1") -> subprocess.CompletedProcess[str]:
    script = STANDINS.joinpath(tool).read_text().replace("@DRIVER_VERSION@", "550.127.05")
    env = {"STANDIN_HARDWARE_FILE": str(hw), "STANDIN_HOSTENGINE": engine, "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, env=env, timeout=30, check=False
    )


def edit(hw: Path, **change: Any) -> None:
    data = json.loads(hw.read_text())
    for idx, fields in change.pop("gpu", {}).items():
        data["gpus"][idx].update(fields)
    data.update(change)
    hw.write_text(json.dumps(data))

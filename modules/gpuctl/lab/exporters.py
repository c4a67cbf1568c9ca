"""Each GPU lab host's dcgm-exporter, started with the host by `gpuctl lab up` and stopped with it.

It runs inside the host, entered through the host's init (sshd, PID 1 of the host's PID namespace):
- its network namespace: it listens on :9400 of the host, so Prometheus in the root namespace scrapes the host's
  lab address as it would scrape a GPU node;
- its mount namespace: it reads the host's hardware file, the one the lab's nvidia-smi and dcgmi answer from, so
  a fault injected into the host (gpuctl.lab.faults) shows in all three;
- its PID namespace: it dies with the host, and the host's own init script for dcgm-exporter (the lab's package,
  gpuctl.lab.packages) finds it through the pid file it writes. Provisioning's dcgm role therefore sees the service
  running, and the role's restart (after it writes its counters file) replaces it with the same program.

The lab state records the PID (as the root namespace sees it) each host's exporter started with; `pid()` finds the
one running now, whoever started it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

from .base import LabError
from .core import LabHost, LabState, wait_port
from .net import run
from .packages import EXPORTER_ARGS, EXPORTER_DIR, EXPORTER_PIDFILE, EXPORTER_PORT, exporter_files

START_TIMEOUT_S = 20.0


def _nspid(pid: int) -> list[int]:
    """The PID of `pid` in each PID namespace it belongs to, outermost first ([] when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("NSpid:"):
                return [int(p) for p in line.split()[1:]]
    except OSError:
        pass
    return []


def _netns_pids(h: LabHost) -> list[int]:
    return [int(p) for p in run(["ip", "netns", "pids", h.netns], check=False).stdout.split()]


def host_init(h: LabHost) -> int:
    """The root-namespace PID of the host's init (its sshd, PID 1 inside the host)."""
    for pid in _netns_pids(h):
        ids = _nspid(pid)
        if len(ids) == 2 and ids[1] == 1:
            return pid
    raise LabError(f"lab host {h.name} is not running (no init in network namespace {h.netns})")


def _wait(what: str, check: object, timeout: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(check) and check():
            return
        time.sleep(0.05)
    raise LabError(f"{what} within {timeout:.0f} s")


def launch(h: LabHost) -> subprocess.Popen[bytes]:
    """Start the host's exporter inside the host (its sshd runs: the host's root is in place); do not wait."""
    init = host_init(h)
    root = Path(f"/proc/{init}/root")
    for path, (content, mode) in exporter_files().items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
        target.chmod(mode)
    enter = ["nsenter", f"--target={init}", "--mount", "--uts", "--net", "--pid", "--root", "--wd", "--"]
    program = ["/usr/bin/python3", f"{EXPORTER_DIR}/dcgm_exporter.py", *EXPORTER_ARGS, "--pidfile", EXPORTER_PIDFILE]
    with (Path(h.dir) / "dcgm-exporter.log").open("a") as log:
        return subprocess.Popen(
            [*enter, *program], stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
        )


def _ready(h: LabHost, nsenter: subprocess.Popen[bytes]) -> int:
    """The exporter's root-namespace PID (nsenter's child) once it answers on the host's lab address."""
    children = Path(f"/proc/{nsenter.pid}/task/{nsenter.pid}/children")
    _wait(f"{h.name}'s dcgm-exporter did not start", lambda: nsenter.poll() is not None or children.read_text())
    if nsenter.poll() is not None:
        raise LabError(f"{h.name}'s dcgm-exporter exited at once: see {h.dir}/dcgm-exporter.log")
    pid = int(children.read_text().split()[0])
    wait_port(h.ip, EXPORTER_PORT, START_TIMEOUT_S, f"{h.name}'s dcgm-exporter on {h.ip}:{EXPORTER_PORT}")
    return pid


def start(h: LabHost) -> int:
    """Start the host's exporter; its root-namespace PID once it answers on the host's lab address."""
    return _ready(h, launch(h))


def runs_one(h: LabHost) -> bool:
    """A host without GPUs runs none, as the dcgm role installs none there."""
    return bool(h.gpu_count and h.gpu_name)


def ready_all(launched: dict[str, tuple[LabHost, subprocess.Popen[bytes]]]) -> dict[str, int]:
    """The root-namespace PID of each launched exporter, once each answers: they start together, so waiting for
    them one after the other takes as long as the slowest."""
    return {name: _ready(h, nsenter) for name, (h, nsenter) in launched.items()}


def pid(state: LabState, host: str) -> int | None:
    """The root-namespace PID of the exporter running in `host` now (from the host's pid file), None if none."""
    h = next(x for x in state.hosts if x.name == host)
    try:
        inner = int((Path(f"/proc/{host_init(h)}/root") / EXPORTER_PIDFILE.lstrip("/")).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return next((p for p in _netns_pids(h) if _nspid(p)[-1:] == [inner]), None)


def kill(state: LabState, host: str) -> int:
    """SIGKILL the exporter running in `host` (a dead exporter); its PID."""
    found = pid(state, host)
    if found is None:
        raise LabError(f"no dcgm-exporter runs in {host}")
    os.kill(found, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(found, os.WNOHANG)
    return found

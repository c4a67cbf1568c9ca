"""Where the real parts are installed, and the processes the proof starts: free loopback ports, start, wait until
ready, kill, and stop every process started (and its children) by PID.

The parts are installed by scripts/realparts.sh (called by scripts/bootstrap.sh for `dev`, so CI has them).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.conftest import ROOT

VENV = Path(os.environ.get("GPUCTL_REALPARTS_VENV", ROOT / ".venv-vllm"))
STAMP = VENV / ".gpuctl-realparts"
PYTHON = VENV / "bin" / "python"
ROUTER = VENV / "bin" / "vllm-router"
INSTALL_HINT = "run `bash scripts/realparts.sh` (scripts/bootstrap.sh dev does it)"


def missing_parts() -> str | None:
    """Why the real parts cannot run here, or None."""
    if not STAMP.is_file():
        return f"vLLM CPU and vllm-router are not installed in {VENV}: {INSTALL_HINT}"
    for tool, package in (("prometheus", "prometheus"), ("nginx", "nginx-light")):
        if shutil.which(tool) is None and not Path("/usr/sbin", tool).exists():
            return f"{tool} is not installed (Debian package {package}): {INSTALL_HINT}"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Runs in the child before exec: if pytest itself is killed, the kernel sends SIGTERM to its parts."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def descendants(pid: int) -> list[int]:
    """PIDs of pid's children, grandchildren... (vLLM runs its engine core in a child process)."""
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            for child in (task / "children").read_text().split():
                out += [int(child), *descendants(int(child))]
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@dataclass
class Proc:
    """One process the proof started, with the PIDs of its children seen since (stopped with it)."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    children: set[int] = field(default_factory=set)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def running(self) -> bool:
        return self.popen.poll() is None

    def note_children(self) -> None:
        if self.running():
            self.children.update(descendants(self.pid))

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def kill(self, sig: signal.Signals = signal.SIGKILL) -> None:
        """Signal the process and every child seen (a pod's death takes its whole tree)."""
        self.note_children()
        for pid in [self.pid, *sorted(self.children)]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    def stop(self, grace_s: float = 10.0) -> None:
        self.kill(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=grace_s)
        deadline = time.monotonic() + grace_s
        while any(alive(p) for p in self.children) and time.monotonic() < deadline:
            time.sleep(0.2)
        self.kill(signal.SIGKILL)
        self.popen.wait()


@dataclass
class Processes:
    """Every process a session started; `stop_all` ends them all by PID, newest first."""

    logs: Path
    started: list[Proc] = field(default_factory=list)

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Proc:
        log = self.logs / f"{name}.log"
        with log.open("ab") as out:
            popen = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {})},
                preexec_fn=_die_with_parent,  # the fixtures start processes from the main thread
            )
        proc = Proc(name, popen, log)
        self.started.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in reversed(self.started):
            proc.stop()


def http(method: str, url: str, body: Any = None, timeout: float = 60.0) -> tuple[int, Any]:
    """One HTTP request; returns (status, parsed JSON or text). Connection failures raise OSError."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, raw = resp.status, resp.read()
    except urllib.error.HTTPError as err:
        status, raw = err.code, err.read()
    text = raw.decode(errors="replace")
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


def wait_until_ready(proc: Proc, url: str, timeout_s: float) -> None:
    """Poll url until it answers 200; fail with the log's tail if the process exits or time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not proc.running():
            raise RuntimeError(f"{proc.name} exited with {proc.popen.returncode}:\n{proc.tail()}")
        with contextlib.suppress(OSError):
            if http("GET", url, timeout=5)[0] == 200:
                proc.note_children()
                return
        time.sleep(0.5)
    raise RuntimeError(f"{proc.name} not ready at {url} after {timeout_s:.0f} s:\n{proc.tail()}")

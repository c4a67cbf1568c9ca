"""The run journal: per target, its last run; per host, how its last run and its last verify ended, written as each
host finishes, so `--resume` re-runs exactly the hosts that failed, were not reached, or were not finished when the
controller was killed. Updates are read-modify-write under a lock, so runs of other targets never lose each other's
records."""

from __future__ import annotations

import fcntl
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..fsutil import write_atomic


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, Any] = self._read()

    def _read(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.path.read_text()) if self.path.exists() else {}
        return data

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.with_suffix(".lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self.data = self._read()
            yield
            write_atomic(self.path, json.dumps(self.data, indent=2, sort_keys=True) + "\n")

    def _update(self, change: Callable[[dict[str, Any]], None]) -> None:
        with self._locked():
            change(self.data)

    def start_run(self, run_id: str, target: str, hosts: list[str]) -> None:
        def change(d: dict[str, Any]) -> None:
            d.setdefault("runs", {})[target] = {"id": run_id, "started": time.time(), "finished": None, "hosts": hosts}
            for h in hosts:
                d.setdefault("hosts", {})[h] = {"status": "pending", "run": run_id, "target": target}

        self._update(change)

    def host_finished(self, run_id: str, host: str, status: str) -> None:
        """A host that finished its part of the run (its last play) before the run ended."""

        def change(d: dict[str, Any]) -> None:
            d.setdefault("hosts", {})[host] = {"status": status, "run": run_id, "at": time.time()}

        self._update(change)

    def finish_run(self, run_id: str, target: str, statuses: dict[str, str]) -> None:
        def change(d: dict[str, Any]) -> None:
            run = d.setdefault("runs", {}).setdefault(target, {"id": run_id})
            run["finished"] = time.time()
            for h, status in statuses.items():
                d.setdefault("hosts", {})[h] = {"status": status, "run": run_id, "target": target}

        self._update(change)

    def record_verify(self, statuses: dict[str, str]) -> None:
        def change(d: dict[str, Any]) -> None:
            verify = d.setdefault("verify", {})
            for h, status in statuses.items():
                verify[h] = {"status": status, "at": time.time()}

        self._update(change)

    def resumable(self) -> list[str]:
        """Hosts whose last run did not end ok (failed, unreachable, pending) or whose last verify failed."""
        hosts = {h for h, r in self.data.get("hosts", {}).items() if r.get("status") != "ok"}
        hosts |= {h for h, r in self.data.get("verify", {}).items() if r.get("status") != "passed"}
        return sorted(hosts)

"""The run journal, one file per site with a section per kind of run: `provision` (site.yml, upgrade_drivers.yml) and
`burnin` each keep, per target, its last run and, per host, how its last run of that kind ended, written as each host
finishes; `verify` keeps each host's last verify. `--resume` re-runs exactly the hosts whose last provisioning run
failed, was not reached or was not finished when the controller was killed, or whose last verify failed; a burn-in
run never counts as provisioning. Updates are read-modify-write under a lock, so runs of other targets never lose
each other's records."""

from __future__ import annotations

import fcntl
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..fsutil import write_atomic

SECTIONS = ("provision", "burnin")


class Journal:
    def __init__(self, path: Path, section: str = "provision") -> None:
        if section not in SECTIONS:
            raise ValueError(f"journal section {section!r}: one of {', '.join(SECTIONS)}")
        self.path = path
        self.section = section
        self.data: dict[str, Any] = self._read()

    def _read(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.path.read_text()) if self.path.exists() else {}
        # journals written before the sections kept provisioning's runs and hosts at the top level
        if "provision" not in data and ("runs" in data or "hosts" in data):
            data["provision"] = {k: data.pop(k) for k in ("runs", "hosts") if k in data}
        return data

    @property
    def runs(self) -> dict[str, Any]:
        """This section's last run per target."""
        runs: dict[str, Any] = self.data.get(self.section, {}).get("runs", {})
        return runs

    @property
    def hosts(self) -> dict[str, Any]:
        """This section's record per host (how its last run ended)."""
        hosts: dict[str, Any] = self.data.get(self.section, {}).get("hosts", {})
        return hosts

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
            change(self.data.setdefault(self.section, {}))

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
        """Each verified host's result; hosts not verified this time keep their earlier record."""
        with self._locked():
            verify = self.data.setdefault("verify", {})
            for h, status in statuses.items():
                verify[h] = {"status": status, "at": time.time()}

    def resumable(self) -> list[str]:
        """Hosts whose last provisioning run did not end ok (failed, unreachable, pending) or whose last verify
        failed."""
        hosts = {h for h, r in self.data.get("provision", {}).get("hosts", {}).items() if r.get("status") != "ok"}
        hosts |= {h for h, r in self.data.get("verify", {}).items() if r.get("status") != "passed"}
        return sorted(hosts)

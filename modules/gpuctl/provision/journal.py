"""The run journal: what the last provisioning run and the last verify found per host, so `--resume` can
re-run only hosts that failed, were not reached, or were never finished (the controller was killed)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from ..fsutil import write_atomic


class Journal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}

    def save(self) -> None:
        write_atomic(self.path, json.dumps(self.data, indent=2, sort_keys=True) + "\n")

    def start_run(self, run_id: str, target: str, hosts: list[str]) -> None:
        self.data["last_run"] = {
            "id": run_id,
            "target": target,
            "started": time.time(),
            "finished": None,
            "hosts": dict.fromkeys(hosts, "pending"),
        }
        self.save()

    def finish_run(self, statuses: dict[str, str]) -> None:
        run = self.data.setdefault("last_run", {"hosts": {}})
        run["hosts"].update(statuses)
        run["finished"] = time.time()
        self.save()

    def record_verify(self, statuses: dict[str, str]) -> None:
        self.data["last_verify"] = {"at": time.time(), "hosts": statuses}
        self.save()

    def resumable(self) -> list[str]:
        """Hosts whose last run did not end ok (failed, unreachable, pending) or whose last verify failed."""
        hosts = {h for h, s in self.data.get("last_run", {}).get("hosts", {}).items() if s != "ok"}
        hosts |= {h for h, s in self.data.get("last_verify", {}).get("hosts", {}).items() if s != "passed"}
        return sorted(hosts)

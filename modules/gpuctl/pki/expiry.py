"""What `gpuctl pki list` shows: each certificate's remaining life (`gpuctl validate` judges expiry with rules
SEC009/SEC010 from what gpuctl.loader.pki reads)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from ..model import Site
from ..render.security.certs import plan
from .issue import now_utc
from .store import Store


@dataclass(frozen=True)
class Status:
    kind: str
    name: str
    subject: str
    serial: str
    not_after: str
    days_left: float
    state: str  # ok | renew | expired | missing
    previous_valid: bool

    def as_dict(self) -> dict[str, object]:
        return {**self.__dict__, "days_left": round(self.days_left, 1)}


def statuses(site: Site, root: Path, now: dt.datetime | None = None) -> list[Status]:
    now = now or now_utc()
    store = Store(root)
    renew = site.security.certificates.renew_before_days
    out: list[Status] = []
    found = {(e.kind, e.name): e for e in store.entries()}
    wanted = [("ca", "ca"), *((s.kind, s.name) for s in plan(site))]
    for kind, name in wanted:
        entry = found.get((kind, name))
        if entry is None:
            out.append(Status(kind, name, "", "", "", 0.0, "missing", False))
            continue
        left = entry.days_left(now)
        state = "expired" if left <= 0 else ("renew" if kind != "ca" and left <= renew else "ok")
        prev_ok = entry.previous is not None and entry.previous.not_valid_after_utc > now
        out.append(
            Status(
                kind,
                name,
                entry.cert.subject.rfc4514_string(),
                format(entry.cert.serial_number, "x"),
                entry.cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
                left,
                state,
                prev_ok,
            )
        )
    return out

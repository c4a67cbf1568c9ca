"""Machine-readable findings: one object per site file."""

from __future__ import annotations

import json
from collections.abc import Sequence

from ..rules import Result, Severity


def as_data(results: Sequence[Result]) -> dict[str, object]:
    return {
        "sites": [
            {
                "file": r.file,
                "site": r.site,
                "summary": {s.value: r.count(s) for s in Severity} | {"suppressed": len(r.suppressed)},
                "findings": [f.as_dict() for f in r.findings],
                "suppressed": [f.as_dict() | {"reason": f.suppressed_by} for f in r.suppressed],
            }
            for r in results
        ]
    }


def render(results: Sequence[Result]) -> str:
    return json.dumps(as_data(results), indent=2, allow_nan=False) + "\n"

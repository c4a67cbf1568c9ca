"""Compare a vLLM start-up log with the prediction for the same settings."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..errors import Problem, SpecError
from .engine import Prediction

# Log lines as vLLM writes them (reference vram.md §1a/§1b; 0.8.5-0.33.0 wording).
_PATTERNS = {
    "weights_gib": re.compile(r"[Mm]odel (?:weights|loading) took ([\d.]+) ?GiB|model weights take ([\d.]+) ?GiB"),
    "kv_cache_gib": re.compile(r"Available KV cache memory: ([\d.]+) GiB|reserved for KV Cache is ([\d.]+) ?GiB"),
    "kv_cache_tokens": re.compile(r"GPU KV cache size: ([\d,]+) tokens"),
    "activation_gib": re.compile(r"PyTorch activation peak memory takes ([\d.]+) ?GiB"),
    "non_torch_gib": re.compile(r"non_torch_memory takes ([\d.]+) ?GiB"),
}


def read_log(path: Path) -> dict[str, float]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise SpecError(str(exc), [Problem(exc.strerror or str(exc), file=str(path))]) from None
    found: dict[str, float] = {}
    for key, pattern in _PATTERNS.items():
        for m in pattern.finditer(text):
            value = next(g for g in m.groups() if g is not None)
            found[key] = float(value.replace(",", ""))  # the last occurrence wins (the final rank's line)
    if "kv_cache_gib" not in found and "kv_cache_tokens" not in found:
        raise SpecError(
            "no KV cache lines",
            [
                Problem(
                    "no 'Available KV cache memory' or 'GPU KV cache size' line found",
                    file=str(path),
                    hint="pass the log of a vLLM start-up that got as far as allocating the KV cache",
                )
            ],
        )
    return found


def calibrate_log(path: Path, p: Prediction) -> dict[str, Any]:
    logged = read_log(path)
    predicted = p.as_dict()
    compare = {
        key: {
            "logged": value,
            "predicted": round(float(predicted[key]), 3),
            "diff": round(float(predicted[key]) - value, 3),
        }
        for key, value in logged.items()
    }
    correction = None
    if "kv_cache_gib" in logged:
        # What a site records per GPU model to correct future predictions (overhead the model missed).
        correction = round(p.kv_cache_gib - logged["kv_cache_gib"], 3)
    return {"log": str(path), "compare": compare, "kv_overhead_correction_gib": correction}

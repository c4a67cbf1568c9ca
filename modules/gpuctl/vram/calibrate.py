"""Compare a vLLM start-up log with the prediction for the same settings."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from ..errors import Problem, SpecError
from ..fsutil import read_text_capped
from .engine import Prediction

MAX_LOG_BYTES = 256 * 2**20  # a start-up log is KiB to a few MiB; a day of serving logs can be this large

# Log lines as vLLM writes them (0.8.5-0.33.0 wording): vllm/v1/worker/gpu_worker.py and gpu_model_runner.py
# ("Model loading took", "Available KV cache memory"), vllm/v1/core/kv_cache_utils.py ("GPU KV cache size"),
# vllm/worker/worker.py for v0 ("model weights take", "non_torch_memory takes"); at v0.11.0:
# https://github.com/vllm-project/vllm/blob/v0.11.0/vllm/v1/worker/gpu_worker.py. Older wordings too: 0.6.4's one
# "Memory profiling results: ... non_torch_memory=0.35GiB kv_cache_size=3.81GiB" line, 0.6.5's table
# ("available_kv_cache_memory    53.29GiB"), "Loading model weights took 14.9888 GB", v0's refusal "the maximum number
# of tokens that can be stored in KV cache (23648)", and TensorRT-LLM's "Using 10718 tokens in paged KV cache".
# A start-up that failed logs a negative KV memory.
_PATTERNS = {
    "weights_gib": re.compile(r"[Mm]odel (?:weights|loading) took ([\d.]+) ?Gi?B|model weights take +([\d.]+) ?GiB"),
    "kv_cache_gib": re.compile(
        r"Available KV cache memory: (-?[\d.]+) GiB|reserved for KV Cache is (-?[\d.]+) ?GiB"
        r"|kv_cache_size=(-?[\d.]+)GiB|available_kv_cache_memory +(-?[\d.]+)GiB"
    ),
    "kv_cache_tokens": re.compile(
        r"GPU KV cache size: ([\d,]+) tokens|stored in KV cache \(([\d,]+)\)|Using ([\d,]+) tokens in paged KV cache"
    ),
    "activation_gib": re.compile(r"PyTorch activation peak memory(?: takes)? +([\d.]+) ?GiB"),
    "non_torch_gib": re.compile(r"non_torch_memory(?: takes |=| +)([\d.]+) ?GiB"),
}


def read_log(path: Path) -> dict[str, float]:
    text = read_text_capped(path, MAX_LOG_BYTES, "vLLM log")
    found: dict[str, float] = {}
    for key, pattern in _PATTERNS.items():
        for m in pattern.finditer(text):
            found[key] = _number(m, text, path)  # the last occurrence wins (the final rank's line)
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


def _number(m: re.Match[str], text: str, path: Path) -> float:
    """The figure a log line reports; "1.2.3" or "," is a located error, not a crash."""
    group = next(i for i in range(1, len(m.groups()) + 1) if m.group(i) is not None)
    raw = m.group(group)
    try:
        value = float(raw.replace(",", ""))
    except ValueError:
        value = math.nan
    if math.isfinite(value):
        return value
    start = m.start(group)
    line = text.count("\n", 0, start) + 1
    column = start - (text.rfind("\n", 0, start) + 1) + 1
    raise SpecError(
        "unreadable log line",
        [
            Problem(
                f"{raw[:40]!r} is not a number", file=str(path), line=line, column=column, hint="is this a vLLM log?"
            )
        ],
    )


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

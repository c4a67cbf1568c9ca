"""Which quantization an engine runs on which GPU: the minimum compute capability per (precision, method).

A row absent from an engine's table is a combination the engine does not run at all; a row whose capability the
GPU lacks is one this GPU cannot run. `problem` says which, in words a spec author can act on.

Sources:
- vLLM: docs/features/quantization "Supported Hardware" (https://docs.vllm.ai/en/v0.11.2/features/quantization/,
  Volta 7.0, Turing 7.5, Ampere 8.0/8.6, Ada 8.9, Hopper 9.0): AWQ from Turing, GPTQ and bitsandbytes from Volta,
  INT8 W8A8 (compressed-tensors) from Turing; FP8 W8A8 from Ada, FP8 weight-only (Marlin, W8A16) from Turing
  (https://docs.vllm.ai/en/v0.32.0/features/quantization/llm_compressor/fp8/); INT4 W4A16 compressed-tensors runs
  on Marlin kernels, from Ampere (https://docs.vllm.ai/en/v0.11.2/features/quantization/int4/).
- TensorRT-LLM: docs/source/features/quantization.md, the support matrix
  (https://nvidia.github.io/TensorRT-LLM/features/quantization.html): FP8 (W8A8) and FP8 KV cache from Ada;
  INT8 weight-only (W8A16), INT4 weight-only AWQ and GPTQ (W4A16) from Ampere; no bitsandbytes.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..model.serving import Deployment

# (precision, method or "" when the precision has one) -> minimum compute capability
Support = Mapping[tuple[str, str], float]

VLLM: Support = {
    ("fp8", ""): 7.5,  # W8A8 from 8.9; W8A16 through Marlin on 7.5-8.6
    ("int8", "compressed-tensors"): 7.5,
    ("int8", "gptq"): 7.0,
    ("int8", "bitsandbytes"): 7.0,
    ("int4", "awq"): 7.5,
    ("int4", "gptq"): 7.0,
    ("int4", "bitsandbytes"): 7.0,
    ("int4", "compressed-tensors"): 8.0,
    ("kv:fp8", ""): 7.5,
}

TRTLLM: Support = {
    ("fp8", ""): 8.9,
    ("int8", "compressed-tensors"): 8.0,  # W8A16 weight-only
    ("int8", "gptq"): 8.0,
    ("int4", "awq"): 8.0,
    ("int4", "gptq"): 8.0,
    ("kv:fp8", ""): 8.9,
}

# Marlin kernels (vLLM picks them itself for a checkpoint it detects; an explicit `--quantization awq` forces the
# slow kernel, which vLLM warns about): from Ampere.
MARLIN_CC = 8.0


def problem(table: Support, engine: str, precision: str, method: str | None, cc: float | None) -> str | None:
    """Why `engine` cannot run this precision/method on a GPU of compute capability `cc` (None: unknown GPU)."""
    if precision in ("auto", "bf16", "fp16"):
        if precision == "bf16" and cc is not None and cc < 8.0:
            return f"bf16 needs compute capability 8.0 (Ampere) or newer; this GPU is {cc:.1f}"
        return None
    key = (precision, "" if precision == "fp8" or precision.startswith("kv:") else (method or ""))
    what = f"{precision}{f' ({method})' if key[1] else ''}".replace("kv:", "KV cache ")
    if key not in table:
        offered = sorted(m for p, m in table if p == precision)
        hint = f"; {engine} offers: {', '.join(offered)}" if offered else ""
        return f"{engine} does not run {what}{hint}"
    need = table[key]
    if cc is not None and cc < need:
        return f"{engine} runs {what} from compute capability {need:.1f}; this GPU is {cc:.1f}"
    return None


def deployment_problem(table: Support, engine: str, dep: Deployment, cc: float | None) -> str | None:
    """The deployment's weights, then its KV cache dtype, against the engine's table."""
    return problem(table, engine, dep.precision, dep.quant_method, cc) or (
        problem(table, engine, "kv:fp8", None, cc) if dep.kv_cache_dtype == "fp8" else None
    )

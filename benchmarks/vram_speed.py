"""Benchmark: 10,000 VRAM predictions (target: under 1 s). Prints seconds and predictions per second."""

from __future__ import annotations

import itertools
import time

from gpuctl import catalog, engines
from gpuctl.vram import EngineSettings, predict


def main(n: int = 10_000) -> None:
    models = list(catalog.models().values())
    gpus = [catalog.builtin().gpus[g] for g in ("h100-sxm5-80gb", "a100-sxm4-80gb", "l40s", "l4", "h200-sxm-141gb")]
    settings = [
        EngineSettings(tensor_parallel_size=tp, max_model_len=m, kv_cache_dtype=kv)
        for tp in (1, 2, 4, 8)
        for m in (4096, 32768)
        for kv in ("auto", "fp8")
    ]
    profile = engines.memory_profile("vllm", None)
    combos = itertools.islice(itertools.cycle(itertools.product(models, gpus, settings)), n)
    start = time.perf_counter()
    fits = sum(predict(m, g, s, profile).fits for m, g, s in combos)
    elapsed = time.perf_counter() - start
    print(f"{n:,} predictions in {elapsed:.3f} s ({n / elapsed:,.0f}/s, {elapsed / n * 1e6:.0f} µs each); {fits:,} fit")


if __name__ == "__main__":
    main()

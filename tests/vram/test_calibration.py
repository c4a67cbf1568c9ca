"""Predictions against published vLLM logs: KV cache within 0.5 GiB, KV tokens within 2%."""

from __future__ import annotations

import pytest

from gpuctl import catalog
from gpuctl.vram import EngineSettings
from tests.vram import predict

from .cases import CASES, Case


def run(case: Case):  # type: ignore[no-untyped-def]
    return predict(catalog.models()[case.model], catalog.builtin().gpus[case.gpu], EngineSettings(**case.settings))


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_case_matches_the_log(case: Case) -> None:
    p = run(case)
    assert p.fits is case.fits
    assert abs(p.kv_cache_gib - case.kv_cache_gib) <= 0.5, (p.kv_cache_gib, case.kv_cache_gib)
    if case.kv_cache_tokens:
        assert abs(p.kv_cache_tokens - case.kv_cache_tokens) / case.kv_cache_tokens <= 0.02


def test_print_errors_per_case_and_mean(capsys: pytest.CaptureFixture[str]) -> None:
    gib_errors, token_errors = [], []
    lines = []
    for case in CASES:
        p = run(case)
        err = p.kv_cache_gib - case.kv_cache_gib
        gib_errors.append(abs(err))
        tok = ""
        if case.kv_cache_tokens:
            rel = (p.kv_cache_tokens - case.kv_cache_tokens) / case.kv_cache_tokens * 100
            token_errors.append(abs(rel))
            tok = f" tokens {p.kv_cache_tokens:,} vs {case.kv_cache_tokens:,} ({rel:+.2f}%)"
        lines.append(f"{case.name}: KV {p.kv_cache_gib:.2f} vs {case.kv_cache_gib:.2f} GiB ({err:+.3f}){tok}")
    mean_gib = sum(gib_errors) / len(gib_errors)
    mean_tok = sum(token_errors) / len(token_errors)
    with capsys.disabled():
        print("\n" + "\n".join(lines))
        print(f"mean |error|: {mean_gib:.3f} GiB, {mean_tok:.2f}% tokens over {len(CASES)} cases")
    assert mean_gib < 0.2
    assert mean_tok < 1.0

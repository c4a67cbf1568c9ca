"""The start-up-log corpus is well formed and its split follows the rule written in it, not a choice per case."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from gpuctl import catalog, engines
from gpuctl.errors import SpecError
from gpuctl.vram.calibrate import read_log

from . import corpus
from .corpus import Case

CASES = corpus.cases()
# A file's history (commits/<ref>/<path>) is accepted where the quoted lines are in an earlier version of a file whose
# commit could not be resolved here (the case's notes say so); everything else cites an issue, a pull request or a
# file at a commit.
_SOURCE = re.compile(r"^https://github\.com/[\w.-]+/[\w.-]+/(issues|pull|blob|tree|commits)/\S+$")


def test_the_corpus_is_large_and_varied_enough() -> None:
    assert len(CASES) >= 36
    assert len({c.gpu for c in CASES}) >= 6
    assert len({c.engine_version for c in CASES}) >= 6
    assert {c.engine for c in CASES} == {"vllm", "trtllm"}
    archs = [corpus.arch(c.model) for c in CASES]
    assert any(a.mla for a in archs) and any(a.moe for a in archs)
    assert any(a.num_kv_heads < a.num_heads for a in archs) and any(a.num_kv_heads == a.num_heads for a in archs)
    assert {c.settings.get("tensor_parallel_size", 1) for c in CASES} >= {1, 2, 4}
    assert any(c.settings.get("pipeline_parallel_size", 1) > 1 for c in CASES)


def test_ids_are_unique() -> None:
    assert [k for k, n in Counter(c.id for c in CASES).items() if n > 1] == []


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_each_case_cites_its_log_and_resolves(case: Case) -> None:
    assert _SOURCE.match(case.source), case.source
    assert case.log.strip(), "quote the log lines"
    assert case.kv_gib is not None or case.kv_tokens is not None
    assert case.gpu in catalog.builtin().gpus
    engines.memory_profile(case.engine, case.engine_version)
    corpus.profile(case)  # no flag gpuctl does not model
    assert corpus.arch(case.model).source.endswith("config.json)")


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_split_follows_the_rule(case: Case) -> None:
    assert case.split == corpus.expected_split(case)


def test_held_out_is_at_least_a_third() -> None:
    held = [c for c in CASES if c.held_out]
    assert len(held) * 3 >= len(CASES), (len(held), len(CASES))
    assert {c.provenance for c in held}.isdisjoint(corpus.FITTED_PROVENANCE)
    in_scope = [c for c in CASES if c.in_scope]
    assert len([c for c in in_scope if c.held_out]) * 3 >= len(in_scope)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_scope_follows_the_rule(case: Case) -> None:
    """Out of scope = a release gpuctl does not render for (the engines' SUPPORTED_SINCE), nothing else."""
    assert case.scope == corpus.expected_scope(case)


def test_cases_collected_after_the_model_freeze_are_held_out() -> None:
    late = [c for c in CASES if c.after_freeze]
    assert len(late) >= 10
    assert all(c.held_out and c.added != "corpus v1" for c in late)
    later = [c for c in CASES if c.freeze]
    assert later and all(c.after_freeze and 2 <= c.freeze <= corpus.LAST_FREEZE for c in later)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_flags_stated_is_the_pre_registered_classification(case: Case) -> None:
    assert case.flags_stated in ("complete", "partial")
    if case.flags_stated == "complete":  # the rule asks for a stated version, a named GPU and the launch flags
        assert case.held_out and case.notes


# Accuracy, always on both sets at once: the fitted bound is what the constants were fitted to reach, the held-out
# bound what they reach on in-scope logs they never saw (the target is 0.3 GiB; docs/vram-comparison.md shows where
# it is missed and why). Lower these as the model improves; never assert the fitted set alone. Out-of-scope cases
# (releases gpuctl does not render for) are reported, not bounded.
# The fifth model change (the MXFP4 kernel vLLM's releases pick, from their files) made the fitted set worse: 0.24 ->
# 0.57 GiB, through a GT-D row that does not add up (gtd-gpt-oss-120b); its bound rose with it, as the corpus says.
FITTED_MEAN_GIB = 0.6
HELD_OUT_MEAN_GIB = 1.25  # the honest figure after the MXFP4 kernel change (1.20 GiB); was 1.6 (1.42 GiB)
AFTER_LAST_CHANGE_MEAN_GIB = 0.3  # the target, on the cases collected after the last model change
OVER_GIB = 1.0  # a case off by more than this must say why in its notes


def test_kv_cache_accuracy_on_fitted_and_held_out_sets() -> None:
    errors = [corpus.error(c) for c in CASES if c.in_scope]
    fitted = corpus.mean([abs(e.gib) for e in errors if not e.case.held_out])
    held_out = corpus.mean([abs(e.gib) for e in errors if e.case.held_out])
    late_errors = [abs(e.gib) for e in errors if e.case.after_last_change]
    assert late_errors, "no in-scope case was collected after the last model change: the late bound would be vacuous"
    late = corpus.mean(late_errors)
    assert fitted <= FITTED_MEAN_GIB, fitted
    assert held_out <= HELD_OUT_MEAN_GIB, held_out
    assert late <= AFTER_LAST_CHANGE_MEAN_GIB, late


@pytest.mark.parametrize("case", [c for c in CASES if c.in_scope], ids=lambda c: c.id)
def test_start_up_verdict_matches_the_log(case: Case) -> None:
    """In scope only: a release gpuctl does not render for may refuse or accept what gpuctl's accounting would not
    (vLLM 0.5 without an MLA cache); docs/vram-comparison.md shows those cases' figures. A case gpuctl misses by more
    than OVER_GIB may get the verdict wrong with it (gtd-gpt-oss-120b: a row that does not add up); only those, and
    each says why in its notes (the next test)."""
    err = corpus.error(case)
    if err.prediction.fits is not case.fits:
        assert abs(err.gib) > OVER_GIB and len(case.notes) >= 80, (err.gib, case.id)
    assert len([c for c in CASES if c.in_scope and corpus.run(c).fits is not c.fits]) <= 1


def test_no_change_after_the_last_freeze_reaches_its_cases() -> None:
    """The fifth model change (the MXFP4 MoE kernel) reaches MXFP4 checkpoints only: the cases collected after the
    fourth freeze stay a clean test only while none of them is one."""
    late = [c for c in CASES if c.after_last_change]
    assert late
    assert all(corpus.arch(c.model).quantization != "mxfp4" for c in late), [c.id for c in late]


def test_every_case_off_by_more_than_a_gib_says_why() -> None:
    unexplained = [e.case.id for e in map(corpus.error, CASES) if abs(e.gib) > OVER_GIB and len(e.case.notes) < 80]
    assert unexplained == []


def test_releases_gpuctl_does_not_render_for_are_flagged() -> None:
    old = [c for c in CASES if c.engine == "vllm" and not c.in_scope]
    assert old
    for case in old:
        assert any("older than the oldest release gpuctl renders for" in n for n in corpus.run(case).notes), case.id
    assert not any("older than the oldest" in n for n in corpus.run(CASES[0]).notes)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_logged_figures_are_the_quoted_lines(case: Case, tmp_path: Path) -> None:
    """What `gpuctl vram --calibrate` reads from the quoted lines is what the case records (no transcription slip)."""
    log = tmp_path / "start-up.log"
    log.write_text(case.log)
    try:
        parsed = read_log(log)
    except SpecError:  # no KV line the calibration reader knows (a table row, GPU blocks without a block size)
        parsed = {}
    for key, value in parsed.items():
        if key in case.logged:
            assert case.logged[key] == pytest.approx(value, abs=0.006), key


def test_the_calibration_reader_understands_most_quoted_logs(tmp_path: Path) -> None:
    """vLLM 0.2-0.11 and TensorRT-LLM wordings: the reader finds KV figures in most cases' quoted lines."""
    readable = 0
    for case in CASES:
        log = tmp_path / f"{case.id}.log"
        log.write_text(case.log)
        try:
            read_log(log)
        except SpecError:
            continue
        readable += 1
    assert readable >= 18, readable  # the other 7: table rows, blocks without a block size, a paraphrase

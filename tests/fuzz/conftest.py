"""Fuzz suite: known open issues, the long profile's gate, and the summary printed at the end of the session.

Profiles: every fuzz test runs once with its default number of examples (about a minute for the whole suite on
two cores) and once, marked `fuzz_long`, with ten times as many. `addopts` deselects `fuzz_long`; because a
later `-m` on the command line replaces that, the long runs are also skipped here unless the marker expression
names `fuzz_long` (`pytest -m fuzz_long tests/fuzz`) or GPUCTL_FUZZ_LONG=1.

KNOWN_OPEN: issues the fuzzers found in code this suite does not own, each with a minimal reproducer. A run that
meets one is counted and reported below the test results; any other issue fails its test. Delete an entry once
it is fixed (the summary says which entries no run met).
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.fuzz.harness import KNOWN_HITS, NEW_ISSUES, STATS

# id: a stable name; match: a regex searched in the issue's signature "kind command detail" (harness.Issue; the
# detail starts with harness.diagnose's tags such as "[BOM] "); input (optional): a regex searched in the
# generated input's description, for causes that show as many different messages; file: where the cause lies;
# reproducer: the smallest input known to show it.
KNOWN_OPEN: list[dict[str, str]] = []


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = "fuzz_long" in (config.getoption("markexpr", "") or "") and "not fuzz_long" not in (
        config.getoption("markexpr", "") or ""
    )
    if wanted or os.environ.get("GPUCTL_FUZZ_LONG", "").strip() in ("1", "true", "yes"):
        return
    skip = pytest.mark.skip(reason="long fuzz profile: run with -m fuzz_long or GPUCTL_FUZZ_LONG=1")
    for item in items:
        if item.get_closest_marker("fuzz_long") is not None:
            item.add_marker(skip)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not STATS:
        return
    tr = terminalreporter
    tr.section("fuzz")
    codes = sorted({c for counter in STATS.values() for c in counter})
    for command in sorted(STATS):
        counter = STATS[command]
        by_code = ", ".join(f"{'hang' if c < 0 else f'exit{c}'} {counter[c]}" for c in codes if counter[c])
        tr.write_line(f"fuzz: {command} {sum(counter.values())} inputs: {by_code}")
    try:
        from tests.unit.test_properties import SHARE
    except ImportError:  # pragma: no cover - the unit tests are not part of this run
        SHARE = {}
    if SHARE.get("generated"):
        tr.write_line(
            f"fuzz: generated sites reaching the rule engine {SHARE['reached_rules']}/{SHARE['generated']} "
            f"({SHARE['reached_rules'] / SHARE['generated']:.0%})"
        )
    for entry in KNOWN_OPEN:
        hit = KNOWN_HITS.get(entry["id"])
        if hit:
            tr.write_line(f"fuzz: known open {entry['id']} met {hit[0]}x ({entry['file']}): {entry['reproducer']}")
        else:
            tr.write_line(f"fuzz: known open {entry['id']} not met in this run (fixed? then delete the entry)")
    for signature, reproducer in NEW_ISSUES.items():
        tr.write_line(f"fuzz: NEW {signature[:300]}  <- {reproducer[:300]}")

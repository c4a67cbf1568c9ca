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
KNOWN_OPEN: list[dict[str, str]] = [
    {
        "id": "path-escape-echoed",
        "match": r"^control-char (validate|plan|tco) stderr",
        "input": r"escape sequence in its name",
        "file": "modules/gpuctl/errors.py (Problem.render prints the file name raw)",
        "reproducer": "mkdir -p $'d/e\\e[2Jx' && printf 'name: x\\nracks: []\\n' > $'d/e\\e[2Jx/site.yaml' && "
        "gpuctl validate d  # the ESC sequence in the directory name reaches the terminal (clears it)",
    },
    {
        "id": "loader-core-tag-error-without-line",
        "match": r"^no-location (validate|plan) (\[[^\]]+\] )*FILE: malformed YAML: Invalid (tag|value)",
        "file": "modules/gpuctl/loader/site.py (_yaml_syntax_error: yaml-rs's tag errors have no 'line N, column N')",
        "reproducer": "printf 'name: !!bool maybe\\nracks: []\\n' > s.yaml && gpuctl validate s.yaml  "
        "# s.yaml: malformed YAML: Invalid value 'maybe' for '!!bool' tag (no line); also 'name: !!map x'",
    },
    {
        "id": "loader-parsers-disagree",
        "match": r"^(no-location|native-stderr) (validate|plan) (\[[^\]]+\] )*\[rapidyaml cannot parse\]",
        "file": "modules/gpuctl/loader/locate.py (yaml-rs accepts what rapidyaml rejects: no position for any error)",
        "reproducer": 'printf \'{"name": |\\n  literal\\n  block, "racks": []}\\n\' > s.yaml && '
        "gpuctl validate s.yaml  # yaml-rs reads name as '| literal block'; both errors come without a line",
    },
    {
        "id": "loader-cr-line-ends-without-line",
        "match": r"^(no-location|native-stderr) (validate|plan) (\[BOM\] )?\[CR line end\]",
        "file": "modules/gpuctl/loader/locate.py (positions count LF only: a file with CR line ends gets none)",
        "reproducer": "printf 'name: x\\rracks: []\\r' > s.yaml && gpuctl validate s.yaml  "
        "# s.yaml: racks: List should have at least 1 item ... (no line)",
    },
    {
        "id": "loader-control-chars-in-messages",
        "match": r"^control-char (validate|plan) stderr|^no-location (validate|plan) (?!\[|FILE)",
        "file": "modules/gpuctl/loader/locate.py (pretty paths use names raw) and loader/site.py (unknown key raw)",
        "reproducer": "printf 'name: x\\nracks: [{name: \"a\\\\nb\"}]\\n' > s.yaml && gpuctl validate s.yaml  "
        '# racks[a<newline>b].name: one message on two lines; "a\\\\u0000b" gives a raw NUL, a key "n\\\\x85" '
        "a raw NEL in unknown key 'n…'",
    },
    {
        "id": "hf-config-missing-key-without-line",
        "match": r"^no-location vram (\[[^\]]+\] )*FILE: ",
        "file": "modules/gpuctl/vram/hf.py (missing keys: no line of the object that lacks them)",
        "reproducer": "echo '{}' > config.json && gpuctl vram -m config.json -g l40s  "
        "# config.json: config.json lacks num_hidden_layers, ... (no line); also text_config: {} and a missing "
        "qk_nope_head_dim next to kv_lora_rank",
    },
    {
        "id": "vram-option-echoed-raw",
        "match": r"^control-char vram stderr",
        "file": "modules/gpuctl/cli/vram_cmd.py (resolve_model/resolve_gpu print the name raw)",
        "reproducer": "gpuctl vram -m llama-3.1-8b -g $'h100\\e[2J'  # unknown GPU '...' clears the terminal",
    },
    {
        "id": "tco-toml-table-without-line",
        "match": r"^no-location tco (\[[^\]]+\] )*FILE: ",
        "input": r"tco\.toml",
        "file": "modules/gpuctl/cli/tco_cmd.py (TOML positions: a key written as a [table] header has none)",
        "reproducer": "printf '[months]\\n' > s.toml && gpuctl tco --scenario s.toml  "
        "# s.toml: months: Input should be a valid integer (no line; 'months = {}' has one)",
    },
    {
        "id": "tco-yaml-duplicate-key-without-line",
        "match": r"^no-location tco (\[[^\]]+\] )*FILE: malformed YAML: duplicate mapping key",
        "file": "modules/gpuctl/cli/tco_cmd.py (read_scenario: yaml-rs's duplicate-key error has no position)",
        "reproducer": "printf 'utilization: 0.5\\nutilization: 0.6\\n' > s.yaml && gpuctl tco --scenario s.yaml",
    },
    {
        "id": "tco-missing-server-price-without-file",
        "match": r"^no-location tco server_price_usd has no price",
        "file": "modules/gpuctl/tco/site.py (scenario_for_site: the message names neither scenario file nor line)",
        "reproducer": "printf 'server_price_usd: {r760xa-4xl40s-fra1: 1, sm-1u-4xl4-fra1: 1}\\n' > s.yaml && "
        "gpuctl tco inventories/fra1/site.yaml --scenario s.yaml  # 'server_price_usd has no price for dgx-h100'",
    },
]


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

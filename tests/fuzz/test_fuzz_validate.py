"""Fuzz `gpuctl validate` (and `gpuctl plan`) with damaged example sites and generated ones.

Location contract: every input here is a file that exists and is read, so whatever makes the run exit 2 lies
inside that file — YAML damage (truncation, tabs, bad bytes, tags, complex keys, duplicate keys), values of the
wrong type or out of range, dropped keys, duplicate items, dangling references — and every stderr line must start
with `FILE:LINE`. Exempt (see harness.LOCATION_EXEMPT): the parser's alias-expansion limit, which rejects the
document as a whole.

Sites that load are planned too (`plan -f json`). And, as a metamorphic check on the example sites, spellings of
the same document (a BOM, CRLF or CR line ends, comments, document markers, block/flow YAML, JSON) give the same
exit code and the same findings.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.harness import (
    SCALES,
    Issue,
    Located,
    Outcome,
    check,
    diagnose,
    fuzz_settings,
    issues,
    record,
    run_cli,
)
from tests.fuzz.strategies import SITES, Doc, dump, mutate_tree, mutated_site
from tests.unit.test_properties import site as generated_site

FORMATS = ["json", "json", "json", "sarif", "console", "github", "junit"]
JSON_FORMATS = ("json", "sarif")


@pytest.mark.parametrize("scale", SCALES)
def test_validate_mutated_example_sites(scale: int, tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"

    @fuzz_settings(900 * scale)
    @given(mutated_site(), st.sampled_from(FORMATS))
    def run(case: tuple[bytes, str], fmt: str) -> None:
        data, desc = case
        path.write_bytes(data)
        o = run_cli("validate", ["validate", str(path), "-f", fmt])
        check(o, f"validate -f {fmt}: {desc}", json_format=fmt in JSON_FORMATS, located=Located(str(path)))
        if o.code in (0, 1):  # the site loaded: plan it too
            o = run_cli("plan", ["plan", str(path), "-f", "json"])
            check(o, f"plan -f json: {desc}", json_format=True, json_codes=(0,), located=Located(str(path)))

    run()


@st.composite
def generated_then_mutated(draw: st.DrawFn) -> tuple[bytes, str]:
    data: dict[str, Any] = draw(generated_site())
    n = draw(st.integers(0, 2))
    if n == 0:
        return json.dumps(data, indent=1).encode(), "a generated site: " + json.dumps(data)[:1500]
    doc = Doc(copy.deepcopy(data), {}, [])
    for _ in range(n):
        doc = draw(mutate_tree(doc))
    text = dump(doc, block=draw(st.booleans()))
    return text.encode(), f"a generated site, {'; '.join(doc.steps)}: " + json.dumps(data)[:1500]


@pytest.mark.parametrize("scale", SCALES)
def test_validate_and_plan_generated_sites(scale: int, tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"

    @fuzz_settings(150 * scale)
    @given(generated_then_mutated(), st.sampled_from(FORMATS), st.booleans())
    def run(case: tuple[bytes, str], fmt: str, plan: bool) -> None:
        data, desc = case
        path.write_bytes(data)
        o = run_cli("validate", ["validate", str(path), "-f", fmt])
        check(o, f"validate -f {fmt}: {desc}", json_format=fmt in JSON_FORMATS, located=Located(str(path)))
        if plan:
            o = run_cli("plan", ["plan", str(path), "-f", "json"])
            check(o, f"plan -f json: {desc}", json_format=True, json_codes=(0,), located=Located(str(path)))

    run()


def _block(text: str) -> str:
    return str(yaml.dump(yaml.safe_load(text), Dumper=yaml.CSafeDumper, sort_keys=False, allow_unicode=True))


def _flow(text: str) -> str:
    return str(yaml.dump(yaml.safe_load(text), Dumper=yaml.CSafeDumper, default_flow_style=True, width=80))


# Spellings of the same document: a BOM (YAML 1.2 §5.2 allows one at the start), CRLF or CR line ends, comments,
# explicit document markers, and the same tree re-emitted as block YAML, flow YAML and JSON.
EQUIVALENT = {
    "a byte-order mark": lambda t: "\ufeff" + t,
    "CRLF line ends": lambda t: t.replace("\n", "\r\n"),
    "CR line ends": lambda t: t.replace("\n", "\r"),
    "comment lines": lambda t: "# leading comment\n\n" + t + "\n# trailing comment\n",
    "document markers": lambda t: "---\n" + t + "\n...\n",
    "block YAML": _block,
    "flow YAML": _flow,
    "JSON": lambda t: json.dumps(yaml.safe_load(t), indent=2),
}


def _findings(o: Outcome) -> tuple[int, list[tuple[str, str, str]]]:
    if o.code not in (0, 1):
        return o.code, []
    sites = json.loads(o.stdout)["sites"]
    return o.code, sorted((f["rule"], f["target"], f["severity"]) for s in sites for f in s["findings"])


@pytest.mark.parametrize("site", sorted(SITES))
def test_validate_equivalent_spellings_agree(site: str, tmp_path: Path) -> None:
    """Metamorphic: re-spelling a site without changing its meaning changes neither the exit code nor the
    findings (rule, target, severity); lines may move."""
    text = SITES[site].read_text(encoding="utf-8")
    want = _findings(run_cli("validate", ["validate", str(SITES[site]), "-f", "json"]))
    for name, spell in EQUIVALENT.items():
        path = tmp_path / f"{name.replace(' ', '-')}.yaml"
        path.write_bytes(spell(text).encode("utf-8"))
        o = run_cli("validate", ["validate", str(path), "-f", "json"])
        found = issues(o, json_format=True, located=Located(str(path)))
        got = _findings(o)
        if got != want:
            lost = sorted(set(want[1]) - set(got[1]))[:3]
            extra = sorted(set(got[1]) - set(want[1]))[:3]
            detail = f"{name}: exit {got[0]} (want {want[0]}); missing {lost}; extra {extra}; {o.stderr[:200]!r}"
            found.append(Issue("not-equivalent", "validate", diagnose(str(path)) + detail))
        record(o, found, f"inventories/{site}/site.yaml spelled with {name}")

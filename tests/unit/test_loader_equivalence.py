"""The fast way (rapidyaml -> JSON -> pydantic) gives exactly what the reference way (yaml-rs -> pydantic) gives.

The loader takes the fast way only where it can show the two agree, and falls back to yaml-rs everywhere else.
These tests pin that: the same `Site` from both ways on the example sites and a generated one; the same typed
data (1 is not 1.0 is not True is not "1") on tricky scalars of the YAML 1.2 core schema, on thousands of
random number-like scalars and on documents with block scalars, escapes and flow collections; and no duplicate
key, alias, merge key or tag slipping through the fast way.
"""

from __future__ import annotations

import importlib.util
import json
import math
import random
from pathlib import Path
from typing import Any

import pytest
import yaml_rs

from gpuctl.errors import SpecError
from gpuctl.loader import Locator, load_site, load_site_text
from gpuctl.loader import site as loader
from tests.conftest import ROOT

REFUSED = "<the fast way refuses>"
INVALID = "<rapidyaml wrote invalid JSON: pydantic refuses it, the reference way reads the file>"
ERROR = "<yaml-rs refuses>"


def fast_data(text: str) -> Any:
    """What the fast way would hand to pydantic, or why it hands nothing."""
    locator = Locator(text)
    if not locator.parse() or len(locator.documents()) != 1 or any(True for _ in locator.tags()):
        return REFUSED
    data_json = loader._fast_json(text, locator)
    if data_json is None:
        return REFUSED
    try:
        return json.loads(data_json)
    except ValueError:
        return INVALID


def reference_data(text: str) -> Any:
    try:
        return yaml_rs.loads(text, parse_datetime=False)
    except (yaml_rs.YAMLDecodeError, TypeError):
        return ERROR


def same(a: Any, b: Any) -> bool:
    """Equal values of equal types, all the way down (1, 1.0 and True differ; NaN equals NaN)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


def agree(text: str) -> str:
    """'fast' when the fast way reads text as yaml-rs does, else why it stepped aside; fails on disagreement."""
    fast = fast_data(text)
    if isinstance(fast, str) and fast in (REFUSED, INVALID):
        return "refused" if fast is REFUSED else "invalid"
    ref = reference_data(text)
    assert not (isinstance(ref, str) and ref == ERROR), f"fast way reads what yaml-rs refuses: {text!r}"
    assert same(fast, ref), f"{text!r}: fast {fast!r} != yaml-rs {ref!r}"
    return "fast"


@pytest.fixture
def fast_for_all_sizes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Small files normally take the reference way only; these tests hold the fast way to the same answers."""
    monkeypatch.setattr(loader, "FAST_MIN_BYTES", 0)


# ----- whole sites -----
def _reference_site(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    locator = Locator(text)
    return loader._validate_python(loader._parse_reference(text, str(path), locator), str(path), locator)


@pytest.mark.parametrize("name", ["fra1", "ams2", "lab"])
@pytest.mark.usefixtures("fast_for_all_sizes")
def test_example_sites_take_the_fast_way_and_match_the_reference(name: str) -> None:
    path = ROOT / "inventories" / name / "site.yaml"
    loaded = load_site(path)
    assert loaded.parser == "rapidyaml-json"
    assert loaded.site.model_dump() == _reference_site(path).model_dump()


@pytest.mark.usefixtures("fast_for_all_sizes")
def test_generated_site_takes_the_fast_way_and_matches_the_reference(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("gen_site", ROOT / "benchmarks" / "gen_site.py")
    assert spec is not None and spec.loader is not None
    gen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gen)
    path = tmp_path / "site.yaml"
    path.write_text(gen.generate(3))
    loaded = load_site(path)
    assert loaded.parser == "rapidyaml-json"
    assert loaded.site.model_dump() == _reference_site(path).model_dump()


# ----- scalars -----
TRICKY = [
    # YAML 1.2 core schema ints and floats, and what yaml-rs adds (underscores)
    *("0", "1", "-1", "+12", "-0", "00", "017", "0x1F", "0x1f", "0X1F", "-0x1F", "0o17", "0O17", "0b101", "1_000"),
    *("12345678901234567890123", "1.5", "-1.5", ".5", "5.", "+.5", "1e3", "1E3", "1.0e+3", "2.5e-3", "0e0", "1e400"),
    *(".inf", "-.inf", "+.inf", ".Inf", ".INF", ".iNf", ".nan", ".NaN", ".NAN", "inf", "-inf", "nan", "Infinity"),
    # bools and nulls, and their look-alikes that are strings in 1.2
    *("true", "True", "TRUE", "false", "False", "FALSE", "yes", "no", "on", "off", "y", "n"),
    *("null", "Null", "NULL", "~", "", "None", "nil"),
    # quoted look-alikes stay strings
    *('"12"', "'12'", '"0x1F"', "'1_000'", '"true"', "'True'", '"null"', "'~'", '".inf"', "''", '""'),
    # strings that look like other things
    *("2001-12-14", "2001-12-14T21:59:43.10-05:00", "12:30:00", "10.0.0.1", "1.2.3", "802.3ad", "1+1", "v1.2"),
    *("550.127.05-0ubuntu1", "0.0.0.0/0", "fe80::1", "a b", "x:y", "a#b", "-x", "?x", "*x", "&x", "%x", "@x"),
    # escapes and quoting
    *(r'"\x41\u00e9\t"', r'"\L\P\N\_"', r'"\U0001F600"', r'"a\"b"', r'"back\\slash"', "'it''s'", r'"\/"'),
    *(r'"\0"', r'"\e"', r'"\a"', "é", "日本語", "'tab\there'"),
]


@pytest.mark.parametrize("scalar", TRICKY)
def test_tricky_scalars_read_the_same_both_ways(scalar: str) -> None:
    agree(f"v: {scalar}\n")
    agree(f"l: [{scalar}]\n" if scalar else "l: []\n")
    agree(f"- {scalar}\n")
    if scalar and not scalar.startswith(("*", "&", "%", "@", "?", "-x")):
        agree(f"{scalar}: v\n")


def test_fast_way_takes_ordinary_scalars() -> None:
    """The refusals are for what could differ, not for everything: ordinary specs stay on the fast way."""
    for scalar in ("1", "1.5", "true", "null", "", '"12"', "10.0.0.1", "rack-a", "802.3ad", "'1+1'", r'"\x41"'):
        assert agree(f"v: {scalar}\n") == "fast", scalar


def test_random_number_like_scalars_read_the_same_both_ways() -> None:
    """Seeded, so a failure reproduces: strings over the characters numbers, bools and nulls are made of."""
    rng = random.Random(20240601)
    alphabet = "0123456789+-._eExXoObBinfatrulsNIFATRUELS~"
    outcomes: dict[str, int] = {}
    for _ in range(3000):
        s = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 7)))
        for text in (f"v: {s}\n", f"{s}: v\n"):
            if reference_data(text) is ERROR:
                continue
            outcome = agree(text)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    # The generator must reach the comparison: most of these documents go the fast way and are compared.
    assert outcomes.get("fast", 0) >= 0.5 * sum(outcomes.values()), outcomes


DOCUMENTS = [
    "a: |\n  line1\n  line2\nb: 1\n",
    "a: |-\n  line1\n\nb: 1\n",
    "a: |+\n  keep\n\n\nb: 1\n",
    "a: >\n  folded\n  text\n\n  para\nb: 1\n",
    "a: >-\n  folded\n   more indented\n  text\n",
    "a: |2\n    two extra\n  base\n",
    "a: plain\n  continued\n  lines\nb: 1\n",
    'a: "dq\n  folded \\\n  cont"\nb: 1\n',
    "a: 'sq\n\n  para'\nb: 1\n",
    "a: x\r\nb: [1, 2]\r\nc:\r\n  - {d: e}\r\n",
    "a: [1, 2, {b: c}, [], {}]\n",
    "a: {b: [], c: {}, d: null}\n",
    "'quoted key': 1\n\"dq key\": 2\n",
    "a: b # comment\n# whole line\nc: 'd' # c2\n",
    "%YAML 1.2\n---\na: 1\n...\n",
    "--- \na: 1\n",
    "a: [a, b,]\n",
    "a:\n- 1\n- 2\n",
    "a:\nb: ~\nc: null\n",
]


@pytest.mark.parametrize("text", DOCUMENTS)
def test_documents_read_the_same_both_ways(text: str) -> None:
    agree(text)


# ----- what must never pass the fast way -----
SITE = (
    "name: s\nracks:\n  - name: r\n    static_weight_rating_kg: 1000\n    cooling: {type: air_open}\n"
    "    power: {a: {circuits: [{voltage_v: 230, amps: 16, phases: 1}]}}\n"
)


@pytest.mark.usefixtures("fast_for_all_sizes")
@pytest.mark.parametrize(
    ("text", "line"),
    [
        (SITE.replace("    cooling: {type: air_open}", "    cooling: {type: air_open, type: dlc}"), 5),
        (SITE + "    static_weight_rating_kg: 2000\n", 7),
        (SITE + "settings:\n  vram_kv_correction_gib: {l40s: 1.0, l40s: 2.0}\n", 8),
    ],
)
def test_a_duplicate_key_is_an_error_not_the_last_value(text: str, line: int) -> None:
    with pytest.raises(SpecError) as err:
        load_site_text(text, "f.yaml")
    assert "appears twice" in err.value.problems[0].message
    assert err.value.problems[0].line == line


@pytest.mark.usefixtures("fast_for_all_sizes")
def test_aliases_tags_and_odd_scalars_take_the_reference_way() -> None:
    aliased = SITE.replace("{type: air_open}", "&c {type: air_open}") + "  - name: q\n    cooling: *c\n"
    aliased += "    static_weight_rating_kg: 1000\n"
    aliased += "    power: {a: {circuits: [{voltage_v: 230, amps: 16, phases: 1}]}}\n"
    loaded = load_site_text(aliased)
    assert loaded.parser == "yaml-rs"
    assert loaded.site.racks[1].cooling.type == "air_open"

    tagged = load_site_text(SITE.replace("static_weight_rating_kg: 1000", 'static_weight_rating_kg: !!int "1000"'))
    assert tagged.parser == "yaml-rs"
    assert tagged.site.racks[0].static_weight_rating_kg == 1000

    for market, expect in [("~", None), ("Null", None), ('"~"', "~"), ("!!str 12", "12"), ("2001-12-14", "2001-12-14")]:
        loaded = load_site_text(SITE + f"market: {market}\n")
        assert loaded.site.market == expect, market

    with pytest.raises(SpecError) as err:
        load_site_text(SITE + "market: True\n")  # a bool, not the string "True"
    assert "valid string" in err.value.problems[0].message

    plain = load_site_text(SITE + "market: fra\n")
    assert plain.parser == "rapidyaml-json"


def test_small_files_take_the_reference_way_only() -> None:
    assert load_site(ROOT / "inventories" / "fra1" / "site.yaml").parser == "yaml-rs"


SOUP = [
    *("a", "b: ", "c:", "- ", "  ", "    ", "\n", "\n  ", "\n- ", "[", "]", "{", "}", ", ", ",", ": ", ":", " #c"),
    *("#c", "'q'", '"d"', '"e\\"f"', "|", "|-", ">", "&x ", "*x", "? ", "1", "-1", "0x1", "~", "null", "true"),
    *("%", "@", "`", "!!str ", "---", "...", "\r\n", " ", "x y", "'", '"', "1.5", "-", "?", "k: v", "\n  k: v"),
    *("\n- k: v", "é", "\\"),
]


def test_random_token_soups_read_the_same_both_ways() -> None:
    """Seeded: documents glued from YAML's indicators, scalars and line breaks, most of them malformed. Where
    the fast way reads one at all, yaml-rs must read the same (a duplicate key is the model's check, not this)."""
    rng = random.Random(7)
    compared = 0
    for _ in range(6000):
        text = "".join(rng.choice(SOUP) for _ in range(rng.randint(2, 14))) + "\n"
        try:
            yaml_rs.loads(text, parse_datetime=False)
        except (yaml_rs.YAMLDecodeError, TypeError) as exc:
            if "duplicate" in str(exc):
                continue
        if agree(text) == "fast":
            compared += 1
    assert compared >= 200, compared

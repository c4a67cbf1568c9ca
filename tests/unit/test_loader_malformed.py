"""The site file is a trust boundary: every malformed input is a located SpecError (or InputFileError), exit 2.

Each case names the exact line and column (columns count characters: a tab or a multi-byte UTF-8 character is
one column) and a fragment of the message. No other exception type may escape, and no problem may carry a line
or column below 1.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from gpuctl.errors import GpuctlError, SpecError
from gpuctl.fsutil import InputFileError
from gpuctl.loader import load_site, load_site_text
from tests.conftest import ROOT

RACK = (
    "  - {name: r, static_weight_rating_kg: 1000, cooling: {type: air_open},"
    " power: {a: {circuits: [{voltage_v: 230, amps: 16, phases: 1}]}}}\n"
)
BOMB = (
    "name: s\nracks: []\n"
    + "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
    + "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 7))
)

# (case id, text, line, column, fragment of the first problem's message)
CASES: list[tuple[str, str, int, int, str]] = [
    ("key-without-value", "name:\nracks:\n" + RACK, 1, 1, "Input should be a valid string (got None)"),
    ("complex-key", "name: s\n? [a, b]\n: c\nracks:\n" + RACK, 2, 3, "a mapping key must be a string"),
    ("flow-mapping-as-key", "name: s\nracks:\n" + RACK + "{a: 1}: x\n", 4, 1, "a mapping key must be a string"),
    ("integer-key", "name: s\n1: x\nracks:\n" + RACK, 2, 1, "key '1' is not a string (YAML reads it as int)"),
    ("null-key", "name: s\nracks:\n" + RACK + "null: x\n", 4, 1, "key 'null' is not a string (YAML reads it as null)"),
    ("tilde-key", "name: s\n~: x\nracks:\n" + RACK, 2, 1, "key '~' is not a string"),
    ("bool-key-in-flow-map", "name: s\nracks:\n  - {name: r, true: 1}\n", 3, 15, "key 'true' is not a string"),
    ("python-tag", "name: !!python/object:os.system s\nracks:\n" + RACK, 1, 7, "tag '!!python/object:os.system'"),
    ("local-tag", "name: s\nracks:\n" + RACK + "market: !foo bar\n", 4, 9, "tag '!foo' is not allowed"),
    ("tag-on-next-line", "name: s\nmarket:\n  !foo bar\nracks:\n" + RACK, 3, 3, "tag '!foo' is not allowed"),
    ("verbatim-tag", "name: s\nmarket: !<tag:x> y\nracks:\n" + RACK, 2, 9, "tag '!<tag:x>' is not allowed"),
    ("tag-directive", "%TAG !! tag:evil.example,2000:\n---\nname: !!str s\nracks:\n" + RACK, 1, 1, "%TAG directives"),
    ("empty-rack-flow", "name: s\nracks: [{}]\n", 2, 9, "missing required key 'name'"),
    ("empty-rack-block", "name: s\nracks:\n  - {}\n", 3, 5, "missing required key 'name'"),
    ("second-empty-rack", "name: s\nracks:\n" + RACK + "  - {}\n", 4, 5, "missing required key 'name'"),
    ("bom", "\ufeffname: s\nracks:\n  - {name: r, bogus: 1}\n", 3, 6, "missing required key"),
    ("nul", "name: s\nmarket: a\x00b\nracks: []\n", 2, 10, "U+0000 is not allowed"),
    ("escape-character", "name: s\nmarket: 'a\x1bb'\nracks: []\n", 2, 11, "U+001B is not allowed"),
    ("c1-control", "name: s\nmarket: 'é\x9b'\nracks: []\n", 2, 11, "U+009B is not allowed"),
    ("second-document", "name: s\nracks: []\n---\nname: t\n", 3, 1, "a second YAML document"),
    ("second-empty-document", "name: s\nracks: []\n---\n", 3, 1, "a second YAML document"),
    ("explicit-documents", "--- \nname: s\nracks: []\n--- \nx: 1\n", 4, 1, "a second YAML document"),
    ("duplicate-key", "name: s\nracks:\n  - name: r\n    name: q\n", 4, 5, "key 'name' appears twice"),
    ("unclosed-bracket", "name: s\nracks: [\n", 2, 8, "malformed YAML"),
    ("nested-too-deep", "name: s\nracks: " + "[" * 300 + "]" * 300 + "\n", 2, 263, "recursion limit"),
    ("tab-after-colon", "name: s\nmarket:\tx\nracks:\n" + RACK, 2, 9, "malformed YAML"),
    ("merge-key", "name: s\nracks:\n  - <<: {name: r}\n", 3, 5, "missing required key"),
    ("hex-name", "name: 0x1f\nracks:\n" + RACK, 1, 7, "Input should be a valid string (got 31)"),
    ("infinite-version", "version: .inf\nname: s\nracks:\n" + RACK, 1, 10, "Input should be 1 (got inf)"),
    ("core-tag-wrong-value", "name: !!bool maybe\nracks:\n" + RACK, 1, 7, "Invalid value 'maybe' for '!!bool' tag"),
    ("map-tag-on-scalar", "name: !!map x\nracks:\n" + RACK, 1, 7, "tag '!!map' on a scalar"),
    ("seq-tag-on-mapping", "a: !!seq {b: 1}\nname: s\nracks:\n" + RACK, 1, 4, "tag '!!seq' on a mapping"),
    ("block-scalar-in-flow", '{"name": |\n  literal\n  block, "racks": []}\n', 1, 10, "malformed YAML"),
    ("tab-after-colon-is-fine", "name: s\nracks:\n  - name: r\n    tare_weight_kg:\t 1\n    bogus: 1\n", 5, 5, "bogus"),
    ("lone-cr-line-ends", "name: s\rracks:\r  - {name: r, bogus: 1}\r", 3, 15, "unknown key 'bogus'"),
    ("not-a-mapping", "- a\n- b\n", 1, 1, "must be a mapping"),
    ("empty-file", "", 1, 1, "must be a mapping"),
]


def _write(tmp_path: Path, text: str | bytes) -> Path:
    f = tmp_path / "site.yaml"
    if isinstance(text, bytes):
        f.write_bytes(text)
    else:
        f.write_bytes(text.encode("utf-8"))
    return f


def _load_error(path: Path) -> GpuctlError:
    try:
        load_site(path)
    except GpuctlError as err:
        return err
    raise AssertionError(f"{path} loaded")


def _assert_sane(err: GpuctlError) -> None:
    assert err.exit_code == 2
    assert err.problems, "a spec error always says what is wrong"
    for p in err.problems:
        assert p.line is None or p.line >= 1, p
        assert p.column is None or p.column >= 1, p


@pytest.mark.parametrize(("text", "line", "column", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_input_is_a_located_spec_error(
    tmp_path: Path, text: str, line: int, column: int, fragment: str
) -> None:
    err = _load_error(_write(tmp_path, text))
    assert isinstance(err, SpecError), err
    _assert_sane(err)
    first = next((p for p in err.problems if fragment in p.message), None)
    assert first is not None, err.render()
    assert (first.line, first.column) == (line, column), err.render()
    assert first.file == str(tmp_path / "site.yaml")


def test_every_problem_of_an_empty_rack_is_at_the_item(tmp_path: Path) -> None:
    err = _load_error(_write(tmp_path, "name: s\nracks: [{}]\n"))
    missing = {p.message.split("'")[1] for p in err.problems}
    assert missing == {"name", "static_weight_rating_kg", "cooling", "power"}
    assert {(p.line, p.column, p.path) for p in err.problems} == {
        (2, 9, f"racks[0].{key}") for key in ("name", "static_weight_rating_kg", "cooling", "power")
    }


def test_problems_carry_a_hint(tmp_path: Path) -> None:
    for case, text, *_ in CASES:
        if case in ("infinite-version", "hex-name", "unclosed-bracket", "tab-after-colon"):
            continue  # pydantic's own message and yaml-rs's syntax errors say what is expected
        err = _load_error(_write(tmp_path, text))
        assert any(p.hint for p in err.problems), (case, err.render())


def test_alias_bomb_is_refused_without_eating_memory(tmp_path: Path) -> None:
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    err = _load_error(_write(tmp_path, BOMB))
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert isinstance(err, SpecError)
    _assert_sane(err)
    assert "alias replay limit" in err.render() and "alias bomb" in err.render()
    assert grown_mb < 200, f"peak RSS grew {grown_mb:.0f} MB"


def test_aliases_within_the_limit_are_read(tmp_path: Path) -> None:
    text = (
        "name: s\nracks:\n"
        + RACK.replace("{type: air_open}", "&c {type: air_open}")
        + (
            "  - {name: q, static_weight_rating_kg: 1000, cooling: *c,"
            " power: {a: {circuits: [{voltage_v: 230, amps: 16, phases: 1}]}}}\n"
        )
    )
    site = load_site(_write(tmp_path, text)).site
    assert site.racks[1].cooling == site.racks[0].cooling


def test_non_utf8_byte_is_reported_at_its_line(tmp_path: Path) -> None:
    err = _load_error(_write(tmp_path, b"name: s\nmarket: caf\xe9\nracks: []\n"))
    assert isinstance(err, InputFileError)
    _assert_sane(err)
    assert (err.problems[0].line, err.problems[0].column) == (2, 12)
    assert "not UTF-8" in err.problems[0].message


def test_bom_loads_like_the_file_without_it(tmp_path: Path) -> None:
    text = "name: s\nracks:\n" + RACK
    with_bom = load_site(_write(tmp_path, "\ufeff" + text))
    assert with_bom.site.model_dump() == load_site_text(text).site.model_dump()
    assert with_bom.locator.position(("racks", 0, "name")) == load_site_text(text).locator.position(
        ("racks", 0, "name")
    )


def _refused_quickly(fn: Callable[[], Any], seconds: float = 10.0) -> BaseException:
    """Run fn in a thread; a hang fails the test instead of hanging the suite."""
    outcome: list[BaseException | None] = []

    def target() -> None:
        try:
            fn()
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"no answer in {seconds} s"
    assert outcome and outcome[0] is not None, "loaded instead of refusing"
    return outcome[0]


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_devices_are_refused_quickly(device: str) -> None:
    if not Path(device).exists():
        pytest.skip(f"{device} is not on this machine")
    err = _refused_quickly(lambda: load_site(device))
    assert isinstance(err, InputFileError), err
    assert "not a regular file" in err.render()


def test_fifo_is_refused_quickly(tmp_path: Path) -> None:
    fifo = tmp_path / "site.yaml"
    os.mkfifo(fifo)
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    err = _refused_quickly(lambda: load_site(fifo))
    assert isinstance(err, InputFileError), err
    assert "FIFO" in err.render()


def test_missing_file_and_directory_keep_their_messages(tmp_path: Path) -> None:
    missing = _load_error(tmp_path / "nope.yaml")
    assert isinstance(missing, SpecError) and missing.problems[0].message == "no such file"
    directory = _load_error(tmp_path)
    assert isinstance(directory, SpecError) and directory.problems[0].message == "is a directory; name a site.yaml"


# ----- the CLI, as a user runs it -----
CLI_CASES = ["key-without-value", "complex-key", "python-tag", "empty-rack-flow", "null-key", "escape-character"]


def test_cli_exits_2_with_file_line_col_and_no_traceback(tmp_path: Path) -> None:
    by_id = {c[0]: c for c in CASES}
    files = []
    for case in CLI_CASES:
        _, text, line, column, _ = by_id[case]
        f = tmp_path / case / "site.yaml"
        f.parent.mkdir()
        f.write_bytes(text.encode("utf-8"))
        files.append((f, line, column))
    bad_utf8 = tmp_path / "latin1" / "site.yaml"
    bad_utf8.parent.mkdir()
    bad_utf8.write_bytes(b"name: s\nmarket: caf\xe9\nracks: []\n")
    files.append((bad_utf8, 2, 12))
    for f, line, column in files:
        out = subprocess.run(
            [sys.executable, "-c", "from gpuctl.cli.app import main; main()", "validate", str(f)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
            env={k: v for k, v in os.environ.items() if not k.startswith("GPUCTL_")},
        )
        assert out.returncode == 2, (f, out.stderr)
        lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
        assert lines and all(ln.startswith(f"{f}:") for ln in lines), out.stderr
        assert any(ln.startswith(f"{f}:{line}:{column}: ") for ln in lines), out.stderr
        assert "Traceback" not in out.stderr + out.stdout
        assert "internal error" not in out.stderr + out.stdout


def test_names_from_the_file_cannot_break_a_message_across_lines(tmp_path: Path) -> None:
    text = 'name: x\nracks: [{name: "a\\nb\\u202e", "n\\x85\\u0000": 1}]\n'
    err = _load_error(_write(tmp_path, text))
    rendered = err.render().splitlines()
    assert len(rendered) == len(err.problems)
    assert all(line.isprintable() for line in rendered), rendered
    assert any("racks[a\\nb\\u202e]" in line for line in rendered), rendered
    assert any("unknown key 'n\\x85\\x00'" in line for line in rendered), rendered

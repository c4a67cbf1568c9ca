"""Fuzz the CLI's path options and arguments: output paths that cannot be written, input paths that are not files.

Every path lives under the test's temporary directory (the suite may run as root: never point a writer at a
system path). No file location is expected here: the path itself is the problem, and the contract is the general
one (exit 0, 1 or 2; no traceback; JSON that parses).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fuzz.harness import ROOT, check, run_cli

FRA1 = str(ROOT / "inventories" / "fra1" / "site.yaml")
AMS2 = str(ROOT / "inventories" / "ams2" / "site.yaml")


def _layout(tmp: Path) -> dict[str, str]:
    """Named awkward paths, made once per test."""
    (tmp / "dir").mkdir(exist_ok=True)
    (tmp / "file").write_text("not a directory\n")
    (tmp / "empty.yaml").write_text("")
    (tmp / "binary.yaml").write_bytes(bytes(range(256)))
    hostile = tmp / "e\x1b[2Jx"  # a directory name with an escape sequence (clear screen), a bad site inside
    hostile.mkdir(exist_ok=True)
    (hostile / "site.yaml").write_text("name: x\nracks: []\n")
    for name, target in (("loop", "loop"), ("dangling", "no/such/dir/out"), ("to-dir", "dir")):
        link = tmp / name
        if not link.is_symlink():
            link.symlink_to(target)
    return {
        "directory": str(tmp / "dir"),
        "under a regular file": str(tmp / "file" / "out.json"),
        "too long": str(tmp / ("x" * 5000)),
        "component too long": str(tmp / ("y" * 300) / "out.json"),
        "name too long": str(tmp / ("z" * 300)),
        "missing directories": str(tmp / "missing" / "a" / "b" / "out.json"),
        "NUL byte": str(tmp / "a\x00b"),
        "empty": "",
        "symlink loop": str(tmp / "loop"),
        "dangling symlink": str(tmp / "dangling"),
        "symlink to a directory": str(tmp / "to-dir"),
        "empty file": str(tmp / "empty.yaml"),
        "binary file": str(tmp / "binary.yaml"),
        "trailing slash": str(tmp / "newdir") + "/",
        "plain": str(tmp / "out" / "report.json"),
        "a directory with an escape sequence in its name": str(hostile),
    }


def commands(p: str) -> dict[str, list[str]]:
    """Each command with `p` in one path position."""
    return {
        "validate -o": ["validate", AMS2, "-f", "json", "-o", p],
        "validate PATH": ["validate", p, "-f", "json"],
        "plan PATH": ["plan", p, "-f", "json"],
        "tco --scenario": ["tco", "--scenario", p, "-f", "json"],
        "tco SITE": ["tco", p, "-f", "json"],
        "vram -m": ["vram", "-m", p, "-g", "l40s", "-f", "json"],
        "vram --calibrate": ["vram", "-m", "llama-3.1-8b", "-g", "l40s", "--calibrate", p, "-f", "json"],
    }


def test_path_options(tmp_path: Path) -> None:
    """Every (command, path) pair once: the set is small and fixed, so it is enumerated rather than sampled."""
    paths = _layout(tmp_path)
    for command in sorted(commands("")):
        for name, path in sorted(paths.items()):
            argv = commands(path)[command]
            out = path if command == "validate -o" and "\x00" not in path else None
            o = run_cli(argv[0], argv, output_file=out)
            codes = (0,) if command.startswith("plan") else (0, 1)  # plan reports failures on stderr only
            check(o, f"gpuctl {command} with a path that is {name}: {path[:120]!r}", json_format=True, json_codes=codes)


def _fifo_inputs(tmp: Path) -> dict[str, Callable[[str], list[str]]]:
    return {
        "validate": lambda p: ["validate", p],
        "plan": lambda p: ["plan", p],
        "tco": lambda p: ["tco", "--scenario", p, "-f", "json"],
        "vram": lambda p: ["vram", "-m", p, "-g", "l40s"],
    }


@pytest.mark.parametrize("command", ["validate", "plan", "tco", "vram"])
def test_a_fifo_as_input_does_not_hang(command: str, tmp_path: Path) -> None:
    """A FIFO without a writer (a process substitution gone wrong) must be refused, not block forever."""
    fifo = tmp_path / ("config.json" if command == "vram" else "site.yaml")
    os.mkfifo(fifo)
    argv = _fifo_inputs(tmp_path)[command](str(fifo))
    o = run_cli(argv[0], argv, timeout=3)
    check(o, f"gpuctl {' '.join(argv)} where the path is a FIFO without a writer (mkfifo)")

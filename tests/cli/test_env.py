"""GPUCTL_* variables: each declared once in gpuctl/cli/env.py and named in the --help of the commands it changes."""

from __future__ import annotations

import re

import pytest

from gpuctl.cli import env
from gpuctl.cli.app import COMMANDS, main
from tests.conftest import ROOT

NAME = re.compile(r"GPUCTL_[A-Z0-9_]+")
# What gpuctl runs in production: the package, the Pulumi program and policy pack, the playbooks and templates.
PRODUCTION = ("modules", "stacks", "policy", "playbooks", "templates")
ENV_PY = ROOT / "modules" / "gpuctl" / "cli" / "env.py"


def production_names() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for top in PRODUCTION:
        for path in sorted((ROOT / top).rglob("*")):
            if not path.is_file() or path == ENV_PY or "__pycache__" in path.parts:
                continue
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue
            for name in NAME.findall(text):
                found.setdefault(name, []).append(str(path.relative_to(ROOT)))
    return found


def declared(name: str) -> bool:
    """A full name, or a prefix ending in "_" (`GPUCTL_LAB_*` in a docstring) that declared names start with."""
    if name.endswith("_"):
        return any(v.startswith(name) for v in env.VARIABLES)
    return name in env.VARIABLES


def test_every_variable_production_code_names_is_declared_in_env_py() -> None:
    found = production_names()
    assert "GPUCTL_DEBUG" in found  # the search reaches the package
    undeclared = {name: files for name, files in found.items() if not declared(name)}
    assert not undeclared, f"declare these in modules/gpuctl/cli/env.py: {undeclared}"


def test_declarations_name_real_commands() -> None:
    for var in env.VARIABLES.values():
        assert NAME.fullmatch(var.name)
        assert var.commands, var.name
        assert set(var.commands) <= set(COMMANDS) | {env.EVERY}, var
        assert var.help and not var.help.endswith("."), var  # the epilog joins them with "; " and ends with "."


def test_an_undeclared_variable_cannot_be_read() -> None:
    with pytest.raises(KeyError, match="GPUCTL_NOPE is not declared"):
        env.get("GPUCTL_NOPE")


@pytest.mark.parametrize("command", [*COMMANDS, "lab up"])
def test_help_names_the_variables_of_the_command(
    command: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "400")  # one line per paragraph: a name is never wrapped
    with pytest.raises(SystemExit) as done:
        main([*command.split(), "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    names = {v.name for v in env.for_command(command.split()[0])}
    assert names, command
    assert names <= set(NAME.findall(out)), (command, names - set(NAME.findall(out)))


def test_readme_lists_every_variable() -> None:
    readme = (ROOT / "README.md").read_text()
    line = next(p for p in readme.split("\n\n") if p.startswith("Environment variables:"))
    assert set(NAME.findall(line)) == set(env.VARIABLES)


def test_flag_reads_on_values(monkeypatch: pytest.MonkeyPatch) -> None:
    for value, on in [("1", True), ("yes", True), (" On ", True), ("0", False), ("", False)]:
        monkeypatch.setenv(env.DEBUG, value)
        assert env.flag(env.DEBUG) is on

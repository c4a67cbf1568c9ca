"""`pip install gpuctl` runs what a pull request needs; each other command names the extra it lacks.

The core install is simulated in a child process: every module of an installed distribution outside the core
dependencies' closure is blocked (None in sys.modules), so an import of pulumi, ansible, matplotlib, kubernetes,
testinfra, numpy, jinja2 or jsonschema fails as it would after `pip install gpuctl`.
benchmarks/install_footprint.py does it for real, in fresh venvs.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from functools import cache
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from gpuctl.cli.app import COMMANDS
from gpuctl.cli.common import EXTRAS
from tests.conftest import EXAMPLE, ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
TOOLS = {"pip", "setuptools", "wheel"}  # what a fresh venv has before anything is installed

# Runs each argv through main() in one process with the modules in BLOCK unimportable; prints exit code and output.
CHILD = """
import contextlib, io, json, sys
block, runs = json.loads(sys.argv[1]), json.loads(sys.argv[2])
for name in block:
    sys.modules.setdefault(name, None)
from gpuctl.cli.app import main
results = []
for argv in runs:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(argv)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    results.append({"argv": argv, "code": code, "out": out.getvalue(), "err": err.getvalue()})
loaded = sorted({m.split(".")[0] for m in sys.modules if sys.modules[m] is not None})
print(json.dumps({"results": results, "loaded": loaded}))
"""


def _closure(requirements: list[str]) -> set[str]:
    """The distributions these requirements install, transitively (markers for this interpreter; extras followed)."""
    seen: set[str] = set()
    todo = [(Requirement(r), "") for r in requirements]
    while todo:
        req, extra = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": extra}):
            continue
        name = canonicalize_name(req.name)
        key = f"{name}[{','.join(sorted(req.extras))}]"
        if key in seen:
            continue
        seen.add(key)
        for dep in metadata.requires(name) or []:
            todo += [(Requirement(dep), e) for e in [*sorted(req.extras), ""]]
    return {k.split("[")[0] for k in seen}


def _extra_requirements(extra: str) -> list[str]:
    """An extra's requirements, with `gpuctl[a,b]` expanded to those extras'."""
    out: list[str] = []
    for text in PYPROJECT["optional-dependencies"][extra]:
        req = Requirement(text)
        if canonicalize_name(req.name) == "gpuctl":
            for inner in sorted(req.extras):
                out += _extra_requirements(inner)
        else:
            out.append(text)
    return out


@cache
def _modules_by_distribution() -> dict[str, set[str]]:
    table: dict[str, set[str]] = {}
    for module, dists in metadata.packages_distributions().items():
        for dist in dists:
            table.setdefault(canonicalize_name(dist), set()).add(module)
    return table


def blocked(allowed: set[str]) -> list[str]:
    """Top-level modules of every installed distribution not in `allowed` (nor gpuctl itself, nor a venv's tools)."""
    keep = allowed | TOOLS | {"gpuctl"}
    return sorted(
        m for dist, mods in _modules_by_distribution().items() if dist not in keep for m in mods if m.isidentifier()
    )


def run(block: list[str], *runs: list[str]) -> tuple[list[dict[str, object]], list[str]]:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(block), json.dumps(list(runs))],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    return data["results"], data["loaded"]


CORE_RUNS = [
    ["--help"],
    *([name, "--help"] for name in COMMANDS),
    ["validate", str(EXAMPLE)],
    ["validate", str(EXAMPLE), "-f", "sarif"],
    ["plan", str(EXAMPLE), "-f", "json"],
    ["rules", "-f", "json"],
    ["vram", "-m", "llama-3.1-8b", "-g", "h100-sxm5-80gb", "-f", "json"],
    ["tco", "--gpus", "8", "-f", "json"],
]


def test_core_install_runs_validate_plan_rules_vram_tco_and_every_help() -> None:
    core = _closure(PYPROJECT["dependencies"])
    block = blocked(core)
    assert {"pulumi", "ansible", "ansible_runner", "matplotlib", "kubernetes", "testinfra"} <= set(block)
    results, loaded = run(block, *CORE_RUNS)
    for r in results:
        assert r["code"] == 0, r
    heavy = {m for mods in EXTRAS.values() for m in mods} | {"numpy", "jinja2", "jsonschema"}
    assert not heavy & set(loaded)


def test_validate_loads_only_its_own_command() -> None:
    """Commands are built on first use: `gpuctl validate` imports no other command's module."""
    code = (
        "import sys\nfrom gpuctl.cli.app import main\n"
        "try:\n    main(['validate', sys.argv[1]])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('gpuctl.cli.')))"
    )
    done = subprocess.run([sys.executable, "-c", code, str(EXAMPLE)], capture_output=True, text=True, cwd=ROOT)
    assert done.stdout.strip().splitlines()[-1] == str(
        ["gpuctl.cli.app", "gpuctl.cli.common", "gpuctl.cli.env", "gpuctl.cli.validate"]
    )


def test_a_command_without_its_extra_names_it_and_exits_2(tmp_path: object) -> None:
    block = sorted({m for mods in EXTRAS.values() for m in mods})
    results, _ = run(
        block,
        ["provision", "all", "-s", str(EXAMPLE)],
        ["verify", "all", "-s", str(EXAMPLE)],
        ["tco", "--gpus", "8", "--chart", f"{tmp_path}/tco.png"],
    )
    expect = [
        "gpuctl provision needs the provision extra: pip install 'gpuctl[provision]'\n",
        "gpuctl verify needs the provision extra: pip install 'gpuctl[provision]'\n",
        "gpuctl tco --chart needs the tco extra: pip install 'gpuctl[tco]'\n",
    ]
    assert [(r["code"], r["err"]) for r in results] == [(2, e) for e in expect]


def test_a_missing_library_deeper_down_is_the_same_message() -> None:
    """The safety net in main(): an import of an extra's module that no command check covered."""
    code = (
        "import sys\nsys.modules['ansible_runner'] = None\n"
        "import gpuctl.cli.rules_cmd as r\n"
        "def rules():\n    import ansible_runner\n"
        "r.rules = rules\nfrom gpuctl.cli.app import main\nmain(['rules'])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    expect = "gpuctl rules needs the provision extra: pip install 'gpuctl[provision]'\n"
    assert (done.returncode, done.stderr) == (2, expect)


def test_extras_name_the_modules_their_distributions_install() -> None:
    """cli/common.py EXTRAS and pyproject.toml's extras list the same libraries."""
    by_dist = _modules_by_distribution()
    for extra, modules in EXTRAS.items():
        dists = {canonicalize_name(Requirement(r).name) for r in _extra_requirements(extra)}
        installed = {m for d in dists for m in by_dist.get(d, set())}
        assert set(modules) <= installed, (extra, set(modules) - installed)
        for dist in dists:
            assert by_dist.get(dist, set()) & set(modules), f"{dist} of [{extra}] has no module in EXTRAS[{extra}]"


def test_core_dependencies_hold_no_library_of_an_extra() -> None:
    core = _closure(PYPROJECT["dependencies"])
    for extra in EXTRAS:
        dists = {canonicalize_name(Requirement(r).name) for r in _extra_requirements(extra)}
        assert not core & dists, (extra, core & dists)


def test_all_is_every_extra_and_lab_is_provision_and_the_test_apis_schemas() -> None:
    every = set(PYPROJECT["optional-dependencies"]) - {"all", "dev"}
    assert {canonicalize_name(Requirement(r).name) for r in _extra_requirements("all")} == {
        canonicalize_name(Requirement(r).name) for e in every for r in _extra_requirements(e)
    }
    # the lab's test Kubernetes API (gpuctl.lab.kube_api) validates objects through render/kschema.py
    schemas = ["jsonschema>=4.20", "kubernetes-validate>=1.31"]
    assert sorted(_extra_requirements("lab")) == sorted(_extra_requirements("provision") + schemas)
    for module in ("jsonschema", "kubernetes_validate"):
        assert f"import {module}" in (ROOT / "modules" / "gpuctl" / "render" / "kschema.py").read_text()

"""Run the Pulumi program under Pulumi's official mocks and record what it declares.

The program runs inside `@pulumi.runtime.test` with `pulumi.runtime.set_mocks`
(https://www.pulumi.com/docs/iac/guides/testing/unit/), and the tests assert afterwards on everything the mocks
recorded, once the whole graph has registered, instead of inside the program's Output callbacks.

It runs the way the Pulumi CLI runs it: in the project's `main` directory (stacks/), with the stack config set as
`pulumi config` would set it, read back by the program's own `from_stack_config`, so a path resolved from the
working directory instead of the project root fails here as it would under `pulumi up`.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi.runtime
import yaml
from google.protobuf import json_format
from pulumi.runtime.config import set_all_config

from gpuctl.infra.program import build, from_stack_config, load_and_validate
from gpuctl.loader import load_site
from tests.conftest import ROOT

PROJECT = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
MAIN_DIR = ROOT / PROJECT["main"]
STACK_CONFIG_DIR = ROOT / PROJECT.get("stackConfigDir", ".")


def stack_config(stack: str) -> dict[str, Any]:
    """The `config:` of a stack file, where the Pulumi CLI looks for it (stackConfigDir)."""
    data = yaml.safe_load((STACK_CONFIG_DIR / f"Pulumi.{stack}.yaml").read_text()) or {}
    return dict(data.get("config") or {})


class MissingStackConfig(Exception):
    pass


def with_project_config(config: dict[str, Any], stack: str) -> dict[str, Any]:
    """What the Pulumi CLI does with Pulumi.yaml's `config:` before it starts the program: a key declared with a
    schema (`type`) takes its `default` when the stack does not set it, and one without a default is required
    ("Stack '<stack>' is missing configuration value '<key>'"; project-level configuration, Pulumi >= 3.44:
    https://www.pulumi.com/docs/iac/concepts/config/#project-level-configuration). Plain values are defaults."""
    merged = dict(config)
    for key, decl in (PROJECT.get("config") or {}).items():
        if key in merged:
            continue
        if isinstance(decl, dict) and "type" in decl:
            if "default" not in decl:
                raise MissingStackConfig(f"Stack '{stack}' is missing configuration value '{key}'")
            merged[key] = decl["default"]
        elif isinstance(decl, dict) and "value" in decl:
            merged[key] = decl["value"]
        else:
            merged[key] = decl
    return merged


@contextlib.contextmanager
def working_directory(path: Path) -> Iterator[None]:
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


@dataclass
class Recorded:
    type: str
    name: str
    inputs: dict[str, Any]
    custom: bool
    parent: str | None = None
    aliases: list[str] = field(default_factory=list)
    wire: dict[str, Any] = field(default_factory=dict)  # the inputs as the program sent them (secrets still wrapped)


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: list[Recorded] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        self.resources.append(Recorded(args.typ, args.name, dict(args.inputs), bool(args.custom)))
        state = dict(args.inputs)
        if args.typ == "kubernetes:helm.sh/v3:Release":
            state["status"] = {"status": "deployed"}
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, []  # no result, no check failures


@dataclass
class Run:
    mocks: RecordingMocks
    outputs: dict[str, Any]
    dependencies: dict[str, set[str]] = field(default_factory=dict)

    def of_type(self, typ: str) -> list[Recorded]:
        return [r for r in self.mocks.resources if r.type == typ]

    def named(self, name: str) -> Recorded:
        return next(r for r in self.mocks.resources if r.name == name)


def run_program(
    site_file: str | None,
    kubeconfig: str | None = None,
    provision: bool = False,
    validate: bool = True,
    stack: str = "test",
    config: dict[str, Any] | None = None,
    secret_keys: tuple[str, ...] = (),
) -> Run:
    """Run the program with `config` (default: the site file, kubeconfig and provision flag given) as the stack
    config. `site_file` is relative to the project root, or absolute (a test's tmp_path)."""
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project="gpuctl", stack=stack, preview=False)
    monitor = pulumi.runtime.settings.SETTINGS.monitor
    register = monitor.RegisterResource
    parents: dict[str, str] = {}
    aliases: dict[str, list[str]] = {}
    dependencies: dict[str, set[str]] = {}
    wire: dict[str, dict[str, Any]] = {}

    def recording_register(request: Any) -> Any:
        wire[request.name] = json_format.MessageToDict(request.object)
        parents[request.name] = request.parent
        dependencies[request.name] = {urn.rsplit("::", 1)[-1] for urn in request.dependencies}
        aliases[request.name] = [a.spec.name for a in request.aliases if a.HasField("spec")] + list(request.aliasURNs)
        return register(request)

    monitor.RegisterResource = recording_register
    exported: dict[str, Any] = {}
    export = pulumi.export

    def capture(name: str, value: Any) -> None:
        exported[name] = value
        export(name, value)

    if config is None:
        config = {"gpuctl:provision": "true" if provision else "false"}
        if site_file is not None:
            config["gpuctl:siteFile"] = site_file
        if kubeconfig is not None:
            config["gpuctl:kubeconfig"] = kubeconfig
    config = with_project_config(config, stack)
    # Pulumi hands every config value to the program as a string; structured values as JSON.
    set_all_config(
        {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()},
        [k for k in config if k in (secret_keys or ())],
    )

    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def program() -> None:
        pulumi.export = capture
        try:
            cfg = from_stack_config()
            assert cfg.site_file is not None
            site = load_and_validate(cfg).site if validate else load_site(cfg.root / cfg.site_file).site
            build(site, cfg)
        finally:
            pulumi.export = export

    try:
        with working_directory(MAIN_DIR):
            program()
    finally:
        set_all_config({})
    for r in mocks.resources:
        r.parent = parents.get(r.name) or None
        r.aliases = aliases.get(r.name, [])
        r.wire = wire.get(r.name, {})
    return Run(mocks, exported, dependencies)


KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: fra1, cluster: {server: "https://127.0.0.1:6443"}}]
contexts: [{name: fra1, context: {cluster: fra1, user: admin}}]
current-context: fra1
users: [{name: admin, user: {token: not-a-real-token}}]
"""

"""Run the Pulumi program under Pulumi's official mocks and record what it declares.

Per the tooling notes, assertions inside `@pulumi.runtime.test` can run before children register, so the
program runs in an inner function and the tests assert on what the mocks recorded afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi.runtime

from gpuctl.infra.program import ProgramConfig, build, load_and_validate
from gpuctl.loader import load_site
from tests.conftest import ROOT


@dataclass
class Recorded:
    type: str
    name: str
    inputs: dict[str, Any]
    custom: bool
    parent: str | None = None
    aliases: list[str] = field(default_factory=list)


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: list[Recorded] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        self.resources.append(Recorded(args.typ, args.name, dict(args.inputs), args.custom))
        state = dict(args.inputs)
        if args.typ == "kubernetes:helm.sh/v3:Release":
            state["status"] = {"status": "deployed"}
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        return {}


@dataclass
class Run:
    mocks: RecordingMocks
    outputs: dict[str, Any]

    def of_type(self, typ: str) -> list[Recorded]:
        return [r for r in self.mocks.resources if r.type == typ]

    def named(self, name: str) -> Recorded:
        return next(r for r in self.mocks.resources if r.name == name)


def run_program(
    site_file: str, kubeconfig: str | None = None, provision: bool = False, validate: bool = True, stack: str = "test"
) -> Run:
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project="gpuctl", stack=stack, preview=False)
    monitor = pulumi.runtime.settings.SETTINGS.monitor
    register = monitor.RegisterResource
    parents: dict[str, str] = {}
    aliases: dict[str, list[str]] = {}

    def recording_register(request: Any) -> Any:
        parents[request.name] = request.parent
        aliases[request.name] = [a.spec.name for a in request.aliases if a.HasField("spec")] + list(request.aliasURNs)
        return register(request)

    monitor.RegisterResource = recording_register
    exported: dict[str, Any] = {}
    export = pulumi.export

    def capture(name: str, value: Any) -> None:
        exported[name] = value
        export(name, value)

    cfg = ProgramConfig(site_file=site_file, kubeconfig=kubeconfig, provision=provision, root=ROOT)

    @pulumi.runtime.test
    def program() -> None:
        pulumi.export = capture  # type: ignore[assignment]
        try:
            site = load_and_validate(cfg).site if validate else load_site(Path(ROOT) / site_file).site
            build(site, cfg)
        finally:
            pulumi.export = export  # type: ignore[assignment]

    program()
    for r in mocks.resources:
        r.parent = parents.get(r.name) or None
        r.aliases = aliases.get(r.name, [])
    return Run(mocks, exported)


KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: fra1, cluster: {server: "https://127.0.0.1:6443"}}]
contexts: [{name: fra1, context: {cluster: fra1, user: admin}}]
current-context: fra1
users: [{name: admin, user: {token: not-a-real-token}}]
"""

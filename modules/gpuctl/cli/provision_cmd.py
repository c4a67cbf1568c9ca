"""`gpuctl provision TARGET`: validate, render the inventory, run the playbooks, summarize per host."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..provision.inventory import Overlay
from ..provision.runner import ProvisionResult, hint, provision, refuse_spec_owned
from . import env
from .common import ConsoleJson, format_option, wide

SiteOpt = Annotated[Path, typer.Option("--site", "-s", envvar=env.SITE, help="The site spec.")]


def lab_overlay() -> Overlay:
    """The running lab's inventory overlay (its addresses, SSH configuration and settings)."""
    from ..lab import core

    return core.running_overlay()


def summary_table(result: ProvisionResult) -> Table:
    t = Table(title=Text(f"run {result.run_id}: {result.status} in {result.elapsed_s:.1f} s"))
    for col in ("host", "ok", "changed", "failed", "unreachable", "skipped", "what to do"):
        t.add_column(col, justify="right" if col not in ("host", "what to do") else "left")
    for host, s in sorted(result.hosts.items()):
        todo = ""
        if s.status != "ok":
            todo = hint(s.message) or s.message.splitlines()[0] if s.message else "see the artifacts"
        t.add_row(host, str(s.ok), str(s.changed), str(s.failed), str(s.unreachable), str(s.skipped), Text(todo))
    return t


def _progress(console: Console) -> Any:
    def on_event(event: dict[str, Any]) -> None:
        kind = event.get("event")
        data = event.get("event_data", {})
        if kind in ("runner_on_failed", "runner_on_unreachable") and not data.get("ignore_errors"):
            msg = str(data.get("res", {}).get("msg", ""))[:200]
            console.print(Text(f"{data.get('host')}: {data.get('task')}: {kind.split('_')[-1]}: {msg}"))
        elif kind == "runner_on_ok" and data.get("res", {}).get("changed"):
            console.print(Text(f"{data.get('host')}: {data.get('task')}: changed"))
        elif kind == "playbook_on_task_start":
            console.log(Text(f"task: {data.get('task')}")) if console.is_terminal else None

    return on_event


def provision_cmd(
    target: Annotated[str, typer.Argument(help="A rack, a node pool, a host, or all.")],
    site: SiteOpt,
    check: Annotated[bool, typer.Option("--check", help="Dry run with diffs; changes nothing.")] = False,
    tags: Annotated[list[str] | None, typer.Option("--tags", help="Only these role tags (driver, dcgm, ...).")] = None,
    limit: Annotated[str | None, typer.Option("--limit", help="Further Ansible host pattern.")] = None,
    forks: Annotated[
        int | None, typer.Option("--forks", help="Parallel hosts (default: by host count and CPUs).")
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Only hosts that failed, were not reached, or failed verify.")
    ] = False,
    offline_mirror: Annotated[str | None, typer.Option("--offline-mirror", help="Repository mirror URL.")] = None,
    lab: Annotated[bool, typer.Option("--lab", help="Provision the running lab's hosts (gpuctl lab up).")] = False,
    kubeconfig: Annotated[
        Path | None,
        typer.Option(
            "--kubeconfig",
            envvar=env.KUBECONFIG,
            help="Cordon, drain and uncordon the nodes a change disrupts (driver, runtime) through this cluster's API. "
            "Without it a run stops before changing a node that has joined a cluster.",
        ),
    ] = None,
    no_drain: Annotated[
        bool,
        typer.Option(
            "--no-drain", help="Change joined nodes without a kubeconfig to drain them: their pods keep running."
        ),
    ] = False,
    playbook: Annotated[
        str, typer.Option("--playbook", help="site.yml, provision_rack.yml or upgrade_drivers.yml.")
    ] = "site.yml",
    extra_var: Annotated[
        list[str] | None, typer.Option("--extra-var", "-e", help="KEY=VALUE passed to Ansible.")
    ] = None,
    secrets_file: Annotated[
        Path | None,
        typer.Option(
            "--secrets-file",
            envvar=env.SECRETS_FILE,
            help="0600 YAML file of secret role variables, e.g. kubernetes_node_bootstrap_token "
            f"(never pass secrets with -e; env {env.SECRETS_FILE}).",
        ),
    ] = None,
    format: Annotated[ConsoleJson, format_option()] = ConsoleJson.console,
) -> int:
    """Provision hosts for real over SSH: exit 0 all ok, 1 pre-flight errors in the site or any host failed or was
    unreachable, 2 bad input."""
    console = Console(highlight=False, width=wide())
    extra: dict[str, Any] = {}
    for item in extra_var or []:
        key, _, value = item.partition("=")
        extra[key] = value
    refuse_spec_owned(extra)  # bad usage is refused before anything is looked up (the running lab, the site lock)
    if no_drain:
        extra["gpuctl_allow_undrained"] = True  # playbooks/tasks/drain.yml
    result = provision(
        site,
        target,
        playbook=playbook,
        check=check,
        tags=tags,
        limit=limit,
        forks=forks,
        resume=resume,
        offline_mirror=offline_mirror,
        overlay=lab_overlay() if lab else None,
        extra_vars=extra,
        kubeconfig=str(kubeconfig) if kubeconfig else None,
        secrets_file=secrets_file,
        on_event=_progress(console) if format == "console" else None,
    )
    if format == "json":
        typer.echo(
            json.dumps(
                {
                    "run": result.run_id,
                    "status": result.status,
                    "elapsed_s": round(result.elapsed_s, 2),
                    "artifacts": str(result.artifacts),
                    "changed": result.changed,
                    "hosts": {
                        h: vars(s) | {"status": s.status, "hint": hint(s.message) if s.message else ""}
                        for h, s in result.hosts.items()
                    },
                },
                indent=2,
                allow_nan=False,
            )
        )
    else:
        console.print(summary_table(result))
        console.print(Text(f"changed: {result.changed}; artifacts: {result.artifacts}"))
    return 1 if result.failed_hosts or result.status != "successful" else 0

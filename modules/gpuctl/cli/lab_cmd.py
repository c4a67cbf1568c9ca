"""`gpuctl lab up|down|status`: fake GPU hosts for tests and demos (needs root)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from ..lab import core
from .common import ConsoleJson, format_option

lab_app = typer.Typer(
    help="A lab of fake GPU hosts (network namespaces + sshd) to provision for real. Needs root.", no_args_is_help=True
)


@lab_app.command()
def up(
    site: Annotated[Path, typer.Argument(help="The site whose servers become lab hosts.")],
    rack: Annotated[str | None, typer.Option(help="Only this rack's servers.")] = None,
) -> int:
    """Start one host per server: its own network namespace, overlay root, sshd, and the lab package repository."""
    start = time.perf_counter()
    state = core.up(site, rack)
    typer.echo(f"lab up: {len(state.hosts)} hosts in {time.perf_counter() - start:.1f} s; repository {state.repo_url}")
    _hosts(state)
    typer.echo(f"ssh -F {state.ssh_config} {state.hosts[0].name}")
    return 0


def _hosts(state: core.LabState) -> None:
    for h in state.hosts:
        gpus = f"{h.gpu_count}× {h.gpu_name}" if h.gpu_name else "no GPUs"
        typer.echo(f"  {h.name:<16} {h.ip:<15} {gpus}")


@lab_app.command()
def down() -> int:
    """Stop every lab host and remove namespaces, links, mounts and directories (idempotent)."""
    start = time.perf_counter()
    core.down()
    typer.echo(f"lab down in {time.perf_counter() - start:.1f} s")
    return 0


@lab_app.command()
def status(format: Annotated[ConsoleJson, format_option()] = ConsoleJson.console) -> int:
    """Show the running lab, if any: exit 0 when one is up, 1 when none is."""
    state = core.current()
    if format == ConsoleJson.json:
        data = (
            None
            if state is None
            else {
                "site": state.site_file,
                "rack": state.rack,
                "hosts": state.addresses,
                "ssh_config": state.ssh_config,
                "kubeconfig": state.kubeconfig,  # the test Kubernetes API's admin kubeconfig (0600)
            }
        )
        typer.echo(json.dumps(data, indent=2, allow_nan=False))
    elif state is None:
        typer.echo("no lab is up")
    else:
        typer.echo(f"lab of {state.site_file}" + (f", rack {state.rack}" if state.rack else "") + ":")
        _hosts(state)
    return 0 if state is not None else 1

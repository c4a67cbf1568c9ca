"""`gpuctl lab up|down|status`: fake GPU hosts for tests and demos (needs root)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer

from ..lab import core

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
    for h in state.hosts:
        gpus = f"{h.gpu_count}× {h.gpu_name}" if h.gpu_name else "no GPUs"
        typer.echo(f"  {h.name:<16} {h.ip:<15} {gpus}")
    typer.echo(f"ssh -F {state.ssh_config} {state.hosts[0].name}")
    return 0


@lab_app.command()
def down() -> int:
    """Stop every lab host and remove namespaces, links, mounts and directories (idempotent)."""
    start = time.perf_counter()
    core.down()
    typer.echo(f"lab down in {time.perf_counter() - start:.1f} s")
    return 0


@lab_app.command()
def status() -> int:
    """Show the running lab, if any."""
    state = core.current()
    if state is None:
        typer.echo("no lab is up")
        return 1
    typer.echo(
        json.dumps({"site": state.site_file, "rack": state.rack, "hosts": state.addresses}, indent=2, allow_nan=False)
    )
    return 0

"""`gpuctl pki issue|rotate|list`: the site CA, server certificates per gateway and engine service, client
certificates per API identity. Keys are 0600 files in a 0700 directory; nothing prints key material."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from ..loader import load_site
from .common import ConsoleJson, format_option, wide

if TYPE_CHECKING:
    from ..pki import Outcome

# gpuctl.pki (cryptography) loads inside each command: --help works without the pki extra.
pki_app = typer.Typer(
    help="The site's certificates: issue, rotate with overlap, list with expiry.", no_args_is_help=True
)

SiteArg = Annotated[Path, typer.Argument(help="The site spec (its `security` section says what to issue).")]
DirOpt = Annotated[
    Path | None, typer.Option("--dir", help="The certificate store (default: pki/ beside the site file).")
]
NameOpt = Annotated[list[str] | None, typer.Option("--name", help="Only this certificate (repeatable).")]


def store_dir(site: Path, directory: Path | None) -> Path:
    return directory if directory is not None else site.parent / "pki"


def _report(outcome: Outcome) -> None:
    for what, names in (("issued", outcome.issued), ("rotated", outcome.rotated), ("unchanged", outcome.kept)):
        if names:
            typer.echo(f"{what} ({len(names)}): {', '.join(names)}")


@pki_app.command("issue")
def issue_cmd(site: SiteArg, dir: DirOpt = None, name: NameOpt = None) -> int:
    """Create the site CA if missing and every certificate the spec needs that is missing (idempotent)."""
    from ..pki import Store, issue

    loaded = load_site(site)
    root = store_dir(site, dir)
    _report(issue(loaded.site, Store(root), set(name or ())))
    typer.echo(f"store: {root}")
    return 0


@pki_app.command("rotate")
def rotate_cmd(
    site: SiteArg,
    dir: DirOpt = None,
    name: NameOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Rotate even certificates not yet due.")] = False,
    ca: Annotated[
        bool, typer.Option("--ca", help="Make a new CA first (the old stays trusted until it expires).")
    ] = False,
) -> int:
    """Reissue certificates due for renewal; the replaced ones stay valid until their own expiry (overlap)."""
    from ..pki import Store, rotate

    loaded = load_site(site)
    _report(rotate(loaded.site, Store(store_dir(site, dir)), set(name or ()), force=force, ca=ca))
    return 0


@pki_app.command("list")
def list_cmd(
    site: SiteArg, dir: DirOpt = None, format: Annotated[ConsoleJson, format_option()] = ConsoleJson.console
) -> int:
    """Every certificate the spec needs with its expiry. Exit 1 when any is expired or missing."""
    from ..pki import statuses

    loaded = load_site(site)
    rows = statuses(loaded.site, store_dir(site, dir))
    if format == ConsoleJson.json:
        typer.echo(json.dumps([r.as_dict() for r in rows], indent=2, allow_nan=False))
    else:
        table = Table("kind", "name", "subject", "not after", "days left", "state", "previous valid")
        for r in rows:
            left = f"{r.days_left:.1f}" if r.state != "missing" else ""
            table.add_row(r.kind, r.name, r.subject, r.not_after, left, r.state, "yes" if r.previous_valid else "")
        Console(width=wide()).print(table)
    return 1 if any(r.state in ("expired", "missing") for r in rows) else 0

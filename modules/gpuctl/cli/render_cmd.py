"""`gpuctl render SITE -o DIR`: every Kubernetes object gpuctl applies for the site, one file per object, for teams
that deploy through GitOps. The same objects the Pulumi program declares (gpuctl.render.objects)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ..errors import UsageError
from ..fsutil import write_atomic
from ..render import objects, secrets_required
from .common import ConsoleJson, format_option, load_valid_site

# What the last render wrote, so a file whose object is gone is removed (and nothing else in DIR is touched).
INDEX = ".gpuctl-rendered"
SECRETS_FILE = "SECRETS-REQUIRED.md"  # the Secrets the pods read that the render does not write


def render(
    site: Annotated[Path, typer.Argument(help="The site.yaml to render.")],
    out: Annotated[Path, typer.Option("--output", "-o", help="Directory to write the files into (created).")],
    format: Annotated[ConsoleJson, format_option()] = ConsoleJson.console,
) -> int:
    """Validate the site, then write each Kubernetes object to DIR/<namespace>/<kind>-<name>.yaml (cluster-scoped
    ones under cluster/) and the GPU Operator's Helm values to DIR/helm/. Each file is written atomically; files a
    previous render wrote for objects that no longer exist are removed.

    Stops with the findings (exit 1) when validation finds errors, as provision and the Pulumi program do.
    """
    if site.is_dir():
        raise UsageError(f"{site}: name one site.yaml to render")
    valid = load_valid_site(site, "rendering")
    if valid is None:
        return 1
    loaded = valid[0]
    rendered = objects.files(loaded.site)
    needs = secrets_required.required(objects.site_objects(loaded.site))
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: exists and is not a directory")
    previous = _index(out)
    for rel in sorted({*rendered, *previous, SECRETS_FILE}):
        _refuse_escape(out, rel)
    for rel, text in rendered.items():
        write_atomic(out / rel, text)
    stale = sorted(previous - set(rendered))
    for rel in stale:
        (out / rel).unlink(missing_ok=True)
    write_atomic(out / INDEX, "".join(f"{rel}\n" for rel in sorted(rendered)))
    if needs:
        write_atomic(out / SECRETS_FILE, secrets_required.markdown(needs))
    else:
        (out / SECRETS_FILE).unlink(missing_ok=True)
    if format == "json":
        secrets = [{"namespace": n.namespace, "name": n.name, "keys": list(n.keys)} for n in needs]
        summary = {"site": loaded.site.name, "files": sorted(rendered), "removed": stale, "secrets_required": secrets}
        typer.echo(json.dumps(summary, indent=2))
    else:
        typer.echo(f"{loaded.site.name}: {len(rendered)} files in {out}" + (f", {len(stale)} removed" if stale else ""))
        if needs:
            typer.echo(f"Secrets the pods read and you must create ({out / SECRETS_FILE}):")
            for n in needs:
                typer.echo(f"  {n.namespace}/{n.name}  keys: {', '.join(n.keys) or '(whole Secret mounted)'}")
    return 0


def _refuse_escape(out: Path, rel: str) -> None:
    """Every write and removal stays inside DIR: no directory between DIR and the file may be a symlink (a
    symlinked namespace directory would send files, and stale-file removal, somewhere else), and the file must
    resolve inside DIR. Checked for every path before anything is written."""
    root = out.resolve()
    here = out
    for part in Path(rel).parts[:-1]:
        here = here / part
        if here.is_symlink():
            raise UsageError(
                f"{here}: is a symbolic link; gpuctl render writes only inside {out} "
                "(replace the link with a plain directory, or render into another directory)"
            )
    target = (out / rel).resolve()
    if not target.is_relative_to(root):
        raise UsageError(f"{out / rel}: resolves to {target}, outside {out} (remove the link, or render elsewhere)")


def _index(out: Path) -> set[str]:
    """The files the last render listed, keeping only plain relative paths inside DIR."""
    try:
        lines = (out / INDEX).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return set()
    except OSError as exc:
        raise UsageError(f"{out / INDEX}: {exc.strerror or exc}") from None
    return {
        line for line in lines if line.endswith(".yaml") and not line.startswith("/") and ".." not in line.split("/")
    }

"""The `gpuctl` command: one module per command, errors mapped to exit codes here only."""

from __future__ import annotations

import sys

import typer

from ..errors import GpuctlError
from . import env
from .lab_cmd import lab_app
from .plan_cmd import plan
from .provision_cmd import provision_cmd
from .rules_cmd import rules
from .tco_cmd import tco
from .validate import validate
from .verify_cmd import verify_cmd
from .vram_cmd import vram

app = typer.Typer(
    name="gpuctl",
    help="Infrastructure as code for GPU inference sites: validate the site spec, then provision it.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command()(validate)
app.command()(plan)
app.command()(rules)
app.command()(vram)
app.command()(tco)
app.add_typer(lab_app, name="lab")
app.command("provision")(provision_cmd)
app.command("verify")(verify_cmd)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; exit 0 ok, 1 findings/failures, 2 bad input or usage, 70 internal error."""
    try:
        code = app(args=argv, standalone_mode=False)
    except GpuctlError as exc:
        typer.echo(exc.render(), err=True)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.TyperException as exc:  # usage errors: bad option, missing argument
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            typer.echo(str(exc), err=True)
        code = getattr(exc, "exit_code", 2)
        sys.exit(code if isinstance(code, int) and code else 2)
    except typer.Abort:
        typer.echo("aborted", err=True)
        sys.exit(1)
    except Exception as exc:
        if env.flag(env.DEBUG):
            raise
        typer.echo(
            f"gpuctl: internal error: {type(exc).__name__}: {exc} (set {env.DEBUG}=1 for a traceback)",
            err=True,
        )
        sys.exit(70)
    sys.exit(code if isinstance(code, int) else 0)

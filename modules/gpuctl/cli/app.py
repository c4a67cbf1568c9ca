"""The `gpuctl` command: one module per command, errors mapped to exit codes here only.

Commands load on first use: `gpuctl validate` imports (and builds the options of) validate alone, and a command
whose extra is not installed still has its --help and says which extra to install when it runs.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any, NoReturn

import typer
import typer.main
from typer.core import TyperGroup

from ..errors import GpuctlError
from . import env
from .common import extra_of, missing_extra_message, require_extra


@dataclass(frozen=True)
class Command:
    module: str  # below gpuctl.cli
    attr: str  # the command function, or a Typer of subcommands
    extra: str | None = None  # what it needs beyond `pip install gpuctl`


ClickCommand = Any  # click's Command (typer vendors click in newer releases: not named here)

COMMANDS: dict[str, Command] = {
    "validate": Command("validate", "validate"),
    "plan": Command("plan_cmd", "plan"),
    "rules": Command("rules_cmd", "rules"),
    "vram": Command("vram_cmd", "vram"),
    "render": Command("render_cmd", "render"),
    "tco": Command("tco_cmd", "tco"),  # --chart needs the tco extra (checked there)
    "report": Command("report_cmd", "report"),  # needs the report extra (checked there)
    "colo": Command("colo_cmd", "colo_app"),  # --chart needs the report extra (checked there)
    "pilot": Command("pilot_cmd", "pilot"),
    "lab": Command("lab_cmd", "lab_app"),  # root and the Debian packages of `bootstrap.sh lab`
    "provision": Command("provision_cmd", "provision_cmd", extra="provision"),
    "verify": Command("verify_cmd", "verify_cmd", extra="provision"),
    "obs": Command("obs_cmd", "obs_app"),
    "burnin": Command("burnin_cmd", "burnin_cmd", extra="provision"),
    "pki": Command("pki_cmd", "pki_app", extra="pki"),
}


def build(name: str) -> ClickCommand:
    """The click command of one gpuctl command, with its environment variables in its help."""
    spec = COMMANDS[name]
    target = getattr(importlib.import_module(f"{__package__}.{spec.module}"), spec.attr)
    command: ClickCommand
    if isinstance(target, typer.Typer):
        command = typer.main.get_group(target)
        children = list(command.commands.values()) if isinstance(command, TyperGroup) else []
    else:
        single = typer.Typer(add_completion=False)
        single.command(name)(target)
        command, children = typer.main.get_command(single), []
    command.name = name
    for cmd in (command, *children):
        cmd.epilog = env.epilog(name)
    if spec.extra is not None and command.callback is not None:
        command.callback = _gated(command.callback, spec.extra, f"gpuctl {name}")
    return command


def _gated(callback: Callable[..., Any], extra: str, what: str) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        require_extra(extra, what)
        return callback(*args, **kwargs)

    return run


class _Commands(MutableMapping[str, ClickCommand]):
    """The commands by name, each built when first asked for (help, completion and dispatch all go through it)."""

    def __init__(self) -> None:
        self._built: dict[str, ClickCommand] = {}

    def __getitem__(self, name: str) -> ClickCommand:
        if name not in self._built:
            if name not in COMMANDS:
                raise KeyError(name)
            self._built[name] = build(name)
        return self._built[name]

    def __setitem__(self, name: str, command: ClickCommand) -> None:
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        del self._built[name]

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*COMMANDS, *self._built]))

    def __len__(self) -> int:
        return len(set(COMMANDS) | set(self._built))

    def __contains__(self, name: object) -> bool:
        return name in COMMANDS or name in self._built


class LazyGroup(TyperGroup):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.commands = _Commands()

    def get_command(self, ctx: Any, cmd_name: str) -> ClickCommand | None:
        return self.commands.get(cmd_name)


app = typer.Typer(
    name="gpuctl",
    cls=LazyGroup,
    help="Infrastructure as code for GPU inference sites: validate the site spec, then provision it.",
    epilog=env.epilog(""),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _gpuctl() -> None:
    """Makes `app` a group of the lazily built commands (typer builds a group only around a callback or commands)."""


def _command_name(argv: list[str] | None) -> str:
    args = sys.argv[1:] if argv is None else argv
    return next((a for a in args if not a.startswith("-")), "")


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
    except ModuleNotFoundError as exc:  # a library of an extra the command's own check did not cover
        extra = extra_of(exc.name or "")
        if extra is None:
            _internal(exc)
        typer.echo(missing_extra_message(extra, f"gpuctl {_command_name(argv)}".strip()), err=True)
        sys.exit(2)
    except Exception as exc:
        _internal(exc)
    sys.exit(code if isinstance(code, int) else 0)


def _internal(exc: Exception) -> NoReturn:
    if env.flag(env.DEBUG):
        raise exc
    typer.echo(
        f"gpuctl: internal error: {type(exc).__name__}: {exc} (set {env.DEBUG}=1 for a traceback)",
        err=True,
    )
    sys.exit(70)


if __name__ == "__main__":
    main()

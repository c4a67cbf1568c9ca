"""Every GPUCTL_* environment variable gpuctl reads, declared once: its name, what it changes, and the commands
whose `--help` lists it (app.py adds the list to each command's help). Tests' own variables are not here.

A variable bound to an option (`typer.Option(envvar=env.FORMAT)`) is read by typer; the rest through `flag` or
`get`. A test greps the source tree and fails on any GPUCTL_* name not declared here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

EVERY = "*"  # the commands of a variable every command reads


@dataclass(frozen=True)
class Variable:
    name: str
    help: str
    commands: tuple[str, ...]


VARIABLES: dict[str, Variable] = {}


def _declare(name: str, help: str, *commands: str) -> str:
    if name in VARIABLES:
        raise ValueError(f"{name} is declared twice")
    VARIABLES[name] = Variable(name, help, commands)
    return name


DEBUG = _declare("GPUCTL_DEBUG", "set to 1 to show the Python traceback of an internal error (exit 70)", EVERY)
STRICT = _declare("GPUCTL_STRICT", "set to 1 to fail on warnings too (--strict)", "validate")
FORMAT = _declare("GPUCTL_FORMAT", "the default --format", "validate")
SITE = _declare("GPUCTL_SITE", "the site spec (--site)", "provision", "verify")
SECRETS_FILE = _declare("GPUCTL_SECRETS_FILE", "0600 YAML of secret role variables (--secrets-file)", "provision")
KUBECONFIG = _declare(
    "GPUCTL_KUBECONFIG",
    "kubeconfig file of the site's cluster: drain nodes before disruptive changes (--kubeconfig)",
    "provision",
)
BOOTSTRAP_TOKEN = _declare(
    "GPUCTL_BOOTSTRAP_TOKEN",
    "kubeadm bootstrap token the nodes join with, when neither the secrets file nor a token file gives one",
    "provision",
)
PROJECT_DIR = _declare(
    "GPUCTL_PROJECT_DIR", "the directory holding playbooks/ (default: gpuctl's source checkout)", "provision", "verify"
)
STATE_DIR = _declare(
    "GPUCTL_STATE_DIR",
    "run artifacts, the run journal and SSH control sockets (default: .gpuctl in the project directory)",
    "provision",
    "verify",
)
ANSIBLE_STRATEGY = _declare(
    "GPUCTL_ANSIBLE_STRATEGY",
    "the Ansible strategy (default: mitogen_linear when mitogen is installed, else linear)",
    "provision",
)
STRATEGY_BASE = _declare(
    "GPUCTL_STRATEGY_BASE",
    "the strategy gpuctl's Ansible strategy plugin wraps; provision sets it from GPUCTL_ANSIBLE_STRATEGY (set it only "
    "to run the plugin outside gpuctl)",
    "provision",
)
LAB_DIR = _declare("GPUCTL_LAB_DIR", "where the lab's hosts and state live (default /var/tmp/gpuctl-lab)", "lab")
LAB_CACHE = _declare("GPUCTL_LAB_CACHE", "the lab's base root filesystem cache (default ~/.cache/gpuctl/lab)", "lab")
LAB_PREFIX = _declare("GPUCTL_LAB_PREFIX", "prefix of the lab's namespaces and links (default gl)", "lab")
LAB_SUBNET = _declare("GPUCTL_LAB_SUBNET", "the lab's IPv4 subnet (default 10.213.0.0/24)", "lab")


def flag(name: str) -> bool:
    """A declared on/off variable: 1, true, yes or on (any case) is on."""
    return get(name).strip().lower() in ("1", "true", "yes", "on")


def get(name: str, default: str = "") -> str:
    """A declared variable's value, or the default when it is unset."""
    if name not in VARIABLES:
        raise KeyError(f"{name} is not declared in gpuctl.cli.env")
    return os.environ.get(name, default)


def for_command(command: str) -> list[Variable]:
    """The variables a command's --help lists."""
    return [v for v in VARIABLES.values() if command in v.commands or EVERY in v.commands]


def epilog(command: str) -> str:
    """The "Environment" paragraph of a command's --help."""
    return "Environment: " + "; ".join(f"{v.name}: {v.help}" for v in for_command(command)) + "."

"""`gpuctl provision`: validate, render the inventory, run the playbooks with ansible-runner, summarize."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import GpuctlError, UsageError
from ..loader import load_site
from ..model import Site
from ..report import FORMATS
from ..rules import evaluate
from .inventory import Overlay, group, write_inventory
from .journal import Journal
from .roles import PLAYBOOKS_DIR, PROJECT_DIR, ROLES_DIR
from .secrets import read_secrets, refuse_secret_extra_vars, secret_variables, write_extravars_file

STATE_DIR = Path(os.environ.get("GPUCTL_STATE_DIR", PROJECT_DIR / ".gpuctl"))
# gpuctl's callback plugins (ansible_plugins/callback/awx_display.py: ansible-runner's events without start events).
CALLBACK_PLUGINS = Path(__file__).parent / "ansible_plugins" / "callback"
STRATEGY_PLUGINS = Path(__file__).parent / "ansible_plugins" / "strategy"


class ProvisionError(GpuctlError):
    """Provisioning cannot start (a target outside the overlay's hosts)."""


class ToolMissing(ProvisionError):
    """A tool gpuctl runs (ansible-playbook) is neither beside gpuctl's interpreter nor on PATH: exit 2."""


TOOLS = ("ansible-playbook", "ssh")


def tool_dirs() -> list[str]:
    """Where gpuctl looks for the tools it runs: beside the interpreter running gpuctl first (a venv run by absolute
    path or pipx, neither activated, keeps ansible-playbook there), then PATH."""
    return [str(Path(sys.executable).parent), *os.environ.get("PATH", os.defpath).split(os.pathsep)]


def require_tools(tools: tuple[str, ...] = TOOLS) -> dict[str, str]:
    """Each tool's path; a missing one is a clear error naming what to install."""
    search = os.pathsep.join(tool_dirs())
    found = {t: shutil.which(t, path=search) for t in tools}
    missing = [t for t, where in found.items() if where is None]
    if missing:
        how = {
            "ansible-playbook": "install gpuctl with its provisioning extra into the same environment "
            f"(`{sys.executable} -m pip install 'gpuctl[provision]'`, or `pipx install 'gpuctl[provision]'`)",
            "ssh": "install the OpenSSH client (`apt-get install openssh-client`)",
        }
        raise ToolMissing(
            f"{', '.join(missing)} not found beside {sys.executable} or on PATH: "
            + "; ".join(how.get(t, f"install {t}") for t in missing)
        )
    return {t: str(where) for t, where in found.items()}


class SpecOwned(ProvisionError):
    """An -e override of a value only the site spec sets (versions): exit 2, naming the spec field."""


# Role variables whose value is the site spec's alone: an override would be undone (or downgraded) by the next plain
# run, so it is refused and the message names the field to change instead.
SPEC_OWNED = {
    "nvidia_driver_version": "provisioning.driver_version",
    "nvidia_driver_branch": "provisioning.driver_branch",
    "container_toolkit_version": "provisioning.container_toolkit_version",
    "containerd_version": "provisioning.container_runtime.containerd_version",
    "containerd_runc_version": "provisioning.container_runtime.runc_version",
    "kubernetes_node_version": "cluster.kubernetes.version",
}


def refuse_spec_owned(extra_vars: dict[str, Any]) -> None:
    owned = sorted(k for k in extra_vars if k in SPEC_OWNED)
    if owned:
        fields = ", ".join(f"{k} -> {SPEC_OWNED[k]}" for k in owned)
        raise SpecOwned(
            f"-e {', '.join(owned)}: versions come from the site spec only (a later plain run would undo the "
            f"override): set {fields} in the site file and run again (upgrade_drivers.yml reads it from there)"
        )


class ProvisionLocked(ProvisionError):
    """Another provisioning run of the same site holds its lock: exit 2, naming that run."""


@contextlib.contextmanager
def site_lock(state_dir: Path, site: str) -> Iterator[None]:
    """One provisioning run per site at a time; the second exits 2 naming the first (pid, start, command)."""
    import fcntl
    import json

    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / "provision.lock"
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            try:
                holder = json.loads(handle.read() or "{}")
            except ValueError:
                holder = {}
            raise ProvisionLocked(
                f"another gpuctl provision run holds site {site}: pid {holder.get('pid', '?')}, started "
                f"{holder.get('started', '?')}, command `{holder.get('command', '?')}`; wait for it to end (or stop "
                "that process) and run again"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(
            json.dumps(
                {
                    "pid": os.getpid(),
                    "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "command": " ".join(sys.argv[:1] and [Path(sys.argv[0]).name, *sys.argv[1:]])[:500],
                }
            )
        )
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()


class PreflightError(ProvisionError):
    """The site has pre-flight error findings: exit 1, as `gpuctl validate` and `gpuctl plan` exit for them."""

    exit_code = 1


@dataclass
class HostSummary:
    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0
    message: str = ""

    @property
    def status(self) -> str:
        if self.unreachable:
            return "unreachable"
        return "failed" if self.failed else "ok"


@dataclass
class ProvisionResult:
    run_id: str
    artifacts: Path
    status: str
    rc: int
    elapsed_s: float
    hosts: dict[str, HostSummary] = field(default_factory=dict)

    @property
    def changed(self) -> int:
        return sum(h.changed for h in self.hosts.values())

    @property
    def failed_hosts(self) -> list[str]:
        return sorted(h for h, s in self.hosts.items() if s.status != "ok")


def resolve_target(site: Site, target: str) -> tuple[str, list[str]]:
    """A rack, node pool, host or `all` -> (Ansible host pattern, host names)."""
    servers = [s.name for _, s in site.all_servers()]
    if target == "all":
        return "all", servers
    for rack in site.racks:
        if rack.name == target:
            return group("rack", rack.name), [s.name for s in rack.servers]
    for pool in site.node_pools:
        if pool.name == target:
            return group("pool", pool.name), [s.name for s in site.pool_servers(pool)]
    if target in servers:
        return target, [target]
    raise UsageError(
        f"unknown target '{target}': name a rack ({', '.join(r.name for r in site.racks)}), a node "
        f"pool ({', '.join(p.name for p in site.node_pools) or 'none'}), a host, or all"
    )


def strategy() -> dict[str, str]:
    """Ansible strategy: mitogen's when installed (one persistent interpreter per host instead of a module
    upload per task, https://mitogen.networkgenomics.com/ansible_detailed.html; measured on this project's lab, 16
    hosts on 2 cores: 83 s linear with pipelining, 32 s mitogen_linear), else Ansible's linear; either run under
    gpuctl's own strategy plugin, which skips a host-task whose `when` is false without forking a worker
    (ansible_plugins/strategy/gpuctl.py).
    GPUCTL_ANSIBLE_STRATEGY overrides the base (linear, free, mitogen_linear, ...)."""
    name = os.environ.get("GPUCTL_ANSIBLE_STRATEGY", "")
    paths = [STRATEGY_PLUGINS]
    try:
        import ansible_mitogen
    except ImportError:
        name = name if name and not name.startswith("mitogen") else "linear"
    else:
        name = name or "mitogen_linear"
        paths.append(Path(ansible_mitogen.__file__).parent / "plugins" / "strategy")
    return {
        "ANSIBLE_STRATEGY_PLUGINS": os.pathsep.join(map(str, paths)),
        "ANSIBLE_STRATEGY": "gpuctl",
        "GPUCTL_STRATEGY_BASE": name,
    }


def ansible_env(state_dir: Path, run_id: str = "", every_result: bool = False) -> dict[str, str]:
    """Ansible's settings for a run; SSH control sockets in a directory of the run's own (ControlPath per run).
    Unless `every_result`, unchanged and skipped results print no line and emit no event (ansible_plugins/callback)."""
    cp = state_dir / "cp" / run_id if run_id else state_dir / "cp"
    cp.mkdir(mode=0o700, parents=True, exist_ok=True)
    # ansible-playbook lives beside the interpreter running gpuctl (a venv or pipx): found without activating it.
    path = os.pathsep.join(tool_dirs())
    return strategy() | {
        "PATH": path,
        "ANSIBLE_ROLES_PATH": str(ROLES_DIR),
        "ANSIBLE_LIBRARY": str(PLAYBOOKS_DIR / "library"),
        "ANSIBLE_CALLBACK_PLUGINS": str(CALLBACK_PLUGINS),
        # Facts only under ansible_facts (the roles read them there): Ansible otherwise copies every fact to a
        # top-level ansible_* variable for every host on every task (clean_facts: ~15 % of the controller's CPU in a
        # no-change run of 16 lab hosts, measured with py-spy).
        "ANSIBLE_INJECT_FACT_VARS": "False",
        "ANSIBLE_PIPELINING": "True",
        "ANSIBLE_HOST_KEY_CHECKING": "True",
        "ANSIBLE_SSH_CONTROL_PATH_DIR": str(cp),
        # ServerAlive: a host that dies mid-run (power, link) is noticed in 15 s instead of TCP's minutes.
        "ANSIBLE_SSH_ARGS": "-o ControlMaster=auto -o ControlPersist=120s -o ServerAliveInterval=5 "
        "-o ServerAliveCountMax=3",
        "ANSIBLE_TIMEOUT": "20",
        "ANSIBLE_TASK_TIMEOUT": "900",
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_NOCOLOR": "True",
        "ANSIBLE_LOCALHOST_WARNING": "False",
        "ANSIBLE_DEPRECATION_WARNINGS": "False",
        "ANSIBLE_PYTHON_INTERPRETER": "/usr/bin/python3",
        "ANSIBLE_COLLECTIONS_PATH": str(state_dir / "collections"),
        # No vars plugins: the inventory gpuctl renders from the spec holds every variable (verify reads the same
        # inventory), so group_vars/host_vars directories would be a second source; and Ansible looks each plugin up
        # again on every task for every host (~4 % of the main thread in a no-change run, py-spy).
        "ANSIBLE_VARS_ENABLED": "",
        "ANSIBLE_DISPLAY_OK_HOSTS": str(every_result),
        "ANSIBLE_DISPLAY_SKIPPED_HOSTS": str(every_result),
    }


# Tasks that act only in check mode (`when: ansible_check_mode`: what apt cannot resolve before its repository exists)
# carry this tag; outside check mode gpuctl skips the tag, so those tasks cost no per-host step (a task skipped by its
# `when` still costs the controller its variables and conditional per host, though no worker process under gpuctl's
# strategy). Plain ansible-playbook runs them as skipped.
CHECK_MODE_ONLY_TAG = "check_mode_only"


def close_masters(directory: Path) -> None:
    """Close SSH control masters left by earlier runs. A master whose host has since died hangs every command
    sent through it until TCP gives up (minutes): each run starts with fresh connections instead."""
    import subprocess

    if not directory.is_dir():
        return
    for sock in directory.iterdir():
        if sock.is_socket():
            subprocess.run(
                ["ssh", "-o", f"ControlPath={sock}", "-O", "exit", "gpuctl-stale-master"],
                capture_output=True,
                timeout=10,
                check=False,
            )


def default_forks(hosts: int) -> int:
    # The controller is CPU-bound (about 0.6 s of wall time per host per task on 2 cores, measured on this
    # project's lab): more forks than a few per core buys little, fewer leaves hosts idle.
    return max(1, min(hosts, 4 * (os.cpu_count() or 2)))


def provision(
    site_file: str | Path,
    target: str = "all",
    *,
    playbook: str = "site.yml",
    check: bool = False,
    tags: list[str] | None = None,
    limit: str | None = None,
    forks: int | None = None,
    resume: bool = False,
    offline_mirror: str | None = None,
    overlay: Overlay | None = None,
    extra_vars: dict[str, Any] | None = None,
    kubeconfig: str | None = None,
    secrets_file: str | Path | None = None,
    on_event: Callable[[dict[str, Any]], None] | None = None,
    journal_section: str = "provision",
    every_result: bool = False,
) -> ProvisionResult:
    """Validate, render the inventory (with `overlay` laid over it when given), run `playbook`, summarize; the run
    is recorded in the journal's `journal_section` (burn-in keeps its own). `on_event` sees changed, failed and
    unreachable results, debug messages and task starts; with `every_result`, unchanged and skipped ones too."""
    import ansible_runner

    site_path = Path(site_file)
    secret_names = secret_variables(ROLES_DIR)
    refuse_secret_extra_vars(extra_vars or {}, secret_names)
    refuse_spec_owned(extra_vars or {})
    secrets = read_secrets(Path(secrets_file), secret_names) if secrets_file else {}
    site = _preflight(site_path)
    require_tools()
    state_dir = STATE_DIR / site.name
    with site_lock(state_dir, site.name):
        journal = Journal(state_dir / "journal.json", journal_section)
        pattern, hosts = _select_hosts(site, target, journal, resume, limit)
        if overlay is not None:
            missing = [h for h in hosts if h not in overlay.hosts]
            if missing:
                raise ProvisionError(f"{', '.join(missing)} not in {overlay.where}: provision a target inside it")
            # A master kept from an earlier run would skip host key verification (mitogen's connections follow the
            # SSH configuration's ControlPath too): start from fresh connections.
            close_masters(overlay.ssh_config.parent)
        variables = _run_variables(site, overlay, extra_vars, offline_mirror, kubeconfig)
        if overlay is not None:
            inventory_file = state_dir / f"{overlay.name}-inventory.yml"
        else:
            inventory_file = site_path.parent / "generated" / "inventory.yml"
        write_inventory(site, site_path, inventory_file, overlay)

        run_id = time.strftime("%Y%m%dT%H%M%S") + f"-{os.getpid()}"
        if not check:
            journal.start_run(run_id, target, hosts)
        runner_dir = state_dir / "runner"
        runner_dir.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(runner_dir / "env", ignore_errors=True)  # a killed run's leftovers
        # Every variable, secret or not, goes in one 0600 file ansible-runner passes as `-e @file`: ansible-runner would
        # put a dict on ansible-playbook's command line, which `ps` shows to every user.
        if variables or secrets:
            write_extravars_file(runner_dir, variables | secrets)
        start = time.perf_counter()
        summaries: dict[str, HostSummary] = {h: HostSummary() for h in hosts}
        try:
            r = ansible_runner.run(
                private_data_dir=str(runner_dir),
                project_dir=str(PLAYBOOKS_DIR),
                playbook=playbook,
                inventory=str(inventory_file),
                limit=pattern,
                forks=forks or default_forks(len(hosts)),
                tags=",".join(tags) if tags else None,
                skip_tags=None if check else CHECK_MODE_ONLY_TAG,
                cmdline="--check --diff" if check else None,
                envvars=ansible_env(state_dir, run_id, every_result),
                ident=run_id,
                quiet=True,
                event_handler=_event_handler(summaries, on_event, None if check else (journal, run_id)),
                rotate_artifacts=20,
            )
        finally:
            shutil.rmtree(runner_dir / "env", ignore_errors=True)  # the secrets file: not kept beside the artifacts
            close_masters(state_dir / "cp" / run_id)
            shutil.rmtree(state_dir / "cp" / run_id, ignore_errors=True)
        elapsed = time.perf_counter() - start
        artifacts = Path(r.config.artifact_dir)
        _scrub_environment(artifacts)
        _summarize(summaries, r.stats or {}, r.status, r.rc, artifacts)
        result = ProvisionResult(run_id, artifacts, r.status, r.rc, elapsed, summaries)
        if not check:
            journal.finish_run(run_id, target, {h: s.status for h, s in summaries.items()})
        return result


def _preflight(site_path: Path) -> Site:
    """The site, validated: error findings stop provisioning before any host is touched."""
    loaded = load_site(site_path)
    findings = evaluate(loaded)
    if findings.failed():
        raise PreflightError(
            "the site has pre-flight errors; nothing was provisioned:\n" + FORMATS["console"]([findings])
        )
    return loaded.site


def _select_hosts(site: Site, target: str, journal: Journal, resume: bool, limit: str | None) -> tuple[str, list[str]]:
    """(Ansible host pattern, host names): the target, narrowed to the journal's unfinished hosts with --resume."""
    pattern, hosts = resolve_target(site, target)
    if resume:
        pending = [h for h in journal.resumable() if h in hosts]
        if not pending:
            raise UsageError("nothing to resume: the last run and verify found every targeted host ok")
        hosts = pending
        pattern = ",".join(pending)
    if limit:
        pattern = f"{pattern}:&{limit}"
    return pattern, hosts


def _run_variables(
    site: Site,
    overlay: Overlay | None,
    extra_vars: dict[str, Any] | None,
    offline_mirror: str | None,
    kubeconfig: str | None,
) -> dict[str, Any]:
    """Extra variables of this run: -e values, an offline mirror's repository and key, the kubeconfig."""
    variables: dict[str, Any] = dict(extra_vars or {})
    if offline_mirror:
        key_url = str(
            (overlay.vars if overlay else {}).get("nvidia_driver_repo_key_url", site.provisioning.apt_key_url)
        )
        variables["nvidia_driver_repo_url"] = offline_mirror.rstrip("/")
        variables["nvidia_driver_repo_key_url"] = f"{offline_mirror.rstrip('/')}/{key_url.rsplit('/', 1)[-1]}"
    if kubeconfig:
        # upgrade_drivers.yml cordons and drains through the Kubernetes API with it.
        variables["gpuctl_kubeconfig"] = str(Path(kubeconfig).resolve())
    return variables


# The last task of every play of site.yml and upgrade_drivers.yml: a host that reaches it has finished its part.
HOST_FINISHED_TASK = "Mark the host finished"


def _event_handler(
    summaries: dict[str, HostSummary],
    on_event: Callable[[dict[str, Any]], None] | None,
    journal: tuple[Journal, str] | None = None,
) -> Callable[[dict[str, Any]], bool]:
    """Keeps each host's first real failure message, records hosts in the journal as they finish (so a killed run
    resumes exactly the others), then passes the event on (progress output)."""

    def handler(event: dict[str, Any]) -> bool:
        data = event.get("event_data", {})
        host = data.get("host")
        if (
            journal is not None
            and event.get("event") == "runner_on_ok"
            and data.get("task") == HOST_FINISHED_TASK
            and host in summaries
            and not summaries[host].message
        ):
            journal[0].host_finished(journal[1], host, "ok")
        if host in summaries and event.get("event") in ("runner_on_failed", "runner_on_unreachable"):
            res = data.get("res", {})
            if not data.get("ignore_errors"):
                summaries[host].message = str(res.get("msg") or res.get("stderr") or "")[:500]
        if on_event is not None:
            on_event(event)
        return True

    return handler


def _summarize(summaries: dict[str, HostSummary], stats: dict[str, Any], status: str, rc: int, artifacts: Path) -> None:
    """Per-host counts from the play recap; a run that ended without one (ansible-playbook missing, a syntax
    error) fails every host with the error from its output."""
    for host, summary in summaries.items():
        summary.ok = stats.get("ok", {}).get(host, 0)
        summary.changed = stats.get("changed", {}).get(host, 0)
        summary.failed = stats.get("failures", {}).get(host, 0)
        summary.unreachable = stats.get("dark", {}).get(host, 0)
        summary.skipped = stats.get("skipped", {}).get(host, 0)
    if status != "successful" and not stats:
        tail = _stdout_error(artifacts)
        for s in summaries.values():
            s.failed = s.failed or 1
            s.message = s.message or tail or f"ansible-runner ended {status} (rc {rc}); see the artifacts"


def _scrub_environment(artifacts: Path) -> None:
    """ansible-runner records the whole process environment in artifacts/command; keep only Ansible's own
    settings there (the operator's environment may hold credentials)."""
    import json

    command = artifacts / "command"
    if command.exists():
        data = json.loads(command.read_text())
        data["env"] = {k: v for k, v in data.get("env", {}).items() if k.startswith("ANSIBLE_")}
        command.write_text(json.dumps(data))


def _stdout_error(artifacts: Path) -> str:
    stdout = artifacts / "stdout"
    if not stdout.exists():
        return ""
    lines = [ln.strip() for ln in stdout.read_text(errors="replace").splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith(("[ERROR]", "ERROR!"))]
    return " ".join((errors or lines[-3:])[:3])[:500]


def hint(message: str) -> str:
    if (
        "Host key verification failed" in message
        or "REMOTE HOST IDENTIFICATION HAS CHANGED" in message
        or "mismatching host key" in message
    ):
        return "the host's key does not match known_hosts: check the host, then update the known_hosts file"
    if "Permission denied" in message or "SSH authentication is incorrect" in message:
        return "the SSH key was refused: check provisioning.ssh.private_key_file and the host's authorized_keys"
    if "timed out" in message.lower() or "No route to host" in message or "Connection refused" in message:
        return "the host is not reachable on SSH: check power, network and ansible_host"
    if (
        "Unable to locate package" in message
        or "no available installation candidate" in message.lower()
        or "No package matching" in message
    ):
        return "a package is missing from the repository or mirror: check nvidia_driver_repo_url and its contents"
    return ""

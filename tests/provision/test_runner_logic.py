"""The provisioning driver's pure logic, without the lab: targets, hints, forks, artifacts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gpuctl.errors import UsageError
from gpuctl.loader import load_site
from gpuctl.provision import runner
from gpuctl.provision.inventory import group
from gpuctl.provision.runner import _scrub_environment, _stdout_error, default_forks, hint, resolve_target
from tests.conftest import ROOT

FRA1 = load_site(ROOT / "inventories" / "fra1" / "site.yaml").site
LAB = load_site(ROOT / "inventories" / "lab" / "site.yaml").site
FRA1_SERVERS = ["gpu-a01", "gpu-a02", "gpu-a03", "gpu-a04", "gpu-a11", "gpu-a12", "dgx-b01", "dgx-b02"]

# ----- resolve_target -----


def test_all_is_every_server_in_spec_order() -> None:
    assert resolve_target(FRA1, "all") == ("all", FRA1_SERVERS)


def test_a_rack_is_its_group_and_its_servers() -> None:
    assert resolve_target(FRA1, "rack-b") == (group("rack", "rack-b"), ["dgx-b01", "dgx-b02"])
    assert resolve_target(FRA1, "rack-b")[0] == "rack_rack_b"


def test_a_pool_by_servers_and_a_pool_by_racks() -> None:
    assert resolve_target(FRA1, "l4-inference") == (group("pool", "l4-inference"), ["gpu-a11", "gpu-a12"])
    assert resolve_target(FRA1, "h100-inference") == (group("pool", "h100-inference"), ["dgx-b01", "dgx-b02"])
    assert resolve_target(LAB, "l40s") == ("pool_l40s", ["lab-l40s-1", "lab-l40s-2"])


def test_a_host_is_itself() -> None:
    assert resolve_target(FRA1, "gpu-a11") == ("gpu-a11", ["gpu-a11"])
    assert resolve_target(LAB, "lab-dgx-1") == ("lab-dgx-1", ["lab-dgx-1"])


def test_a_switch_is_not_a_target() -> None:
    with pytest.raises(UsageError):
        resolve_target(FRA1, "leaf-a1")


def test_an_unknown_target_lists_the_choices() -> None:
    with pytest.raises(UsageError) as err:
        resolve_target(FRA1, "rack-z")
    msg = err.value.message
    assert msg.startswith("unknown target 'rack-z': name a rack (rack-a, rack-b), a node pool (")
    assert "(l40s-inference, l4-inference, h100-inference)" in msg
    assert msg.endswith("a host, or all")
    assert err.value.exit_code == 2


def test_an_unknown_target_in_a_site_without_pools_says_none() -> None:
    site = load_site(ROOT / "tests" / "rules" / "PWR001" / "pass.yaml").site
    assert not site.node_pools
    with pytest.raises(UsageError, match=r"a node pool \(none\)"):
        resolve_target(site, "nope")


# ----- hint -----

SSH_FAIL = "Failed to connect to the host via ssh"
HINTS = {
    "host key": "the host's key does not match known_hosts",
    "key refused": "the SSH key was refused",
    "unreachable": "the host is not reachable on SSH",
    "package": "a package is missing from the repository or mirror",
}


@pytest.mark.parametrize(
    ("message", "family"),
    [
        # OpenSSH through Ansible's ssh connection
        (f"{SSH_FAIL}: Host key verification failed.", "host key"),
        (
            "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@\r\n"
            "@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\r\n",
            "host key",
        ),
        (f"{SSH_FAIL}: root@10.60.0.11: Permission denied (publickey).", "key refused"),
        (f"{SSH_FAIL}: ssh: connect to host 10.0.0.9 port 22: Connection timed out", "unreachable"),
        (f"{SSH_FAIL}: ssh: connect to host 10.0.0.9 port 22: No route to host", "unreachable"),
        (f"{SSH_FAIL}: ssh: connect to host 10.0.0.9 port 22: Connection refused", "unreachable"),
        ("Data could not be sent to remote host. Make sure this host can be reached: TIMED OUT", "unreachable"),
        # mitogen's wording (mitogen/ssh.py, mitogen/parent.py)
        ("Host key checking is enabled, and SSH reported an unrecognized or mismatching host key.", "host key"),
        ("error occurred on host lab-l4-1: SSH authentication is incorrect", "key refused"),
        ("Connection timed out.", "unreachable"),
        # apt through ansible.builtin.apt
        ("E: Unable to locate package nvidia-driver-550-server", "package"),
        ("no available installation candidate for nvidia-fabricmanager-550=550.127.05-0ubuntu1", "package"),
        ("No available installation candidate for datacenter-gpu-manager", "package"),
        ("No package matching 'nvidia-container-toolkit' is available", "package"),
    ],
)
def test_hint_names_the_family(message: str, family: str) -> None:
    assert hint(message).startswith(HINTS[family])


def test_hint_order_host_key_before_refused_key() -> None:
    both = "Host key verification failed.\r\nPermission denied (publickey)."
    assert hint(both).startswith(HINTS["host key"])


@pytest.mark.parametrize(
    "message",
    ["", "non-zero return code", "MODULE FAILURE", "Timeout (12s) waiting for privilege escalation prompt: "],
)
def test_hint_is_empty_for_other_failures(message: str) -> None:
    # Ansible's privilege-escalation timeout says "Timeout", not "timed out": it is not a network fault.
    assert hint(message) == ""


# ----- default_forks -----


@pytest.mark.parametrize(
    ("cpus", "hosts", "forks"),
    [(2, 0, 1), (2, 1, 1), (2, 5, 5), (2, 8, 8), (2, 9, 8), (2, 100, 8), (16, 100, 64), (None, 100, 8), (1, 3, 3)],
)
def test_default_forks(monkeypatch: pytest.MonkeyPatch, cpus: int | None, hosts: int, forks: int) -> None:
    monkeypatch.setattr(runner.os, "cpu_count", lambda: cpus)
    assert default_forks(hosts) == forks


# ----- artifacts -----


def test_stdout_error_without_stdout(tmp_path: Path) -> None:
    assert _stdout_error(tmp_path) == ""


def test_stdout_error_prefers_error_lines(tmp_path: Path) -> None:
    (tmp_path / "stdout").write_text(
        "\n".join(
            [
                "PLAY [all] ****",
                "  ",
                "[ERROR]: the role 'nvidia_driver' was not found",
                "ERROR! the playbook: site.yml could not be found",
                "[WARNING]: something else",
                "[ERROR]: third",
                "[ERROR]: fourth, not shown",
                "tail line",
            ]
        )
    )
    assert _stdout_error(tmp_path) == (
        "[ERROR]: the role 'nvidia_driver' was not found "
        "ERROR! the playbook: site.yml could not be found "
        "[ERROR]: third"
    )


def test_stdout_error_falls_back_to_the_last_three_lines(tmp_path: Path) -> None:
    (tmp_path / "stdout").write_text("one\n\ntwo\n   \nthree\nfour\n\n")
    assert _stdout_error(tmp_path) == "two three four"


def test_stdout_error_is_capped_and_survives_bad_bytes(tmp_path: Path) -> None:
    (tmp_path / "stdout").write_bytes(b"ERROR! " + b"\xff" * 2000 + b"\n")
    out = _stdout_error(tmp_path)
    assert len(out) == 500
    assert out.startswith("ERROR! \ufffd")


def test_scrub_environment_keeps_only_ansible_settings(tmp_path: Path) -> None:
    command = tmp_path / "command"
    command.write_text(
        json.dumps(
            {
                "command": ["ansible-playbook", "site.yml"],
                "cwd": "/x",
                "env": {
                    "ANSIBLE_PIPELINING": "True",
                    "ANSIBLE_SSH_ARGS": "-o ControlMaster=auto",
                    "AWS_SECRET_ACCESS_KEY": "hunter2",
                    "PATH": "/usr/bin",
                    "ansible_lowercase": "not ours",
                    "HOME": "/root",
                },
            }
        )
    )
    _scrub_environment(tmp_path)
    data = json.loads(command.read_text())
    assert data["env"] == {"ANSIBLE_PIPELINING": "True", "ANSIBLE_SSH_ARGS": "-o ControlMaster=auto"}
    assert data["command"] == ["ansible-playbook", "site.yml"] and data["cwd"] == "/x"
    assert "hunter2" not in command.read_text()


def test_scrub_environment_without_env_or_file(tmp_path: Path) -> None:
    _scrub_environment(tmp_path)  # no command file: nothing to do
    assert not (tmp_path / "command").exists()
    (tmp_path / "command").write_text(json.dumps({"command": ["x"]}))
    _scrub_environment(tmp_path)
    assert json.loads((tmp_path / "command").read_text()) == {"command": ["x"], "env": {}}


# ----- pre-flight errors and overlays stop a run before anything starts -----


def test_preflight_errors_exit_1_like_validate_and_plan() -> None:
    from tests.conftest import FAILING

    with pytest.raises(runner.PreflightError) as err:
        runner.provision(FAILING)
    assert err.value.exit_code == 1
    assert err.value.message.startswith("the site has pre-flight errors; nothing was provisioned:")


def test_a_target_outside_the_overlay_is_refused(tmp_path: Path) -> None:
    from gpuctl.provision.inventory import Overlay

    overlay = Overlay(
        name="lab",
        ssh_config=tmp_path / "ssh_config",
        hosts=frozenset({"lab-l4-1"}),
        where="the running lab (started from x, rack lab-a)",
    )
    with pytest.raises(runner.ProvisionError) as err:
        runner.provision(ROOT / "inventories" / "lab" / "site.yaml", "l40s", overlay=overlay)
    assert err.value.message == (
        "lab-l40s-1, lab-l40s-2 not in the running lab (started from x, rack lab-a): provision a target inside it"
    )
    assert err.value.exit_code == 2


# ----- the tools gpuctl runs -----


def _executable(path: Path) -> Path:
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return path


def test_ansible_playbook_is_found_beside_the_interpreter_without_activation(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    venv_bin = tmp_path / "venv" / "bin"
    venv_bin.mkdir(parents=True)
    python = _executable(venv_bin / "python")
    playbook = _executable(venv_bin / "ansible-playbook")
    other = tmp_path / "other"
    other.mkdir()
    ssh = _executable(other / "ssh")
    monkeypatch.setattr(runner.sys, "executable", str(python))
    monkeypatch.setenv("PATH", str(other))  # not activated: the venv's bin is not on PATH
    assert runner.require_tools() == {"ansible-playbook": str(playbook), "ssh": str(ssh)}
    assert runner.ansible_env(tmp_path / "state")["PATH"].split(":")[:2] == [str(venv_bin), str(other)]


def test_a_missing_ansible_playbook_names_what_to_install(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    python = _executable(bin_dir / "python")
    _executable(bin_dir / "ssh")
    monkeypatch.setattr(runner.sys, "executable", str(python))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(runner.ToolMissing) as err:
        runner.require_tools()
    assert err.value.exit_code == 2
    assert err.value.message == (
        f"ansible-playbook not found beside {python} or on PATH: install gpuctl with its provisioning extra into "
        f"the same environment (`{python} -m pip install 'gpuctl[provision]'`, or `pipx install 'gpuctl[provision]'`)"
    )


# ----- day 2: the spec owns versions, one run per site -----


def test_version_overrides_are_refused_naming_the_spec_field() -> None:
    with pytest.raises(runner.SpecOwned) as err:
        runner.refuse_spec_owned({"nvidia_driver_version": "550.144.03-0ubuntu1", "gpuctl_max_unavailable": 1})
    assert err.value.exit_code == 2
    assert "nvidia_driver_version -> provisioning.driver_version" in err.value.message
    runner.refuse_spec_owned({"gpuctl_max_unavailable": 1})  # not a version: allowed


def test_a_second_run_of_the_same_site_is_refused_naming_the_first(tmp_path: Path) -> None:
    import multiprocessing
    import time

    ready = multiprocessing.Event()
    done = multiprocessing.Event()

    def hold() -> None:
        with runner.site_lock(tmp_path, "lab"):
            ready.set()
            done.wait(30)

    proc = multiprocessing.get_context("fork").Process(target=hold)
    proc.start()
    try:
        assert ready.wait(30)
        with pytest.raises(runner.ProvisionLocked) as err, runner.site_lock(tmp_path, "lab"):
            pass
        assert err.value.exit_code == 2
        assert f"another gpuctl provision run holds site lab: pid {proc.pid}, started 20" in err.value.message
        assert "command `" in err.value.message
    finally:
        done.set()
        proc.join(30)
    time.sleep(0.1)
    with runner.site_lock(tmp_path, "lab"):  # free again once the first run ended
        pass


def test_each_run_has_its_own_control_path_directory(tmp_path: Path) -> None:
    a = runner.ansible_env(tmp_path, "run-a")["ANSIBLE_SSH_CONTROL_PATH_DIR"]
    b = runner.ansible_env(tmp_path, "run-b")["ANSIBLE_SSH_CONTROL_PATH_DIR"]
    assert a != b and Path(a).is_dir() and Path(a).stat().st_mode & 0o777 == 0o700

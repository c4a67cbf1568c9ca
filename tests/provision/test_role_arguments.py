"""site.yml checks every role's arguments in one task (action_plugins/gpuctl_role_arguments.py) and imports the
roles without Ansible's per-role check: the list is whole, and the task refuses what Ansible's own would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from gpuctl.provision.roles import PLAYBOOKS_DIR, ROLES_DIR

pytestmark = pytest.mark.skipif(
    not (Path(sys.executable).parent / "ansible-playbook").exists(), reason="needs the provision extra (ansible-core)"
)


def _site_plays() -> list[dict]:
    return yaml.safe_load((PLAYBOOKS_DIR / "site.yml").read_text())


def _imports(tasks: list[dict]) -> list[dict]:
    return [t["ansible.builtin.import_role"] for t in tasks if "ansible.builtin.import_role" in t]


def test_the_check_names_every_role_site_yml_imports_and_each_import_skips_the_per_role_check() -> None:
    first_play = _site_plays()[0]
    check = next(t for t in first_play["tasks"] if "gpuctl_role_arguments" in t)
    assert "always" in check["tags"]
    roles_yml = yaml.safe_load((PLAYBOOKS_DIR / "tasks" / "roles.yml").read_text())
    imports = _imports(first_play["tasks"]) + _imports(roles_yml)
    assert [i["name"] for i in imports] == check["gpuctl_role_arguments"]["roles"]
    assert all(i.get("rolespec_validate") is False for i in imports)
    assert not any("roles" in play for play in _site_plays()), "a play-level role gets Ansible's own check again"
    with_specs = {p.parent.parent.name for p in ROLES_DIR.glob("*/meta/argument_specs.yml")}
    assert set(check["gpuctl_role_arguments"]["roles"]) <= with_specs


CHECKED = ["base", "containerd", "dcgm", "nvidia_driver"]


def _run(tmp_path: Path, extra_vars: dict[str, object]) -> subprocess.CompletedProcess[str]:
    (tmp_path / "roles").symlink_to(ROLES_DIR)
    (tmp_path / "action_plugins").symlink_to(PLAYBOOKS_DIR / "action_plugins")
    (tmp_path / "vars.yml").write_text(yaml.safe_dump(extra_vars))
    (tmp_path / "check.yml").write_text(
        yaml.safe_dump(
            [
                {
                    "name": "Check",
                    "hosts": "localhost",
                    "connection": "local",
                    "gather_facts": False,
                    "tasks": [
                        {
                            "name": "Check",
                            "gpuctl_role_arguments": {"roles": ["base", "containerd", "dcgm", "nvidia_driver"]},
                        }
                    ],
                }
            ]
        )
    )
    env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_LOCALHOST_WARNING": "False"}
    return subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "-i",
            "localhost,",
            "check.yml",
            "-v",
            "-e",
            "@vars.yml",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_roles_defaults_pass(tmp_path: Path) -> None:
    out = _run(tmp_path, {"unrelated": 1})
    assert out.returncode == 0, out.stdout[-2000:]
    assert "arguments of 4 roles valid" in out.stdout


def test_a_wrong_type_is_refused_naming_the_role_and_the_argument(tmp_path: Path) -> None:
    out = _run(tmp_path, {"base_hugepages_2m": "lots", "dcgm_exporter_port": [1]})
    assert out.returncode != 0
    assert "role base:" in out.stdout and "base_hugepages_2m" in out.stdout
    assert "role dcgm:" in out.stdout and "dcgm_exporter_port" in out.stdout
    assert "role containerd:" not in out.stdout


def test_a_templated_value_is_checked_after_templating(tmp_path: Path) -> None:
    out = _run(tmp_path, {"some_word": "lots", "base_hugepages_2m": "{{ some_word }}"})
    assert out.returncode != 0
    assert "base_hugepages_2m" in out.stdout

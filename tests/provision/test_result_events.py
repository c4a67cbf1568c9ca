"""gpuctl's awx_display subclass (provision/ansible_plugins/callback): with Ansible's display_ok_hosts /
display_skipped_hosts off, as `gpuctl provision` runs, only the results a run is read for become events; with them
on (burn-in) every result does. Run through ansible-runner with gpuctl's own Ansible settings, on localhost."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

pytest.importorskip("ansible_runner")
pytestmark = pytest.mark.skipif(
    not (Path(sys.executable).parent / "ansible-playbook").exists(), reason="needs the provision extra (ansible-core)"
)

PLAY = [
    {
        "name": "Events",
        "hosts": "localhost",
        "connection": "local",
        "gather_facts": False,
        "tasks": [
            {"name": "Unchanged", "ansible.builtin.command": "true", "changed_when": False},
            {"name": "Changed", "ansible.builtin.command": "true", "changed_when": True},
            {"name": "Skipped", "ansible.builtin.command": "true", "when": False},
            {
                "name": "Items",
                "ansible.builtin.command": "echo {{ item }}",
                "loop": ["same", "new"],
                "changed_when": "item == 'new'",
            },
            {"name": "Mark the host finished", "ansible.builtin.debug": {"msg": "done"}},
        ],
    }
]


def _events(tmp_path: Path, every_result: bool) -> tuple[list[dict[str, Any]], dict[str, Any], str]:
    import ansible_runner

    from gpuctl.provision.runner import ansible_env

    project = tmp_path / "project"
    project.mkdir()
    (tmp_path / "runner").mkdir()
    (project / "play.yml").write_text(yaml.safe_dump(PLAY))
    env = ansible_env(tmp_path / "state", "run", every_result)
    env["ANSIBLE_PYTHON_INTERPRETER"] = sys.executable
    events: list[dict[str, Any]] = []
    r = ansible_runner.run(
        private_data_dir=str(tmp_path / "runner"),
        project_dir=str(project),
        playbook="play.yml",
        inventory="localhost,",
        envvars=env,
        quiet=True,
        event_handler=lambda e: events.append(e) or True,
    )
    assert r.status == "successful", r.stdout.read()
    return events, r.stats, Path(r.config.artifact_dir, "stdout").read_text()


def _results(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    kinds = ("runner_on_ok", "runner_on_skipped", "runner_item_on_ok", "runner_on_start")
    return [(e["event"], e["event_data"]["task"]) for e in events if e["event"] in kinds]


def test_provision_runs_emit_only_changed_results_and_messages(tmp_path: Path) -> None:
    events, stats, stdout = _events(tmp_path, every_result=False)
    assert _results(events) == [
        ("runner_on_ok", "Changed"),
        ("runner_item_on_ok", "Items"),
        ("runner_on_ok", "Items"),
        ("runner_on_ok", "Mark the host finished"),
    ]
    item = next(e for e in events if e["event"] == "runner_item_on_ok")
    assert item["event_data"]["res"]["item"] == "new"
    starts = [e["event_data"]["task"] for e in events if e["event"] == "playbook_on_task_start"]
    assert starts == ["Unchanged", "Changed", "Skipped", "Items", "Mark the host finished"]
    # the recap still counts every task
    assert stats["ok"] == {"localhost": 4} and stats["changed"] == {"localhost": 2}
    assert stats["skipped"] == {"localhost": 1}
    assert stdout.count("ok: [localhost]") == 1, "only the debug message's line"
    assert '"msg": "done"' in stdout
    assert "changed: [localhost]" in stdout


def test_burnin_runs_emit_every_result_but_no_start_events(tmp_path: Path) -> None:
    events, _, _ = _events(tmp_path, every_result=True)
    assert _results(events) == [
        ("runner_on_ok", "Unchanged"),
        ("runner_on_ok", "Changed"),
        ("runner_on_skipped", "Skipped"),
        ("runner_item_on_ok", "Items"),
        ("runner_item_on_ok", "Items"),
        ("runner_on_ok", "Items"),
        ("runner_on_ok", "Mark the host finished"),
    ]

"""gpuctl's strategy plugin skips false-`when` host-tasks in the controller: a playbook of conditional shapes gives the
same per-host results and registered values under it as under Ansible's own linear strategy, and the plugin reports
exactly which host-tasks it decided without a worker. Local connection on two inventory hosts: no lab needed."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from gpuctl.provision.runner import STRATEGY_PLUGINS

PLAYBOOK = """
- name: Conditional shapes
  hosts: all
  gather_facts: false
  vars:
    flag_true: true
    flag_false: false
  handlers:
    - name: Handler with a false condition
      ansible.builtin.debug:
        msg: handler
      when: flag_false
  tasks:
    - name: False condition
      ansible.builtin.command: /bin/false
      when: flag_false
      register: skipped_command
      changed_when: false
    - name: True condition
      ansible.builtin.set_fact:
        ran_true: "{{ inventory_hostname }}"
      when: flag_true
      notify: Handler with a false condition
      changed_when: true
    - name: The registered skip result
      ansible.builtin.set_fact:
        seen_skip: "{{ skipped_command }}"
    - name: Per host
      ansible.builtin.debug:
        msg: only h1
      when: inventory_hostname == 'h1'
    - name: Several conditions, the second false
      ansible.builtin.debug:
        msg: never
      when:
        - flag_true
        - not flag_true
    - name: A variable Ansible adds from the play context in the worker
      ansible.builtin.debug:
        msg: runs
      when: ansible_pipelining is defined
    - name: Undefined variable tested for definition
      ansible.builtin.debug:
        msg: never
      when: not_defined_anywhere is defined
    - name: Undefined variable used
      ansible.builtin.debug:
        msg: never
      when: not_defined_anywhere
      ignore_errors: true
    - name: Loop with a per-item condition
      ansible.builtin.debug:
        msg: "{{ item }}"
      loop: [1, 2]
      when: item == 2
    - name: Block with a false condition
      when: flag_false
      block:
        - name: Inside the block
          ansible.builtin.debug:
            msg: never
    - name: Run once, false
      ansible.builtin.debug:
        msg: never
      run_once: true
      when: flag_false
    - name: Included tasks, false
      ansible.builtin.include_tasks: missing-file-never-read.yml
      when: flag_false
    - name: Delegated, false
      ansible.builtin.debug:
        msg: never
      delegate_to: h1
      when: flag_false
    - name: Delegated to an undefined host, false
      ansible.builtin.debug:
        msg: never
      delegate_to: "{{ not_defined_anywhere }}"
      when: flag_false
      ignore_errors: true
    - name: Delegated, naming the delegated host's variables
      ansible.builtin.debug:
        msg: runs
      delegate_to: h2
      when: ansible_delegated_vars is defined
    - name: A lookup that acts, true
      ansible.builtin.debug:
        msg: runs
      when: lookup('ansible.builtin.pipe', 'echo x >> lookup-calls; echo yes') == 'yes'
    - name: Only in check mode
      ansible.builtin.debug:
        msg: check mode
      when: ansible_check_mode
    - name: Secret task skipped
      ansible.builtin.debug:
        msg: never
      no_log: true
      when: flag_false
      register: secret_skip
    - name: The registered no-log skip
      ansible.builtin.set_fact:
        seen_secret_skip: "{{ secret_skip }}"
"""

# Records every result the strategy hands to callbacks (ansible.posix's json callback is not in ansible-core).
RECORDER = """
import json, os
from ansible.plugins.callback import CallbackBase

class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "record"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.results = []

    def _add(self, status, result):
        data = json.loads(json.dumps(result._result, default=str))
        self.results.append({"task": result.task_name, "host": result._host.name, "status": status, "result": data})

    def v2_runner_on_ok(self, result):
        self._add("ok", result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._add("failed", result)

    def v2_runner_on_skipped(self, result):
        self._add("skipped", result)

    def v2_playbook_on_stats(self, stats):
        hosts = sorted(stats.processed)
        summary = {h: stats.summarize(h) for h in hosts}
        with open(os.environ["RECORD_FILE"], "w") as out:
            json.dump({"results": self.results, "stats": summary}, out)
"""

INVENTORY = "[lab]\nh1 ansible_connection=local\nh2 ansible_connection=local\n"
SKIPPED_IN_CONTROLLER = re.compile(r"gpuctl strategy: (\d+) of (\d+) host-tasks skipped in the controller")


def run_playbook(tmp_path: Path, strategy: str, *options: str) -> tuple[dict[str, Any], str, Path]:
    (tmp_path / "play.yml").write_text(PLAYBOOK)
    (tmp_path / "hosts").write_text(INVENTORY)
    (tmp_path / "callbacks").mkdir()
    (tmp_path / "callbacks" / "record.py").write_text(RECORDER)
    env = {
        **os.environ,
        "ANSIBLE_CALLBACK_PLUGINS": str(tmp_path / "callbacks"),
        "ANSIBLE_CALLBACKS_ENABLED": "record",
        "RECORD_FILE": str(tmp_path / "record.json"),
        "ANSIBLE_STRATEGY_PLUGINS": str(STRATEGY_PLUGINS),
        "ANSIBLE_STRATEGY": strategy,
        "GPUCTL_STRATEGY_BASE": "linear",
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"),
        "ANSIBLE_HOME": str(tmp_path / "home"),
        "ANSIBLE_NOCOLOR": "1",
    }
    playbook = Path(sys.executable).parent / "ansible-playbook"
    proc = subprocess.run(
        [str(playbook), "-vv", *options, "-i", str(tmp_path / "hosts"), str(tmp_path / "play.yml")],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return json.loads((tmp_path / "record.json").read_text()), proc.stdout, tmp_path


def outcomes(report: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """Task name -> host -> what a user or a later task sees of the result (timing and paths left out)."""
    kept = ("changed", "skipped", "failed", "skip_reason", "false_condition", "msg", "_ansible_no_log", "censored")
    seen: dict[str, dict[str, dict[str, Any]]] = {}
    for record in report["results"]:
        result = record["result"]
        view = {"status": record["status"]} | {key: result[key] for key in kept if key in result}
        if "results" in result:
            view["items"] = [(item.get("item"), item.get("skipped", False)) for item in result["results"]]
        view["facts"] = result.get("ansible_facts", {})
        seen.setdefault(record["task"], {})[record["host"]] = view
    return seen


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict[str, Any], str, Path]]:
    runs = {name: run_playbook(tmp_path_factory.mktemp(name), name) for name in ("linear", "gpuctl")}
    for name in ("linear", "gpuctl"):
        runs[f"{name} --check"] = run_playbook(tmp_path_factory.mktemp(name), name, "--check")
    return runs


def test_results_match_ansible_linear(reports: dict[str, tuple[dict[str, Any], str, Path]]) -> None:
    for mode in ("", " --check"):
        linear, gpuctl = reports["linear" + mode][0], reports["gpuctl" + mode][0]
        assert outcomes(gpuctl) == outcomes(linear)
        assert gpuctl["stats"] == linear["stats"]
    assert outcomes(reports["gpuctl --check"][0])["Only in check mode"]["h1"]["status"] == "ok"
    assert outcomes(reports["gpuctl"][0])["Only in check mode"]["h1"]["status"] == "skipped"


def test_shapes_behave_as_ansible_defines_them(reports: dict[str, tuple[dict[str, Any], str, Path]]) -> None:
    seen = outcomes(reports["gpuctl"][0])
    skip = seen["The registered skip result"]["h1"]["facts"]["seen_skip"]
    assert skip["skipped"] is True and skip["changed"] is False
    assert skip["skip_reason"] == "Conditional result was False"
    assert skip["false_condition"] == "flag_false"
    assert seen["A variable Ansible adds from the play context in the worker"]["h1"]["status"] == "ok"
    assert seen["Per host"]["h1"]["status"] == "ok" and seen["Per host"]["h2"]["status"] == "skipped"
    assert seen["Undefined variable used"]["h1"]["status"] == "failed"
    assert seen["Secret task skipped"]["h2"]["censored"]
    assert seen["Delegated to an undefined host, false"]["h1"]["status"] == "failed"
    assert seen["Delegated, naming the delegated host's variables"]["h2"]["status"] == "ok"
    assert seen["Handler with a false condition"]["h1"]["status"] == "skipped"


def test_reports_exactly_the_host_tasks_it_skipped(reports: dict[str, tuple[dict[str, Any], str, Path]]) -> None:
    counts = [tuple(map(int, m)) for m in SKIPPED_IN_CONTROLLER.findall(reports["gpuctl"][1])]
    # 2 hosts each: False condition, Several conditions, Undefined variable tested for definition, Inside the block,
    # Included tasks, Delegated false, Only in check mode, Secret task skipped, the handler; 1 each: Per host (h2),
    # Run once. Forked: the play-context variable, the undefined variable (raises), the loop, the undefined
    # delegate_to, the delegated host's variables, the lookup, and every true condition: 39 host-tasks in all.
    assert counts == [(20, 39)]


def test_a_lookup_in_a_condition_acts_once_per_host(reports: dict[str, tuple[dict[str, Any], str, Path]]) -> None:
    for name, (_, _, directory) in reports.items():
        assert (directory / "lookup-calls").read_text() == "x\nx\n", name
    assert not SKIPPED_IN_CONTROLLER.findall(reports["linear"][1])

"""ansible-runner's event callback, emitting only the results a run is read for.

ansible-runner always makes its own `awx_display` the stdout callback; gpuctl puts this directory first on
ANSIBLE_CALLBACK_PLUGINS, so Ansible loads this subclass under that name. Each event costs ansible-playbook's main
thread (the one that also forks every worker, so the run's bottleneck on a no-change run) a JSON dump, a file in
job_events and a base64 write to stdout, and gpuctl a decode:
- per-host `runner_on_start` events are never emitted: they carry no result, only the host and task the result
  event names again (the start time still goes into each result's duration);
- with Ansible's own `display_ok_hosts` / `display_skipped_hosts` options off (ANSIBLE_DISPLAY_OK_HOSTS,
  ANSIBLE_DISPLAY_SKIPPED_HOSTS, which `gpuctl provision` sets), an unchanged result or a skipped one emits no
  event either, as the default callback then prints no line for it. Changed, failed and unreachable results, task
  and play starts, `debug` messages (event and line: the host-finished marker, the warnings the roles say) and the
  recap stay; the recap's per-host counts (ok, skipped) still count every task. `gpuctl burnin` reads unchanged
  results and leaves both options on.
"""

from __future__ import annotations

from typing import Any

from ansible_runner.display_callback.callback import awx_display as runner_display

DOCUMENTATION = runner_display.DOCUMENTATION

# Results of these actions are messages: always emitted.
ALWAYS_EMITTED = frozenset({"debug", "ansible.builtin.debug", "ansible.legacy.debug"})


class CallbackModule(runner_display.CallbackModule):  # type: ignore[misc]
    def v2_runner_on_start(self, host: Any, task: Any) -> None:
        self._host_start[host.get_name()] = runner_display.current_time()

    def _unshown(self, result: Any, option: str) -> bool:
        if self.get_option(option) or result._task.action in ALWAYS_EMITTED:
            return False
        self._host_start.pop(result._host.get_name(), None)
        return True

    def v2_runner_on_ok(self, result: Any) -> None:
        if result._task.action in ALWAYS_EMITTED and not self.get_option("display_ok_hosts"):
            # a message: its line too (the default callback prints no unchanged result with the option off)
            self.set_option("display_ok_hosts", True)
            try:
                super().v2_runner_on_ok(result)
            finally:
                self.set_option("display_ok_hosts", False)
        elif result._result.get("changed", False) or not self._unshown(result, "display_ok_hosts"):
            super().v2_runner_on_ok(result)

    def v2_runner_on_skipped(self, result: Any) -> None:
        if not self._unshown(result, "display_skipped_hosts"):
            super().v2_runner_on_skipped(result)

    def v2_runner_item_on_ok(self, result: Any) -> None:
        if result._result.get("changed", False) or self.get_option("display_ok_hosts"):
            super().v2_runner_item_on_ok(result)

    def v2_runner_item_on_skipped(self, result: Any) -> None:
        if self.get_option("display_skipped_hosts"):
            super().v2_runner_item_on_skipped(result)

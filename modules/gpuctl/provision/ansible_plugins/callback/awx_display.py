"""ansible-runner's event callback without the per-host `runner_on_start` events.

ansible-runner always makes its own `awx_display` the stdout callback; gpuctl puts this directory first on
ANSIBLE_CALLBACK_PLUGINS, so Ansible loads this subclass under that name. A start event carries no result (only
the host and task a result event names again), yet each one costs the controller a JSON dump, a base64 write to
stdout and a file in job_events, and gpuctl a decode: about a third of a run's events. Nothing gpuctl reads
(journal, summary, --resume, progress) uses them; the start time still goes into each result's duration.
"""

from __future__ import annotations

from typing import Any

from ansible_runner.display_callback.callback import awx_display as runner_display

DOCUMENTATION = runner_display.DOCUMENTATION


class CallbackModule(runner_display.CallbackModule):  # type: ignore[misc]
    def v2_runner_on_start(self, host: Any, task: Any) -> None:
        self._host_start[host.get_name()] = runner_display.current_time()

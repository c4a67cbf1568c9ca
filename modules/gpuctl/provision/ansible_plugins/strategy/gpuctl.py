"""gpuctl's Ansible strategy: the strategy named in GPUCTL_STRATEGY_BASE (mitogen_linear, linear, free...) that
skips a task for a host without starting a worker process when the task's `when` is false.

Ansible forks one worker process per host and task, and the worker decides whether the task runs
(TaskExecutor._execute_internal evaluates `when` there). A task skipped for a host costs as much controller time as
one that runs: in a no-change run of the lab's 16 hosts, 224 of 1,184 host-tasks are skipped. This strategy
evaluates the same conditional with the same variables in the controller first and, when it is false, hands the
strategy the result the worker would have sent (changed false, skipped, the false condition) without forking.

It decides only where the answer cannot differ from the worker's; everything else goes to a worker as before:
- tasks with a loop (`when` is evaluated per item);
- a delegate_to that does not template to a host name (the worker fails on it before the conditional,
  TaskExecutor._calculate_delegate_to); otherwise the worker evaluates `when` with the task's own host's variables
  plus `ansible_delegated_vars`, so a conditional that names that variable goes to a worker too;
- conditionals that name a connection variable (the worker adds those from the play context before evaluating,
  ansible/playbook/play_context.py PlayContext.update_vars), or call a lookup (it could act twice);
- conditionals that raise, or are true.
A skipped include is the same skip result (the strategy includes nothing for it, ansible/playbook/included_file.py).
"""

from __future__ import annotations

import os
import re
from typing import Any

from ansible import constants as C
from ansible.plugins.loader import strategy_loader
from ansible.utils.display import Display

try:
    from ansible._internal._templating._engine import TemplateEngine
    from ansible.executor.task_result import _WireTaskResult
except ImportError:  # ansible-core before 2.19 passes results differently: every task goes to a worker
    TemplateEngine = _WireTaskResult = None

display = Display()
BASE = os.environ.get("GPUCTL_STRATEGY_BASE") or "linear"
_Base: Any = strategy_loader.get(BASE, class_only=True)
if _Base is None:
    raise ImportError(f"gpuctl strategy: base strategy '{BASE}' not found on ANSIBLE_STRATEGY_PLUGINS")

WORKER_VARIABLES = frozenset(name for names in C.MAGIC_VARIABLE_MAPPING.values() for name in names) | {
    "ansible_delegated_vars"
}
# A lookup may act (pipe runs a command, password writes a file): evaluated here and again in a worker when true, it
# would act twice.
LOOKUPS = frozenset({"lookup", "query", "q"})
NOT_IN_CONTROLLER = WORKER_VARIABLES | LOOKUPS
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SKIP_REASON = "Conditional result was False"


def decidable_in_controller(task: Any) -> bool:
    if not task.when or task.loop is not None or task.loop_with:
        return False
    for condition in task.when:
        if not isinstance(condition, str | bool):
            return False
        if isinstance(condition, str) and not NOT_IN_CONTROLLER.isdisjoint(IDENTIFIER.findall(condition)):
            return False
    return True


class StrategyModule(_Base):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.skipped_in_controller = 0
        self.queued = 0

    def run(self, iterator: Any, play_context: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().run(iterator, play_context, *args, **kwargs)
        finally:
            display.vv(
                f"gpuctl strategy: {self.skipped_in_controller} of {self.queued} host-tasks skipped in the controller"
            )

    def _queue_task(self, host: Any, task: Any, task_vars: Any, play_context: Any) -> Any:
        self.queued += 1
        if _WireTaskResult is not None and decidable_in_controller(task):
            skipped = self._skip_result(task, task_vars, self._loader)
            if skipped is not None:
                self._hand_over(host, task, task_vars, play_context, skipped)
                self.skipped_in_controller += 1
                return None
        return super()._queue_task(host, task, task_vars, play_context)

    @staticmethod
    def _skip_result(task: Any, task_vars: dict[str, Any], loader: Any) -> dict[str, Any] | None:
        """The worker's result for a false conditional (TaskExecutor._execute_internal and run), or None to fork."""
        context: dict[str, Any] = {}
        templar = TemplateEngine(loader=loader, variables=task_vars)
        try:
            if task.delegate_to:
                delegated_host = templar.template(task.delegate_to)
                if not isinstance(delegated_host, str) or not delegated_host:
                    return None
            if task._resolve_conditional(task.when, task_vars, result_context=context):
                return None
        except Exception:  # the worker raises the same error with its full report
            return None
        result = {"changed": False, "skipped": True, "skip_reason": SKIP_REASON} | context
        task.update_result_no_log(templar, result)
        return result

    def _hand_over(self, host: Any, task: Any, task_vars: Any, play_context: Any, result: dict[str, Any]) -> None:
        """What _queue_task and the worker do for a result, without the worker: the strategy's pending-result
        bookkeeping, the start callback, and the result on the list the results thread fills."""
        self._queued_task_cache[(host.name, task._uuid)] = {
            "host": host,
            "task": task,
            "task_vars": task_vars,
            "play_context": play_context,
        }
        self._tqm.send_callback("v2_runner_on_start", host, task)
        wire = _WireTaskResult(
            host_name=host.name, task_uuid=task._uuid, return_data=result, task_fields=task.dump_attrs()
        )
        raw = self._convert_wire_task_result_to_raw(wire)
        self._pending_results += 1
        with self._results_lock:
            self._results.append(raw)

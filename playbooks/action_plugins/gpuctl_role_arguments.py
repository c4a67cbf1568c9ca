"""Validate several roles' arguments against their meta/argument_specs.yml in one task.

Ansible prepends a `validate_argument_spec` task to every role that has an argument spec; on a run of every role
that is one more worker process per host and role (10 per host in site.yml) for checks that read only variables.
site.yml imports its roles with `rolespec_validate: false` and runs this once per host instead: the same validator
(ansible.module_utils.common.arg_spec.ArgumentSpecValidator, with validate_role_argument_spec as Ansible's own
task passes it), the same values (the host's variables over each role's defaults/main.yml, templated), and every
role's errors in one message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ansible.errors import AnsibleError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

DOCUMENTATION = """
module: gpuctl_role_arguments
short_description: Validate roles' arguments against their meta/argument_specs.yml (main entry point)
options:
  roles:
    description: Role names, looked up under the playbook directory's roles/.
    type: list
    elements: str
    required: true
"""


class ActionModule(ActionBase):  # type: ignore[misc]
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        roles = self._task.args.get("roles")
        if not isinstance(roles, list) or not roles:
            raise AnsibleError("gpuctl_role_arguments needs `roles`, a list of role names")
        roles_dir = Path(task_vars.get("playbook_dir", ".")) / "roles"
        specs = {str(role): self._options(roles_dir, str(role)) for role in roles}
        defaults = {role: self._defaults(roles_dir, role, options) for role, options in specs.items()}
        # Templated as inside the roles: a default may name another role's default (in the play, every role's
        # defaults are visible), and the host's variables take precedence over all of them.
        templar = self._templar.copy_with_new_env(
            available_variables={k: v for d in defaults.values() for k, v in d.items()} | task_vars
        )
        errors: list[str] = []
        for role, options in specs.items():
            values = defaults[role] | {name: task_vars[name] for name in options if name in task_vars}
            checked = ArgumentSpecValidator(options).validate(
                templar.template(values), validate_role_argument_spec=True
            )
            errors.extend(f"role {role}: {message}" for message in checked.error_messages)
        if errors:
            result.update(
                failed=True, argument_errors=errors, msg="Validation of arguments failed:\n" + "\n".join(errors)
            )
        else:
            result.update(changed=False, msg=f"arguments of {len(roles)} roles valid")
        return result

    def _options(self, roles_dir: Path, role: str) -> dict[str, Any]:
        path = roles_dir / role / "meta" / "argument_specs.yml"
        if not path.is_file():
            raise AnsibleError(f"role {role}: no {path}")
        specs = self._loader.load_from_file(str(path)) or {}
        main = (specs.get("argument_specs") or {}).get("main") or {}
        return dict(main.get("options") or {})

    def _defaults(self, roles_dir: Path, role: str, options: dict[str, Any]) -> dict[str, Any]:
        path = roles_dir / role / "defaults" / "main.yml"
        defaults = (self._loader.load_from_file(str(path)) or {}) if path.is_file() else {}
        return {name: value for name, value in defaults.items() if name in options}

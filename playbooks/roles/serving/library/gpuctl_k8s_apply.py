#!/usr/bin/python
"""Ansible module: server-side apply of Kubernetes objects with the `kubernetes` Python client."""

from __future__ import annotations

DOCUMENTATION = r"""
module: gpuctl_k8s_apply
short_description: Server-side apply Kubernetes objects through the API
description:
  - Applies each object with a server-side apply PATCH (field manager, conflicts forced) and reports which changed.
options:
  kubeconfig:
    description: Path of the kubeconfig.
    type: path
    required: true
  objects:
    description: Kubernetes objects (dicts with apiVersion, kind, metadata).
    type: list
    elements: dict
    required: true
  field_manager:
    description: Field manager name.
    type: str
    default: gpuctl
author: gpuctl
"""

import json

from ansible.module_utils.basic import AnsibleModule


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "kubeconfig": {"type": "path", "required": True},
            "objects": {"type": "list", "elements": "dict", "required": True},
            "field_manager": {"type": "str", "default": "gpuctl"},
        },
        supports_check_mode=True,
    )
    try:
        from gpuctl.provision.k8s_api import apply_objects
    except ImportError as exc:
        module.fail_json(msg=f"the controller's Python lacks gpuctl or kubernetes: {exc}")
    try:
        changed = apply_objects(
            module.params["kubeconfig"],
            module.params["objects"],
            module.params["field_manager"],
            dry_run=module.check_mode,
        )
    except Exception as exc:
        module.fail_json(msg=f"applying the serving manifests failed: {exc}")
    module.exit_json(
        changed=bool(changed), applied=changed, objects=len(module.params["objects"]), summary=json.dumps(changed)
    )


if __name__ == "__main__":
    main()

#!/usr/bin/python
"""Ansible module: cordon, drain and uncordon a node through the Kubernetes API."""

from __future__ import annotations

DOCUMENTATION = r"""
module: gpuctl_k8s_node
short_description: Cordon, drain (evictions honour PodDisruptionBudgets), uncordon, or label and taint a node
options:
  kubeconfig:
    description: Path of the kubeconfig.
    type: path
    required: true
  name:
    description: Node name.
    type: str
    required: true
  state:
    description: >-
      drained (cordon, then evict every pod but DaemonSet and mirror pods), schedulable (uncordon a node provisioning
      cordoned), configured (the node's labels and taints as given; those provisioning set before and no longer
      gives are removed) or queried (report whether provisioning's cordon mark is on the node; changes nothing).
    type: str
    choices: [drained, schedulable, configured, queried]
    required: true
  labels:
    description: With state=configured, the node labels.
    type: dict
    default: {}
  taints:
    description: With state=configured, the node taints (key, value, effect).
    type: list
    elements: dict
    default: []
  timeout_s:
    description: How long to wait for evicted pods to be gone.
    type: int
    default: 600
author: gpuctl
"""

from ansible.module_utils.basic import AnsibleModule


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "kubeconfig": {"type": "path", "required": True},
            "name": {"type": "str", "required": True},
            "state": {"type": "str", "choices": ["drained", "schedulable", "configured", "queried"], "required": True},
            "labels": {"type": "dict", "default": {}},
            "taints": {"type": "list", "elements": "dict", "default": []},
            "timeout_s": {"type": "int", "default": 600},
        },
        supports_check_mode=True,
    )
    try:
        from gpuctl.provision.k8s_api import configure_node, cordoned_by_provisioning, drain, uncordon
    except ImportError as exc:
        module.fail_json(msg=f"the controller's Python lacks gpuctl or kubernetes: {exc}")
    p = module.params
    try:
        if p["state"] == "queried":
            module.exit_json(
                changed=False, cordoned_by_provisioning=cordoned_by_provisioning(p["kubeconfig"], p["name"])
            )
        if p["state"] == "configured":
            changed = configure_node(p["kubeconfig"], p["name"], p["labels"], p["taints"], dry_run=module.check_mode)
            module.exit_json(changed=changed)
        if p["state"] == "drained":
            changed, evicted = drain(p["kubeconfig"], p["name"], p["timeout_s"], dry_run=module.check_mode)
            module.exit_json(changed=changed, evicted=evicted)
        changed = uncordon(p["kubeconfig"], p["name"], dry_run=module.check_mode)
        module.exit_json(changed=changed)
    except Exception as exc:
        module.fail_json(msg=f"{p['state']} {p['name']} failed: {exc}")


if __name__ == "__main__":
    main()

#!/usr/bin/python
"""Ansible module: which packages apt cannot install yet, for check mode on a fresh host."""

from __future__ import annotations

DOCUMENTATION = r"""
module: gpuctl_apt_pending
short_description: Report the packages apt's index cannot resolve yet (check mode before their repository exists)
description:
  - In check mode apt cannot resolve a package whose repository the same run would add first, so the apt module
    fails on a fresh host. Run in check mode, this module reads the host's package index (python3-apt, changes
    nothing) and reports each package that is neither installed at the requested version nor available from the
    index as a change the real run would make; the role then skips the install and what depends on it.
options:
  name:
    description: Packages as the apt module takes them, C(name) or C(name=version).
    type: list
    elements: str
    required: true
author: gpuctl
"""

from typing import Any

from ansible.module_utils.basic import AnsibleModule


def resolvable(cache: Any, spec: str) -> bool:
    """`spec` (name or name=version) is installed at that version, or the index has it."""
    name, _, version = spec.partition("=")
    pkg = cache.get(name)
    if pkg is None:
        return False
    installed = pkg.installed.version if pkg.installed else None
    if version:
        return installed == version or version in {v.version for v in pkg.versions}
    return installed is not None or pkg.candidate is not None


def main() -> None:
    module = AnsibleModule(
        argument_spec={"name": {"type": "list", "elements": "str", "required": True}},
        supports_check_mode=True,
    )
    try:
        import apt
    except ImportError:
        module.fail_json(msg="python3-apt is missing on the host: install it (apt-get install python3-apt)")
    cache = apt.Cache()
    pending = [spec for spec in module.params["name"] if not resolvable(cache, spec)]
    module.exit_json(
        changed=bool(pending),
        unresolved=pending,
        msg=(f"would install {', '.join(pending)} once its repository is added" if pending else "all resolvable"),
    )


if __name__ == "__main__":
    main()

"""The Pod Security Standards' checks (render/security/pss.py): each control on a pod that breaks it alone, a pod
that passes Restricted, and the level of what gpuctl renders (the namespace labels are computed from it)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from gpuctl.loader import load_site
from gpuctl.render import objects
from gpuctl.render.security import k8s, pss
from tests.conftest import EXAMPLE

SC = {"runAsNonRoot": True, "allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
      "seccompProfile": {"type": "RuntimeDefault"}}  # fmt: skip
RESTRICTED: dict[str, Any] = {
    "containers": [{"name": "c", "image": "i", "securityContext": SC, "ports": [{"containerPort": 80}]}],
    "volumes": [{"name": "v", "emptyDir": {}}, {"name": "s", "secret": {"secretName": "x"}}],
}


def _with(path: str, value: Any) -> dict[str, Any]:
    spec = copy.deepcopy(RESTRICTED)
    node: Any = spec
    *parents, last = path.split(".")
    for key in parents:
        node = node[int(key)] if key.isdigit() else node.setdefault(key, {})
    node[last] = value
    return spec


BASELINE_BREAKS = [
    ("hostNetwork", True, "Host Namespaces"),
    ("hostPID", True, "Host Namespaces"),
    ("volumes", [{"name": "m", "hostPath": {"path": "/x"}}], "HostPath Volumes"),
    ("containers.0.securityContext.privileged", True, "Privileged Containers"),
    ("containers.0.securityContext.capabilities.add", ["SYS_ADMIN"], "Capabilities"),
    ("containers.0.ports.0.hostPort", 8080, "Host Ports"),
    ("containers.0.securityContext.procMount", "Unmasked", "/proc Mount Type"),
    ("containers.0.securityContext.seccompProfile.type", "Unconfined", "Seccomp"),
    ("securityContext.seLinuxOptions", {"type": "spc_t"}, "SELinux"),
    ("securityContext.appArmorProfile", {"type": "Unconfined"}, "AppArmor"),
    ("securityContext.sysctls", [{"name": "kernel.msgmax", "value": "1"}], "Sysctls"),
    ("securityContext.windowsOptions", {"hostProcess": True}, "HostProcess"),
]
RESTRICTED_BREAKS = [
    ("volumes", [{"name": "n", "nfs": {"server": "s", "path": "/p"}}], "Volume Types"),
    ("containers.0.securityContext.allowPrivilegeEscalation", True, "Privilege Escalation"),
    ("containers.0.securityContext.runAsNonRoot", False, "Running as Non-root"),
    ("containers.0.securityContext.runAsUser", 0, "Running as Non-root user"),
    ("containers.0.securityContext.seccompProfile", {}, "Seccomp"),
    ("containers.0.securityContext.capabilities", {"drop": ["NET_RAW"]}, "Capabilities"),
    ("containers.0.securityContext.capabilities.add", ["CHOWN"], "Capabilities"),
]


def test_a_hardened_pod_passes_restricted() -> None:
    assert pss.level(RESTRICTED) == "restricted" and pss.why_not_restricted(RESTRICTED) == []
    # pod-level settings count for every container
    spec = copy.deepcopy(RESTRICTED)
    sc = spec["containers"][0]["securityContext"]
    spec["securityContext"] = {"runAsNonRoot": sc.pop("runAsNonRoot"), "seccompProfile": sc.pop("seccompProfile")}
    assert pss.level(spec) == "restricted"


@pytest.mark.parametrize(("path", "value", "control"), BASELINE_BREAKS, ids=[b[0] for b in BASELINE_BREAKS])
def test_each_baseline_control_makes_the_pod_privileged(path: str, value: Any, control: str) -> None:
    spec = _with(path, value)
    assert pss.level(spec) == "privileged"
    assert any(f"({control})" in m for m in pss.baseline(spec)), list(pss.baseline(spec))


@pytest.mark.parametrize(("path", "value", "control"), RESTRICTED_BREAKS, ids=[b[0] for b in RESTRICTED_BREAKS])
def test_each_restricted_control_makes_the_pod_baseline(path: str, value: Any, control: str) -> None:
    spec = _with(path, value)
    assert pss.level(spec) == "baseline"
    assert [m for m in pss.restricted(spec) if f"({control})" in m], list(pss.restricted(spec))


def test_what_gpuctl_renders_is_at_the_level_its_namespace_enforces() -> None:
    site = load_site(EXAMPLE).site
    labels = k8s.pod_security_labels(site)
    for obj in objects.site_objects(site):
        if obj["kind"] != "Deployment":
            continue
        spec = obj["spec"]["template"]["spec"]
        enforced = labels[obj["metadata"]["namespace"]][f"{k8s.PSA}/enforce"]
        assert pss.LEVELS.index(pss.level(spec)) <= pss.LEVELS.index(enforced), obj["metadata"]["name"]
    gateway = next(
        o for o in objects.site_objects(site) if o["metadata"]["name"] == "gpuctl-gateway" and o["kind"] == "Deployment"
    )
    assert pss.level(gateway["spec"]["template"]["spec"]) == "restricted"
    engine = next(
        o
        for o in objects.site_objects(site)
        if o["metadata"]["name"] == site.deployments[0].name and o["kind"] == "Deployment"
    )
    reasons = pss.why_not_restricted(engine["spec"]["template"]["spec"])
    # what keeps the engines from restricted: the node-local model cache (hostPath) and the engine running as root
    assert "volumes[models] is a hostPath volume (HostPath Volumes)" in reasons
    assert not [r for r in reasons if "engine-proxy" in r]  # the TLS proxy beside it is restricted already

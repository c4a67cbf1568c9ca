"""The Pod Security Standards' checks on a pod spec, written from the standard itself: Kubernetes docs, "Pod Security
Standards", https://kubernetes.io/docs/concepts/security/pod-security-standards/ (policy version v1.32, the version
the namespace labels pin). Each control yields a message naming the field that breaks it and the control's name in
the standard; a pod passes Restricted when it breaks neither Baseline's controls nor Restricted's, Baseline when it
breaks none of Baseline's. Annotations (AppArmor's beta ones) are not part of a pod spec and are not checked.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

LEVELS = ("restricted", "baseline", "privileged")  # strictest first
# Baseline, "Capabilities": adding beyond this list is forbidden.
BASELINE_CAPABILITIES = frozenset(
    {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP",
     "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}
)  # fmt: skip
# Baseline, "SELinux": allowed types ("" = unset); user and role must be unset.
SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t", "container_engine_t"})
# Baseline, "Sysctls": the safe set.
SAFE_SYSCTLS = frozenset(
    {"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
     "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
     "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
     "net.ipv4.tcp_keepalive_probes"}
)  # fmt: skip
# Restricted, "Volume Types": only these (every other inline type, hostPath included, is refused).
RESTRICTED_VOLUMES = frozenset(
    {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"}
)


def _containers(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for field in ("initContainers", "containers", "ephemeralContainers"):
        for c in spec.get(field, []):
            yield f"{field}[{c.get('name', '?')}]", c


def baseline(spec: dict[str, Any]) -> Iterator[str]:
    """What breaks the Baseline policy (such a pod is privileged)."""
    pod_sc = spec.get("securityContext", {})
    if pod_sc.get("windowsOptions", {}).get("hostProcess"):
        yield "securityContext.windowsOptions.hostProcess is true (HostProcess)"
    for ns in ("hostNetwork", "hostPID", "hostIPC"):
        if spec.get(ns):
            yield f"{ns} is true (Host Namespaces)"
    for v in spec.get("volumes", []):
        if "hostPath" in v:
            yield f"volumes[{v.get('name')}] is a hostPath volume (HostPath Volumes)"
    for sysctl in pod_sc.get("sysctls", []):
        if sysctl.get("name") not in SAFE_SYSCTLS:
            yield f"securityContext.sysctls {sysctl.get('name')} is not a safe sysctl (Sysctls)"
    yield from _context_baseline("securityContext", pod_sc)
    for where, c in _containers(spec):
        sc = c.get("securityContext", {})
        if sc.get("windowsOptions", {}).get("hostProcess"):
            yield f"{where}.securityContext.windowsOptions.hostProcess is true (HostProcess)"
        if sc.get("privileged"):
            yield f"{where}.securityContext.privileged is true (Privileged Containers)"
        added = set(sc.get("capabilities", {}).get("add", [])) - BASELINE_CAPABILITIES
        if added:
            yield f"{where} adds capabilities {', '.join(sorted(added))} (Capabilities)"
        for p in c.get("ports", []):
            if p.get("hostPort"):
                port = p.get("name", p.get("containerPort"))
                yield f"{where}.ports[{port}] has hostPort {p['hostPort']} (Host Ports)"
        if sc.get("procMount", "Default") != "Default":
            yield f"{where}.securityContext.procMount is {sc['procMount']} (/proc Mount Type)"
        yield from _context_baseline(f"{where}.securityContext", sc)


def _context_baseline(where: str, sc: dict[str, Any]) -> Iterator[str]:
    apparmor = sc.get("appArmorProfile", {}).get("type")
    if apparmor not in (None, "RuntimeDefault", "Localhost"):
        yield f"{where}.appArmorProfile.type is {apparmor} (AppArmor)"
    se = sc.get("seLinuxOptions", {})
    if se.get("type", "") not in SELINUX_TYPES or se.get("user") or se.get("role"):
        yield f"{where}.seLinuxOptions {se} (SELinux)"
    if sc.get("seccompProfile", {}).get("type") == "Unconfined":
        yield f"{where}.seccompProfile.type is Unconfined (Seccomp)"


def restricted(spec: dict[str, Any]) -> Iterator[str]:
    """What breaks the Restricted policy beyond Baseline (such a pod is baseline)."""
    pod_sc = spec.get("securityContext", {})
    for v in spec.get("volumes", []):
        kinds = set(v) - {"name"}
        if not kinds <= RESTRICTED_VOLUMES:
            yield f"volumes[{v.get('name')}] is a {', '.join(sorted(kinds))} volume (Volume Types)"
    if pod_sc.get("runAsUser") == 0:
        yield "securityContext.runAsUser is 0 (Running as Non-root user)"
    for where, c in _containers(spec):
        sc = c.get("securityContext", {})
        if sc.get("allowPrivilegeEscalation") is not False:
            yield f"{where}.securityContext.allowPrivilegeEscalation is not false (Privilege Escalation)"
        if not sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")):
            yield f"{where}: runAsNonRoot is not true in the container or the pod (Running as Non-root)"
        if sc.get("runAsUser") == 0:
            yield f"{where}.securityContext.runAsUser is 0 (Running as Non-root user)"
        seccomp = sc.get("seccompProfile", pod_sc.get("seccompProfile", {})).get("type")
        if seccomp not in ("RuntimeDefault", "Localhost"):
            yield f"{where}: seccompProfile.type is {seccomp or 'unset'} in the container and the pod (Seccomp)"
        caps = sc.get("capabilities", {})
        if "ALL" not in caps.get("drop", []):
            yield f"{where}.securityContext.capabilities.drop does not hold ALL (Capabilities)"
        if set(caps.get("add", [])) - {"NET_BIND_SERVICE"}:
            yield f"{where} adds capabilities other than NET_BIND_SERVICE (Capabilities)"


def level(spec: dict[str, Any]) -> str:
    if any(True for _ in baseline(spec)):
        return "privileged"
    return "baseline" if any(True for _ in restricted(spec)) else "restricted"


def why_not_restricted(spec: dict[str, Any]) -> list[str]:
    return [*baseline(spec), *restricted(spec)]

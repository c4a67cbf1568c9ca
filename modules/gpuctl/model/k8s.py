"""Kubernetes GPU node pools."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from .base import AptUrl, DebVersion, Name, NoCredentialsHttpUrl, PositiveInt, Strict, Text

# Kubernetes qualified names: optional DNS prefix + "/" + name of at most 63 characters.
LabelKey = Annotated[
    str,
    StringConstraints(
        pattern=r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
    ),
]
LabelValue = Annotated[str, StringConstraints(pattern=r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")]


class Taint(Strict):
    key: LabelKey
    value: LabelValue = ""
    effect: Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]


class NodePool(Strict):
    name: Name
    purpose: Literal["inference", "training"] = "inference"
    servers: list[Name] = Field(default_factory=list)
    racks: list[Name] = Field(default_factory=list, description="Every GPU server in these racks joins the pool.")
    labels: dict[LabelKey, LabelValue] = Field(default_factory=dict)
    taints: list[Taint] = Field(default_factory=list)
    gpus_per_node: PositiveInt | None = Field(
        default=None, description="What the pool advertises per node; must equal the physical count."
    )
    mig_strategy: Literal["none", "single", "mixed"] = "none"


# Kubernetes release, as kubeadm and the kubelet report it (x.y.z).
KubeVersion = Annotated[str, StringConstraints(pattern=r"^1\.[0-9]{1,2}\.[0-9]{1,3}$")]
# host:port of the API server (kubeadm's discovery.bootstrapToken.apiServerEndpoint).
ApiEndpoint = Annotated[
    str,
    StringConstraints(
        max_length=260, pattern=r"^([A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9a-fA-F:.]+\]):[0-9]{1,5}$"
    ),
]
CaCertHash = Annotated[str, StringConstraints(pattern=r"^sha256:[0-9a-f]{64}$")]


class ContainerRuntimeSettings(Strict):
    """containerd and runc as the distribution (or the site's mirror of it) packages them, pinned."""

    containerd_version: DebVersion = Field(
        default="1.6.20~ds1-1+deb12u3",
        description="Debian 12's containerd (https://packages.debian.org/bookworm/containerd); set your "
        "distribution's or mirror's exact version.",
    )
    runc_version: DebVersion = Field(
        default="1.1.5+ds1-1+deb12u1", description="Debian 12's runc (https://packages.debian.org/bookworm/runc)."
    )
    layout: Literal["auto", "kubeadm", "k3s", "rke2"] = Field(
        default="auto",
        description="Whose containerd: auto detects k3s or RKE2 on the host (they embed containerd and read a "
        "config.toml.tmpl), else kubeadm (/etc/containerd/config.toml).",
    )
    sandbox_image: Text = Field(
        default="registry.k8s.io/pause:3.10",
        pattern=r"^[a-z0-9][a-z0-9./_:-]*$",
        description="Pause image (kubeadm 1.32's default).",
    )
    apt_repository_url: AptUrl | None = Field(default=None, description="A mirror serving containerd and runc.")
    apt_repository_suite: Text = Field(default="stable", pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
    apt_repository_components: Text = Field(default="main", pattern=r"^[a-z0-9][a-z0-9._ -]*$")
    apt_key_url: NoCredentialsHttpUrl | None = None


class KubernetesSettings(Strict):
    """The cluster nodes join: its version (kubelet, kubeadm, kubectl pinned to it), where to join, how to trust it."""

    version: KubeVersion = "1.32.0"
    package_revision: Text = Field(
        default="1.1",
        pattern=r"^[0-9][A-Za-z0-9.+~]*$",
        description="Debian revision of pkgs.k8s.io packages (kubelet 1.32.0-1.1).",
    )
    apt_repository_url: AptUrl = Field(
        default="https://pkgs.k8s.io/core:/stable:/v1.32/deb",
        description="pkgs.k8s.io or a mirror "
        "(https://kubernetes.io/docs/setup/production-environment/tools/kubeadm/install-kubeadm/).",
    )
    api_server_endpoint: ApiEndpoint | None = Field(
        default=None, description="host:port nodes join (kubeadm JoinConfiguration discovery); unset: no join."
    )
    ca_cert_hashes: list[CaCertHash] = Field(default_factory=list, max_length=8)
    max_pods: int = Field(default=110, ge=10, le=1000, description="KubeletConfiguration maxPods.")
    max_unavailable: int = Field(
        default=1,
        ge=1,
        le=1000,
        description="Nodes a change that reboots or restarts their runtime takes down at once (drained first).",
    )

"""The containerd role's per-layout facts agree with each other, with the model's layouts and with the
kubernetes_node role: every layout the spec can name has its configuration file, service and kubelet kubeconfig;
k3s's and RKE2's live under their data-dir (the one detection looks for)."""

from __future__ import annotations

from typing import get_args

from gpuctl.model.k8s import ContainerRuntimeSettings
from gpuctl.provision.roles import role_defaults

ROLE = role_defaults()["containerd"]
PER_LAYOUT = ("containerd_config_files", "containerd_services", "containerd_kubelet_kubeconfigs")


def test_every_layout_the_spec_can_name_has_each_fact() -> None:
    layouts = set(get_args(ContainerRuntimeSettings.model_fields["layout"].annotation)) - {"auto"}
    assert layouts == {"kubeadm", *ROLE["containerd_distribution_dirs"]}
    for name in PER_LAYOUT:
        assert set(ROLE[name]) == layouts, name


def test_k3s_and_rke2_files_live_under_their_data_dir() -> None:
    for layout, data_dir in ROLE["containerd_distribution_dirs"].items():
        assert ROLE["containerd_config_files"][layout] == f"{data_dir}/agent/etc/containerd/config.toml.tmpl"
        assert ROLE["containerd_kubelet_kubeconfigs"][layout] == f"{data_dir}/agent/kubelet.kubeconfig"
        assert ROLE["containerd_services"][layout] == f"{layout}-agent"


def test_kubeadms_kubelet_kubeconfig_is_the_one_the_kubernetes_node_role_joins_with() -> None:
    kubeconfig = role_defaults()["kubernetes_node"]["kubernetes_node_kubelet_conf"]
    assert ROLE["containerd_kubelet_kubeconfigs"]["kubeadm"] == kubeconfig


def test_nothing_reads_a_layout_before_detection() -> None:
    """Empty until tasks/layout.yml ran: a task that reads a layout first names no file (it fails) instead of
    falling back to kubeadm's on a k3s or RKE2 host."""
    assert ROLE["containerd_detected_layout"] == ""
    assert "" not in ROLE["containerd_config_files"]

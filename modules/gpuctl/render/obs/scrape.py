"""Where Prometheus finds the hosts' dcgm-exporter, and the labels each target gets, once for both deliveries:
the ServiceMonitor (render/obs/k8s.py; the node's `topology.gpuctl.dev/rack` label, which the kubelet registers
from the spec, becomes `rack`) and a plain Prometheus scrape config (`gpuctl obs render`, for a Prometheus outside
the cluster: static targets with the rack from the spec). The address is the one the kubelet registers: the
server's management-network address, else its first."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...model import Site
from ..k8s import TOPOLOGY_RACK

DCGM_EXPORTER = "gpuctl-dcgm-exporter"  # the Service's name, hence the `job` label the ServiceMonitor's targets get
DCGM_EXPORTER_PORT = 9400  # the dcgm role's dcgm_exporter_port default (dcgm-exporter's own default, :9400)
RACK_LABEL = "rack"


def _node_address(site: Site, server: Any) -> str | None:
    purposes = {n.name: n.purpose for n in site.networks}
    addresses = sorted(server.addresses, key=lambda a: purposes.get(a.network) != "management")
    return str(addresses[0].ip) if addresses else None


def gpu_nodes(site: Site, addresses: Mapping[str, str] | None = None) -> list[tuple[str, str, str]]:
    """(rack, server, address) of every GPU server with an address; `addresses` overrides a server's address (the
    lab gives its hosts their own)."""
    out = []
    for rack, server in site.all_servers():
        if not site.gpu_count(server):
            continue
        address = (addresses or {}).get(server.name) or _node_address(site, server)
        if address is not None:
            out.append((rack.name, server.name, address))
    return out


def rack_relabeling() -> dict[str, Any]:
    """The ServiceMonitor relabeling that turns the node's rack label into `rack` (needs attachMetadata.node)."""
    source = "__meta_kubernetes_node_label_" + "".join(c if c.isalnum() else "_" for c in TOPOLOGY_RACK)
    return {"sourceLabels": [source], "targetLabel": RACK_LABEL, "action": "replace"}


def dcgm_scrape_config(site: Site, addresses: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """A Prometheus `scrape_configs` entry: the GPU servers' exporters per rack, with the ServiceMonitor's job name,
    interval and honor_labels (the exporter's Hostname/gpu/UUID labels are kept)."""
    by_rack: dict[str, list[str]] = {}
    for rack, _, address in gpu_nodes(site, addresses):
        host = f"[{address}]" if ":" in address else address
        by_rack.setdefault(rack, []).append(f"{host}:{DCGM_EXPORTER_PORT}")
    if not by_rack:
        return None
    return {
        "job_name": DCGM_EXPORTER,
        "scrape_interval": f"{site.cluster.dcgm_exporter_scrape_interval_s}s",
        "metrics_path": "/metrics",
        "honor_labels": True,
        "static_configs": [{"targets": t, "labels": {RACK_LABEL: r}} for r, t in by_rack.items()],
    }

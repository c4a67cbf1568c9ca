"""The hosts' dcgm-exporter targets: the plain scrape config (`gpuctl obs render`, and the lab Prometheus test)
and the ServiceMonitor give the same targets, the same job and the rack the spec puts each server in; Prometheus
accepts the config (promtool)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from gpuctl.loader import load_site
from gpuctl.provision.inventory import topology_labels
from gpuctl.render.k8s import TOPOLOGY_RACK
from gpuctl.render.obs.k8s import dcgm_exporter_scrape
from gpuctl.render.obs.scrape import dcgm_scrape_config

ROOT = Path(__file__).parent.parent.parent
SITES = [ROOT / "inventories" / name / "site.yaml" for name in ("fra1", "lab")]


def _targets(config: dict) -> dict[str, str]:
    return {t: group["labels"]["rack"] for group in config["static_configs"] for t in group["targets"]}


@pytest.mark.parametrize("site_file", SITES, ids=lambda p: p.parent.name)
def test_scrape_config_and_service_monitor_agree_on_targets_job_and_rack(site_file: Path) -> None:
    site = load_site(site_file).site
    config = dcgm_scrape_config(site)
    assert config is not None
    service, endpoints, monitor = dcgm_exporter_scrape(site)
    port = endpoints["ports"][0]["port"]
    from_slice = {f"{e['addresses'][0]}:{port}": e["nodeName"] for e in endpoints["endpoints"]}
    targets = _targets(config)
    assert set(targets) == set(from_slice) and len(targets) == sum(
        bool(site.gpu_count(s)) for _, s in site.all_servers()
    )
    assert config["job_name"] == service["metadata"]["name"]  # the operator sets job to the Service's name
    endpoint = monitor["spec"]["endpoints"][0]
    assert config["honor_labels"] is endpoint["honorLabels"] is True
    assert config["scrape_interval"] == endpoint["interval"]
    # the ServiceMonitor's rack is the node label the kubelet registers; the static config's is the spec's: equal
    (relabel,) = endpoint["relabelings"]
    assert monitor["spec"]["attachMetadata"] == {"node": True}
    assert relabel["sourceLabels"] == ["__meta_kubernetes_node_label_topology_gpuctl_dev_rack"]
    for target, node in from_slice.items():
        server = next(s for _, s in site.all_servers() if s.name == node)
        assert targets[target] == topology_labels(site, server)[TOPOLOGY_RACK] == site.rack_of(node).name


def test_lab_addresses_replace_the_spec_addresses() -> None:
    site = load_site(SITES[1]).site
    config = dcgm_scrape_config(site, {"lab-dgx-1": "10.9.0.7"})
    assert config is not None
    targets = _targets(config)
    assert targets["10.9.0.7:9400"] == "lab-a" and "10.60.0.13:9400" not in targets and "10.60.0.11:9400" in targets


@pytest.mark.usefixtures("promtool_installed")
def test_prometheus_accepts_the_scrape_config(tmp_path: Path) -> None:
    config = dcgm_scrape_config(load_site(SITES[0]).site)
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump({"scrape_configs": [config]}))
    run = subprocess.run(["promtool", "check", "config", str(tmp_path / "prometheus.yml")], capture_output=True)
    assert run.returncode == 0, run.stdout + run.stderr
    (tmp_path / "bad.yml").write_text(yaml.safe_dump({"scrape_configs": [{**config, "scrape_interval": "soon"}]}))
    assert subprocess.run(["promtool", "check", "config", str(tmp_path / "bad.yml")], capture_output=True).returncode

"""Observability's Kubernetes objects: in the one aggregator, valid against prometheus-operator v0.93.0's CRDs and
the Kubernetes schemas, labelled for the site's Prometheus; dashboards and the collector config as files through
`gpuctl obs render`, every dashboard query a valid PromQL expression (promtool)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from gpuctl.cli.app import main
from gpuctl.loader import load_site, load_site_text
from gpuctl.render import kschema
from gpuctl.render.objects import site_objects
from gpuctl.render.obs.alertmanager import alertmanager_config
from gpuctl.render.obs.dashboards import NODE_VARIABLE, dashboards, panel_queries
from gpuctl.render.obs.otel import collector_config, trace_args
from gpuctl.render.obs.stack import kube_prometheus_stack_values

ROOT = Path(__file__).parent.parent.parent
FRA1 = ROOT / "inventories" / "fra1" / "site.yaml"
TEST_SITE = Path(__file__).parent / "site.yaml"


def test_observability_objects_are_in_the_aggregator_and_validate() -> None:
    site = load_site(FRA1).site
    objects = site_objects(site)
    kinds = [o["kind"] for o in objects]
    monitors = [o for o in objects if o["kind"] == "PodMonitor"]
    assert kinds.count("PrometheusRule") == 3 and len(monitors) == len(site.deployments) + sum(
        d.burst is not None for d in site.deployments
    )
    # each monitor selects one component's pods: engines, or a burst gateway (its split counter)
    components = sorted(m["spec"]["selector"]["matchLabels"]["gpuctl.io/component"] for m in monitors)
    assert components == ["engine"] * len(site.deployments) + ["gateway"] * (len(monitors) - len(site.deployments))
    dashboards_cm = [o for o in objects if o["kind"] == "ConfigMap" and "grafana_dashboard" in o["metadata"]["labels"]]
    assert len(dashboards_cm) == 3
    for obj in objects:
        kschema.validate(obj)
    release = site.cluster.service_monitor_labels["release"]
    for obj in objects:
        if obj["apiVersion"].startswith("monitoring.coreos.com"):
            assert obj["metadata"]["labels"]["release"] == release


def test_the_hosts_exporter_is_scraped_at_every_gpu_node() -> None:
    site = load_site(FRA1).site
    slice_ = next(o for o in site_objects(site) if o["kind"] == "EndpointSlice")
    gpu_nodes = {s.name for _, s in site.all_servers() if site.gpu_count(s)}
    assert {e["nodeName"] for e in slice_["endpoints"]} == gpu_nodes
    assert slice_["ports"][0]["port"] == 9400


def test_a_rule_the_crd_forbids_fails_validation() -> None:
    site = load_site(FRA1).site
    rule = next(o for o in site_objects(site) if o["kind"] == "PrometheusRule")
    rule["spec"]["groups"][0]["rules"][0]["for"] = "five minutes"
    with pytest.raises(kschema.ManifestError):
        kschema.validate(rule)


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool missing")
def test_every_dashboard_query_is_valid_promql(tmp_path: Path) -> None:
    """Each panel query as a recording rule: `promtool check rules` parses every expression."""
    site = load_site(TEST_SITE).site
    rules = []
    for name, model in dashboards(site).items():
        for i, (_, expr) in enumerate(panel_queries(model)):
            rules.append({"record": f"dashboard:{name.removesuffix('.json').replace('-', '_')}:q{i}", "expr": expr})
    text = yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]})
    (tmp_path / "q.yml").write_text(text.replace(f"${NODE_VARIABLE}", "node-1"))
    run = subprocess.run(["promtool", "check", "rules", str(tmp_path / "q.yml")], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert len(rules) >= 30


def test_vllm_is_started_with_the_collector_endpoint_where_its_version_traces() -> None:
    site = load_site(FRA1).site
    dep = site.deployments[0]
    assert trace_args(site, dep) == [
        "--otlp-traces-endpoint",
        "http://gpuctl-otel-collector.gpuctl-observability.svc:4317",
    ]
    config = collector_config(site)
    assert config is not None
    assert config["exporters"]["otlphttp"]["endpoint"] == site.observability.trace_backend_url
    legacy = load_site(TEST_SITE).site
    assert collector_config(legacy) is None and trace_args(legacy, legacy.deployments[0]) == []


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as done:
        main(list(args))
    out = capsys.readouterr()
    code = done.value.code
    return (code if isinstance(code, int) else 0), out.out + out.err


def test_obs_render_writes_rules_dashboards_and_collector(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, output = run(capsys, "obs", "render", str(FRA1), "-o", str(tmp_path))
    assert code == 0, output
    written = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert written == [
        "alertmanager.yml",
        "dashboards/gpuctl-gpu-node.json",
        "dashboards/gpuctl-serving.json",
        "dashboards/gpuctl-site.json",
        "otel-collector.yaml",
        "rules/gpuctl-gpu.rules.yml",
        "rules/gpuctl-serving.rules.yml",
        "rules/gpuctl-site.rules.yml",
    ]
    assert json.loads((tmp_path / "dashboards/gpuctl-site.json").read_text())["uid"] == "gpuctl-fra1-site"


def test_obs_render_refuses_an_invalid_site(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, output = run(capsys, "obs", "render", str(ROOT / "inventories/ams2/site.yaml"), "-o", str(tmp_path))
    assert code == 1 and "validation failed" in output and not any(tmp_path.iterdir())
    code, output = run(capsys, "obs", "render", str(tmp_path / "none.yaml"), "-o", str(tmp_path))
    assert code == 2 and "Traceback" not in output


@pytest.mark.skipif(shutil.which("amtool") is None, reason="amtool missing: apt-get install prometheus-alertmanager")
def test_alertmanager_routes_each_severity_to_the_receivers_that_asked(tmp_path: Path) -> None:
    config = alertmanager_config(load_site(FRA1).site)
    path = tmp_path / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config))
    assert subprocess.run(["amtool", "check-config", str(path)], capture_output=True).returncode == 0
    for severity, receivers in (("critical", "oncall"), ("warning", "tickets")):
        run = subprocess.run(
            ["amtool", "config", "routes", "test", f"--config.file={path}", f"severity={severity}", "alertname=X"],
            capture_output=True,
            text=True,
        )
        assert run.stdout.strip() == receivers, run.stdout + run.stderr


def test_stack_values_only_when_gpuctl_installs_the_stack() -> None:
    site = load_site(FRA1).site
    assert kube_prometheus_stack_values(site) is None
    text = FRA1.read_text().replace("prometheus: existing ", "prometheus: install ")
    values = kube_prometheus_stack_values(load_site_text(text, "fra1-install.yaml").site)
    assert values is not None
    assert values["alertmanager"]["config"] == alertmanager_config(site)
    assert values["grafana"]["sidecar"]["dashboards"]["label"] == "grafana_dashboard"

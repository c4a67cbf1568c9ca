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
    bursting = sum(d.burst is not None for d in site.deployments)
    assert kinds.count("PrometheusRule") == 3 and len(monitors) == 2 * len(site.deployments) + bursting
    # each monitor selects one component's pods: engines, routers, or a burst gateway (its split counter)
    components = sorted(m["spec"]["selector"]["matchLabels"]["gpuctl.io/component"] for m in monitors)
    assert components == sorted(["engine", "router"] * len(site.deployments) + ["gateway"] * bursting)
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
        "prometheus-scrape.yml",
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


def test_obs_render_creates_its_directory_and_refuses_a_file_in_its_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """As `gpuctl render -o`: missing directories are created; an existing file is a usage error (exit 2)."""
    code, output = run(capsys, "obs", "render", str(FRA1), "-o", str(tmp_path / "new" / "obs"))
    assert code == 0 and (tmp_path / "new/obs/alertmanager.yml").is_file(), output
    (tmp_path / "a-file").write_text("kept\n")
    code, output = run(capsys, "obs", "render", str(FRA1), "-o", str(tmp_path / "a-file"))
    assert (code, output.strip()) == (2, f"{tmp_path / 'a-file'}: exists and is not a directory")
    assert (tmp_path / "a-file").read_text() == "kept\n"


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


def test_the_collector_runs_from_the_rendered_config_behind_both_otlp_ports() -> None:
    site = load_site(FRA1).site
    objects = {(o["kind"], o["metadata"]["name"]): o for o in site_objects(site)}
    config_map = objects[("ConfigMap", "gpuctl-otel-collector")]
    assert yaml.safe_load(config_map["data"]["config.yaml"]) == collector_config(site)
    deployment = objects[("Deployment", "gpuctl-otel-collector")]
    pod = deployment["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    assert container["image"].rsplit(":", 1)[1] == "0.153.0"  # pinned, never `latest`
    mount = container["volumeMounts"][0]["mountPath"]
    assert container["args"] == [f"--config={mount}/config.yaml"]
    assert pod["spec"]["volumes"][0]["configMap"]["name"] == config_map["metadata"]["name"]
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    service = objects[("Service", "gpuctl-otel-collector")]
    assert {(p["port"], p["targetPort"]) for p in service["spec"]["ports"]} == {
        (4317, "otlp-grpc"),
        (4318, "otlp-http"),
    }
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"otlp-grpc": 4317, "otlp-http": 4318}
    assert service["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    # vLLM's rendered endpoint names this Service
    endpoint = f"http://{service['metadata']['name']}.{service['metadata']['namespace']}.svc:4317"
    assert trace_args(site, site.deployments[0]) == ["--otlp-traces-endpoint", endpoint]
    assert len(pod["metadata"]["annotations"]["gpuctl.dev/config-sha256"]) == 64  # a new config rolls the pods
    legacy = load_site(TEST_SITE).site  # no trace backend: no collector
    assert not [o for o in site_objects(legacy) if o["metadata"]["name"] == "gpuctl-otel-collector"]


def test_each_router_has_a_podmonitor_and_engine_monitors_skip_router_pods() -> None:
    site = load_site(FRA1).site
    monitors = {o["metadata"]["name"]: o for o in site_objects(site) if o["kind"] == "PodMonitor"}
    for dep in site.deployments:
        engine, router = monitors[dep.name]["spec"], monitors[f"{dep.name}-router"]["spec"]
        assert engine["selector"]["matchLabels"]["gpuctl.io/component"] == "engine"
        assert router["selector"]["matchLabels"]["gpuctl.io/component"] == "router"
        (endpoint,) = router["podMetricsEndpoints"]
        assert endpoint["port"] == "metrics"
        relabel = {r["targetLabel"]: r.get("replacement") for r in endpoint["relabelings"]}
        assert relabel["deployment"] == dep.name and relabel["component"] == "router"

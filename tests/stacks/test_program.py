"""The Pulumi program under Pulumi's mocks: the resource graph, its properties and outputs."""

from __future__ import annotations

import pulumi
import pytest

from gpuctl.infra.kubernetes import SKIP_AWAIT
from gpuctl.infra.program import ProgramConfig, check_kubeconfig, load_and_validate, project_root
from gpuctl.loader import load_site
from gpuctl.render import kschema, objects
from tests.conftest import ROOT

from .harness import (
    KUBECONFIG,
    MAIN_DIR,
    PROJECT,
    STACK_CONFIG_DIR,
    MissingStackConfig,
    Recorded,
    run_program,
    stack_config,
    with_project_config,
)

FRA1 = "inventories/fra1/site.yaml"


@pytest.fixture(scope="module")
def fra1():  # type: ignore[no-untyped-def]
    return run_program(FRA1, kubeconfig=KUBECONFIG, provision=True)


def test_component_tree_types_names_and_parents(fra1) -> None:  # type: ignore[no-untyped-def]
    site = fra1.named("fra1")
    assert site.type == "gpuctl:dc:Site" and not site.custom
    racks = fra1.of_type("gpuctl:dc:Rack")
    assert sorted(r.name for r in racks) == ["rack-a", "rack-b"]
    assert all(r.parent.endswith("gpuctl:dc:Site::fra1") for r in racks)
    feeds = fra1.of_type("gpuctl:dc:PowerFeed")
    assert sorted(f.name for f in feeds) == ["rack-a-feed-a", "rack-a-feed-b", "rack-b-feed-a", "rack-b-feed-b"]
    assert fra1.named("rack-b-feed-a").parent.endswith("gpuctl:dc:Rack::rack-b")
    servers = fra1.of_type("gpuctl:dc:Server")
    assert len(servers) == 8
    assert fra1.named("dgx-b01").parent.endswith("gpuctl:dc:Rack::rack-b")
    assert fra1.named("dgx-b01-bond0").type == "gpuctl:net:Bond"
    assert fra1.named("dgx-b01-bond0").parent.endswith("gpuctl:dc:Server::dgx-b01")
    # SR-IOV: only the DGX ports declare VFs (4 each)
    sriov = fra1.of_type("gpuctl:net:SriovPort")
    assert sorted(s.name for s in sriov) == [
        "dgx-b01-ens1f0np0",
        "dgx-b01-ens1f1np1",
        "dgx-b02-ens1f0np0",
        "dgx-b02-ens1f1np1",
    ]
    assert all(s.inputs["virtualFunctions"] == 4 for s in sriov)
    assert {p.name for p in fra1.of_type("gpuctl:k8s:GpuNodePool")} == {
        "l40s-inference",
        "l4-inference",
        "h100-inference",
    }


def test_rack_properties_carry_the_power_arithmetic(fra1) -> None:  # type: ignore[no-untyped-def]
    rack_b = fra1.named("rack-b").inputs
    # 2 × DGX H100 10.2 kW + 2 switches × 0.5 kW; min(2 × 57.5 kW feeds, 25 kW contract)
    assert rack_b["loadKw"] == pytest.approx(21.4)
    assert rack_b["budgetKw"] == pytest.approx(25.0)
    assert rack_b["headroomKw"] == pytest.approx(3.6)
    assert rack_b["redundancy"] == "n+n"
    # 415 V × 50 A × √3 × 0.8 = 28.75 kW usable per feed
    assert fra1.named("rack-b-feed-a").inputs["usableKw"] == pytest.approx(28.752, abs=0.001)


def test_stack_outputs(fra1) -> None:  # type: ignore[no-untyped-def]
    out = fra1.outputs
    assert out["racks"]["rack-a"]["loadKw"] == pytest.approx(12.5)
    assert out["pools"]["h100-inference"] == {"gpus": 16, "gpuModel": "h100-sxm5-80gb"}
    dep = out["deployments"]["llama-70b-chat"]
    assert dep["endpoint"] == "http://llama-70b-chat.inference.svc.cluster.local:8000/v1"
    assert dep["predictedKvCacheTokens"] > 600_000


def test_kubernetes_side(fra1) -> None:  # type: ignore[no-untyped-def]
    provider = fra1.of_type("pulumi:providers:kubernetes")
    assert len(provider) == 1 and provider[0].inputs["enableServerSideApply"] == "true"
    # Node labels and taints are the kubelet's, set when it registers the node (kubernetes_node role; the
    # inventory and kubelet-env snapshots in tests/render carry what the patches used to).
    assert fra1.of_type("kubernetes:core/v1:NodePatch") == []
    release = fra1.named("gpu-operator").inputs
    assert release["chart"] == "gpu-operator"
    assert release["values"]["driver"]["enabled"] is False
    assert release["values"]["toolkit"]["enabled"] is False
    assert {"key": "nvidia.com/gpu", "operator": "Equal", "value": "present", "effect": "NoSchedule"} in release[
        "values"
    ]["daemonsets"]["tolerations"]
    crd = fra1.named("servicemonitors-crd")
    assert crd.type.endswith("CustomResourceDefinition")


def test_serving_objects_are_pulumis(fra1) -> None:  # type: ignore[no-untyped-def]
    def component(r: Recorded) -> str:
        return str(r.inputs["metadata"].get("labels", {}).get("gpuctl.io/component", ""))

    # engine objects only: router, burst gateway and security's (issue 14) objects carry another component or none
    def name(r: Recorded) -> str:
        return str(r.inputs["metadata"]["name"])

    deployments = {name(r): r for r in fra1.of_type("kubernetes:apps/v1:Deployment") if component(r) == "engine"}
    services = {name(r) for r in fra1.of_type("kubernetes:core/v1:Service") if component(r) == "engine"}
    policies = {
        name(r) for r in fra1.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy") if component(r) == "engine"
    }
    assert set(deployments) == services == {p.removesuffix("-clients") for p in policies}
    assert len(deployments) == 3
    chat = deployments["llama-70b-chat"]
    assert chat.parent.endswith("gpuctl:k8s:GpuNodePool::h100-inference")
    assert chat.inputs["metadata"]["namespace"] == "inference"
    assert chat.inputs["metadata"]["annotations"] == {"pulumi.com/skipAwait": "true"}
    container = chat.inputs["spec"]["template"]["spec"]["containers"][0]
    assert container["resources"]["limits"] == {"nvidia.com/gpu": "4"}
    volumes = chat.inputs["spec"]["template"]["spec"]["volumes"]
    assert {"name": "models", "hostPath": {"path": "/var/lib/gpuctl/models", "type": "Directory"}} in volumes
    # custom resources wait for their CRDs: the ScaledObject is declared after KEDA's CRD is read
    [scaled] = fra1.of_type("kubernetes:keda.sh/v1alpha1:ScaledObject")
    assert scaled.inputs["spec"]["maxReplicaCount"] == 4
    assert fra1.named("scaledobjects-crd").type.endswith("CustomResourceDefinition")


def _manifest(r: Recorded) -> dict:  # type: ignore[type-arg]
    """The object a recorded Kubernetes resource would send to the API server."""
    group_version, kind = r.type.split(":", 1)[1].rsplit(":", 1)
    api = group_version.replace("core/", "")
    body = {k: v for k, v in r.inputs.items() if k not in ("apiVersion", "kind")}
    return {"apiVersion": api, "kind": "Node" if kind == "NodePatch" else kind, **body}


def test_pulumi_declares_exactly_the_rendered_objects_and_each_validates(fra1) -> None:  # type: ignore[no-untyped-def]
    """One renderer, two consumers: the objects the program declares are `render.objects.site_objects`, field for
    field (bar Pulumi's await annotation), the list `gpuctl render` writes."""
    declared = [
        _manifest(r)
        for r in fra1.mocks.resources
        if r.custom
        and r.type.startswith("kubernetes:")
        and "helm.sh" not in r.type
        and not r.type.endswith("CustomResourceDefinition")
    ]
    for obj in declared:
        kschema.validate(obj)
        if obj["metadata"].get("annotations") == SKIP_AWAIT:
            del obj["metadata"]["annotations"]
    rendered = objects.site_objects(load_site(ROOT / FRA1).site)
    assert {objects.object_key(o): o for o in declared} == {objects.object_key(o): o for o in rendered}
    assert any(o["kind"] == "RuntimeClass" and o["handler"] == "nvidia" for o in declared)


def test_schema_validation_catches_typos() -> None:
    with pytest.raises(kschema.ManifestError, match="unknown field"):
        kschema.validate(
            {
                "apiVersion": "monitoring.coreos.com/v1",
                "kind": "ServiceMonitor",
                "metadata": {"name": "x"},
                "spec": {"selector": {}, "endpoints": [{"prot": "x"}]},
            }
        )
    with pytest.raises(kschema.ManifestError, match="imagePullPolcy"):
        kschema.validate(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "p"},
                "spec": {"containers": [{"name": "c", "image": "i", "imagePullPolcy": "Always"}]},
            }
        )
    with pytest.raises(kschema.ManifestError, match="no schema"):
        kschema.validate({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}})


def test_without_kubeconfig_no_kubernetes_resources() -> None:
    run = run_program(FRA1)
    assert not [r for r in run.mocks.resources if r.type.startswith(("kubernetes:", "pulumi:providers"))]
    assert not run.of_type("command:local:Command")


def test_provisioning_triggers_change_only_for_the_touched_rack(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import EXAMPLE

    before = run_program(FRA1, provision=True)
    text = EXAMPLE.read_text().replace("mii_monitor_interval_ms: 100\n", "mii_monitor_interval_ms: 200\n", 1)
    changed = tmp_path / "site.yaml"
    changed.write_text(text)
    after = run_program(str(changed), provision=True)
    trig = {r.name: r.inputs["triggers"] for r in before.of_type("command:local:Command")}
    trig2 = {r.name: r.inputs["triggers"] for r in after.of_type("command:local:Command")}
    assert trig["rack-a-provision"] != trig2["rack-a-provision"]  # the first bond is in rack-a
    assert trig["rack-b-provision"] == trig2["rack-b-provision"]


@pytest.mark.parametrize(
    "section",
    [
        "provisioning:\n  driver_version: 550.144.03-0ubuntu1\n",
        "cluster:\n  dcgm_exporter_scrape_interval_s: 30\n",
        "settings:\n  cooling_defaults_kw: {air_open: 14.0}\n",
    ],
)
def test_site_wide_sections_re_provision_every_rack(tmp_path, section: str) -> None:  # type: ignore[no-untyped-def]
    """A driver version (or any other site-wide section a host reads) changes every rack's trigger."""
    from tests.conftest import EXAMPLE

    text = EXAMPLE.read_text()
    key = section.split(":", 1)[0] + ":\n"
    text = text.replace(key, section, 1) if key in text else text.replace("racks:\n", section + "racks:\n", 1)
    changed = tmp_path / "site.yaml"
    changed.write_text(text)
    before = {r.name: r.inputs["triggers"] for r in run_program(FRA1, provision=True).of_type("command:local:Command")}
    after = {
        r.name: r.inputs["triggers"] for r in run_program(str(changed), provision=True).of_type("command:local:Command")
    }
    assert set(before) == set(after) and len(before) >= 2
    assert all(before[name] != after[name] for name in before)


def test_rack_provisioning_runs_one_rack_after_another() -> None:
    """gpuctl provision holds a per-site lock: Pulumi must not start two racks' runs at once."""
    run = run_program(FRA1, provision=True)
    commands = [r.name for r in run.of_type("command:local:Command")]
    assert commands == ["rack-a-provision", "rack-b-provision"]
    assert run.dependencies["rack-b-provision"] == {"rack-a-provision"}
    assert run.dependencies["rack-a-provision"] == set()


def test_roles_digest_covers_templates(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from gpuctl.infra.provision import roles_digest

    (tmp_path / "playbooks").mkdir()
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "a.j2").write_text("one")
    first = roles_digest(tmp_path)
    (tmp_path / "templates" / "a.j2").write_text("two")
    assert roles_digest(tmp_path) != first


def test_rack_rename_with_alias_is_not_a_replacement(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import EXAMPLE

    before = run_program(FRA1)
    text = EXAMPLE.read_text().replace("  - name: rack-b\n", "  - name: rack-h100\n    previous_names: [rack-b]\n")
    text = text.replace("racks: [rack-b]", "racks: [rack-h100]")
    renamed = tmp_path / "site.yaml"
    renamed.write_text(text)
    after = run_program(str(renamed))
    old = {(r.type, r.name) for r in before.mocks.resources}
    new = {(r.type, r.name) for r in after.mocks.resources}
    aliased = {(r.type, a) for r in after.mocks.resources for a in r.aliases}
    gone = old - new
    assert gone == {
        ("gpuctl:dc:Rack", "rack-b"),
        ("gpuctl:dc:PowerFeed", "rack-b-feed-a"),
        ("gpuctl:dc:PowerFeed", "rack-b-feed-b"),
    }
    assert gone <= aliased, "every renamed resource carries an alias to its old name"
    # servers keep their URNs: names come from the server, URNs carry parent types only
    assert ("gpuctl:dc:Server", "dgx-b01") in new


@pytest.mark.parametrize(
    ("cfg", "expect"),
    [
        (ProgramConfig(site_file=None), "gpuctl:siteFile is not set"),
        (ProgramConfig(site_file="inventories/nope/site.yaml"), "no such file"),
        (ProgramConfig(site_file="inventories/ams2/site.yaml"), "pre-flight validation of inventories/ams2/site.yaml"),
    ],
)
def test_bad_config_is_a_readable_run_error(cfg: ProgramConfig, expect: str) -> None:
    from tests.conftest import ROOT

    cfg = ProgramConfig(site_file=cfg.site_file, root=ROOT)
    with pytest.raises(pulumi.RunError, match=expect.replace("(", r"\(")):
        load_and_validate(cfg)


@pytest.mark.parametrize(("text", "expect"), [("a: [", "does not parse"), ("a: 1", "not a kubeconfig")])
def test_bad_kubeconfig_is_a_readable_run_error(text: str, expect: str) -> None:
    with pytest.raises(pulumi.RunError, match=expect):
        check_kubeconfig(text)


def test_stack_files_are_where_the_pulumi_cli_reads_them() -> None:
    from tests.conftest import ROOT

    assert PROJECT["main"].rstrip("/") == "stacks" and STACK_CONFIG_DIR == ROOT / "stacks"
    config = stack_config("fra1")
    assert config["gpuctl:siteFile"] == "inventories/fra1/site.yaml"
    assert (ROOT / config["gpuctl:siteFile"]).is_file(), "siteFile is relative to the project root"


def test_the_fra1_stack_runs_from_the_programs_directory() -> None:
    run = run_program(None, stack="fra1", config=stack_config("fra1"))
    assert run.outputs["site"] == "fra1"
    assert not run.of_type("command:local:Command")  # the stack file leaves provisioning off


def test_project_root_is_the_directory_of_pulumi_yaml(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import ROOT

    assert project_root(MAIN_DIR) == ROOT
    with pytest.raises(pulumi.RunError, match=r"no Pulumi\.yaml"):
        project_root(tmp_path)


def test_every_stack_file_sets_what_the_project_requires() -> None:
    for path in sorted(STACK_CONFIG_DIR.glob("Pulumi.*.yaml")):
        stack = path.name.split(".")[1]
        merged = with_project_config(stack_config(stack), stack)
        assert "gpuctl:siteFile" in merged and "gpuctl:provision" in merged


def test_a_required_key_the_stack_leaves_out_stops_the_run_as_the_cli_would() -> None:
    config = stack_config("fra1")
    del config["gpuctl:siteFile"]
    with pytest.raises(MissingStackConfig, match="missing configuration value 'gpuctl:siteFile'"):
        run_program(None, stack="fra1", config=config)


def test_optional_keys_the_program_reads_are_not_declared_without_a_default() -> None:
    """A declared key without a default is required by the CLI: kubeconfig is optional, so it must not be one."""
    declared = PROJECT.get("config") or {}
    for key in ("gpuctl:kubeconfig", "gpuctl:bootstrapToken", "gpuctl:secretsFile"):
        decl = declared.get(key)
        assert not (isinstance(decl, dict) and "type" in decl and "default" not in decl), key

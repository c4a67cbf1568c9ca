"""A site whose deployments live in two namespaces (`gpuctl render` handles it): the same-named objects each
namespace gets (the default-deny NetworkPolicy, a team's Role and RoleBinding) are distinct Pulumi resources, and
objects of a stack declared before resources were named by object key keep their URNs through aliases."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from gpuctl.loader import load_site
from gpuctl.render import objects
from tests.conftest import ROOT

from .harness import KUBECONFIG, Recorded, Run, run_program

FRA1 = ROOT / "inventories" / "fra1" / "site.yaml"


def two_namespace_site(directory: Path) -> Path:
    """fra1 with its batch deployment in a `batch` namespace, and the platform team given both namespaces."""
    data = yaml.safe_load(FRA1.read_text())
    batch = next(d for d in data["deployments"] if d["name"] == "llama-8b-batch")
    batch["namespace"] = "batch"
    team = next(t for t in data["security"]["teams"] if t["name"] == "ml-platform")
    team["namespaces"] = ["inference", "batch"]
    path = directory / "site.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def site_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return two_namespace_site(tmp_path_factory.mktemp("two-namespaces"))


@pytest.fixture(scope="module")
def run(site_file: Path) -> Run:
    return run_program(str(site_file), kubeconfig=KUBECONFIG)


def kubernetes_objects(run: Run) -> list[Recorded]:
    return [
        r
        for r in run.mocks.resources
        if r.custom and r.type.startswith("kubernetes:") and "helm.sh" not in r.type and "Definition" not in r.type
    ]


def named_aliases(r: Recorded) -> list[str]:
    """The names a resource's own aliases give (the SDK also sends unnamed ones its parent's aliases imply)."""
    return [a for a in r.aliases if a]


def test_the_site_renders_objects_of_one_name_in_both_namespaces(site_file: Path) -> None:
    rendered = objects.site_objects(load_site(site_file).site)
    names = Counter((o["kind"], o["metadata"]["name"]) for o in rendered if o["metadata"].get("namespace"))
    twice = {key for key, count in names.items() if count > 1}
    assert ("NetworkPolicy", "default-deny") in twice
    assert {("Role", "gpuctl-team-ml-platform"), ("RoleBinding", "gpuctl-team-ml-platform")} <= twice


def test_every_resource_has_its_own_urn(run: Run) -> None:
    urns = Counter((r.type, r.name, r.parent) for r in run.mocks.resources)
    assert [urn for urn, count in urns.items() if count > 1] == []


def test_every_rendered_object_is_declared_once(run: Run, site_file: Path) -> None:
    declared = Counter(
        objects.object_key(r.inputs | {"kind": r.type.rsplit(":", 1)[-1]}) for r in kubernetes_objects(run)
    )
    rendered = {objects.object_key(o) for o in objects.site_objects(load_site(site_file).site)}
    assert rendered <= set(declared)
    assert [key for key in rendered if declared[key] != 1] == []


def test_objects_keep_the_urns_of_stacks_named_before_object_keys() -> None:
    """fra1 has one namespace: every object's old name (metadata.name) was its URN's, and is its alias now."""
    fra1 = run_program("inventories/fra1/site.yaml", kubeconfig=KUBECONFIG)
    for r in kubernetes_objects(fra1):
        if r.type == "kubernetes:core/v1:Namespace" or r.type == "kubernetes:core/v1:Secret":
            continue  # named `ns-<name>` and `secret-<ns>-<name>` before and after
        assert named_aliases(r) == [r.inputs["metadata"]["name"]], (r.type, r.name)


def test_same_named_objects_in_two_namespaces_get_no_alias(run: Run) -> None:
    """No stack could hold them under their bare name (their URNs collided), and two resources may not claim one
    alias."""
    deny = [r for r in kubernetes_objects(run) if r.inputs["metadata"]["name"] == "default-deny"]
    assert sorted(r.inputs["metadata"]["namespace"] for r in deny) == ["batch", "inference"]
    assert all(named_aliases(r) == [] for r in deny)

"""Limits of an autoscaled, disruptable deployment: values that render a workload Kubernetes can never scale back up
or drain are refused at load, with the line and the fix; the PDB and the rollout take the same number of replicas."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpuctl.errors import Problem, SpecError
from gpuctl.loader import load_site
from gpuctl.render import serving
from tests.conftest import ROOT

SRV030 = ROOT / "tests" / "rules" / "SRV030" / "pass.yaml"  # d1: replicas 3, max_unavailable 4, autoscaling 2..4
D1_LINE = len(SRV030.read_text().splitlines())  # the fixture's last line is its one deployment


def load_problem(tmp_path: Path, old: str, new: str) -> Problem:
    text = SRV030.read_text()
    assert old in text
    (tmp_path / "site.yaml").write_text(text.replace(old, new))
    with pytest.raises(SpecError) as caught:
        load_site(tmp_path / "site.yaml")
    [problem] = caught.value.problems
    assert problem.line == D1_LINE
    return problem


def test_min_replicas_zero_is_refused_because_nothing_would_scale_it_up(tmp_path: Path) -> None:
    problem = load_problem(tmp_path, "min_replicas: 2", "min_replicas: 0")
    assert problem.path == "deployments[d1].autoscaling.min_replicas"
    assert "never scale back up" in problem.message and "set min_replicas ≥ 1" in problem.message


def test_max_unavailable_zero_is_refused_because_no_drain_or_rollout_could_proceed(tmp_path: Path) -> None:
    problem = load_problem(tmp_path, "max_unavailable: 4", "max_unavailable: 0")
    assert problem.path == "deployments[d1].max_unavailable"
    assert "block every node drain" in problem.message and "set max_unavailable ≥ 1" in problem.message


@pytest.mark.parametrize("tp", [4, 8])  # 8: a LeaderWorkerSet of two 8-GPU pods per replica; 4: a Deployment
def test_the_rollout_takes_down_what_the_pdb_allows(tmp_path: Path, tp: int) -> None:
    text = (ROOT / "tests" / "rules" / "SRV002" / "pass.yaml").read_text()
    text = text.replace("tensor_parallel_size: 8", f"tensor_parallel_size: {tp}").replace(
        "node_pool: p1}", "node_pool: p1, replicas: 2, max_unavailable: 2}"
    )
    (tmp_path / "site.yaml").write_text(text)
    site = load_site(tmp_path / "site.yaml").site
    [dep] = site.deployments
    workload = serving.workload(site, dep)
    spec = workload["spec"]
    rolling = spec["strategy"]["rollingUpdate"] if tp == 4 else spec["rolloutStrategy"]["rollingUpdateConfiguration"]
    assert rolling == {"maxSurge": 0, "maxUnavailable": 2}  # replicas (groups, for a LeaderWorkerSet)
    pdb = next(o for o in serving.deployment_objects(site, dep) if o["kind"] == "PodDisruptionBudget")
    # pods, of which each may sit in another group: max_unavailable pods can cost max_unavailable replicas, no more
    assert pdb["spec"]["maxUnavailable"] == 2

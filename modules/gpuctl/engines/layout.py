"""How one replica of a deployment lands on its pool's nodes: one pod, or one pod per pipeline stage.

A replica that fits a node (tp x pp GPUs at most the largest node's) is one pod holding all its GPUs: pipeline
stages talk over NVLink inside it. A larger replica is one pod per pipeline stage, tp GPUs each, on as many nodes
(a LeaderWorkerSet group): tensor parallelism never leaves a node, pipeline parallelism crosses the pool's
fabric. A tp larger than a node has no layout (the tensor-parallel-layout rule reports it).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..model import Deployment, Site


@dataclass(frozen=True)
class Layout:
    pods_per_replica: int
    gpus_per_pod: int
    node_gpus: int  # GPUs of the pool's largest node (0: no GPU node)

    @property
    def multi_node(self) -> bool:
        return self.pods_per_replica > 1


def node_gpus(site: Site, dep: Deployment) -> int:
    return max((site.gpu_count(s) for s in site.pool_servers(site.pool(dep.node_pool))), default=0)


def layout(site: Site, dep: Deployment) -> Layout:
    per_node = node_gpus(site, dep)
    if dep.gpus_per_replica <= per_node or dep.pipeline_parallel_size == 1:
        return Layout(1, dep.gpus_per_replica, per_node)
    return Layout(dep.pipeline_parallel_size, dep.tensor_parallel_size, per_node)


def compute_capability(site: Site, dep: Deployment) -> float | None:
    """The lowest compute capability among the pool's GPUs (None: none known)."""
    caps = [
        g.compute_capability
        for s in site.pool_servers(site.pool(dep.node_pool))
        if (g := site.gpu_spec(s)) is not None and g.compute_capability is not None
    ]
    return min(caps) if caps else None

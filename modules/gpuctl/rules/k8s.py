"""Kubernetes scheduling rules: node pool membership and whether GPU requests can be scheduled."""

from __future__ import annotations

from collections.abc import Iterator

from ..model import Server, Site
from . import paths
from .base import Hit, Severity, rule

K8S_GPUS = (
    "Kubernetes, Schedule GPUs: GPUs in limits, whole, not overcommitted: "
    "https://kubernetes.io/docs/tasks/manage-gpus/scheduling-gpus/"
)


@rule(
    "K8S001",
    "node-pool-membership",
    Severity.ERROR,
    "Each GPU node pool is a set of servers with one GPU model, each server in one pool.",
    "Put each server in exactly one pool, and split pools by GPU model.",
    sources=(K8S_GPUS,),
)
def node_pool_membership(site: Site) -> Iterator[Hit]:
    """A server in two pools gets two conflicting label/taint sets; a pool without GPU servers serves
    nothing; a pool mixing GPU models lets a deployment sized for one land on another; a declared
    gpus_per_node must equal what the devices report."""
    owner: dict[str, str] = {}
    for pool in site.node_pools:
        target = paths.pool(pool)
        members = site.pool_servers(pool)
        if not members:
            yield Hit(target, "the pool has no servers", "servers")
            continue
        models: dict[str, list[str]] = {}
        for server in members:
            if server.name in owner:
                yield Hit(target, f"{server.name} is already in pool {owner[server.name]}", "servers")
            else:
                owner[server.name] = pool.name
            gpu = site.gpu_spec(server)
            if gpu is None:
                yield Hit(target, f"{server.name} ({server.model}) has no GPUs", "servers")
                continue
            models.setdefault(gpu.id, []).append(server.name)
            count = site.gpu_count(server)
            if pool.gpus_per_node is not None and pool.gpus_per_node != count:
                yield Hit(
                    target,
                    f"gpus_per_node {pool.gpus_per_node} but {server.name} has {count} GPUs",
                    "gpus_per_node",
                )
        if len(models) > 1:
            shown = "; ".join(
                f"{m}: {', '.join(names[:3])}{' …' if len(names) > 3 else ''}" for m, names in sorted(models.items())
            )
            yield Hit(target, f"mixes GPU models ({shown})", "servers")


def _gpus(site: Site, servers: list[Server]) -> list[int]:
    return [site.gpu_count(s) for s in servers if site.gpu_spec(s) is not None]


@rule(
    "K8S002",
    "gpu-request-schedulable",
    Severity.ERROR,
    "Each serving pod's GPU request must fit on one node of its pool.",
    "Lower tensor_parallel_size to the GPUs per node, add pipeline parallelism across nodes, "
    "or use a pool with larger nodes.",
    sources=(K8S_GPUS,),
)
def gpu_request_schedulable(site: Site) -> Iterator[Hit]:
    """A pod requests tensor_parallel_size GPUs (limits = requests, whole GPUs). No node of the pool with
    that many GPUs means the pod stays Pending forever."""
    for dep in site.deployments:
        pool = site.pool(dep.node_pool)
        counts = _gpus(site, site.pool_servers(pool))
        target = paths.deployment(dep)
        if not counts:
            yield Hit(target, f"pool {pool.name} has no GPU nodes", "node_pool")
            continue
        if dep.gpus_per_pod > max(counts):
            yield Hit(
                target,
                f"a pod requests nvidia.com/gpu: {dep.gpus_per_pod} (tensor_parallel_size) but the largest node in "
                f"pool {pool.name} has {max(counts)} GPUs",
                "tensor_parallel_size",
            )


RULES = (node_pool_membership, gpu_request_schedulable)

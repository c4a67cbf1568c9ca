"""Serving rules: what the engine runs on the pool's GPUs, how a replica spans nodes, whether the pool holds every
deployment at its maximum, what one rack or feed loss takes down, and how much traffic stays local."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator

from .. import engines
from ..engines.layout import compute_capability, layout
from ..model import Deployment, Site
from . import paths
from .base import Hit, Severity, rule

QUANT_SOURCES = (
    "vLLM quantization, Supported Hardware: https://docs.vllm.ai/en/v0.11.2/features/quantization/",
    "TensorRT-LLM quantization support matrix: https://nvidia.github.io/TensorRT-LLM/features/quantization.html",
)


@rule(
    "SRV001",
    "engine-quantization-support",
    Severity.ERROR,
    "The engine must run the deployment's precision, quantization method and KV cache dtype on the pool's GPU.",
    "Choose a precision and quantization_method the engine supports on this GPU, or another engine or pool.",
    sources=QUANT_SOURCES,
)
def engine_quantization_support(site: Site) -> Iterator[Hit]:
    """FP8 arithmetic needs Ada or Hopper (compute capability 8.9) in TensorRT-LLM; vLLM runs FP8 weight-only
    from Turing. AWQ needs Turing, Marlin kernels Ampere; TensorRT-LLM has no bitsandbytes. A combination the
    engine lacks fails at start-up, after the weights were loaded."""
    for dep in site.deployments:
        problem = engines.get(dep.engine).unsupported(dep, compute_capability(site, dep))
        if problem:
            field = "kv_cache_dtype" if "KV cache" in problem else "precision"
            yield Hit(paths.deployment(dep), problem, field)


def _has_fabric(site: Site, dep: Deployment) -> list[str]:
    """Servers of the pool without a compute (east-west) port."""
    return [
        s.name
        for s in site.pool_servers(site.pool(dep.node_pool))
        if not any(p.role == "compute" for n in s.nics for p in n.ports)
    ]


@rule(
    "SRV002",
    "multi-node-replica",
    Severity.ERROR,
    "A replica larger than a node needs an engine with a multi-node mode, whole stages per node and a fabric.",
    "Use vLLM for multi-node replicas, a tensor_parallel_size that fits a node, and compute ports on the pool.",
    sources=(
        "LeaderWorkerSet vLLM example: https://github.com/kubernetes-sigs/lws/blob/v0.10.0/docs/examples/vllm/GPU/lws.yaml",
        "TensorRT-LLM backend README, orchestrator mode single node only: "
        "https://github.com/triton-inference-server/tensorrtllm_backend/blob/v0.17.0/README.md",
    ),
)
def multi_node_replica(site: Site) -> Iterator[Hit]:
    """tp x pp above the GPUs of a node makes one pod per pipeline stage (a LeaderWorkerSet group). Tensor
    parallelism all-reduces every layer and stays inside a node; pipeline stages pass activations between nodes
    every step, over the pool's compute fabric (ports with role compute), not the data network."""
    for dep in site.deployments:
        shape = layout(site, dep)
        if not shape.multi_node:
            continue
        target = paths.deployment(dep)
        if dep.tensor_parallel_size > shape.node_gpus:
            continue  # a tp wider than a node: gpu-request-schedulable reports it
        if engines.get(dep.engine).multi_node(dep, []) is None:
            yield Hit(
                target,
                f"tp {dep.tensor_parallel_size} × pp {dep.pipeline_parallel_size} = {dep.gpus_per_replica} GPUs > "
                f"{shape.node_gpus} per node, and engine {dep.engine} has no multi-node mode gpuctl renders",
                "engine",
            )
            continue
        missing = _has_fabric(site, dep)
        if missing:
            shown = ", ".join(missing[:3]) + (" …" if len(missing) > 3 else "")
            yield Hit(
                target,
                f"pipeline stages on {shape.pods_per_replica} nodes need the compute fabric, but pool "
                f"{dep.node_pool} has servers without a compute port ({shown})",
                "pipeline_parallel_size",
            )


@rule(
    "SRV003",
    "autoscaling-pool-capacity",
    Severity.ERROR,
    "The declared maximum replicas of a pool's deployments must fit its GPUs, or priorities must say who yields.",
    "Lower max_replicas, add GPUs, or give the deployments different autoscaling priorities.",
)
def autoscaling_pool_capacity(site: Site) -> Iterator[Hit]:
    """Σ max replicas × GPUs per replica on the pool against its GPUs. When they do not fit, the scheduler preempts
    a lower-priority deployment's pods for a higher one's (a PriorityClass per priority); deployments that share a
    priority have no order, and the last to scale stays Pending."""
    for pool in site.node_pools:
        deps = [d for d in site.deployments if d.node_pool == pool.name]
        if not any(d.autoscaling for d in deps):
            continue
        have = sum(site.gpu_count(s) for s in site.pool_servers(pool))
        need = sum(d.replicas_max * d.gpus_per_replica for d in deps)
        if need <= have:
            continue
        ranks = Counter(d.autoscaling.priority if d.autoscaling else 0 for d in deps)
        tied = sorted(d.name for d in deps if ranks[d.autoscaling.priority if d.autoscaling else 0] > 1)
        if tied:
            parts = " + ".join(f"{d.name} {d.replicas_max}×{d.gpus_per_replica}" for d in deps)
            yield Hit(
                paths.pool(pool),
                f"maxima need {need} GPUs ({parts}) > {have} in the pool, and {', '.join(tied)} share a priority",
                "servers",
            )


def _domains(site: Site, dep: Deployment) -> tuple[Counter[str], Counter[str]]:
    """Nodes of the pool per rack, and per PDU feed a node depends on alone (single-corded to it)."""
    racks: Counter[str] = Counter()
    feeds: Counter[str] = Counter()
    for server in site.pool_servers(site.pool(dep.node_pool)):
        rack = site.rack_of(server.name)
        racks[rack.name] += 1
        pdus = {p.name: p.feed for p in rack.pdus}
        served_by = {pdus[c.pdu] for c in server.power_cords if c.pdu in pdus}
        if len(served_by) == 1:
            feeds[f"{rack.name}/{next(iter(served_by))}"] += 1
    return racks, feeds


@rule(
    "SRV004",
    "failure-domain-disruption",
    Severity.WARNING,
    "Losing one rack or one power feed should not take down more replicas than the deployment's PDB allows.",
    "Spread the pool over more racks, dual-cord its servers, or raise max_unavailable knowingly.",
)
def failure_domain_disruption(site: Site) -> Iterator[Hit]:
    """Replicas spread evenly over the pool's racks (topology spread, max skew 1) put ceil(replicas × share) on
    the rack holding the largest share of the pool's nodes; a node fed by one feed only goes down with it. More
    than max_unavailable replicas lost at once is an outage the PodDisruptionBudget was meant to prevent."""
    for dep in site.deployments:
        racks, feeds = _domains(site, dep)
        nodes = sum(racks.values())
        if not nodes:
            continue
        pods = layout(site, dep).pods_per_replica
        replicas = dep.replicas_max
        for kind, domains in (("rack", racks), ("feed", feeds)):
            if not domains:
                continue
            worst, count = domains.most_common(1)[0]
            share = count / nodes
            # a replica of several pods is lost with any of them
            lost = min(replicas, math.ceil(replicas * share * pods))
            if lost > dep.max_unavailable:
                yield Hit(
                    paths.deployment(dep),
                    f"losing {kind} {worst} ({count} of {nodes} nodes of pool {dep.node_pool}) takes about {lost} "
                    f"of {replicas} replicas > max_unavailable {dep.max_unavailable}",
                    "max_unavailable",
                )


@rule(
    "SRV005",
    "burst-local-share",
    Severity.WARNING,
    "With a burst endpoint, the local replicas should serve the declared share of steady traffic (default 75 %).",
    "Add replicas (or max_replicas), raise max_num_seqs, or lower local_share_pct to what you accept.",
    sources=("Hybrid pattern: 70-80 % of steady traffic on owned GPUs, the cloud for peaks (issue #12 seed)",),
)
def burst_local_share(site: Site) -> Iterator[Hit]:
    """Local capacity is max replicas × max_num_seqs requests in flight; at a steady concurrency C the local share
    is min(1, capacity / C). Below the declared share, steady traffic (not just peaks) goes to the cloud."""
    for dep in site.deployments:
        burst = dep.burst
        if burst is None or burst.steady_concurrency is None:
            continue
        seqs = dep.engine_max_num_seqs
        if seqs is None:
            yield Hit(paths.deployment(dep), "burst needs max_num_seqs or target_concurrency to size capacity", "burst")
            continue
        capacity = dep.replicas_max * seqs
        share = min(1.0, capacity / burst.steady_concurrency) * 100
        if share < burst.local_share_pct:
            yield Hit(
                paths.deployment(dep),
                f"local capacity {dep.replicas_max} × {seqs} = {capacity} of {burst.steady_concurrency} steady "
                f"requests in flight: {share:.0f} % local < {burst.local_share_pct:g} %",
                "burst",
            )


RULES = (
    engine_quantization_support,
    multi_node_replica,
    autoscaling_pool_capacity,
    failure_domain_disruption,
    burst_local_share,
)

"""Kubernetes manifests of the serving stack: per deployment a Deployment (GPU limits equal to requests,
tolerations and affinity for its pool, readiness and startup probes), a Service and a NetworkPolicy admitting
only the declared clients. Engine arguments come from the spec and, where it leaves them open, the VRAM engine.
"""

from __future__ import annotations

from typing import Any

from ..model import Deployment, Site
from ..rules.vram import deployment_prediction
from .k8s import LABEL_PREFIX, MANAGED_BY

PORT = 8000
MODEL_CACHE = "/var/lib/gpuctl/models"
IMAGES = {
    # Offline sites point these at their registry mirror through `image` on the deployment.
    "vllm": "docker.io/vllm/vllm-openai:v{version}",
    "trtllm": "nvcr.io/nvidia/tritonserver:25.01-trtllm-python-py3",
    "triton": "nvcr.io/nvidia/tritonserver:25.01-py3",
}


def image(dep: Deployment) -> str:
    if dep.image:
        return dep.image
    return IMAGES[dep.engine].format(version=dep.engine_version or "0.11.0")


def engine_args(site: Site, dep: Deployment) -> list[str]:
    max_len = dep.max_model_len
    if max_len is None:
        p = deployment_prediction(site, dep, with_workload=False)
        if p is not None and p.max_model_len_supported > 0:
            max_len = min(p.max_model_len_supported, site.model_arch(dep).max_position_embeddings)
    if dep.engine == "vllm":
        args = [
            "--model",
            f"/models/{dep.model}",
            "--served-model-name",
            dep.model,
            "--port",
            str(PORT),
            "--tensor-parallel-size",
            str(dep.tensor_parallel_size),
            "--pipeline-parallel-size",
            str(dep.pipeline_parallel_size),
            "--gpu-memory-utilization",
            f"{dep.gpu_memory_utilization:g}",
        ]
        if max_len:
            args += ["--max-model-len", str(max_len)]
        if dep.kv_cache_dtype != "auto":
            args += ["--kv-cache-dtype", dep.kv_cache_dtype]
        if dep.precision in ("fp8",):
            args += ["--quantization", "fp8"]
        elif dep.precision in ("bf16", "fp16"):
            args += ["--dtype", {"bf16": "bfloat16", "fp16": "float16"}[dep.precision]]
        return args
    return ["tritonserver", f"--model-repository=/models/{dep.model}", f"--http-port={PORT}"]


def _labels(dep: Deployment) -> dict[str, str]:
    return {**MANAGED_BY, "app.kubernetes.io/name": dep.name, f"{LABEL_PREFIX}/deployment": dep.name}


def deployment(site: Site, dep: Deployment) -> dict[str, Any]:
    pool = site.pool(dep.node_pool)
    gpus = str(dep.gpus_per_pod)
    health = "/health" if dep.engine == "vllm" else "/v2/health/ready"
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": dep.name, "namespace": dep.namespace, "labels": _labels(dep)},
        "spec": {
            "replicas": dep.replicas,
            "selector": {"matchLabels": {f"{LABEL_PREFIX}/deployment": dep.name}},
            # GPUs are whole and scarce: replace pods one by one instead of surging past the pool.
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}},
            "template": {
                "metadata": {"labels": _labels(dep)},
                "spec": {
                    "affinity": {
                        "nodeAffinity": {
                            "requiredDuringSchedulingIgnoredDuringExecution": {
                                "nodeSelectorTerms": [
                                    {
                                        "matchExpressions": [
                                            {"key": f"{LABEL_PREFIX}/pool", "operator": "In", "values": [pool.name]}
                                        ]
                                    }
                                ]
                            }
                        }
                    },
                    "tolerations": [
                        {"key": t.key, "operator": "Equal", "value": t.value, "effect": t.effect} for t in pool.taints
                    ],
                    "containers": [
                        {
                            "name": "engine",
                            "image": image(dep),
                            "args": engine_args(site, dep),
                            "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
                            "resources": {"limits": {"nvidia.com/gpu": gpus}, "requests": {"nvidia.com/gpu": gpus}},
                            "readinessProbe": {
                                "httpGet": {"path": health, "port": "http"},
                                "periodSeconds": 10,
                                "failureThreshold": 3,
                            },
                            "startupProbe": {
                                "httpGet": {"path": health, "port": "http"},
                                "periodSeconds": 10,
                                "failureThreshold": 180,
                            },
                            "volumeMounts": [
                                {"name": "models", "mountPath": "/models", "readOnly": True},
                                {"name": "shm", "mountPath": "/dev/shm"},
                            ],
                        }
                    ],
                    "volumes": [
                        {"name": "models", "hostPath": {"path": MODEL_CACHE, "type": "Directory"}},
                        {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "16Gi"}},
                    ],
                },
            },
        },
    }


def service(dep: Deployment) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": dep.name, "namespace": dep.namespace, "labels": _labels(dep)},
        "spec": {
            "selector": {f"{LABEL_PREFIX}/deployment": dep.name},
            "ports": [{"name": "http", "port": PORT, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def network_policy(dep: Deployment) -> dict[str, Any]:
    sources: list[dict[str, Any]] = []
    for c in dep.clients:
        if c.cidr:
            sources.append({"ipBlock": {"cidr": str(c.cidr)}})
        else:
            peer: dict[str, Any] = {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": c.namespace}}}
            if c.pod_labels:
                peer["podSelector"] = {"matchLabels": dict(c.pod_labels)}
            sources.append(peer)
    ingress = [{"from": sources, "ports": [{"port": PORT, "protocol": "TCP"}]}] if sources else []
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": f"{dep.name}-clients", "namespace": dep.namespace, "labels": _labels(dep)},
        "spec": {
            "podSelector": {"matchLabels": {f"{LABEL_PREFIX}/deployment": dep.name}},
            "policyTypes": ["Ingress"],
            "ingress": ingress,
        },
    }


def manifests(site: Site) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for dep in site.deployments:
        out += [deployment(site, dep), service(dep), network_policy(dep)]
    return out

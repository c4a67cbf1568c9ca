"""Kubernetes objects of each deployment's engine: the replicas (a Deployment, or a LeaderWorkerSet when a replica
spans nodes), their engine files, weights staging, Service, NetworkPolicy and PodDisruptionBudget. The image,
command, arguments, ports and probes come from the deployment's engine (gpuctl.engines); a context length the spec
leaves open comes from the memory model. The router, autoscaling and burst gateway in front of the replicas are
render/router.py, render/autoscaling.py and render/burst.py; `manifests` lists them all.

Public API for tests and tools: `engine_command(site, dep)` is the engine's full command line as rendered.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from .. import engines
from ..engines.base import CONFIG_DIR
from ..engines.layout import compute_capability, layout
from ..model import Deployment, Site
from ..model.serving import ModelSource
from ..vram import deployment_prediction
from . import autoscaling, burst, router, triton_server
from .k8s import BURNIN_LABEL, BURNIN_PASSED, LABEL_PREFIX, TOPOLOGY_FEEDS, TOPOLOGY_RACK
from .labels import COMPONENT, DEPLOYMENT, client_peers, labels, selector
from .obs.otel import trace_args
from .security import engine_tls

MODEL_CACHE = "/var/lib/gpuctl/models"
# Owner of the model cache (the serving role chowns it to these; a test keeps the two equal). The staging init
# container runs as them: its image's own user (curlimages/curl: curl_user, a system user `adduser -S` makes,
# github.com/curl/curl-container create_base_image.sh) cannot write a root-owned hostPath, and fsGroup does not
# apply to hostPath volumes.
MODEL_CACHE_UID = 2000
MODEL_CACHE_GID = 2000
RUNTIME_CLASS = "nvidia"  # the RuntimeClass render.objects declares (CONVENTIONS: containerd handler `nvidia`)
LWS_API = "leaderworkerset.x-k8s.io/v1"
STAGE_SCRIPT = "stage-weights.sh"
STAGE_DIR = "/opt/gpuctl"
# What Pod Security "restricted" asks of a container that needs no privilege (GPUs come from the device plugin).
CONTAINER_SECURITY: dict[str, Any] = {
    "allowPrivilegeEscalation": False,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def image(dep: Deployment) -> str:
    """The deployment's image, else its engine's default (offline sites point `image` at their mirror)."""
    return dep.image or engines.get(dep.engine).image(dep.engine_version)


def max_model_len(site: Site, dep: Deployment) -> int | None:
    """The spec's context length, else the largest the memory model fits (capped by the model's own)."""
    if dep.max_model_len is not None:
        return dep.max_model_len
    profile = engines.get(dep.engine).memory_profile(dep.engine_version)
    p = deployment_prediction(site, dep, profile, with_workload=False)
    if p is not None and p.max_model_len_supported > 0:
        return min(p.max_model_len_supported, site.model_arch(dep).max_position_embeddings)
    return None


def engine_args(site: Site, dep: Deployment) -> list[str]:
    args = engines.get(dep.engine).args(dep, max_model_len(site, dep), compute_capability(site, dep))
    args = triton_server.server_args(dep, args)  # a Triton server with Python models reads its prepared copy
    args = engine_tls.engine_args(site, dep, args)  # engine-side TLS: issue 14's hook
    return args + trace_args(site, dep)  # tracing: issue 13's hook


def engine_command(site: Site, dep: Deployment) -> list[str]:
    """The engine's command line exactly as a (single-pod) replica runs it: command + arguments."""
    return [*engines.get(dep.engine).command(dep), *engine_args(site, dep)]


def engine_files(site: Site, dep: Deployment) -> dict[str, str]:
    if dep.triton_models or dep.build_engine:  # several models in one server, sized together; engines built
        return triton_server.files(site, dep, max_model_len(site, dep))
    return engines.get(dep.engine).files(dep, max_model_len(site, dep))


def config_maps(site: Site, dep: Deployment) -> list[dict[str, Any]]:
    out = []
    files = engine_files(site, dep)
    if files:
        out.append(_config_map(dep, f"{dep.name}-engine", files))
    if _staged(dep):
        script = resources.files(__package__).joinpath("stage_weights.sh").read_text(encoding="utf-8")
        out.append(_config_map(dep, f"{dep.name}-stage", {STAGE_SCRIPT: script}))
    if engine_tls.enabled(site, dep):
        out.append(engine_tls.config_map(dep))
    return out


def _config_map(dep: Deployment, name: str, data: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": dep.namespace, "labels": labels(dep, "engine")},
        "data": dict(sorted(data.items())),
    }


def _node_affinity(site: Site, dep: Deployment) -> dict[str, Any]:
    pool = site.pool(dep.node_pool)
    return {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {
                        "matchExpressions": [
                            {"key": f"{LABEL_PREFIX}/pool", "operator": "In", "values": [pool.name]},
                            {"key": BURNIN_LABEL, "operator": "In", "values": [BURNIN_PASSED]},
                        ]
                    }
                ]
            }
        }
    }


def _spread(dep: Deployment) -> list[dict[str, Any]]:
    """Replicas over racks (a hard limit: a rack is one failure domain) and over PDU feed sets (best effort: the
    scheduler may not find a node on another feed set with free GPUs)."""
    match = {"matchLabels": selector(dep, "engine")}
    return [
        {"maxSkew": 1, "topologyKey": TOPOLOGY_RACK, "whenUnsatisfiable": "DoNotSchedule", "labelSelector": match},
        {"maxSkew": 1, "topologyKey": TOPOLOGY_FEEDS, "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": match},
    ]


def _staged(dep: Deployment) -> list[tuple[str, str, ModelSource]]:
    """(container name, model, source) of every model the pod stages: the deployment's, then a Triton server's
    further models'."""
    out = [("stage-weights", dep.model, dep.source)] if dep.source else []
    further = [(m.model, m.source) for m in dep.triton_models if m.source]
    return out + [(f"stage-weights-{i}", model, src) for i, (model, src) in enumerate(further, 1)]


def _stage_container(name: str, model: str, src: ModelSource) -> dict[str, Any]:
    """Stages the weights into the node's cache before the engine starts (render/stage_weights.sh)."""
    env: list[dict[str, Any]] = [
        {"name": "STAGE_DEST", "value": f"/models/{model}"},
        {"name": "STAGE_MANIFEST_SHA256", "value": src.manifest_sha256},
        {"name": "STAGE_SIZE_KIB", "value": str(int(src.size_gib * 1024 * 1024))},
    ]
    if src.is_nfs:
        env += [{"name": "STAGE_SOURCE_DIR", "value": "/source"}, {"name": "STAGE_SOURCE_URL", "value": ""}]
    else:
        env += [{"name": "STAGE_SOURCE_DIR", "value": ""}, {"name": "STAGE_SOURCE_URL", "value": src.url}]
    if src.token_secret:
        # The token's Secret is the security side's (issue 14); only its name and key appear here.
        ref = {"secretKeyRef": {"name": src.token_secret, "key": "token"}}
        env.append({"name": "STAGE_TOKEN", "valueFrom": ref})
    mounts = [
        {"name": "models", "mountPath": "/models"},
        {"name": "stage", "mountPath": STAGE_DIR, "readOnly": True},
    ]
    if src.is_nfs:
        mounts.append({"name": _source_volume(name), "mountPath": "/source", "readOnly": True})
    return {
        "name": name,
        "image": src.stage_image,
        "command": ["sh", f"{STAGE_DIR}/{STAGE_SCRIPT}"],
        "env": env,
        "securityContext": {**CONTAINER_SECURITY, "runAsUser": MODEL_CACHE_UID, "runAsGroup": MODEL_CACHE_GID},
        "volumeMounts": mounts,
    }


def _volumes(site: Site, dep: Deployment) -> list[dict[str, Any]]:
    vols: list[dict[str, Any]] = [
        {"name": "models", "hostPath": {"path": MODEL_CACHE, "type": "Directory"}},
        {"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "16Gi"}},
    ]
    files = engine_files(site, dep)
    if files:
        items = [{"key": k, "path": k.replace("__", "/")} for k in sorted(files)]
        vols.append({"name": "engine", "configMap": {"name": f"{dep.name}-engine", "items": items}})
    staged = _staged(dep)
    if staged:
        vols.append({"name": "stage", "configMap": {"name": f"{dep.name}-stage"}})
    for name, _, src in staged:
        if src.is_nfs:
            server, _, path = src.url.partition(":")
            vols.append({"name": _source_volume(name), "nfs": {"server": server, "path": path, "readOnly": True}})
    if triton_server.python_models(dep):
        vols.append({"name": "repository", "emptyDir": {}})
    return vols


def _source_volume(stage_container: str) -> str:
    return stage_container.replace("stage-weights", "source", 1)  # source, source-1, ...


def pod_spec(site: Site, dep: Deployment, command: list[str], args: list[str], gpus: int) -> dict[str, Any]:
    """A GPU pod of the deployment: the nvidia runtime, the pool and burn-in affinity, its pool's tolerations."""
    engine = engines.get(dep.engine)
    ready = engine.readiness_path
    gpu = str(gpus)
    mounts = [
        {"name": "models", "mountPath": "/models", "readOnly": True},
        {"name": "shm", "mountPath": "/dev/shm"},
    ]
    if engine_files(site, dep):
        mounts.append({"name": "engine", "mountPath": CONFIG_DIR, "readOnly": True})
    container: dict[str, Any] = {
        "name": "engine",
        "image": image(dep),
        "command": command,
        "args": args,
        "securityContext": CONTAINER_SECURITY,
        "ports": [{"name": "http", "containerPort": engine.port, "protocol": "TCP"}],
        "resources": {"limits": {"nvidia.com/gpu": gpu}, "requests": {"nvidia.com/gpu": gpu}},
        "readinessProbe": {"httpGet": {"path": ready, "port": "http"}, "periodSeconds": 10, "failureThreshold": 3},
        "startupProbe": {"httpGet": {"path": ready, "port": "http"}, "periodSeconds": 10, "failureThreshold": 180},
        "volumeMounts": mounts,
    }
    if engine.metrics_port != engine.port:
        container["ports"].append({"name": "metrics", "containerPort": engine.metrics_port, "protocol": "TCP"})
    env = {**engine.env(dep), **dep.env}  # the spec's extra variables (issue 14) after the engine's
    if env:
        container["env"] = [{"name": k, "value": v} for k, v in sorted(env.items())]
    spec: dict[str, Any] = {
        "runtimeClassName": RUNTIME_CLASS,
        # its own identity, no API token (render/security/k8s.py declares the ServiceAccount)
        "serviceAccountName": dep.name,
        "automountServiceAccountToken": False,
        "affinity": _node_affinity(site, dep),
        "topologySpreadConstraints": _spread(dep),
        "tolerations": [
            {"key": t.key, "operator": "Equal", "value": t.value, "effect": t.effect}
            for t in site.pool(dep.node_pool).taints
        ],
    }
    if dep.autoscaling is not None:
        spec["priorityClassName"] = autoscaling.priority_class_name(dep.autoscaling.priority)
    inits = [_stage_container(*staged) for staged in _staged(dep)]
    builds = triton_server.build_containers(site, dep, max_model_len(site, dep), image(dep))
    inits += [{**b, "securityContext": CONTAINER_SECURITY} for b in builds]
    prepare = triton_server.prepare_container(dep, image(dep))
    if prepare is not None:
        inits.append({**prepare, "securityContext": CONTAINER_SECURITY})
        mounts.append({"name": "repository", "mountPath": triton_server.REPOSITORY, "readOnly": True})
    if inits:
        spec["initContainers"] = inits
    spec["containers"] = [container]
    spec["volumes"] = _volumes(site, dep)
    return engine_tls.secure_pod(site, dep, spec)  # engine-side TLS: the proxy beside the engine (issue 14)


def workload(site: Site, dep: Deployment) -> dict[str, Any]:
    """One pod per replica (a Deployment), or one pod per pipeline stage (a LeaderWorkerSet group)."""
    engine = engines.get(dep.engine)
    shape = layout(site, dep)
    args = engine_args(site, dep)
    meta = {"name": dep.name, "namespace": dep.namespace, "labels": labels(dep, "engine")}
    # KEDA's HPA owns the count of an autoscaled workload: a `replicas` here would reset it on every apply or
    # GitOps sync, mid-peak (rule SRV030 keeps the spec's steady count inside KEDA's bounds).
    replicas = {} if dep.autoscaling else {"replicas": dep.replicas}
    if not shape.multi_node:
        return {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta,
            "spec": {
                **replicas,
                "selector": {"matchLabels": selector(dep, "engine")},
                # GPUs are whole and scarce: replace pods one by one instead of surging past the pool, and
                # never take more than the PDB allows.
                "strategy": {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxSurge": 0, "maxUnavailable": dep.max_unavailable},
                },
                "template": {
                    "metadata": {"labels": labels(dep, "engine")},
                    "spec": pod_spec(site, dep, engine.command(dep), args, shape.gpus_per_pod),
                },
            },
        }
    commands = engine.multi_node(dep, args)
    if commands is None:
        raise ValueError(f"{dep.name}: engine {dep.engine} has no multi-node mode (rule SRV002 reports it)")
    leader, worker = commands
    return {
        "apiVersion": LWS_API,
        "kind": "LeaderWorkerSet",
        "metadata": meta,
        "spec": {
            **replicas,
            "startupPolicy": "LeaderCreated",
            "rolloutStrategy": {
                "type": "RollingUpdate",
                "rollingUpdateConfiguration": {"maxSurge": 0, "maxUnavailable": dep.max_unavailable},
            },
            "leaderWorkerTemplate": {
                "size": shape.pods_per_replica,
                # A pipeline with a dead stage serves nothing: restart the whole group.
                "restartPolicy": "RecreateGroupOnPodRestart",
                "leaderTemplate": {
                    "metadata": {"labels": labels(dep, "engine")},
                    "spec": pod_spec(site, dep, leader[:1], leader[1:], shape.gpus_per_pod),
                },
                "workerTemplate": {
                    "metadata": {"labels": labels(dep, "engine-worker")},
                    "spec": _worker_spec(pod_spec(site, dep, worker[:1], worker[1:], shape.gpus_per_pod)),
                },
            },
        },
    }


def _worker_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """A pipeline worker serves no HTTP: no port, no HTTP probes (the leader's readiness covers the group)."""
    container = {k: v for k, v in spec["containers"][0].items() if k not in ("ports", "readinessProbe", "startupProbe")}
    return {**spec, "containers": [container]}


def service(dep: Deployment) -> dict[str, Any]:
    """The replicas' endpoints (leaders only for a LeaderWorkerSet): what the router discovers and calls."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": dep.name, "namespace": dep.namespace, "labels": labels(dep, "engine")},
        "spec": {
            "selector": selector(dep, "engine"),
            "ports": [{"name": "http", "port": engines.get(dep.engine).port, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def network_policy(dep: Deployment) -> dict[str, Any]:
    """The engine admits its router (and the declared clients, who may also call a replica directly)."""
    port = engines.get(dep.engine).port
    sources = [{"podSelector": {"matchLabels": selector(dep, "router")}}, *client_peers(dep)]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": f"{dep.name}-clients", "namespace": dep.namespace, "labels": labels(dep, "engine")},
        "spec": {
            "podSelector": {"matchLabels": selector(dep, "engine")},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": sources, "ports": [{"port": port, "protocol": "TCP"}]}],
        },
    }


def pod_disruption_budget(site: Site, dep: Deployment) -> dict[str, Any]:
    """At most `max_unavailable` replicas down to voluntary disruption (drains), as many as a rollout takes.

    The budget counts pods, also a LeaderWorkerSet's: evicting any pod of a group recreates the whole group
    (RecreateGroupOnPodRestart), so each evicted pod can cost a whole replica. `max_unavailable` pods is at most
    `max_unavailable` replicas whichever groups they sit in; pods per replica × max_unavailable would let a drain
    take one pod from each of that many groups."""
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": dep.name, "namespace": dep.namespace, "labels": labels(dep, "engine")},
        "spec": {
            "maxUnavailable": dep.max_unavailable,
            "selector": {"matchLabels": {DEPLOYMENT: dep.name}, "matchExpressions": [_engine_pods()]},
        },
    }


def _engine_pods() -> dict[str, Any]:
    return {"key": COMPONENT, "operator": "In", "values": ["engine", "engine-worker"]}


def deployment_objects(site: Site, dep: Deployment) -> list[dict[str, Any]]:
    return [
        *config_maps(site, dep),
        workload(site, dep),
        engine_tls.secure_service(site, dep, service(dep)),
        network_policy(dep),
        pod_disruption_budget(site, dep),
        *router.objects(site, dep),
        *autoscaling.objects(site, dep),
        *burst.objects(site, dep),
    ]


def manifests(site: Site) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [*autoscaling.priority_classes(site)]
    for dep in site.deployments:
        out += deployment_objects(site, dep)
    return out

"""A Triton deployment's one server with several models: the model repository with each TensorRT-LLM model's
KV cache sized by the memory model on the shared GPUs (gpuctl.vram.shared), and the init container that makes the
repository a writable directory holding each Python model's code.

Why an init container and not a file mount: a Python-backend model's code must sit at `<model>/1/model.py`
inside the repository, but it is the site's code, staged into the node's model cache like weights, not something
gpuctl may put in a ConfigMap. The init container copies the generated repository (ConfigMap) into an emptyDir
and each Python model's `model.py` from the cache beside its config; the server reads the emptyDir.
"""

from __future__ import annotations

import shlex
from typing import Any

from ..engines import triton
from ..engines.base import CONFIG_DIR
from ..engines.triton_repository import LlmModel
from ..engines.tritonserver import REPOSITORY as GENERATED
from ..engines.trtllm_build import EngineBuild
from ..model import Deployment, Site
from ..model.serving import TritonModel
from ..rules.triton import shared_gpus

REPOSITORY = "/repository"  # the emptyDir the server reads when the deployment has Python models


def _plan(
    site: Site, dep: Deployment, max_model_len: int | None
) -> list[tuple[TritonModel | None, int | None, int | None]]:
    """Each LLM of the server (None: the deployment's own model) with its context and KV token cap: from `shared`
    when the server holds several, else the deployment's context and no cap."""
    budget = shared_gpus(site, dep)
    if budget is None:
        return [(None, max_model_len, None)]
    further = [m for m in dep.triton_models if m.backend == "tensorrtllm"]
    return [
        (m, sm.prediction.max_model_len, tokens)
        for m, sm, tokens in zip([None, *further], budget.models, budget.kv_tokens, strict=True)
    ]


def files(site: Site, dep: Deployment, max_model_len: int | None) -> dict[str, str]:
    """The server's repository; each LLM's context and KV cap from `_plan`."""
    llms: list[LlmModel] = [
        triton.ENGINE.llm(dep, context, tokens)
        if m is None
        else triton.ENGINE.further_llm(dep, m, context or 0, tokens)
        for m, context, tokens in _plan(site, dep, max_model_len)
    ]
    return triton.ENGINE.repository(dep, llms)


def builds(site: Site, dep: Deployment, max_model_len: int | None) -> list[EngineBuild]:
    """The engines the pod builds (engines/trtllm_build.py), with the contexts the repository names."""
    out = [
        triton.ENGINE.build(dep, context) if m is None else triton.ENGINE.further_build(dep, m, context or 0)
        for m, context, _ in _plan(site, dep, max_model_len)
    ]
    return [b for b in out if b is not None]


def build_containers(site: Site, dep: Deployment, max_model_len: int | None, image: str) -> list[dict[str, Any]]:
    """One init container per engine to build, with the pod's GPUs and the node's model cache."""
    gpus = str(dep.gpus_per_pod)
    return [
        {
            "name": "build-engine" if i == 0 else f"build-engine-{i}",
            "image": image,
            "command": ["sh", "-c", build.script()],
            "resources": {"limits": {"nvidia.com/gpu": gpus}, "requests": {"nvidia.com/gpu": gpus}},
            "volumeMounts": [{"name": "models", "mountPath": "/models"}, {"name": "shm", "mountPath": "/dev/shm"}],
        }
        for i, build in enumerate(builds(site, dep, max_model_len))
    ]


def python_models(dep: Deployment) -> list[tuple[str, str]]:
    return [(m.name, m.model) for m in dep.triton_models if m.backend == "python"]


def prepare_container(dep: Deployment, image: str) -> dict[str, Any] | None:
    """Copies the generated repository and each Python model's staged model.py into REPOSITORY (None: the
    deployment has no Python model, the server reads the ConfigMap directly)."""
    models = python_models(dep)
    if not models:
        return None
    steps = ["set -eu", f"cp -RL {GENERATED}/. {REPOSITORY}/"]
    for name, model in models:
        code = shlex.quote(f"/models/{model}/model.py")
        steps.append(f'test -f {code} || {{ echo "{name}: no {code} in the model cache" >&2; exit 1; }}')
        steps.append(f"mkdir -p {REPOSITORY}/{name}/1 && cp {code} {REPOSITORY}/{name}/1/model.py")
    return {
        "name": "prepare-repository",
        "image": image,
        "command": ["sh", "-c", "\n".join(steps)],
        "volumeMounts": [
            {"name": "models", "mountPath": "/models", "readOnly": True},
            {"name": "engine", "mountPath": CONFIG_DIR, "readOnly": True},
            {"name": "repository", "mountPath": REPOSITORY},
        ],
    }


def server_args(dep: Deployment, args: list[str]) -> list[str]:
    """The server's arguments, reading REPOSITORY when `prepare_container` assembles it."""
    if not python_models(dep):
        return args
    ours = f"--model-repository={GENERATED}"
    return [f"--model-repository={REPOSITORY}" if a == ours else a for a in args]

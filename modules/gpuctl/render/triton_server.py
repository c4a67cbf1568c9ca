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
from ..model import Deployment, Site
from ..rules.triton import shared_gpus

REPOSITORY = "/repository"  # the emptyDir the server reads when the deployment has Python models


def files(site: Site, dep: Deployment, max_model_len: int | None) -> dict[str, str]:
    """The repository of a server with several models; each LLM's context and KV cap from `shared`."""
    budget = shared_gpus(site, dep)
    if budget is None:
        return triton.ENGINE.files(dep, max_model_len)
    own, *further = budget.models
    tokens = iter(budget.kv_tokens)
    llms: list[LlmModel] = [triton.ENGINE.llm(dep, own.prediction.max_model_len, next(tokens))]
    for m, sm in zip((m for m in dep.triton_models if m.backend == "tensorrtllm"), further, strict=True):
        llms.append(triton.ENGINE.further_llm(m, sm.prediction.max_model_len, next(tokens)))
    return triton.ENGINE.repository(dep, llms)


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

"""What gpuctl rendered for the proof's test deployment, turned into loopback command lines by the documented
substitutions only. This is the one place the proof reads gpuctl's rendering; everything else in the command
lines comes from gpuctl unchanged, and the real parts' own argument parsers reject what they do not accept.

Substitutions on a replica (the rendered Deployment's container args), and why:
- `--model /models/<id>` -> the tiny model's directory: no hub here, a tiny Llama built locally stands in;
- `--port 8000` -> a free loopback port, plus `--host 127.0.0.1`: loopback only, many processes on one machine;
- `--gpu-memory-utilization F` -> `--kv-cache-memory-bytes 64 MiB`: vLLM CPU sees one ~9 GiB NUMA node, and a
  fraction of it either refuses to start or takes gigabytes per replica;
- `--enforce-eager` added: start-up 26 s instead of 49 s (no graph capture);
- `--max-num-seqs` set to 1 (replaced if rendered): a saturation point two CPU cores can exceed.
The image's entry point (`python3 -m vllm.entrypoints.openai.api_server`) runs from the vLLM venv.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gpuctl.loader.site import load_site
from gpuctl.model import Deployment, Site
from gpuctl.render import objects

from . import parts

SITE_FILE = Path(__file__).with_name("site.yaml")
DEPLOYMENT = "tiny-chat"
KV_CACHE_BYTES = 64 * 2**20  # 32,768 tokens of the tiny model: every test request fits many times over
MAX_NUM_SEQS = 1


class RenderingChanged(AssertionError):
    """gpuctl no longer renders what a substitution replaces: the proof must be looked at, not silently pass."""


@dataclass(frozen=True)
class TestDeployment:
    site: Site
    deployment: Deployment

    @property
    def served_model(self) -> str:
        return _flag(self.replica_args(), "--served-model-name")

    def site_objects(self) -> list[dict[str, Any]]:
        return objects.site_objects(self.site)

    def rendered(self, kind: str) -> dict[str, Any]:
        """The one rendered object of this kind for the test deployment."""
        found = [o for o in self.site_objects() if o["kind"] == kind and o["metadata"]["name"] == self.deployment.name]
        if len(found) != 1:
            raise RenderingChanged(f"{len(found)} rendered {kind} objects named {self.deployment.name}")
        return found[0]

    def replica_args(self) -> list[str]:
        """The engine container's args exactly as rendered in the Deployment."""
        containers = self.rendered("Deployment")["spec"]["template"]["spec"]["containers"]
        return list(containers[0]["args"])


def load() -> TestDeployment:
    site = load_site(SITE_FILE).site
    return TestDeployment(site, next(d for d in site.deployments if d.name == DEPLOYMENT))


def _flag(args: Sequence[str], flag: str) -> str:
    if flag not in args:
        raise RenderingChanged(f"the rendered arguments have no {flag}: {' '.join(args)}")
    return args[list(args).index(flag) + 1]


def _drop(args: list[str], flag: str, *, required: bool) -> list[str]:
    if flag not in args:
        if required:
            raise RenderingChanged(f"the rendered arguments have no {flag}: {' '.join(args)}")
        return args
    i = args.index(flag)
    return args[:i] + args[i + 2 :]


def replica_argv(rendered: Sequence[str], model_dir: Path, port: int) -> list[str]:
    """The command line of one replica on loopback: the rendered args with the substitutions above."""
    args = list(rendered)
    if not _flag(args, "--model").startswith("/models/"):
        raise RenderingChanged(f"--model is not under the model cache: {_flag(args, '--model')}")
    args = _drop(args, "--model", required=True)
    args = _drop(args, "--port", required=True)
    args = _drop(args, "--gpu-memory-utilization", required=True)
    args = _drop(args, "--max-num-seqs", required=False)
    substituted = ["--model", str(model_dir), "--host", "127.0.0.1", "--port", str(port)]
    cpu = ["--kv-cache-memory-bytes", str(KV_CACHE_BYTES), "--enforce-eager", "--max-num-seqs", str(MAX_NUM_SEQS)]
    return [str(parts.PYTHON), "-m", "vllm.entrypoints.openai.api_server", *substituted, *args, *cpu]


REPLICA_ENV = {
    "HF_HUB_OFFLINE": "1",  # never reach for a hub: the model is a local directory
    "VLLM_NO_USAGE_STATS": "1",
    "DO_NOT_TRACK": "1",
}


# PENDING render.serving's router (helper 12a): until gpuctl renders the router, these are the flags the proof
# runs vllm-router with; the function is replaced by the rendered router arguments (with `--worker-urls` standing
# in for Kubernetes discovery, and host/ports on loopback) as soon as they are on main.
PENDING_ROUTER_FLAGS = ["--policy", "round_robin", "--health-check-interval-secs", "2"]


def router_argv(dep: TestDeployment, worker_urls: Sequence[str], port: int, metrics_port: int) -> list[str]:
    """vllm-router in front of the replicas, on loopback."""
    loopback = ["--host", "127.0.0.1", "--port", str(port), "--prometheus-host", "127.0.0.1"]
    return [
        str(parts.ROUTER),
        *loopback,
        "--prometheus-port",
        str(metrics_port),
        "--worker-urls",
        *worker_urls,
        *PENDING_ROUTER_FLAGS,
    ]

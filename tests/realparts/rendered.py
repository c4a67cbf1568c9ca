"""What gpuctl rendered for the proof's test deployment (tests/realparts/site.yaml), turned into loopback command
lines by the documented substitutions only. This is the one place the proof reads gpuctl's rendering; everything
else comes from gpuctl unchanged, and the real parts' own parsers reject what they do not accept.

Every substitution, and why:
- the interpreter: the rendered `python3 -m vllm.entrypoints.openai.api_server` runs with the vLLM venv's python;
- `--model /models/<id>` -> the tiny model's directory: no hub here, a tiny Llama built locally stands in;
- `--port N` -> a free loopback port, plus `--host 127.0.0.1`: loopback only, many processes on one machine
  (the router, its metrics, the gateway and Prometheus likewise: `0.0.0.0` -> `127.0.0.1`, fixed ports -> free);
- `--gpu-memory-utilization F` -> `--kv-cache-memory-bytes 64 MiB`: vLLM CPU sees one ~9 GiB NUMA node, and a
  fraction of it either refuses to start or takes gigabytes per replica;
- `--enforce-eager` added: start-up 26 s instead of 49 s (no graph capture);
- the router lists the replicas (`--worker-urls`, gpuctl's own `router_command(..., worker_urls)`) instead of
  discovering pods through a Kubernetes API there is none of here;
- the burst endpoint's URL -> the loopback cloud stand-in (tests/realparts/cloud_standin.py), and the gateway's
  paths (config, auth include, run dir) -> the session's temporary directory.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gpuctl.loader.site import load_site
from gpuctl.model import Deployment, Site
from gpuctl.render import burst, objects, router

from . import parts

SITE_FILE = Path(__file__).with_name("site.yaml")
DEPLOYMENT = "tiny-chat"
KV_CACHE_BYTES = 64 * 2**20  # 32,768 tokens of the tiny model: every test request fits many times over
ENGINE_COMMAND = ["python3", "-m", "vllm.entrypoints.openai.api_server"]
# Added to the rendered environment: vLLM's usage reporting stays off on a test machine.
NO_TELEMETRY = {"VLLM_NO_USAGE_STATS": "1", "DO_NOT_TRACK": "1"}
# The environment of a replica started outside the fixtures (the rendered one is HF_HUB_OFFLINE=1: never a hub).
REPLICA_ENV = {"HF_HUB_OFFLINE": "1", **NO_TELEMETRY}


class RenderingChangedError(AssertionError):
    """gpuctl no longer renders what a substitution replaces: the proof must be looked at, not silently pass."""


@dataclass(frozen=True)
class TestDeployment:
    site: Site
    deployment: Deployment

    @property
    def served_model(self) -> str:
        return flag_value(self.replica_args(), "--served-model-name")

    def site_objects(self) -> list[dict[str, Any]]:
        return objects.site_objects(self.site)

    def rendered(self, kind: str, name: str | None = None) -> dict[str, Any]:
        """The one rendered object of this kind and name (default: the deployment's name)."""
        name = name or self.deployment.name
        found = [o for o in self.site_objects() if o["kind"] == kind and o["metadata"]["name"] == name]
        if len(found) != 1:
            raise RenderingChangedError(f"{len(found)} rendered {kind} objects named {name}")
        return found[0]

    def container(self, deployment_name: str | None = None, init: bool = False) -> dict[str, Any]:
        spec = self.rendered("Deployment", deployment_name)["spec"]["template"]["spec"]
        return dict(spec["initContainers" if init else "containers"][0])

    def replica_args(self) -> list[str]:
        """The engine container's args exactly as rendered in the Deployment."""
        return list(self.container()["args"])

    def replica_env(self) -> dict[str, str]:
        """The engine container's rendered environment, plus NO_TELEMETRY."""
        return {**{e["name"]: e["value"] for e in self.container().get("env", []) if "value" in e}, **NO_TELEMETRY}

    def engine_argv(self, model_dir: Path, port: int) -> list[str]:
        """One replica's command line from the rendered engine container (command and args)."""
        container = self.container()
        if list(container["command"]) != ENGINE_COMMAND:
            raise RenderingChangedError(f"the engine command is {container['command']}, not {ENGINE_COMMAND}")
        return replica_argv(container["args"], model_dir, port)

    def router_argv(self, worker_urls: Sequence[str], port: int, metrics_port: int) -> list[str]:
        """The router's rendered command with `--worker-urls` for discovery, on loopback."""
        container = self.container(router.name(self.deployment))
        in_cluster = [*container["command"], *container["args"]]
        if in_cluster != router.router_command(self.site, self.deployment):
            raise RenderingChangedError("the router Deployment no longer runs router_command()")
        argv = router.router_command(self.site, self.deployment, list(worker_urls))
        argv = replace(argv, "--host", "127.0.0.1", was="0.0.0.0")
        argv = replace(argv, "--port", str(port))
        argv = replace(argv, "--prometheus-host", "127.0.0.1", was="0.0.0.0")
        argv = replace(argv, "--prometheus-port", str(metrics_port))
        if argv[0] != "vllm-router":
            raise RenderingChangedError(f"the router command is {argv[0]}, not vllm-router")
        return [str(parts.ROUTER), *argv[1:]]

    def scaled_object(self) -> dict[str, Any]:
        return self.rendered("ScaledObject")

    def gateway_config(self, router_url: str, burst_url: str, workdir: Path, port: int, metrics_syslog: str) -> str:
        """nginx.conf of the burst gateway, with the burst URL pointing at the loopback stand-in."""
        spec = self.deployment.burst
        if spec is None:
            raise RenderingChangedError("the test deployment has no burst endpoint")
        local = self.deployment.model_copy(update={"burst": spec.model_copy(update={"url": burst_url})})
        in_cluster = self.rendered("ConfigMap", burst.name(self.deployment))["data"]["nginx.conf"]
        if in_cluster != burst.gateway_config(self.site, self.deployment):
            raise RenderingChangedError("the gateway ConfigMap no longer holds gateway_config()")
        return burst.gateway_config(
            self.site,
            local,
            router_url=router_url,
            auth_file=str(workdir / "auth.conf"),
            run_dir=str(workdir),
            listen=f"127.0.0.1:{port}",
            metrics_syslog=metrics_syslog,
        )

    def gateway_auth_script(self, auth_file: Path) -> list[str]:
        """The rendered init container that writes the burst credential's nginx include, writing to auth_file."""
        init = self.container(burst.name(self.deployment), init=True)
        command = list(init["command"])
        if burst.AUTH_FILE not in command[-1]:
            raise RenderingChangedError(f"the gateway's init container no longer writes {burst.AUTH_FILE}")
        return [*command[:-1], command[-1].replace(burst.AUTH_FILE, str(auth_file))]


def load() -> TestDeployment:
    site = load_site(SITE_FILE).site
    return TestDeployment(site, next(d for d in site.deployments if d.name == DEPLOYMENT))


def flag_value(args: Sequence[str], flag: str) -> str:
    if flag not in args:
        raise RenderingChangedError(f"the rendered arguments have no {flag}: {' '.join(args)}")
    return args[list(args).index(flag) + 1]


def replace(args: Sequence[str], flag: str, value: str, was: str | None = None) -> list[str]:
    """args with flag's value replaced; fails if the flag is missing (or its rendered value is not `was`)."""
    old = flag_value(args, flag)
    if was is not None and old != was:
        raise RenderingChangedError(f"{flag} is rendered as {old}, not {was}")
    out = list(args)
    out[out.index(flag) + 1] = value
    return out


def drop(args: Sequence[str], flag: str) -> list[str]:
    flag_value(args, flag)
    i = list(args).index(flag)
    return [*args[:i], *args[i + 2 :]]


def replica_argv(rendered: Sequence[str], model_dir: Path, port: int) -> list[str]:
    """The command line of one replica on loopback: the engine command and the rendered args with the
    substitutions above (TestDeployment.engine_argv also checks the rendered command is the one run here)."""
    if not flag_value(rendered, "--model").startswith("/models/"):
        raise RenderingChangedError(f"--model is not under the model cache: {flag_value(rendered, '--model')}")
    args = replace(rendered, "--model", str(model_dir))
    args = replace(args, "--port", str(port))
    args = drop(args, "--gpu-memory-utilization")
    cpu = ["--host", "127.0.0.1", "--kv-cache-memory-bytes", str(KV_CACHE_BYTES), "--enforce-eager"]
    return [str(parts.PYTHON), *ENGINE_COMMAND[1:], *args, *cpu]


def split_counter_argv(dep: TestDeployment, progs: Path, syslog: str, port: int) -> list[str]:
    """The gateway's mtail sidecar as rendered, with its program directory, UDP address and port on loopback."""
    pod = dep.rendered("Deployment", burst.name(dep.deployment))["spec"]["template"]["spec"]
    sidecar = [c for c in pod["containers"] if c["name"] == "metrics"]
    if len(sidecar) != 1:
        raise RenderingChangedError("the gateway has no `metrics` sidecar")
    command = list(sidecar[0]["command"])
    if command[0] != "mtail":
        raise RenderingChangedError(f"the gateway's metrics sidecar runs {command}, not mtail")
    args = replace(command[1:], "--progs", str(progs))
    args = replace(args, "--logs", f"udp://{syslog}", was=f"udp://{burst.METRICS_SYSLOG}")
    args = replace(args, "--address", "127.0.0.1", was="0.0.0.0")
    args = replace(args, "--port", str(port))
    return ["mtail", *args]


def gateway_argv(dep: TestDeployment, config: Path) -> list[str]:
    """The gateway container's rendered nginx command, reading config instead of the ConfigMap's mount."""
    command = list(dep.container(burst.name(dep.deployment))["command"])
    if command[0] != "nginx" or command[-2] != "-c":
        raise RenderingChangedError(f"the gateway runs {command}, not nginx ... -c CONFIG")
    return [*command[:-1], str(config)]

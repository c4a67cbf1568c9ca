"""The Containerfiles of the images gpuctl's defaults name but upstream does not publish (templates/images/): each
pins the release gpuctl renders for, installs what the rendered container runs, and runs it as the rendered user."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from gpuctl.loader import load_site
from gpuctl.model import Deployment, Site
from gpuctl.model.serving import Burst, Router
from gpuctl.render import burst, router
from tests.conftest import ROOT

IMAGES = ROOT / "templates" / "images"


def _instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined; comments dropped."""
    text = re.sub(r"\\\n", " ", path.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _arg(path: Path, name: str) -> str:
    for word, rest in _instructions(path):
        if word == "ARG" and rest.startswith(f"{name}="):
            return rest.split("=", 1)[1]
    raise AssertionError(f"{path}: no ARG {name}=")


def _entrypoint(path: Path) -> list[str]:
    found = [rest for word, rest in _instructions(path) if word == "ENTRYPOINT"]
    assert len(found) == 1, path
    return [part.strip().strip('"') for part in found[0].strip("[]").split(",")]


def _user(path: Path) -> int:
    users = [rest for word, rest in _instructions(path) if word == "USER"]
    return int(users[-1].split(":")[0])


def _container(objects: list[dict[str, Any]], image: str) -> dict[str, Any]:
    for obj in objects:
        for c in obj.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
            if c["image"] == image:
                return dict(c)
    raise AssertionError(f"no container runs {image}")


def _site_deployment() -> tuple[Site, Deployment]:
    site = load_site(ROOT / "inventories" / "fra1" / "site.yaml").site
    return site, next(d for d in site.deployments if d.name == "llama-70b-chat")


def test_router_image_pins_the_release_gpuctl_renders_for_and_runs_its_binary() -> None:
    path = IMAGES / "vllm-router" / "Containerfile"
    version = _arg(path, "VLLM_ROUTER_VERSION")
    assert version == router.VERSION
    assert Router.model_fields["image"].default == f"vllm-router:{version}"
    site, dep = _site_deployment()
    container = _container([router.deployment(site, dep)], dep.router.image)
    assert _entrypoint(path) == container["command"] == ["vllm-router"]
    assert _user(path) == container["securityContext"]["runAsUser"]
    run = " ".join(rest for word, rest in _instructions(path) if word == "RUN")
    assert '"vllm-router==${VLLM_ROUTER_VERSION}"' in run and "vllm-router --help" in run


def test_mtail_image_pins_the_debian_package_the_tests_run() -> None:
    path = IMAGES / "mtail" / "Containerfile"
    version = _arg(path, "MTAIL_VERSION")
    assert Burst.model_fields["metrics_image"].default == "mtail:" + version.split("-")[0].replace("~", "-")
    site, dep = _site_deployment()
    assert dep.burst is not None
    container = _container(burst.objects(site, dep), dep.burst.metrics_image)
    assert _entrypoint(path) == container["command"][:1] == ["mtail"]
    assert _user(path) == container["securityContext"]["runAsUser"]
    run = " ".join(rest for word, rest in _instructions(path) if word == "RUN")
    assert '"mtail=${MTAIL_VERSION}"' in run


@pytest.mark.skipif(shutil.which("dpkg-query") is None or shutil.which("mtail") is None, reason="no Debian mtail")
def test_mtail_image_version_is_the_installed_package() -> None:
    installed = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Version}", "mtail"], capture_output=True, text=True, check=True
    ).stdout
    assert _arg(IMAGES / "mtail" / "Containerfile", "MTAIL_VERSION") == installed

"""The real vLLM's own argument parser (the installed vLLM CPU's `vllm.entrypoints.launchers.cli_args`, what
`python -m vllm.entrypoints.openai.api_server` builds) accepts the command line gpuctl renders for a traced
deployment, `--otlp-traces-endpoint <the collector>` included, and refuses a misspelt flag. Parsing only: the
other real-parts tests start vLLM with the rendered arguments of an untraced site."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from gpuctl.loader import load_site
from gpuctl.render.objects import site_objects
from gpuctl.render.obs.otel import collector_endpoint
from tests.conftest import ROOT, missing_part

from . import parts

pytestmark = pytest.mark.realparts

PARSE = """
import json, sys
from vllm.entrypoints.launchers.cli_args import make_arg_parser, validate_parsed_serve_args
from vllm.utils.argparse_utils import FlexibleArgumentParser
args = make_arg_parser(FlexibleArgumentParser()).parse_args(sys.argv[1:])
validate_parsed_serve_args(args)
print(json.dumps({"otlp_traces_endpoint": args.otlp_traces_endpoint, "model": args.model}))
"""


def _engine_args(objects: list[dict[str, Any]]) -> list[str]:
    for o in objects:
        if o["kind"] == "Deployment":
            for c in o["spec"]["template"]["spec"]["containers"]:
                if "--otlp-traces-endpoint" in c.get("args", []):
                    return list(c["args"])
    raise AssertionError("no rendered engine traces")


def _parse(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(parts.PYTHON), "-c", PARSE, *args], capture_output=True, text=True, timeout=600, cwd="/", check=False
    )


def test_real_vllm_parses_the_rendered_tracing_flags() -> None:
    if not parts.PYTHON.exists():
        missing_part(f"no vLLM CPU venv at {parts.VENV} (scripts/realparts.sh)")
    site = load_site(ROOT / "inventories" / "fra1" / "site.yaml").site
    args = _engine_args(site_objects(site))
    done = _parse(args)
    assert done.returncode == 0, done.stderr[-2000:]
    parsed = json.loads(done.stdout.strip().splitlines()[-1])
    assert parsed["otlp_traces_endpoint"] == collector_endpoint(site)
    misspelt = [a.replace("--otlp-traces-endpoint", "--otlp-trace-endpoint") for a in args]
    refused = _parse(misspelt)
    assert refused.returncode == 2 and "--otlp-trace-endpoint" in refused.stderr

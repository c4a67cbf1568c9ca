"""`gpuctl pilot SITE --deployment NAME`: the pilot's three outputs as files: the cost comparison (from telemetry when
given), the hardware-failure runbook and the staffing sheet."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Annotated

import typer
import yaml_rs
from pydantic import ValidationError

from ..errors import Problem, SpecError, UsageError
from ..fsutil import read_text_capped, write_atomic
from ..loader import load_site
from ..pilot import comparison, runbook, staffing
from ..tco.telemetry import Prometheus, check_window, measure
from .report_cmd import site_scenario


def _staffing_inputs(path: Path | None) -> staffing.StaffingInputs:
    if path is None:
        return staffing.StaffingInputs()
    text = read_text_capped(path, 2**20, "staffing inputs")
    try:
        data = yaml_rs.loads(text)
    except yaml_rs.YAMLDecodeError as exc:
        raise SpecError("malformed staffing inputs", [Problem(f"malformed YAML: {exc}", str(path))]) from None
    try:
        return staffing.StaffingInputs.model_validate(data or {})
    except ValidationError as exc:
        problems = [Problem(e["msg"], str(path), path=".".join(map(str, e["loc"]))) for e in exc.errors()]
        raise SpecError("invalid staffing inputs", problems) from None


def pilot(
    site: Annotated[Path, typer.Argument(help="The site.yaml of the colocation site.")],
    deployment: Annotated[str, typer.Option(help="The model endpoint to pilot (one replica of it).")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Directory for the files (default: pilot-SITE-DEPLOYMENT).")
    ] = None,
    scenario: Annotated[Path | None, typer.Option(help="TCO inputs; default: tco.yaml beside the site file.")] = None,
    prometheus: Annotated[
        str | None, typer.Option(help="Prometheus URL: the deployment's measured GPU utilisation replaces the assumed.")
    ] = None,
    window: Annotated[str, typer.Option(help="Telemetry window (Prometheus duration).")] = "7d",
    staffing_file: Annotated[
        Path | None, typer.Option("--staffing", help="YAML of staffing rates and hours (see staffing.md's inputs).")
    ] = None,
) -> int:
    """Write comparison.md/.json, runbook.md and staffing.md/.csv for a pilot of one deployment."""
    loaded = load_site(site)
    s_site = loaded.site
    dep = next((d for d in s_site.deployments if d.name == deployment), None)
    if dep is None:
        known = ", ".join(d.name for d in s_site.deployments) or "none"
        raise UsageError(f"--deployment {deployment}: not a deployment of site {s_site.name}; declared: {known}")
    inputs = _staffing_inputs(staffing_file)
    base, notes, _given, _name = site_scenario(s_site, site, scenario)
    measured, source = None, "assumed (scenario)"
    if prometheus is not None:
        check_window(window)
        m = measure(Prometheus(prometheus), s_site, window, dep)
        measured = m.utilization
        source = f"measured: DCGM_FI_DEV_GPU_UTIL of {m.gpus_reporting} GPUs over {window}"
        notes.append(f"telemetry from {prometheus} over {window}: utilisation {source}")
    cut, cut_notes = comparison.pilot_scenario(s_site, dep, base)
    notes += cut_notes
    c = comparison.compare(dep, cut, measured, source)
    rb = runbook.build(s_site, dep)
    ts = staffing.tasks(s_site, rb, inputs)
    out = output or Path(f"pilot-{s_site.name}-{dep.name}")
    name = site.name if site.parent == Path() else str(site)
    files = {
        "comparison.md": comparison.markdown(c, s_site.name, notes),
        "comparison.json": json.dumps(c.as_dict() | {"notes": notes}, indent=2, allow_nan=False) + "\n",
        "runbook.md": runbook.markdown(rb, name),
        "staffing.md": staffing.markdown(s_site, ts, inputs),
        "staffing.csv": _csv(staffing.csv_rows(ts)),
    }
    for file, text in files.items():
        write_atomic(out / file, text, parents=True, what="pilot file")
    typer.echo(f"{out}: {', '.join(files)}")
    return 0


def _csv(rows: list[list[str]]) -> str:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue()

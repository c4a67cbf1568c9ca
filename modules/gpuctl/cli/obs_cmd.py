"""`gpuctl obs render SITE -o DIR`: the observability files for sites that deploy them by other means than the
Pulumi program: Prometheus rule files, Grafana dashboards, Alertmanager routing, the dcgm-exporter scrape
configuration, the OpenTelemetry Collector configuration."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
import yaml

from ..errors import UsageError
from ..fsutil import write_atomic
from ..loader import load_site
from ..render.obs import rule_files
from ..render.obs.alertmanager import alertmanager_config
from ..render.obs.dashboards import dashboards
from ..render.obs.otel import collector_config
from ..render.obs.scrape import dcgm_scrape_config
from ..render.obs.stack import kube_prometheus_stack_values
from ..report import FORMATS
from ..rules import evaluate

obs_app = typer.Typer(help="Observability rendered from the site spec.", no_args_is_help=True)


@obs_app.command()
def render(
    site: Annotated[Path, typer.Argument(help="The site.yaml.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Directory to write into (created).")],
) -> int:
    """Validate the site, then write rules/*.rules.yml, dashboards/*.json, alertmanager.yml (routes to the site's
    receivers), prometheus-scrape.yml (the GPU servers' dcgm-exporter targets with their rack), otel-collector.yaml
    (when the site names a trace backend) and kube-prometheus-stack-values.yaml (when gpuctl is to install the stack)
    below the output directory. Stops with the findings (exit 1) on errors."""
    if output.exists() and not output.is_dir():  # as `gpuctl render -o`: the directory is created, never a file
        raise UsageError(f"{output}: exists and is not a directory")
    loaded = load_site(site)
    result = evaluate(loaded)
    if result.failed():
        typer.echo(FORMATS["console"]([result]), err=True, nl=False)
        typer.echo(f"{site}: validation failed; fix the errors above before rendering", err=True)
        return 1
    written: list[Path] = []
    for name, content in rule_files(loaded.site).items():
        written.append(output / "rules" / name)
        write_atomic(written[-1], yaml.safe_dump(content, sort_keys=False, width=120))
    for name, model in dashboards(loaded.site).items():
        written.append(output / "dashboards" / name)
        write_atomic(written[-1], json.dumps(model, indent=1, sort_keys=True) + "\n")
    written.append(output / "alertmanager.yml")
    write_atomic(written[-1], yaml.safe_dump(alertmanager_config(loaded.site), sort_keys=False))
    scrape = dcgm_scrape_config(loaded.site)
    if scrape is not None:
        written.append(output / "prometheus-scrape.yml")
        write_atomic(written[-1], yaml.safe_dump({"scrape_configs": [scrape]}, sort_keys=False))
    collector = collector_config(loaded.site)
    if collector is not None:
        written.append(output / "otel-collector.yaml")
        write_atomic(written[-1], yaml.safe_dump(collector, sort_keys=False))
    values = kube_prometheus_stack_values(loaded.site)
    if values is not None:
        written.append(output / "kube-prometheus-stack-values.yaml")
        write_atomic(written[-1], yaml.safe_dump(values, sort_keys=False))
    for path in written:
        typer.echo(str(path))
    return 0

"""Pulumi program: one stack per site. Validates the site first; a site with errors declares nothing.

So far it exports the plan summary (per-rack load, budget, headroom and A+B redundancy; pools; deployments)
as stack outputs; the resource components come with the Pulumi issue.
"""

import pulumi

from gpuctl.errors import GpuctlError
from gpuctl.loader import load_site
from gpuctl.plan import summarize
from gpuctl.report import FORMATS
from gpuctl.rules import evaluate

config = pulumi.Config("gpuctl")
site_file = config.require("siteFile")
try:
    loaded = load_site(site_file)
except GpuctlError as exc:
    raise pulumi.RunError(f"gpuctl:siteFile {site_file}: {exc.render()}") from None
result = evaluate(loaded)
if result.failed():
    raise pulumi.RunError("pre-flight validation failed:\n" + FORMATS["console"]([result]))
for key, value in summarize(loaded.site).items():
    pulumi.export(key, value)

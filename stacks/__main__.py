"""Pulumi program: one stack per site (`pulumi config set gpuctl:siteFile inventories/<site>/site.yaml`).

Validates the site first; a site with errors declares nothing.
"""

from gpuctl.infra.program import main

main()

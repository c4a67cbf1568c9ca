"""Provisioning as resources: per rack a local command running `gpuctl provision <rack>`, triggered by a
hash of what it depends on, so a spec change re-provisions only the racks it touches."""

from __future__ import annotations

import hashlib
import json
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path

import pulumi
import pulumi_command as command

from ..model import Rack, Site


def roles_digest(root: Path) -> str:
    """Hash of every file under playbooks/ and templates/ (roles and the files they render, as the repository
    has them; a role's templates/ links into templates/, hashed by content either way)."""
    h = hashlib.sha256()
    for top in ("playbooks", "templates"):
        base = root / top
        if base.is_dir():
            for f in sorted(p for p in base.rglob("*") if p.is_file()):
                h.update(f"{top}/{f.relative_to(base)}".encode())
                h.update(f.read_bytes())
    return h.hexdigest()


def rack_digest(site: Site, rack: Rack, roles: str) -> str:
    """What the rack's provisioning depends on: its servers (and their catalog entries), networks, the pools
    and deployments that touch them, the site-wide sections every host reads (`provisioning`: versions and
    sources; `settings`; `cluster`: version and join), and the roles and templates."""
    names = {s.name for s in rack.servers}
    pools = [p for p in site.node_pools if any(s.name in names for s in site.pool_servers(p))]
    data = {
        "rack": rack.model_dump(mode="json"),
        "models": {s.model: site.server_spec(s).model_dump(mode="json") for s in rack.servers},
        "networks": [n.model_dump(mode="json") for n in site.networks],
        "pools": [p.model_dump(mode="json") for p in pools],
        "deployments": [d.model_dump(mode="json") for d in site.deployments if d.node_pool in {p.name for p in pools}],
        "provisioning": site.provisioning.model_dump(mode="json"),
        "settings": site.settings.model_dump(mode="json"),
        "cluster": site.cluster.model_dump(mode="json"),
        "roles": roles,
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


# The cluster's kubeconfig reaches `gpuctl provision` as a file path in its environment (GPUCTL_KUBECONFIG), never
# on a command line: the command's secret environment carries the text, and this prelude writes it to a 0600
# temporary file that lives as long as the run. Without it, a run stops before changing a joined node undrained.
KUBECONFIG_TEXT = "PULUMI_RACK_KUBECONFIG"  # the command's own variable, not one gpuctl reads
PRELUDE = f"""set -eu
if [ -n "${{{KUBECONFIG_TEXT}:-}}" ]; then
  GPUCTL_KUBECONFIG=$(umask 077 && mktemp)
  trap 'rm -f "$GPUCTL_KUBECONFIG"' EXIT
  printf '%s' "${KUBECONFIG_TEXT}" >"$GPUCTL_KUBECONFIG"
  unset {KUBECONFIG_TEXT}
  export GPUCTL_KUBECONFIG
fi
"""


def gpuctl_command(rack: str, site_file: str) -> str:
    """`gpuctl provision` run by the interpreter running this program (its environment has gpuctl and Ansible),
    not whatever `gpuctl` the caller's PATH finds first."""
    return f"{shlex.quote(sys.executable)} -m gpuctl provision {shlex.quote(rack)} --site {shlex.quote(site_file)}\n"


def declare(
    site: Site,
    site_file: str,
    racks: Mapping[str, pulumi.Resource],
    root: Path,
    kubeconfig: pulumi.Output[str] | None = None,
    bootstrap_token: pulumi.Output[str] | None = None,
    secrets_file: str | None = None,
) -> dict[str, command.local.Command]:
    """One command per rack. Secrets reach it only through its environment, as Pulumi secrets: `kubeconfig` lets
    each run drain the nodes its change disrupts, `bootstrap_token` joins new nodes (GPUCTL_BOOTSTRAP_TOKEN);
    `secrets_file` (relative to the project root) is the path of a 0600 file of the roles' secrets."""
    environment: dict[str, pulumi.Input[str]] = {}
    if kubeconfig is not None:
        environment[KUBECONFIG_TEXT] = pulumi.Output.secret(kubeconfig)
    if bootstrap_token is not None:
        environment["GPUCTL_BOOTSTRAP_TOKEN"] = pulumi.Output.secret(bootstrap_token)
    if secrets_file:
        environment["GPUCTL_SECRETS_FILE"] = str(root / secrets_file)
    roles = roles_digest(root)
    out: dict[str, command.local.Command] = {}
    previous: command.local.Command | None = None
    for rack in site.racks:
        if not rack.servers:
            continue
        digest = rack_digest(site, rack, roles)
        run = PRELUDE + gpuctl_command(rack.name, site_file)
        out[rack.name] = command.local.Command(
            f"{rack.name}-provision",
            create=run,
            update=run,
            dir=str(root),
            environment=environment or None,
            triggers=[digest],
            # One provisioning run per site at a time (gpuctl provision holds a per-site lock): racks in order.
            opts=pulumi.ResourceOptions(parent=racks[rack.name], depends_on=[previous] if previous else None),
        )
        previous = out[rack.name]
    return out

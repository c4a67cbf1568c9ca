"""A hardware-failure runbook generated from the site: per server model, what losing a PSU feed, a GPU (by XID class)
or a bond member does, and per rack what losing a feed does, with the gpuctl commands for each step.

XID classes and the recovery NVIDIA recommends: NVIDIA, Xid Errors (https://docs.nvidia.com/deploy/xid-errors/
index.html, "Xid catalog": restart the application, reset the GPU, reboot the node, or contact support). Bond
behaviour: Linux kernel bonding driver (https://www.kernel.org/doc/Documentation/networking/bonding.txt): with link
monitoring off (miimon 0) a dead member is never taken out of the bond.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..calc import power
from ..model import Deployment, Rack, Server, Site

XID_DOC = "https://docs.nvidia.com/deploy/xid-errors/index.html"
BONDING_DOC = "https://www.kernel.org/doc/Documentation/networking/bonding.txt"

# (XIDs, what they mean, what the node and the serving stack do, the operator's recovery)
XID_CLASSES: tuple[tuple[str, str, str, str], ...] = (
    (
        "13, 31, 43, 45",
        "application faults: graphics engine exception, GPU memory page fault, GPU stopped processing, "
        "preemptive cleanup",
        "the engine's CUDA context dies; the container exits and the kubelet restarts it; the GPU stays healthy",
        "none if it does not repeat; repeated on one GPU: treat as a hardware fault",
    ),
    (
        "63, 64, 92, 94",
        "memory errors the GPU contained: row remapping / page retirement pending or failed, high single-bit ECC "
        "rate, contained ECC error",
        "the affected process is killed (94); remapping takes effect at the next GPU reset",
        "drain the node, reset the GPU at a quiet hour, check remapping with nvidia-smi -q -d ROW_REMAPPER",
    ),
    (
        "48, 95, 119, 120",
        "uncorrectable memory errors (double-bit ECC, uncontained ECC) and GSP firmware errors",
        "every process on that GPU dies; the GPU is unusable until reset; the engine's pod crash-loops on it",
        "cordon and drain the node, reset the GPU (nvidia-smi -r) or reboot; repeated: RMA the GPU",
    ),
    (
        "74, 79",
        "NVLink error; GPU has fallen off the bus",
        "tensor-parallel replicas on that node stop; a fallen-off GPU disappears from nvidia-smi until reboot",
        "cordon and drain, reboot the node; if it recurs: reseat or RMA (remote hands)",
    ),
)


@dataclass(frozen=True)
class ModelEntry:
    model: str
    name: str
    servers: list[str]
    gpus_per_server: int
    max_kw: float
    psu: str
    feed_loss: str  # what losing one feed does to one server of this model


@dataclass(frozen=True)
class RackEntry:
    rack: str
    load_kw: float
    one_feed_kw: float | None
    feed_loss: str
    servers: list[str]


@dataclass(frozen=True)
class BondEntry:
    server: str
    bond: str
    mode: str
    members: list[str]
    monitoring: str
    member_loss: str


@dataclass(frozen=True)
class Runbook:
    site: str
    deployment: str | None
    models: list[ModelEntry]
    racks: list[RackEntry]
    bonds: list[BondEntry]


def _feed_loss(site: Site, server: Server) -> tuple[str, str]:
    spec = site.server_spec(server)
    draw = site.server_power_kw(server)
    if spec.psu is None:
        return "no PSU data in the catalog", "unknown: declare psu in the catalog"
    n = spec.psu.count // 2
    left = n * spec.psu.rating_w / 1000
    psu = f"{spec.psu.count} × {spec.psu.rating_w / 1000:g} kW ({spec.psu.redundancy})"
    carry = f"{n} PSU{'s carry' if n != 1 else ' carries'} {left:.1f} kW"
    if left + 1e-9 >= draw:
        return psu, f"runs on: {carry} ≥ {draw:.1f} kW maximum draw"
    return psu, f"throttles or may shut down: {carry} < {draw:.1f} kW maximum draw (PWR003)"


def build(site: Site, deployment: Deployment | None = None) -> Runbook:
    """The runbook for the whole site, or for the servers of one deployment's pool."""
    servers: list[tuple[Rack, Server]]
    if deployment is not None:
        members = {s.name for s in site.pool_servers(site.pool(deployment.node_pool))}
        servers = [(r, s) for r, s in site.all_servers() if s.name in members]
    else:
        servers = list(site.all_servers())
    models: dict[str, list[Server]] = {}
    for _, s in servers:
        models.setdefault(s.model, []).append(s)
    model_entries = []
    for model_id, group in sorted(models.items()):
        spec = site.server_spec(group[0])
        psu, loss = _feed_loss(site, group[0])
        model_entries.append(
            ModelEntry(
                model_id,
                spec.name,
                [s.name for s in group],
                spec.gpu_count,
                site.server_power_kw(group[0]),
                psu,
                loss,
            )
        )
    racks = sorted({r.name: r for r, _ in servers}.values(), key=lambda r: r.name)
    rack_entries = []
    for rack in racks:
        load = power.rack_load_kw(site, rack)
        budget = power.rack_budget(site, rack)
        one = budget.redundant_kw
        if one is None:
            loss = "single feed: every server in the rack loses power"
        elif load <= one + 1e-9:
            loss = f"the other feed carries the whole rack ({load:.1f} kW ≤ {one:.1f} kW)"
        else:
            loss = f"the other feed is overloaded ({load:.1f} kW > {one:.1f} kW): its breakers may trip (PWR002)"
        rack_entries.append(RackEntry(rack.name, load, one, loss, [s.name for s in rack.servers]))
    bonds = []
    for _, s in servers:
        for b in s.bonds:
            monitored = b.mii_monitor_interval_ms or 0
            if monitored <= 0:
                mon, loss = (
                    "off (miimon 0)",
                    "traffic hashed to the dead member is lost: the bond never drops it (NET003)",
                )
            elif b.mode in ("active-backup",):
                mon, loss = f"miimon {monitored} ms", "the backup member takes over; half the redundancy is gone"
            else:
                mon, loss = f"miimon {monitored} ms", "the bond drops the member; bandwidth halves, traffic continues"
            bonds.append(BondEntry(s.name, b.name, b.mode, list(b.members), mon, loss))
    return Runbook(site.name, deployment.name if deployment else None, model_entries, rack_entries, bonds)


def markdown(rb: Runbook, site_file: str) -> str:
    scope = f"deployment {rb.deployment}'s node pool" if rb.deployment else "every server"
    out = [
        f"# Hardware-failure runbook: {rb.site}",
        "",
        f"Generated by `gpuctl pilot` from `{site_file}` for {scope}. Each step names the gpuctl command to run.",
        "",
        "## Before any hands-on work",
        "",
        f"1. `gpuctl validate {site_file}`: the spec still describes the cage.",
        "2. `kubectl cordon NODE && kubectl drain NODE --ignore-daemonsets --delete-emptydir-data`: move the "
        "replicas off (the serving Deployments keep their replica count elsewhere).",
        f"3. After the repair: `gpuctl verify NODE --site {site_file}` (driver, DCGM, bonds, addresses as specified), "
        "then `kubectl uncordon NODE`.",
        "",
        "## PSU loss on one feed, per server model",
        "",
        "| model | servers | GPUs | max draw | PSUs | one feed lost |",
        "|---|---|---|---|---|---|",
    ]
    for m in rb.models:
        out.append(
            f"| {m.name} (`{m.model}`) | {', '.join(m.servers)} | {m.gpus_per_server} | {m.max_kw:.1f} kW | {m.psu} | "
            f"{m.feed_loss} |"
        )
    out += [
        "",
        "Steps: confirm on the PDU which feed is down; if the model throttles, drain its nodes "
        "(above) before the facility works on the feed; open a remote-hands ticket for a failed PSU and "
        f"`gpuctl verify NODE --site {site_file}` after the swap.",
        "",
        "## GPU errors by XID class",
        "",
        f"Source: NVIDIA, Xid Errors ({XID_DOC}). DCGM exports them as DCGM_FI_DEV_XID_ERRORS.",
        "",
        "| XIDs | meaning | what the node does | recovery |",
        "|---|---|---|---|",
    ]
    for xids, meaning, node, action in XID_CLASSES:
        out.append(f"| {xids} | {meaning} | {node} | {action} |")
    out += [
        "",
        "After a GPU reset or replacement: burn in the node before it serves again, then "
        f"`gpuctl verify NODE --site {site_file}`.",
        "",
        "## NIC or bond member loss",
        "",
        f"Source: Linux bonding driver ({BONDING_DOC}).",
        "",
    ]
    if rb.bonds:
        out += ["| server | bond | mode | members | link monitoring | one member lost |", "|---|---|---|---|---|---|"]
        for b in rb.bonds:
            out.append(
                f"| {b.server} | {b.bond} | {b.mode} | {', '.join(b.members)} | {b.monitoring} | {b.member_loss} |"
            )
        out.append("")
        out.append(
            f"Steps: check `cat /proc/net/bonding/BOND` on the node, the switch port and the optic; after the "
            f"fix `gpuctl verify NODE --site {site_file}` checks the bond's members and mode."
        )
    else:
        out.append("No bonds declared in the spec for these servers: a NIC loss takes the node off the network.")
    out += [
        "",
        "## Rack feed loss",
        "",
        "| rack | load | one feed carries | feed lost | servers |",
        "|---|---|---|---|---|",
    ]
    for r in rb.racks:
        one = f"{r.one_feed_kw:.1f} kW" if r.one_feed_kw is not None else "single feed"
        out.append(f"| {r.rack} | {r.load_kw:.1f} kW | {one} | {r.feed_loss} | {', '.join(r.servers)} |")
    out += [
        "",
        "Steps: drain the rack's nodes if the other feed cannot carry it; after power returns "
        f"`gpuctl verify RACK --site {site_file}` for every host of the rack.",
        "",
    ]
    return "\n".join(out)

"""The site: the root of the spec. Cross-references are checked here, with the YAML path of each problem.

The model does no I/O: the hardware catalog comes in through the validation context
(`Site.model_validate(data, context={"catalog": catalog})`), which `gpuctl.model.loader` provides.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import Field, PrivateAttr, ValidationInfo, model_validator

from ..errors import GpuctlError
from .arch import ModelArch
from .base import (
    AptUrl,
    Bastion,
    CatalogId,
    ChartRepoUrl,
    DebVersion,
    DnsLabel,
    Host,
    LocalPath,
    LongText,
    Name,
    NoCredentialsHttpUrl,
    ReleaseVersion,
    Strict,
    Text,
    TimeZone,
    UnixUser,
)
from .burnin import BurninSettings
from .facility import Facility
from .hardware import Catalog, CatalogExtension, GpuSpec, NicSpec, ServerSpec
from .k8s import ContainerRuntimeSettings, KubernetesSettings, LabelKey, LabelValue, NodePool
from .network import Network
from .observability import Observability
from .rack import CoolingType, Rack, Server
from .security import PkiState, Security, security_references
from .serving import Deployment

Loc = tuple[str | int, ...]

# Heat a rack can shed per cooling type when the rack does not declare its capacity.
# Conservative picks within published ranges: air without containment ~15-20 kW, RDHx passive ~35 /
# active ~60 kW (https://www.yobitel.com/knowledge-base/rear-door-heat-exchanger); contained air up to
# ~35 kW, ASHRAE TC9.9 5th ed. H1 class (Intelligent Data Centres issue 56, p. 47,
# https://magazine.intelligentdatacentres.com/intelligent-data-centres-issue-56/0595290001696419118/p47);
# practitioner air ceiling ~30 kW (https://factryze.ai/scale-atlas/power/dlc-watts-per-rack, secondary).
# DLC has no generic ceiling: the site must declare it.
DEFAULT_COOLING_KW: dict[CoolingType, float] = {
    "air_open": 15.0,
    "air_contained": 30.0,
    "rdhx_passive": 35.0,
    "rdhx_active": 60.0,
}


class SiteSettings(Strict):
    power_derating: float = Field(
        default=0.8, gt=0, le=1, description="Continuous-load derating of breakers (NEC 210.19/210.20: 0.8)."
    )
    power_factor: float = Field(default=1.0, gt=0, le=1)
    phase_imbalance_warn_pct: float = Field(
        default=15.0, gt=0, le=100, description="(max-min)/avg line current; a heuristic, not a standard."
    )
    vram_kv_correction_gib: dict[CatalogId, Annotated[float, Field(ge=-1000, le=1000)]] = Field(
        default_factory=dict,
        description="Per GPU model: GiB to take off predicted KV cache, from `gpuctl vram --calibrate` runs.",
    )
    floor_rating_kpa: float | None = Field(
        default=None,
        gt=0,
        le=1000,
        description="Default for racks that do not declare theirs (TIA-942: ≥7.2, 12 rec.).",
    )
    cooling_defaults_kw: dict[CoolingType, Annotated[float, Field(gt=0, le=1000)]] = Field(
        default_factory=lambda: dict(DEFAULT_COOLING_KW)
    )


class ClusterSettings(Strict):
    """The site's Kubernetes side: what the Pulumi program installs, with every source a setting (mirrors)."""

    gpu_operator_chart_version: ReleaseVersion = Field(default="v24.9.2", description="NVIDIA GPU Operator Helm chart.")
    gpu_operator_repository: ChartRepoUrl = Field(
        default="https://helm.ngc.nvidia.com/nvidia", description="Chart repository; point at a mirror offline."
    )
    gpu_operator_namespace: DnsLabel = "gpu-operator"
    container_runtime: Literal["containerd", "cri-o"] = "containerd"
    kubernetes: KubernetesSettings = Field(default_factory=KubernetesSettings)
    dcgm_exporter_scrape_interval_s: int = Field(default=15, ge=1, le=3600)
    service_monitor_labels: dict[LabelKey, LabelValue] = Field(
        default_factory=lambda: {"release": "kube-prometheus-stack"},
        description="Labels the cluster's Prometheus selects ServiceMonitors by.",
    )


class SshSettings(Strict):
    user: UnixUser = "root"
    private_key_file: LocalPath | None = Field(
        default=None, description="Absolute, ~/-relative, or relative to the site file."
    )
    known_hosts_file: LocalPath | None = Field(
        default=None, description="Verified host keys; host key checking is never turned off outside the lab."
    )
    bastion: Bastion | None = Field(default=None, description="Jump host, user@host[:port].")
    port: int = Field(default=22, ge=1, le=65535)


class ProvisioningSettings(Strict):
    """What the Ansible roles install, from where. Every source is a setting so an offline mirror works."""

    ssh: SshSettings = Field(default_factory=SshSettings)
    driver_branch: str = Field(default="550", pattern=r"^\d{3}$")
    driver_version: DebVersion = Field(default="550.127.05-0ubuntu1", description="Exact package version, pinned.")
    kernel_modules: Literal["dkms", "precompiled"] = "dkms"
    apt_repository_url: AptUrl = Field(
        default="https://developer.download.nvidia.com/compute/cuda/repos/ubuntu2204/x86_64",
        description="NVIDIA's CUDA repository or an offline mirror of it.",
    )
    apt_repository_suite: str = Field(
        default="/",
        max_length=100,
        pattern=r"^(/|[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)*/?)$",
        description="'/' for NVIDIA's flat repository.",
    )
    apt_repository_components: str = Field(
        default="", max_length=200, pattern=r"^([a-z0-9][a-z0-9._-]*( [a-z0-9][a-z0-9._-]*)*)?$"
    )
    apt_key_url: NoCredentialsHttpUrl = Field(
        default="https://developer.download.nvidia.com/compute/cuda/repos/ubuntu2204/x86_64/3bf863cc.pub",
        description="Signing key of the repository (armored or binary); http(s) only: a file: URL would copy "
        "any file on the host into a world-readable keyring.",
    )
    container_toolkit_version: DebVersion = "1.17.4-1"
    container_runtime: ContainerRuntimeSettings = Field(default_factory=ContainerRuntimeSettings)
    timezone: TimeZone = "UTC"
    ntp_servers: list[Host] = Field(default_factory=lambda: ["0.pool.ntp.org", "1.pool.ntp.org"], max_length=16)
    burnin: BurninSettings = Field(default_factory=BurninSettings)


class Suppression(Strict):
    rule: str = Field(
        min_length=3, max_length=64, pattern=r"^[A-Za-z0-9-]+$", description="Rule ID (PWR003) or slug (psu-feed-loss)."
    )
    target: Text = Field(min_length=1, description="Finding target; shell-style wildcards allowed.")
    reason: LongText = Field(min_length=10, description="Why this finding is accepted; reviewed in the PR.")


class Site(Strict):
    version: Literal[1] = 1
    name: Name
    market: Text | None = None
    facility: Facility | None = Field(default=None, description="The colocation facility: terms, contract, needs.")
    settings: SiteSettings = Field(default_factory=SiteSettings)
    cluster: ClusterSettings = Field(default_factory=ClusterSettings)
    provisioning: ProvisioningSettings = Field(default_factory=ProvisioningSettings)
    catalog: CatalogExtension = Field(default_factory=CatalogExtension)
    networks: list[Network] = Field(default_factory=list)
    racks: list[Rack] = Field(min_length=1)
    node_pools: list[NodePool] = Field(default_factory=list)
    deployments: list[Deployment] = Field(default_factory=list)
    observability: Observability = Field(default_factory=Observability)
    security: Security = Field(default_factory=Security)
    suppressions: list[Suppression] = Field(default_factory=list)

    _catalog: Catalog = PrivateAttr()
    _server_rack: dict[str, Rack] = PrivateAttr(default_factory=dict)
    _pool_servers: dict[str, list[Server]] = PrivateAttr(default_factory=dict)
    _models: dict[str, ModelArch] = PrivateAttr(default_factory=dict)
    _pki: PkiState | None = PrivateAttr(default=None)  # the site's certificate store as the loader read it

    @model_validator(mode="after")
    def _check_references(self, info: ValidationInfo) -> Site:
        context = info.context or {}
        base = context.get("catalog")
        if not isinstance(base, Catalog):
            raise TypeError("Site needs the hardware catalog in its validation context: use gpuctl.model.load")
        catalog, problems = base.extended(self.catalog)
        models: dict[str, ModelArch] = dict(context.get("models") or {})
        problems.extend(_references(self, catalog))
        problems.extend(
            security_references(self.security, {d.name for d in self.deployments}, {n.name for n in self.networks})
        )
        for di, dep in enumerate(self.deployments):
            if dep.model not in models:
                problems.append(
                    (("deployments", di, "model"), f"unknown model '{dep.model}'" + near_names(dep.model, models))
                )
            for mi, tm in enumerate(dep.triton_models):  # a further LLM of a Triton server: sized like one
                if tm.backend == "tensorrtllm" and tm.model not in models:
                    loc = ("deployments", di, "triton_models", mi, "model")
                    problems.append((loc, f"unknown model '{tm.model}'" + near_names(tm.model, models)))
        # Serving engines sit above the model: the loader passes the registered names (gpuctl.engines.names()).
        engine_names = context.get("engines")
        if engine_names is None:
            raise TypeError("Site needs the registered engine names in its validation context: use gpuctl.loader")
        for di, dep in enumerate(self.deployments):
            if dep.engine not in engine_names:
                problems.append(
                    (
                        ("deployments", di, "engine"),
                        f"unknown engine '{dep.engine}'; registered: {', '.join(sorted(engine_names))}",
                    )
                )
        if problems:
            raise ReferenceProblems(problems)
        self._catalog = catalog
        self._server_rack = {s.name: r for r in self.racks for s in r.servers}
        self._pool_servers = {p.name: list(_pool_members(self, p, catalog)) for p in self.node_pools}
        self._models = {d.model: models[d.model] for d in self.deployments}
        self._models |= {
            m.model: models[m.model] for d in self.deployments for m in d.triton_models if m.backend == "tensorrtllm"
        }
        self._pki = context.get("pki")
        return self

    # ----- derived views (pure; everything a rule needs beyond the raw spec) -----
    # Private attributes go through BaseModel.__getattr__, which is slow in loops over thousands of
    # servers; the hot accessors read the private dict directly.
    @property
    def pki(self) -> PkiState | None:
        """The site's PKI store (certificates and their expiry), when the loader found one."""
        return self._pki

    @property
    def hardware(self) -> Catalog:
        catalog: Catalog = self.__pydantic_private__["_catalog"]  # type: ignore[index]
        return catalog

    def server_spec(self, server: Server) -> ServerSpec:
        return self.hardware.servers[server.model]

    def gpu_spec(self, server: Server) -> GpuSpec | None:
        spec = self.server_spec(server)
        return self.hardware.gpus[spec.gpu] if spec.gpu else None

    def gpu_count(self, server: Server) -> int:
        return self.server_spec(server).gpu_count

    def nic_spec(self, model: str | None) -> NicSpec | None:
        return self.hardware.nics.get(model) if model else None

    def server_power_kw(self, server: Server) -> float:
        spec = self.server_spec(server)
        value = server.max_power_kw if server.max_power_kw is not None else spec.max_power_kw
        assert value is not None  # guaranteed by _references
        return value

    def server_weight_kg(self, server: Server) -> float:
        value = server.weight_kg if server.weight_kg is not None else self.server_spec(server).weight_kg
        assert value is not None  # guaranteed by _references
        return value

    def rack_of(self, server_name: str) -> Rack:
        racks: dict[str, Rack] = self.__pydantic_private__["_server_rack"]  # type: ignore[index]
        return racks[server_name]

    def all_servers(self) -> Iterator[tuple[Rack, Server]]:
        for rack in self.racks:
            for server in rack.servers:
                yield rack, server

    def pool_servers(self, pool: NodePool) -> list[Server]:
        pools: dict[str, list[Server]] = self.__pydantic_private__["_pool_servers"]  # type: ignore[index]
        return pools[pool.name]

    def model_arch(self, deployment: Deployment) -> ModelArch:
        models: dict[str, ModelArch] = self.__pydantic_private__["_models"]  # type: ignore[index]
        return models[deployment.model]

    def pool(self, name: str) -> NodePool:
        return next(p for p in self.node_pools if p.name == name)


class ReferenceProblems(GpuctlError):
    """Cross-reference problems, each with the YAML location (as a loc tuple) of the offending value.

    Deliberately not a ValueError: pydantic would fold it into one error at the root; raised as is,
    the loader reports each problem at its own line (and turns it into a SpecError).
    """

    def __init__(self, problems: list[tuple[Loc, str]]) -> None:
        super().__init__(f"{len(problems)} reference problem(s)")
        self.references = problems


def _pool_members(site: Site, pool: NodePool, catalog: Catalog) -> Iterator[Server]:
    seen: set[str] = set()
    by_name = {s.name: s for _, s in site.all_servers()} if pool.servers else {}
    for name in pool.servers:
        if name not in seen:
            seen.add(name)
            yield by_name[name]
    racks = set(pool.racks)  # a list would make a pool of every rack quadratic in racks
    for rack in site.racks:
        if rack.name in racks:
            for server in rack.servers:
                if server.name not in seen and catalog.servers[server.model].gpu_count > 0:
                    seen.add(server.name)
                    yield server


def _duplicates(names: list[tuple[Loc, str]], what: str) -> Iterator[tuple[Loc, str]]:
    first: dict[str, Loc] = {}
    for loc, name in names:
        if name in first:
            yield (
                loc + ("name",),
                f"duplicate {what} name '{name}' (first defined at {_loc_text(first[name])})",
            )
        else:
            first[name] = loc


def _loc_text(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _references(site: Site, catalog: Catalog) -> Iterator[tuple[Loc, str]]:
    networks = {n.name for n in site.networks}
    yield from _duplicates([(("networks", i), n.name) for i, n in enumerate(site.networks)], "network")
    yield from _duplicates([(("racks", i), r.name) for i, r in enumerate(site.racks)], "rack")
    yield from _duplicates([(("node_pools", i), p.name) for i, p in enumerate(site.node_pools)], "node pool")
    yield from _duplicates([(("deployments", i), d.name) for i, d in enumerate(site.deployments)], "deployment")

    hosts: list[tuple[Loc, str]] = []
    switch_names: set[str] = set()
    for ri, rack in enumerate(site.racks):
        for kind in ("servers", "switches", "devices", "pdus"):
            for i, item in enumerate(getattr(rack, kind)):
                hosts.append((("racks", ri, kind, i), item.name))
        switch_names.update(sw.name for sw in rack.switches)
    yield from _duplicates(hosts, "device")

    for ri, rack in enumerate(site.racks):
        rloc: Loc = ("racks", ri)
        yield from _rack_references(site, rack, rloc, catalog, networks, switch_names)

    server_names = {s.name: s for _, s in site.all_servers()}
    rack_names = {r.name for r in site.racks}
    for pi, pool in enumerate(site.node_pools):
        for i, name in enumerate(pool.servers):
            if name not in server_names:
                yield ("node_pools", pi, "servers", i), f"unknown server '{name}'"
        for i, name in enumerate(pool.racks):
            if name not in rack_names:
                yield ("node_pools", pi, "racks", i), f"unknown rack '{name}'"
    pools = {p.name for p in site.node_pools}
    for di, dep in enumerate(site.deployments):
        if dep.node_pool not in pools:
            yield ("deployments", di, "node_pool"), f"unknown node pool '{dep.node_pool}'" + _choices(pools)


def _choices(names: set[str]) -> str:
    return f"; declared: {', '.join(sorted(names))}" if names else "; none is declared"


def _rack_references(
    site: Site,
    rack: Rack,
    rloc: Loc,
    catalog: Catalog,
    networks: set[str],
    switch_names: set[str],
) -> Iterator[tuple[Loc, str]]:
    """References inside one rack: PDUs to feeds, circuits and phases; positions within the rack's height; power cords
    to PDU banks; servers to the catalog and, through their NICs, bonds and addresses, to networks and switches."""
    pdus = {p.name: p for p in rack.pdus}
    for pi, pdu in enumerate(rack.pdus):
        yield from _pdu_references(rack, pdu, rloc + ("pdus", pi))
    for pi, pdu in enumerate(rack.pdus):
        yield from _mounted(rack, rloc + ("pdus", pi), pdu.position_u, pdu.height_u)
    for si, server in enumerate(rack.servers):
        yield from _server_references(rack, pdus, server, rloc + ("servers", si), catalog, networks, switch_names)
    for wi, switch in enumerate(rack.switches):
        wloc = rloc + ("switches", wi)
        yield from _mounted(rack, wloc, switch.position_u, switch.height_u)
        yield from _cords(rack, pdus, wloc + ("power_cords",), switch.power_cords)
        for ai, addr in enumerate(switch.addresses):
            if addr.network not in networks:
                yield wloc + ("addresses", ai, "network"), f"unknown network '{addr.network}'" + _choices(networks)
    for di, device in enumerate(rack.devices):
        dloc = rloc + ("devices", di)
        yield from _mounted(rack, dloc, device.position_u, device.height_u)
        yield from _cords(rack, pdus, dloc + ("power_cords",), device.power_cords)


def _pdu_references(rack: Rack, pdu: Any, ploc: Loc) -> Iterator[tuple[Loc, str]]:
    """A PDU's feed and circuit exist, its banks sit on phases its wiring has, and a mounted PDU has a height."""
    feed = rack.power.feed(pdu.feed)
    if feed is None:
        yield ploc + ("feed",), f"feed '{pdu.feed}' is not declared in racks[{rack.name}].power"
    elif pdu.circuit >= len(feed.circuits):
        yield (
            ploc + ("circuit",),
            f"feed {pdu.feed} has {len(feed.circuits)} circuit(s); index {pdu.circuit} does not exist",
        )
    else:
        wiring = pdu_wiring(pdu.wiring, feed.circuits[pdu.circuit].phases, feed.circuits[pdu.circuit].voltage_v)
        allowed = {"delta": ("L1-L2", "L2-L3", "L3-L1"), "wye": ("L1", "L2", "L3"), "single": ("L1",)}[wiring]
        for bi, bank in enumerate(pdu.banks):
            if bank.phase not in allowed:
                yield (
                    ploc + ("banks", bi, "phase"),
                    f"phase {bank.phase} does not exist on a {wiring} PDU; use one of {', '.join(allowed)}",
                )
    if pdu.position_u is not None and pdu.height_u == 0:
        yield ploc + ("height_u",), "a PDU mounted at position_u needs height_u ≥ 1"


def _mounted(rack: Rack, loc: Loc, position: int | None, height: int) -> Iterator[tuple[Loc, str]]:
    """Whatever is mounted at a position fits below the top of the rack."""
    if position is not None and position + height - 1 > rack.height_u:
        yield (
            loc + ("position_u",),
            f"U{position}–U{position + height - 1} is above the top of the {rack.height_u}U rack",
        )


def _cords(rack: Rack, pdus: dict[str, Any], loc: Loc, cords: list[Any]) -> Iterator[tuple[Loc, str]]:
    """Each power cord plugs into a PDU of the rack, on a bank that PDU has."""
    for ci, cord in enumerate(cords):
        pdu = pdus.get(cord.pdu)
        if pdu is None:
            yield loc + (ci, "pdu"), f"unknown PDU '{cord.pdu}' in rack {rack.name}" + _choices(set(pdus))
        elif cord.bank not in {b.name for b in pdu.banks}:
            yield loc + (ci, "bank"), f"PDU {pdu.name} has no bank '{cord.bank}'"


def _server_references(
    rack: Rack,
    pdus: dict[str, Any],
    server: Server,
    sloc: Loc,
    catalog: Catalog,
    networks: set[str],
    switch_names: set[str],
) -> Iterator[tuple[Loc, str]]:
    """A server's model is in the catalog with the power and weight the rules need (or the server declares them),
    it fits the rack, its cords reach PDU banks (no more than its PSUs), and its network references resolve."""
    spec = catalog.servers.get(server.model)
    if spec is None:
        yield sloc + ("model",), f"unknown server model '{server.model}'" + near_names(server.model, catalog.servers)
        return
    yield from _mounted(rack, sloc, server.position_u, spec.height_u)
    if server.max_power_kw is None and spec.max_power_kw is None:
        yield (
            sloc + ("model",),
            f"{spec.id} has no published maximum power in the catalog; declare max_power_kw (the nameplate)",
        )
    if server.weight_kg is None and spec.weight_kg is None:
        yield sloc + ("model",), f"{spec.id} has no published weight in the catalog; declare weight_kg"
    yield from _cords(rack, pdus, sloc + ("power_cords",), server.power_cords)
    if spec.psu and len(server.power_cords) > spec.psu.count:
        yield (
            sloc + ("power_cords",),
            f"{len(server.power_cords)} cords declared but {spec.id} has {spec.psu.count} PSUs",
        )
    yield from _server_network_references(server, sloc, catalog, networks, switch_names)


def _server_network_references(
    server: Server, sloc: Loc, catalog: Catalog, networks: set[str], switch_names: set[str]
) -> Iterator[tuple[Loc, str]]:
    ports: dict[str, Loc] = {}
    for ni, nic in enumerate(server.nics):
        nloc = sloc + ("nics", ni)
        if nic.model is not None:
            nic_spec = catalog.nics.get(nic.model)
            if nic_spec is None:
                yield nloc + ("model",), f"unknown NIC model '{nic.model}'" + near_names(nic.model, catalog.nics)
            elif len(nic.ports) > nic_spec.max_ports:
                yield (
                    nloc + ("ports",),
                    f"{nic_spec.name} has {nic_spec.max_ports} port(s), {len(nic.ports)} declared",
                )
        for pi, port in enumerate(nic.ports):
            ploc = nloc + ("ports", pi)
            if port.name in ports:
                yield ploc + ("name",), f"duplicate interface name '{port.name}' on {server.name}"
            ports[port.name] = ploc
            if port.switch is not None and port.switch not in switch_names:
                yield ploc + ("switch",), f"unknown switch '{port.switch}'"
    interfaces = set(ports)
    in_bond: dict[str, str] = {}
    for bi, bond in enumerate(server.bonds):
        bloc = sloc + ("bonds", bi)
        if bond.name in interfaces:
            yield bloc + ("name",), f"interface name '{bond.name}' is already used on {server.name}"
        interfaces.add(bond.name)
        for mi, member in enumerate(bond.members):
            if member not in ports:
                yield bloc + ("members", mi), f"'{member}' is not a port of any NIC on {server.name}"
            elif member in in_bond:
                yield bloc + ("members", mi), f"'{member}' is already a member of {in_bond[member]}"
            else:
                in_bond[member] = bond.name
        for vi, vlan in enumerate(bond.vlans):
            interfaces.add(f"{bond.name}.{vlan.id}")
            if vlan.network is not None and vlan.network not in networks:
                yield (
                    bloc + ("vlans", vi, "network"),
                    f"unknown network '{vlan.network}'" + _choices(networks),
                )
        if bond.switch_lag is not None:
            for wi, sw in enumerate(bond.switch_lag.switches):
                if sw not in switch_names:
                    yield bloc + ("switch_lag", "switches", wi), f"unknown switch '{sw}'"
    for ai, addr in enumerate(server.addresses):
        aloc = sloc + ("addresses", ai)
        if addr.network not in networks:
            yield aloc + ("network",), f"unknown network '{addr.network}'" + _choices(networks)
        if addr.interface is not None and addr.interface not in interfaces:
            yield aloc + ("interface",), f"no interface '{addr.interface}' on {server.name}"
    if server.bmc is not None and server.bmc.network is not None and server.bmc.network not in networks:
        yield sloc + ("bmc", "network"), f"unknown network '{server.bmc.network}'" + _choices(networks)


def near_names(name: str, table: dict[str, Any]) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(table), n=3)
    return f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(sorted(table)[:20])}"


def pdu_wiring(declared: str | None, phases: int, voltage_v: float) -> Literal["delta", "wye", "single"]:
    """How a PDU's outlets draw from its circuit. 208 V 3-phase outlets sit line-to-line (delta);
    415/400 V 3-phase outlets line-to-neutral (wye). Sources: Raritan, How to calculate current on a 3-phase
    208V rack PDU (https://www.raritan.com/blog/detail/how-to-calculate-current-on-a-3-phase-208v-rack-pdu-power-strip);
    415 V is 240 V line-to-neutral (https://mydatasuites.com/415v-vs-208v-ai-workloads/)."""
    if declared is not None:
        return declared  # type: ignore[return-value]
    if phases == 1:
        return "single"
    return "delta" if voltage_v < 300 else "wye"

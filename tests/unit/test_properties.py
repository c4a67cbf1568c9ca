"""Property tests: random specs never crash the loader or the rules; physical monotonicity holds.

The site generator builds sites that load: PDU banks on phases the PDU's wiring has (derived from its circuit,
or declared), cords that name existing PDUs and banks and never outnumber the PSUs, servers placed inside the
rack, unique names, NIC ports within the card's port count, bonds over ports of their own server, addresses on
declared networks and interfaces, pools and deployments that reference what exists. What stays random is what
the rules judge (loads, breakers, cooling, weights, VFs, MTUs, LAG kinds, tensor parallel sizes), so the rule
engine sees both clean and failing sites. `test_random_specs_never_crash_loader_or_rules` asserts that at least
90 % of generated sites load and reach the rules.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpuctl import catalog
from gpuctl.calc.power import rack_load_kw
from gpuctl.errors import SpecError
from gpuctl.loader import load_site_text
from gpuctl.rules import RULES, evaluate

_CATALOG = catalog.builtin()
SERVER_MODELS = sorted(_CATALOG.servers)
NIC_MODELS = sorted(_CATALOG.nics)
SERVING_MODELS = sorted(catalog.models())
NETWORKS = [
    {"name": "mgmt", "purpose": "management", "cidr": "10.0.0.0/16", "mtu": 1500},
    {"name": "data", "purpose": "data", "vlan_id": 100, "cidr": "10.1.0.0/16", "mtu": 9000},
]
WIRING_PHASES = {"delta": ["L1-L2", "L2-L3", "L3-L1"], "wye": ["L1", "L2", "L3"], "single": ["L1"]}
MIN_SHARE_REACHING_RULES = 0.9

# What the last run of the never-crash property saw (the fuzz conftest prints it in its session summary).
SHARE: dict[str, int] = Counter()


def circuit() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "voltage_v": st.sampled_from([120, 208, 230, 240, 400, 415, 480]),
            "amps": st.sampled_from([16, 20, 30, 32, 50, 60, 63, 100]),
            "phases": st.sampled_from([1, 3]),
        },
        optional={"count": st.integers(1, 4)},
    )


def wiring_of(c: dict[str, Any]) -> str:
    """What the loader derives when a PDU does not declare its wiring (gpuctl.model.site.pdu_wiring)."""
    if c["phases"] == 1:
        return "single"
    return "delta" if c["voltage_v"] < 300 else "wye"


@st.composite
def pdu(draw: st.DrawFn, name: str, feed: str, circuits: list[dict[str, Any]]) -> dict[str, Any]:
    index = draw(st.integers(0, len(circuits) - 1))
    declared = draw(st.sampled_from([None, None, "delta", "wye", "single"]))
    wiring = declared or wiring_of(circuits[index])
    banks = []
    for bi in range(draw(st.integers(1, 3))):
        bank: dict[str, Any] = {"name": f"b{bi + 1}", "phase": draw(st.sampled_from(WIRING_PHASES[wiring]))}
        if draw(st.booleans()):
            bank["breaker_amps"] = draw(st.sampled_from([10, 16, 20, 30, 32]))
        banks.append(bank)
    out: dict[str, Any] = {"name": name, "feed": feed, "banks": banks}
    if index:
        out["circuit"] = index
    if declared:
        out["wiring"] = declared
    if draw(st.booleans()):
        out["weight_kg"] = draw(st.floats(0, 30))
    return out


def cords(draw: st.DrawFn, pdus: list[dict[str, Any]], at_most: int) -> list[dict[str, str]]:
    if not pdus:
        return []
    out = []
    for _ in range(draw(st.integers(0, at_most))):
        p = draw(st.sampled_from(pdus))
        out.append({"pdu": p["name"], "bank": draw(st.sampled_from([b["name"] for b in p["banks"]]))})
    return out


@st.composite
def nics_and_bonds(
    draw: st.DrawFn, switches: list[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """NICs with ports within the card's count, bonds over this server's ports; the interface names made."""
    nics = []
    ports: list[str] = []
    for ni in range(draw(st.integers(1, 2))):
        model = draw(st.sampled_from([None, *NIC_MODELS]))
        max_ports = _CATALOG.nics[model].max_ports if model else 2
        nic_ports = []
        for pi in range(draw(st.integers(1, max_ports))):
            port: dict[str, Any] = {
                "name": f"n{ni}p{pi}",
                "speed_gbps": draw(st.sampled_from([1, 10, 25, 100, 200, 400])),
                "mtu": draw(st.sampled_from([1500, 9000, 9216])),
            }
            if draw(st.booleans()):
                port["sriov_vfs"] = draw(st.integers(0, 300))
            if switches and draw(st.booleans()):
                port["switch"] = draw(st.sampled_from(switches))
            nic_ports.append(port)
            ports.append(port["name"])
        nic: dict[str, Any] = {"name": f"nic{ni}", "ports": nic_ports}
        if model:
            nic["model"] = model
        nics.append(nic)
    interfaces = list(ports)
    bonds = []
    if len(ports) >= 2 and draw(st.booleans()):
        members = draw(st.lists(st.sampled_from(ports), min_size=1, max_size=len(ports), unique=True))
        bond: dict[str, Any] = {
            "name": "bond0",
            "mode": draw(st.sampled_from(["802.3ad", "active-backup", "balance-rr", "balance-xor"])),
            "members": members,
        }
        if draw(st.booleans()):
            bond["mii_monitor_interval_ms"] = draw(st.sampled_from([0, 100]))
        if draw(st.booleans()):
            bond["mtu"] = draw(st.sampled_from([1500, 9000]))
        kind = draw(st.sampled_from([None, "lacp", "mlag", "static", "none"]))
        if kind:
            lag: dict[str, Any] = {"kind": kind}
            if kind == "mlag" and switches:
                lag["switches"] = draw(st.lists(st.sampled_from(switches), max_size=2, unique=True))
            bond["switch_lag"] = lag
        interfaces.append("bond0")
        if draw(st.booleans()):
            bond["vlans"] = [{"id": 100, "network": "data"}]
            interfaces.append("bond0.100")
        bonds.append(bond)
    return nics, bonds, interfaces


@st.composite
def server(draw: st.DrawFn, name: str, pdus: list[dict[str, Any]], switches: list[str]) -> dict[str, Any]:
    model = draw(st.sampled_from(SERVER_MODELS))
    spec = _CATALOG.servers[model]
    s: dict[str, Any] = {"name": name, "model": model}
    if spec.max_power_kw is None or draw(st.booleans()):
        s["max_power_kw"] = draw(st.floats(0.1, 30))
    if spec.weight_kg is None or draw(st.booleans()):
        s["weight_kg"] = draw(st.floats(1, 200))
    s["power_cords"] = cords(draw, pdus, spec.psu.count if spec.psu else 4)
    if draw(st.booleans()):
        nics, bonds, interfaces = draw(nics_and_bonds(switches))
        s["nics"] = nics
        if bonds:
            s["bonds"] = bonds
        if draw(st.booleans()):
            s["addresses"] = [
                {"network": "mgmt", "ip": f"10.0.{draw(st.integers(0, 255))}.{draw(st.integers(1, 254))}"}
                | ({"interface": draw(st.sampled_from(interfaces))} if draw(st.booleans()) else {})
            ]
    return s


@st.composite
def rack(draw: st.DrawFn, index: int) -> dict[str, Any]:
    name = f"r{index}"
    height = draw(st.integers(8, 60))
    cooling_type = draw(st.sampled_from(["air_open", "air_contained", "rdhx_passive", "rdhx_active", "dlc"]))
    cooling: dict[str, Any] = {"type": cooling_type}
    if cooling_type == "dlc" or draw(st.booleans()):
        cooling["capacity_kw"] = draw(st.floats(1, 200))
    power: dict[str, Any] = {"a": {"circuits": draw(st.lists(circuit(), min_size=1, max_size=2))}}
    if draw(st.booleans()):
        power["b"] = {"circuits": draw(st.lists(circuit(), min_size=1, max_size=2))}
    pdus = [draw(pdu(f"{name}-p{feed}", feed, power[feed]["circuits"])) for feed in power if draw(st.booleans())]
    switches = []
    for wi in range(draw(st.integers(0, 2))):
        switches.append(
            {
                "name": f"{name}-sw{wi}",
                "max_power_kw": draw(st.floats(0, 2)),
                "weight_kg": draw(st.floats(0, 30)),
                "position_u": height - wi,
                "power_cords": cords(draw, pdus, 2),
            }
        )
    switch_names = [w["name"] for w in switches]
    servers = []
    next_u = 1
    for si in range(draw(st.integers(0, 5))):
        s = draw(server(f"{name}-s{si}", pdus, switch_names))
        h = _CATALOG.servers[s["model"]].height_u
        if draw(st.integers(0, 3)):  # mostly placed, bottom up, below the switches
            next_u += draw(st.integers(0, 2))
            if next_u + h - 1 <= height - len(switches):
                s["position_u"] = next_u
                next_u += h
        servers.append(s)
    r: dict[str, Any] = {
        "name": name,
        "height_u": height,
        "static_weight_rating_kg": draw(st.floats(1, 2000)),
        "cooling": cooling,
        "power": power,
        "pdus": pdus,
        "servers": servers,
        "switches": switches,
    }
    if draw(st.booleans()):
        r["contracted_kw"] = draw(st.floats(0.5, 200))
    if draw(st.booleans()):
        r["floor_rating_kpa"] = draw(st.floats(1, 20))
    if draw(st.booleans()):
        r["tare_weight_kg"] = draw(st.floats(0, 300))
    return r


@st.composite
def site(draw: st.DrawFn) -> dict[str, Any]:
    racks = [draw(rack(i)) for i in range(draw(st.integers(1, 3)))]
    data: dict[str, Any] = {"name": "prop", "networks": NETWORKS, "racks": racks}
    if draw(st.booleans()):
        data["settings"] = {
            "power_derating": draw(st.sampled_from([0.8, 1.0, 0.5])),
            "phase_imbalance_warn_pct": draw(st.sampled_from([5, 15, 50])),
        }
    gpu_servers = [s["name"] for r in racks for s in r["servers"] if _CATALOG.servers[s["model"]].gpu_count]
    if draw(st.booleans()):
        pool: dict[str, Any] = {"name": "p", "purpose": draw(st.sampled_from(["inference", "training"]))}
        if gpu_servers and draw(st.booleans()):
            pool["servers"] = draw(st.lists(st.sampled_from(gpu_servers), min_size=1, max_size=4, unique=True))
        else:
            pool["racks"] = [r["name"] for r in racks]
        if draw(st.booleans()):
            pool["gpus_per_node"] = draw(st.sampled_from([4, 8]))
        data["node_pools"] = [pool]
        deployments = []
        for di in range(draw(st.integers(0, 2))):
            dep: dict[str, Any] = {
                "name": f"d{di}",
                "model": draw(st.sampled_from(SERVING_MODELS)),
                "node_pool": "p",
                "tensor_parallel_size": draw(st.sampled_from([1, 2, 4, 8, 16])),
                "replicas": draw(st.integers(1, 8)),
            }
            if draw(st.booleans()):
                dep["max_model_len"] = draw(st.sampled_from([2048, 8192, 32768, 131072]))
            if draw(st.booleans()):
                dep["precision"] = draw(st.sampled_from(["bf16", "fp8", "int4"]))
            deployments.append(dep)
        if deployments:
            data["deployments"] = deployments
    return data


def test_random_specs_never_crash_loader_or_rules() -> None:
    counts: Counter[str] = Counter()

    @settings(
        max_examples=150,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(site())
    def run(data: dict[str, Any]) -> None:
        counts["generated"] += 1
        text = json.dumps(data)  # JSON is YAML
        try:
            loaded = load_site_text(text, "prop.yaml")
        except SpecError as err:
            assert err.problems, "a spec error always says what is wrong"
            for p in err.problems:
                assert p.message and p.file == "prop.yaml"
            counts[f"spec error: {err.problems[0].message[:60]}"] += 1
            return
        result = evaluate(loaded)
        counts["reached_rules"] += 1
        ids = {r.id for r in RULES}
        for f in result.findings:
            assert f.rule_id in ids and f.message and f.line is not None

    run()
    SHARE.clear()
    SHARE.update(counts)
    share = counts["reached_rules"] / max(1, counts["generated"])
    errors = {k: v for k, v in counts.items() if k.startswith("spec error")}
    print(f"generated sites reaching the rule engine: {counts['reached_rules']}/{counts['generated']} ({share:.0%})")
    assert counts["generated"] >= 100, counts
    assert share >= MIN_SHARE_REACHING_RULES, (
        f"only {share:.0%} of generated sites reach the rules ({counts['reached_rules']}/{counts['generated']}); "
        f"spec errors: {errors}"
    )


@settings(max_examples=100, deadline=None)
@given(
    st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5)),
        lambda c: st.one_of(st.lists(c, max_size=3), st.dictionaries(st.text(max_size=5), c, max_size=3)),
        max_leaves=12,
    )
)
def test_arbitrary_documents_give_spec_errors(doc: Any) -> None:
    try:
        load_site_text(json.dumps(doc), "junk.yaml")
    except SpecError as err:
        assert err.problems
    else:  # pragma: no cover - a random document is never a valid site
        raise AssertionError("a random document loaded as a site")


@settings(max_examples=60, deadline=None)
@given(st.floats(0.1, 20), st.integers(1, 30))
def test_adding_a_server_never_lowers_rack_draw(kw: float, pos: int) -> None:
    base = {
        "name": "mono",
        "racks": [
            {
                "name": "r",
                "static_weight_rating_kg": 1000,
                "cooling": {"type": "air_open"},
                "power": {"a": {"circuits": [{"voltage_v": 415, "amps": 32, "phases": 3}]}},
                "servers": [{"name": "a", "model": "dgx-a100", "position_u": 1}],
            }
        ],
    }
    before = load_site_text(json.dumps(base)).site
    base["racks"][0]["servers"].append(  # type: ignore[index]
        {"name": "b", "model": "dell-xe9680-h100", "position_u": pos, "max_power_kw": kw, "weight_kg": 90}
    )
    after = load_site_text(json.dumps(base)).site
    assert rack_load_kw(after, after.racks[0]) >= rack_load_kw(before, before.racks[0]) + kw - 1e-9

"""Property tests: random specs never crash the loader or the rules; physical monotonicity holds."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gpuctl.calc.power import rack_load_kw
from gpuctl.errors import SpecError
from gpuctl.loader import load_site_text
from gpuctl.rules import RULES, evaluate

MODELS = ["dgx-h100", "dgx-a100", "dgx-b200", "gb200-nvl72", "dell-xe9680-h100", "no-such-model"]
names = st.from_regex(r"[a-z][a-z0-9-]{0,6}", fullmatch=True)


def circuit() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "voltage_v": st.sampled_from([208, 230, 415, -1]),
            "amps": st.sampled_from([16, 30, 32, 60, 0]),
            "phases": st.sampled_from([1, 3, 2]),
        }
    )


@st.composite
def server(draw: st.DrawFn) -> dict[str, Any]:
    s: dict[str, Any] = {"name": draw(names), "model": draw(st.sampled_from(MODELS))}
    if draw(st.booleans()):
        s["position_u"] = draw(st.integers(-1, 60))
    if draw(st.booleans()):
        s["max_power_kw"] = draw(st.floats(0.1, 30))
        s["weight_kg"] = draw(st.floats(1, 200))
    if draw(st.booleans()):
        speed = draw(st.sampled_from([25, 100, 400]))
        s["nics"] = [
            {
                "name": "nic0",
                "model": draw(st.sampled_from(["connectx-7", "intel-e810-cqda2", "x"])),
                "ports": [
                    {"name": "p0", "speed_gbps": speed, "sriov_vfs": draw(st.integers(0, 300))},
                    {
                        "name": "p1",
                        "speed_gbps": draw(st.sampled_from([25, 100])),
                        "mtu": draw(st.sampled_from([1500, 9000, 20000])),
                    },
                ],
            }
        ]
        s["bonds"] = [
            {
                "name": "bond0",
                "mode": draw(st.sampled_from(["802.3ad", "active-backup", "balance-rr"])),
                "members": draw(st.lists(st.sampled_from(["p0", "p1", "p9"]), min_size=1, max_size=3)),
                "mii_monitor_interval_ms": draw(st.sampled_from([None, 0, 100])),
            }
        ]
    if draw(st.booleans()):
        s["power_cords"] = draw(
            st.lists(
                st.fixed_dictionaries(
                    {"pdu": st.sampled_from(["pa", "pb", "zz"]), "bank": st.sampled_from(["b1", "b2", "l1"])}
                ),
                max_size=6,
            )
        )
    return s


@st.composite
def site(draw: st.DrawFn) -> dict[str, Any]:
    racks = []
    for i in range(draw(st.integers(1, 3))):
        rack: dict[str, Any] = {
            "name": f"r{i}",
            "height_u": draw(st.integers(1, 60)),
            "static_weight_rating_kg": draw(st.floats(1, 2000)),
            "cooling": {
                "type": draw(st.sampled_from(["air_open", "air_contained", "rdhx_active", "dlc"])),
                "capacity_kw": draw(st.one_of(st.none(), st.floats(1, 200))),
            },
            "power": {"a": {"circuits": draw(st.lists(circuit(), min_size=1, max_size=2))}},
            "servers": draw(st.lists(server(), max_size=5)),
            "pdus": [
                {
                    "name": "pa",
                    "feed": "a",
                    "banks": [{"name": "b1", "phase": "L1-L2"}, {"name": "b2", "phase": "L1"}],
                }
            ],
        }
        if draw(st.booleans()):
            rack["power"]["b"] = {"circuits": draw(st.lists(circuit(), min_size=1, max_size=2))}
            rack["pdus"].append({"name": "pb", "feed": "b", "banks": [{"name": "l1", "phase": "L1"}]})
        if draw(st.booleans()):
            rack["contracted_kw"] = draw(st.floats(0.5, 200))
        if draw(st.booleans()):
            rack["floor_rating_kpa"] = draw(st.floats(1, 20))
        racks.append(rack)
    data: dict[str, Any] = {"name": "prop", "racks": racks}
    if draw(st.booleans()):
        data["node_pools"] = [{"name": "p", "racks": [r["name"] for r in racks], "purpose": "training"}]
        data["deployments"] = [
            {"name": "d", "model": "m", "node_pool": "p", "tensor_parallel_size": draw(st.integers(1, 16))}
        ]
    return data


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(site())
def test_random_specs_never_crash_loader_or_rules(data: dict[str, Any]) -> None:
    text = json.dumps(data)  # JSON is YAML
    try:
        loaded = load_site_text(text, "prop.yaml")
    except SpecError as err:
        assert err.problems, "a spec error always says what is wrong"
        for p in err.problems:
            assert p.message and p.file == "prop.yaml"
        return
    result = evaluate(loaded)
    ids = {r.id for r in RULES}
    for f in result.findings:
        assert f.rule_id in ids and f.message and f.line is not None


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

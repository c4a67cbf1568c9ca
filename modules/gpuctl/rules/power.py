"""Power rules: budget, A+B redundancy, PSU feed loss, phase loading."""

from __future__ import annotations

from collections.abc import Iterator

from ..calc import power as calc
from ..model import Site
from . import paths
from .base import Hit, Severity, rule

NEC = "NEC (NFPA 70) 210.19(A)(1)/210.20(A): conductors and breakers ≥ 125 % of continuous load (the 80 % derating)"
NEC_645 = "NEC (NFPA 70) 645.5(A): IT equipment branch circuits ≥ 125 % of the connected load"
DATACENTERMD = (
    "datacentermd.com, 3-phase PDU capacity (208 V × 30 A × √3 × 0.8 = 8,646 VA; unbalanced banks can overload "
    "one phase under an 80 % PDU total): http://datacentermd.com/"
)
RARITAN = (
    "Raritan, How to calculate current on a 3-phase 208V rack PDU (banks sit line to line): "
    "https://www.raritan.com/blog/detail/how-to-calculate-current-on-a-3-phase-208v-rack-pdu-power-strip"
)


@rule(
    "PWR001",
    "rack-power-budget",
    Severity.ERROR,
    "Rack load must fit the smaller of its summed feeds and its contracted kW.",
    "Move servers to another rack, raise the contracted power, or add circuits to the feeds.",
    sources=(NEC, NEC_645, DATACENTERMD),
)
def rack_power_budget(site: Site) -> Iterator[Hit]:
    """Load is the sum of vendor maximum system power of every server, switch and device (never the sum
    of GPU TDPs). The budget is Σ feeds (each circuit V × A × √3 for 3-phase × PF × derating) capped by
    the contracted kW. A rack drawing more trips breakers or breaches the colo contract."""
    for rack in site.racks:
        load = calc.rack_load_kw(site, rack)
        budget = calc.rack_budget(site, rack)
        if load <= budget.budget_kw + 1e-9:
            continue
        if budget.limited_by_contract:
            msg = f"{load:.1f} kW > {budget.budget_kw:.1f} kW contracted (feeds could carry {budget.feeds_kw:.1f} kW)"
            hit_field = "contracted_kw"
        else:
            feeds = [f"A {budget.feed_a_kw:.1f} kW ({calc.feed_label(rack.power.a, site.settings)})"]
            if rack.power.b is not None and budget.feed_b_kw is not None:
                feeds.append(f"B {budget.feed_b_kw:.1f} kW ({calc.feed_label(rack.power.b, site.settings)})")
            msg = f"{load:.1f} kW > {budget.feeds_kw:.1f} kW usable on all feeds: {' + '.join(feeds)}"
            hit_field = "power"
        yield Hit(paths.rack(rack), msg, hit_field)


@rule(
    "PWR002",
    "feed-redundancy",
    Severity.ERROR,
    "With A+B feeds, either feed alone must carry the whole rack.",
    "Keep the rack load under the smaller feed's usable kW, or upgrade both feeds.",
    sources=(
        "Metal Toad, Power utilization within a colocation environment (either circuit must carry the full load): "
        "https://www.metaltoad.com/blog/power-utilization-within-colocation-environment",
    ),
)
def feed_redundancy(site: Site) -> Iterator[Hit]:
    """Summing A and B is the classic mistake: when one feed fails (or is serviced), the other carries
    everything. A rack that only works while both feeds are up is not redundant."""
    for rack in site.racks:
        budget = calc.rack_budget(site, rack)
        if rack.power.b is None or budget.feed_b_kw is None:
            continue
        load = calc.rack_load_kw(site, rack)
        if load > budget.budget_kw:
            continue  # rack-power-budget already reports it; one finding per cause
        feeds = [("A", rack.power.a, budget.feed_a_kw), ("B", rack.power.b, budget.feed_b_kw)]
        which, feed, kw = min(feeds, key=lambda f: f[2])
        if load > kw + 1e-9:
            yield Hit(
                paths.rack(rack),
                f"{load:.1f} kW > {kw:.1f} kW usable on feed {which} alone ({calc.feed_label(feed, site.settings)})",
                f"power.{which.lower()}",
            )


@rule(
    "PWR003",
    "psu-feed-loss",
    Severity.WARNING,
    "A server's PSUs on one feed should carry its maximum draw.",
    "Spread PSU cords evenly over A and B, or accept reduced performance on feed loss with a suppression.",
    sources=(
        "NVIDIA DGX H100/H200 User Guide: 6 × 3.3 kW PSUs 4+2, reduced performance with three lost: "
        "https://docs.nvidia.com/dgx/dgxh100-user-guide/introduction-to-dgxh100.html",
        "NVIDIA DGX B200 User Guide: 6 × 3.3 kW PSUs 5+1, 14.3 kW max: "
        "https://docs.nvidia.com/dgx/dgxb200-user-guide/introduction-to-dgxb200.html",
        "Dell PowerEdge M1000e Technical Manual p. 36: N+1 covers PSU failure, not grid loss: "
        "https://manualarchiveguide.com/manuals/Dell-PowerEdge-M1000e-Technical-Manual-3015670?page=36",
    ),
)
def psu_feed_loss(site: Site) -> Iterator[Hit]:
    """With PSUs split over A and B, losing a feed leaves the PSUs on the other: their rating must cover
    the server's maximum draw (floor(n/2) × rating with an even split, or the declared cords). DGX H100
    (3 × 3.3 = 9.9 kW < 10.2 kW) throttles; N+1 designs like DGX B200 do not survive feed loss at full
    power."""
    for rack in site.racks:
        if rack.power.b is None:
            continue
        feed_of = {p.name: p.feed for p in rack.pdus}
        for server in rack.servers:
            psu = site.server_spec(server).psu
            if psu is None:
                continue
            draw = site.server_power_kw(server)
            if server.power_cords:
                on = {f: sum(1 for c in server.power_cords if feed_of[c.pdu] == f) for f in ("a", "b")}
                worst = min(on, key=lambda f: on[f])
                count, how = on[worst], f"{on[worst]} of its cords on feed {worst.upper()}"
            else:
                count, how = psu.count // 2, f"{psu.count // 2} of {psu.count} PSUs (even split)"
            left_kw = count * psu.rating_w / 1000
            if left_kw + 1e-9 < draw:
                yield Hit(
                    paths.server(rack, server),
                    f"on feed loss {how} give {count} × {psu.rating_w / 1000:g} kW = {left_kw:.1f} kW "
                    f"< {draw:.1f} kW max draw ({site.server_spec(server).name}, PSUs {psu.redundancy})",
                    "power_cords" if server.power_cords else "model",
                )


@rule(
    "PWR004",
    "phase-balance",
    Severity.ERROR,
    "Line current on every PDU phase must stay under the derated breaker, also with one feed lost.",
    "Move cords to the lightly loaded banks or onto another circuit.",
    sources=(RARITAN, NEC, DATACENTERMD),
)
def phase_balance(site: Site) -> Iterator[Hit]:
    """Per-phase line currents from the loads on each outlet bank: on 208 V delta PDUs banks sit line to
    line, so each line carries the phasor difference of two bank currents; on 415/240 V wye PDUs each
    line carries its bank. A PDU can trip one phase while its total is within budget. Checked in normal
    operation and, for A+B racks, with each feed lost (load moves to the surviving cords)."""
    for rack in site.racks:
        scenarios: list[tuple[str | None, str]] = [(None, "")]
        if rack.power.b is not None:
            scenarios += [("a", " with feed A lost"), ("b", " with feed B lost")]
        reported: set[str] = set()
        for lost, label in scenarios:
            for load in calc.phase_loads(site, rack, lost):  # type: ignore[arg-type]
                if load.pdu in reported:
                    continue
                line, amps = max(load.line_a.items(), key=lambda kv: kv[1])
                if amps > load.limit_a + 1e-9:
                    reported.add(load.pdu)
                    yield Hit(
                        f"racks[{rack.name}].pdus[{load.pdu}]",
                        f"{line} carries {amps:.1f} A > {load.limit_a:.1f} A ({load.circuit_label} breaker × "
                        f"{site.settings.power_derating:g}){label}; banks "
                        + ", ".join(f"{ph} {kva:.1f} kVA" for ph, kva in sorted(load.bank_kva.items())),
                        "banks",
                    )


@rule(
    "PWR005",
    "phase-imbalance",
    Severity.WARNING,
    "Line currents of a 3-phase PDU should be within the site's imbalance threshold.",
    "Rebalance cords across banks so each phase carries a similar share.",
    sources=("heuristic, not from a standard: the 15 % default (settings.phase_imbalance_warn_pct) is a site choice",),
)
def phase_imbalance(site: Site) -> Iterator[Hit]:
    """(max − min) / average of the three line currents in normal operation. Imbalance wastes the
    circuit (the most loaded phase trips first) and heats the neutral on wye PDUs."""
    threshold = site.settings.phase_imbalance_warn_pct
    for rack in site.racks:
        for load in calc.phase_loads(site, rack):
            pct = load.imbalance_pct
            if pct is not None and pct > threshold:
                currents = ", ".join(f"{ph} {a:.1f} A" for ph, a in load.line_a.items())
                yield Hit(
                    f"racks[{rack.name}].pdus[{load.pdu}]",
                    f"imbalance {pct:.0f}% > {threshold:g}% ({currents})",
                    "banks",
                )


RULES = (rack_power_budget, feed_redundancy, psu_feed_loss, phase_balance, phase_imbalance)

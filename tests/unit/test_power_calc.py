"""Power arithmetic against hand-computed feed capacities: V × A (× √3) × PF × 0.8
(NEC (NFPA 70) 210.19(A)(1)/210.20(A); 208 V 3φ 30 A = 8,646 VA as at http://datacentermd.com/)."""

from __future__ import annotations

import math

import pytest

from gpuctl.calc.power import circuit_kw, line_currents
from gpuctl.model import Circuit, SiteSettings


@pytest.mark.parametrize(
    ("volts", "amps", "phases", "usable_kw"),
    [
        (208, 30, 3, 8.65),
        (208, 50, 3, 14.41),
        (208, 60, 3, 17.29),
        (415, 32, 3, 18.40),
        (415, 60, 3, 34.50),
        (415, 63, 3, 36.23),
        (208, 30, 1, 4.99),
    ],
)
def test_usable_feed_kw_matches_reference_table(volts: int, amps: int, phases: int, usable_kw: float) -> None:
    c = Circuit(voltage_v=volts, amps=amps, phases=phases)
    assert circuit_kw(c, SiteSettings()) == pytest.approx(usable_kw, abs=0.006)


def test_power_factor_and_count_scale_the_feed() -> None:
    c = Circuit(voltage_v=208, amps=30, phases=3, count=2)
    # by hand: 208 V × 30 A × √3 × 0.95 × 0.8 = 8.21 kW usable; two circuits double it
    assert circuit_kw(c, SiteSettings(power_factor=0.95)) == pytest.approx(2 * 8.21, abs=0.01)


def test_balanced_delta_line_current_is_sqrt3_times_bank_current() -> None:
    va = 2000.0
    lines = line_currents("delta", {"L1-L2": va, "L2-L3": va, "L3-L1": va}, 208)
    for amps in lines.values():
        assert amps == pytest.approx(math.sqrt(3) * va / 208)


def test_single_delta_bank_loads_two_lines_only() -> None:
    lines = line_currents("delta", {"L1-L2": 6500.0}, 208)
    assert lines["L1"] == pytest.approx(6500 / 208)
    assert lines["L2"] == pytest.approx(6500 / 208)
    assert lines["L3"] == pytest.approx(0)


def test_wye_line_current_uses_line_to_neutral_voltage() -> None:
    # 415 V line-to-line is 239.6 V line-to-neutral
    lines = line_currents("wye", {"L1": 2396.0}, 415)
    assert lines["L1"] == pytest.approx(10.0, rel=1e-3)
    assert lines["L2"] == 0

"""Locating is linear: the work per finding or error does not grow with the number of racks.

Counted, not timed (a shared CI machine makes timings noisy): every call into rapidyaml's tree goes through a
counting proxy, and four times the racks may cost at most six times the calls (linear is four; the old
per-finding scan of the rack list was sixteen).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from gpuctl import yamlpos as locate
from gpuctl.errors import SpecError
from gpuctl.loader import Locator, load_site_text
from gpuctl.loader import site as loader

EMPTY_RACK = (
    "  - name: rack-{r:05d}\n    static_weight_rating_kg: 1000\n    cooling: {{type: air_open}}\n"
    "    power: {{a: {{circuits: [{{voltage_v: 230, amps: 16, phases: 1}}]}}}}\n"
)


def site_text(racks: int, extra: str = "") -> str:
    return "name: s\nracks:\n" + "".join(EMPTY_RACK.format(r=r) + extra for r in range(racks))


class CountingTree:
    """Stands in for a ryml.Tree and counts the calls made on it."""

    def __init__(self, tree: Any, counts: Counter[str]) -> None:
        self._tree = tree
        self._counts = counts

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._tree, name)

        def counted(*args: Any) -> Any:
            self._counts[name] += 1
            return method(*args)

        return counted


@contextmanager
def counted_trees(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counter[str]]:
    counts: Counter[str] = Counter()
    parse = Locator.parse

    def counting_parse(self: Locator) -> bool:
        fresh = not self._parsed
        ok = parse(self)
        if fresh and ok:
            self._tree = CountingTree(self._tree, counts)
        return ok

    monkeypatch.setattr(Locator, "parse", counting_parse)
    monkeypatch.setattr(loader, "FAST_MIN_BYTES", 1 << 40)  # the fast way hands the tree to C++, not to a proxy
    yield counts


def calls_to_locate_every_rack(racks: int, monkeypatch: pytest.MonkeyPatch) -> int:
    with counted_trees(monkeypatch) as counts:
        locator = Locator(site_text(racks))
        assert locator.parse()
        for r in range(racks):
            assert locator.find(f"racks[rack-{r:05d}].power.a") is not None
            assert locator.position(("racks", r, "cooling", "type")) is not None
    return sum(counts.values())


def test_locating_a_finding_in_every_rack_is_linear(monkeypatch: pytest.MonkeyPatch) -> None:
    small = calls_to_locate_every_rack(1000, monkeypatch)
    large = calls_to_locate_every_rack(4000, monkeypatch)
    assert large <= 6 * small, (small, large)


def calls_to_report_an_error_in_every_rack(racks: int, monkeypatch: pytest.MonkeyPatch) -> int:
    with counted_trees(monkeypatch) as counts:
        with pytest.raises(SpecError) as err:
            load_site_text(site_text(racks, extra="    bogus: 1\n"), "s.yaml")
        assert len(err.value.problems) == racks
        assert err.value.problems[-1].line == 5 * racks + 2  # the last rack's `bogus`, on its own line
    return sum(counts.values())


def test_reporting_an_error_in_every_rack_is_linear(monkeypatch: pytest.MonkeyPatch) -> None:
    small = calls_to_report_an_error_in_every_rack(500, monkeypatch)
    large = calls_to_report_an_error_in_every_rack(2000, monkeypatch)
    assert large <= 6 * small, (small, large)


def test_positions_are_right_after_thousands_of_racks() -> None:
    racks = 3000
    locator = Locator(site_text(racks))
    pos = locator.find(f"racks[rack-{racks - 1:05d}].cooling.type")
    assert pos is not None and (pos.line, pos.column) == (4 * racks + 1, 21)
    assert locate.parse_path("racks[rack-00001].power") == [("racks", "rack-00001"), ("power", None)]


def test_the_collector_is_paused_only_while_a_large_site_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    monkeypatch.setattr(loader, "FAST_MIN_BYTES", 0)  # every text counts as large
    frozen = gc.get_freeze_count()
    try:
        with pytest.raises(SpecError):
            load_site_text("name: s\nracks: [{}]\n")
        assert gc.isenabled() and gc.get_freeze_count() == frozen, "an error freezes nothing"
        load_site_text(site_text(3))
        assert gc.isenabled() and gc.get_freeze_count() > frozen
    finally:
        gc.unfreeze()
        gc.enable()

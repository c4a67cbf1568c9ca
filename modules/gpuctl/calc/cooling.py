"""Rack cooling: the heat a rack may shed, declared or the site's default for its cooling type."""

from __future__ import annotations

from ..model import Rack, Site


def cooling_capacity_kw(site: Site, rack: Rack) -> tuple[float | None, str]:
    """(kW of heat the rack can shed, where the figure comes from); None when neither the rack nor the site's
    defaults give one (direct liquid cooling has no generic ceiling: the rack must declare it)."""
    if rack.cooling.capacity_kw is not None:
        return rack.cooling.capacity_kw, "declared"
    value = site.settings.cooling_defaults_kw.get(rack.cooling.type)
    return value, f"site default for {rack.cooling.type}"

"""Racks and what is mounted in them."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .base import (
    CatalogId,
    Kilograms,
    Kilowatts,
    Name,
    NonNegativeKilograms,
    NonNegativeKilowatts,
    Strict,
    Text,
)
from .network import AddressAssignment, Bmc, Bond, Nic
from .power import Pdu, PowerCord, RackPower

CoolingType = Literal["air_open", "air_contained", "rdhx_passive", "rdhx_active", "dlc"]


class Cooling(Strict):
    type: CoolingType
    capacity_kw: Kilowatts | None = Field(
        default=None, description="Declared heat removal; the site default for the type when omitted."
    )

    @model_validator(mode="after")
    def _dlc_needs_capacity(self) -> Cooling:
        if self.type == "dlc" and self.capacity_kw is None:
            raise ValueError("direct liquid cooling has no generic capacity: declare capacity_kw (from the CDU)")
        return self


class Footprint(Strict):
    width_mm: float = Field(default=600, gt=0, le=5000)
    depth_mm: float = Field(default=1200, gt=0, le=5000)

    @property
    def area_m2(self) -> float:
        return self.width_mm * self.depth_mm / 1_000_000


class Server(Strict):
    name: Name
    model: CatalogId
    position_u: int | None = Field(
        default=None, ge=1, le=60, description="Lowest rack unit it occupies (1 = bottom); omit while unplaced."
    )
    max_power_kw: Kilowatts | None = Field(
        default=None, description="Nameplate maximum input power; overrides the catalog."
    )
    weight_kg: Kilograms | None = None
    bmc: Bmc | None = None
    addresses: list[AddressAssignment] = Field(default_factory=list)
    nics: list[Nic] = Field(default_factory=list)
    bonds: list[Bond] = Field(default_factory=list)
    power_cords: list[PowerCord] = Field(default_factory=list)
    network_externally_managed: bool = False


class Switch(Strict):
    name: Name
    model: Text | None = None
    role: Literal["leaf", "spine", "management", "storage", "compute"] = "leaf"
    position_u: int | None = Field(default=None, ge=1, le=60)
    height_u: int = Field(default=1, ge=1, le=60)
    max_power_kw: NonNegativeKilowatts
    weight_kg: NonNegativeKilograms
    port_mtu: int | None = Field(default=None, ge=68, le=65535)
    addresses: list[AddressAssignment] = Field(default_factory=list)
    power_cords: list[PowerCord] = Field(default_factory=list)


class Device(Strict):
    name: Name
    kind: Literal["patch-panel", "blank", "cable-manager", "storage", "kvm", "firewall", "other"]
    position_u: int | None = Field(default=None, ge=1, le=60)
    height_u: int = Field(default=1, ge=1, le=60)
    max_power_kw: NonNegativeKilowatts = 0
    weight_kg: NonNegativeKilograms = 0
    power_cords: list[PowerCord] = Field(default_factory=list)


class Rack(Strict):
    name: Name
    previous_names: list[Name] = Field(
        default_factory=list, description="Former names: Pulumi aliases them so a rename is not a replacement."
    )
    height_u: int = Field(default=42, ge=1, le=60)
    reserved_u: int = Field(default=0, ge=0, le=60, description="Units the colo or cabling keeps free.")
    static_weight_rating_kg: Kilograms
    tare_weight_kg: NonNegativeKilograms = 0
    footprint: Footprint = Field(default_factory=Footprint)
    floor_rating_kpa: float | None = Field(default=None, gt=0, le=1000)
    cooling: Cooling
    contracted_kw: Kilowatts | None = None
    power: RackPower
    pdus: list[Pdu] = Field(default_factory=list)
    servers: list[Server] = Field(default_factory=list)
    switches: list[Switch] = Field(default_factory=list)
    devices: list[Device] = Field(default_factory=list)

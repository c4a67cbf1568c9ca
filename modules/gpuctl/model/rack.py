"""Racks and what is mounted in them."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .base import CatalogId, Name, NonNegativeFloat, PositiveFloat, PositiveInt, Strict
from .network import AddressAssignment, Bmc, Bond, Nic
from .power import Pdu, PowerCord, RackPower

CoolingType = Literal["air_open", "air_contained", "rdhx_passive", "rdhx_active", "dlc"]


class Cooling(Strict):
    type: CoolingType
    capacity_kw: PositiveFloat | None = Field(
        default=None, description="Declared heat removal; the site default for the type when omitted."
    )

    @model_validator(mode="after")
    def _dlc_needs_capacity(self) -> Cooling:
        if self.type == "dlc" and self.capacity_kw is None:
            raise ValueError("direct liquid cooling has no generic capacity: declare capacity_kw (from the CDU)")
        return self


class Footprint(Strict):
    width_mm: PositiveFloat = 600
    depth_mm: PositiveFloat = 1200

    @property
    def area_m2(self) -> float:
        return self.width_mm * self.depth_mm / 1_000_000


class Server(Strict):
    name: Name
    model: CatalogId
    position_u: PositiveInt | None = Field(
        default=None, description="Lowest rack unit it occupies (1 = bottom); omit while unplaced."
    )
    max_power_kw: PositiveFloat | None = Field(
        default=None, description="Nameplate maximum input power; overrides the catalog."
    )
    weight_kg: PositiveFloat | None = None
    bmc: Bmc | None = None
    addresses: list[AddressAssignment] = Field(default_factory=list)
    nics: list[Nic] = Field(default_factory=list)
    bonds: list[Bond] = Field(default_factory=list)
    power_cords: list[PowerCord] = Field(default_factory=list)
    network_externally_managed: bool = False


class Switch(Strict):
    name: Name
    model: str | None = None
    role: Literal["leaf", "spine", "management", "storage", "compute"] = "leaf"
    position_u: PositiveInt | None = None
    height_u: PositiveInt = 1
    max_power_kw: NonNegativeFloat
    weight_kg: NonNegativeFloat
    port_mtu: int | None = Field(default=None, ge=68, le=65535)
    addresses: list[AddressAssignment] = Field(default_factory=list)
    power_cords: list[PowerCord] = Field(default_factory=list)


class Device(Strict):
    name: Name
    kind: Literal["patch-panel", "blank", "cable-manager", "storage", "kvm", "firewall", "other"]
    position_u: PositiveInt | None = None
    height_u: PositiveInt = 1
    max_power_kw: NonNegativeFloat = 0
    weight_kg: NonNegativeFloat = 0
    power_cords: list[PowerCord] = Field(default_factory=list)


class Rack(Strict):
    name: Name
    previous_names: list[Name] = Field(
        default_factory=list, description="Former names: Pulumi aliases them so a rename is not a replacement."
    )
    height_u: int = Field(default=42, ge=1, le=60)
    reserved_u: int = Field(default=0, ge=0, description="Units the colo or cabling keeps free.")
    static_weight_rating_kg: PositiveFloat
    tare_weight_kg: NonNegativeFloat = 0
    footprint: Footprint = Field(default_factory=Footprint)
    floor_rating_kpa: PositiveFloat | None = None
    cooling: Cooling
    contracted_kw: PositiveFloat | None = None
    power: RackPower
    pdus: list[Pdu] = Field(default_factory=list)
    servers: list[Server] = Field(default_factory=list)
    switches: list[Switch] = Field(default_factory=list)
    devices: list[Device] = Field(default_factory=list)

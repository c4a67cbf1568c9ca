"""Power: feeds made of circuits, and rack PDUs with outlet banks on phases."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .base import Name, NonNegativeKilograms, Strict

Phase = Literal["L1", "L2", "L3", "L1-L2", "L2-L3", "L3-L1"]
FeedId = Literal["a", "b"]


class Circuit(Strict):
    voltage_v: float = Field(
        gt=0,
        le=1000,
        description="Low voltage (IEC 60364: ≤ 1000 V AC). Line-to-line voltage for 3-phase, line voltage for 1-phase.",
    )
    amps: float = Field(gt=0, le=1000, description="Breaker rating.")
    phases: Literal[1, 3]
    count: int = Field(default=1, ge=1, le=64, description="How many identical circuits of this kind.")

    @property
    def label(self) -> str:
        n = f"{self.count}× " if self.count > 1 else ""
        ph = "3-phase" if self.phases == 3 else "1-phase"
        return f"{n}{self.voltage_v:g} V {ph} {self.amps:g} A"


class Feed(Strict):
    circuits: list[Circuit] = Field(min_length=1)


class RackPower(Strict):
    a: Feed
    b: Feed | None = None

    def feed(self, which: FeedId) -> Feed | None:
        return self.a if which == "a" else self.b


class PduBank(Strict):
    name: Name
    phase: Phase = Field(description="L1/L2/L3 on wye (line-to-neutral) PDUs, L1-L2/L2-L3/L3-L1 on delta.")
    breaker_amps: float | None = Field(default=None, gt=0, le=1000)


class Pdu(Strict):
    name: Name
    feed: FeedId
    circuit: int = Field(default=0, ge=0, le=63, description="Index of the circuit of that feed it plugs into.")
    wiring: Literal["delta", "wye", "single"] | None = Field(
        default=None, description="Derived from the circuit when omitted: 3-phase below 300 V is delta."
    )
    position_u: int | None = Field(default=None, ge=1, le=60, description="Omit for a zero-U vertical PDU.")
    height_u: int = Field(default=0, ge=0, le=60)
    weight_kg: NonNegativeKilograms = 0
    banks: list[PduBank] = Field(min_length=1)


class PowerCord(Strict):
    """One PSU's cord: which PDU bank it plugs into."""

    pdu: Name
    bank: Name

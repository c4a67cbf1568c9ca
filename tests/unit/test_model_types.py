"""Every string the site model accepts has a pattern, every number is finite: walked from pydantic's core schema,
so a new field with a bare `str` or an unbounded float fails here."""

from __future__ import annotations

import math
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from gpuctl.model import Site
from gpuctl.model.base import Strict


def _walk(schema: Any, path: str, out: list[tuple[str, dict[str, Any]]], seen: set[str]) -> None:
    if isinstance(schema, dict):
        ref = schema.get("schema_ref") or schema.get("ref")
        if schema.get("type") == "definitions":
            for d in schema.get("definitions", []):
                _walk(d, path, out, seen)
        if schema.get("type") == "model" and ref:
            if ref in seen:
                return
            seen.add(ref)
        if schema.get("type") in ("str", "float", "int"):
            out.append((path, schema))
        for key, value in schema.items():
            if key in ("metadata", "serialization", "default"):
                continue
            _walk(value, f"{path}.{key}" if isinstance(key, str) else path, out, seen)
    elif isinstance(schema, list):
        for item in schema:
            _walk(item, path, out, seen)


def scalars() -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    _walk(Site.__pydantic_core_schema__, "Site", out, set())
    return out


def test_walk_reaches_the_model() -> None:
    kinds = [s["type"] for _, s in scalars()]
    assert kinds.count("str") > 40 and kinds.count("float") > 20 and kinds.count("int") > 20


def test_every_string_has_a_pattern() -> None:
    # IP addresses and networks are parsed by the ipaddress module (pydantic's lax json_schema path): allowed.
    bare = [p for p, s in scalars() if s["type"] == "str" and "pattern" not in s and "json_schema" not in p]
    assert bare == [], f"strings without a pattern: {bare}"


def test_every_number_is_bounded_and_finite() -> None:
    floats = [(p, s) for p, s in scalars() if s["type"] == "float"]
    assert floats  # finiteness: every model sets allow_inf_nan=False (test_every_model_is_strict)
    unbounded = [p for p, s in scalars() if s["type"] in ("float", "int") and "le" not in s and "lt" not in s]
    assert unbounded == [], f"numbers without an upper bound: {unbounded}"


def test_every_model_is_strict() -> None:
    def models(cls: type[BaseModel]) -> set[type[BaseModel]]:
        found = {cls}
        for sub in cls.__subclasses__():
            found |= models(sub)
        return found

    for model in models(Strict):
        assert model.model_config.get("allow_inf_nan") is False, model
        assert model.model_config.get("extra") == "forbid", model


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan, float("1e999")])
def test_infinite_power_is_rejected(value: float) -> None:
    from gpuctl.model.rack import Rack

    with pytest.raises(ValidationError, match="finite"):
        Rack.model_validate(
            {
                "name": "r",
                "static_weight_rating_kg": 1000,
                "cooling": {"type": "air_open"},
                "contracted_kw": value,
                "power": {"a": {"circuits": [{"voltage_v": 230, "amps": 32, "phases": 1}]}},
            }
        )

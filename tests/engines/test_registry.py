"""The engine registry: the built-in engines, lookups, and registering one for a while."""

from __future__ import annotations

import pytest

from gpuctl import engines
from gpuctl.engines import SIGNALS, Metric
from gpuctl.errors import UsageError

from . import toy


def test_the_built_in_engines() -> None:
    assert engines.names() == ("triton", "trtllm", "vllm")
    assert [e.name for e in engines.BUILTIN] == ["vllm", "trtllm", "triton"]
    for engine in engines.BUILTIN:
        assert engines.get(engine.name) is engine
        assert set(engine.metrics(None)) <= set(SIGNALS)
        assert engine.memory_profile(None).block_size > 0


def test_an_unknown_engine_names_the_registered_ones() -> None:
    with pytest.raises(UsageError, match=r"unknown engine 'sglang'; registered: triton, trtllm, vllm"):
        engines.get("sglang")


def test_register_refuses_a_taken_name_and_unregister_a_built_in_one() -> None:
    with pytest.raises(ValueError, match="already registered"):
        engines.register(engines.get("vllm"))
    with pytest.raises(ValueError, match="built-in"):
        engines.unregister("vllm")


def test_registered_unregisters_even_when_the_block_fails() -> None:
    with pytest.raises(RuntimeError), engines.registered(toy.ENGINE):
        assert engines.memory_profile("toy", None).block_size == 64
        raise RuntimeError
    assert "toy" not in engines.names()


def test_metric_selector() -> None:
    assert Metric("m", "gauge", "1").selector == "m"
    assert Metric("m", "gauge", "1", (("a", "x"), ("b", "y"))).selector == 'm{a="x",b="y"}'

"""The registry of serving engines: an explicit list of the built-in ones, plus what `register` adds.

No engine registers itself on import. A site's deployments may name any registered engine; the loader hands the
registered names to the Site validator, which reports an unknown one at its line.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import UsageError
from ..model.serving import MemoryProfile
from . import triton, trtllm, vllm
from .base import Engine

BUILTIN: tuple[Engine, ...] = (vllm.ENGINE, trtllm.ENGINE, triton.ENGINE)
_ENGINES: dict[str, Engine] = {engine.name: engine for engine in BUILTIN}


def names() -> tuple[str, ...]:
    """The registered engine names, sorted."""
    return tuple(sorted(_ENGINES))


def get(name: str) -> Engine:
    """The engine registered under `name`; an unknown name is a UsageError that lists the registered ones."""
    try:
        return _ENGINES[name]
    except KeyError:
        raise UsageError(f"unknown engine {name!r}; registered: {', '.join(names())}") from None


def memory_profile(name: str, version: str | None) -> MemoryProfile:
    """How engine `name` at `version` (None: the engine's default) accounts GPU memory."""
    return get(name).memory_profile(version)


def register(engine: Engine) -> None:
    """Add an engine; a name that is taken is an error (unregister the other first)."""
    if engine.name in _ENGINES:
        raise ValueError(f"an engine named {engine.name!r} is already registered")
    _ENGINES[engine.name] = engine


def unregister(name: str) -> None:
    """Remove an engine `register` added; the built-in ones stay."""
    if any(engine.name == name for engine in BUILTIN):
        raise ValueError(f"{name!r} is a built-in engine")
    _ENGINES.pop(name, None)


@contextmanager
def registered(engine: Engine) -> Iterator[Engine]:
    """Register `engine` for the duration of a `with` block (tests, one-off tools)."""
    register(engine)
    try:
        yield engine
    finally:
        unregister(engine.name)

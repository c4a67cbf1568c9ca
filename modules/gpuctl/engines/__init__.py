"""Serving engines: one module per engine owns its image, arguments, ports, health and readiness endpoints,
metric names and memory profile; the rest of gpuctl asks the engine (`get(name)`) instead of branching on a name.

Adding an engine is one module with a class that satisfies `Engine` (see `vllm.py` for a full one) and its
tests; list it in `registry.BUILTIN`, or `register` it at run time.
"""

from .base import SIGNALS, Engine, Metric, parse_version
from .registry import BUILTIN, get, memory_profile, names, register, registered, unregister

__all__ = [
    "BUILTIN",
    "SIGNALS",
    "Engine",
    "Metric",
    "get",
    "memory_profile",
    "names",
    "parse_version",
    "register",
    "registered",
    "unregister",
]

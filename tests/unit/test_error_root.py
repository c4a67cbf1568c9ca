"""Every exception class gpuctl defines derives from the one root, GpuctlError, so the CLI maps each to its exit
code; anything else reaching the top is a bug (exit 70)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import gpuctl
from gpuctl.errors import GpuctlError

# Imported lazily by commands whose libraries are optional; skipped only if they cannot import here.
OPTIONAL = ("gpuctl.infra", "gpuctl.lab.standins")


def test_every_gpuctl_exception_derives_from_the_root() -> None:
    found = []
    for info in pkgutil.walk_packages(gpuctl.__path__, "gpuctl."):
        if info.name.startswith(OPTIONAL[1]):
            continue
        try:
            module = importlib.import_module(info.name)
        except ImportError:
            assert info.name.startswith(OPTIONAL), f"{info.name} does not import"
            continue
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, BaseException) and cls.__module__ == module.__name__:
                found.append(cls)
    assert len(found) >= 8, found
    strays = [f"{c.__module__}.{c.__name__}" for c in found if not issubclass(c, GpuctlError)]
    assert strays == [], f"exceptions outside the GpuctlError root: {strays}"

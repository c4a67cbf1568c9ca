"""Fixtures of the stand-in tool tests: a healthy DGX H100's hardware file, a listening "host engine"."""

from .standins import hostengine, hw

__all__ = ["hostengine", "hw"]

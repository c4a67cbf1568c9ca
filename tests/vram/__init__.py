"""Tests of the memory model. `predict` here resolves the engine's memory profile from the settings, as the CLI and
the rules do."""

from __future__ import annotations

from gpuctl import engines
from gpuctl.model.arch import ModelArch
from gpuctl.model.hardware import GpuSpec
from gpuctl.vram import EngineSettings, Prediction
from gpuctl.vram import predict as predict_with


def predict(arch: ModelArch, gpu: GpuSpec, s: EngineSettings) -> Prediction:
    return predict_with(arch, gpu, s, engines.memory_profile(s.engine, s.engine_version))

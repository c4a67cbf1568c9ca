"""The memory model of serving engines: what an engine will allocate per tensor-parallel rank, given its memory
profile (`gpuctl.engines.memory_profile(name, version)`)."""

from .engine import EngineSettings, Prediction, deployment_prediction, predict
from .hf import arch_from_hf_config, arch_from_hf_mapping

__all__ = [
    "EngineSettings",
    "Prediction",
    "arch_from_hf_config",
    "arch_from_hf_mapping",
    "deployment_prediction",
    "predict",
]

"""The memory model of serving engines: what vLLM (and TensorRT-LLM) will allocate per tensor-parallel rank."""

from .engine import EngineSettings, Prediction, predict
from .hf import arch_from_hf_config

__all__ = ["EngineSettings", "Prediction", "arch_from_hf_config", "predict"]

"""Triton's real model configuration schema: `inference.ModelConfig` from triton-inference-server/common r25.01
protobuf/model_config.proto (the fixture, with its source and SHA-256 beside it), compiled here with grpcio-tools'
protoc, so a generated config.pbtxt is parsed by protobuf's own text format parser, as Triton parses it
(src/model_config_utils.cc reads config.pbtxt with google::protobuf::TextFormat::ParseFromString)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"
PROTO = FIXTURES / "triton-common-r25.01-model_config.proto"
SOURCE = FIXTURES / "triton-common-r25.01-model_config.json"


def compile_model_config(out: Path) -> ModuleType:
    """model_config_pb2, generated from the fixture into `out` (the fixture's SHA-256 is checked first)."""
    from grpc_tools import protoc

    want = json.loads(SOURCE.read_text())["sha256"]
    got = hashlib.sha256(PROTO.read_bytes()).hexdigest()
    if got != want:
        raise AssertionError(f"{PROTO.name}: SHA-256 {got}, the fixture's source says {want}")
    out.mkdir(parents=True, exist_ok=True)
    (out / "model_config.proto").write_bytes(PROTO.read_bytes())
    rc = protoc.main(["protoc", f"-I{out}", f"--python_out={out}", str(out / "model_config.proto")])
    if rc != 0:
        raise RuntimeError(f"protoc failed ({rc}) on {PROTO.name}")
    spec = importlib.util.spec_from_file_location("model_config_pb2", out / "model_config_pb2.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def parse(pb2: ModuleType, text: str) -> Any:
    """A config.pbtxt as Triton reads it: unknown fields, wrong types and bad enum values raise ParseError."""
    from google.protobuf import text_format

    return text_format.Parse(text, pb2.ModelConfig())

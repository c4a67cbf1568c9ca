"""Readers of user files (config.json, vLLM logs, TCO scenarios): every malformed input is a located error."""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

import pytest

from gpuctl.cli.tco_cmd import build, read_scenario
from gpuctl.errors import GpuctlError
from gpuctl.fsutil import InputFileError
from gpuctl.vram import calibrate, hf
from gpuctl.vram.hf import arch_from_hf_config
from tests.vram.test_vram_cli import LLAMA_31_8B_CONFIG as BASE


def config_error(tmp_path: Path, content: Any) -> str:
    cfg = tmp_path / "config.json"
    cfg.write_text(content if isinstance(content, str) else json.dumps(content, indent=2))
    with pytest.raises(GpuctlError) as err:
        arch_from_hf_config(cfg)
    assert err.value.exit_code == 2
    return err.value.render()


@pytest.mark.parametrize(
    ("content", "expect"),
    [
        (BASE | {"num_attention_heads": 0}, "@num_attention_heads: must be ≥ 1, got 0"),
        (BASE | {"quantization_config": "fp8"}, '@quantization_config: expected a mapping, got "fp8"'),
        (BASE | {"text_config": None}, "@text_config: expected a mapping, got null"),
        (BASE | {"hidden_size": [4096]}, "@hidden_size: expected an integer, got a list"),
        (BASE | {"hidden_size": -4096}, "@hidden_size: must be ≥ 1, got -4096"),
        (BASE | {"hidden_size": True}, "@hidden_size: expected an integer, got true"),
        (BASE | {"hidden_size": 4096.0}, "@hidden_size: expected an integer, got 4096.0"),
        (BASE | {"hidden_size": None}, "@hidden_size: expected an integer, got null"),
        (BASE | {"vocab_size": 10**400}, "@vocab_size: must be ≤ 2,147,483,647 (2^31 − 1), got 1000"),
        (BASE | {"num_attention_heads": 8192}, "@num_attention_heads: 8192 heads leave less than one dimension"),
        (BASE | {"tie_word_embeddings": "no"}, '@tie_word_embeddings: expected true or false, got "no"'),
        (BASE | {"_name_or_path": 7}, "@_name_or_path: expected a string, got 7"),
        (BASE | {"quantization_config": {"bits": "4"}}, "@quantization_config.bits: expected an integer"),
        (BASE | {"num_local_experts": 8, "num_experts_per_tok": 9}, "@num_experts_per_tok: 9 experts per token > 8"),
        (BASE | {"kv_lora_rank": 512}, "config.json:1:1: qk_rope_head_dim: missing"),
        ({"text_config": BASE | {"num_attention_heads": "32"}}, "@text_config.num_attention_heads: expected an int"),
        ({"text_config": [1]}, "@text_config: expected a mapping, got a list"),
        ([BASE], "config.json:1: expected a mapping of settings at the top level, got a list"),
        (json.dumps(BASE | {"hidden_size": math.nan}), "config.json:1:148: hidden_size: expected an integer, got NaN"),
        (json.dumps(BASE | {"vocab_size": -math.inf}), "vocab_size: expected an integer, got -Infinity"),
        ('{"hidden_size": 1,}', "config.json:1:19: not JSON: Expecting property name"),
        ('{"hidden_size": ' + "9" * 5000 + "}", "Exceeds the limit (4300 digits)"),
        ("[" * 100_000, "config.json: not a config.json: nested too deeply"),
        ({"hidden_size": 1}, "config.json:1:1: config.json lacks num_hidden_layers"),
    ],
)
def test_config_json_errors_name_the_key_and_line(tmp_path: Path, content: Any, expect: str) -> None:
    """`@key.path: ...` means: at the line where the last key of the path is written (indented JSON)."""
    message = config_error(tmp_path, content)
    assert str(tmp_path / "config.json") in message
    if expect.startswith("@"):
        key = expect[1:].split(":")[0].split(".")[-1]
        text = (tmp_path / "config.json").read_text().splitlines()
        line = next(number for number, source in enumerate(text, 1) if f'"{key}":' in source)
        assert re.search(rf"config\.json:{line}:\d+: {re.escape(expect[1:])}", message), message
    else:
        assert expect in message


def test_config_json_is_read_capped_and_never_from_a_fifo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fifo = tmp_path / "config.json"
    os.mkfifo(fifo)
    with pytest.raises(InputFileError, match="not a regular file"):
        arch_from_hf_config(fifo)
    big = tmp_path / "big" / "config.json"
    big.parent.mkdir()
    big.write_text(json.dumps(BASE | {"pad": "x" * 100}))
    monkeypatch.setattr(hf, "MAX_CONFIG_BYTES", 64)
    with pytest.raises(InputFileError, match="larger than 64 bytes"):
        arch_from_hf_config(big)


def test_config_json_with_a_local_path_as_its_name_still_loads(tmp_path: Path) -> None:
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(BASE | {"_name_or_path": "/home/me/My Models/llama\n3"}))
    arch = arch_from_hf_config(cfg)
    assert arch.id == "home--me--my-models--llama-3"
    assert "\n" not in arch.name


def log_error(tmp_path: Path, data: bytes) -> str:
    log = tmp_path / "vllm.log"
    log.write_bytes(data)
    with pytest.raises(GpuctlError) as err:
        calibrate.read_log(log)
    assert err.value.exit_code == 2
    return err.value.render()


@pytest.mark.parametrize(
    ("data", "expect"),
    [
        (b"x\nINFO Model loading took 1.2.3 GiB\n", ":2:25: '1.2.3' is not a number"),
        (b"GPU KV cache size: ,,, tokens\n", ":1:20: ',,,' is not a number"),
        (b"Available KV cache memory: " + b"9" * 400 + b" GiB\n", ":1:28: '9999"),
        (b"Available KV cache memory: 5 GiB\n\xff\n", ":2:1: byte 0xff at offset 33 is not UTF-8"),
        (b"nothing here\n", "no 'Available KV cache memory' or 'GPU KV cache size' line found"),
    ],
)
def test_calibration_log_errors_are_located(tmp_path: Path, data: bytes, expect: str) -> None:
    message = log_error(tmp_path, data)
    assert str(tmp_path / "vllm.log") in message
    assert expect in message


def test_calibration_log_is_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(calibrate, "MAX_LOG_BYTES", 16)
    assert "larger than 16 bytes" in log_error(tmp_path, b"Available KV cache memory: 5 GiB\n")


def scenario_error(tmp_path: Path, name: str, text: str) -> str:
    f = tmp_path / name
    f.write_text(text)
    with pytest.raises(GpuctlError) as err:
        data, source = read_scenario(f)
        build(data, str(f), source)
    assert err.value.exit_code == 2
    return err.value.render()


@pytest.mark.parametrize(
    ("name", "text", "expect"),
    [
        (
            "tco.toml",
            "gpus = 8\ncloud_rate_per_gpu_hour = inf\n",
            ":2:1: cloud_rate_per_gpu_hour: Input should be a finite",
        ),
        ("tco.toml", "gpus = 8\n[signals]\ninfra_staff = -1\n", ":3:1: signals.infra_staff: Input should be greater"),
        ("tco.toml", "x = 1\nx = 2\n", ":2:6: malformed TOML: Cannot overwrite a value"),
        ("tco.toml", "gpus = [\n", ":2: malformed TOML: Invalid value"),
        ("tco.toml", "a = " + "[" * 5000 + "\n", "nested too deeply"),
        # keys only TOML's own grammar reads: a tab in a quoted key (found by the long fuzz; shown escaped), an escape,
        # an '=' inside a literal key
        ("tco.toml", 'gpus = 8\n"\tutilization" = 0.5\n', ":2:1: \\tutilization: Extra inputs are not permitted"),
        ("tco.toml", 'gpus = 8\n"no_\\tsuch" = 1\n', ":2:1: no_\\tsuch: Extra inputs are not permitted"),
        ("tco.toml", "gpus = 8\n'a=b' = {c = 1}\n", ":2:1: a=b: Extra inputs are not permitted"),
        ("tco.toml", "gpus = 8\n[signals]\n'infra_staff' = -1\n", ":3:1: signals.infra_staff: Input should be greater"),
        ("tco.yaml", "gpus: 8\nutilization: .nan\n", ":2:14: utilization: Input should be a finite number"),
        ("tco.yaml", "gpus: 10000000\n", ":1:7: gpus: Input should be less than or equal to 1000000"),
        ("tco.yaml", "gpus: [\n", ":1:7: malformed YAML: unclosed bracket"),
        ("tco.yaml", "- 1\n", ":1: a scenario is a mapping of inputs"),
        ("tco.yaml", "gpus: 8\nmonths: 99999999999999999999999\n", ":2:9: months: Input should be less than or equal"),
    ],
)
def test_scenario_errors_name_the_line(tmp_path: Path, name: str, text: str, expect: str) -> None:
    message = scenario_error(tmp_path, name, text)
    assert str(tmp_path / name) in message
    assert expect in message


def test_scenario_is_capped(tmp_path: Path) -> None:
    assert "larger than 1 MiB" in scenario_error(tmp_path, "tco.yaml", "# " + "x" * 2**20 + "\n")


def test_command_line_values_are_reported_as_options_not_as_the_file(tmp_path: Path) -> None:
    f = tmp_path / "tco.yaml"
    f.write_text("gpus: 8\nutilization: 2\n")
    data, text = read_scenario(f)
    with pytest.raises(GpuctlError) as err:
        build(data, str(f), text, {"cloud_rate_per_gpu_hour": float("inf")})
    lines = err.value.render().splitlines()
    assert "<command line>: --cloud-rate: Input should be a finite number (got inf)" in lines
    assert any(line.startswith(f"{f}:2:14: utilization:") for line in lines)

"""The CLI fuzzed as a new user and as an attacker would: every bad input is exit 2 with a message naming the
file or option, never a Python exception (exit 70), a hang, a non-JSON number, or a destroyed file."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import pytest

from gpuctl.cli.app import main
from gpuctl.cli.tco_cmd import OPTIONS
from tests.conftest import EXAMPLE
from tests.vram.test_vram_cli import LLAMA_31_8B_CONFIG as LLAMA


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """The command in this process (fast); main() always exits."""
    with pytest.raises(SystemExit) as done:
        main(list(args))
    out = capsys.readouterr()
    code = done.value.code
    return code if isinstance(code, int) else 0, out.out, out.err


def usage_error(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code, _, err = run(capsys, *args)
    assert code == 2, err
    assert "Traceback" not in err
    assert "internal error" not in err
    return err


def strict_json(text: str) -> object:
    def refuse(name: str) -> object:
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


# ----- config.json given to `gpuctl vram -m` -----


@pytest.mark.parametrize(
    ("change", "expect"),
    [
        ({"num_attention_heads": 0}, "num_attention_heads: must be ≥ 1, got 0"),
        ({"quantization_config": "fp8"}, 'quantization_config: expected a mapping, got "fp8"'),
        ({"text_config": None}, "text_config: expected a mapping, got null"),
        ({"num_hidden_layers": [32]}, "num_hidden_layers: expected an integer, got a list"),
        ({"vocab_size": 10**400}, "vocab_size: must be ≤ 2,147,483,647"),
        ({"num_key_value_heads": False}, "num_key_value_heads: expected an integer, got false"),
    ],
)
def test_vram_config_json_of_the_wrong_shape(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, change: dict[str, object], expect: str
) -> None:
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(LLAMA | change, indent=2))
    err = usage_error(capsys, "vram", "-m", str(cfg), "-g", "l4")
    assert f"{cfg}:" in err
    assert expect in err


def test_vram_config_json_nan_literal(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps(LLAMA).replace("4096", "NaN"))
    assert "hidden_size: expected an integer, got NaN" in usage_error(capsys, "vram", "-m", str(cfg), "-g", "l4")


# ----- numeric options: bounded and finite -----


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (["--pp", "100000000"], "'--pp': Input should be less than or equal to 1024"),
        (["--tp", "2000"], "'--tp': Input should be less than or equal to 1024"),
        (["--pp", "100"], "--pp 100: pipeline parallel size must be ≤ the model's 32 layers"),
        (["--block-size", "9" * 400], "'--block-size': Input should be less than or equal to 1024"),
        (["--max-model-len", "99999999999"], "'--max-model-len': Input should be less than or equal to 16777216"),
        (["--max-num-seqs", "9" * 30], "'--max-num-seqs': Input should be less than or equal to 1048576"),
        (["--max-num-batched-tokens", "9" * 30], "'--max-num-batched-tokens': Input should be less than or equal"),
        (["--concurrency", "9" * 30], "'--concurrency': Input should be less than or equal to 1048576"),
        (["--prompt-tokens", "9" * 30], "'--prompt-tokens': Input should be less than or equal to 16777216"),
        (["--output-tokens", "9" * 30], "'--output-tokens': Input should be less than or equal to 16777216"),
        (["--gpu-memory-utilization", "nan"], "gpu memory utilization must be in (0, 1], got nan"),
        (["--gpu-memory-utilization", "inf"], "gpu memory utilization must be in (0, 1], got inf"),
    ],
)
def test_vram_numbers_are_bounded(capsys: pytest.CaptureFixture[str], args: list[str], expect: str) -> None:
    assert expect in usage_error(capsys, "vram", "-m", "llama-3.1-8b", "-g", "l4", *args)


def test_vram_model_name_too_long_for_a_path(capsys: pytest.CaptureFixture[str]) -> None:
    assert "unknown model 'aaaa" in usage_error(capsys, "vram", "-m", "a" * 5000, "-g", "l4")


@pytest.mark.parametrize("option", [o for field, o in OPTIONS.items() if field not in ("months", "gpus")])
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e999"])
def test_tco_float_options_reject_nan_and_inf(capsys: pytest.CaptureFixture[str], option: str, value: str) -> None:
    err = usage_error(capsys, "tco", option, value, "-f", "json")
    assert f"<command line>: {option}: Input should be" in err


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (["--gpus", "10000000"], "'--gpus': Input should be less than or equal to 1000000"),
        (["--months", "9" * 400], "'--months': Input should be less than or equal to 240"),
        (["--cloud-rate", "5000"], "--cloud-rate: Input should be less than or equal to 1000"),
        (["--gpu-price", "1e308"], "--gpu-price: Input should be less than or equal to 10000000"),
    ],
)
def test_tco_numbers_are_bounded(capsys: pytest.CaptureFixture[str], args: list[str], expect: str) -> None:
    assert expect in usage_error(capsys, "tco", *args)


def test_tco_json_is_strict_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "tco", "--cloud-rate", "0", "--utilization", "1", "-f", "json")
    assert code == 0, err
    data = strict_json(out)
    assert isinstance(data, dict) and data["bare_metal_pct_of_cloud"] is None


def test_vram_json_is_strict_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "vram", "-m", "llama-3.1-8b", "-g", "l4", "-f", "json")
    assert code == 0, err
    strict_json(out)


# ----- -o and --chart: written atomically, never over what is not a regular file -----


def validate_to(capsys: pytest.CaptureFixture[str], target: Path | str, *extra: str) -> tuple[int, str]:
    code, _, err = run(capsys, "validate", str(EXAMPLE), "-f", "json", "-o", str(target), *extra)
    return code, err


def test_output_onto_a_directory_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, err = validate_to(capsys, tmp_path)
    assert code == 2
    assert f"{tmp_path}: is a directory" in err


def test_output_onto_a_device_or_fifo_is_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    if os.geteuid() == 0:  # as root, a rename would really turn /dev/null into a regular file
        target = Path("/dev/null")
        check = stat.S_ISCHR
    else:
        target = tmp_path / "fifo"
        os.mkfifo(target)
        check = stat.S_ISFIFO
    code, err = validate_to(capsys, target)
    assert code == 2
    assert f"{target}: is a " in err and "refusing to replace it" in err
    assert check(target.stat().st_mode)
    assert "Traceback" not in err


def test_output_writes_through_a_symlink_and_keeps_the_mode(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    real = tmp_path / "report.json"
    real.write_text("old")
    real.chmod(0o600)
    link = tmp_path / "latest.json"
    link.symlink_to(real.name)
    code, err = validate_to(capsys, link)
    assert code == 0, err
    assert link.is_symlink()
    assert strict_json(real.read_text())
    assert stat.S_IMODE(real.stat().st_mode) == 0o600
    assert not list(tmp_path.glob(".*.tmp"))


def test_output_missing_directory_needs_mkdir(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    target = tmp_path / "reports" / "fra1.json"
    code, err = validate_to(capsys, target)
    assert code == 2
    assert f"{target}: no such directory {target.parent}; create it or pass --mkdir" in err
    code, err = validate_to(capsys, target, "--mkdir")
    assert code == 0, err
    assert strict_json(target.read_text())


@pytest.mark.parametrize(
    ("name", "reason"),
    [("n" * 300, "File name too long"), ("site.yaml/report.json", "Not a directory")],
    ids=["ENAMETOOLONG", "ENOTDIR"],
)
def test_output_os_refusals_are_usage_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str, reason: str
) -> None:
    (tmp_path / "site.yaml").write_text("a regular file")
    code, err = validate_to(capsys, tmp_path / name)
    assert code == 2
    assert f"{tmp_path / name}: cannot write: {reason}" in err
    assert "internal error" not in err


def test_chart_under_a_regular_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    err = usage_error(capsys, "tco", "--chart", str(tmp_path / "file" / "tco.svg"))
    assert f"{tmp_path / 'file' / 'tco.svg'}: cannot write: Not a directory" in err


def test_chart_missing_directory_needs_mkdir_and_leaves_no_temporary(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chart = tmp_path / "charts" / "tco.svg"
    assert "create it or pass --mkdir" in usage_error(capsys, "tco", "--chart", str(chart))
    code, _, err = run(capsys, "tco", "--chart", str(chart), "--mkdir")
    assert code == 0, err
    assert chart.read_text().lstrip().startswith("<?xml")
    before = chart.read_bytes()

    from gpuctl import fsutil

    def disk_full(fd: int, payload: bytes) -> None:
        os.write(fd, payload[:100])
        raise OSError(28, os.strerror(28))

    monkeypatch.setattr(fsutil, "_write_all", disk_full)
    err = usage_error(capsys, "tco", "--chart", str(chart))
    assert f"{chart}: cannot write: No space left on device" in err
    assert chart.read_bytes() == before
    assert sorted(p.name for p in chart.parent.iterdir()) == ["tco.svg"]


def test_site_deployment_naming_a_bad_config_json(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The site loader reads a deployment's config.json with the same checks (`arch_from_hf_config`)."""
    text = EXAMPLE.read_text()
    assert "    model: llama-3.1-8b\n" in text
    (tmp_path / "site.yaml").write_text(text.replace("    model: llama-3.1-8b\n", "    model: cfg/config.json\n", 1))
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "config.json").write_text(json.dumps(LLAMA | {"text_config": None}, indent=2))
    err = usage_error(capsys, "validate", str(tmp_path / "site.yaml"))
    assert re.search(
        rf"{re.escape(str(tmp_path / 'cfg' / 'config.json'))}:\d+:\d+: text_config: expected a mapping", err
    )

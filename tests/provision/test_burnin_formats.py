"""The burn-in parsers on the tools' real formats (held-out fixtures from NVIDIA's sources) and on the lab's
stand-ins, run here as plain processes on a hardware file; the stand-ins' dcgmi output is validated against
DCGM's own published schema."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import jsonschema
import pytest

from gpuctl.provision.burnin_results import (
    BurninParseError,
    parse_diag,
    parse_dmon,
    parse_nccl,
    parse_smi_csv,
)

from .standins import FIXTURES, edit, run


def test_dcgm3_per_gpu_document_names_the_failed_gpus() -> None:
    result = parse_diag((FIXTURES / "dcgmi-diag-3x-per-gpu.json").read_text())
    assert not result.passed
    assert len(result.failures) == 1
    assert result.failures[0].startswith("sm_stress failed on GPU 0: Max stress level of 2128.7")
    assert "GPU 2" in result.failures[0] and "GPU 3" in result.failures[0]


def test_healthy_diag_follows_dcgm4_schema_and_passes(hw: Path, hostengine: str) -> None:
    out = run("dcgmi", hw, "diag", "-r", "3", "-j", engine=hostengine)
    doc = json.loads(out.stdout)
    jsonschema.Draft7Validator(json.loads((FIXTURES / "dcgm_diag_schema-4.6.0.json").read_text())).validate(doc)
    result = parse_diag(out.stdout)
    assert (out.returncode, result.passed, result.tests) == (0, True, 7)  # r3: software, pcie, memory + 4


@pytest.mark.parametrize(("level", "tests"), [("1", 1), ("2", 3), ("4", 9)])
def test_diag_level_decides_the_tests(hw: Path, hostengine: str, level: str, tests: int) -> None:
    assert parse_diag(run("dcgmi", hw, "diag", "-r", level, "-j", engine=hostengine).stdout).tests == tests


def test_injected_memory_failure_fails_the_diag_on_that_gpu(hw: Path, hostengine: str) -> None:
    edit(hw, gpu={5: {"diag_fail": {"test": "memory", "warning": "DBE on GPU 5", "error_id": 13}}})
    out = run("dcgmi", hw, "diag", "-r", "2", "-j", engine=hostengine)
    result = parse_diag(out.stdout)
    assert out.returncode != 0
    assert result.failures == ["memory failed on GPU 5: DBE on GPU 5"]


def test_a_level_that_skips_the_faulty_test_passes(hw: Path, hostengine: str) -> None:
    edit(hw, gpu={1: {"diag_fail": {"test": "targeted_stress"}}})
    assert parse_diag(run("dcgmi", hw, "diag", "-r", "2", "-j", engine=hostengine).stdout).passed
    assert not parse_diag(run("dcgmi", hw, "diag", "-r", "3", "-j", engine=hostengine).stdout).passed


def test_diag_without_host_engine_fails_like_dcgmi(hw: Path) -> None:
    out = run("dcgmi", hw, "diag", "-r", "1", "-j")
    assert out.returncode == 235
    with pytest.raises(BurninParseError, match="not JSON"):
        parse_diag(out.stdout)


def test_runtime_error_is_a_failure(hw: Path, hostengine: str) -> None:
    edit(hw, diag_runtime_error="NVVS could not be started")
    result = parse_diag(run("dcgmi", hw, "diag", "-r", "2", "-j", engine=hostengine).stdout)
    assert result.failures == ["runtime error: NVVS could not be started"]


def test_dmon_reports_the_last_xid_per_gpu(hw: Path, hostengine: str) -> None:
    edit(hw, gpu={3: {"xid": 79}})
    out = run("dcgmi", hw, "dmon", "-e", "230", "-c", "1", engine=hostengine)
    assert out.stdout.splitlines()[0].split() == ["#Entity", "XIDER"]
    xids = parse_dmon(out.stdout)
    assert xids == {i: ("79" if i == 3 else "0") for i in range(8)}


def nccl(hw: Path, tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    out_file = tmp_path / "nccl.json"
    out = run("all_reduce_perf", hw, "-b", "1G", "-e", "8G", "-f", "2", "-J", str(out_file), *args)
    return out, out_file


def test_all_reduce_perf_json_has_nccl_tests_shape(hw: Path, tmp_path: Path) -> None:
    out, path = nccl(hw, tmp_path, "-g", "8")
    doc = json.loads(path.read_text())
    assert out.returncode == 0
    assert doc["version"] == 3 and doc["config"]["ngpus"] == 8 and len(doc["config"]["devices"]) == 8
    assert [r["size"] for r in doc["results"]] == [2**30 * k for k in (1, 2, 4, 8)]
    assert set(doc["results"][0]) == {
        "size",
        "count",
        "type",
        "redop",
        "root",
        "out_of_place",
        "in_place",
        "actual_iterations",
        "experiment_name",
    }
    assert doc["out_of_bounds"] == {"count": 0, "okay": "true"}
    result = parse_nccl(path.read_text())
    assert result.ran_clean and result.ngpus == 8 and result.largest_bytes == 8 * 2**30
    # 496.8 GB/s peak on the lab curve: 8 GiB / (8 GiB + 64 MiB) of it at the largest size
    assert result.peak_busbw_gbs == pytest.approx(496.8 * 128 / 129, rel=1e-6)


def test_all_reduce_perf_refuses_more_gpus_than_the_host_has(hw: Path, tmp_path: Path) -> None:
    edit(hw, gpus=json.loads(hw.read_text())["gpus"][:7])
    out, path = nccl(hw, tmp_path, "-g", "8")
    assert out.returncode != 0 and "8 requested but only 7 were found" in out.stderr
    assert not path.exists()


def test_wrong_elements_and_nccl_errors_are_problems(hw: Path, tmp_path: Path) -> None:
    edit(hw, nccl_nwrong=12, nccl_error="unhandled cuda error")
    out, path = nccl(hw, tmp_path, "-g", "8")
    result = parse_nccl(path.read_text())
    assert out.returncode == 1
    assert result.problems == [
        "24 wrong elements (data corruption)",
        "1 out-of-bounds values",
        "NCCL error: unhandled cuda error",
    ]


def test_nan_and_string_booleans_parse() -> None:
    doc = {
        "results": [{"size": 8, "out_of_place": {"bus_bw": "nan", "nwrong": "nan"}, "in_place": None}],
        "out_of_bounds": {"count": 0, "okay": "true"},
        "errors": [],
    }
    result = parse_nccl(json.dumps(doc))
    assert (result.peak_busbw_gbs, result.problems) == (0.0, [])


def test_nvidia_smi_reports_the_hosts_hardware(hw: Path) -> None:
    fields = ["count", "name", "memory.total", "persistence_mode", "ecc.errors.uncorrected.volatile.total"]
    edit(hw, gpus=json.loads(hw.read_text())["gpus"][:7])
    edit(hw, gpu={2: {"ecc_uncorrected": 3, "persistence_mode": "Disabled"}})
    out = run("nvidia-smi", hw, f"--query-gpu={','.join(fields)}", "--format=csv,noheader,nounits")
    rows = parse_smi_csv(out.stdout, fields)
    assert len(rows) == 7 and {r["count"] for r in rows} == {"7"}
    assert rows[2]["persistence_mode"] == "Disabled" and rows[2]["ecc.errors.uncorrected.volatile.total"] == "3"
    assert rows[0] == {
        "count": "7",
        "name": "NVIDIA H100 80GB HBM3",
        "memory.total": "81559",
        "persistence_mode": "Enabled",
        "ecc.errors.uncorrected.volatile.total": "0",
    }


def test_garbage_is_a_clear_error() -> None:
    with pytest.raises(BurninParseError, match="neither 'DCGM Diagnostic'"):
        parse_diag('{"other": 1}')
    with pytest.raises(BurninParseError, match="no 'results'"):
        parse_nccl("{}")
    with pytest.raises(BurninParseError, match="2 columns for 3 fields"):
        parse_smi_csv("a, b\n", ["x", "y", "z"])

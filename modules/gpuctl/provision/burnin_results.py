"""Parsers for what the burn-in and verify read from a host: `dcgmi diag -j`, nccl-tests' `-J` file,
`dcgmi dmon` and `nvidia-smi --query-gpu ... --format=csv,noheader,nounits`. Pure functions of the text; a text
that is not the tool's format is a `BurninParseError` naming what is wrong, never a traceback.

Formats, from the tools' own sources:
- `dcgmi diag -j`, DCGM 4.x: top-level "DCGM Diagnostic" -> "test_categories"[] -> "tests"[] with "results"[]
  ({"entity_group", "entity_id", "status", "warnings"[]}) and "test_summary" {"status"}, optional
  "runtime_error" (NVIDIA/DCGM v4.6.0 testing/python3/dcgm_diag_schema.json, dcgmi/Diag.cpp,
  nvvs/include/NvvsJsonStrings.h); status strings "Pass", "Skip", "Warn", "Fail" (Diag::HelperDisplayDiagResult).
- `dcgmi diag -j`, DCGM 3.x: top-level "DCGM GPU Diagnostic", results {"gpu_ids", "status": "PASS"|...}
  (NVIDIA/DCGM v4.6.0 testing/TestDiagManagerStrings.h, the per-GPU form).
- nccl-tests `-J FILE` (JSON_FILE_VERSION 3, nccl-tests v2.19.6 src/util.cu): "config" {"ngpus", ...},
  "results"[] {"size", "out_of_place"|"in_place": {"time", "alg_bw", "bus_bw", "nwrong"}}, "out_of_bounds"
  {"count", "okay"}, "average_bus_bandwidth" {"bandwidth", "okay"}, "errors"[]; doubles may be the string
  "nan" and booleans are the strings "true"/"false" (jsonDouble, jsonBool).
- `dcgmi dmon -e 230 -c 1`: a "#Entity" header line, an "ID" unit line, then "GPU <n>  <value>" rows
  (NVIDIA/DCGM v4.6.0 dcgmi/DeviceMonitor.cpp; field 230 is DCGM_FI_DEV_XID_ERRORS, short name XIDER, the
  last XID the GPU raised)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from ..errors import GpuctlError


class BurninParseError(GpuctlError):
    """A tool's output is not in the format gpuctl reads: the host's tool is broken or of an unknown version."""

    exit_code = 1


@dataclass(frozen=True)
class DiagResult:
    passed: bool
    failures: list[str]
    warnings: list[str] = field(default_factory=list)
    tests: int = 0


def _load(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        head = text.strip().splitlines()[0][:120] if text.strip() else "(empty)"
        raise BurninParseError(f"{what} is not JSON ({exc.msg} at line {exc.lineno}); it starts: {head}") from None


def _entity(result: dict[str, Any]) -> str:
    if "gpu_ids" in result:
        return f"GPU {result['gpu_ids']}"
    if "entity_id" in result:
        return f"{result.get('entity_group', 'GPU')} {result['entity_id']}"
    return "all"


def parse_diag(text: str) -> DiagResult:
    """A `dcgmi diag -j` document (DCGM 3.x or 4.x): failed tests with their entity and first warning."""
    data = _load(text, "dcgmi diag output")
    if not isinstance(data, dict):
        raise BurninParseError("dcgmi diag output is not a JSON object")
    body = data.get("DCGM Diagnostic", data.get("DCGM GPU Diagnostic"))
    if not isinstance(body, dict):
        raise BurninParseError(
            "dcgmi diag output has neither 'DCGM Diagnostic' (DCGM 4) nor 'DCGM GPU Diagnostic' (DCGM 3)"
        )
    failures: list[str] = []
    warnings: list[str] = []
    if body.get("runtime_error"):
        failures.append(f"runtime error: {body['runtime_error']}")
    tests = 0
    for category in body.get("test_categories") or []:
        for test in category.get("tests") or []:
            tests += 1
            name = str(test.get("name", "?"))
            summary = str((test.get("test_summary") or {}).get("status", "")).lower()
            failed_entities = []
            for result in test.get("results") or []:
                status = str(result.get("status", "")).lower()
                notes = [str(w.get("warning", "")) for w in result.get("warnings") or [] if isinstance(w, dict)]
                if status == "fail":
                    failed_entities.append(_entity(result) + (f": {notes[0]}" if notes else ""))
                elif status == "warn":
                    warnings.append(f"{name} {_entity(result)}" + (f": {notes[0]}" if notes else ""))
            if failed_entities:
                failures.append(f"{name} failed on " + "; ".join(failed_entities))
            elif summary == "fail":
                failures.append(f"{name} failed")
    if tests == 0 and not failures:
        failures.append("the diagnostic ran no test")
    return DiagResult(passed=not failures, failures=failures, warnings=warnings, tests=tests)


@dataclass(frozen=True)
class NcclResult:
    ngpus: int
    peak_busbw_gbs: float
    largest_bytes: int
    wrong: int
    problems: list[str]

    @property
    def ran_clean(self) -> bool:
        return not self.problems


def _num(value: Any) -> float:
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return math.nan
    return math.nan


def parse_nccl(text: str) -> NcclResult:
    """An nccl-tests `-J` file: the peak bus bandwidth over the sizes run, and any sign the run was not clean
    (wrong elements, out-of-bounds values, NCCL errors, no results)."""
    data = _load(text, "the all_reduce_perf JSON file")
    if not isinstance(data, dict) or "results" not in data:
        raise BurninParseError("the all_reduce_perf JSON file has no 'results' (nccl-tests -J output, version 3)")
    problems: list[str] = []
    peak = 0.0
    largest = 0
    wrong = 0
    for row in data.get("results") or []:
        size = int(_num(row.get("size", 0)) or 0)
        for placement in ("out_of_place", "in_place"):
            body = row.get(placement)
            if not isinstance(body, dict):
                continue
            bw = _num(body.get("bus_bw"))
            if not math.isnan(bw):
                peak = max(peak, bw)
            n = _num(body.get("nwrong"))
            if not math.isnan(n):
                wrong += int(n)
        largest = max(largest, size)
    if not data.get("results"):
        problems.append("all_reduce_perf reported no results")
    if wrong:
        problems.append(f"{wrong} wrong elements (data corruption)")
    oob = data.get("out_of_bounds") or {}
    if str(oob.get("okay", "true")).lower() != "true":
        problems.append(f"{oob.get('count', '?')} out-of-bounds values")
    errors = [str(e) for e in data.get("errors") or [] if str(e).strip()]
    if errors:
        problems.append("NCCL error: " + "; ".join(errors))
    ngpus = int(_num((data.get("config") or {}).get("ngpus", 0)) or 0)
    return NcclResult(ngpus=ngpus, peak_busbw_gbs=peak, largest_bytes=largest, wrong=wrong, problems=problems)


def parse_dmon(text: str) -> dict[int, str]:
    """`dcgmi dmon -e <one field> -c 1` rows: GPU index -> value as printed ("N/A" kept as is)."""
    values: dict[int, str] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "GPU" and parts[1].isdigit():
            values[int(parts[1])] = parts[2]
    return values


def parse_smi_csv(text: str, fields: list[str]) -> list[dict[str, str]]:
    """`nvidia-smi --query-gpu=<fields> --format=csv,noheader,nounits` rows as dicts."""
    rows = []
    for line in text.strip().splitlines():
        cells = [c.strip() for c in line.split(",")]
        if len(cells) != len(fields):
            raise BurninParseError(f"nvidia-smi printed {len(cells)} columns for {len(fields)} fields: {line[:120]}")
        rows.append(dict(zip(fields, cells, strict=True)))
    return rows

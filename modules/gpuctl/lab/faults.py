"""A lab host's hardware, and the faults a test injects into it.

Each host has /etc/gpuctl-lab/hardware.json: its GPUs (name, memory, UUID, PCI address, serial, persistence
mode, ECC counters, the last XID, temperature and power, a diagnostic test that fails), whether the driver is
loaded (`driver_loaded: false`: nvidia-smi fails and dcgm-exporter is up but blind) and what its interconnect
reaches in NCCL all-reduce. `gpuctl lab up` writes it from the hardware CATALOG (what a server of that model
has), not from anything the site says about the host; the stand-in nvidia-smi, dcgmi, dcgm-exporter and
all_reduce_perf answer from it. A test changes it over SSH, as an operator would meet a broken host:
`inject(lab, "lab-dgx-1", remove_gpus=1)`."""

from __future__ import annotations

import json
import shlex
import subprocess
from typing import TYPE_CHECKING, Any

from ..model.hardware import GpuSpec

if TYPE_CHECKING:
    from .core import LabHost, LabState

HARDWARE_FILE = "/etc/gpuctl-lab/hardware.json"
# How far above the catalog's burn-in threshold a healthy lab host's interconnect reaches (a lab choice, not a
# measurement): enough margin that the gate passes, low enough that a modest injected drop fails it.
HEALTHY_MARGIN = 1.15
# A healthy idle GPU's readings (lab choices, not measurements): temperature, slowdown temperature (real GPUs report
# their own through DCGM field 158; the alerts compare against whatever the GPU reports) and power as a share of
# the enforced limit (the catalog's board power).
IDLE_TEMP_C = 45
SLOWDOWN_TEMP_C = 90
IDLE_POWER_SHARE = 0.3


def healthy_busbw(gpu: GpuSpec | None) -> float:
    if gpu is None or gpu.nccl_allreduce_min_busbw_gbs is None:
        return 0.0
    return round(gpu.nccl_allreduce_min_busbw_gbs * HEALTHY_MARGIN, 2)


def hardware(h: LabHost, index: int) -> dict[str, Any]:
    """The hardware file of a freshly racked, healthy host."""
    gpus = [
        {
            "index": i,
            "name": h.gpu_name,
            "memory_mib": h.memory_mib,
            "uuid": f"GPU-{index + 1:08x}-0000-4000-8000-{i:012x}",
            "pci_bus_id": f"00000000:{0x18 + 0x10 * i:02X}:00.0",
            "serial": f"16{index + 1:05d}{i:06d}",
            "persistence_mode": "Enabled",
            "ecc_corrected": 0,
            "ecc_uncorrected": 0,
            "xid": 0,
            "diag_fail": None,
            "temperature_c": IDLE_TEMP_C,
            "slowdown_temp_c": SLOWDOWN_TEMP_C,
            "power_limit_w": h.power_limit_w,
            "power_w": round(h.power_limit_w * IDLE_POWER_SHARE, 1),
        }
        for i in range(h.gpu_count if h.gpu_name else 0)
    ]
    return {"gpus": gpus, "nccl_busbw_gbs": h.nccl_busbw_gbs, "nccl_nwrong": 0, "nccl_error": None}


# Runs on the lab host (its own python3): reads the hardware file, applies the change, writes it back.
_EDIT = """
import json, os, sys
change = json.loads(sys.stdin.readline())
path = sys.argv[1]
hw = json.load(open(path))
drop = change.pop("remove_gpus", 0)
if drop:
    hw["gpus"] = hw["gpus"][:-drop]
for idx, fields in change.pop("gpu", {}).items():
    hw["gpus"][int(idx)].update(fields)
hw.update(change)
tmp = path + ".tmp"
json.dump(hw, open(tmp, "w"), indent=1)
os.replace(tmp, path)
"""


def inject(lab: LabState, host: str, **change: Any) -> None:
    """Change `host`'s hardware: `remove_gpus=N` (the last N GPUs vanish), `gpu={index: {field: value}}`
    (`xid`, `ecc_uncorrected`, `persistence_mode`, `temperature_c`, `power_w`, `diag_fail={"test": "memory",
    "warning": ...}`), or any top-level key (`nccl_busbw_gbs`, `nccl_nwrong`, `nccl_error`, `diag_runtime_error`,
    `driver_loaded`)."""
    payload = json.dumps(change) + "\n"
    out = subprocess.run(
        ["ssh", "-F", lab.ssh_config, host, "python3", "-c", shlex.quote(_EDIT), HARDWARE_FILE],
        input=payload,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"injecting {change} into {host} failed: {out.stderr.strip()[:300]}")


def read(lab: LabState, host: str) -> dict[str, Any]:
    out = subprocess.run(
        ["ssh", "-F", lab.ssh_config, host, "cat", HARDWARE_FILE], capture_output=True, text=True, timeout=60
    )
    data: dict[str, Any] = json.loads(out.stdout)
    return data

"""Benchmark: `gpuctl burnin` on the 16-host lab site of provision_lab.py (provisioned first).

Prints the wall time of the command, the playbook's share, and per host the seconds its tools took (dcgmi diag
plus all_reduce_perf, from the command module's own timing). The lab's tools are stand-ins: these numbers are
gpuctl's overhead per node, not DCGM's or NCCL's (a level-2 diag takes minutes on real GPUs, level 3 longer).
Needs root. Run: sudo python benchmarks/burnin_lab.py
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from gpuctl.lab import core  # noqa: E402
from provision_lab import SITE, gpuctl_run, write_site  # noqa: E402


def burnin() -> dict:  # type: ignore[type-arg]
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", "from gpuctl.cli.app import main; main()", "burnin", "all"]
        + ["--site", str(SITE), "--lab", "-f", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    data: dict = json.loads(out.stdout)  # type: ignore[type-arg]
    data["wall_s"] = time.perf_counter() - start
    return data


def main() -> None:
    write_site()
    core.up(SITE)
    try:
        gpuctl_run()
        for label in ("first (new hardware, level 3)", "second (level 2)"):
            data = burnin()
            per_host = [n["elapsed_s"] for n in data["nodes"]]
            print(
                f"burnin {label}: {data['wall_s']:.1f} s wall, {data['elapsed_s']} s playbook, "
                f"{sum(n['passed'] for n in data['nodes'])}/{len(per_host)} passed; tools per host: "
                f"median {statistics.median(per_host):.2f} s, max {max(per_host):.2f} s; "
                f"wall per host {data['wall_s'] / len(per_host):.2f} s"
            )
    finally:
        core.down()


if __name__ == "__main__":
    main()

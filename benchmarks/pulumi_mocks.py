"""Benchmark: evaluate the Pulumi program under mocks for a generated 1,000-server site (125 racks).

Prints seconds, resources declared and resources per second. Run: python benchmarks/pulumi_mocks.py [servers]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from tests.stacks.harness import KUBECONFIG, run_program  # noqa: E402

from gen_site import generate  # noqa: E402


def main(servers: int = 1000) -> None:
    racks = max(1, servers // 8)
    site = HERE / "_generated" / f"pulumi-{racks}.yaml"
    site.parent.mkdir(exist_ok=True)
    # the generated site has an over-contract rack-0000; declare without failing validation
    site.write_text(generate(racks).replace("contracted_kw: 70", "contracted_kw: 90"))
    start = time.perf_counter()
    run = run_program(str(site.relative_to(HERE.parent)), kubeconfig=KUBECONFIG, provision=True, validate=False)
    elapsed = time.perf_counter() - start
    n = len(run.mocks.resources)
    print(f"{racks * 8} servers, {racks} racks: {n:,} resources in {elapsed:.2f} s ({n / elapsed:,.0f} resources/s)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)

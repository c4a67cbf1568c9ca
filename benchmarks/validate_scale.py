"""Benchmark: `gpuctl validate` on generated sites of 100 / 1,000 / 5,000 racks (8 servers, 64 GPUs each).

Each size runs in a fresh process (imports included, as a user pays them) and reports wall time, the
load/evaluate split and peak RSS. Target from the issue: 1,000 racks under 2 s and 500 MB; time linear
in racks. Run: python benchmarks/validate_scale.py [sizes...]
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "_generated"

CHILD = """
import json, resource, sys, time
t0 = time.perf_counter()
from gpuctl.loader import load_site
from gpuctl.rules import evaluate
t1 = time.perf_counter()
loaded = load_site(sys.argv[1])
t2 = time.perf_counter()
result = evaluate(loaded)
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "evaluate_s": t3 - t2, "wall_s": t3 - t0,
                  "findings": len(result.findings),
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def main(sizes: list[int]) -> None:
    sys.path.insert(0, str(HERE))
    from gen_site import generate

    print(
        f"{'racks':>6} {'servers':>8} {'GPUs':>7} {'MB':>6} {'import s':>9} {'load s':>7} {'rules s':>8} "
        f"{'wall s':>7} {'s/100 racks':>11} {'RSS MB':>7} findings"
    )
    for racks in sizes:
        path = OUT / f"site-{racks}.yaml"
        if not path.exists():
            OUT.mkdir(exist_ok=True)
            path.write_text(generate(racks))
        out = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, check=True)
        r = json.loads(out.stdout)
        print(
            f"{racks:>6} {racks * 8:>8} {racks * 64:>7} {path.stat().st_size / 1e6:>6.1f} {r['import_s']:>9.2f} "
            f"{r['load_s']:>7.2f} {r['evaluate_s']:>8.2f} {r['wall_s']:>7.2f} {r['wall_s'] / racks * 100:>11.3f} "
            f"{r['rss_mb']:>7.0f} {r['findings']}"
        )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100, 1000, 5000])

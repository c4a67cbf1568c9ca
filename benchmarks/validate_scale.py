"""Benchmark: load and validate generated sites, each in a fresh process (imports included, as a user pays them).

Cases (all by default; or name sizes to run only the clean series at those sizes):

* clean: 100 / 1,000 / 5,000 racks of 8 servers (64 GPUs) each, one finding (rack-0000 over its contract);
* every: 1,000 / 5,000 racks with a finding in every rack (the cost of locating findings);
* empty: 20,000 / 50,000 racks with only the required keys.

Columns: the size of the file, time to import gpuctl's loader and rules, to load (parse + validate), to run the
rules (with the findings' locations), the child's wall time from its first import and its CPU time (what a busy
machine distorts least), the whole process's wall time as the parent saw it (interpreter start included), peak
RSS, findings, and which way the data came (`rapidyaml-json` is the fast path, `yaml-rs` the reference). Then the
CLI itself (`gpuctl validate`) on 1,000 racks, which imports every command. Targets from the issue: 1,000 racks
under 2 s wall in the CLI; a finding in every rack within 1.5x of clean at 5,000; 50,000 empty racks under 10 s.

Run: python benchmarks/validate_scale.py [sizes...]
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
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
                  "cpu_s": time.process_time(),
                  "findings": len(result.findings), "parser": loaded.parser,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def site_file(kind: str, racks: int) -> Path:
    sys.path.insert(0, str(HERE))
    from gen_site import generate, generate_empty

    path = OUT / f"site-{racks}.yaml" if kind == "clean" else OUT / f"site-{kind}-{racks}.yaml"
    if not path.exists():
        OUT.mkdir(exist_ok=True)
        text = generate_empty(racks) if kind == "empty" else generate(racks, every_rack=kind == "every")
        path.write_text(text)
    return path


def run(kind: str, racks: int) -> None:
    path = site_file(kind, racks)
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, check=True)
    process_s = time.perf_counter() - started
    r = json.loads(out.stdout)
    servers = 0 if kind == "empty" else racks * 8
    print(
        f"{kind:>5} {racks:>6} {servers:>7} {servers * 8:>7} {path.stat().st_size / 1e6:>6.1f} {r['import_s']:>8.2f} "
        f"{r['load_s']:>7.2f} {r['evaluate_s']:>7.2f} {r['wall_s']:>7.2f} {r['cpu_s']:>6.2f} {process_s:>9.2f} "
        f"{r['wall_s'] / racks * 1000:>9.3f} {r['rss_mb']:>7.0f} {r['findings']:>8} {r['parser']}"
    )


def cli(racks: int) -> None:
    path = site_file("clean", racks)
    gpuctl = Path(sys.executable).with_name("gpuctl")
    argv = [str(gpuctl)] if gpuctl.exists() else [sys.executable, "-m", "gpuctl.cli.app"]
    started = time.perf_counter()
    out = subprocess.run([*argv, "validate", str(path), "-f", "json"], capture_output=True, text=True)
    wall = time.perf_counter() - started
    print(f"gpuctl validate {path.name} (CLI, fresh process, exit {out.returncode}): {wall:.2f} s wall")


def main(argv: list[str]) -> None:
    print(
        f"{'case':>5} {'racks':>6} {'servers':>7} {'GPUs':>7} {'MB':>6} {'import s':>8} {'load s':>7} {'rules s':>7} "
        f"{'wall s':>7} {'cpu s':>6} {'process s':>9} {'ms/rack':>9} {'RSS MB':>7} {'findings':>8} parser"
    )
    if argv:
        for racks in (int(a) for a in argv):
            run("clean", racks)
        return
    for kind, racks in [
        ("clean", 100),
        ("clean", 1000),
        ("every", 1000),
        ("clean", 5000),
        ("every", 5000),
        ("empty", 20000),
        ("empty", 50000),
    ]:
        run(kind, racks)
    cli(1000)


if __name__ == "__main__":
    main(sys.argv[1:])

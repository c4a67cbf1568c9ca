"""Benchmark: what `pip install gpuctl[EXTRA]` puts on disk, and how long `gpuctl validate` takes to start.

For each variant, a fresh venv (python3 -m venv) gets the wheel built from a git revision with one extra (or
none), then:

* size: `du -sm` of the venv's site-packages (what the install adds; pip itself included, ~10 MB);
* distributions: installed distributions besides pip and setuptools;
* validate: median wall time of RUNS fresh processes of `gpuctl validate inventories/fra1/site.yaml` (after one
  run that is thrown away), the interpreter's start and every import included: what a CI job pays per call; the
  fastest run; and the median CPU time (user + system) of the process, which other load on the machine disturbs
  less than the wall time.

Variants: `before` is the revision before the dependency split (every library was a core dependency); the
others are the core install and each extra at the `--after` revision (default HEAD). Needs PyPI (pip's cache
makes a second run fast); writes only below --workdir.

Run: python benchmarks/install_footprint.py [--before REV] [--after REV] [--runs N] [--workdir DIR] [variants...]
     (variants: before core provision pulumi tco lab all; default all of them)
"""

from __future__ import annotations

import argparse
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SITE = "inventories/fra1/site.yaml"
# The last revision whose core dependencies were every library of every command (pulumi, ansible, matplotlib...).
BEFORE = "ad940f558c395697223b57b1edb898acb0b6c314"
VARIANTS = ("before", "core", "provision", "pulumi", "tco", "lab", "all")


def sh(*args: str | Path, cwd: Path | None = None) -> str:
    out = subprocess.run([str(a) for a in args], cwd=cwd, check=True, capture_output=True, text=True)
    return out.stdout


def wheel(rev: str, workdir: Path) -> Path:
    """The wheel of gpuctl at a git revision (built from `git archive`, so the work tree's edits do not leak in)."""
    commit = sh("git", "rev-parse", "--verify", f"{rev}^{{commit}}", cwd=ROOT).strip()
    dist = workdir / "wheels" / commit[:12]
    found = sorted(dist.glob("gpuctl-*.whl"))
    if found:
        return found[0]
    src = workdir / "src" / commit[:12]
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir(parents=True)
    archive = src.with_suffix(".tar")
    subprocess.run(["git", "archive", "--format=tar", "-o", str(archive), commit], cwd=ROOT, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(src, filter="data")
    archive.unlink()
    sh(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", dist, src)
    shutil.rmtree(src)
    return sorted(dist.glob("gpuctl-*.whl"))[0]


def base_python() -> str:
    """The interpreter to make venvs with: this one's base (a venv's python would do too, but say which)."""
    return str(Path(sys.base_prefix) / "bin" / "python3")


def install(name: str, whl: Path, extra: str | None, workdir: Path) -> tuple[Path, float]:
    venv = workdir / "venvs" / name
    shutil.rmtree(venv, ignore_errors=True)
    sh(base_python(), "-m", "venv", venv)
    start = time.perf_counter()
    target = f"{whl}[{extra}]" if extra else str(whl)
    sh(venv / "bin" / "python", "-m", "pip", "install", "-q", "--disable-pip-version-check", target)
    return venv, time.perf_counter() - start


def site_packages(venv: Path) -> Path:
    return Path(sh(venv / "bin" / "python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip())


def size_mb(path: Path) -> int:
    return int(sh("du", "-sm", path).split()[0])


def distributions(venv: Path) -> int:
    code = (
        "import importlib.metadata as m\n"
        "print(len({d.metadata['Name'].lower() for d in m.distributions()} - {'pip', 'setuptools'}))"
    )
    return int(sh(venv / "bin" / "python", "-c", code).strip())


def _cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def cold_start(venv: Path, runs: int) -> tuple[float, float, float]:
    """Median and minimum wall time and median CPU time of `gpuctl validate SITE`, each run a fresh process."""
    argv = [str(venv / "bin" / "gpuctl"), "validate", SITE]
    wall, cpu = [], []
    for i in range(runs + 1):
        cpu_start, start = _cpu(), time.perf_counter()
        done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
        elapsed, cpu_used = time.perf_counter() - start, _cpu() - cpu_start
        if done.returncode != 0:
            raise SystemExit(f"{venv.name}: gpuctl validate exited {done.returncode}:\n{done.stderr}")
        if i:  # the first run warms the page cache; it is not counted
            wall.append(elapsed)
            cpu.append(cpu_used)
    return statistics.median(wall), min(wall), statistics.median(cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("variants", nargs="*", help=f"any of {', '.join(VARIANTS)} (default: all)")
    parser.add_argument("--before", default=BEFORE, help="revision before the split (default %(default).12s)")
    parser.add_argument("--after", default="HEAD", help="revision to measure the core and the extras at")
    parser.add_argument("--runs", type=int, default=10, help="fresh processes per variant (median reported)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/gpuctl-footprint"))
    args = parser.parse_args()
    unknown = set(args.variants) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variant(s) {', '.join(sorted(unknown))}; use {', '.join(VARIANTS)}")
    args.workdir.mkdir(parents=True, exist_ok=True)
    header = (
        f"{'variant':<22} {'size MB':>8} {'dists':>6} {'install s':>10} {'validate median s':>18} {'min s':>6}"
        f" {'CPU s':>6}"
    )
    print(f"python {sys.version.split()[0]}; {args.runs} runs of `gpuctl validate {SITE}` per variant")
    print(header)
    print("-" * len(header))
    for variant in args.variants or VARIANTS:
        if variant == "before":
            whl, extra, label = wheel(args.before, args.workdir), None, f"before ({args.before[:7]})"
        else:
            whl, extra = wheel(args.after, args.workdir), None if variant == "core" else variant
            label = "gpuctl" if extra is None else f"gpuctl[{extra}]"
        venv, install_s = install(variant, whl, extra, args.workdir)
        median, fastest, cpu = cold_start(venv, args.runs)
        size, dists = size_mb(site_packages(venv)), distributions(venv)
        print(
            f"{label:<22} {size:>8} {dists:>6} {install_s:>10.1f} {median:>18.2f} {fastest:>6.2f} {cpu:>6.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()

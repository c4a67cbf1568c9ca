"""Benchmark: what `pip install gpuctl[EXTRA]` puts on disk, and how long `gpuctl validate` takes to start.

For each variant, a fresh venv (python3 -m venv) gets the wheel built from a git revision with one extra (or
none), then:

* size: `du -sm` of the venv's site-packages (what the install adds; pip itself included, ~10 MB);
* distributions: installed distributions besides pip and setuptools;
* install s: how long pip took (downloads included on a first run, from pip's cache after);
* validate: median wall time of RUNS fresh processes of `gpuctl validate inventories/fra1/site.yaml` (after one
  round that is thrown away; the variants take turns, so other load on the machine falls on all alike), the
  interpreter's start and every import included: what a CI job pays per call; the fastest run; and the median CPU
  time (user + system) of the process, which other load disturbs less than the wall time.

Variants: `before` is the revision before the dependency split (every library was a core dependency); the
others are the core install and each extra at the `--after` revision (default HEAD). Needs PyPI (pip's cache
makes a second run fast); writes only below --workdir.

Run: python benchmarks/install_footprint.py [--before REV] [--after REV] [--runs N] [--workdir DIR] [--reuse]
          [variants...]
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


def validate_once(venv: Path) -> tuple[float, float]:
    """Wall and CPU time of one fresh `gpuctl validate SITE` process."""
    cpu_start, start = _cpu(), time.perf_counter()
    done = subprocess.run([venv / "bin" / "gpuctl", "validate", SITE], cwd=ROOT, capture_output=True, text=True)
    elapsed, cpu_used = time.perf_counter() - start, _cpu() - cpu_start
    if done.returncode != 0:
        raise SystemExit(f"{venv.name}: gpuctl validate exited {done.returncode}:\n{done.stderr}")
    return elapsed, cpu_used


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("variants", nargs="*", help=f"any of {', '.join(VARIANTS)} (default: all)")
    parser.add_argument("--before", default=BEFORE, help="revision before the split (default %(default).12s)")
    parser.add_argument("--after", default="HEAD", help="revision to measure the core and the extras at")
    parser.add_argument("--runs", type=int, default=10, help="fresh processes per variant (median reported)")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/gpuctl-footprint"))
    parser.add_argument("--reuse", action="store_true", help="time the venvs a previous run installed")
    args = parser.parse_args()
    unknown = set(args.variants) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variant(s) {', '.join(sorted(unknown))}; use {', '.join(VARIANTS)}")
    args.workdir.mkdir(parents=True, exist_ok=True)
    rows = []
    for variant in args.variants or VARIANTS:
        if variant == "before":
            label, rev, extra = f"before ({args.before[:7]})", args.before, None
        else:
            extra = None if variant == "core" else variant
            label, rev = ("gpuctl" if extra is None else f"gpuctl[{extra}]"), args.after
        venv, install_s = args.workdir / "venvs" / variant, float("nan")
        if not args.reuse:
            venv, install_s = install(variant, wheel(rev, args.workdir), extra, args.workdir)
        print(f"installed {label}", file=sys.stderr, flush=True)
        rows.append((label, venv, install_s, size_mb(site_packages(venv)), distributions(venv)))
    # Rounds of one run per variant, so that other load on the machine falls on every variant alike.
    wall: dict[str, list[float]] = {label: [] for label, *_ in rows}
    cpu: dict[str, list[float]] = {label: [] for label, *_ in rows}
    for i in range(args.runs + 1):
        for label, venv, *_ in rows:
            w, c = validate_once(venv)
            if i:  # the first round warms the page cache; it is not counted
                wall[label].append(w)
                cpu[label].append(c)
    header = (
        f"{'variant':<22} {'size MB':>8} {'dists':>6} {'install s':>10} {'validate median s':>18} {'min s':>6}"
        f" {'CPU s':>6}"
    )
    print(f"python {sys.version.split()[0]}; {args.runs} rounds of `gpuctl validate {SITE}`, each a fresh process")
    print(header)
    print("-" * len(header))
    for label, _, install_s, size, dists in rows:
        median, fastest, cpu_median = statistics.median(wall[label]), min(wall[label]), statistics.median(cpu[label])
        print(f"{label:<22} {size:>8} {dists:>6} {install_s:>10.1f} {median:>18.2f} {fastest:>6.2f} {cpu_median:>6.2f}")


if __name__ == "__main__":
    main()

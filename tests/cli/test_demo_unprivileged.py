"""`scripts/demo.sh` (the README's first command) run by a user who is not root: validate and plan run, the lab part
is skipped, and the script says so and names the command that runs it.

The script runs for real as an unprivileged user (`nobody` through setpriv when the tests run as root, the test's
own user otherwise) in a copy of the project that user owns. The copy's `.venv` is made beforehand, the way
`scripts/bootstrap.sh core` makes it but without the download: a venv whose path holds the copy's modules and the
test interpreter's installed packages, stamped as up to date, so bootstrap finds nothing to install (no network).
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT

UNPRIVILEGED = "nobody"
USER_PATH = "/usr/local/bin:/usr/bin:/bin"


def _as_user() -> list[str]:
    """The argv prefix that runs a command as an unprivileged user, or [] when the tests already run as one."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(UNPRIVILEGED)
    except KeyError:
        pytest.skip(f"the tests run as root and this machine has no '{UNPRIVILEGED}' user to run the demo as")
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("the tests run as root and setpriv (util-linux) is missing: cannot drop to an unprivileged user")
    return [setpriv, f"--reuid={UNPRIVILEGED}", f"--regid={pwd.getpwnam(UNPRIVILEGED).pw_gid}", "--clear-groups"]


def _project_copy(dest: Path) -> Path:
    """The project's files (tracked and new, as git lists them) copied to dest."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (n.decode() for n in listed)):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    return dest


def _ready_venv(project: Path) -> None:
    """A .venv bootstrap.sh core accepts as installed: gpuctl from the copy, its dependencies from the test's venv."""
    venv = project / ".venv"
    # the python3 bootstrap.sh would find on the user's PATH; the shared packages must be built for its version
    base = shutil.which("python3", path=USER_PATH)
    version = subprocess.run(
        [str(base), "-c", "import sys; print(*sys.version_info[:2])"], capture_output=True, text=True
    ).stdout.split()
    if base is None or version != [str(v) for v in sys.version_info[:2]]:
        pytest.skip(f"python3 on {USER_PATH} is {base} {'.'.join(version)}, not this venv's Python {sys.version[:4]}")
    subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True)
    purelib = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))  # the new venv's
    shared = sysconfig.get_path("purelib")  # the test interpreter's installed packages
    (purelib / "gpuctl-demo-test.pth").write_text(f"{project / 'modules'}\nimport site; site.addsitedir({shared!r})\n")
    gpuctl = venv / "bin" / "gpuctl"
    gpuctl.write_text(f"#!{venv / 'bin' / 'python'}\nimport sys\nfrom gpuctl.cli.app import main\nsys.exit(main())\n")
    gpuctl.chmod(0o755)
    digest = hashlib.sha256((project / "pyproject.toml").read_bytes()).hexdigest()[:16]
    (venv / ".gpuctl-installed").write_text(f"{digest} \n")  # bootstrap.sh's stamp: pyproject hash, no extras


@pytest.fixture
def user_dir() -> Iterator[Path]:
    """A directory the unprivileged user can reach (pytest's user_dir is root's own, mode 0700)."""
    path = Path(tempfile.mkdtemp(prefix="gpuctl-demo-", dir="/var/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_demo_without_root_runs_validate_and_plan_and_names_what_it_skipped(user_dir: Path) -> None:
    prefix = _as_user()
    project = _project_copy(user_dir / "gpuctl")
    _ready_venv(project)
    home = user_dir / "home"
    home.mkdir()
    if prefix:
        user_dir.chmod(0o755)
        shutil.chown(user_dir, UNPRIVILEGED)
        for path in [home, *home.rglob("*"), project, *project.rglob("*")]:
            os.chown(path, pwd.getpwnam(UNPRIVILEGED).pw_uid, pwd.getpwnam(UNPRIVILEGED).pw_gid, follow_symlinks=False)
    env = {"PATH": USER_PATH, "HOME": str(home), "LANG": "C.UTF-8"}
    readable = subprocess.run(
        [*prefix, str(project / ".venv" / "bin" / "python"), "-c", "import gpuctl.cli.app, pydantic"],
        env=env,
        capture_output=True,
        text=True,
    )
    if readable.returncode != 0:
        (pytest.fail if os.environ.get("CI") else pytest.skip)(  # CI's venv is readable: there it is a failure
            f"user {UNPRIVILEGED} cannot import gpuctl's dependencies from {sysconfig.get_path('purelib')} (the "
            f"test venv is not readable to it): {readable.stderr.strip()[-300:]}"
        )

    run = subprocess.run(
        [*prefix, "bash", str(project / "scripts" / "demo.sh")],
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    out = run.stdout
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    # validate and plan ran on the example site and printed their results
    assert "== validate: gpuctl validate inventories/fra1/site.yaml" in out
    assert "== plan: gpuctl plan inventories/fra1/site.yaml" in out
    validate, plan = out.split("== plan:")[0], out.split("== plan:")[1].split("== skipped")[0]
    assert "fra1: 0 error(s)" in validate
    assert "fra1 (" in plan and "racks" in plan and "deployments" in plan  # plan's summary and tables
    # the lab part was skipped, saying so and naming the command that runs it
    assert "== skipped: the lab (lab up -> provision -> burn-in -> verify -> lab down) needs root" in out
    assert "sudo bash scripts/demo.sh" in out
    assert "== lab-up" not in out and "== provision" not in out
    step_times = [line.split()[0] for line in out.splitlines() if line.endswith(" s") and len(line.split()) == 3]
    assert step_times == ["validate", "plan"]
    # nothing ran as root: the copy's files are still the unprivileged user's
    if prefix:
        assert {p.lstat().st_uid for p in project.rglob("*")} == {pwd.getpwnam(UNPRIVILEGED).pw_uid}

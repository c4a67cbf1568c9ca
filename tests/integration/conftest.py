"""The lab as a session fixture: the same code as `gpuctl lab up/down`, always torn down."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from gpuctl.lab import core
from tests.conftest import ROOT

LAB_SITE = ROOT / "inventories" / "lab" / "site.yaml"


def lab_available() -> str | None:
    if os.geteuid() != 0:
        return "the lab needs root (network namespaces, overlay mounts)"
    for tool in ("mmdebstrap", "dpkg-deb", "apt-ftparchive", "gpg", "ssh", "ssh-keygen", "unshare", "setpriv", "ip"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            return f"{tool} is not installed (.ci/run installs it)"
    return None


@pytest.fixture(scope="session")
def lab() -> Iterator[core.LabState]:
    reason = lab_available()
    if reason:
        if os.environ.get("GPUCTL_REQUIRE_LAB"):  # CI: a missing lab is a failure, not a skip
            pytest.fail(f"the lab cannot run: {reason}")
        pytest.skip(reason)
    state = core.up(LAB_SITE, "lab-a")
    try:
        yield state
    finally:
        core.down()

"""verify's live checks (GPU health, XID, bond and SR-IOV state from the kernel) on the fake testinfra host."""

from __future__ import annotations

import pytest

from gpuctl.provision.verify import bond_state, check_bonds_live, check_gpu_health, check_sriov_live, check_xid

from .test_verify_checks import FRA1, LAB, FakeHost, Result, server, variables

HEALTH = "nvidia-smi --query-gpu=index,persistence_mode,ecc"
DMON = "dcgmi dmon -e 230"


def gpu_host(rows: list[str], xids: list[str]) -> FakeHost:
    host = FakeHost()
    host.commands[HEALTH] = Result(0, "".join(r + "\n" for r in rows))
    host.commands[DMON] = Result(
        0, "#Entity         XIDER\nID\n" + "".join(f"GPU {i}           {x}\n" for i, x in enumerate(xids))
    )
    return host


def live(host: FakeHost, site: object, name: str) -> dict[str, tuple[bool | None, str]]:
    s, v = server(site, name), variables(site, name)  # type: ignore[arg-type]
    out: dict[str, tuple[bool | None, str]] = {}
    for check in (check_gpu_health, check_xid, check_bonds_live, check_sriov_live):
        for cid, ok, msg in check(host, site, s, v):  # type: ignore[arg-type]
            out[cid] = (ok, msg)
    return out


def test_healthy_gpus() -> None:
    got = live(gpu_host(["0, Enabled, 0, 2", "1, Enabled, 0, 0"] * 2, ["0"] * 4), LAB, "lab-l4-1")
    assert got == {
        "persistence-mode": (True, "persistence mode on, 4 GPUs"),
        "ecc": (True, "no uncorrected ECC error (4 corrected since the driver loaded)"),
        "xid": (True, "no XID on 4 GPUs"),
    }


def test_ecc_persistence_and_xid_faults_are_named() -> None:
    rows = ["0, Enabled, 0, 0", "1, Disabled, 0, 0", "2, Enabled, 3, 0", "3, Enabled, 0, 0"]
    got = live(gpu_host(rows, ["0", "0", "0", "48"]), LAB, "lab-l4-1")
    assert got["persistence-mode"] == (False, "persistence mode off on GPU 1")
    assert got["ecc"] == (False, "uncorrected ECC errors: GPU 2: 3")
    assert got["xid"] == (False, "GPU 3 XID 48")


def test_dcgmi_missing_fails_xid() -> None:
    host = gpu_host(["0, Enabled, 0, 0"], [])
    del host.commands[DMON]
    assert live(host, LAB, "lab-l4-1")["xid"][0] is False


PROC_BOND = """Ethernet Channel Bonding Driver: v6.8.0

Bonding Mode: IEEE 802.3ad Dynamic link aggregation
Transmit Hash Policy: layer3+4 (1)
MII Status: up
MII Polling Interval (ms): 100

Slave Interface: ens1f0np0
MII Status: up
Speed: 25000 Mbps

Slave Interface: ens1f1np1
MII Status: {second}
Speed: 25000 Mbps
"""


def bonded(second: str = "up", vfs: str | None = "8") -> FakeHost:
    host = FakeHost()
    host.files["/proc/net/bonding"] = ""
    host.files["/proc/net/bonding/bond0"] = PROC_BOND.format(second=second)
    host.files["/sys/class/net/ens1f1np1"] = ""
    if vfs is not None:
        host.files["/sys/class/net/ens1f1np1/device/sriov_numvfs"] = vfs + "\n"
    return host


def network(host: FakeHost) -> dict[str, tuple[bool | None, str]]:
    got = live(host, LAB, "lab-l40s-1")
    return {k: v for k, v in got.items() if k.startswith(("bond", "sriov"))}


def test_bond_up_and_vfs_as_declared() -> None:
    assert network(bonded()) == {
        "bond-bond0-live": (
            True,
            "mode 'IEEE 802.3ad Dynamic link aggregation' (declared 'IEEE 802.3ad Dynamic link aggregation'), MII up",
        ),
        "sriov-ens1f1np1-live": (True, "ens1f1np1: 8 VFs, declared 8"),
    }


def test_a_member_down_and_missing_vfs_fail() -> None:
    got = network(bonded(second="down", vfs="0"))
    assert got["bond-bond0-live"][0] is False and got["bond-bond0-live"][1].endswith("ens1f1np1 (down)")
    assert got["sriov-ens1f1np1-live"] == (False, "ens1f1np1: 0 VFs, declared 8")


def test_no_bonding_driver_and_no_sriov_sysfs_skip_with_reasons() -> None:
    host = FakeHost()
    host.files["/sys/class/net/ens1f1np1"] = ""
    assert network(host) == {
        "bond-bond0-live": (None, "skipped: the kernel has no bonding driver (no /proc/net/bonding)"),
        "sriov-ens1f1np1-live": (
            None,
            "skipped: ens1f1np1 has no sriov_numvfs in sysfs (no SR-IOV device or driver)",
        ),
    }


def test_a_missing_port_is_a_failure_not_a_skip() -> None:
    assert network(FakeHost())["sriov-ens1f1np1-live"] == (False, "port ens1f1np1 is not on the host")


@pytest.mark.parametrize("mode", ["active-backup", "balance-xor"])
def test_bond_state_reads_mode_and_members(mode: str) -> None:
    text = PROC_BOND.format(second="up").replace("IEEE 802.3ad Dynamic link aggregation", mode)
    assert bond_state(text) == (mode, "up", {"ens1f0np0": "up", "ens1f1np1": "up"})


def test_fra1_dgx_bond_absent_is_named() -> None:
    host = FakeHost()
    host.files["/proc/net/bonding"] = ""
    got = live(host, FRA1, "dgx-b01")
    assert got["bond-bond0-live"] == (False, "bond0 does not exist (no /proc/net/bonding/bond0)")


def test_a_command_exiting_255_is_its_status_not_a_lost_connection() -> None:
    """testinfra's SSH backend raises on exit status 255; verify reads it as the command's status."""
    from gpuctl.provision.verify import _sh

    class Answer:
        rc, stdout, stderr = 255, "Error: unable to establish a connection\n", ""

    class Host:
        def run(self, cmd: str) -> Answer:
            raise RuntimeError(Answer())

    assert _sh(Host(), "dcgmi dmon -e 230 -c 1").rc == 255

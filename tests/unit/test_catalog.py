"""The built-in catalog: every entry has a source and the facts the issue names."""

from __future__ import annotations

import pytest

from gpuctl import catalog


def test_every_entry_has_a_source() -> None:
    cat = catalog.builtin()
    for table in (cat.gpus, cat.servers, cat.nics):
        for entry in table.values():
            assert len(entry.source) > 10, entry.id


@pytest.mark.parametrize(
    ("server", "kw", "u", "kg", "psu"),
    [
        ("dgx-h100", 10.2, 8, 130.45, "4+2"),
        ("dgx-a100", 6.5, 6, 123.16, "3+3"),
        ("dgx-b200", 14.3, 10, 142.4, "5+1"),
    ],
)
def test_dgx_facts_match_the_user_guides(server: str, kw: float, u: int, kg: float, psu: str) -> None:
    spec = catalog.builtin().servers[server]
    assert (spec.max_power_kw, spec.height_u, spec.weight_kg) == (kw, u, kg)
    assert spec.psu is not None and spec.psu.redundancy == psu


def test_gpu_ids_the_vram_engine_needs_exist() -> None:
    ids = set(catalog.builtin().gpus)
    assert {
        "h100-sxm5-80gb",
        "h100-pcie-80gb",
        "h200-sxm-141gb",
        "a100-sxm4-80gb",
        "a100-pcie-80gb",
        "a100-40gb",
        "l40s",
        "l4",
        "a10",
        "a10g",
        "rtx-3090",
        "rtx-4090",
        "b200",
    } <= ids


def test_nic_limits() -> None:
    nics = catalog.builtin().nics
    assert nics["connectx-7"].max_vfs_per_port == 127
    assert nics["intel-e810-cqda2"].max_vfs_per_device == 256
    assert nics["intel-e810-cqda2"].max_mtu == 9702

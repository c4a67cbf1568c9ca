"""Fuzz `gpuctl tco`: generated scenario files (YAML and TOML), and generated option values.

Location contract: with a generated scenario and no options, whatever makes the run exit 2 lies inside the
scenario file (YAML/TOML damage, a value of the wrong type, out of range, non-finite, an unknown key), so every
stderr line must start with `SCENARIO:LINE`. Option values are on the command line: no file location expected.
Every run asks for `-f json`, whose output must be strict JSON (no NaN/Infinity) whenever it exits 0.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.harness import ROOT, SCALES, Located, check, command_line, fuzz_settings, run_cli
from tests.fuzz.strategies import NUMBER_STRINGS, tco_scenario

FRA1 = str(ROOT / "inventories" / "fra1" / "site.yaml")


@pytest.mark.parametrize("scale", SCALES)
def test_tco_generated_scenarios(scale: int, tmp_path: Path) -> None:
    @fuzz_settings(400 * scale)
    @given(tco_scenario(), st.booleans(), st.sampled_from(["json", "json", "csv", "console"]))
    def run(case: tuple[bytes, str, str], with_site: bool, fmt: str) -> None:
        data, suffix, desc = case
        path = tmp_path / f"scenario{suffix}"
        path.write_bytes(data)
        argv = ["tco", *([FRA1] if with_site else []), "--scenario", str(path), "-f", fmt]
        o = run_cli("tco", argv)
        where = "with inventories/fra1/site.yaml" if with_site else "without a site"
        check(o, f"tco -f {fmt} {where}: {desc}", json_format=fmt == "json", located=Located(str(path)))

    run()


OPTIONS = [
    "--cloud-rate",
    "--utilization",
    "--months",
    "--gpus",
    "--gpu-price",
    "--power-price",
    "--colocation",
    "--staffing",
    "--egress-gb",
    "--hybrid-share",
]


@pytest.mark.parametrize("scale", SCALES)
def test_tco_generated_options(scale: int) -> None:
    @fuzz_settings(400 * scale)
    @given(
        st.lists(st.tuples(st.sampled_from(OPTIONS), st.sampled_from(NUMBER_STRINGS)), min_size=1, max_size=4),
        st.booleans(),
        st.sampled_from(["json", "json", "csv"]),
    )
    def run(options: list[tuple[str, str]], with_site: bool, fmt: str) -> None:
        argv = ["tco", *([FRA1] if with_site else []), *[x for pair in options for x in pair], "-f", fmt]
        o = run_cli("tco", argv)
        check(o, command_line(argv), json_format=fmt == "json")

    run()

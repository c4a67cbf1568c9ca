"""One exporter, gpuctl's counters: every DCGM series the generated rules query is enabled in the dcgm role's
counters file, and the GPU Operator's own dcgm-exporter is off (the host's, from the dcgm role, is the one)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from gpuctl.loader import load_site
from gpuctl.render import k8s
from gpuctl.render.obs import rule_files

ROOT = Path(__file__).parent.parent.parent
ROLE = ROOT / "playbooks" / "roles" / "dcgm"


def role_counters() -> set[str]:
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    return {field for field, _, _ in defaults["dcgm_exporter_counters"]}


def queried(text: str) -> set[str]:
    return set(re.findall(r"\bDCGM_(?:FI|EXP)_[A-Z0-9_]+", text))


def test_every_dcgm_series_the_rules_query_is_exported() -> None:
    site = load_site(ROOT / "inventories" / "fra1" / "site.yaml").site
    used = queried(yaml.safe_dump(rule_files(site)))
    assert used, "the rules query DCGM series"
    assert used - role_counters() == set()


def test_counters_include_the_health_fields_the_exporter_leaves_out_by_default() -> None:
    wanted = {
        "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL",
        "DCGM_FI_DEV_NVLINK_CRC_FLIT_ERROR_COUNT_TOTAL",
        "DCGM_FI_DEV_POWER_VIOLATION",
        "DCGM_FI_DEV_THERMAL_VIOLATION",
        "DCGM_EXP_XID_ERRORS_COUNT",
        "DCGM_EXP_CLOCK_EVENTS_COUNT",
    }
    assert wanted <= role_counters()


def test_argument_spec_default_is_the_role_default() -> None:
    spec = yaml.safe_load((ROLE / "meta" / "argument_specs.yml").read_text())
    options = spec["argument_specs"]["main"]["options"]
    defaults = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    assert options["dcgm_exporter_counters"]["default"] == defaults["dcgm_exporter_counters"]


def test_the_gpu_operator_runs_no_second_exporter() -> None:
    site = load_site(ROOT / "inventories" / "fra1" / "site.yaml").site
    assert k8s.gpu_operator_values(site)["dcgmExporter"]["enabled"] is False

"""`--format` is a choice typer checks: an unknown one is exit 2 with the choices, from the option or the variable."""

from __future__ import annotations

import pytest

from gpuctl.report import FORMATS, ReportFormat
from tests.cli.test_hostile_input import run
from tests.conftest import EXAMPLE, FAILING


@pytest.mark.parametrize(
    ("args", "choices"),
    [
        (["validate", str(EXAMPLE)], "'console', 'json', 'sarif', 'junit', 'github'"),
        (["rules"], "'console', 'json', 'markdown'"),
        (["tco", "--gpus", "8"], "'console', 'json', 'csv'"),
        (["lab", "status"], "'console', 'json'"),
    ],
)
def test_an_unknown_format_is_exit_2_with_the_choices(
    capsys: pytest.CaptureFixture[str], args: list[str], choices: str
) -> None:
    code, out, err = run(capsys, *args, "--format", "yaml")
    assert code == 2
    assert out == ""
    assert "Invalid value for '--format' / '-f'" in err
    assert f"'yaml' is not one of {choices}" in err
    assert "Traceback" not in err


def test_gpuctl_format_is_checked_the_same_way(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GPUCTL_FORMAT", "xml")
    code, _, err = run(capsys, "validate", str(EXAMPLE))
    assert code == 2
    assert "(env var: 'GPUCTL_FORMAT')" in err
    assert "'xml' is not one of" in err
    monkeypatch.setenv("GPUCTL_FORMAT", "json")
    code, out, _ = run(capsys, "validate", str(EXAMPLE))
    assert code == 0
    assert out.startswith("{")


@pytest.mark.parametrize("fmt", list(ReportFormat))
def test_every_report_format_renders(capsys: pytest.CaptureFixture[str], fmt: ReportFormat) -> None:
    code, out, _ = run(capsys, "validate", str(FAILING), "-f", fmt.value)
    assert code == 1
    assert "rack-power-budget" in out or "PWR001" in out


def test_report_formats_and_renderers_are_the_same_list() -> None:
    assert list(FORMATS) == list(ReportFormat)
    assert FORMATS["console"] is FORMATS[ReportFormat.console]


@pytest.mark.parametrize("fmt", ["console", "json", "csv"])
def test_tco_formats(capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    code, out, _ = run(capsys, "tco", "--gpus", "8", "-f", fmt)
    assert code == 0
    assert {"console": "decision:", "json": '"verdict"', "csv": "month,cloud_usd,bare_metal_usd,hybrid_usd"}[fmt] in out

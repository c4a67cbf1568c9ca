"""URLs gpuctl sends a credential to, or writes into rendered files: a burst endpoint must be https:// and outside
the host (no loopback, link-local metadata or unspecified address); no URL may embed user:password@. Each is a
spec error at its line (exit 2 from `gpuctl validate`)."""

from __future__ import annotations

import pytest

from gpuctl.errors import SpecError
from gpuctl.loader import load_site_text
from tests.cli.test_validate_cli import gpuctl
from tests.conftest import ROOT

FRA1 = ROOT / "inventories" / "fra1" / "site.yaml"
BURST = "https://inference.burst-provider.example.com/v1"
ONCALL = "https://alerts.fra1.example.net/alertmanager"


def _error(old: str, new: str) -> tuple[str, int | None]:
    text = FRA1.read_text()
    assert old in text
    with pytest.raises(SpecError) as err:
        load_site_text(text.replace(old, new, 1), str(FRA1))
    (problem,) = err.value.problems
    return problem.message, problem.line


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://169.254.169.254/latest", "must be https://"),
        ("https://169.254.169.254/latest", "link-local"),
        ("https://127.0.0.1:8443/v1", "loopback"),
        ("https://[::ffff:169.254.169.254]/v1", "link-local"),
        ("https://0.0.0.0/v1", "unspecified"),
        ("https://localhost/v1", "this machine"),
        ("https://key:secret@inference.burst-provider.example.com/v1", "credentials"),
    ],
)
def test_a_burst_url_that_would_leak_its_key_is_refused(url: str, says: str) -> None:
    message, line = _error(BURST, url)
    assert says in message
    assert line == FRA1.read_text().splitlines().index(f"      url: {BURST}") + 1


def test_an_outside_https_burst_url_passes() -> None:
    load_site_text(FRA1.read_text().replace(BURST, "https://203.0.113.9:8443/v1"), str(FRA1))


def test_a_receiver_url_with_credentials_is_refused() -> None:
    message, line = _error(ONCALL, "https://gpuctl:secretpw@alerts.fra1.example.net/alertmanager")
    assert "credentials" in message and "secretpw" not in message
    assert line == next(i for i, t in enumerate(FRA1.read_text().splitlines(), 1) if ONCALL in t)


def test_validate_exits_2_naming_the_file_and_line(tmp_path) -> None:  # type: ignore[no-untyped-def]
    site = tmp_path / "site.yaml"
    site.write_text(FRA1.read_text().replace(BURST, "http://169.254.169.254/latest"))
    out = gpuctl("validate", str(site))
    assert out.returncode == 2, out.stdout + out.stderr
    assert f"{site}:" in out.stderr and "https://" in out.stderr and "Traceback" not in out.stderr


TRACES = '"http://tempo.monitoring.svc:4318"'


def test_a_trace_backend_url_with_credentials_is_refused() -> None:
    """The collector's exporter endpoint is written into its rendered config: a password there would be in Git."""
    message, line = _error(TRACES, '"http://tempo:secretpw@tempo.monitoring.svc:4318"')
    assert "credentials" in message and "secretpw" not in message
    assert line == next(i for i, t in enumerate(FRA1.read_text().splitlines(), 1) if TRACES in t)

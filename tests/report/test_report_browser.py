"""The HTML report of each example site in a real browser (Debian's chromium, headless, over the DevTools
protocol): no console errors, no request beyond the file itself, a text alternative on every image and chart, and a
full-page screenshot kept as a test artifact (GPUCTL_TEST_ARTIFACTS, default build/test-artifacts/report)."""

from __future__ import annotations

import base64
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from .cdp import CHROMIUM, Browser

ROOT = Path(__file__).resolve().parents[2]
SITES = ("fra1", "ams2")
ARTIFACTS = Path(os.environ.get("GPUCTL_TEST_ARTIFACTS", ROOT / "build" / "test-artifacts")) / "report"

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and shutil.which("chromium") is None,
    reason="Debian's chromium is not installed (scripts/bootstrap.sh dev installs it)",
)

UNLABELLED = """[...document.querySelectorAll('img, svg, [role=img]')]
  .filter(e => !((e.getAttribute('alt') || '').trim() || (e.getAttribute('aria-label') || '').trim()
                 || e.getAttribute('aria-labelledby')))
  .map(e => e.outerHTML.slice(0, 80))"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    b = Browser(tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield b
    finally:
        b.close()


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("reports")
    files = {}
    for site in SITES:
        target = out / f"{site}.html"
        subprocess.run(
            [sys.executable, "-m", "gpuctl.cli.app", "report", f"inventories/{site}/site.yaml", "-o", str(target)],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        files[site] = target
    return files


@pytest.mark.parametrize("site", SITES)
def test_report_opens_clean_in_chromium(site: str, browser: Browser, reports: dict[str, Path]) -> None:
    url = reports[site].as_uri()
    browser.open(url)
    assert browser.console_errors() == []
    assert browser.requests() == [url], "the report must fetch nothing beyond itself"
    assert browser.evaluate(UNLABELLED) == []
    charts = browser.evaluate("document.querySelectorAll('figure.chart svg').length")
    elevations = browser.evaluate("document.querySelectorAll('svg.elevation').length")
    assert elevations == 2  # both example sites have two racks
    assert charts >= 4
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / f"{site}.png"
    browser.screenshot(shot)
    assert shot.stat().st_size > 50_000  # a full page, not a blank one


def test_findings_are_marked_on_the_devices_they_concern(browser: Browser, reports: dict[str, Path]) -> None:
    browser.open(reports["ams2"].as_uri())
    marked = browser.evaluate(
        "[...document.querySelectorAll('svg.elevation g.dev-error')].map(g => g.querySelector('title').textContent"
        ".split(':')[0])"
    )
    assert sorted(marked) == ["dgx-01", "dgx-02", "dgx-03", "dgx-04", "l40s-01", "l40s-03"]
    badge = browser.evaluate(
        "[...document.querySelectorAll('g.dev-error')].find(g => g.textContent.includes('dgx-04'))"
        ".querySelector('.dev-badge').textContent"
    )
    assert badge == "⚠ NET006 SPC002 PWR003"


HOSTILE = {
    "market": '"><svg onload=alert(1)>',
    "provider": "<script>alert(2)</script>",
    "switch": '<img src="http://192.0.2.1/x.png" onerror="alert(3)">',
}


def test_spec_text_cannot_inject_markup(browser: Browser, tmp_path: Path) -> None:
    """Free-text fields of the spec (market, provider, a switch's model) land in HTML, SVG and aria-labels escaped:
    the page runs no script and fetches nothing."""
    text = (ROOT / "inventories/fra1/site.yaml").read_text()
    text = text.replace("market: eu-central (Frankfurt, FR5 cage 12)", f"market: '{HOSTILE['market']}'")
    text = text.replace("provider: Frankfurt colo operator (FR5)", f"provider: '{HOSTILE['provider']}'")
    text = text.replace("model: Arista 7050X3", f"model: '{HOSTILE['switch']}'", 1)
    site = tmp_path / "site.yaml"
    site.write_text(text)
    (tmp_path / "tco.yaml").write_text((ROOT / "inventories/fra1/tco.yaml").read_text())
    html = tmp_path / "hostile.html"
    subprocess.run(
        [sys.executable, "-m", "gpuctl.cli.app", "report", str(site), "-o", str(html)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    page = html.read_text()
    for value in HOSTILE.values():
        assert value not in page
    browser.open(html.as_uri())
    assert browser.console_errors() == []
    assert browser.requests() == [html.as_uri()]
    assert browser.evaluate("document.querySelectorAll('script, img, [onload], [onerror]').length") == 0
    assert HOSTILE["provider"] in browser.evaluate("document.querySelector('.sub').textContent")


def test_report_prints(browser: Browser, reports: dict[str, Path]) -> None:
    """Print CSS: A4 landscape, no navigation; the PDF is kept beside the screenshots."""
    browser.open(reports["ams2"].as_uri())
    pdf = base64.b64decode(browser.call("Page.printToPDF", {"printBackground": True}, session=True)["data"])
    assert pdf.startswith(b"%PDF")
    pages = pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages")
    assert 3 <= pages <= 20
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "ams2.pdf").write_bytes(pdf)

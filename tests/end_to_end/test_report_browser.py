"""`gtl-ray report` in a real browser: headless Chromium (Debian's `chromium` and
`chromium-driver`, driven by Selenium) opens the page of a real run and of a 64-member x
50-generation lineage; no console error, every image loaded, and a full-page screenshot kept as
a CI artefact (the folder is printed at the end of the test run). Skipped only where Chromium is
not installed (`.ci/run` installs it)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from gtl_ray.report import write_report
from tests.test_report import synthetic_run

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
ARTEFACTS = Path(os.environ.get("GTL_RAY_ARTIFACTS") or ROOT / "artifacts") / "browser"
WINDOW = (1280, 900)  #: CSS pixels: a laptop screen

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER), reason="Chromium is not installed: apt-get install chromium chromium-driver"
)


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars"):
        options.add_argument(flag)
    options.add_argument(f"--window-size={WINDOW[0]},{WINDOW[1]}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


def render(browser, page: Path, screenshot: Path) -> tuple[list[dict], list[dict]]:
    """Open `page`, then save a full-page screenshot: (console entries, every image's state)."""
    browser.set_window_size(*WINDOW)
    browser.get(page.resolve().as_uri())
    images = browser.execute_script(
        "return Array.from(document.images).map(i => ({alt: i.alt, complete: i.complete,"
        " width: i.naturalWidth, height: i.naturalHeight, shown: i.getBoundingClientRect().width}))"
    )
    console = browser.get_log("browser")
    browser.set_window_size(WINDOW[0], browser.execute_script("return document.documentElement.scrollHeight"))
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(screenshot))
    browser.set_window_size(*WINDOW)
    return console, images


def test_the_report_of_a_real_run_renders(tiny_run, browser, tmp_path, record_property):
    page = Path(write_report(tiny_run[1].run_dir, str(tmp_path / "report")))
    console, images = render(browser, page, ARTEFACTS / "report-tiny-run.png")
    record_property("artefact", str(ARTEFACTS))
    assert [e for e in console if e["level"] in ("SEVERE", "WARNING")] == []
    assert [i["alt"] for i in images] == ["fitness curve", "family tree", "generation timing"]
    assert all(i["complete"] and i["width"] > 0 and i["height"] > 0 for i in images), images


def test_the_family_tree_at_64_members_x_50_generations_is_shown_whole(tiny_run, browser, tmp_path, record_property):
    """The paper-scale tree is drawn at its full width (a row per member of about 7 pixels), not
    shrunk by the page, and the tables of 50 rows are folded so that it sits near the top."""
    synthetic_run(tiny_run[1].run_dir, tmp_path / "big", 64, 50)
    page = Path(write_report(str(tmp_path / "big"), str(tmp_path / "report")))
    console, images = render(browser, page, ARTEFACTS / "report-64x50.png")
    record_property("artefact", str(ARTEFACTS))
    assert [e for e in console if e["level"] in ("SEVERE", "WARNING")] == []
    assert all(i["complete"] and i["width"] > 0 for i in images), images
    (tree,) = [i for i in images if i["alt"] == "family tree"]
    assert tree["shown"] == tree["width"] >= 900 and tree["height"] / 64 >= 7
    top = browser.execute_script(
        "return document.querySelector('img[alt=\"family tree\"]').getBoundingClientRect().top"
    )
    assert top < 2 * WINDOW[1]  # within two screens of the top, above the folded tables

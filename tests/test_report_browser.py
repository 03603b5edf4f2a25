"""The report renders in a real headless Chromium (Debian's ``chromium`` driven by Playwright): a screenshot.

Skipped when /usr/bin/chromium or playwright is missing, unless
``DRUGWATCH_REQUIRE_BROWSER=1`` (CI), which turns the skip into a failure.
The screenshot goes to ``$DRUGWATCH_ARTIFACTS`` when set (CI uploads it),
else to the test's temporary folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from drugwatch.demo import generate_demo, write_demo
from drugwatch.report import build_report
from drugwatch.scan import run_scan
from drugwatch.scoring import train_default_detectors

pytestmark = pytest.mark.slow


def test_report_screenshot_in_headless_chromium(tmp_path: Path, chromium: tuple[str, list[str]]) -> None:
    executable, args = chromium
    from playwright.sync_api import sync_playwright

    models = train_default_detectors(generate_demo(seed=41, n_accounts=16, images=False).events, tmp_path / "m")
    corpus = write_demo(generate_demo(seed=42, n_accounts=16, images=True), tmp_path / "c")
    run_scan(corpus, tmp_path / "results.jsonl", model_dirs=list(models.values()))
    report = build_report(tmp_path / "results.jsonl", tmp_path / "report")
    artifacts = Path(os.environ.get("DRUGWATCH_ARTIFACTS") or tmp_path)
    artifacts.mkdir(parents=True, exist_ok=True)
    shot = artifacts / "report.png"
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=args, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            # Self-contained: any request other than the file itself would be a leak or a broken page.
            requests: list[str] = []
            page.on("request", lambda req: requests.append(req.url))
            page.goto(report.html.resolve().as_uri())
            assert page.title().startswith("drugwatch report")
            assert page.locator("table#jmir-contacts tbody tr").count() >= 3
            assert page.locator("svg.chart").count() >= 5
            box = page.locator("svg.chart").first.bounding_box()
            assert box is not None and box["width"] > 100 and box["height"] > 50
            assert page.locator("img[src^='data:image/jpeg']").count() >= 1
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert not errors
    assert [u for u in requests if not u.startswith(("file://", "data:"))] == []
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    from PIL import Image

    with Image.open(shot) as image:
        assert image.width == 1200 and image.height > 2000
        assert len(image.convert("RGB").getcolors(1 << 20) or ()) > 50  # not a blank page

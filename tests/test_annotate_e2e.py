"""End to end in a real headless Chromium (Debian's ``chromium`` driven by Playwright).

Two annotators and an adjudicator sign in, label with the keyboard only,
the adjudicator reads the agreement, resolves the one disagreement and
exports the final labels. Skipped when /usr/bin/chromium is missing, unless
``DRUGWATCH_REQUIRE_BROWSER=1`` (CI), which turns the skip into a failure.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import drugwatch.annotate.schema  # noqa: F401  (registers the tables)
from drugwatch.annotate import Settings, create_app, service
from drugwatch.annotate.auth import create_user
from drugwatch.records import Account, Event, ImageRef

PASSWORD = "e2e-password-123"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)

pytestmark = pytest.mark.slow



def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(tmp_path: Path, chromium: tuple[str, list[str]]) -> Iterator[str]:
    import uvicorn

    image = tmp_path / "bars.png"
    image.write_bytes(PNG)
    settings = Settings(
        db=f"sqlite:///{tmp_path / 'e2e.sqlite'}", secret_key="e2e-secret-key-0123456789",
        annotate_ocr=False, argon2_time_cost=1, argon2_memory_kib=1024,
    )
    app = create_app(settings)
    app.state.store.upsert(
        [
            Account(username="demo_plug", bio="wickr: demo_plug77"),
            Event(id="p1", text="2mg bars #xanax wickr demo_plug77", author="demo_plug", images=[ImageRef(path=str(image))]),
            Event(id="c1", kind="comment", parent_id="p1", post_id="p1", text="percs too, dm", author="demo_plug"),
        ]
    )
    for name, role in (("ann1", "annotator"), ("ann2", "annotator"), ("adj", "adjudicator")):
        create_user(app.state.engine, name, PASSWORD, role, app.state.hasher)
    service.assign(app.state.engine, k=2)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _login(browser, base: str, name: str):
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{base}/")  # anonymous: sent to the login form
    assert "/login" in page.url
    page.fill("#username", name)
    page.fill("#password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_load_state()
    return page


def _label(page, keys: list[str]) -> None:
    for key in keys:
        page.keyboard.press(key)


def _annotate(page, base: str, answers: dict[str, list[str]]) -> None:
    """Label each event of the queue with keys only; ``answers`` by caption start."""
    page.click("#start")
    for _ in range(len(answers)):
        page.wait_for_selector("#label-form")
        caption = page.inner_text("#caption")
        keys = next(k for start, k in answers.items() if caption.startswith(start))
        _label(page, keys)
        with page.expect_navigation():
            page.keyboard.press("Enter")
    page.wait_for_selector("#queue-empty")
    assert "2 of 2" in page.inner_text("#progress")


def test_two_annotators_and_an_adjudicator(server: str, tmp_path: Path, chromium: tuple[str, list[str]]) -> None:
    executable, args = chromium
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=args, headless=True)
        try:
            ann1 = _login(browser, server, "ann1")
            assert ann1.url.endswith("/tasks")
            # The item view shows the evidence: image, caption, hashtags, thread, bio.
            ann1.click("#start")
            ann1.wait_for_selector("#label-form")
            assert ann1.is_visible(".images img") and "#xanax" in ann1.inner_text("#hashtags")
            assert "percs too" in ann1.inner_text("#thread") and "demo_plug77" in ann1.inner_text("#bio")
            ann1.goto(f"{server}/tasks")
            # Keys: level (h/i/c), label digit (4 = xanax, 5 = painkiller, 0 = non_drug), y/n dealer.
            _annotate(ann1, server, {"2mg bars": ["h", "4", "i", "4", "c", "4", "y"], "percs too": ["c", "5", "y"]})

            ann2 = _login(browser, server, "ann2")
            # ann2 cannot see what ann1 chose: the agreement page is not for annotators.
            response = ann2.goto(f"{server}/agreement")
            assert response is not None and response.status == 403
            ann2.goto(f"{server}/tasks")
            _annotate(ann2, server, {"2mg bars": ["h", "4", "i", "4", "c", "4", "y"], "percs too": ["c", "0", "n"]})

            adj = _login(browser, server, "adj")
            assert adj.url.endswith("/adjudicate")
            adj.goto(f"{server}/agreement")
            pairs = adj.inner_text("#pairs")
            assert "ann1" in pairs and "ann2" in pairs
            assert "Krippendorff" in adj.content()
            adj.goto(f"{server}/adjudicate")
            assert "instagram:c1" in adj.inner_text("#disagreements")
            adj.click("text=instagram:c1")
            adj.wait_for_selector("#answers")
            assert "painkiller" in adj.inner_text("#answers") and "non_drug" in adj.inner_text("#answers")
            # The tied comment level starts from the drug label (never blank); only the dealer answer is keyed.
            assert adj.is_checked("#comment-painkiller") and not adj.is_checked("#comment-non_drug")
            _label(adj, ["y"])
            assert adj.is_checked("#comment-painkiller") and adj.is_checked("#selling-yes")
            with adj.expect_navigation():
                adj.keyboard.press("Enter")
            adj.wait_for_selector("#no-disagreements")

            adj.goto(f"{server}/export")
            assert "2 event(s)" in adj.inner_text("#final-count")
            with adj.expect_download() as download:
                adj.click("#export-jsonl")
            path = tmp_path / "labels.jsonl"
            download.value.save_as(path)
        finally:
            browser.close()
    records = {r["id"]: r for r in map(json.loads, path.read_text(encoding="utf-8").splitlines())}
    assert records["p1"]["labels"] == ["xanax"] and records["p1"]["selling"] is True
    assert records["p1"]["meta"]["label_source"] == "consensus"
    assert records["c1"]["labels"] == ["painkiller"] and records["c1"]["selling"] is True
    assert records["c1"]["meta"]["label_source"] == "adjudicated"

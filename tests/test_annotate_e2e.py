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
from contextlib import contextmanager
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


@contextmanager
def _serving(app) -> Iterator[str]:
    """``app`` served by uvicorn on a free local port, in a thread; yields its base URL."""
    import uvicorn

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


@pytest.fixture
def server(tmp_path: Path, chromium: tuple[str, list[str]]) -> Iterator[str]:

    image = tmp_path / "bars.png"
    image.write_bytes(PNG)
    settings = Settings(
        db=f"sqlite:///{tmp_path / 'e2e.sqlite'}",
        secret_key="e2e-secret-key-0123456789",
        annotate_ocr=False,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
    )
    app = create_app(settings)
    app.state.store.upsert(
        [
            Account(username="demo_plug", bio="wickr: demo_plug77"),
            Event(
                id="p1",
                text="2mg bars #xanax wickr demo_plug77",
                author="demo_plug",
                images=[ImageRef(path=str(image))],
            ),
            Event(id="c1", kind="comment", parent_id="p1", post_id="p1", text="percs too, dm", author="demo_plug"),
        ]
    )
    for name, role in (("ann1", "annotator"), ("ann2", "annotator"), ("adj", "adjudicator")):
        create_user(app.state.engine, name, PASSWORD, role, app.state.hasher)
    service.assign(app.state.engine, k=2)
    with _serving(app) as base:
        yield base


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
            # "Accept <annotator>" puts that annotator's whole answer in the form.
            adj.click("#accept-ann2")
            assert (
                adj.is_checked("#comment-non_drug")
                and not adj.is_checked("#comment-painkiller")
                and adj.is_checked("#selling-no")
            )
            adj.click("#accept-ann1")
            assert (
                adj.is_checked("#comment-painkiller")
                and not adj.is_checked("#comment-non_drug")
                and adj.is_checked("#selling-yes")
            )
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


# ---------------------------------------------------------------------------
# One-key answers, suggestions, undo and the compact layout, in a 1024x700 window


class _Scorer:
    """The models' answers for the labeller test (EventScorer's shape): p1 is xanax and a dealer."""

    from types import SimpleNamespace as _NS

    models = (_NS(name="test.drugtype", version=1), _NS(name="test.selling", version=1))

    def score(self, events):
        from types import SimpleNamespace

        from drugwatch.labels import LABELS

        out = []
        for event in events:
            drug = event.id == "p1"
            probabilities = {label: 0.02 for label in LABELS}
            probabilities["xanax" if drug else "non_drug"] = 0.97
            out.append(
                SimpleNamespace(
                    key=event.key,
                    drug_probabilities=probabilities,
                    drug_labels=("xanax",) if drug else ("non_drug",),
                    selling=drug,
                    selling_probability=0.9 if drug else 0.05,
                )
            )
        return out


@pytest.fixture
def labeller_server(tmp_path: Path, chromium: tuple[str, list[str]]) -> Iterator[tuple[str, object]]:

    from drugwatch.annotate.suggest import Suggester

    image = tmp_path / "bars.png"
    image.write_bytes(PNG)
    settings = Settings(
        db=f"sqlite:///{tmp_path / 'labeller.sqlite'}",
        secret_key="e2e-secret-key-0123456789",
        annotate_ocr=False,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        media_roots=[tmp_path],
    )
    app = create_app(settings)
    app.state.suggester = Suggester(_Scorer())
    app.state.store.upsert(
        [
            Account(username="demo_plug", bio="wickr: demo_plug77"),
            Event(
                id="p1",
                text="2mg bars #xanax wickr demo_plug77 " + "stealth shipping, same day. " * 12,
                author="demo_plug",
                images=[ImageRef(path=str(image))],
            ),
            Event(id="c1", kind="comment", parent_id="p1", post_id="p1", text="how much for 10?", author="demo_buyer"),
            Event(id="p2", text="sunset at the beach #travel", author="demo_tourist"),
        ]
    )
    create_user(app.state.engine, "ann1", PASSWORD, "annotator", app.state.hasher)
    service.assign(app.state.engine, k=1)
    with _serving(app) as base:
        yield base, app


def _in_view(page, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 700


def test_one_key_answers_suggestions_and_undo_at_1024x700(labeller_server, chromium) -> None:
    base, app = labeller_server
    executable, args = chromium
    from playwright.sync_api import sync_playwright

    failures: list[str] = []
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=args, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1024, "height": 700})
            page = context.new_page()
            page.set_default_timeout(20_000)
            page.on("response", lambda r: failures.append(f"{r.status} {r.url}") if r.status >= 400 else None)
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(f"{base}/login")
            page.fill("#username", "ann1")
            page.fill("#password", PASSWORD)
            page.click("#login-submit")
            page.wait_for_url("**/tasks")
            page.click("#start")

            # p1: three levels, a long caption; the dealer question and Submit stay in view.
            page.wait_for_selector("#label-form")
            assert _in_view(page, "#level-dealer") and _in_view(page, "#submit-labels")
            # Images: b blurs and unblurs, z zooms.
            assert "blurred" not in page.get_attribute("#images", "class")
            _label(page, ["b", "z"])
            assert "blurred" in page.get_attribute("#images", "class") and "zoomed" in page.get_attribute(
                "#images img", "class"
            )
            _label(page, ["b", "z"])
            assert page.get_attribute("#comment-xanax", "data-suggested") == "1" and not page.is_checked(
                "#comment-xanax"
            )
            _label(page, ["h", "5", "="])  # copy the hashtag level to the others
            assert page.is_checked("#image-painkiller") and page.is_checked("#comment-painkiller")
            _label(page, ["a"])  # accept the suggestions: exactly them, at every level
            assert (
                page.is_checked("#image-xanax")
                and not page.is_checked("#image-painkiller")
                and page.is_checked("#selling-yes")
            )
            with page.expect_navigation():
                page.keyboard.press("Enter")

            # c1: skip, and undo the skip from the next page.
            page.wait_for_selector("#label-form")
            assert "how much for 10?" in page.inner_text("#caption")
            with page.expect_navigation():
                page.keyboard.press("s")
            page.wait_for_selector("#undo-last")
            assert "Skipped" in page.inner_text("#undo-last")
            with page.expect_navigation():
                page.keyboard.press("u")
            assert "how much for 10?" in page.inner_text("#caption")
            # [ goes back to the item just submitted, ] forward again.
            with page.expect_navigation():
                page.keyboard.press("[")
            assert "You submitted this item" in page.inner_text("#task-status")
            with page.expect_navigation():
                page.keyboard.press("]")
            assert "how much for 10?" in page.inner_text("#caption")
            # A harmless item: x (non_drug everywhere, dealer no) and Enter.
            _label(page, ["x"])
            with page.expect_navigation():
                page.keyboard.press("Enter")
            page.wait_for_selector("#label-form")
            assert "sunset" in page.inner_text("#caption")
            # The guidelines panel opens with g; d keeps a draft and moves on (none left: the queue).
            _label(page, ["g"])
            assert page.is_visible("#guide-panel dl") and "Alprazolam" in page.inner_text("#guide-panel")
            _label(page, ["h", "1"])
            with page.expect_navigation():
                page.keyboard.press("d")
            page.wait_for_selector("#queue")
            assert "draft" in page.inner_text("#queue")
            page.click("#queue a")
            page.wait_for_selector("#label-form")
            assert page.is_checked("#hashtag-marijuana") and "Draft" in page.inner_text("#task-status")
            _label(page, ["x"])
            with page.expect_navigation():
                page.keyboard.press("Enter")
            page.wait_for_selector("#queue-empty")
            page.goto(f"{base}/tasks/history?status=done")
            assert page.locator("#history-table tbody tr").count() == 3
        finally:
            browser.close()
    assert failures == [] and errors == []
    answers = service.collect_answers(app.state.engine)
    assert answers["instagram:p1"]["ann1"] == {
        "hashtag": ("xanax",),
        "image": ("xanax",),
        "comment": ("xanax",),
        "dealer": True,
    }
    assert answers["instagram:p2"]["ann1"] == {"hashtag": ("non_drug",), "comment": ("non_drug",), "dealer": False}
    assert answers["instagram:c1"]["ann1"] == {"comment": ("non_drug",), "dealer": False}
    from drugwatch.annotate.suggest import suggestion_report

    report = suggestion_report(app.state.engine)
    assert report["answers"] == 3 and report["answers_accepted"] == 3  # every suggestion here was right


#: Two made-up slang words in sale context, and ordinary texts.
SLANG_TEXTS = [
    "zootie for sale hmu 3.5g",
    "fresh zootie and molly, dm me",
    "zootie 1oz $200",
    "cocaine and blizzo available, telegram",
    "blizzo 1g $80 hmu",
    "blizzo 2g dm",
    "the weather is nice today",
    "nice weather for a walk",
]


def test_slang_review_with_keys_writes_the_user_lexicon(tmp_path: Path, chromium: tuple[str, list[str]]) -> None:
    """An admin runs discovery, accepts one term with keys only (label digit, Enter) and rejects another (x)."""
    from playwright.sync_api import sync_playwright

    lexicon = tmp_path / "user.tsv"
    settings = Settings(
        db=f"sqlite:///{tmp_path / 'slang.sqlite'}",
        secret_key="e2e-secret-key-0123456789",
        annotate_ocr=False,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        user_lexicon=lexicon,
    )
    app = create_app(settings)
    app.state.store.upsert([Event(id=f"s{i}", text=t, author="demo_user") for i, t in enumerate(SLANG_TEXTS)])
    create_user(app.state.engine, "boss", PASSWORD, "admin", app.state.hasher)
    executable, args = chromium
    errors: list[str] = []
    with _serving(app) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=args, headless=True)
        try:
            page = _login(browser, base, "boss")
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
            page.goto(f"{base}/admin/slang")
            page.fill('#slang-run input[name="min_count"]', "2")
            with page.expect_navigation():
                page.click("#slang-run button[type=submit]")
            terms = page.locator("form.slang-card").evaluate_all("cs => cs.map(c => c.dataset.slangTerm)")
            assert {"zootie", "blizzo"} <= set(terms), terms
            first, second = terms[0], terms[1]
            page.locator("body").click(position={"x": 1, "y": 1})  # focus the page, not a form field
            page.keyboard.press("1")  # label key 1 on the active (first) card
            with page.expect_navigation():
                page.keyboard.press("Enter")
            assert first in page.inner_text("#slang-decided")
            remaining = page.locator("form.slang-card").evaluate_all("cs => cs.map(c => c.dataset.slangTerm)")
            assert first not in remaining and second in remaining
            page.locator("body").click(position={"x": 1, "y": 1})
            for _ in range(remaining.index(second)):  # "]" moves to the next card
                page.keyboard.press("]")
            assert page.locator("form.slang-card.active").get_attribute("data-slang-term") == second
            with page.expect_navigation():
                page.keyboard.press("x")
            decided = page.inner_text("#slang-decided")
            assert "rejected" in decided and second in decided
        finally:
            browser.close()
    written = lexicon.read_text(encoding="utf-8")
    assert f"{first}\t" in written and f"{second}\t" not in written
    assert errors == []

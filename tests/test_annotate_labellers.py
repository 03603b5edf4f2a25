"""What makes the annotation app quick and honest for labellers: every
validation error at once, history and undo, previous/next, model
suggestions (recorded apart from the answer), guidelines, and evidence
(OCR quality bar, three highlight styles). HTTP through TestClient; the
browser checks are in test_annotate_e2e.py."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

import drugwatch.annotate.schema  # noqa: F401  (registers the tables)
from drugwatch.annotate import Settings, create_app, service
from drugwatch.annotate.auth import create_user
from drugwatch.annotate.evidence import evidence_spans, highlight, readable_lines, readable_text
from drugwatch.annotate.guidelines import GuidelinesError, load_guidelines
from drugwatch.annotate.schema import AnnotationRow, AssignmentRow, UserRow
from drugwatch.annotate.suggest import Suggester, suggestion_report
from drugwatch.labels import LABELS
from drugwatch.records import Account, Event, ImageRef

PASSWORDS = {"ann1": "pw-ann1-0123", "ann2": "pw-ann2-0123", "adj": "pw-adj-0123", "boss": "pw-boss-0123"}
ROLE_OF = {"ann1": "annotator", "ann2": "annotator", "adj": "adjudicator", "boss": "admin"}
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def _corpus(tmp_path: Path) -> list[Event | Account]:
    image = tmp_path / "drawing.png"
    image.write_bytes(PNG)
    return [
        Account(username="demo_plug", bio="wickr: demo_plug77"),
        Event(
            id="p1",
            text="fresh 2mg bars #xanax wickr demo_plug77",
            author="demo_plug",
            images=[ImageRef(path=str(image))],
            meta={"ocr_text": "M\n2\n..\ncall 555 201 3344"},
        ),
        Event(id="c1", kind="comment", parent_id="p1", post_id="p1", text="how much for 10?", author="demo_buyer"),
        Event(id="c2", kind="comment", parent_id="c1", post_id="p1", text="dm me, percs too", author="demo_plug"),
        Event(id="p2", text="sunset at the beach #travel", author="demo_tourist"),
    ]


#: What the fake models answer per event key: drug labels and P(selling).
MODEL = {
    "instagram:p1": (("xanax",), 0.92),
    "instagram:c1": ((), 0.10),
    "instagram:c2": (("painkiller",), 0.81),
    "instagram:p2": ((), 0.03),
}


class FakeScorer:
    """Stands in for drugwatch.scoring.EventScorer: same ``models`` and ``score`` shape."""

    models = (SimpleNamespace(name="test.drugtype", version=1), SimpleNamespace(name="test.selling", version=1))

    def __init__(self) -> None:
        self.calls = 0

    def score(self, events):
        self.calls += 1
        out = []
        for event in events:
            drugs, selling = MODEL[event.key]
            probabilities = {label: (0.9 if label in drugs else 0.05) for label in LABELS}
            probabilities["non_drug"] = 0.05 if drugs else 0.95
            out.append(
                SimpleNamespace(
                    key=event.key,
                    drug_probabilities=probabilities,
                    drug_labels=drugs or ("non_drug",),
                    selling=selling >= 0.5,
                    selling_probability=selling,
                )
            )
        return out


@pytest.fixture
def make_app(tmp_path: Path):
    def build(url: str | None = None, **overrides):
        settings = Settings(
            db=url or f"sqlite:///{tmp_path / 'labellers.sqlite'}",
            secret_key="test-secret-key-0123456789",
            annotate_ocr=False,
            argon2_time_cost=1,
            argon2_memory_kib=1024,
            media_roots=[tmp_path],
            **overrides,
        )
        app = create_app(settings)
        app.state.store.upsert(_corpus(tmp_path))
        for name, password in PASSWORDS.items():
            create_user(app.state.engine, name, password, ROLE_OF[name], app.state.hasher)
        service.assign(app.state.engine, k=2, annotators=["ann1", "ann2"])
        return app

    return build


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def suggesting_app(make_app):
    app = make_app()
    app.state.suggester = Suggester(FakeScorer())
    app.state.scorer = app.state.suggester.probabilities
    return app


def login(app, name: str) -> TestClient:
    client = TestClient(app)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    response = client.post(
        "/login", data={"username": name, "password": PASSWORDS[name], "csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303
    client.csrf = re.search(
        r'name="csrf_token" value="([^"]+)"', client.get("/", headers={"accept": "text/html"}).text
    ).group(1)  # type: ignore[attr-defined]
    return client


def task_for(app, name: str, event_key: str) -> int:
    with app.state.engine.connect() as conn:
        return conn.execute(
            select(AssignmentRow.id)
            .join(UserRow, UserRow.id == AssignmentRow.user_id)
            .where(UserRow.username == name, AssignmentRow.event_key == event_key)
        ).scalar_one()


def status_of(app, task_id: int) -> str:
    with app.state.engine.connect() as conn:
        return conn.execute(select(AssignmentRow.status).where(AssignmentRow.id == task_id)).scalar_one()


def answer(event_key: str, labels: list[str], selling: bool) -> dict:
    data: dict = {"comment": labels, "selling": "1" if selling else "0"}
    if event_key == "instagram:p1":
        data.update(hashtag=labels, image=labels)
    if event_key == "instagram:p2":
        data.update(hashtag=labels)
    return data


def post(client: TestClient, url: str, data: dict | None = None, **kwargs):
    return client.post(url, data={**(data or {}), "csrf_token": client.csrf}, follow_redirects=False, **kwargs)


def visible_text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


# ---------------------------------------------------------------------------
# One-key answers need a form that names things and says everything at once


def test_every_validation_error_is_shown_at_once(app) -> None:
    client = login(app, "ann1")
    task = task_for(app, "ann1", "instagram:p1")
    response = post(client, f"/tasks/{task}", {"comment": ["non_drug", "xanax"]})
    assert response.status_code == 422
    errors = re.findall(r"<li>([^<]+)</li>", response.text.split('id="form-error"')[1].split("</ul>")[0])
    assert len(errors) == 4, errors
    joined = " | ".join(errors)
    for expected in ("hashtag level", "image level", "exclusive", "dealer question"):
        assert expected in joined
    # What was chosen survives the refusal.
    assert re.search(r'id="comment-xanax"[^>]*checked', response.text)


def test_levels_are_named_for_what_they_are(app) -> None:
    client = login(app, "ann1")
    post_html = client.get(f"/tasks/{task_for(app, 'ann1', 'instagram:p1')}").text
    post_page = visible_text(post_html)
    assert "c Caption" in post_page and "comment level" not in post_page.lower()
    comment_page = client.get(f"/tasks/{task_for(app, 'ann1', 'instagram:c2')}").text
    assert "c Comment text" in visible_text(comment_page)
    assert "Only the highlighted comment is being labelled" in visible_text(comment_page)
    # The one-key answers are offered (keys.js binds them; the buttons do the same).
    assert 'id="all-non-drug"' in post_html and 'id="copy-level"' in post_html
    assert 'id="copy-level"' not in comment_page  # one level: nothing to copy to


# ---------------------------------------------------------------------------
# History, undo, previous/next


def test_history_lists_submitted_skipped_flagged_and_drafts_with_filters(store_url, make_app) -> None:
    app = make_app(store_url)
    client = login(app, "ann1")
    p1, c1, c2, p2 = (task_for(app, "ann1", f"instagram:{i}") for i in ("p1", "c1", "c2", "p2"))
    assert post(client, f"/tasks/{p1}", answer("instagram:p1", ["xanax"], True)).status_code == 303
    assert post(client, f"/tasks/{c1}/skip").status_code == 303
    assert post(client, f"/tasks/{c2}/flag", {"note": "opioid or codeine?"}).status_code == 303
    response = post(client, f"/tasks/{p2}/draft", {"hashtag": ["non_drug"]})
    assert response.status_code == 303 and response.headers["location"] == f"/tasks/next?last={p2}&did=drafted"
    assert status_of(app, p2) == "pending"
    # The drafted item stays pending but the next one is another: here none is left, so the queue.
    assert (
        client.get(response.headers["location"], follow_redirects=False).headers["location"]
        == f"/tasks?last={p2}&did=drafted"
    )

    page = client.get("/tasks/history").text
    rows = re.findall(r'<tr class="state-(\w+)">', page)
    assert sorted(rows) == ["done", "draft", "flagged", "skipped"]
    assert "fresh 2mg bars #xanax" in page and "opioid or codeine?" in page  # previews and the flag note
    assert "xanax" in visible_text(page.split('class="state-done"')[1].split("</tr>")[0])  # my labels
    for status, expected in (
        ("done", ["done"]),
        ("skipped", ["skipped"]),
        ("flagged", ["flagged"]),
        ("draft", ["draft"]),
    ):
        rows = re.findall(r'<tr class="state-(\w+)">', client.get(f"/tasks/history?status={status}").text)
        assert rows == expected, status
    assert re.findall(r'<tr class="state-(\w+)">', client.get("/tasks/history?kind=comment").text) in (
        ["flagged", "skipped"],
        ["skipped", "flagged"],
    )
    assert re.findall(r'<tr class="state-(\w+)">', client.get("/tasks/history?q=SUNSET").text) == ["draft"]
    assert client.get("/tasks/history?status=bogus").status_code == 422
    # A draft is not an answer: agreement and adjudication do not see it.
    assert "instagram:p2" not in service.collect_answers(app.state.engine)
    draft_page = client.get(f"/tasks/{p2}").text
    assert "Draft: not submitted yet" in draft_page and re.search(r'id="hashtag-non_drug"[^>]*checked', draft_page)


def test_undo_skip_and_submit_until_adjudicated(store_url, make_app) -> None:
    app = make_app(store_url)
    client = login(app, "ann1")
    p1 = task_for(app, "ann1", "instagram:p1")
    skipped = post(client, f"/tasks/{p1}/skip")
    # The next page offers to undo the skip.
    landing = client.get(client.get(skipped.headers["location"], follow_redirects=False).headers["location"]).text
    assert f'action="/tasks/{p1}/undo" id="undo-last"' in landing and "Skipped" in landing
    assert post(client, f"/tasks/{p1}/undo").headers["location"] == f"/tasks/{p1}"
    assert status_of(app, p1) == "pending"

    c2 = task_for(app, "ann1", "instagram:c2")
    assert post(client, f"/tasks/{c2}", {"comment": ["painkiller"], "selling": "1"}).status_code == 303
    page = client.get(f"/tasks/{c2}").text
    assert "You submitted this item" in page and 'id="undo-button"' in page
    assert post(client, f"/tasks/{c2}/undo").status_code == 303
    assert status_of(app, c2) == "pending"
    reopened = client.get(f"/tasks/{c2}").text  # the answer comes back as a draft
    assert "Draft: not submitted yet" in reopened and re.search(r'id="comment-painkiller"[^>]*checked', reopened)

    # Once adjudicated, the answer is fixed: no undo, no new submission.
    assert post(client, f"/tasks/{c2}", {"comment": ["painkiller"], "selling": "1"}).status_code == 303
    other = login(app, "ann2")
    assert (
        post(
            other, f"/tasks/{task_for(app, 'ann2', 'instagram:c2')}", {"comment": ["cocaine"], "selling": "1"}
        ).status_code
        == 303
    )
    adjudicator = login(app, "adj")
    assert post(adjudicator, "/adjudicate/instagram:c2", {"comment": ["painkiller"], "selling": "1"}).status_code == 303
    assert post(client, f"/tasks/{c2}/undo").status_code == 409
    assert post(client, f"/tasks/{c2}", {"comment": ["cocaine"], "selling": "0"}).status_code == 409
    assert status_of(app, c2) == "done"
    assert "it is adjudicated" in client.get(f"/tasks/{c2}").text


def test_previous_and_next_walk_the_history_then_the_queue(store_url, make_app) -> None:
    app = make_app(store_url)
    client = login(app, "ann1")
    p1, c1, c2, p2 = (task_for(app, "ann1", f"instagram:{i}") for i in ("p1", "c1", "c2", "p2"))
    post(client, f"/tasks/{p1}", answer("instagram:p1", ["xanax"], True))
    post(client, f"/tasks/{c1}/skip")

    def links(task_id: int) -> tuple[str | None, str | None]:
        html = client.get(f"/tasks/{task_id}").text
        prev = re.search(r'href="/tasks/(\d+)" id="previous-link"', html)
        nxt = re.search(r'href="/tasks/(\d+)" id="next-link"', html)
        return (prev and prev.group(1)), (nxt and nxt.group(1))

    assert links(c2) == (str(c1), str(p2))  # pending: back to the last finished item, on to the queue
    assert links(c1) == (str(p1), str(c2))  # finished: the item before it, then the first pending one
    assert links(p1) == (None, str(c1))


def test_annotators_cannot_undo_or_draft_for_others(app) -> None:
    client = login(app, "ann1")
    theirs = task_for(app, "ann2", "instagram:p1")
    assert post(client, f"/tasks/{theirs}/undo").status_code == 404
    assert post(client, f"/tasks/{theirs}/draft", {"comment": ["xanax"]}).status_code == 404
    assert client.get("/tasks/history?q=fresh").text.count('class="state-') == 0


# ---------------------------------------------------------------------------
# Suggestions


def test_suggestions_are_marked_not_checked_and_recorded_apart(store_url, make_app) -> None:
    app = make_app(store_url)
    app.state.suggester = Suggester(FakeScorer())
    client = login(app, "ann1")
    p1 = task_for(app, "ann1", "instagram:p1")
    page = client.get(f"/tasks/{p1}").text
    for level in ("hashtag", "image", "comment"):
        box = re.search(rf'<input[^>]*id="{level}-xanax"[^>]*>', page).group(0)
        assert 'data-suggested="1"' in box and "checked" not in box  # offered, not pre-ticked
    assert 'id="dealer-suggestion">model: yes (0.92)' in page
    assert '<small class="prob">0.90</small>' in page  # the label's probability
    # The queue says what the model thinks and why an item is where it is.
    queue = client.get("/tasks").text
    assert "painkiller · dealer yes" in queue and "how much for 10?" in queue
    row = queue.split("dm me, percs too")[1].split("</tr>")[0]
    assert "<td>0.38</td>" in row  # P(selling) = 0.81 is its least certain column: 1 - |2p - 1|

    # ann1 accepts the suggestion (what the `a` key does), ann2 corrects it.
    assert post(client, f"/tasks/{p1}", answer("instagram:p1", ["xanax"], True)).status_code == 303
    ann2 = login(app, "ann2")
    p1b = task_for(app, "ann2", "instagram:p1")
    ann2.get(f"/tasks/{p1b}")
    assert (
        post(
            ann2, f"/tasks/{p1b}", {"hashtag": ["xanax"], "image": ["painkiller"], "comment": ["xanax"], "selling": "1"}
        ).status_code
        == 303
    )
    with app.state.engine.connect() as conn:
        rows = {(r.user_id, r.level): (r.labels, r.selling, r.suggested) for r in conn.execute(select(AnnotationRow))}
    assert all(suggested == ["xanax"] for (_, level), (_, _, suggested) in rows.items() if level != "dealer")
    assert all(suggested == [True] for (_, level), (_, _, suggested) in rows.items() if level == "dealer")

    report = suggestion_report(app.state.engine)
    assert (report["units"], report["accepted"]) == (8, 7)
    assert report["answers_accepted"] == 1 and report["answers"] == 2
    assert report["by_level"]["image"]["acceptance_rate"] == pytest.approx(0.5)
    xanax = next(row for row in report["labels"] if row["label"] == "xanax")
    assert (xanax["suggested"], xanax["kept"], xanax["removed"]) == (6, 5, 1)
    assert next(row for row in report["labels"] if row["label"] == "painkiller")["added"] == 1
    # Agreement between people is computed on their answers, the acceptance beside it.
    adjudicator = login(app, "adj")
    combined = adjudicator.get("/agreement.json").json()
    assert combined["suggestions"]["acceptance_rate"] == pytest.approx(7 / 8)
    assert combined["pairs"][0]["raw_agreement"] == pytest.approx(3 / 4)
    assert "7</strong> of 8" in adjudicator.get("/agreement").text
    # The export says what the model suggested and whether the final labels agree.
    post(adjudicator, "/adjudicate/instagram:p1", answer("instagram:p1", ["xanax"], True))
    records = [json.loads(line) for line in adjudicator.get("/export/labels.jsonl").text.splitlines()]
    meta = next(r["meta"] for r in records if r["id"] == "p1")
    assert meta["suggestion"]["labels"] == ["xanax"] and meta["suggestion"]["labels_match_final"] is True
    assert meta["suggestion"]["models"] == "test.drugtype@1, test.selling@1"


def test_suggestions_are_computed_once_and_kept(suggesting_app) -> None:
    app = suggesting_app
    client = login(app, "ann1")
    client.get("/tasks")
    calls = app.state.suggester.scorer.calls
    for key in ("p1", "c1", "c2", "p2"):
        client.get(f"/tasks/{task_for(app, 'ann1', f'instagram:{key}')}")
    assert app.state.suggester.scorer.calls == calls  # read back from annotate_suggestions


def test_a_project_can_turn_suggestions_off(suggesting_app) -> None:
    app = suggesting_app
    admin = login(app, "boss")
    page = post(admin, "/admin/assignments/options", {"blur_images": "true"})
    assert page.status_code == 200 and "hidden (blind labelling)" in page.text
    assert service.get_options(app.state.engine) == {"suggestions": False, "blur_images": True}
    client = login(app, "ann1")
    p1 = task_for(app, "ann1", "instagram:p1")
    html = client.get(f"/tasks/{p1}").text
    assert "data-suggested" not in html and 'id="accept-suggestions"' not in html
    assert 'class="images blurred"' in html
    post(client, f"/tasks/{p1}", answer("instagram:p1", ["xanax"], True))
    with app.state.engine.connect() as conn:
        assert {r for (r,) in conn.execute(select(AnnotationRow.suggested))} == {None}
    assert suggestion_report(app.state.engine)["units"] == 0


def test_suggestions_from_a_saved_detector(make_app, tmp_path: Path) -> None:
    from drugwatch.models.registry import get_detector_class

    train = [
        Event(
            id=f"t{i}",
            text=f"xanax bars wickr plug{i} dm to order" if i % 2 else f"sunset at the beach day {i}",
            selling=bool(i % 2),
        )
        for i in range(20)
    ]
    model_dir = tmp_path / "models" / "selling"
    get_detector_class("drugwatch.jmir_rf.v1")().fit(train).save(model_dir)
    for path in (model_dir, model_dir.parent):  # a detector directory, or the scan's folder layout
        app = make_app(annotate_model=path)
        client = login(app, "ann1")
        html = client.get(f"/tasks/{task_for(app, 'ann1', 'instagram:p1')}").text
        assert 'id="dealer-suggestion"' in html
        assert "data-suggested" in html.split('id="level-dealer"')[1]  # a selling model suggests the dealer answer only
        assert not re.search(r'id="comment-\w+"[^>]*data-suggested', html)
        app.state.store.close()


# ---------------------------------------------------------------------------
# Guidelines


def test_guidelines_page_panel_and_tooltips(app) -> None:
    client = login(app, "ann1")
    page = client.get("/guidelines")
    assert page.status_code == 200
    text = visible_text(page.text)
    for label in LABELS:
        assert f'id="guide-{label}"' in page.text
    assert "What counts as contact information" in text and "Wickr" in text
    item = client.get(f"/tasks/{task_for(app, 'ann1', 'instagram:p1')}").text
    assert 'id="guide-panel"' in item
    assert re.search(
        r'<th scope="row" class="label-name" title="Alprazolam[^"]*school buses', item
    )  # tooltip with examples


def test_a_project_file_overrides_the_guidelines(make_app, tmp_path: Path) -> None:
    custom = tmp_path / "guide.toml"
    custom.write_text('[labels.xanax]\ndefinition = "Benzodiazepine bars of any brand."\n', encoding="utf-8")
    guide = load_guidelines(custom)
    assert guide.labels["xanax"].definition == "Benzodiazepine bars of any brand."
    assert guide.labels["xanax"].examples  # kept from the built-in text
    assert guide.labels["cocaine"].definition.startswith("Cocaine")
    app = make_app(annotate_guidelines=custom)
    assert "Benzodiazepine bars of any brand." in login(app, "ann1").get("/guidelines").text
    bad = tmp_path / "bad.toml"
    bad.write_text('[labels.weed]\ndefinition = "x"\n', encoding="utf-8")
    with pytest.raises(GuidelinesError, match="unknown label.*weed"):
        load_guidelines(bad)
    bad.write_text("[labels.xanax\n", encoding="utf-8")
    with pytest.raises(GuidelinesError, match="not valid UTF-8 TOML"):
        load_guidelines(bad)


# ---------------------------------------------------------------------------
# Honest evidence


def test_ocr_noise_is_not_shown_as_text() -> None:
    reading = readable_text("M\n2\n..\ncall 555 201 3344\n")
    assert reading.text == "call 555 201 3344" and reading.dropped == 3
    reading = readable_lines([("SALE 2mg", 0.95), ("blurry words", 0.41), ("xx", 0.99), ("Wickr plug77", 0.85)], 0.8)
    assert reading.text == "SALE 2mg\nWickr plug77" and reading.dropped == 2
    assert reading.confidence == pytest.approx(0.9)


def test_item_page_shows_only_readable_ocr(app) -> None:
    client = login(app, "ann1")
    html = client.get(f"/tasks/{task_for(app, 'ann1', 'instagram:p1')}").text
    ocr = html.split('id="ocr-text">')[1].split("</pre>")[0]
    assert visible_text(ocr) == "call 555 201 3344"
    assert "3 OCR fragment(s) hidden" in html


def test_drug_terms_sale_cues_and_contacts_have_three_styles() -> None:
    text = "Stealth packaging, same day delivery. school buses and fishscale, call 617 555 01 six two #xanax"
    spans = {text[s.start : s.end]: s.style for s in evidence_spans(text)}
    assert spans["Stealth packaging"] == "sale" and spans["same day delivery"] == "sale"
    assert spans["school buses"] == "drug" and spans["fishscale"] == "drug"
    assert spans["617 555 01 six two"] == "contact"  # the whole number, words included
    assert spans["#xanax"] == "tag"
    html = str(highlight(text))
    assert {"drug", "sale", "contact", "tag tag-drug_name"} <= set(re.findall(r'<mark class="([^"]+)"', html))
    # Escaped, and linear: a long text is cut, not analysed whole.
    assert "&lt;script&gt;" in str(highlight("<script>bars</script>"))
    long = "bars " * 10_000
    assert str(highlight(long)).endswith("bars ")


# ---------------------------------------------------------------------------
# CLI


def test_cli_sets_project_options(tmp_path: Path) -> None:
    import drugwatch.cli.annotate_cmd  # noqa: F401
    from drugwatch.cli import app as cli
    from drugwatch.store import Store

    db = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    store = Store(db)
    runner = CliRunner()
    result = runner.invoke(cli, ["annotate", "option", "suggestions", "off", "--db", db])
    assert result.exit_code == 0, result.output
    assert service.get_options(store.engine)["suggestions"] is False
    result = runner.invoke(cli, ["annotate", "option", "colour", "on", "--db", db])
    assert result.exit_code == 2 and "unknown option" in result.output
    result = runner.invoke(cli, ["annotate", "option", "suggestions", "maybe", "--db", db])
    assert result.exit_code == 2 and "on or off" in result.output
    result = runner.invoke(cli, ["annotate", "agreement", "--db", db, "--json"])
    assert result.exit_code == 0 and json.loads(result.output)["suggestions"]["units"] == 0


# ---------------------------------------------------------------------------
# Adjudication helpers: time per item and "accept annotator X"


def test_time_per_item_is_recorded_and_shown(store_url, make_app) -> None:
    app = make_app(store_url)
    import time as clock

    client = login(app, "ann1")
    p1 = task_for(app, "ann1", "instagram:p1")
    page = client.get(f"/tasks/{p1}").text
    shown_at = float(re.search(r'name="shown_at" value="([\d.]+)"', page).group(1))
    assert abs(shown_at - clock.time()) < 60
    post(client, f"/tasks/{p1}", {**answer("instagram:p1", ["xanax"], True), "shown_at": f"{clock.time() - 42:.1f}"})
    c1 = task_for(app, "ann1", "instagram:c1")
    post(client, f"/tasks/{c1}", {"comment": ["non_drug"], "selling": "0", "shown_at": "yesterday"})  # unknown, not 0
    c2 = task_for(app, "ann1", "instagram:c2")
    post(
        client, f"/tasks/{c2}", {"comment": ["non_drug"], "selling": "0", "shown_at": f"{clock.time() - 7200:.1f}"}
    )  # a break
    with app.state.engine.connect() as conn:
        seconds = dict(
            conn.execute(
                select(AssignmentRow.id, AssignmentRow.seconds).where(AssignmentRow.id.in_([p1, c1, c2]))
            ).all()
        )
    assert seconds[p1] == pytest.approx(42, abs=5) and seconds[c1] is None and seconds[c2] is None
    progress = {p["username"]: p for p in service.progress(app.state.engine)}
    assert progress["ann1"]["mean_seconds"] == pytest.approx(42, abs=5) and progress["ann1"]["timed"] == 1
    assert "s (1 items)" in login(app, "boss").get("/admin/assignments").text

    ann2 = login(app, "ann2")
    post(ann2, f"/tasks/{task_for(app, 'ann2', 'instagram:p1')}", answer("instagram:p1", ["cocaine"], True))
    html = login(app, "adj").get("/adjudicate/instagram:p1").text
    assert re.search(r"<td>4\d s</td>", html)  # ann1's time on the item
    button = re.search(r'id="accept-ann2" data-answer="([^"]+)"', html).group(1)
    import html as html_lib

    assert json.loads(html_lib.unescape(button)) == {
        "hashtag": ["cocaine"],
        "image": ["cocaine"],
        "comment": ["cocaine"],
        "dealer": True,
    }

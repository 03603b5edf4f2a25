"""The slang review page: discovery over the stored events, accept into the
user lexicon file (read by load_lexicon), reject for good, admins only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

import drugwatch.annotate.schema  # noqa: F401  (registers the tables)
from drugwatch.annotate import Settings, create_app, slang
from drugwatch.annotate.auth import create_user
from drugwatch.annotate.evidence import highlight_term
from drugwatch.annotate.schema import SlangTermRow
from drugwatch.records import Event

PASSWORDS = {"ann1": "pw-ann1-0123", "adj": "pw-adj-0123", "boss": "pw-boss-0123"}
ROLE_OF = {"ann1": "annotator", "adj": "adjudicator", "boss": "admin"}

#: Two made-up slang words in sale context, ordinary words outside it; one
#: text carries markup that must reach the page escaped.
TEXTS = [
    "zootie for sale hmu 3.5g",
    "fresh zootie and molly, dm me",
    "zootie 1oz $200",
    "the weather is nice today",
    "cocaine and blizzo available, telegram",
    "blizzo 1g $80 hmu <script>alert(1)</script>",
    "blizzo 2g dm",
    "nice weather for a walk",
    "weather update: nice",
]


@pytest.fixture
def make_app(tmp_path: Path):
    def build(**overrides):
        settings = Settings(
            db=f"sqlite:///{tmp_path / 'slang.sqlite'}",
            secret_key="test-secret-key-0123456789",
            annotate_ocr=False,
            argon2_time_cost=1,
            argon2_memory_kib=1024,
            **overrides,
        )
        app = create_app(settings)
        app.state.store.upsert([Event(id=f"e{i}", text=text, author="demo_user") for i, text in enumerate(TEXTS)])
        for name, password in PASSWORDS.items():
            create_user(app.state.engine, name, password, ROLE_OF[name], app.state.hasher)
        return app

    return build


@pytest.fixture
def lexicon_file(tmp_path: Path) -> Path:
    return tmp_path / "user_lexicon.tsv"


@pytest.fixture
def app(make_app, lexicon_file: Path):
    return make_app(user_lexicon=lexicon_file)


def login(app, name: str) -> TestClient:
    client = TestClient(app)
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
    response = client.post(
        "/login", data={"username": name, "password": PASSWORDS[name], "csrf_token": token}, follow_redirects=False
    )
    assert response.status_code == 303
    page = client.get("/guidelines", headers={"accept": "text/html"}).text
    client.csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[attr-defined]
    return client


def run(client: TestClient, **form) -> str:
    response = client.post("/admin/slang/run", data={"csrf_token": client.csrf, "min_count": "2", **form})  # type: ignore[attr-defined]
    assert response.status_code == 200, response.text
    return response.text


def statuses(app) -> dict[str, str]:
    with app.state.engine.connect() as conn:
        return dict(conn.execute(select(SlangTermRow.term, SlangTermRow.status)).all())


def test_page_lists_candidates_from_stored_events(app) -> None:
    boss = login(app, "boss")
    first = boss.get("/admin/slang")
    assert first.status_code == 200 and 'id="slang-none"' in first.text and 'id="nav-slang"' in first.text
    assert "Read 9 event(s)" in run(boss)
    page = boss.get("/admin/slang").text
    terms = re.findall(r'data-slang-term="([^"]+)"', page)
    assert set(terms[:2]) == {"zootie", "blizzo"}
    assert "weather" not in terms and "nice" not in terms
    # counts, the drug the texts name (pre-selected label), examples with the word marked
    card = page[page.index('data-slang-term="blizzo"') :]
    card = card[: card.index("</form>")]
    assert "3 of 3 text(s) in drug or sale context" in card and "cocaine 1" in card
    assert '<option value="cocaine" data-key="8" selected>' in card
    assert '<mark class="candidate" title="slang candidate">blizzo</mark>' in card
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in card and "<script>alert" not in page
    assert "Last run" in page and "over 9 event(s)" in page


def test_discovery_reads_the_most_recent_events_up_to_the_cap(app, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(slang, "BATCH", 2)  # several keyset batches over 9 events
    keys = [key for key, _text in slang.recent_texts(app.state.engine, 4)]
    assert keys == [f"instagram:e{i}" for i in (8, 7, 6, 5)]
    assert len(list(slang.recent_texts(app.state.engine, 100))) == len(TEXTS)
    boss = login(app, "boss")
    assert "Read 4 event(s)" in run(boss, limit="4")
    # The form cannot lift the configured cap.
    app.state.settings.annotate_slang_events = 3
    assert "Read 3 event(s)" in run(boss, limit="9")
    # the three newest texts name blizzo twice: below min_count 3, nothing proposed
    assert "Read 3 event(s); 0 term(s) proposed" in run(boss, min_count="3")
    assert statuses(app) == {}


def test_accept_writes_the_user_lexicon_that_load_lexicon_reads(
    app, lexicon_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from drugwatch.lexicon import USER_LEXICON_ENV, load_lexicon

    boss = login(app, "boss")
    run(boss)
    response = boss.post(
        "/admin/slang/accept",
        data={"csrf_token": boss.csrf, "term": "zootie", "label": "marijuana", "ambiguous": "true"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/admin/slang?accepted=zootie"
    lines = lexicon_file.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "term\tlabel\tkind\tambiguous\tnote"
    assert lines[1].startswith("zootie\tmarijuana\tstreet\tyes\tslang review: accepted by boss")
    page = boss.get(response.headers["location"]).text
    assert "Accepted “zootie”" in page and 'data-slang-term="zootie"' not in page
    assert statuses(app)["zootie"] == "accepted"
    # Deciding twice writes once.
    again = boss.post("/admin/slang/accept", data={"csrf_token": boss.csrf, "term": "zootie", "label": "marijuana"})
    assert again.status_code == 409 and "already accepted" in again.text
    assert len(lexicon_file.read_text(encoding="utf-8").splitlines()) == 2
    # This process's lexicon is cached without the term; the decision keeps it out of new runs.
    run(boss)
    assert statuses(app)["zootie"] == "accepted" and "blizzo" in statuses(app)
    # A process that loads the lexicon with the variable set finds the term.
    monkeypatch.setenv(USER_LEXICON_ENV, str(lexicon_file))
    load_lexicon.cache_clear()
    try:
        entries = load_lexicon().lookup("zootie")
        assert [(e.label, e.source, e.ambiguous) for e in entries] == [("marijuana", "user", True)]
    finally:
        monkeypatch.delenv(USER_LEXICON_ENV)
        load_lexicon.cache_clear()
    assert not load_lexicon().lookup("zootie")


def test_reject_hides_the_term_for_good(app, lexicon_file: Path) -> None:
    boss = login(app, "boss")
    run(boss)
    response = boss.post(
        "/admin/slang/reject", data={"csrf_token": boss.csrf, "term": "blizzo"}, follow_redirects=False
    )
    assert response.status_code == 303
    page = boss.get(response.headers["location"]).text
    assert 'data-slang-term="blizzo"' not in page and 'data-slang-term="zootie"' in page
    assert re.search(r"<td>blizzo</td><td>rejected</td>", page)
    run(boss)  # a new run does not bring it back
    assert statuses(app) == {"blizzo": "rejected", "zootie": "proposed"}
    assert not lexicon_file.exists()
    unknown = boss.post("/admin/slang/reject", data={"csrf_token": boss.csrf, "term": "nosuchterm"})
    assert unknown.status_code == 404 and "run discovery again" in unknown.text


def test_only_admins_review_slang(app, lexicon_file: Path) -> None:
    boss = login(app, "boss")
    run(boss)
    for name in ("ann1", "adj"):
        client = login(app, name)
        assert client.get("/admin/slang").status_code == 403
        assert 'id="nav-slang"' not in client.get("/guidelines").text
        for path, form in (
            ("/admin/slang/run", {}),
            ("/admin/slang/accept", {"term": "zootie", "label": "marijuana"}),
            ("/admin/slang/reject", {"term": "zootie"}),
        ):
            response = client.post(path, data={"csrf_token": client.csrf, **form})
            assert response.status_code == 403, (name, path)
    # The admin without the session's CSRF token is refused too.
    forged = boss.post("/admin/slang/accept", data={"csrf_token": "forged", "term": "zootie", "label": "marijuana"})
    assert forged.status_code == 403 and "CSRF" in forged.json()["detail"]
    assert statuses(app)["zootie"] == "proposed" and not lexicon_file.exists()


def test_accept_without_a_lexicon_file_is_refused_clearly(make_app) -> None:
    app = make_app()
    boss = login(app, "boss")
    assert 'id="lexicon-missing"' in boss.get("/admin/slang").text
    run(boss)
    response = boss.post("/admin/slang/accept", data={"csrf_token": boss.csrf, "term": "zootie", "label": "marijuana"})
    assert response.status_code == 409
    assert "no user lexicon file is configured: set DRUGWATCH_USER_LEXICON" in response.text
    assert statuses(app)["zootie"] == "proposed"  # still waiting for a decision
    assert (
        boss.post(
            "/admin/slang/reject", data={"csrf_token": boss.csrf, "term": "zootie"}, follow_redirects=False
        ).status_code
        == 303
    )


def test_accept_checks_the_label_and_gives_back_a_failed_write(
    app, make_app, lexicon_file: Path, tmp_path: Path
) -> None:
    boss = login(app, "boss")
    run(boss)
    for label in ("non_drug", "weed"):
        response = boss.post("/admin/slang/accept", data={"csrf_token": boss.csrf, "term": "zootie", "label": label})
        assert response.status_code == 422 and "an accepted term names a drug" in response.text
    assert not lexicon_file.exists() and statuses(app)["zootie"] == "proposed"
    # A file that cannot be written: the term stays proposed.
    app.state.settings.user_lexicon = tmp_path / "no-such-folder" / "user.tsv"
    response = boss.post("/admin/slang/accept", data={"csrf_token": boss.csrf, "term": "zootie", "label": "marijuana"})
    assert response.status_code == 409 and "could not write “zootie”" in response.text
    assert statuses(app)["zootie"] == "proposed"


def test_example_highlight_marks_the_term_outside_evidence_and_escapes() -> None:
    html = str(highlight_term("Zootie & <b>zootie</b>, zooties, cocaine", "zootie"))
    assert html.count('<mark class="candidate"') == 2  # whole words only, any case
    assert "&lt;b&gt;" in html and "<b>" not in html
    assert '<mark class="drug"' in html  # the text layer's own evidence stays


def test_run_with_a_missing_user_lexicon_says_so(app, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from drugwatch.lexicon import USER_LEXICON_ENV, load_lexicon

    boss = login(app, "boss")
    run(boss)
    monkeypatch.setenv(USER_LEXICON_ENV, str(tmp_path / "missing.tsv"))
    load_lexicon.cache_clear()
    try:
        response = boss.post("/admin/slang/run", data={"csrf_token": boss.csrf})
    finally:
        monkeypatch.delenv(USER_LEXICON_ENV)
        load_lexicon.cache_clear()
    assert response.status_code == 409
    assert "discovery could not run" in response.text and "no such lexicon file" in response.text
    assert set(statuses(app)) == {"zootie", "blizzo"}  # the last run's candidates are kept

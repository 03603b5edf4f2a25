"""The annotation app through its HTTP API (FastAPI TestClient)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

import drugwatch.annotate.schema  # noqa: F401  (registers the tables; see docs/annotate.md)
from drugwatch.annotate import Settings, create_app, service
from drugwatch.annotate.auth import RoleRequirement, create_user
from drugwatch.annotate.schema import ROLES, AdjudicationRow, AnnotationRow, AssignmentRow
from drugwatch.records import Account, Event, ImageRef

PASSWORDS = {name: f"pw-{name}-0123" for name in ("ann1", "ann2", "ann3", "adj", "boss")}
ROLE_OF = {"ann1": "annotator", "ann2": "annotator", "ann3": "annotator", "adj": "adjudicator", "boss": "admin"}
# 1x1 PNG
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def _corpus(tmp_path: Path) -> list[Event | Account]:
    image = tmp_path / "img.png"
    image.write_bytes(PNG)
    return [
        Account(username="demo_plug", bio="wickr: demo_plug77 · fast ship", followers=10, following=900),
        Event(
            id="p1",
            text="fresh 2mg bars #xanax #plugsofinstagram wickr demo_plug77",
            author="demo_plug",
            images=[ImageRef(path=str(image))],
            meta={"ocr_text": "call 555 201 3344"},
        ),
        Event(id="c1", kind="comment", parent_id="p1", post_id="p1", text="how much for 10?", author="demo_buyer"),
        Event(id="c2", kind="comment", parent_id="c1", post_id="p1", text="dm me, percs too", author="demo_plug"),
        Event(id="p2", text="sunset at the beach #travel", author="demo_tourist"),
    ]


@pytest.fixture
def make_app(tmp_path: Path):
    def build(url: str | None = None, **overrides):
        settings = Settings(
            db=url or f"sqlite:///{tmp_path / 'annotate.sqlite'}",
            secret_key="test-secret-key-0123456789",
            annotate_ocr=False,
            argon2_time_cost=1,
            argon2_memory_kib=1024,
            **{"media_roots": [tmp_path], **overrides},  # the corpus's image lives in tmp_path
        )
        app = create_app(settings)
        app.state.store.upsert(_corpus(tmp_path))
        for name, password in PASSWORDS.items():
            create_user(app.state.engine, name, password, ROLE_OF[name], app.state.hasher)
        return app

    return build


@pytest.fixture
def app(make_app):
    return make_app()


def _hidden_csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no csrf_token field on the page"
    return match.group(1)


def login(app, name: str) -> TestClient:
    client = TestClient(app)
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"username": name, "password": PASSWORDS[name], "csrf_token": _hidden_csrf(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    client.csrf = _hidden_csrf(client.get("/", headers={"accept": "text/html"}).text)  # type: ignore[attr-defined]
    return client


def _tasks(app, name: str) -> list[int]:
    with app.state.engine.connect() as conn:
        return [
            r.id
            for r in conn.execute(
                select(AssignmentRow.id)
                .join(drugwatch.annotate.schema.UserRow, drugwatch.annotate.schema.UserRow.id == AssignmentRow.user_id)
                .where(drugwatch.annotate.schema.UserRow.username == name)
                .order_by(AssignmentRow.id)
            )
        ]


def _task_for(app, name: str, event_key: str) -> int:
    with app.state.engine.connect() as conn:
        return conn.execute(
            select(AssignmentRow.id)
            .join(drugwatch.annotate.schema.UserRow, drugwatch.annotate.schema.UserRow.id == AssignmentRow.user_id)
            .where(drugwatch.annotate.schema.UserRow.username == name, AssignmentRow.event_key == event_key)
        ).scalar_one()


def _answer(event_key: str, labels: list[str], selling: bool) -> dict:
    data: dict = {"comment": labels, "selling": "1" if selling else "0"}
    if event_key == "instagram:p1":
        data.update(hashtag=labels, image=labels)
    if event_key == "instagram:p2":
        data.update(hashtag=labels)
    return data


def _count(app, table) -> int:
    with app.state.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


# ---------------------------------------------------------------------------
# Authorization on every route


def _allowed_roles(route: APIRoute) -> frozenset[str] | None:
    stack = list(route.dependant.dependencies)
    while stack:
        dep = stack.pop()
        if isinstance(dep.call, RoleRequirement):
            return dep.call.roles
        stack.extend(dep.dependencies)
    return None


PUBLIC = {("GET", "/login"), ("POST", "/login")}


def _api_routes(routes) -> list[APIRoute]:
    """Every APIRoute of the app. FastAPI >= 0.16x wraps included routers
    (``_IncludedRouter``, no prefix here since routers carry their own)."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            assert not getattr(route.include_context, "prefix", ""), "routers carry their own prefix"
            found.extend(_api_routes(route.original_router.routes))
    return found


def test_every_route_refuses_anonymous_and_wrong_roles(app) -> None:
    service.assign(app.state.engine, k=2)
    values = {"assignment_id": str(_tasks(app, "ann1")[0]), "event_key": "instagram:p1", "index": "0", "user_id": "1"}
    clients = {name: login(app, name) for name in ("ann1", "adj", "boss")}
    by_role = {ROLE_OF[name]: client for name, client in clients.items()}
    anonymous = TestClient(app)
    checked = 0
    routes = _api_routes(app.routes)  # the /static mount (CSS, JS) is not an APIRoute
    assert len(routes) >= 25
    for route in routes:
        path = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: values[m.group(1)], route.path)
        for method in route.methods - {"HEAD"}:
            roles = _allowed_roles(route)
            if (method, route.path) in PUBLIC:
                assert roles is None
                continue
            assert roles, f"{method} {route.path} has no role requirement"
            response = anonymous.request(method, path, follow_redirects=False)
            assert response.status_code == 401, (method, path, response.status_code)
            html = anonymous.request(method, path, headers={"accept": "text/html"}, follow_redirects=False)
            assert html.status_code in (401, 303), (method, path)
            if html.status_code == 303:
                assert html.headers["location"].startswith("/login")
            for role in set(ROLES) - roles:
                client = by_role[role]
                headers = {"x-csrf-token": client.csrf}
                response = client.request(method, path, headers=headers, follow_redirects=False)
                assert response.status_code == 403, (method, path, role, response.status_code)
            # The right role gets through (or a 4xx about the input, never 401/403).
            role = sorted(roles)[0]
            client = by_role[role]
            if method == "GET":
                response = client.get(path, follow_redirects=False)
                assert response.status_code in (200, 303, 404), (method, path, role, response.status_code)
            checked += 1
    assert checked >= 20


def test_post_without_csrf_is_refused(app) -> None:
    service.assign(app.state.engine, k=2)
    client = login(app, "ann1")
    task = _tasks(app, "ann1")[0]
    response = client.post(f"/tasks/{task}", data={"comment": ["non_drug"], "selling": "0"})
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    response = client.post(f"/tasks/{task}", data={"comment": ["non_drug"], "selling": "0", "csrf_token": "forged"})
    assert response.status_code == 403
    assert _count(app, AnnotationRow) == 0
    # Another user's token does not work either.
    other = login(app, "ann2")
    response = client.post(f"/tasks/{task}/skip", headers={"x-csrf-token": other.csrf})
    assert response.status_code == 403


def test_login_checks_password_and_form_token(app) -> None:
    client = TestClient(app)
    token = _hidden_csrf(client.get("/login").text)
    bad = client.post("/login", data={"username": "ann1", "password": "wrong-password", "csrf_token": token})
    assert bad.status_code == 401 and "Wrong username or password" in bad.text
    token = _hidden_csrf(bad.text)  # each form gets a fresh token
    nobody = client.post("/login", data={"username": "nobody", "password": "wrong-password", "csrf_token": token})
    assert nobody.status_code == 401
    token = _hidden_csrf(nobody.text)
    stranger = TestClient(app)  # no login-form cookie: a cross-site login attempt
    response = stranger.post("/login", data={"username": "ann1", "password": PASSWORDS["ann1"], "csrf_token": token})
    assert response.status_code == 403
    assert stranger.get("/tasks").status_code == 401


def test_login_redirects_only_to_local_paths(app) -> None:
    client = TestClient(app)
    token = _hidden_csrf(client.get("/login").text)
    response = client.post(
        "/login",
        data={"username": "ann1", "password": PASSWORDS["ann1"], "csrf_token": token, "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/tasks"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower()


def test_logout_ends_the_session(app) -> None:
    client = login(app, "ann1")
    assert client.get("/tasks").status_code == 200
    saved = client.cookies.get("dw_session")
    response = client.post("/logout", headers={"x-csrf-token": client.csrf}, follow_redirects=False)
    assert response.status_code == 303
    replay = TestClient(app)
    replay.cookies.set("dw_session", saved)
    assert replay.get("/tasks").status_code == 401


def test_passwords_are_argon2_hashes(app) -> None:
    from drugwatch.annotate.schema import UserRow

    with app.state.engine.connect() as conn:
        hashes = [r[0] for r in conn.execute(select(UserRow.password_hash))]
    assert all(h.startswith("$argon2id$") for h in hashes)
    assert not any(p in h for h in hashes for p in PASSWORDS.values())


def test_deactivated_user_is_signed_out(app) -> None:
    annotator = login(app, "ann3")
    admin = login(app, "boss")
    from drugwatch.annotate.schema import UserRow

    with app.state.engine.connect() as conn:
        uid = conn.execute(select(UserRow.id).where(UserRow.username == "ann3")).scalar_one()
    response = admin.post(
        f"/admin/users/{uid}/active", data={"active": "false", "csrf_token": admin.csrf}, follow_redirects=False
    )
    assert response.status_code == 303
    assert annotator.get("/tasks").status_code == 401


# ---------------------------------------------------------------------------
# Tasks


def test_item_page_shows_the_evidence(app) -> None:
    service.assign(app.state.engine, k=3)
    client = login(app, "ann1")
    page = client.get(f"/tasks/{_task_for(app, 'ann1', 'instagram:c2')}")
    assert page.status_code == 200
    html = page.text
    text = re.sub(r"<[^>]+>", "", html)  # evidence is marked inside the text
    assert 'id="thread-target"' in html and "dm me, percs too" in text  # the event, highlighted
    assert "fresh 2mg bars" in text and "how much for 10?" in text  # its thread
    assert "Only the highlighted comment is being labelled" in text
    assert "demo_plug77" in html and 'id="bio"' in html  # the author's bio
    assert "/media/instagram%3Ap1/0" in html  # a comment shows its post's image
    post = client.get(f"/tasks/{_task_for(app, 'ann1', 'instagram:p1')}").text
    assert "/media/instagram%3Ap1/0" in post  # the image
    assert 'id="ocr-text">call <mark class="contact"' in post and "555 201 3344</mark>" in post  # its OCR text
    assert 'class="contact"' in post  # contacts are marked
    assert 'id="hashtag-xanax"' in post and 'data-key="4"' in post  # a key for every label
    assert client.get("/media/instagram:p1/0").content == PNG
    assert client.get("/media/instagram:p1/5").status_code == 404


def test_annotators_are_blind_to_each_other(app) -> None:
    service.assign(app.state.engine, k=2, annotators=["ann1", "ann2"])
    ann1, ann3 = login(app, "ann1"), login(app, "ann3")
    theirs = _tasks(app, "ann2")[0]
    assert ann1.get(f"/tasks/{theirs}").status_code == 404
    assert (
        ann1.post(
            f"/tasks/{theirs}", data={"comment": ["non_drug"], "selling": "0", "csrf_token": ann1.csrf}
        ).status_code
        == 404
    )
    assert ann1.get("/agreement").status_code == 403
    assert ann1.get("/adjudicate").status_code == 403
    assert ann3.get("/media/instagram:p1/0").status_code == 404  # neither p1 nor its comments assigned to ann3


def test_submission_is_validated(app) -> None:
    service.assign(app.state.engine, k=2, annotators=["ann1", "ann2"])
    client = login(app, "ann1")
    task = _task_for(app, "ann1", "instagram:p1")
    cases = [
        ({"comment": ["non_drug", "xanax"], "hashtag": ["xanax"], "image": ["xanax"], "selling": "1"}, "exclusive"),
        ({"comment": ["xanax"], "image": ["xanax"], "selling": "1"}, "hashtag level"),
        ({"comment": ["weed"], "hashtag": ["xanax"], "image": ["xanax"], "selling": "1"}, "unknown label"),
        ({"comment": ["xanax"], "hashtag": ["xanax"], "image": ["xanax"]}, "dealer question"),
    ]
    for data, message in cases:
        response = client.post(f"/tasks/{task}", data={**data, "csrf_token": client.csrf})
        assert response.status_code == 422, data
        assert message in response.text
    comment_task = _task_for(app, "ann1", "instagram:c1")
    response = client.post(
        f"/tasks/{comment_task}",
        data={"comment": ["non_drug"], "image": ["xanax"], "selling": "0", "csrf_token": client.csrf},
    )
    assert response.status_code == 422 and "has no image" in response.text
    assert _count(app, AnnotationRow) == 0


def test_retried_submission_is_not_duplicated(store_url, make_app) -> None:
    app = make_app(store_url)
    service.assign(app.state.engine, k=2)
    client = login(app, "ann1")
    task = _task_for(app, "ann1", "instagram:p1")
    data = {**_answer("instagram:p1", ["xanax"], True), "csrf_token": client.csrf}
    for _ in range(3):
        response = client.post(f"/tasks/{task}", data=data, follow_redirects=False)
        assert response.status_code == 303
    assert _count(app, AnnotationRow) == 4  # hashtag, image, comment, dealer
    # A corrected answer replaces the earlier one.
    client.post(f"/tasks/{task}", data={**_answer("instagram:p1", ["painkiller"], False), "csrf_token": client.csrf})
    assert _count(app, AnnotationRow) == 4
    answers = service.collect_answers(app.state.engine)
    assert answers["instagram:p1"]["ann1"] == {
        "hashtag": ("painkiller",),
        "image": ("painkiller",),
        "comment": ("painkiller",),
        "dealer": False,
    }


def test_skip_flag_and_progress(app) -> None:
    service.assign(app.state.engine, k=2, annotators=["ann1", "ann2"])
    client = login(app, "ann1")
    first, second, third, *_ = _tasks(app, "ann1")
    assert client.get("/tasks/next", follow_redirects=False).headers["location"] == f"/tasks/{first}"
    assert (
        client.post(f"/tasks/{first}/skip", headers={"x-csrf-token": client.csrf}, follow_redirects=False).status_code
        == 303
    )
    response = client.post(
        f"/tasks/{second}/flag",
        data={"note": "is this DMT or MDMA?", "csrf_token": client.csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert client.get("/tasks/next", follow_redirects=False).headers["location"] == f"/tasks/{third}"
    page = client.get("/tasks").text
    assert "2</strong> of 4" in page and "skipped 1" in page and "flagged 1" in page
    progress = {p["username"]: p for p in service.progress(app.state.engine)}
    assert progress["ann1"]["finished"] == pytest.approx(0.5)
    assert progress["ann2"]["pending"] == 4
    admin = login(app, "boss")
    assert "ann1" in admin.get("/admin/assignments").text


def test_assignment_is_balanced_and_idempotent(app) -> None:
    engine = app.state.engine
    assert service.assign(engine, k=2) == 8
    assert service.assign(engine, k=2) == 0
    loads = [p["total"] for p in service.progress(engine)]
    assert sorted(loads) == [2, 3, 3]  # 8 assignments spread over 3 annotators
    with engine.connect() as conn:
        per_event = dict(
            conn.execute(select(AssignmentRow.event_key, func.count()).group_by(AssignmentRow.event_key)).all()
        )
    assert set(per_event.values()) == {2}
    assert service.assign(engine, k=3) == 4  # raising k adds one annotator per event
    with pytest.raises(ValueError, match="only 3 active annotator"):
        service.assign(engine, k=4)
    admin = login(app, "boss")
    assert "0 new assignment" in admin.post("/admin/assignments", data={"k": "3", "csrf_token": admin.csrf}).text


# ---------------------------------------------------------------------------
# Agreement, adjudication, export, hashtag weights


def _label_all(app, name: str, labels_by_event: dict[str, tuple[list[str], bool]]) -> None:
    client = login(app, name)
    for key, (labels, selling) in labels_by_event.items():
        task = _task_for(app, name, key)
        response = client.post(
            f"/tasks/{task}", data={**_answer(key, labels, selling), "csrf_token": client.csrf}, follow_redirects=False
        )
        assert response.status_code == 303, response.text


def test_agreement_adjudication_and_export(store_url, make_app, tmp_path: Path) -> None:
    app = make_app(store_url)
    service.assign(app.state.engine, k=2, annotators=["ann1", "ann2"])
    _label_all(
        app,
        "ann1",
        {
            "instagram:p1": (["xanax"], True),
            "instagram:c1": (["non_drug"], False),
            "instagram:c2": (["painkiller"], True),
            "instagram:p2": (["non_drug"], False),
        },
    )
    adjudicator = login(app, "adj")
    assert "Nothing to adjudicate" in adjudicator.get("/adjudicate").text  # ann2 still pending
    _label_all(
        app,
        "ann2",
        {
            "instagram:p1": (["xanax"], True),
            "instagram:c1": (["non_drug"], False),
            "instagram:c2": (["painkiller"], False),
            "instagram:p2": (["non_drug"], False),
        },
    )

    report = adjudicator.get("/agreement.json").json()
    assert report["n_events"] == 4
    (pair,) = report["pairs"]
    assert (pair["a"], pair["b"]) == ("ann1", "ann2")
    assert pair["raw_agreement"] == pytest.approx(10 / 11)  # 7 label units + 4 dealer units, one differs
    selling = next(lab for lab in report["labels"] if lab["label"] == "selling")
    assert selling["raw_agreement"] == pytest.approx(3 / 4)
    assert "Krippendorff" in adjudicator.get("/agreement").text

    queue = adjudicator.get("/adjudicate").text
    assert "instagram:c2" in queue and "instagram:p1" not in queue
    item = adjudicator.get("/adjudicate/instagram:c2").text
    assert 'class="differ"' in item and "ann1" in item and "ann2" in item
    response = adjudicator.post(
        "/adjudicate/instagram:c2",
        data={"comment": ["painkiller"], "selling": "1", "note": "offers percs, DM", "csrf_token": adjudicator.csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/adjudicate"  # the queue is empty now
    assert "Nothing to adjudicate" in adjudicator.get("/adjudicate").text
    assert _count(app, AdjudicationRow) == 1

    exported = adjudicator.get("/export/labels.jsonl")
    assert exported.status_code == 200
    lines = [json.loads(line) for line in exported.text.splitlines()]
    by_id = {line["id"]: line for line in lines}
    assert set(by_id) == {"p1", "c1", "c2", "p2"}
    assert by_id["c2"]["selling"] is True and by_id["c2"]["meta"]["label_source"] == "adjudicated"
    assert by_id["p1"]["labels"] == ["xanax"] and by_id["p1"]["meta"]["label_source"] == "consensus"
    assert by_id["p1"]["meta"]["levels"] == {"hashtag": ["xanax"], "image": ["xanax"], "comment": ["xanax"]}

    # The JSONL is what `drugwatch train` reads.
    from drugwatch.io.jsonl import load_bench_events

    path = tmp_path / "labels.jsonl"
    path.write_text(exported.text, encoding="utf-8")
    events = load_bench_events(path)
    assert sorted(e.id for e in events) == ["c1", "c2", "p1", "p2"]
    assert {e.id: e.selling for e in events}["c2"] is True

    import io

    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(adjudicator.get("/export/labels.parquet").content))
    assert table.num_rows == 4
    assert "comment_labels" in table.column_names

    # Feedback to the crawler.
    assert (
        adjudicator.post(
            "/hashtags/recompute", headers={"x-csrf-token": adjudicator.csrf}, follow_redirects=False
        ).status_code
        == 303
    )
    weights = {w["tag"]: w for w in adjudicator.get("/hashtags/weights.json").json()}
    assert weights["xanax"]["weight"] == pytest.approx(2 / 3)  # (1 drug + 1) / (1 event + 2)
    assert weights["travel"]["weight"] == pytest.approx(1 / 3)
    assert weights["xanax"]["n_selling"] == 1


def test_flagged_items_reach_the_adjudicator(app) -> None:
    service.assign(app.state.engine, k=2, annotators=["ann1", "ann2"])
    client = login(app, "ann1")
    client.post(
        f"/tasks/{_task_for(app, 'ann1', 'instagram:p2')}/flag", data={"note": "unsure", "csrf_token": client.csrf}
    )
    _label_all(app, "ann2", {"instagram:p2": (["non_drug"], False)})
    assert "ann1: unsure" in login(app, "adj").get("/adjudicate").text


# ---------------------------------------------------------------------------
# Active learning


def test_uncertainty_and_diversity() -> None:
    assert service.uncertainty([[0.5], [0.9], [0.0]]) == pytest.approx([1.0, 0.2, 0.0])
    assert service.uncertainty([[0.9, 0.6]]) == pytest.approx([0.8])
    scores = [0.9, 0.89, 0.5]
    same = frozenset({"@a", "#x"})
    features = [same, same, frozenset({"@b"})]
    assert service.diverse_order(scores, features, diversity=0.0) == [0, 1, 2]
    # With diversity the near-copy of the first item drops behind a different one.
    assert service.diverse_order(scores, features, diversity=0.5) == [0, 2, 1]


def test_active_learning_orders_the_queue(app) -> None:
    engine = app.state.engine
    service.assign(engine, k=2, annotators=["ann1", "ann2"])
    confident = {"instagram:p1": 0.99, "instagram:c1": 0.5, "instagram:c2": 0.7, "instagram:p2": 0.01}

    def scorer(events):
        return [[confident[e.key]] for e in events]

    app.state.scorer = scorer
    admin = login(app, "boss")
    assert "4 event(s)" in admin.post("/admin/assignments/prioritize", data={"csrf_token": admin.csrf}).text
    client = login(app, "ann1")
    location = client.get("/tasks/next", follow_redirects=False).headers["location"]
    assert location == f"/tasks/{_task_for(app, 'ann1', 'instagram:c1')}"  # p = 0.5: most uncertain first


def test_active_learning_with_a_saved_detector(make_app, tmp_path: Path) -> None:
    from drugwatch.models.registry import get_detector_class

    train = [
        Event(
            id=f"t{i}",
            text=f"xanax bars wickr plug{i} dm to order" if i % 2 else f"sunset at the beach day {i}",
            selling=bool(i % 2),
        )
        for i in range(20)
    ]
    model_dir = tmp_path / "model"
    get_detector_class("drugwatch.jmir_rf.v1")().fit(train).save(model_dir)
    app = make_app(annotate_model=model_dir)
    assert app.state.scorer is not None
    admin = login(app, "boss")
    page = admin.post("/admin/assignments", data={"k": "2", "csrf_token": admin.csrf}).text
    assert "8 new assignment" in page and "ordered by model uncertainty (4 event(s))" in page
    with app.state.engine.connect() as conn:
        priorities = {
            r.event_key: r.priority for r in conn.execute(select(AssignmentRow.event_key, AssignmentRow.priority))
        }
    assert sorted(set(priorities.values())) == [1.0, 2.0, 3.0, 4.0]


def test_prioritize_without_model_says_how_to_configure(app) -> None:
    admin = login(app, "boss")
    response = admin.post("/admin/assignments/prioritize", headers={"x-csrf-token": admin.csrf})
    assert response.status_code == 409 and "DRUGWATCH_ANNOTATE_MODEL" in response.json()["detail"]


# ---------------------------------------------------------------------------
# Schema and CLI


def test_annotation_schema_matches_migration(store_url) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from drugwatch.store import Store
    from drugwatch.store.schema import load_all_tables

    store = Store(store_url)
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), load_all_tables()) == []
    store.close()


def test_unique_constraints_forbid_duplicates(app) -> None:
    from sqlalchemy import insert
    from sqlalchemy.exc import IntegrityError

    service.assign(app.state.engine, k=1, annotators=["ann1"])
    task = service.get_task(app.state.engine, _tasks(app, "ann1")[0], 1)
    assert task is not None
    with pytest.raises(IntegrityError):
        with app.state.engine.begin() as conn:
            conn.execute(
                insert(AssignmentRow).values(
                    event_key=task.event_key,
                    user_id=task.user_id,
                    status="pending",
                    priority=0,
                    created_at=service._now(),
                )
            )


def test_cli_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import drugwatch.cli.annotate_cmd  # noqa: F401  (registers `drugwatch annotate`)
    from drugwatch.cli import app as cli
    from drugwatch.store import Store

    db = f"sqlite:///{tmp_path / 'cli.sqlite'}"
    Store(db).upsert(_corpus(tmp_path))
    runner = CliRunner()
    monkeypatch.setenv("DRUGWATCH_ARGON2_MEMORY_KIB", "1024")
    monkeypatch.setenv("DRUGWATCH_ANNOTATE_PASSWORD", "secret-password-1")
    for name in ("ann1", "ann2"):
        result = runner.invoke(cli, ["annotate", "add-user", name, "--role", "annotator", "--db", db])
        assert result.exit_code == 0, result.output
        assert "secret-password-1" not in result.output
    monkeypatch.delenv("DRUGWATCH_ANNOTATE_PASSWORD")
    result = runner.invoke(
        cli,
        ["annotate", "add-user", "adj", "--role", "adjudicator", "--db", db],
        input="another-pass-2\nanother-pass-2\n",
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        cli, ["annotate", "add-user", "xy", "--role", "boss", "--db", db], input="another-pass-2\nanother-pass-2\n"
    )
    assert result.exit_code == 2 and "unknown role" in result.output
    result = runner.invoke(cli, ["annotate", "assign", "--db", db, "-k", "2"])
    assert result.exit_code == 0 and "8 new assignment" in result.output, result.output
    engine = Store(db).engine
    for name in ("ann1", "ann2"):
        with engine.connect() as conn:
            rows = conn.execute(
                select(AssignmentRow.id, AssignmentRow.event_key, AssignmentRow.user_id)
                .join(drugwatch.annotate.schema.UserRow, drugwatch.annotate.schema.UserRow.id == AssignmentRow.user_id)
                .where(drugwatch.annotate.schema.UserRow.username == name)
            ).all()
        for row in rows:
            event = service.events_by_key(engine, [row.event_key])[row.event_key]
            answer = service.parse_answer(
                event, {level: ["non_drug"] for level in service.required_levels(event)}, False
            )
            service.submit(engine, service.Task(row.id, row.event_key, row.user_id, "pending", None), answer)
    result = runner.invoke(cli, ["annotate", "agreement", "--db", db, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["n_events"] == 4
    result = runner.invoke(cli, ["annotate", "agreement", "--db", db])
    assert "Krippendorff" in result.output
    out = tmp_path / "final.parquet"
    result = runner.invoke(cli, ["annotate", "export", str(out), "--db", db])
    assert result.exit_code == 0 and "4 labelled event(s)" in result.output, result.output
    import pyarrow.parquet as pq

    assert pq.read_table(out).num_rows == 4
    result = runner.invoke(cli, ["annotate", "export", str(tmp_path / "x.csv"), "--db", db, "--format", "csv"])
    assert result.exit_code == 2 and "unknown export format" in result.output


def test_adjudication_ties_start_filled_and_lead_to_the_next_item(store_url, make_app) -> None:
    app = make_app(store_url)
    service.assign(app.state.engine, k=2, annotators=["ann1", "ann2"])
    _label_all(
        app,
        "ann1",
        {
            "instagram:p1": (["xanax"], True),
            "instagram:c1": (["non_drug"], False),
            "instagram:c2": (["painkiller"], True),
            "instagram:p2": (["non_drug"], False),
        },
    )
    _label_all(
        app,
        "ann2",
        {
            "instagram:p1": (["non_drug"], False),
            "instagram:c1": (["non_drug"], False),
            "instagram:c2": (["cocaine"], True),
            "instagram:p2": (["non_drug"], False),
        },
    )
    adjudicator = login(app, "adj")
    queue = [d.event_key for d in service.disagreements(app.state.engine)]
    assert queue == ["instagram:c2", "instagram:p1"]
    answers = service.collect_answers(app.state.engine, queue)
    # Two annotators, no majority: the tied drug labels, never a blank level.
    levels, _ = service.majority(answers["instagram:c2"])
    assert set(levels["comment"]) == {"painkiller", "cocaine"}
    levels, selling = service.majority(answers["instagram:p1"])
    assert all(labels == ["xanax"] for labels in levels.values())
    # The pre-filled form submits as it is (what Enter does) and moves on to the next disagreement.
    page = adjudicator.get("/adjudicate/instagram:c2").text
    assert re.search(r'name="comment" value="cocaine"[^>]*checked', page)
    assert not re.search(r'name="comment" value="non_drug"[^>]*checked', page)
    data = {level: labels for level, labels in service.majority(answers["instagram:c2"])[0].items()}
    response = adjudicator.post(
        "/adjudicate/instagram:c2",
        data={**data, "selling": "1", "csrf_token": adjudicator.csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/adjudicate/instagram:p1"

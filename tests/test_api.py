"""The scoring API through FastAPI's TestClient: every route, keys, scopes, limits, logs, reloads."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import select
from test_api_support import ADVERT, BENIGN, copy_models, demo_accounts

from drugwatch.api import ApiSettings, create_app
from drugwatch.api.deps import ScopeRequirement
from drugwatch.api.keys import create_key
from drugwatch.api.logs import JsonFormatter
from drugwatch.api.ratelimit import RateLimiter
from drugwatch.api.schema import ApiKeyRow
from drugwatch.records import Account, Event
from drugwatch.scoring import DEFAULT_DETECTORS, EventScorer

SELLING = DEFAULT_DETECTORS["selling"]


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("api-model-cache")


@pytest.fixture
def models_dir(model_cache: Path, tmp_path: Path) -> Path:
    return copy_models(model_cache, tmp_path / "models")


@pytest.fixture
def make_app(models_dir: Path, tmp_path: Path):
    def build(**overrides):
        values = {"db": f"sqlite:///{tmp_path / 'api.sqlite'}", "api_models": models_dir, "api_key_cache_seconds": 0.0}
        values.update(overrides)
        return create_app(ApiSettings(**values))

    return build


@pytest.fixture
def app(make_app):
    return make_app()


def key(app, *scopes: str, name: str = "test") -> dict[str, str]:
    token = create_key(app.state.store.engine, name, scopes or ("score",)).token
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def client(app) -> TestClient:
    with TestClient(app) as c:
        yield c


# -- routes, schema, health ----------------------------------------------------------------


def test_health_needs_no_key_and_names_the_models(client: TestClient) -> None:
    r = client.get("/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["models"] == [SELLING, "drugwatch.drugtype.v3"]
    assert body["generation"] >= 1 and body["last_reload_error"] is None
    assert r.headers["x-request-id"]


def test_openapi_schema_is_published_with_every_route(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert set(schema["paths"]) == {
        "/health",
        "/v1/models",
        "/v1/models/{name}",
        "/v1/models/reload",
        "/v1/score/event",
        "/v1/score/events",
        "/v1/score/account",
        "/v1/inspect",
    }
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    batch = schema["components"]["schemas"]["BatchIn"]["properties"]["events"]
    assert batch["maxItems"] == 256 and batch["minItems"] == 1
    assert schema["components"]["schemas"]["PostIn"]["properties"]["text"]["maxLength"] == 16_384
    assert client.get("/docs").status_code == 404  # off by default (Swagger UI would come from a CDN)


def _api_routes(routes) -> list[APIRoute]:
    """Every APIRoute; FastAPI >= 0.16x wraps included routers (``_IncludedRouter``)."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found.extend(_api_routes(route.original_router.routes))
    return found


def _scoped_routes(app) -> dict[str, str | None]:
    out = {}
    for route in _api_routes(app.routes):
        reqs = [d.call for d in route.dependant.dependencies if isinstance(d.call, ScopeRequirement)]
        out[f"{sorted(route.methods)[0]} {route.path}"] = reqs[0].scope if reqs else "none"
    return out


def test_every_route_but_health_requires_a_key_with_its_scope(app) -> None:
    assert _scoped_routes(app) == {
        "GET /health": "none",
        "GET /v1/models": None,
        "GET /v1/models/{name}": None,
        "POST /v1/models/reload": "admin",
        "POST /v1/score/event": "score",
        "POST /v1/score/events": "score",
        "POST /v1/score/account": "score",
        "POST /v1/inspect": "inspect",
    }


BODIES = {
    "/v1/score/event": {"text": ADVERT},
    "/v1/score/events": {"events": [{"text": ADVERT}]},
    "/v1/score/account": {"username": "demo_plug", "timeline": [{"text": ADVERT}]},
    "/v1/inspect": {"text": ADVERT},
    "/v1/models/reload": None,
}


@pytest.mark.parametrize("path", sorted(BODIES))
def test_missing_wrong_revoked_key_and_scope(app, client: TestClient, path: str) -> None:
    body = BODIES[path]
    r = client.post(path, json=body)
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    assert "API key" in r.json()["detail"]
    r = client.post(path, json=body, headers={"Authorization": "Bearer dwk_aaaaaaaaaa_" + "x" * 43})
    assert r.status_code == 401
    r = client.post(path, json=body, headers={"Authorization": "Basic dXNlcjpwdw=="})
    assert r.status_code == 401
    needed = {"/v1/inspect": "inspect", "/v1/models/reload": "admin"}.get(path, "score")
    other = next(s for s in ("score", "inspect", "admin") if s != needed)
    r = client.post(path, json=body, headers=key(app, other))
    assert r.status_code == 403 and needed in r.json()["detail"]
    good = key(app, needed)
    assert client.post(path, json=body, headers=good).status_code == 200
    from drugwatch.api.keys import revoke_key

    revoke_key(app.state.store.engine, good["Authorization"].split("_")[1])
    assert client.post(path, json=body, headers=good).status_code == 401


def test_revocation_waits_for_the_key_cache(make_app) -> None:
    app = make_app(api_key_cache_seconds=30)
    headers = key(app, "score")
    with TestClient(app) as client:
        assert client.get("/v1/models", headers=headers).status_code == 200
        from drugwatch.api.keys import revoke_key

        revoke_key(app.state.store.engine, headers["Authorization"].split("_")[1])
        assert client.get("/v1/models", headers=headers).status_code == 200  # cached
        app.state.keys.forget()
        assert client.get("/v1/models", headers=headers).status_code == 401


def test_keys_are_stored_hashed_with_scopes_and_last_use(app, client: TestClient) -> None:
    created = create_key(app.state.store.engine, "laptop", ["inspect", "score"])
    assert created.token.startswith(f"dwk_{created.prefix}_") and created.scopes == ("score", "inspect")
    with app.state.store.engine.connect() as conn:
        row = conn.execute(select(ApiKeyRow.__table__)).one()
    assert row.secret_sha256 == hashlib.sha256(created.token.encode()).hexdigest()
    assert created.token not in json.dumps([str(v) for v in row])
    assert row.scopes == ["score", "inspect"] and row.last_used_at is None and row.revoked_at is None
    client.get("/v1/models", headers={"Authorization": f"Bearer {created.token}"})
    with app.state.store.engine.connect() as conn:
        assert conn.execute(select(ApiKeyRow.last_used_at)).scalar_one() is not None


# -- scoring ----------------------------------------------------------------------------------


def test_score_event_matches_the_scorer(app, client: TestClient, models_dir: Path) -> None:
    headers = key(app, "score")
    r = client.post("/v1/score/event", json={"id": "p1", "text": ADVERT, "author": "demo_plug"}, headers=headers)
    assert r.status_code == 200, r.text
    got = r.json()
    expected = EventScorer.default(models_dir).score([Event(id="p1", text=ADVERT, author="demo_plug")])[0]
    assert got == expected.model_dump(mode="json")
    assert got["selling"] is True and got["selling_probability"] > 0.5
    assert "xanax" in got["drug_labels"]
    assert any(c["app"] == "wickr" and c["value"] == "demo_plug77" for c in got["contacts"])
    assert [m["name"] for m in got["models"]] == [SELLING, "drugwatch.drugtype.v3"]
    benign = client.post("/v1/score/event", json={"text": BENIGN}, headers=headers).json()
    assert benign["selling"] is False and benign["drug_labels"] == ["non_drug"]
    assert benign["id"] == "0"  # no id given: its position


def test_score_batch_keeps_order_and_equals_single_scores(app, client: TestClient) -> None:
    headers = key(app, "score")
    events = [{"id": f"e{i}", "text": t} for i, t in enumerate([ADVERT, BENIGN, "x4n4x bars, dm on telegram @demo_x"])]
    r = client.post("/v1/score/events", json={"events": events}, headers=headers)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["id"] for x in results] == ["e0", "e1", "e2"]
    for event, result in zip(events, results):
        single = client.post("/v1/score/event", json=event, headers=headers).json()
        assert single == result


def test_model_selection_and_unknown_model(app, client: TestClient) -> None:
    headers = key(app, "score")
    r = client.post("/v1/score/event?model=" + SELLING, json={"text": ADVERT}, headers=headers)
    assert r.status_code == 200
    assert r.json()["drug_probabilities"] is None and r.json()["selling_probability"] is not None
    assert [m["name"] for m in r.json()["models"]] == [SELLING]
    r = client.post("/v1/score/event?model=drugwatch.nope.v1", json={"text": ADVERT}, headers=headers)
    assert r.status_code == 404
    assert "drugwatch.nope.v1" in r.json()["detail"] and SELLING in r.json()["detail"]
    r = client.post("/v1/score/event?modle=" + SELLING, json={"text": ADVERT}, headers=headers)
    assert r.status_code == 422 and "extra_forbidden" in r.text  # a misspelt parameter is not ignored
    r = client.post("/v1/score/event?model=Selling", json={"text": ADVERT}, headers=headers)
    assert r.status_code == 422 and "string_pattern_mismatch" in r.text
    r = client.get("/v1/models/drugwatch.nope.v1", headers=headers)
    assert r.status_code == 404 and "not loaded" in r.json()["detail"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ('{"text": "unterminated', "json_invalid"),
        ("[1, 2]", "model_attributes_type"),
        ('{"text": 5}', "string_type"),
        ('{"text": "hi", "labels": ["xanax"]}', "extra_forbidden"),
        ('{"kind": "comment", "text": "hmu"}', "parent_id"),
        ('{"kind": "comment", "id": "c1", "parent_id": "c1"}', "own id"),
        ('{"kind": "post", "parent_id": "p0"}', "extra_forbidden"),
        ('{"text": "hi", "created_at": "yesterday"}', "datetime"),
        ('{"text": "hi", "hashtags": "one string"}', "list_type"),
        ('{"text": "hi", "created_at": 1700000000}', "ISO 8601"),
        (b'{"text": "\xff\xfe"}', "json_invalid"),
    ],
)
def test_bad_input_is_a_clear_422(app, client: TestClient, body: str | bytes, fragment: str) -> None:
    r = client.post("/v1/score/event", content=body, headers={**key(app, "score"), "Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    assert fragment in json.dumps(r.json())


def test_batch_size_limits(make_app) -> None:
    app = make_app(api_max_batch=3)
    headers = key(app, "score")
    with TestClient(app) as client:
        assert client.post("/v1/score/events", json={"events": []}, headers=headers).status_code == 422
        r = client.post("/v1/score/events", json={"events": [{"text": "a"}] * 4}, headers=headers)
        assert r.status_code == 422 and "too_long" in r.text
        assert client.post("/v1/score/events", json={"events": [{"text": "a"}] * 3}, headers=headers).status_code == 200


def test_body_size_limit_refuses_before_reading(make_app) -> None:
    app = make_app(api_max_body_bytes=4096)
    headers = key(app, "score")
    big = json.dumps({"text": "x" * 5000})
    with TestClient(app) as client:
        r = client.post("/v1/score/event", content=big, headers={**headers, "Content-Type": "application/json"})
        assert r.status_code == 413 and "4096" in r.json()["detail"]

        read = []

        def chunks():  # no Content-Length: streamed, refused once past the limit
            for i in range(10):
                read.append(i)
                yield b" " * 1000

        r = client.post("/v1/score/event", content=chunks(), headers={**headers, "Content-Type": "application/json"})
        assert r.status_code == 413
        small = json.dumps({"text": "x" * 100})
        assert (
            client.post(
                "/v1/score/event", content=small, headers={**headers, "Content-Type": "application/json"}
            ).status_code
            == 200
        )

        def small_chunks():
            yield small[:50].encode()
            yield small[50:].encode()

        r = client.post(
            "/v1/score/event", content=small_chunks(), headers={**headers, "Content-Type": "application/json"}
        )
        assert r.status_code == 200, r.text


def test_rate_limit_per_key_with_retry_after(make_app) -> None:
    app = make_app(api_rate_per_second=0.5, api_rate_burst=2)
    a, b = key(app, "score", name="a"), key(app, "score", name="b")
    with TestClient(app) as client:
        assert [client.get("/v1/models", headers=a).status_code for _ in range(2)] == [200, 200]
        r = client.get("/v1/models", headers=a)
        assert r.status_code == 429 and 1 <= int(r.headers["retry-after"]) <= 2
        assert "rate limit" in r.json()["detail"]
        assert client.get("/v1/models", headers=b).status_code == 200  # buckets are per key


def test_token_bucket_refills_at_its_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(rate=2.0, burst=3, clock=lambda: now[0])
    assert [limiter.acquire(1) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.acquire(1) == pytest.approx(0.5)
    now[0] = 0.5
    assert limiter.acquire(1) == 0.0
    now[0] = 100.0  # never more than the burst
    assert [limiter.acquire(1) for _ in range(4)][-1] > 0
    assert limiter.retry_after(0.01) == "1" and limiter.retry_after(2.2) == "3"


# -- inspect, models, account -----------------------------------------------------------------


def test_inspect_returns_the_text_layer_view(app, client: TestClient) -> None:
    r = client.post(
        "/v1/inspect", json={"text": "x4n4x 2mg bars 🔌 wickr: demo_plug7 #2mgxanax"}, headers=key(app, "inspect")
    )
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["labels"] == ["xanax"]
    assert view["normalized"].startswith("xanax 2mg bars")
    assert [c["app"] for c in view["contacts"]] == ["wickr"] and view["contacts"][0]["raw"] == "wickr: demo_plug7"
    assert view["hashtags"][0]["tag"] == "2mgxanax" and view["hashtags"][0]["segments"] == ["2mg", "xanax"]
    assert any(h["label"] == "xanax" and h["raw"].startswith("x4n4x") for h in view["hits"])
    assert view == json.loads(json.dumps(_cli_view(view["raw"])))


def _cli_view(text: str) -> dict:
    """What ``drugwatch inspect --json`` prints for ``text``."""
    from drugwatch.cli.inspect_cmd import view_to_dict
    from drugwatch.text.analyze import analyze

    return view_to_dict(analyze(text))


def test_models_are_listed_with_name_version_fingerprints(app, client: TestClient, models_dir: Path) -> None:
    headers = key(app, "inspect")  # any key may list
    listing = client.get("/v1/models", headers=headers).json()
    names = [m["name"] for m in listing["models"]]
    assert names == [SELLING, "drugwatch.drugtype.v3"]
    config = json.loads((models_dir / "selling" / "config.json").read_text())
    selling = listing["models"][0]
    assert (
        selling["version"] == int(SELLING.rsplit(".v", 1)[1])
        and selling["task"] == "selling"
        and selling["columns"] == ["not_selling", "selling"]
    )
    assert selling["training_fingerprint"] == config["training_data"]["fingerprint"]
    assert len(selling["files_sha256"]) == 64
    one = client.get("/v1/models/drugwatch.drugtype.v3", headers=headers).json()
    assert one == listing["models"][1] and len(one["columns"]) == 10


def test_account_aggregates_its_event_scores(app, client: TestClient) -> None:
    headers = key(app, "score")
    body = {
        "username": "demo_plug",
        "bio": "plug 🔌 wickr: demo_plug77",
        "followers": 10,
        "following": 900,
        "timeline": [
            {"id": "1", "text": ADVERT},
            {"id": "2", "text": "x4n4x bars and percs, wickr demo_plug77, cashapp $demoplug"},
            {"id": "3", "text": BENIGN},
        ],
    }
    r = client.post("/v1/score/account", json=body, headers=headers)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["key"] == "instagram:demo_plug" and out["method"] == "aggregate" and out["n_events"] == 3
    probs = [e["selling_probability"] for e in out["events"]]
    assert out["selling_probability_max"] == pytest.approx(max(probs))
    assert out["selling_probability_mean"] == pytest.approx(sum(probs) / 3)
    assert out["n_selling"] == sum(e["selling"] for e in out["events"]) and out["n_selling"] >= 1
    assert out["drug_label_counts"].get("xanax", 0) >= 1
    wickr = next(c for c in out["contacts"] if c["app"] == "wickr")
    assert wickr["value"] == "demo_plug77" and wickr["in_bio"] and wickr["n_events"] == 2
    # Timeline events are the account's own: no author field to contradict it.
    r = client.post(
        "/v1/score/account", json={**body, "timeline": [{"text": "hi", "author": "someone_else"}]}, headers=headers
    )
    assert r.status_code == 422 and "extra_forbidden" in r.text and "author" in r.text
    empty = client.post("/v1/score/account", json={"username": "quiet"}, headers=headers).json()
    assert empty["n_events"] == 0 and empty["selling_probability_max"] is None


def test_account_with_a_dealer_model(model_cache: Path, tmp_path: Path) -> None:
    from drugwatch.accounts import score_accounts

    models = copy_models(model_cache, tmp_path / "with-account", account=True)
    app = create_app(ApiSettings(db=f"sqlite:///{tmp_path / 'a.sqlite'}", api_models=models, api_key_cache_seconds=0))
    headers = key(app, "score")
    dealer = next(a for a in demo_accounts() if a.dealer)
    body = {
        "username": dealer.username,
        "bio": dealer.bio,
        "followers": dealer.followers,
        "following": dealer.following,
        "timeline": [
            {
                "id": e.id,
                "kind": e.kind,
                "text": e.text,
                "hashtags": list(e.hashtags),
                "created_at": e.created_at.isoformat() if e.created_at else None,
                **({"parent_id": e.parent_id, "post_id": e.post_id} if e.kind == "comment" else {}),
            }
            for e in dealer.timeline
        ],
    }
    with TestClient(app) as client:
        names = [m["name"] for m in client.get("/v1/models", headers=headers).json()["models"]]
        assert names == [SELLING, "drugwatch.drugtype.v3", "drugwatch.accounts.v1"]
        r = client.post("/v1/score/account", json=body, headers=headers)
    assert r.status_code == 200, r.text
    out = r.json()
    sent = Account.parse(
        {
            **{k: v for k, v in body.items() if k != "timeline"},
            "timeline": [{**e, "author": dealer.username} for e in body["timeline"]],
        }
    )
    expected = score_accounts([sent], models / "account")[0]
    assert out["method"] == "drugwatch.accounts.v1" and out["dealer_model"]["name"] == "drugwatch.accounts.v1"
    assert out["dealer_probability"] == pytest.approx(expected.probability) and out["dealer"] == expected.dealer
    assert set(out["dealer_features"]) == set(expected.features)
    assert out["n_events"] == len(dealer.timeline)


# -- model hot swap -------------------------------------------------------------------------------


def test_reload_swaps_models_and_a_failed_reload_keeps_them(
    app, client: TestClient, models_dir: Path, model_cache: Path
) -> None:
    admin, scorer = key(app, "admin"), key(app, "score")
    before = client.get("/v1/models", headers=admin).json()
    old_set = app.state.models.current  # what a request in flight holds
    copy_models(model_cache, models_dir, seed=1)  # new models written into the directory
    r = client.post("/v1/models/reload", headers=admin)
    assert r.status_code == 200, r.text
    after = r.json()
    assert after["generation"] > before["generation"]
    assert after["models"][0]["files_sha256"] != before["models"][0]["files_sha256"]
    assert after["models"][0]["training_fingerprint"] != before["models"][0]["training_fingerprint"]
    assert app.state.models.current is not old_set
    # The old set still scores (requests in flight finish on it) and differs from the new one.
    old = old_set.scorer.score([Event(id="x", text=ADVERT)])[0]
    new = client.post("/v1/score/event", json={"id": "x", "text": ADVERT}, headers=scorer).json()
    assert new["models"][0]["fingerprint"] == after["models"][0]["training_fingerprint"]
    assert old.models[0].fingerprint == before["models"][0]["training_fingerprint"]

    (models_dir / "selling" / "config.json").write_text("{ broken", encoding="utf-8")
    r = client.post("/v1/models/reload", headers=admin)
    assert r.status_code == 409 and "still serving generation" in r.json()["detail"]
    health = client.get("/health").json()
    assert health["generation"] == after["generation"] and "invalid JSON" in health["last_reload_error"]
    assert client.post("/v1/score/event", json={"text": ADVERT}, headers=scorer).status_code == 200


def test_a_request_in_flight_finishes_on_the_models_it_started_with(app, models_dir: Path, model_cache: Path) -> None:
    import threading

    admin, scorer = key(app, "admin"), key(app, "score")
    old_set = app.state.models.current
    old_fingerprint = old_set.models[0].info.fingerprint
    entered, gate = threading.Event(), threading.Event()
    real_score = old_set.scorer.score

    def held_score(events):  # the old scorer, held mid-call until the reload is done
        entered.set()
        assert gate.wait(30)
        return real_score(events)

    old_set.scorer.score = held_score
    answers = {}
    with TestClient(app) as client:
        worker = threading.Thread(
            target=lambda: answers.update(r=client.post("/v1/score/event", json={"text": ADVERT}, headers=scorer))
        )
        worker.start()
        assert entered.wait(30)
        copy_models(model_cache, models_dir, seed=1)
        reloaded = client.post("/v1/models/reload", headers=admin)
        assert reloaded.status_code == 200
        gate.set()
        worker.join(30)
        fresh = client.post("/v1/score/event", json={"text": ADVERT}, headers=scorer).json()
    assert answers["r"].status_code == 200
    assert answers["r"].json()["models"][0]["fingerprint"] == old_fingerprint
    assert fresh["models"][0]["fingerprint"] == reloaded.json()["models"][0]["training_fingerprint"] != old_fingerprint


def test_watcher_reloads_when_the_directory_changes(make_app, models_dir: Path, model_cache: Path) -> None:
    app = make_app(api_watch_seconds=0.05)
    with TestClient(app) as client:
        first = client.get("/health").json()["generation"]
        time.sleep(0.2)
        assert client.get("/health").json()["generation"] == first  # nothing changed, no reload
        copy_models(model_cache, models_dir, seed=1)
        deadline = time.monotonic() + 20
        while client.get("/health").json()["generation"] == first and time.monotonic() < deadline:
            time.sleep(0.05)
        assert client.get("/health").json()["generation"] > first


def test_startup_fails_clearly_without_models(tmp_path: Path) -> None:
    from drugwatch.models.base import ModelLoadError

    with pytest.raises(ModelLoadError, match="no detectors in"):
        create_app(ApiSettings(db=f"sqlite:///{tmp_path / 'k.sqlite'}", api_models=tmp_path / "empty"))


# -- logs ---------------------------------------------------------------------------------------


def test_access_log_is_structured_and_has_no_personal_data(
    app, client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    headers = key(app, "score")
    prefix = headers["Authorization"].split("_")[1]
    secret_text = "wickr: zz_private_handle99 selling bars"
    with caplog.at_level(logging.INFO, logger="drugwatch.api"):
        client.post("/v1/score/event", json={"text": secret_text, "author": "zz_private_user"}, headers=headers)
        client.post(
            "/v1/score/account",
            json={"username": "zz_private_user", "timeline": [{"text": secret_text}]},
            headers=headers,
        )
        client.post("/v1/score/event", json={"text": secret_text, "kind": "comment"}, headers=headers)  # 422
        client.get("/v1/models/zz_private_model", headers=headers)  # 404: raw path not logged
        client.post("/v1/score/event", content=b"x" * (2 << 20), headers=headers)  # 413 before routing
        client.get("/zz_private_path")
    access = [r for r in caplog.records if r.name == "drugwatch.api.access"]
    assert len(access) == 6
    lines = [json.loads(JsonFormatter().format(r)) for r in access]
    assert [(x["route"], x["status"]) for x in lines] == [
        ("/v1/score/event", 200),
        ("/v1/score/account", 200),
        ("/v1/score/event", 422),
        ("/v1/models/{name}", 404),
        ("/v1/score/event", 413),
        ("<unmatched>", 404),
    ]
    assert all(x["key"] == prefix and x["latency_ms"] >= 0 and x["method"] for x in lines[:4])
    assert lines[4]["key"] is None and lines[4]["bytes_in"] == 0  # refused unread
    assert lines[0]["n_events"] == 1 and lines[1]["n_events"] == 1 and lines[0]["bytes_in"] > 0
    everything = "\n".join(JsonFormatter().format(r) for r in caplog.records)
    for private in (
        "zz_private_handle99",
        "zz_private_user",
        "zz_private_model",
        "zz_private_path",
        "testclient",
        "Bearer",
    ):
        assert private not in everything


# -- request coalescing -------------------------------------------------------------------------


class _RecordingScorer:
    """Stands in for an EventScorer: echoes ids, records the size of each call."""

    def __init__(self, delay: float = 0.0, fail_on: str | None = None) -> None:
        self.calls: list[int] = []
        self.delay = delay
        self.fail_on = fail_on

    def score(self, events):
        self.calls.append(len(events))
        if self.fail_on and any(e.id == self.fail_on for e in events):
            raise ValueError("scorer failed")
        time.sleep(self.delay)
        return [f"result:{e.id}" for e in events]


def test_concurrent_requests_share_scorer_calls_and_get_their_own_results() -> None:
    import asyncio

    from drugwatch.api.batching import ScoreQueue

    async def run():
        queue = ScoreQueue(max_events=64)
        scorer = _RecordingScorer(delay=0.01)
        first = asyncio.create_task(queue.score(scorer, [Event(id="a")]))
        await asyncio.sleep(0)  # the first call starts alone...
        rest = [asyncio.create_task(queue.score(scorer, [Event(id=f"b{i}"), Event(id=f"c{i}")])) for i in range(7)]
        results = [await first] + [await t for t in rest]  # ...the others arrive meanwhile and go together
        queue.close()
        return scorer.calls, results

    calls, results = asyncio.run(run())
    assert results[0] == ["result:a"]
    assert results[1:] == [[f"result:b{i}", f"result:c{i}"] for i in range(7)]
    assert sum(calls) == 15 and len(calls) < 8


def test_a_scorer_error_reaches_the_requests_of_its_group_only() -> None:
    import asyncio

    from drugwatch.api.batching import ScoreQueue

    async def run():
        queue = ScoreQueue(linger_seconds=0)
        scorer = _RecordingScorer(fail_on="bad")
        bad = asyncio.create_task(queue.score(scorer, [Event(id="bad")]))
        with pytest.raises(ValueError, match="scorer failed"):
            await bad
        ok = await queue.score(scorer, [Event(id="fine")])
        queue.close()
        return ok

    assert asyncio.run(run()) == ["result:fine"]

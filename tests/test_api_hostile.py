"""The scoring API under hostile input: the event loop never reads text, keys are checked before
bodies, text is capped per event and per request, slow clients are cut off, /docs stays local."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from pathlib import Path
from typing import Any

import h11
import pytest
import uvicorn
from fastapi.testclient import TestClient
from test_api_support import ADVERT, copy_models
from typer.testing import CliRunner
from uvicorn.importer import import_from_string

from drugwatch.api import ApiSettings, create_app
from drugwatch.api.keys import create_key
from drugwatch.api.server import TimedH11Protocol

#: What one /health may take while the worker thread is busy. Were the text work on the event loop,
#: /health would wait for all of it (held: 30 s; scored: the whole batch).
LOOP_THREAD_BOUND_S = 2.0


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hostile-model-cache")


@pytest.fixture
def make_app(model_cache: Path, tmp_path: Path):
    models = copy_models(model_cache, tmp_path / "models")

    def build(settle: bool = False, **overrides: Any):
        values = {"db": f"sqlite:///{tmp_path / 'api.sqlite'}", "api_models": models, "api_key_cache_seconds": 0.0}
        values.update(overrides)
        return create_app(ApiSettings(**values), settle=settle)

    return build


def key(app, *scopes: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {create_key(app.state.store.engine, 'hostile', scopes or ('score',)).token}"}


# -- nothing that reads text runs on the event loop -------------------------------------------------


def _hold(entered: threading.Event, gate: threading.Event, threads: list[str], real):
    def held(*args, **kwargs):
        threads.append(threading.current_thread().name)
        entered.set()
        assert gate.wait(30), "the test never released the held call"
        return real(*args, **kwargs)

    return held


def _health_while_held(client: TestClient, entered: threading.Event, gate: threading.Event, call) -> dict:
    """Start ``call`` in a thread; once the held text work has begun, /health must answer; then release."""
    answers: dict = {}
    worker = threading.Thread(target=lambda: answers.update(r=call()))
    worker.start()
    try:
        assert entered.wait(30), "the request never reached the held text work"
        started = time.perf_counter()
        health = client.get("/health")
        answers["health_s"] = time.perf_counter() - started
        assert health.status_code == 200
        assert worker.is_alive()  # the request was still in flight while /health answered
    finally:
        gate.set()
        worker.join(30)
    return answers


@pytest.mark.parametrize("route", ["/v1/score/event", "/v1/score/events", "/v1/score/account"])
def test_scoring_runs_on_the_worker_thread_and_health_answers_meanwhile(make_app, route: str) -> None:
    app = make_app()
    headers = key(app, "score")
    entered, gate, threads = threading.Event(), threading.Event(), []
    scorer = app.state.models.current.scorer
    scorer.score = _hold(entered, gate, threads, scorer.score)  # held in the middle of a scorer call
    body = {
        "/v1/score/event": {"text": ADVERT},
        "/v1/score/events": {"events": [{"text": ADVERT}] * 3},
        "/v1/score/account": {"username": "demo_plug", "bio": "wickr: demo_plug77", "timeline": [{"text": ADVERT}]},
    }
    with TestClient(app) as client:
        answers = _health_while_held(
            client, entered, gate, lambda: client.post(route, json=body[route], headers=headers)
        )
    assert answers["r"].status_code == 200, answers["r"].text
    assert answers["health_s"] < LOOP_THREAD_BOUND_S
    assert threads == ["drugwatch-score_0"]


def test_event_parsing_and_account_bio_run_on_the_worker_thread(make_app, monkeypatch: pytest.MonkeyPatch) -> None:
    import drugwatch.api.accounts as accounts
    import drugwatch.text.hashtags as hashtags

    app = make_app()
    headers = key(app, "score")
    seen: dict[str, list[str]] = {"hashtags": [], "bio": []}
    real_extract, real_analyze = hashtags.extract_hashtags, accounts.analyze

    def extract(text, *a, **k):  # Event.parse reads the text for hashtags
        seen["hashtags"].append(threading.current_thread().name)
        return real_extract(text, *a, **k)

    def analyze(text, *a, **k):
        seen["bio"].append(threading.current_thread().name)
        return real_analyze(text, *a, **k)

    monkeypatch.setattr(hashtags, "extract_hashtags", extract)
    monkeypatch.setattr(accounts, "analyze", analyze)
    with TestClient(app) as client:
        r = client.post(
            "/v1/score/account",
            headers=headers,
            json={"username": "u1", "bio": "plug #xanax", "timeline": [{"text": "bars #xanax #plug"}]},
        )
        assert r.status_code == 200, r.text
        r = client.post("/v1/score/event", json={"text": "fresh #percs"}, headers=headers)
        assert r.status_code == 200 and r.json()["hashtags"]
    assert seen["hashtags"] and all(name.startswith("drugwatch-score") for name in seen["hashtags"])
    assert seen["bio"] and all(name.startswith("drugwatch-score") for name in seen["bio"])


def test_inspect_runs_on_the_worker_thread(make_app, monkeypatch: pytest.MonkeyPatch) -> None:
    import drugwatch.api.routers.inspect as inspect_router

    app = make_app()
    headers = key(app, "inspect")
    entered, gate, threads = threading.Event(), threading.Event(), []
    monkeypatch.setattr(inspect_router, "analyze", _hold(entered, gate, threads, inspect_router.analyze))
    with TestClient(app) as client:
        answers = _health_while_held(
            client, entered, gate, lambda: client.post("/v1/inspect", json={"text": ADVERT}, headers=headers)
        )
    assert answers["r"].status_code == 200 and answers["r"].json()["labels"] == ["xanax"]
    assert answers["health_s"] < LOOP_THREAD_BOUND_S and threads == ["drugwatch-score_0"]


def test_health_keeps_answering_while_a_large_batch_is_scored(make_app) -> None:
    """Real scorer, real text: /health answers many times while a long batch is scored."""
    app = make_app(api_max_event_chars=32_000, api_max_request_chars=256_000)
    headers = key(app, "score")
    words = "sunset at the beach with friends, lovely day in the park with my dog #travel 🌅".split()
    text = " ".join(words[i % len(words)] for i in range(8_000))[:32_000]
    body = {"events": [{"id": str(i), "text": text[i:] + text[:i]} for i in range(8)]}  # 256,000 characters
    latencies: list[float] = []
    done = threading.Event()
    result: dict = {}
    with TestClient(app) as client:

        def big() -> None:
            started = time.perf_counter()
            result["r"] = client.post("/v1/score/events", json=body, headers=headers)
            result["seconds"] = time.perf_counter() - started
            done.set()

        worker = threading.Thread(target=big)
        worker.start()
        while not done.is_set():
            started = time.perf_counter()
            assert client.get("/health").status_code == 200
            if not done.is_set():
                latencies.append(time.perf_counter() - started)
            time.sleep(0.01)
        worker.join(60)
    assert result["r"].status_code == 200 and len(result["r"].json()["results"]) == 8
    assert len(latencies) >= 3, "the batch finished too fast to watch /health during it"
    # On the loop, one /health would have waited for the whole batch.
    assert max(latencies) < max(0.25, result["seconds"] / 2), (max(latencies), result["seconds"])


def test_the_collector_is_paused_while_the_worker_reads_text(make_app, monkeypatch: pytest.MonkeyPatch) -> None:
    """A collection holds the GIL throughout: one over a long text's young objects would stall the loop."""
    import gc

    import drugwatch.api.routers.inspect as inspect_router

    app = make_app()
    headers = key(app, "score", "inspect")
    seen: list[bool] = []
    scorer = app.state.models.current.scorer
    real_score, real_analyze = scorer.score, inspect_router.analyze
    scorer.score = lambda events: seen.append(gc.isenabled()) or real_score(events)
    monkeypatch.setattr(inspect_router, "analyze", lambda text: seen.append(gc.isenabled()) or real_analyze(text))
    with TestClient(app) as client:
        assert client.post("/v1/score/event", json={"text": ADVERT}, headers=headers).status_code == 200
        assert client.post("/v1/inspect", json={"text": ADVERT}, headers=headers).status_code == 200
    assert seen == [False, False] and gc.isenabled()


def test_a_serving_process_is_warmed_up_and_its_heap_frozen_at_start(make_app, monkeypatch: pytest.MonkeyPatch) -> None:
    import gc

    import drugwatch.api.app as api_app

    frozen: list[str] = []
    # Recorded, not done: freezing would keep this test process's garbage for good.
    monkeypatch.setattr(gc, "freeze", lambda: frozen.append(threading.current_thread().name))
    warmed: list[str] = []
    real_settle = api_app.settle_process

    def settle(models) -> None:
        warmed.append(threading.current_thread().name)
        real_settle(models)

    monkeypatch.setattr(api_app, "settle_process", settle)
    with TestClient(make_app()) as client:  # plain apps (tests) leave the process alone
        assert client.get("/health").status_code == 200
    assert warmed == frozen == []
    app = make_app(settle=True)
    with TestClient(app) as client:
        assert warmed == frozen == ["drugwatch-score_0"]
        assert client.post("/v1/models/reload", headers=key(app, "admin")).status_code == 200
    assert warmed == frozen == ["drugwatch-score_0"] * 2  # and again after a reload
    made: list[dict] = []
    monkeypatch.setattr(api_app, "create_app", lambda settings=None, **kw: made.append(kw))
    api_app.serving_app()  # what `drugwatch serve` runs
    assert made == [{"settle": True}]


# -- keys before bodies -------------------------------------------------------------------------------


def _raw_call(app, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, dict, bool]:
    """Call the ASGI app directly; returns the status, the JSON answer and whether the body was read."""
    read = []
    sent: list[dict] = []

    async def receive() -> dict:
        read.append(True)
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            *((k.lower().encode(), v.encode()) for k, v in headers.items()),
        ],
    }
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    payload = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], json.loads(payload), bool(read)


@pytest.mark.parametrize(
    "path", ["/v1/score/event", "/v1/score/events", "/v1/score/account", "/v1/inspect", "/v1/models/reload"]
)
def test_a_request_without_a_valid_key_is_refused_with_its_body_unread(make_app, path: str) -> None:
    app = make_app()
    garbage = b'{"text": "unterminated' + b"x" * 10_000
    status, answer, read = _raw_call(app, path, garbage, {})
    assert (status, read) == (401, False) and "API key" in answer["detail"]
    status, _, read = _raw_call(app, path, garbage, {"Authorization": "Bearer dwk_aaaaaaaaaa_" + "x" * 43})
    assert (status, read) == (401, False)
    needed = {"/v1/inspect": "inspect", "/v1/models/reload": "admin"}.get(path, "score")
    other = next(s for s in ("score", "inspect", "admin") if s != needed)
    status, answer, read = _raw_call(app, path, garbage, key(app, other))
    assert (status, read) == (403, False) and needed in answer["detail"]
    if path != "/v1/models/reload":  # the one route without a body
        status, answer, read = _raw_call(app, path, garbage, key(app, needed))
        assert (status, read) == (422, True) and answer["detail"][0]["type"] == "json_invalid"


def test_invalid_json_without_a_key_is_a_401_not_a_422(make_app) -> None:
    app = make_app(api_rate_per_second=0.001, api_rate_burst=1)
    headers = key(app, "score")
    with TestClient(app) as client:
        r = client.post("/v1/score/event", content=b"{not json", headers={"Content-Type": "application/json"})
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert client.post("/v1/score/event", json={"text": "hi"}, headers=headers).status_code == 200
        r = client.post(
            "/v1/score/event", content=b"{not json", headers={**headers, "Content-Type": "application/json"}
        )
        assert r.status_code == 429 and r.headers["retry-after"]  # the rate limit, too, comes before the body


def test_the_key_is_checked_and_rate_counted_once_per_request(make_app) -> None:
    app = make_app(api_rate_per_second=0.001, api_rate_burst=2)
    headers = key(app, "score")
    with TestClient(app) as client:
        assert [client.post("/v1/score/event", json={"text": "hi"}, headers=headers).status_code for _ in range(3)] == [
            200,
            200,
            429,
        ]


# -- characters per event and per request ---------------------------------------------------------------


def test_a_text_over_the_event_cap_is_a_clear_422(make_app) -> None:
    app = make_app(api_max_event_chars=1000, api_max_request_chars=5000)
    headers = {**key(app, "score", "inspect")}
    with TestClient(app) as client:
        schema = client.get("/openapi.json").json()["components"]["schemas"]
        assert schema["PostIn"]["properties"]["text"]["maxLength"] == 1000
        assert schema["InspectIn"]["properties"]["text"]["maxLength"] == 1000
        assert schema["AccountIn"]["properties"]["bio"]["maxLength"] == 1000
        for path, body in [
            ("/v1/score/event", {"text": "a" * 1001}),
            ("/v1/score/events", {"events": [{"text": "ok"}, {"text": "a" * 1001}]}),
            ("/v1/score/account", {"username": "u", "timeline": [{"text": "a" * 1001}]}),
            ("/v1/score/account", {"username": "u", "bio": "a" * 1001}),
            ("/v1/inspect", {"text": "a" * 1001}),
        ]:
            r = client.post(path, json=body, headers=headers)
            assert r.status_code == 422, (path, r.text)
            (error,) = r.json()["detail"]
            assert error["type"] == "string_too_long" and "1000 characters" in error["msg"]
            assert "aaaa" not in r.text  # the text is not echoed back
        assert client.post("/v1/score/event", json={"text": "a" * 1000}, headers=headers).status_code == 200


def test_a_request_over_the_request_cap_is_a_413_naming_the_limit(make_app) -> None:
    app = make_app(api_max_event_chars=1000, api_max_request_chars=5000)
    headers = key(app, "score")
    with TestClient(app) as client:
        for path, body in [
            ("/v1/score/events", {"events": [{"text": "a" * 1000}] * 5 + [{"text": "a", "hashtags": ["b"]}]}),
            (
                "/v1/score/account",
                {"username": "u", "bio": "a" * 1000, "timeline": [{"text": "a" * 1000}] * 4 + [{"text": "a"}]},
            ),
        ]:
            r = client.post(path, json=body, headers=headers)
            assert r.status_code == 413, (path, r.text)
            detail = r.json()["detail"]
            assert "5001" in detail or "5002" in detail
            assert "limit is 5000" in detail and "DRUGWATCH_API_MAX_REQUEST_CHARS" in detail
        ok = client.post("/v1/score/events", json={"events": [{"text": "a" * 1000}] * 5}, headers=headers)
        assert ok.status_code == 200 and len(ok.json()["results"]) == 5
        assert app.state.queue.events == 5  # the refused requests never reached the scorer


def test_event_cap_above_request_cap_is_refused() -> None:
    with pytest.raises(ValueError, match="api_max_event_chars"):
        ApiSettings(api_max_event_chars=10_000, api_max_request_chars=5_000)


def test_the_queue_groups_by_characters() -> None:
    from drugwatch.api.batching import ScoreQueue
    from drugwatch.records import Event

    class Recorder:
        def __init__(self) -> None:
            self.calls: list[int] = []

        def score(self, events):
            self.calls.append(len(events))
            time.sleep(0.01)
            return [e.id for e in events]

    async def run():
        queue = ScoreQueue(max_events=100, max_chars=250, linger_seconds=0)
        scorer = Recorder()
        first = asyncio.create_task(queue.score(scorer, [Event(id="first")]))
        await asyncio.sleep(0)
        rest = [asyncio.create_task(queue.score(scorer, [Event(id=str(i), text="x" * 100)])) for i in range(5)]
        answers = [await first] + [await t for t in rest]
        queue.close()
        return scorer.calls, answers

    calls, answers = asyncio.run(run())
    assert answers == [["first"]] + [[str(i)] for i in range(5)]
    assert calls == [1, 2, 2, 1]  # 100-character events, at most 250 characters per call


# -- a slow client is cut off ---------------------------------------------------------------------


class _FastTimeouts(TimedH11Protocol):
    header_timeout = 0.4
    body_timeout = 0.6


async def _echo_app(scope, receive, send) -> None:
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            _echo_app.disconnects += 1  # type: ignore[attr-defined]
            return
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", str(len(body)).encode())]}
    )
    await send({"type": "http.response.body", "body": body})


@pytest.fixture
def live_server():
    _echo_app.disconnects = 0  # type: ignore[attr-defined]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(
        _echo_app,
        host="127.0.0.1",
        port=port,
        http=_FastTimeouts,
        lifespan="off",
        log_level="warning",
        timeout_keep_alive=5,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield port
    server.should_exit = True
    thread.join(10)


def _closed_after(sock: socket.socket, limit: float) -> float:
    """Seconds until the server closes ``sock`` (reads until EOF); fails past ``limit``."""
    sock.settimeout(limit)
    started = time.monotonic()
    try:
        while sock.recv(4096):
            pass
    except ConnectionResetError:
        pass
    return time.monotonic() - started


def test_a_connection_that_sends_nothing_is_closed(live_server: int) -> None:
    with socket.create_connection(("127.0.0.1", live_server)) as sock:
        assert 0.3 < _closed_after(sock, 5) < 2


def test_a_trickled_request_head_is_cut_off_at_the_header_timeout(live_server: int) -> None:
    with socket.create_connection(("127.0.0.1", live_server)) as sock:
        started = time.monotonic()
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        closed = False
        for _ in range(40):  # one header byte every 0.05 s: never a whole head
            try:
                sock.sendall(b"X")
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            sock.settimeout(0.05)
            try:
                if sock.recv(4096) == b"":
                    closed = True
                    break
            except TimeoutError:
                pass
        assert closed and time.monotonic() - started < 1.5


def test_a_body_that_never_arrives_is_cut_off_at_the_body_timeout(live_server: int) -> None:
    with socket.create_connection(("127.0.0.1", live_server)) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + b"y" * 10)
        assert 0.4 < _closed_after(sock, 5) < 2
    deadline = time.monotonic() + 2
    while _echo_app.disconnects == 0 and time.monotonic() < deadline:  # type: ignore[attr-defined]
        time.sleep(0.02)
    assert _echo_app.disconnects == 1  # type: ignore[attr-defined]  # the app saw the disconnect


def test_prompt_requests_on_a_kept_alive_connection_are_served(live_server: int) -> None:
    conn = h11.Connection(h11.CLIENT)
    with socket.create_connection(("127.0.0.1", live_server)) as sock:
        sock.settimeout(5)
        for i in range(3):  # 3 × 0.2 s > the header timeout: each request gets its own clock
            time.sleep(0.2)
            body = f"ping {i}".encode()
            sock.sendall(
                conn.send(
                    h11.Request(method="POST", target="/", headers=[("Host", "x"), ("Content-Length", str(len(body)))])
                )
                + conn.send(h11.Data(data=body))
                + conn.send(h11.EndOfMessage())
            )
            answer = b""
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    conn.receive_data(sock.recv(4096))
                elif isinstance(event, h11.Data):
                    answer += event.data
                elif isinstance(event, h11.EndOfMessage):
                    break
            assert answer == body
            conn.start_next_cycle()


def test_the_served_protocol_reads_its_timeouts_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from drugwatch.api import server

    monkeypatch.setenv("DRUGWATCH_API_HEADER_TIMEOUT_SECONDS", "3.5")
    monkeypatch.setenv("DRUGWATCH_API_BODY_TIMEOUT_SECONDS", "20")
    server._configured_timeouts.cache_clear()
    try:
        assert server._configured_timeouts() == (3.5, 20.0)
    finally:
        server._configured_timeouts.cache_clear()


def test_serve_runs_uvicorn_with_the_timed_protocol_and_limits(
    tmp_path: Path, model_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import drugwatch.api.logs
    from drugwatch.cli import app as cli

    models = copy_models(model_cache, tmp_path / "serve-models")
    calls: list[tuple] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: calls.append((a, k)))
    monkeypatch.setattr(drugwatch.api.logs, "configure_logging", lambda *a, **k: None)  # keep pytest's log capture
    monkeypatch.setenv("DRUGWATCH_API_KEEP_ALIVE_SECONDS", "7")
    monkeypatch.setenv("DRUGWATCH_API_LIMIT_CONCURRENCY", "64")
    for name in ("DRUGWATCH_DB", "DRUGWATCH_API_MODELS"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(cli, ["serve", "--db", str(tmp_path / "s.sqlite"), "--models", str(models)])
    assert result.exit_code == 0, result.output
    ((args, kwargs),) = calls
    assert args == ("drugwatch.api.app:serving_app",) and kwargs["factory"] is True
    assert kwargs["http"] == "drugwatch.api.server:TimedH11Protocol"
    assert kwargs["timeout_keep_alive"] == 7 and kwargs["limit_concurrency"] == 64
    assert import_from_string(kwargs["http"]) is TimedH11Protocol


# -- /docs ------------------------------------------------------------------------------------------------


def test_docs_are_off_by_default_and_the_schema_names_no_outside_host(make_app) -> None:
    with TestClient(make_app()) as client:
        assert client.get("/docs").status_code == 404
        schema = client.get("/openapi.json")
        assert schema.status_code == 200 and "http://" not in schema.text and "https://" not in schema.text


def test_docs_with_local_assets_make_no_outside_request(make_app, tmp_path: Path) -> None:
    assets = tmp_path / "swagger-ui-dist"
    assets.mkdir()
    (assets / "swagger-ui-bundle.js").write_text("window.SwaggerUIBundle = function () {};", encoding="utf-8")
    (assets / "swagger-ui.css").write_text("body {}", encoding="utf-8")
    with TestClient(make_app(api_docs=True, api_docs_assets=assets)) as client:
        page = client.get("/docs")
        assert page.status_code == 200 and "/docs/assets/swagger-ui-bundle.js" in page.text
        assert "http://" not in page.text and "https://" not in page.text and "//cdn" not in page.text
        assert '"validatorUrl": null' in page.text
        assert client.get("/docs/assets/swagger-ui.css").text == "body {}"
        assert "/docs" not in client.get("/openapi.json").json()["paths"]
    (assets / "swagger-ui.css").unlink()
    with pytest.raises(FileNotFoundError, match="lacks swagger-ui.css"):
        make_app(api_docs=True, api_docs_assets=assets)


def test_docs_without_local_assets_use_the_cdn_only_when_asked(make_app) -> None:
    with TestClient(make_app(api_docs=True)) as client:
        assert "cdn.jsdelivr.net" in client.get("/docs").text  # documented: opting in loads Swagger UI from it

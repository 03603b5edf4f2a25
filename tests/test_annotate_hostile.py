"""The annotation app against hostile input: image paths that point out of the
media roots (absolute, ``../``, symlinks, non-images, the store, FIFOs), and
sign-in floods (throttling per account and per address, bounded hashing)."""

from __future__ import annotations

import os
import re
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from drugwatch.annotate import Settings, create_app, service
from drugwatch.annotate.auth import create_user
from drugwatch.annotate.service import MediaLibrary, sniff_image
from drugwatch.annotate.throttle import LoginGuard, address_key
from drugwatch.records import Event, ImageRef

# 1x1 PNG; the other formats by their magic bytes (enough for the check, which reads 12 bytes).
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 32
PASSWORD = "pw-correct-0123"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def site(tmp_path: Path) -> dict[str, Path]:
    """An import folder with images, and files outside it an attacker would like."""
    export = tmp_path / "export"
    (export / "images").mkdir(parents=True)
    (export / "posts.jsonl").write_text("{}\n")
    (export / "images" / "a.png").write_bytes(PNG)
    (export / "images" / "b.jpg").write_bytes(JPEG)
    (export / "images" / "c.webp").write_bytes(WEBP)
    (export / "images" / "notes.png").write_text("not an image, only named like one\n")
    (export / "images" / "folder.png").mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "private.png").write_bytes(PNG)  # a real image: only the root check can refuse it
    (export / "images" / "link.png").symlink_to(outside / "private.png")
    (export / "linked").symlink_to(outside, target_is_directory=True)
    os.mkfifo(export / "images" / "fifo.png")
    return {"tmp": tmp_path, "export": export, "outside": outside}


def _app(tmp_path: Path, **overrides):
    settings = Settings(
        db=f"sqlite:///{tmp_path / 'annotate.sqlite'}",
        secret_key="test-secret-key-0123456789",
        annotate_ocr=False,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        **overrides,
    )
    app = create_app(settings)
    create_user(app.state.engine, "boss", PASSWORD, "admin", app.state.hasher)
    return app


def _record_import(app, source: Path) -> None:
    now = datetime.now(UTC)
    app.state.store.record_import(source=str(source), format="jsonl", started_at=now, counts={}, quarantine_path=None)


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field on the login page"
    return match.group(1)


def _sign_in(client: TestClient, username: str, password: str):
    page = client.get("/login")
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": _csrf(page.text)},
        follow_redirects=False,
    )


def _admin(app) -> TestClient:
    client = TestClient(app)
    assert _sign_in(client, "boss", PASSWORD).status_code == 303
    return client


def _event_with(app, event_id: str, *paths: str) -> str:
    event = Event(id=event_id, text="img", author="someone", images=[ImageRef(path=p) for p in paths])
    app.state.store.upsert([event])
    return event.key


# ---------------------------------------------------------------------------
# Media


def test_media_serves_images_under_the_import_folder(site) -> None:
    app = _app(site["tmp"])
    _record_import(app, site["export"] / "posts.jsonl")
    images = site["export"] / "images"
    key = _event_with(app, "ok", "images/a.png", str(images / "b.jpg"), str(images / "c.webp"))
    client = _admin(app)
    for index, (body, content_type) in enumerate(((PNG, "image/png"), (JPEG, "image/jpeg"), (WEBP, "image/webp"))):
        response = client.get(f"/media/{key}/{index}")
        assert response.status_code == 200, response.text
        assert response.content == body
        assert response.headers["content-type"] == content_type
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["content-length"] == str(len(body))


@pytest.mark.parametrize(
    "recorded",
    [
        "/etc/passwd",  # absolute, outside every root
        "{outside}/private.png",  # absolute, a real image outside the roots
        "../outside/private.png",  # relative escape
        "images/../../outside/private.png",
        "images/link.png",  # a symlink inside the root to a file outside
        "linked/private.png",  # a symlinked folder inside the root
        "images/notes.png",  # inside the root, not an image
        "images/folder.png",  # a folder
        "images/fifo.png",  # a FIFO: refused without hanging the request
        "images/missing.png",
        "{export}/posts.jsonl",
        "../annotate.sqlite",  # the store
        "images/a.png\x00.txt",
    ],
)
def test_media_refuses_paths_outside_the_roots(site, recorded: str) -> None:
    app = _app(site["tmp"])
    _record_import(app, site["export"] / "posts.jsonl")
    path = recorded.format(outside=site["outside"], export=site["export"])
    key = _event_with(app, "bad", path)
    response = _admin(app).get(f"/media/{key}/0")
    assert response.status_code == 404
    assert response.json() == {"detail": "no such image on disk"}  # every refusal reads the same


def test_relative_paths_are_not_read_from_the_working_folder(site, monkeypatch: pytest.MonkeyPatch) -> None:
    app = _app(site["tmp"])
    _record_import(app, site["export"] / "posts.jsonl")
    monkeypatch.chdir(site["outside"])  # "private.png" exists here, in no root
    key = _event_with(app, "cwd", "private.png")
    assert _admin(app).get(f"/media/{key}/0").status_code == 404


def test_configured_roots_and_new_imports_are_allowed(site, tmp_path: Path) -> None:
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "x.png").write_bytes(PNG)
    later = tmp_path / "later"
    later.mkdir()
    (later / "y.png").write_bytes(PNG)
    app = _app(site["tmp"], media_roots=[extra])
    key = _event_with(app, "roots", str(extra / "x.png"), str(later / "y.png"), "x.png")
    client = _admin(app)
    assert client.get(f"/media/{key}/0").content == PNG
    assert client.get(f"/media/{key}/2").content == PNG  # relative to a configured root
    assert client.get(f"/media/{key}/1").status_code == 404  # no import from "later" yet
    _record_import(app, later)  # an import of a folder: the folder is the root
    assert client.get(f"/media/{key}/1").content == PNG  # the cached roots follow import_runs


def test_store_and_secret_are_denied_even_inside_a_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = _app(tmp_path, media_roots=[tmp_path])
    denied = app.state.media.denied
    assert Path(os.path.realpath(tmp_path / "annotate.sqlite")) in denied
    home = Path(os.environ["DRUGWATCH_HOME"])
    assert Path(os.path.realpath(home / "annotate-secret")) in denied
    # A denied file is refused even when it is an image inside a root.
    (tmp_path / "store.png").write_bytes(PNG)
    (tmp_path / "fine.png").write_bytes(PNG)
    media = MediaLibrary(app.state.engine, [tmp_path], denied=[tmp_path / "store.png"])
    assert media.open(str(tmp_path / "store.png")) is None
    opened = media.open("fine.png")
    assert opened is not None and opened.content_type == "image/png"
    opened.handle.close()


def test_an_import_from_the_filesystem_root_allows_nothing(tmp_path: Path) -> None:
    app = _app(tmp_path)
    _record_import(app, Path("/"))
    assert app.state.media.roots() == ()


def test_media_roots_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DRUGWATCH_MEDIA_ROOTS", f"{tmp_path / 'a'}{os.pathsep}{tmp_path / 'b'}")
    assert Settings().media_roots == [tmp_path / "a", tmp_path / "b"]
    monkeypatch.setenv("DRUGWATCH_MEDIA_ROOTS", f'["{tmp_path / "c"}"]')
    assert Settings().media_roots == [tmp_path / "c"]


def test_ocr_reads_only_servable_images(site) -> None:
    app = _app(site["tmp"])
    _record_import(app, site["export"] / "posts.jsonl")
    event = Event(id="ocr", text="x", images=[ImageRef(path="images/a.png"), ImageRef(path="/etc/passwd")])
    servable = service._servable_images(event, app.state.media)
    assert [i.path for i in servable.images] == [str((site["export"] / "images" / "a.png").resolve()), None]
    assert [i.path for i in service._servable_images(event, None).images] == [None, None]


def test_sniff_image() -> None:
    assert sniff_image(PNG[:12]) == "image/png"
    assert sniff_image(JPEG[:12]) == "image/jpeg"
    assert sniff_image(b"GIF89a\x01\x00") == "image/gif"
    assert sniff_image(WEBP[:12]) == "image/webp"
    assert sniff_image(b"RIFF\x00\x00\x00\x00WAVE") is None
    assert sniff_image(b"root:x:0:0:") is None
    assert sniff_image(b"SQLite format 3\x00") is None


# ---------------------------------------------------------------------------
# Sign-in throttling


@pytest.fixture
def throttled(tmp_path: Path):
    app = _app(tmp_path, login_account_failures=3, login_address_failures=6, login_window_s=60)
    create_user(app.state.engine, "alice", PASSWORD, "annotator", app.state.hasher)
    create_user(app.state.engine, "bob", PASSWORD, "annotator", app.state.hasher)
    clock = Clock()
    app.state.login_guard.clock = clock
    return app, clock


def test_wrong_passwords_lock_the_account_then_the_window_ends(throttled) -> None:
    app, clock = throttled
    client = TestClient(app)
    assert [_sign_in(client, "alice", "wrong-guess-0").status_code for _ in range(3)] == [401, 401, 401]
    locked = _sign_in(client, "alice", PASSWORD)  # even the right password: no hash is computed
    assert locked.status_code == 429
    assert 1 <= int(locked.headers["retry-after"]) <= 60
    assert "Too many sign-in attempts" in locked.text
    assert _sign_in(TestClient(app, client=("10.9.9.9", 1)), "alice", PASSWORD).status_code == 429  # any address
    # Another account from the same address is not locked by alice's count.
    assert _sign_in(client, "bob", PASSWORD).status_code == 303
    clock.now += 61
    assert _sign_in(client, "alice", PASSWORD).status_code == 303


def test_throttling_does_not_tell_whether_an_account_exists(throttled) -> None:
    app, _clock = throttled
    client = TestClient(app)
    other_address = TestClient(app, client=("10.0.0.9", 1))
    real = [_sign_in(client, "alice", "nope-nope") for _ in range(5)]
    ghost = [_sign_in(other_address, "ghost", "nope-nope") for _ in range(5)]
    real, ghost = ([(r.status_code, r.headers.get("retry-after")) for r in answers] for answers in (real, ghost))
    assert [s for s, _ in real] == [s for s, _ in ghost] == [401, 401, 401, 429, 429]
    assert [r for _, r in real] == [r for _, r in ghost]


def test_the_address_limit_spans_accounts(throttled) -> None:
    app, _clock = throttled
    client = TestClient(app, client=("203.0.113.7", 5000))
    codes = [_sign_in(client, f"user{i}", "wrong-guess-0").status_code for i in range(6)]
    assert codes == [401] * 6  # six accounts, one failure each: under the account limit
    assert _sign_in(client, "bob", PASSWORD).status_code == 429  # the address is over its limit
    assert _sign_in(TestClient(app, client=("203.0.113.8", 5000)), "bob", PASSWORD).status_code == 303


def test_a_success_clears_the_account_count(throttled) -> None:
    app, _clock = throttled
    client = TestClient(app)
    assert [_sign_in(client, "alice", "wrong-guess-0").status_code for _ in range(2)] == [401, 401]
    assert _sign_in(client, "alice", PASSWORD).status_code == 303
    assert [_sign_in(TestClient(app), "alice", "wrong-guess-0").status_code for _ in range(3)] == [401, 401, 401]


def test_a_busy_hasher_answers_503_quickly_and_counts_nothing(throttled) -> None:
    app, _clock = throttled
    guard: LoginGuard = app.state.login_guard
    guard.hash_wait_s = 0.05
    held = [guard.hash_slot() for _ in range(guard.max_hashes)]
    assert all(held)
    client = TestClient(app)
    started = time.perf_counter()
    busy = _sign_in(client, "alice", PASSWORD)
    assert busy.status_code == 503 and busy.headers["retry-after"] == "1"
    assert time.perf_counter() - started < 2
    for _ in held:
        guard.release_hash()
    # The refused attempt was not counted: the full allowance is left.
    assert [_sign_in(client, "alice", "wrong-guess-0").status_code for _ in range(4)] == [401, 401, 401, 429]


def test_concurrent_sign_ins_hash_at_most_max_hashes_at_once(tmp_path: Path) -> None:
    app = _app(tmp_path, login_max_hashes=2, login_account_failures=100, login_address_failures=100)
    app.state.login_guard.hash_wait_s = 5.0
    real = app.state.hasher
    running = {"now": 0, "peak": 0}
    lock = threading.Lock()

    class SlowHasher:
        def __getattr__(self, name):
            return getattr(real, name)

        def verify(self, hashed, password):
            with lock:
                running["now"] += 1
                running["peak"] = max(running["peak"], running["now"])
            try:
                time.sleep(0.05)
                return real.verify(hashed, password)
            finally:
                with lock:
                    running["now"] -= 1

    app.state.hasher = SlowHasher()
    codes: list[int] = []

    def one(i: int) -> None:
        codes.append(_sign_in(TestClient(app), "boss", "wrong-guess-0" if i % 2 else PASSWORD).status_code)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [303] * 4 + [401] * 4
    assert running["peak"] <= 2


def test_address_keys() -> None:
    assert address_key("192.0.2.1") == "192.0.2.1"
    assert address_key("2001:db8::1") == address_key("2001:db8::ffff") == "2001:db8::/64"
    assert address_key("2001:db8:0:1::1") != address_key("2001:db8::1")
    assert address_key("::ffff:192.0.2.1") == "192.0.2.1"
    assert address_key(None) == "?"
    assert address_key("testclient") == "testclient"


def test_the_guard_forgets_old_keys_and_bounds_memory() -> None:
    clock = Clock()
    guard = LoginGuard(account_limit=2, address_limit=1000, window_s=10, max_keys=50, clock=clock)
    for i in range(500):
        guard.start(f"name{i}", "a")
    assert len(guard._attempts) <= 50
    clock.now += 11
    guard.start("late", "b")
    assert set(guard._attempts) == {"u:late", "a:b"}

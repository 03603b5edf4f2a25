"""Collection without a network: ReplaySource crawls over the demo corpus, and
InstagramSource over recorded instaloader-shaped HTTP responses.

The recorded responses are built here from the structures instaloader 4.16
reads (``api/v1/tags/web_info/`` ``recent`` sections of v1 media items, the
iPhone comments endpoint, the profile page's embedded query data) and served
by replacing ``requests``' transport, so instaloader's own code (retries,
rate controller, status handling, Post/Profile mapping) runs unchanged and
nothing can reach Instagram.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests
import requests.adapters

import drugwatch.cli.collect_cmd  # noqa: F401  (registers the command before the app is used)
from drugwatch.cli import app
from drugwatch.collect import (
    AuthError,
    Backoff,
    BudgetExhausted,
    Checkpoint,
    CheckpointError,
    CrawlConfig,
    Crawler,
    EndpointUnavailable,
    LexiconJudge,
    LoginRequired,
    NotFound,
    PrivateProfile,
    RateLimited,
    ReplaySource,
    RequestBudget,
    read_feedback,
    tag_feedback_from_events,
)
from drugwatch.collect.sources import ACCOUNT_TRUTH_META, EVENT_TRUTH_META
from drugwatch.demo import generate_demo, write_demo
from drugwatch.records import Account, Event
from drugwatch.store import Store

SEEDS = ("xanaxangel", "xanax", "percocert", "lsd")


@pytest.fixture(scope="module")
def corpus():
    return generate_demo(seed=3, n_accounts=60, posts_per_account=(3, 10), images=False)


def _store(tmp_path: Path, name: str = "crawl") -> Store:
    return Store(f"sqlite:///{tmp_path / (name + '.sqlite')}")


def _dump(store: Store) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    events = [e.model_dump(mode="json") for e in store.iter_events()]
    accounts = [a.model_dump(mode="json") for a in store.iter_accounts()]
    return events, accounts


def _crawl(
    corpus,
    store,
    *,
    faults=None,
    checkpoint=None,
    resume=False,
    budget=150,
    strategy="dmml",
    **options,
):
    source = ReplaySource.from_corpus(corpus, faults=faults)
    config = CrawlConfig(strategy=strategy, seeds=SEEDS, budget=budget, **options)
    sleeps: list[float] = []
    crawler = Crawler(
        source,
        store,
        config,
        checkpoint=checkpoint,
        resume=resume,
        backoff=Backoff(base=1.0, tries=3, sleep=sleeps.append),
    )
    return crawler, sleeps


# ---------------------------------------------------------------------------
# budget and backoff


def test_budget_charges_and_stops():
    budget = RequestBudget(limit=2)
    budget.charge("hashtag")
    budget.charge("comments")
    assert budget.exhausted and budget.remaining == 0
    with pytest.raises(BudgetExhausted, match="raise --budget"):
        budget.charge("hashtag")
    assert budget.to_json() == {"limit": 2, "used": 2, "by_kind": {"comments": 1, "hashtag": 1}}


def test_backoff_is_exponential_capped_and_deterministic():
    backoff = Backoff(base=10, factor=2, cap=35, tries=4, jitter=0.0)
    assert list(backoff.delays()) == [10, 20, 35, 35]
    jittered = Backoff(base=10, tries=3, jitter=0.1, seed=7)
    assert list(jittered.delays()) == list(jittered.delays())
    assert all(9 <= d <= 44 for d in jittered.delays())


# ---------------------------------------------------------------------------
# ReplaySource


def test_replay_pages_newest_first_with_cost_per_page(corpus):
    source = ReplaySource.from_corpus(corpus, hashtag_page_size=5)
    tag = "xanaxangel"
    pages, cursor = [], None
    while True:
        page = source.hashtag_page(tag, cursor)
        pages.append(page)
        if page.last:
            break
        cursor = page.next_cursor
    posts = [e for p in pages for e in p.items]
    expected = [e for e in corpus.events if e.kind == "post" and tag in e.hashtags]
    assert len(posts) == len(expected) > 5
    assert all(len(p.items) <= 5 for p in pages)
    times = [e.created_at for e in posts]
    assert times == sorted(times, reverse=True)
    assert source.budget.used == len(pages) == source.budget.by_kind["hashtag"]


def test_replay_serves_no_ground_truth(corpus):
    source = ReplaySource.from_corpus(corpus)
    dealer = corpus.dealers[0]
    account = source.profile(dealer)
    assert account.dealer is None and not ACCOUNT_TRUTH_META & set(account.meta)
    timeline = source.timeline_page(dealer)
    assert timeline.items
    for event in timeline.items:
        assert event.labels is None and event.selling is None
        assert not EVENT_TRUTH_META & set(event.meta)
        assert event.provenance is not None and event.provenance.importer == "drugwatch.collect"
        assert event.provenance.raw_sha256 and event.provenance.fetched_at == source.now()


def test_replay_comment_threads_keep_replies_in_order(corpus):
    source = ReplaySource.from_corpus(corpus)
    by_id = {e.id: e for e in corpus.events}
    deep = next(e for e in corpus.events if e.kind == "comment" and e.meta["depth"] >= 2)
    post = by_id[deep.post_id]
    page = source.comments_page(post)
    thread = {e.id for e in page.items}
    cursor = page.next_cursor
    while cursor is not None:
        page = source.comments_page(post, cursor)
        thread |= {e.id for e in page.items}
        cursor = page.next_cursor
    expected = {e.id for e in corpus.events if e.kind == "comment" and e.post_id == post.id}
    assert thread == expected and deep.id in thread


def test_replay_errors_private_missing_and_faults(corpus):
    private = corpus.accounts[0].model_copy(update={"is_private": True})
    source = ReplaySource([private], [], faults={2: 429, 3: 401, 4: 404})
    with pytest.raises(PrivateProfile):
        source.timeline_page(private.username)  # request 1
    with pytest.raises(RateLimited, match="429"):
        source.profile(private.username)  # request 2
    with pytest.raises(AuthError, match="401"):
        source.profile(private.username)  # request 3
    with pytest.raises(NotFound):
        source.profile(private.username)  # request 4
    with pytest.raises(NotFound, match="does not exist"):
        source.profile("nobody_here")


def test_replay_from_jsonl_and_store(tmp_path, corpus):
    path = write_demo(corpus, tmp_path / "demo")
    source = ReplaySource.from_jsonl(path)
    assert source.hashtag_page("xanaxangel").items
    with _store(tmp_path, "copy") as store:
        store.upsert(corpus.accounts)
        store.upsert(corpus.events)
        again = ReplaySource.from_store(store)
        assert [e.id for e in again.hashtag_page("xanaxangel").items] == [
            e.id for e in source.hashtag_page("xanaxangel").items
        ]


# ---------------------------------------------------------------------------
# the crawler over the demo corpus


@pytest.mark.parametrize("strategy", ["fixed", "jmir", "dmml"])
def test_each_strategy_crawls_within_budget(tmp_path, corpus, strategy):
    with _store(tmp_path) as store:
        crawler, _ = _crawl(corpus, store, strategy=strategy, budget=80)
        summary = crawler.run()
        assert summary.requests <= 80
        assert summary.status in ("budget", "done")
        events, accounts = _dump(store)
        assert events and accounts
        # Provenance on every record; no label came from the corpus.
        assert all(e["provenance"]["importer"] == "drugwatch.collect" for e in events)
        assert all(a["provenance"]["importer"] == "drugwatch.collect" for a in accounts)
        assert all(e["labels"] is None and e["selling"] is None for e in events)
        assert summary.counters["selling_events"] > 0
        assert "strategy " + strategy in summary.format()


def test_crawl_decisions_do_not_depend_on_ground_truth(tmp_path, corpus):
    """Scrambling every label, selling flag and dealer flag changes nothing the crawler does."""
    scrambled = corpus.__class__(
        seed=corpus.seed,
        accounts=[a.model_copy(update={"dealer": not a.dealer, "meta": {}}) for a in corpus.accounts],
        events=[
            e.model_copy(update={"labels": ("non_drug",), "selling": not e.selling, "meta": {}}) for e in corpus.events
        ],
        networks={},
        network_details={},
        images={},
    )
    runs = []
    for name, which in (("a", corpus), ("b", scrambled)):
        with _store(tmp_path, name) as store:
            crawler, _ = _crawl(which, store, budget=120)
            crawler.run()
            runs.append(([e["id"] for e in _dump(store)[0]], crawler.state.to_json()["feeds"]))
    assert runs[0] == runs[1]


def test_fixed_searches_only_the_seeds(tmp_path, corpus):
    with _store(tmp_path) as store:
        crawler, _ = _crawl(corpus, store, strategy="fixed", budget=10_000)
        summary = crawler.run()
    assert summary.status == "done"
    assert set(summary.tags_searched) <= set(SEEDS)


def test_jmir_respects_cutoff_and_runs_a_second_loop(tmp_path, corpus):
    with _store(tmp_path) as store:
        crawler, _ = _crawl(
            corpus,
            store,
            strategy="jmir",
            budget=10_000,
            comments=False,
            follow_authors="none",
            cutoff_days=30,
        )
        summary = crawler.run()
        cutoff = crawler.source.now().timestamp() - 30 * 86400
        events, _ = _dump(store)
    assert summary.status == "done" and crawler.state.phase == "loop2"
    assert set(summary.tags_searched) - set(SEEDS), "loop 2 searched hashtags found in loop 1"
    assert all(Event.model_validate(e).created_at.timestamp() >= cutoff for e in events)


def test_dmml_frontier_learns_and_follows_feedback(tmp_path, corpus):
    with _store(tmp_path) as store:
        crawler, _ = _crawl(corpus, store, budget=60, comments=False, follow_authors="none")
        crawler.run()
        frontier = dict(crawler.frontier())
        learned = set(frontier) - set(SEEDS)
        assert learned, "the frontier grows beyond the seeds"
        blocked = max(learned, key=frontier.get)
        boosted = min(learned, key=frontier.get)
        crawler.feedback({blocked: False, f"#{boosted}": True})
        after = dict(crawler.frontier())
        assert blocked not in after
        assert after[boosted] > frontier[boosted]


def test_dmml_stops_at_target_dealers(tmp_path, corpus):
    with _store(tmp_path) as store:
        crawler, _ = _crawl(corpus, store, budget=10_000, target_dealers=3)
        summary = crawler.run()
    assert summary.status == "target" and summary.suspected_dealers >= 3


def test_tag_feedback_from_annotated_events():
    events = [
        Event(id="1", text="#bars #sunset", labels=("xanax",)),
        Event(id="2", text="#bars", labels=("xanax",)),
        Event(id="3", text="#sunset", labels=("non_drug",)),
        Event(id="4", text="#bars #sunset"),  # unlabelled: ignored
    ]
    assert tag_feedback_from_events(events) == {"bars": True, "sunset": False}


def test_read_feedback_formats(tmp_path):
    (tmp_path / "f.json").write_text('{"#Bars": true, "sunset": false}')
    assert read_feedback(tmp_path / "f.json") == {"bars": True, "sunset": False}
    (tmp_path / "f.txt").write_text("# annotated by A\n#bars yes\nsunset no\n")
    assert read_feedback(tmp_path / "f.txt") == {"bars": True, "sunset": False}
    (tmp_path / "bad.txt").write_text("bars maybe\n")
    with pytest.raises(ValueError, match="line 1"):
        read_feedback(tmp_path / "bad.txt")


def test_lexicon_judge():
    judge = LexiconJudge()
    advert, news, food = judge.judge(
        [
            Event(id="1", text="2mg xanax bars, wickr: plug77 #xanax"),
            Event(id="2", text="Police seized xanax pills downtown"),
            Event(id="3", text="brunch with the girls #foodie"),
        ]
    )
    assert advert.drug and advert.selling
    assert news.drug and not news.selling
    assert not food.drug


# ---------------------------------------------------------------------------
# robustness: faults, item errors, checkpoints, resume


def test_429_backs_off_and_loses_nothing(tmp_path, corpus):
    with _store(tmp_path, "clean") as store:
        _crawl(corpus, store)[0].run()
        clean = _dump(store)
    with _store(tmp_path, "faulty") as store:
        crawler, sleeps = _crawl(corpus, store, faults={3: 429, 7: 503})
        summary = crawler.run()
        # The retried requests were spent too, so the faulty run stops 2 requests earlier.
        assert summary.counters["backoff_waits"] == 2 and sleeps == list(Backoff(base=1.0, tries=3).delays())[:1] * 2
        faulty = _dump(store)
    assert summary.requests == 150
    # Same records up to the point the shorter budget allowed.
    assert [e["id"] for e in faulty[0]] == [e["id"] for e in clean[0]][: len(faulty[0])]


def test_persistent_429_stops_with_advice_and_resume_completes(tmp_path, corpus):
    with _store(tmp_path, "clean") as store:
        _crawl(corpus, store, budget=60)[0].run()
        clean = _dump(store)
    ckpt = tmp_path / "crawl.json"
    faults = {10: 429, 11: 429, 12: 429, 13: 429}
    with _store(tmp_path, "resumed") as store:
        crawler, _ = _crawl(corpus, store, faults=faults, checkpoint=ckpt, budget=64)
        with pytest.raises(RateLimited, match="--resume"):
            crawler.run()
        assert ckpt.exists()
        crawler, _ = _crawl(corpus, store, checkpoint=ckpt, resume=True, budget=64)
        crawler.run()
        resumed = _dump(store)
    assert resumed == clean


def test_auth_error_stops_and_resume_completes(tmp_path, corpus):
    with _store(tmp_path, "clean") as store:
        _crawl(corpus, store, budget=60)[0].run()
        clean = _dump(store)
    ckpt = tmp_path / "crawl.json"
    with _store(tmp_path, "resumed") as store:
        crawler, _ = _crawl(corpus, store, faults={20: 403}, checkpoint=ckpt, budget=61)
        with pytest.raises(AuthError, match="403"):
            crawler.run()
        crawler, _ = _crawl(corpus, store, checkpoint=ckpt, resume=True, budget=61)
        crawler.run()
        assert _dump(store) == clean


def test_item_errors_are_counted_and_summarized(tmp_path, corpus):
    with _store(tmp_path) as store:
        crawler, _ = _crawl(corpus, store, faults={2: 404, 5: 404})
        summary = crawler.run()
    assert summary.error_count == 2 and summary.error_counts == {"NotFound": 2}
    assert len(summary.errors) == 2
    assert "2 item errors" in summary.format()
    assert summary.requests == 150


def test_checkpoint_guards(tmp_path, corpus):
    ckpt = tmp_path / "crawl.json"
    with _store(tmp_path) as store:
        crawler, _ = _crawl(corpus, store, checkpoint=ckpt, budget=20)
        assert crawler.run().status == "budget"
        assert ckpt.exists(), "a crawl stopped by its budget keeps its checkpoint"
        with pytest.raises(CheckpointError, match="--resume"):
            _crawl(corpus, store, checkpoint=ckpt, budget=20)
        with pytest.raises(CheckpointError, match="different crawl"):
            _crawl(corpus, store, checkpoint=ckpt, resume=True, strategy="fixed")
        # A larger budget continues the same crawl.
        crawler, _ = _crawl(corpus, store, checkpoint=ckpt, resume=True, budget=10_000)
        assert crawler.resumed and crawler.budget.used == 20
        assert crawler.run().status == "done"
        assert not ckpt.exists(), "a completed crawl deletes its checkpoint"


def test_checkpoint_write_is_atomic(tmp_path):
    checkpoint = Checkpoint(tmp_path / "c.json")
    checkpoint.save({"a": 1})
    checkpoint.save({"a": 2})
    assert checkpoint.load() == {"a": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json"]


def test_interrupt_then_resume_equals_uninterrupted(tmp_path, corpus):
    with _store(tmp_path, "clean") as store:
        _crawl(corpus, store)[0].run()
        clean = _dump(store)
    ckpt = tmp_path / "crawl.json"
    with _store(tmp_path, "resumed") as store:
        for stop in (7, 40):
            crawler, _ = _crawl(corpus, store, checkpoint=ckpt, resume=True)

            def interrupt(_crawler: Crawler, stop: int = stop, calls: list[int] = []) -> None:  # noqa: B006
                calls.append(1)
                if len(calls) == stop:
                    raise KeyboardInterrupt

            crawler.on_page = interrupt
            with pytest.raises(KeyboardInterrupt):
                crawler.run()
        crawler, _ = _crawl(corpus, store, checkpoint=ckpt, resume=True)
        summary = crawler.run()
        assert summary.resumed and summary.requests == 150
        assert _dump(store) == clean


def test_pending_records_are_replayed_on_resume(tmp_path, corpus):
    """A kill between the checkpoint write and the upsert: the resume writes the page."""
    ckpt = tmp_path / "crawl.json"
    with _store(tmp_path, "clean") as store:
        _crawl(corpus, store, budget=5)[0].run()
        clean = _dump(store)
    with _store(tmp_path, "killed") as store:
        crawler, _ = _crawl(corpus, store, checkpoint=ckpt, budget=5)

        class Killed(Exception):
            pass

        def die(_records):
            raise Killed

        crawler.run(max_steps=4)
        store_upsert, store.upsert = store.upsert, die
        with pytest.raises(Killed):
            crawler.run(max_steps=1)
        store.upsert = store_upsert
        assert json.loads(ckpt.read_text())["pending"], "the page is in the write-ahead list"
        crawler, _ = _crawl(corpus, store, checkpoint=ckpt, resume=True, budget=5)
        crawler.run()
        assert _dump(store) == clean


# ---------------------------------------------------------------------------
# InstagramSource over recorded instaloader-shaped responses


class Recorded:
    """Serves recorded responses for ``(host, path)``; any other request fails the test."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[tuple[int, Any, str]]] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []

    def add(self, host: str, path: str, *responses: tuple[int, Any] | tuple[int, Any, str]) -> None:
        self.routes[(host, path)] = [(r[0], r[1], r[2] if len(r) > 2 else "application/json") for r in responses]

    def send(self, adapter, request, **kwargs):
        url = urlparse(request.url)
        params = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.requests.append((url.netloc, url.path, params))
        queue = self.routes.get((url.netloc, url.path))
        if not queue:
            raise AssertionError(f"unrecorded request {request.method} {request.url}")
        status, body, content_type = queue.pop(0) if len(queue) > 1 else queue[0]
        response = requests.Response()
        response.status_code = status
        response.reason = {
            200: "OK",
            401: "Unauthorized",
            403: "Forbidden",
            404: "Not Found",
            429: "Too Many Requests",
        }.get(status, "")
        response._content = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        response.headers["Content-Type"] = content_type
        response.url = request.url
        response.request = request
        return response


@pytest.fixture
def recorded(monkeypatch):
    recorder = Recorded()
    monkeypatch.setattr(
        requests.adapters.HTTPAdapter,
        "send",
        lambda self, request, **kw: recorder.send(self, request, **kw),
    )
    return recorder


def _user(pk: int, username: str) -> dict[str, Any]:
    return {
        "pk": pk,
        "username": username,
        "full_name": username.title(),
        "is_private": False,
        "profile_pic_url": f"https://cdn.example/{pk}.jpg",
    }


def _media(pk: int, code: str, text: str, user: dict[str, Any], taken_at: int, comments: int = 0) -> dict[str, Any]:
    """A v1 media item as ``recent.sections[].layout_content.medias[].media`` carries it."""
    return {
        "pk": pk,
        "id": f"{pk}_{user['pk']}",
        "code": code,
        "media_type": 1,
        "taken_at": taken_at,
        "caption": {"text": text},
        "has_liked": False,
        "like_count": 4,
        "comment_count": comments,
        "user": user,
        "image_versions2": {
            "candidates": [{"url": f"https://cdn.example/{code}.jpg?stp=1", "width": 1080, "height": 1080}]
        },
    }


def _web_info(tag: str, medias: list[dict[str, Any]], next_max_id: str | None) -> dict[str, Any]:
    return {
        "data": {
            "id": "17841562",
            "name": tag,
            "media_count": 12000,
            "recent": {
                "sections": [{"layout_content": {"medias": [{"media": m} for m in medias]}}],
                "more_available": next_max_id is not None,
                "next_max_id": next_max_id,
            },
        },
        "status": "ok",
    }


DEALER = _user(901, "plug_demo77")
BUYER = _user(902, "curious_buyer")
ADVERT = _media(
    3001,
    "Cx1AAA",
    "2mg bars 🔌 wickr: plug_demo77 #xanax #plugs",
    DEALER,
    1_718_000_000,
    comments=3,
)
SUNSET = _media(3002, "Cx1BBB", "golden hour #xanax #sunset", BUYER, 1_717_990_000)


def _logged_in(**options):
    from drugwatch.collect.instagram import InstagramSource

    source = InstagramSource(sleep=False, rate_sleep=lambda _s: None, **options)
    # A session as instaloader's session file holds it (cookies only; never a password).
    source.loader.load_session("tester", {"sessionid": "s3ss10n", "csrftoken": "csrf", "ds_user_id": "555"})
    return source


def test_instagram_hashtag_first_page(recorded):
    recorded.add(
        "i.instagram.com",
        "/api/v1/tags/web_info/",
        (200, _web_info("xanax", [ADVERT, SUNSET], "QVFCursor")),
    )
    source = _logged_in()
    page = source.hashtag_page("#Xanax")
    assert page.next_cursor == "QVFCursor"
    advert, _sunset = page.items
    assert (advert.id, advert.author, advert.hashtags) == (
        "3001",
        "plug_demo77",
        ("xanax", "plugs"),
    )
    assert advert.meta["shortcode"] == "Cx1AAA" and advert.meta["comment_count"] == 3
    assert advert.images[0].url.startswith("https://cdn.example/Cx1AAA.jpg")
    assert advert.provenance.source == "https://www.instagram.com/explore/tags/xanax/"
    assert advert.provenance.importer == "drugwatch.collect" and advert.provenance.raw_sha256
    assert source.budget.by_kind == {"hashtag": 1}
    assert recorded.requests[0][2]["tag_name"] == "xanax"


def test_instagram_post_agrees_with_the_importer(recorded, tmp_path):
    """The crawled post and the same post saved by instaloader and imported are one record."""
    import instaloader

    from drugwatch.io.base import Parsed
    from drugwatch.io.instaloader import read_instaloader

    recorded.add("i.instagram.com", "/api/v1/tags/web_info/", (200, _web_info("xanax", [ADVERT], None)))
    source = _logged_in()
    crawled = source.hashtag_page("xanax").items[0]
    post = instaloader.Post.from_iphone_struct(source.context, ADVERT)
    saved = tmp_path / "2024-06-10_06-13-20_UTC.json"
    saved.write_text(json.dumps({"node": post._asdict(), "instaloader": {"version": "4.16", "node_type": "Post"}}))
    imported = next(item.record for item in read_instaloader(saved) if isinstance(item, Parsed))
    skip = {"provenance", "meta"}
    assert crawled.model_dump(exclude=skip) == imported.model_dump(exclude=skip)


def test_instagram_hashtag_next_page_404_says_the_endpoint_is_gone(recorded):
    recorded.add("www.instagram.com", "/explore/tags/xanax/", (404, {"status": "fail"}))
    source = _logged_in(max_connection_attempts=1)
    with pytest.raises(EndpointUnavailable, match="retired that endpoint in 2024.*#2144"):
        source.hashtag_page("xanax", "QVFCursor")


def test_instagram_429_waits_in_the_rate_controller_and_counts(recorded):
    recorded.add(
        "i.instagram.com",
        "/api/v1/tags/web_info/",
        (429, {"status": "fail", "message": "Please wait a few minutes"}),
        (200, _web_info("xanax", [ADVERT], None)),
    )
    source = _logged_in()
    page = source.hashtag_page("xanax")
    assert [e.id for e in page.items] == ["3001"]
    assert source.controller.too_many_requests == 1 and source.controller.waits >= 1
    assert source.budget.used == 2, "the retried query is charged too"


def test_instagram_429_that_persists_is_rate_limited(recorded):
    recorded.add("i.instagram.com", "/api/v1/tags/web_info/", (429, {"status": "fail"}))
    source = _logged_in(max_connection_attempts=2)
    with pytest.raises(RateLimited, match="429"):
        source.hashtag_page("xanax")


@pytest.mark.parametrize("status", [401, 403])
def test_instagram_401_403_are_auth_errors_with_advice(recorded, status):
    recorded.add(
        "i.instagram.com",
        "/api/v1/tags/web_info/",
        (status, {"status": "fail", "message": "login_required"}),
    )
    source = _logged_in(max_connection_attempts=1)
    with pytest.raises(AuthError, match=rf"{status}.*instaloader --login.*--resume"):
        source.hashtag_page("xanax")


def test_instagram_comments_need_login():
    from drugwatch.collect.instagram import InstagramSource

    source = InstagramSource(sleep=False, rate_sleep=lambda _s: None)
    with pytest.raises(LoginRequired, match="instaloader --login"):
        source.comments_page(Event(id="3001"))


def test_instagram_missing_session_file_is_an_auth_error(tmp_path):
    from drugwatch.collect.instagram import InstagramSource

    with pytest.raises(AuthError, match="no instaloader session file.*never stores passwords"):
        InstagramSource(session_user="tester", session_file=str(tmp_path / "nope"))


def test_instagram_missing_default_session_file_names_the_default_path(tmp_path, monkeypatch):
    from drugwatch.collect.instagram import InstagramSource

    # No session_file: the message names instaloader's default path (under XDG_CONFIG_HOME).
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    expected = str(tmp_path / "instaloader" / "session-drugwatch-test-nobody")
    with pytest.raises(AuthError, match="no instaloader session file") as caught:
        InstagramSource(session_user="drugwatch-test-nobody")
    assert expected in str(caught.value)


def _comment(
    pk: int,
    text: str,
    user: dict[str, Any],
    children: list[dict[str, Any]] | None = None,
    count: int | None = None,
):
    children = children or []
    return {
        "pk": pk,
        "created_at": 1_718_000_100 + pk % 1000,
        "text": text,
        "user": user,
        "comment_like_count": 0,
        "child_comment_count": len(children) if count is None else count,
        "preview_child_comments": children,
    }


def test_instagram_comments_with_nested_replies(recorded):
    reply = _comment(71, "dm me on wickr plug_demo77", DEALER)
    hidden_reply = _comment(72, "sent", BUYER)
    first = _comment(61, "how much for 10?", BUYER, [reply], count=2)
    recorded.add(
        "i.instagram.com",
        "/api/v1/media/3001/comments/",
        (
            200,
            {"comments": [first, _comment(62, "🔥", BUYER)], "next_min_id": "MIN2", "status": "ok"},
        ),
    )
    recorded.add(
        "i.instagram.com",
        "/api/v1/media/3001/comments/61/child_comments/",
        (200, {"child_comments": [reply, hidden_reply], "status": "ok"}),
    )
    source = _logged_in()
    post = Event(id="3001", meta={"shortcode": "Cx1AAA"})
    page = source.comments_page(post)
    by_id = {e.id: e for e in page.items}
    assert set(by_id) == {"61", "62", "71", "72"}
    assert by_id["71"].parent_id == "61" and by_id["71"].post_id == "3001"
    assert by_id["61"].parent_id == "3001" and by_id["71"].author == "plug_demo77"
    assert page.next_cursor == "MIN2"
    assert source.budget.by_kind == {"comments": 2}


def _profile_page(user: dict[str, Any]) -> str:
    embedded = {
        "require": [
            [
                "ScheduledServerJS",
                "handle",
                None,
                [{"__bbox": {"result": {"data": {"xig_user_by_username": user}}}}],
            ]
        ]
    }
    return f'<html><body><script type="application/json" data-sjs>{json.dumps(embedded)}</script></body></html>'


def test_instagram_profile_from_the_profile_page(recorded):
    user = {
        **DEALER,
        "id": "page-id-not-the-pk",
        "biography": "plug 🔌 wickr plug_demo77, ship worldwide",
        "follower_count": 120,
        "following_count": 3400,
        "media_count": 88,
    }
    recorded.add("www.instagram.com", "/plug_demo77/", (200, _profile_page(user), "text/html"))
    recorded.add("www.instagram.com", "/nobody/", (404, "<html>Sorry</html>", "text/html"))
    from drugwatch.collect.instagram import InstagramSource

    source = InstagramSource(sleep=False, rate_sleep=lambda _s: None)
    account = source.profile("plug_demo77")
    assert isinstance(account, Account)
    assert (account.username, account.user_id, account.followers, account.following) == (
        "plug_demo77",
        "901",
        120,
        3400,
    )
    assert "wickr" in account.bio and account.provenance.source == "https://www.instagram.com/plug_demo77/"
    with pytest.raises(NotFound):
        source.profile("nobody")


def test_crawl_over_recorded_instagram(recorded, tmp_path):
    """A fixed-list crawl on InstagramSource: first page, the 2024 pagination 404, comments."""
    recorded.add(
        "i.instagram.com",
        "/api/v1/tags/web_info/",
        (200, _web_info("xanax", [ADVERT, SUNSET], "QVFCursor")),
    )
    recorded.add("www.instagram.com", "/explore/tags/xanax/", (404, {"status": "fail"}))
    recorded.add(
        "i.instagram.com",
        "/api/v1/media/3001/comments/",
        (200, {"comments": [_comment(61, "price for 2mg bars? #xanax", BUYER)], "status": "ok"}),
    )
    source = _logged_in(max_connection_attempts=1)
    config = CrawlConfig(strategy="fixed", seeds=("xanax",), budget=20, follow_authors="none")
    with _store(tmp_path) as store:
        summary = Crawler(source, store, config, checkpoint=tmp_path / "c.json").run()
        events, _ = _dump(store)
    assert summary.status == "done"
    assert {e["id"] for e in events} == {"3001", "3002", "61"}
    assert summary.error_counts == {"EndpointUnavailable": 1}
    assert "retired" in summary.errors[0]
    assert summary.requests_by_kind == {"comments": 1, "hashtag": 2}


# ---------------------------------------------------------------------------
# the command


def test_collect_command_replay_resume_restart(tmp_path, corpus):
    from typer.testing import CliRunner

    path = write_demo(corpus, tmp_path / "demo")
    db = tmp_path / "cli.sqlite"
    ckpt = tmp_path / "cli.json"
    runner = CliRunner()
    base = [
        "collect",
        "--replay",
        str(path),
        "--db",
        str(db),
        "--checkpoint",
        str(ckpt),
        "--seed",
        "xanaxangel",
        "--seed",
        "#lsd",
    ]
    first = runner.invoke(app, [*base, "--budget", "15", "--summary", str(tmp_path / "s.json")])
    assert first.exit_code == 0, first.output
    assert "strategy dmml (budget)" in first.output and ckpt.exists()
    assert json.loads((tmp_path / "s.json").read_text())["requests"] == 15
    again = runner.invoke(app, [*base, "--budget", "15"])
    assert again.exit_code == 2 and "--resume" in again.output
    resumed = runner.invoke(app, [*base, "--budget", "10000", "--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert "(done)" in resumed.output and not ckpt.exists()
    restarted = runner.invoke(app, [*base, "--budget", "5", "--restart", "--strategy", "fixed"])
    assert restarted.exit_code == 0 and "strategy fixed" in restarted.output
    feedback = tmp_path / "tags.txt"
    feedback.write_text("xanaxangel yes\nlsd no\n")
    labelled = runner.invoke(
        app,
        [*base, "--budget", "5", "--restart", "--feedback", str(feedback), "--feedback-from-db"],
    )
    assert labelled.exit_code == 0, labelled.output
    assert json.loads(ckpt.read_text())["state"]["feedback"] == {"lsd": False, "xanaxangel": True}
    bad = runner.invoke(app, [*base, "--strategy", "bfs"])
    assert bad.exit_code == 2 and "unknown strategy" in bad.output


def test_both_sources_satisfy_the_protocol(corpus):
    from drugwatch.collect import Source
    from drugwatch.collect.instagram import InstagramSource

    assert isinstance(ReplaySource.from_corpus(corpus), Source)
    assert isinstance(InstagramSource(sleep=False), Source)


def test_detector_judge_wraps_a_fitted_detector():
    import numpy as np

    from drugwatch.collect import DetectorJudge

    class Fitted:
        name = "fake.selling.v1"

        def predict_proba(self, events):
            return np.array([[0.2, 0.8] if "wickr" in e.text else [0.9, 0.1] for e in events])

    judge = DetectorJudge(Fitted(), threshold=0.5)
    sells, mentions = judge.judge([Event(id="1", text="wickr me"), Event(id="2", text="xanax is bad")])
    assert sells.selling and sells.drug
    assert not mentions.selling and mentions.drug  # the lexicon adds drug mentions
    assert judge.name == "fake.selling.v1@0.5"


def test_images_of_drug_posts_are_downloaded(tmp_path):
    small = generate_demo(seed=2, n_accounts=8, posts_per_account=(2, 4), images=True)
    source = ReplaySource.from_corpus(small)
    config = CrawlConfig(seeds=("xanaxangel", "xanax", "lsd", "weed"), budget=60, images=True)
    with _store(tmp_path) as store:
        crawler = Crawler(source, store, config, images_dir=tmp_path / "images")
        summary = crawler.run()
        with_files = [image for event in store.iter_events() for image in event.images if image.path is not None]
    assert summary.counters["images"] > 0 and summary.requests_by_kind["image"] > 0
    assert with_files and all(Path(i.path).is_file() and i.sha256 for i in with_files)
    assert all(i.url.startswith("replay://") for i in with_files)


def _timeline(medias: list[dict[str, Any]], end_cursor: str | None) -> dict[str, Any]:
    """The web app's posts-tab answer (``xdt_api__v1__feed__user_timeline_graphql_connection``)."""
    return {
        "data": {
            "xdt_api__v1__feed__user_timeline_graphql_connection": {
                "edges": [{"node": m} for m in medias],
                "page_info": {"has_next_page": end_cursor is not None, "end_cursor": end_cursor},
            }
        },
        "status": "ok",
    }


def test_instagram_timeline_pages_resume_from_a_frozen_iterator(recorded):
    user = {
        **DEALER,
        "biography": "plug",
        "follower_count": 12,
        "following_count": 800,
        "media_count": 13,
    }
    posts = [
        _media(4000 + i, f"Tl{i:03d}", f"menu drop {i} #plugs", DEALER, 1_718_000_000 - i * 3600) for i in range(13)
    ]
    start_page = (
        '<script>["DTSGInitialData",[],{"token":"dtsg"}],["LSD",[],{"token":"lsd1"}],"IG_USER_EIMU":"555"</script>'
    )
    recorded.add("www.instagram.com", "/plug_demo77/", (200, _profile_page(user), "text/html"))
    recorded.add("www.instagram.com", "/", (200, start_page, "text/html"))
    recorded.add("www.instagram.com", "/graphql/query", (200, {"data": {"user": user}, "status": "ok"}))
    recorded.add(
        "www.instagram.com",
        "/api/graphql",
        (200, _timeline(posts[:12], "CURSOR2")),
        (200, _timeline(posts[12:], None)),
    )
    source = _logged_in()
    first = source.timeline_page("plug_demo77")
    assert [e.id for e in first.items] == [str(4000 + i) for i in range(12)]
    assert first.next_cursor is not None
    json.dumps(first.next_cursor)  # the cursor goes into the JSON checkpoint
    # A resumed process has no live iterator: it thaws the frozen one.
    resumed = _logged_in()
    second = resumed.timeline_page("plug_demo77", first.next_cursor)
    assert "4012" in {e.id for e in second.items} and second.next_cursor is None
    assert all(e.author == "plug_demo77" for e in first.items + second.items)

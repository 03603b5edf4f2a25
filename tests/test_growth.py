"""Growth fuzzer: the text layer's cost is linear in the length of its input.

Each pathological family below is read at 1,000 and 8,000 characters, in one
process, by the three paths that read untrusted text: ``analyze`` (the text
layer), ``drugwatch inspect --json`` (the command's function) and the scorer
(``EventScorer`` with the default selling and drug-type detectors, fitted on a
small demo corpus). Eight times the input may cost at most ``MAX_RATIO``
times the time: linear work with some slack for caches and timer noise, far
below what a quadratic path gives (64). Times are CPU times of the process
(``time.process_time``: on a busy machine a run waits, but its CPU time
hardly changes), the least of a few runs with the view cache emptied before
each, and the 1,000-character time is floored at ``FLOOR_S`` so that a run
of microseconds cannot make a ratio. A ratio over the limit is measured once
more with more runs before the test fails.

The ``slow`` variant reads each family at ``records.MAX_TEXT_CHARS`` (100,000
characters, the longest event text) and asks each call to finish within
``SLOW_LIMIT_S`` of CPU time.

The families: the ones named in the issue (spaced characters cost the cube of
their length, runs without spaces and emoji runs the square) and the ones
found while fixing them (a colon run after an app name cost 2^n; address and
domain runs, a long ASCII word in a text with a Cyrillic letter, and
contacts next to a long one, whose overlaps were resolved pairwise, the
square).

Not timed here: the rich (non ``--json``) rendering of ``drugwatch inspect``,
whose tables cost a millisecond or more per row (linear, but a text with
20,000 hashtags takes half a minute to draw).
"""

from __future__ import annotations

import bisect
import gc
import io
import random
import re
import threading
import time
import tracemalloc
from collections.abc import Callable
from contextlib import redirect_stdout

import pytest

from drugwatch.text import analyze as analyze_module
from drugwatch.text.analyze import analyze

MAX_RATIO = 12.0
FLOOR_S = 0.002
SLOW_LIMIT_S = 5.0
SMALL, LARGE = 1_000, 8_000


def _repeat(unit: str, n: int) -> str:
    return (unit * (n // len(unit) + 1))[:n]


def _draw(alphabet: str | list[str], n: int, seed: int, sep: str = "") -> str:
    rng = random.Random(seed)
    out: list[str] = []
    size = 0
    while size < n:
        piece = rng.choice(alphabet) + sep
        out.append(piece)
        size += len(piece)
    return "".join(out)[:n]


_LETTERS = "abcdefghijklmnopqrstuvwxyz"

#: name -> a text of exactly n characters
FAMILIES: dict[str, Callable[[int], str]] = {
    # named in the issue
    "spaced_characters": lambda n: _repeat("a ", n),
    "separators": lambda n: _repeat("x.", n),
    "cjk_run": lambda n: _repeat("中文字符测试", n),
    "emoji_run": lambda n: _repeat("🍄", n),
    "repeated_words": lambda n: _repeat("weed ", n),
    "digit_run": lambda n: _repeat("7", n),
    "mixed_scripts": lambda n: _draw("aсoкеΘxαβΜ中ء🍄1 ", n, seed=8),
    "nested_brackets": lambda n: "(" * (n // 2) + ")" * (n - n // 2),
    "long_hashtag": lambda n: "#" + _repeat("a", n - 1),
    "spaced_digits": lambda n: _repeat("7 ", n),
    # found while fixing them
    "spaced_letters_and_leet": lambda n: _draw("abcdeilost013457@$!", n, seed=2, sep=" "),
    "spaced_emoji": lambda n: _repeat("🍄 ", n),
    "emoji_mix": lambda n: _draw("🍄❄💊🔌👻🔥😀🎉", n, seed=5),
    "many_hashtags": lambda n: _repeat("#weed", n),
    "random_hashtag": lambda n: "#" + _draw(_LETTERS, n - 1, seed=9),
    "address_run": lambda n: _repeat("a.", n - 1) + "@",
    "hyphen_domain": lambda n: "x@" + _repeat("a-", n - 8) + " x.com",
    "colons_after_app": lambda n: "snap" + _repeat(":", n - 5) + " ",
    "many_handles": lambda n: _repeat("@a ", n),
    "long_url_then_handles": lambda n: "www.x.com/" + _repeat("a", n // 2 - 10) + _repeat(" @a", n - n // 2),
    "punctuation_mix": lambda n: _draw("a.-_*/|~+: ", n, seed=14),
    "long_word_then_cyrillic": lambda n: _repeat("a", n - 2) + " а",
}


def test_families_have_the_asked_length() -> None:
    for name, make in FAMILIES.items():
        for n in (SMALL, LARGE):
            assert len(make(n)) == n, name


# ---------------------------------------------------------------------------
# The three paths


@pytest.fixture(scope="module")
def scorer():
    """The default detectors (``DEFAULT_DETECTORS``) with their default
    settings, fitted on the smallest demo corpus (a few seconds)."""
    from drugwatch.demo import generate_demo
    from drugwatch.models.multilabel import DrugTypeDetector
    from drugwatch.models.selling import SellingDetector
    from drugwatch.scoring import EventScorer

    events = generate_demo(seed=5, n_accounts=6, images=False).events
    selling = SellingDetector(seed=0).fit([e for e in events if e.selling is not None])
    drugtype = DrugTypeDetector(seed=0).fit([e for e in events if e.labels is not None])
    return EventScorer([selling, drugtype])


def _cold(read: Callable[[str], object]) -> Callable[[str], object]:
    """``read`` with the view cache emptied first, so that each run reads."""

    def run(text: str) -> object:
        analyze_module._analyze_cached.cache_clear()
        return read(text)

    return run


def _inspect_json(text: str) -> None:
    from drugwatch.cli.inspect_cmd import inspect_command

    with redirect_stdout(io.StringIO()) as out:
        inspect_command(text=text, file=None, as_json=True)
    assert out.getvalue()


def _path(name: str, request: pytest.FixtureRequest) -> Callable[[str], object]:
    """The reading path ``name``; the scorer is fitted on first use only."""
    if name == "analyze":
        return _cold(analyze)
    if name == "inspect":
        return _cold(_inspect_json)
    from drugwatch.records import Event

    model = request.getfixturevalue("scorer")
    return _cold(lambda text: model.score([Event(id="growth", text=text)]))


def _best(read: Callable[[str], object], text: str, runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.process_time()
        read(text)
        best = min(best, time.process_time() - start)
    return best


def _ratio(read: Callable[[str], object], small: str, large: str, runs: int) -> tuple[float, float, float]:
    read(small)  # the first read of a family fills per-character tables
    t_small = _best(read, small, runs + 2)
    t_large = _best(read, large, runs)
    return t_small, t_large, t_large / max(t_small, FLOOR_S)


PATHS = ("analyze", "inspect", "scorer")


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("family", list(FAMILIES))
def test_eight_times_the_text_costs_at_most_twelve_times_the_time(
    family: str, path: str, request: pytest.FixtureRequest
) -> None:
    read = _path(path, request)
    small, large = FAMILIES[family](SMALL), FAMILIES[family](LARGE)
    t_small, t_large, ratio = _ratio(read, small, large, runs=3)
    if ratio > MAX_RATIO:  # measured again before failing: see the module docstring
        t_small, t_large, ratio = _ratio(read, small, large, runs=7)
    assert ratio <= MAX_RATIO, (
        f"{path} on {family}: {t_small * 1e3:.1f} ms at {SMALL} characters, "
        f"{t_large * 1e3:.1f} ms at {LARGE} (x{ratio:.1f}, limit x{MAX_RATIO:.0f})"
    )


@pytest.mark.slow
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("family", list(FAMILIES))
def test_the_longest_text_is_read_in_seconds(family: str, path: str, request: pytest.FixtureRequest) -> None:
    from drugwatch.records import MAX_TEXT_CHARS

    read = _path(path, request)
    read(FAMILIES[family](SMALL))
    text = FAMILIES[family](MAX_TEXT_CHARS)
    took = _best(read, text, 1)
    if took > SLOW_LIMIT_S:
        took = _best(read, text, 2)
    assert took <= SLOW_LIMIT_S, f"{path} on {family} at {MAX_TEXT_CHARS} characters: {took:.1f} s"


# ---------------------------------------------------------------------------
# The analyze cache: bounded by bytes, safe across threads


def test_view_size_estimate_is_within_a_factor_of_two() -> None:
    """``_view_bytes`` is what bounds the cache: it must track what a view
    really keeps alive (plain text, emoji with offsets, many hits)."""
    for text in ("buy weed and xanax " * 300, "🍄❄💊 dm " * 500, "СОКЕ x4n4x #weed @plug " * 200):
        analyze_module._read(text)  # fill per-character tables and term caches first
        gc.collect()
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            view = analyze_module._read(text)
            gc.collect()
            kept = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        estimate = analyze_module._view_bytes(view)
        assert kept / 2 <= estimate <= kept * 2, (text[:20], kept, estimate)


def test_cache_is_bounded_by_bytes_and_count() -> None:
    budget = 1_000_000
    cache = analyze_module._ViewCache(analyze_module._read, max_views=50, max_bytes=budget, max_chars=20_000)
    views = [cache(f"{i} 🍄 dm me " * 300) for i in range(40)]  # about 200 KB each
    held, size = cache.cache_info()
    assert 0 < held < 40 and size <= budget
    assert cache(views[-1].raw) is views[-1]  # the newest is held
    for i in range(60):
        cache(f"short text {i}")
    held, size = cache.cache_info()
    assert held == 50 and size <= budget


def test_long_texts_skip_the_cache_but_the_last_one_is_kept() -> None:
    cache = analyze_module._ViewCache(analyze_module._read, max_views=10, max_bytes=10_000_000, max_chars=1_000)
    long_a, long_b = "weed " * 400, "xanax " * 400
    view_a = cache(long_a)
    assert cache.cache_info() == (0, 0)
    assert cache(long_a) is view_a  # read twice in a row: read once
    cache(long_b)
    assert cache(long_a) is not view_a  # only the last one is kept
    assert cache.peek("never read") is None


def test_cache_is_thread_safe() -> None:
    cache = analyze_module._ViewCache(analyze_module._read, max_views=16, max_bytes=200_000, max_chars=20_000)
    texts = [f"x4n4x {i} 🍄 wickr: plug_{i} #weed" * (1 + i % 5) for i in range(40)]
    expected = {t: analyze_module._read(t) for t in texts}
    errors: list[str] = []

    def work(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(300):
            text = rng.choice(texts)
            if cache(text) != expected[text]:
                errors.append(text)

    threads = [threading.Thread(target=work, args=(s,)) for s in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    held, size = cache.cache_info()
    assert held <= 16 and size <= 200_000
    assert size == sum(analyze_module._view_bytes(v) for v, _ in cache._views.values())


# ---------------------------------------------------------------------------
# Linear rewrites find what the patterns they replace found


def _old_resolve(candidates):
    """``contacts._resolve`` as first written (quadratic in kept contacts)."""
    from drugwatch.text.contacts import _overlaps, _rank

    if len(candidates) < 2:
        return list(candidates)
    kept, starts, longest = [], [], 0
    for cand in sorted(set(candidates), key=_rank):
        clash = False
        i = bisect.bisect_left(starts, cand.raw_end) - 1
        while i >= 0 and starts[i] + longest > cand.raw_start:
            other = kept[i]
            i -= 1
            if not _overlaps(cand, other):
                continue
            nested = (other.raw_start <= cand.raw_start and cand.raw_end <= other.raw_end) or (
                cand.raw_start <= other.raw_start and other.raw_end <= cand.raw_end
            )
            if (
                nested
                and cand.value == other.value
                and {cand.kind, other.kind} & {"phone", "email"}
                and cand.kind != other.kind
            ):
                continue
            clash = True
            break
        if not clash:
            at = bisect.bisect_right(starts, cand.raw_start)
            starts.insert(at, cand.raw_start)
            kept.insert(at, cand)
            longest = max(longest, cand.raw_end - cand.raw_start)
    kept.sort(key=lambda c: (c.raw_start, c.raw_end, c.kind))
    return kept


def test_contact_resolution_keeps_what_the_quadratic_one_kept() -> None:
    from drugwatch.text.contacts import Contact, _resolve

    kinds = ["phone", "email", "app_handle", "url", "payment", "instagram_handle", "app_mention", "shipping"]
    rng = random.Random(3)
    for _ in range(5_000):
        cands = []
        many = rng.random() < 0.5  # past _FEW_CANDIDATES: the linear resolution
        for _ in range(rng.randint(17, 40) if many else rng.randint(0, 8)):
            start = rng.randint(0, 60 if many else 20)
            length = rng.randint(1, 8) if rng.random() < 0.97 else 0  # an empty span now and then
            cands.append(
                Contact(
                    rng.choice(kinds), rng.choice([None, "wickr"]), rng.choice(["x", "y"]), start, start + length, False
                )
            )
        assert _resolve(cands) == _old_resolve(cands), cands


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (r"\S*[A-Za-z]\S*", "drugwatch.models.multilabel:_MIXED_TOKEN"),
        (r"[\w@$!]*[a-z][\w@$!]*", "drugwatch.models.multilabel:_LEET_TOKEN"),
    ],
)
def test_token_patterns_match_what_the_quadratic_ones_matched(old: str, new: str) -> None:
    import importlib

    module, name = new.split(":")
    pattern = getattr(importlib.import_module(module), name)
    reference = re.compile(old)
    rng = random.Random(1)
    alphabet = list("aZ1 @$!_中😀\t.-é")
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 20)))
        assert [m.span() for m in pattern.finditer(text)] == [m.span() for m in reference.finditer(text)], text


def test_colons_after_an_app_name_are_not_exponential() -> None:
    from drugwatch.text.contacts import find_contacts

    start = time.process_time()
    assert find_contacts("snap" + ":" * 40 + " ") == []  # 2^40 splits before the fix
    assert time.process_time() - start < 1.0
    # a handle after separators is still read
    (contact,) = find_contacts("snap :: -> plug_7")
    assert (contact.app, contact.value) == ("snapchat", "plug_7")


def test_long_hashtags_are_kept_whole_and_not_cached() -> None:
    from drugwatch.text.hashtags import CACHED_TAG_MAX_CHARS, MAX_SEGMENTED_CHARS, HashtagAnalyzer

    analyzer = HashtagAnalyzer()
    tag = "xanaxforsale" * 30
    assert len(tag) > MAX_SEGMENTED_CHARS > CACHED_TAG_MAX_CHARS
    assert analyzer.segment(tag[:36]) == ["xanax", "for", "sale"] * 3
    held = (analyzer._segment_cached.cache_info().currsize, analyzer._analyze_cached.cache_info().currsize)
    assert analyzer.segment(tag) == [tag]
    assert analyzer.analyze(tag).segments == (tag,)
    assert (analyzer._segment_cached.cache_info().currsize, analyzer._analyze_cached.cache_info().currsize) == held

"""The text layer's precomputed and cached tables give what they replace."""

from __future__ import annotations

import functools
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


# -- look-alikes shipped in package data ---------------------------------------


def test_shipped_lookalikes_equal_what_the_script_builds():
    from drugwatch.text import normalize

    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import build_text_tables
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    built = json.loads(build_text_tables.lookalikes_document())["lookalikes"]
    shipped = normalize.read_lookalikes_file()
    assert built == normalize.confusable_lookalikes()
    # same entries in the same order: a stale file means rerunning the script
    assert list(shipped.items()) == list(built.items()), "run scripts/build_text_tables.py"


def test_lookalike_table_reads_cyrillic_and_greek_letters():
    from drugwatch.text import normalize

    table = normalize._lookalikes()
    assert table["а"] == "a" and table["о"] == "o" and table["ο"] == "o"
    assert all(not ch.isascii() for ch in table)
    assert normalize.normalize("сocаine").text == "cocaine"


def test_lookalikes_package_data_is_declared():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"text/data/*"' in text


# -- split words found without an automaton of every split ---------------------


@functools.cache
def _every_split_automaton():  # -> ahocorasick.Automaton
    import ahocorasick

    from drugwatch.text import normalize

    automaton = ahocorasick.Automaton()
    for term in normalize._vocab().joinable:
        n = len(term)
        for i in range(1, n):
            automaton.add_word(term[:i] + " " + term[i:], (term, n + 1))
            if n <= 12:
                for j in range(i + 1, n):
                    automaton.add_word(term[:i] + " " + term[i:j] + " " + term[j:], (term, n + 2))
    automaton.make_automaton()
    return automaton


def _reference_joins(cur: str, spaced: str) -> list[tuple[int, int, str]]:
    """The spans an automaton of every one- and two-space split of every
    joinable word finds (how ``normalize`` found them before)."""
    found = []
    for end, (term, length) in _every_split_automaton().iter(spaced):
        b = end + 1
        a = b - length
        if a > 0 and (cur[a - 1].isalnum() or cur[a - 1] in "@#"):
            continue
        if b < len(cur) and cur[b].isalnum():
            continue
        found.append((a, b, term))
    return sorted(found)


def test_piece_joins_find_what_an_automaton_of_every_split_finds():
    from drugwatch.text import normalize

    terms = sorted(normalize._vocab().joinable)
    rng = random.Random(7)
    seps = [" ", ".", "-", "_", "*", "/", "|", "·", "•", "~", "+", ",", "\t", "  ", "@", "#", "é", "2"]
    texts = [
        "selling xan ax and co caine, dm",
        "mor-phi-ne 10mg",
        "#xan ax @co caine",
        "xan  ax",
        "x an ax",
        "coc aine2",
        "é xan ax",
        "ket a mine ket a mine",
    ]
    for _ in range(3000):
        term = rng.choice(terms)
        cuts = sorted(rng.sample(range(1, len(term)), min(len(term) - 1, rng.randint(1, 3))))
        pieces = [term[a:b] for a, b in zip([0, *cuts], [*cuts, len(term)], strict=True)]
        body = rng.choice(seps).join(pieces) if rng.random() < 0.6 else "".join(p + rng.choice(seps) for p in pieces)
        texts.append(rng.choice(["", "a ", "#", "@", "x", "1 ", "é "]) + body + rng.choice(["", " b", "s", "é", "."]))
    hits = 0
    for cur in texts:
        spaced = normalize._ANY_PIECE_SEP.sub(" ", cur)
        got = sorted(normalize._piece_joins(cur, spaced))
        assert got == _reference_joins(cur, spaced), cur
        hits += bool(got)
    assert hits > 400  # the texts exercise the joins, not only the misses


# -- wordsegment's counts without a dict ---------------------------------------


@pytest.fixture()
def fresh_lookup(monkeypatch: pytest.MonkeyPatch):
    """A new process-wide count look-up (built from the table cache)."""
    from drugwatch.text import hashtags

    monkeypatch.setattr(hashtags, "_LOOKUP", None)
    return hashtags


@pytest.mark.parametrize("dict_after", [0, 10**9])
def test_count_lookup_gives_the_counts_of_the_file(fresh_lookup, monkeypatch, dict_after):
    import wordsegment

    hashtags = fresh_lookup
    monkeypatch.setattr(hashtags, "_DICT_AFTER_LOOKUPS", dict_after)
    counts = hashtags._read_counts(wordsegment.Segmenter.UNIGRAMS_FILENAME)
    words = list(counts)
    rng = random.Random(3)
    sample = words[:50] + words[-50:] + rng.sample(words, 400) + [min(words), max(words)]
    lookup = hashtags._count_lookup()
    for word in sample:
        assert lookup.log_prob(word) == hashtags._log_prob(counts[word]), word
    for absent in ("", "qqzzxxqq", "zzzzzzzzzzzzzzzzzzzzzzzz", "\x00", "é", max(words) + "a", "0" * 30):
        assert absent in counts or lookup.log_prob(absent) is None
    assert hashtags.word_count("sale") == 10 ** (hashtags._log_prob(counts["sale"]) + hashtags._LOG_TOTAL)
    assert hashtags.word_count("qqzzxxqq") == 0.0


def test_segmentation_is_the_same_with_bisection_and_with_the_dict(fresh_lookup, monkeypatch):
    hashtags = fresh_lookup
    tags = ["420", "shroomsforsale", "2mgxanax", "plugsofinstagram", "oxy80s", "xanaxbarsforsale", "weedlife"]
    monkeypatch.setattr(hashtags, "_DICT_AFTER_LOOKUPS", 10**9)
    by_bisection = [hashtags.HashtagAnalyzer().segment(t) for t in tags]
    monkeypatch.setattr(hashtags, "_LOOKUP", None)
    monkeypatch.setattr(hashtags, "_DICT_AFTER_LOOKUPS", 0)
    by_dict = [hashtags.HashtagAnalyzer().segment(t) for t in tags]
    assert by_bisection == by_dict
    assert by_bisection[:3] == [["420"], ["shrooms", "for", "sale"], ["2mg", "xanax"]]


def test_inspect_start_up_reads_no_full_table(tmp_path):
    """One text with a number tag, a phone and a handle: no dict of every
    unigram count, no confusables data, no automaton of every split."""
    code = (
        "import sys\n"
        "from drugwatch.text.analyze import analyze\n"
        "from drugwatch.text import hashtags, normalize\n"
        "v = analyze('selling c0ke and xanax bars, text me at +44 7700 900123 or snap @plug_uk #420 💊')\n"
        "assert v.hashtags[0].analysis.segments == ('420',), v.hashtags\n"
        "print(hashtags._LOOKUP._log_probs is None, 'confusable_homoglyphs.confusables' in sys.modules)\n"
    )
    env = dict(os.environ, DRUGWATCH_HOME=str(tmp_path / "home"))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["True", "False"]
    assert list((tmp_path / "home" / "cache").glob("unigrams-*.marshal"))


# -- the table cache -------------------------------------------------------------


def test_table_cache_reads_back_and_follows_its_sources(tmp_path, monkeypatch):
    from drugwatch.text import tablecache

    monkeypatch.setenv("DRUGWATCH_HOME", str(tmp_path / "home"))
    source = tmp_path / "source.txt"
    source.write_text("one", encoding="utf-8")
    calls: list[str] = []

    def build():
        calls.append("built")
        return {"text": source.read_text(encoding="utf-8"), "n": (1, 2.5)}

    assert tablecache.cached_table("demo", 1, [source], build) == {"text": "one", "n": (1, 2.5)}
    assert tablecache.cached_table("demo", 1, [source], build) == {"text": "one", "n": (1, 2.5)}
    assert calls == ["built"]
    files = list(tablecache.cache_dir().glob("demo-*.marshal"))
    assert len(files) == 1
    # a changed source names another file; the stale one is removed
    source.write_text("two!", encoding="utf-8")
    assert tablecache.cached_table("demo", 1, [source], build)["text"] == "two!"
    assert calls == ["built", "built"]
    now = list(tablecache.cache_dir().glob("demo-*.marshal"))
    assert len(now) == 1 and now != files
    # another format version is another table
    assert tablecache.cached_table("demo", 2, [source], build)["text"] == "two!"
    assert len(calls) == 3
    # a corrupt file is built again and rewritten
    (path,) = tablecache.cache_dir().glob("demo-*.marshal")
    path.write_bytes(b"\xff\x00garbage")
    assert tablecache.cached_table("demo", 2, [source], build)["text"] == "two!"
    assert len(calls) == 4
    assert tablecache.cached_table("demo", 2, [source], build)["text"] == "two!"
    assert len(calls) == 4


def test_table_cache_off_or_unwritable_still_builds(tmp_path, monkeypatch):
    from drugwatch.text import tablecache

    source = tmp_path / "source.txt"
    source.write_text("x", encoding="utf-8")
    monkeypatch.setenv("DRUGWATCH_TABLE_CACHE", "0")
    monkeypatch.setenv("DRUGWATCH_HOME", str(tmp_path / "home"))
    assert tablecache.cached_table("demo", 1, [source], lambda: [1, 2]) == [1, 2]
    assert not (tmp_path / "home").exists()
    monkeypatch.delenv("DRUGWATCH_TABLE_CACHE")
    blocker = tmp_path / "blocked"
    blocker.write_text("a file where the data home should be", encoding="utf-8")
    monkeypatch.setenv("DRUGWATCH_HOME", str(blocker))
    assert tablecache.cached_table("demo", 1, [source], lambda: [3]) == [3]


# -- lexicon rows ----------------------------------------------------------------


def test_lexicon_rows_split_as_csv_reads_them():
    import csv

    from drugwatch.lexicon import _split_row

    lines = [
        "coke\tcocaine\tstreet\tyes\tnote",
        'say "when"\t-\ttransaction\tno',
        "a\t\tb\t",
        "\tlead",
        "tail\t",
        "x\ty",
        "one field",
        "em\u2028bedded\u0085line\tsep",
        "nul\x00inside\tf",
        "ends with cr\r",
    ]
    for line in lines:
        try:
            expected = next(csv.reader([line], delimiter="\t", quoting=csv.QUOTE_NONE))
        except csv.Error:
            with pytest.raises(csv.Error):
                _split_row(line)
            continue
        assert _split_row(line) == expected, line

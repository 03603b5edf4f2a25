"""Hashtag extraction, segmentation and JMIR categories."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drugwatch.lexicon import Lexicon, LexiconEntry
from drugwatch.text.hashtags import (
    HashtagAnalyzer,
    analyze_hashtag,
    categorize_hashtag,
    categorize_hashtags,
    extract_hashtags,
    hashtag_spans,
    segment_hashtag,
)

# ---------------------------------------------------------------------------
# Extraction.

EXTRACT = [
    ("hmu #Xanax#oxy #2mgXanax #xanax, #шишки", ["xanax", "oxy", "2mgxanax", "шишки"]),
    ("#420 #420friendly", ["420", "420friendly"]),
    ("ends at punctuation #weed! #kush. #lean?", ["weed", "kush", "lean"]),
    ("ends at emoji #plug🔌#shrooms🍄", ["plug", "shrooms"]),
    ("other scripts #大麻 #بيع #बिक्री #χόρτο", ["大麻", "بيع", "बिक्री", "χόρτο"]),
    ("underscores #xanax_bars #_plug", ["xanax_bars", "_plug"]),
    ("full-width ＃Weed", ["weed"]),
    ("see example.com/#anchor and https://example.org/a#b", []),
    ("it&#39;s fine &#x27;quoted&#x27;", []),
    ("keycap #️⃣ and lone # and ## and #_", []),
    ("dupes #Xanax #XANAX #xanax", ["xanax"]),
    ("", []),
]


@pytest.mark.parametrize(("text", "expected"), EXTRACT)
def test_extract_hashtags(text, expected):
    assert extract_hashtags(text) == expected


def test_hashtag_spans_slice_the_raw_text():
    text = "a #Xanax!#oxy🔌 ＃weed #Xanax"
    spans = hashtag_spans(text)
    assert [t for t, _, _ in spans] == ["xanax", "oxy", "weed", "xanax"]
    assert [text[a:b] for _, a, b in spans] == ["#Xanax", "#oxy", "＃weed", "#Xanax"]


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_extraction_never_crashes(text):
    spans = hashtag_spans(text)
    for tag, start, end in spans:
        assert 0 <= start < end <= len(text)
        assert text[start] in "#＃"
        assert text[start + 1 : end].lower() == tag
    tags = extract_hashtags(text)
    assert len(tags) == len(set(tags))
    assert all(t == t.lower() and "#" not in t for t in tags)


# ---------------------------------------------------------------------------
# Segmentation.

SEGMENT = [
    ("shroomsforsale", ["shrooms", "for", "sale"]),
    ("#xanaxfamily", ["xanax", "family"]),
    ("2mgxanax", ["2mg", "xanax"]),
    ("oxy80s", ["oxy", "80s"]),
    ("plugsofinstagram", ["plugs", "of", "instagram"]),
    ("420friendly", ["420", "friendly"]),
    ("mdmalove", ["mdma", "love"]),
    ("percocert", ["percocert"]),  # a known misspelling stays whole
    ("dmtoorder", ["dm", "to", "order"]),
    ("magicmushrooms", ["magic", "mushrooms"]),
    ("hydrocodoneacetaminophen", ["hydrocodone", "acetaminophen"]),
    ("photooftheday", ["photo", "of", "the", "day"]),
    ("xanax_bars", ["xanax", "bars"]),
    ("шишки", ["шишки"]),
    ("", []),
]


@pytest.mark.parametrize(("tag", "expected"), SEGMENT)
def test_segment_hashtag(tag, expected):
    assert segment_hashtag(tag) == expected


def test_weedstagram_is_split_or_kept_as_a_known_tag():
    assert segment_hashtag("weedstagram") in (["weedstagram"], ["weed", "stagram"])


def test_segmentation_is_cached():
    analyzer = HashtagAnalyzer()
    first = analyzer.segment("xanaxfamily")
    assert analyzer.segment("#XanaxFamily") == first
    assert analyzer._segment_cached.cache_info().hits >= 1


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_", max_size=40))
def test_segments_rebuild_the_tag(tag):
    assert "".join(segment_hashtag(tag)) == tag.replace("_", "")


# ---------------------------------------------------------------------------
# Categories.

CATEGORIES = [
    ("xanax", "drug_name"),
    ("#Oxycodone", "drug_name"),
    ("cocaine", "drug_name"),
    ("percocert", "codeword"),  # misspelling in the lexicon
    ("zanax", "codeword"),
    ("adderrall", "codeword"),  # one edit from a brand
    ("x4n4x", "codeword"),  # leetspeak
    ("2mgxanax", "codeword"),  # extended name
    ("xanaxbars", "codeword"),
    ("xanaxfamily", "codeword"),
    ("whitebar", "codeword"),  # street name
    ("weed", "codeword"),
    ("420", "codeword"),
    ("420friendly", "codeword"),
    ("oxy80s", "codeword"),
    ("mdmalove", "codeword"),
    ("shroomsforsale", "codeword"),  # drug words win over sale words
    ("barsforsale", "codeword"),  # ambiguous "bars" counts next to a sale word
    ("forsale", "sale"),
    ("plug", "sale"),
    ("plugsofinstagram", "sale"),
    ("delivery", "sale"),
    ("shipping", "sale"),
    ("dmtoorder", "sale"),
    ("sunset", "other"),
    ("photooftheday", "other"),
    ("snowday", "other"),  # ambiguous "snow" alone inside a longer tag
    ("leanin", "other"),
    ("шишки", "codeword"),  # "buds": an ambiguous weed word of the lexicon (also pine cones)
]


@pytest.mark.parametrize(("tag", "kind"), CATEGORIES)
def test_categorize_hashtag(tag, kind):
    assert categorize_hashtag(tag) == kind


def test_analysis_reports_labels_terms_and_ambiguity():
    a = analyze_hashtag("2mgxanax")
    assert (a.kind, a.labels, a.ambiguous) == ("codeword", frozenset({"xanax"}), False)
    assert a.segments == ("2mg", "xanax")
    assert analyze_hashtag("snow").ambiguous
    assert analyze_hashtag("snow").kind == "codeword"
    assert analyze_hashtag("sunset").labels == frozenset()


def test_categorize_many_keeps_first_seen_order():
    assert categorize_hashtags(["#Xanax", "plug", "xanax"]) == {"xanax": "drug_name", "plug": "sale"}


def test_custom_lexicon():
    lex = Lexicon.from_entries(
        [
            LexiconEntry("zorblax", "other_drugs", "name"),
            LexiconEntry("zorbs", "other_drugs", "street"),
            LexiconEntry("dropship", None, "shipping"),
        ]
    )
    analyzer = HashtagAnalyzer(lex)
    assert analyzer.categorize("zorblax") == "drug_name"
    assert analyzer.categorize("zorbs") == "codeword"
    assert analyzer.segment("zorblaxnation") == ["zorblax", "nation"]
    assert analyzer.categorize("zorblaxnation") == "codeword"
    assert analyzer.categorize("dropship") == "sale"
    assert analyzer.categorize("xanax") == "other"  # not in this lexicon
    a = analyzer.analyze("2mgzorbs")
    assert (a.segments, a.kind, a.labels, a.terms) == (
        ("2mg", "zorbs"),
        "codeword",
        frozenset({"other_drugs"}),
        ("zorbs",),
    )


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=30))
def test_categorize_never_crashes(tag):
    assert categorize_hashtag(tag) in ("drug_name", "codeword", "sale", "other")


def test_ambiguous_whole_tags_can_be_other():
    strict = HashtagAnalyzer(ambiguous_tags="other")
    assert strict.categorize("snow") == "other"
    assert strict.categorize("xanax") == "drug_name"
    assert categorize_hashtag("snow") == "codeword"
    with pytest.raises(ValueError, match="ambiguous_tags must be"):
        HashtagAnalyzer(ambiguous_tags="drop")  # type: ignore[arg-type]


def test_unigram_counts_read_as_wordsegment_reads_them(tmp_path):
    import math

    import wordsegment

    from drugwatch.text import hashtags

    path = wordsegment.Segmenter.UNIGRAMS_FILENAME
    expected = wordsegment.Segmenter.parse(path)
    counts = hashtags._read_counts(path)
    assert list(counts) == list(expected)
    assert all(float(counts[w]) == c for w, c in expected.items())
    probs = hashtags._base_log_probs()
    lookup = hashtags._count_lookup()
    assert len(probs) == len(expected)
    for word in ("the", "sale", "shrooms", "weed"):
        assert lookup.log_prob(word) == probs[word] == math.log10(expected[word]) - hashtags._LOG_TOTAL
    assert lookup.log_prob("qqzzxxqq") is None and "qqzzxxqq" not in probs
    # a word holding whitespace misaligns the one-split reading: read line by line, last count wins
    odd = tmp_path / "unigrams.txt"
    odd.write_text("ice cream\t50\nthe\t7\nthe\t9", encoding="utf-8")
    assert hashtags._read_counts(str(odd)) == {"ice cream": "50", "the": "9"}

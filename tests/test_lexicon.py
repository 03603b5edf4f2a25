"""The drug lexicon and its matcher."""

from __future__ import annotations

from pathlib import Path

import pytest

from drugwatch.labels import DRUG_LABELS
from drugwatch.lexicon import KINDS, LexiconEntry, load_lexicon, read_lexicon_tsv
from drugwatch.lexicon.matcher import Matcher, find_terms, hit_labels
from drugwatch.text.normalize import normalize


def test_size_and_coverage() -> None:
    lex = load_lexicon()
    assert len(lex) >= 600
    labels = {e.label for e in lex.entries}
    assert set(DRUG_LABELS) <= labels
    assert None in labels
    assert {e.kind for e in lex.entries} == set(KINDS)
    for label in DRUG_LABELS:
        kinds = {e.kind for e in lex.entries if e.label == label}
        assert {"name", "street", "misspelling", "hashtag"} <= kinds, label


def test_lookup_and_vocabulary() -> None:
    lex = load_lexicon()
    assert [e.label for e in lex.lookup("  XANAX ")] == ["xanax"]
    assert lex.lookup("definitely not a drug") == ()
    assert "percocert" in lex.vocabulary()
    entry = lex.lookup("percocert")[0]
    assert isinstance(entry, LexiconEntry)
    assert entry.kind == "misspelling" and entry.label == "painkiller"
    assert lex.lookup("dm to order")[0].label is None


@pytest.mark.parametrize(("term", "label"), [
    ("spice", "other_drugs"), ("k2", "other_drugs"), ("mda", "other_drugs"),
    ("methylone", "other_drugs"), ("fentanyl", "painkiller"), ("dhc", "painkiller"),
    ("promethazine", "codeine"), ("lean", "codeine"), ("zolpidem", "other_drugs"),
    ("heroin", "other_drugs"), ("etizolam", "xanax"), ("1p-lsd", "lsd"), ("crack", "cocaine"),
    ("molly", "mdma"), ("shrooms", "mushroom"), ("kush", "marijuana"), ("adderall", "other_drugs"),
])
def test_label_conventions(term: str, label: str) -> None:
    assert label in load_lexicon().labels_of(term)


def test_terms_are_stored_normalized() -> None:
    bad = [e.term for e in load_lexicon().entries if normalize(e.term).text != e.term]
    assert bad == []


def test_every_kind_has_a_documented_source() -> None:
    readme = (Path(__file__).parents[1] / "src/drugwatch/lexicon/data/README.md").read_text()
    for kind in KINDS:
        assert f"`{kind}`" in readme


def test_bad_rows_are_rejected(tmp_path: Path) -> None:
    path = tmp_path / "lex.tsv"
    path.write_text("term\tlabel\tkind\tambiguous\tnote\nfoo\tweed\tname\tno\tx\n")
    with pytest.raises(ValueError, match="needs a drug label"):
        read_lexicon_tsv(path)
    path.write_text("foo\tmarijuana\tslang\tno\tx\n")
    with pytest.raises(ValueError, match="unknown kind"):
        read_lexicon_tsv(path)


# -- matcher -----------------------------------------------------------------

@pytest.mark.parametrize(("text", "labels"), [
    ("xanax 2mg bars", {"xanax"}),
    ("Selling percs and roxy 30s, dm", {"painkiller"}),
    ("1g MDMA + 5g cocaine", {"mdma", "cocaine"}),
    ("Golden Teacher shrooms 3.5g", {"mushroom"}),
    ("1P-LSD blotters 100ug", {"lsd"}),
    ("Actavis promethazine pint", {"codeine"}),
    ("OG Kush 1oz indoor", {"marijuana"}),
    ("Crystal meth shards 1g", {"other_drugs"}),
    ("green crack 1 oz top shelf", {"marijuana"}),
    ("#xanaxangel #percocert", {"xanax", "painkiller"}),
    ("#weedlife #shroomsforsale", {"marijuana", "mushroom"}),
    ("snow and molly available, hmu on snap", {"cocaine", "mdma"}),
])
def test_matcher_finds_labels(text: str, labels: set[str]) -> None:
    assert set(hit_labels(find_terms(text))) == labels


def test_longest_match_wins() -> None:
    terms = [h.term for h in find_terms("green crack kush")]
    assert "green crack" in terms and "crack" not in terms


def test_word_boundaries() -> None:
    assert hit_labels(find_terms("methodology and lsdxyz and pothole")) == ()


@pytest.mark.parametrize(("text", "fires"), [
    ("diet coke", False), ("coke and molly, dm for prices", True),
    ("pot of tea", False), ("pot for sale, qp available hmu", True),
    ("lean on me", False), ("lean 4oz actavis", True),
    ("gay bars downtown", False), ("bars 2mg", True),
    ("folic acid", False), ("acid tabs 200ug", True),
    ("snow day", False), ("❄️ 8ball hmu plug", True),
])
def test_context_rules(text: str, fires: bool) -> None:
    assert bool(hit_labels(find_terms(text))) is fires


def test_sale_terms_need_drug_context_when_ambiguous() -> None:
    assert [h.term for h in find_terms("order now, dm me")] == []
    terms = {h.term for h in find_terms("xanax bars, order now, dm me")}
    assert {"xanax bars", "order now"} <= terms


def test_hits_map_to_raw_spans() -> None:
    raw = "Got CΘKE + w□□d, #2mgxanax"
    hits = find_terms(raw)
    raw_words = {raw[h.raw_start:h.raw_end] for h in hits}
    assert {"CΘKE", "w□□d"} <= raw_words
    tag = next(h for h in hits if h.label == "xanax")
    assert raw[tag.raw_start:tag.raw_end] == "2mgxanax"


def test_hashtag_substrings() -> None:
    hits = find_terms("#buyoxycodonenow #tweedjacket")
    assert hit_labels(hits) == ("painkiller",)
    assert all(h.in_hashtag for h in hits)


def test_custom_matcher() -> None:
    lex = read_lexicon_tsv(Path(__file__).parents[1] / "src/drugwatch/lexicon/data/lexicon.tsv")
    assert hit_labels(Matcher(lex).find("ketamine")) == ("other_drugs",)

"""The drug lexicon and its matcher."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from drugwatch.labels import DRUG_LABELS
from drugwatch.lexicon import (
    EMOJI_KIND,
    HAND_ENGLISH_FILES,
    KINDS,
    SOURCES,
    LexiconEntry,
    inside_common_word,
    load_lexicon,
    merge_lexicons,
    read_lexicon_tsv,
    splits_into_common_words,
)
from drugwatch.lexicon.matcher import Matcher, find_terms, hit_labels
from drugwatch.text.analyze import analyze
from drugwatch.text.normalize import normalize

ROOT = Path(__file__).parents[1]


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


@pytest.mark.parametrize(
    ("term", "label"),
    [
        ("spice", "other_drugs"),
        ("k2", "other_drugs"),
        ("mda", "other_drugs"),
        ("methylone", "other_drugs"),
        ("fentanyl", "painkiller"),
        ("dhc", "painkiller"),
        ("promethazine", "codeine"),
        ("lean", "codeine"),
        ("zolpidem", "other_drugs"),
        ("heroin", "other_drugs"),
        ("etizolam", "xanax"),
        ("1p-lsd", "lsd"),
        ("crack", "cocaine"),
        ("molly", "mdma"),
        ("shrooms", "mushroom"),
        ("kush", "marijuana"),
        ("adderall", "other_drugs"),
    ],
)
def test_label_conventions(term: str, label: str) -> None:
    assert label in load_lexicon().labels_of(term)


def test_terms_are_stored_normalized() -> None:
    bad = [e.term for e in load_lexicon().entries if e.kind != EMOJI_KIND and normalize(e.term).text != e.term]
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


@pytest.mark.parametrize(
    ("text", "labels"),
    [
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
    ],
)
def test_matcher_finds_labels(text: str, labels: set[str]) -> None:
    assert set(hit_labels(find_terms(text))) == labels


def test_longest_match_wins() -> None:
    terms = [h.term for h in find_terms("green crack kush")]
    assert "green crack" in terms and "crack" not in terms


def test_word_boundaries() -> None:
    assert hit_labels(find_terms("methodology and lsdxyz and pothole")) == ()


@pytest.mark.parametrize(
    ("text", "fires"),
    [
        ("diet coke", False),
        ("coke and molly, dm for prices", True),
        ("pot of tea", False),
        ("pot for sale, qp available hmu", True),
        ("lean on me", False),
        ("lean 4oz actavis", True),
        ("gay bars downtown", False),
        ("bars 2mg", True),
        ("folic acid", False),
        ("acid tabs 200ug", True),
        ("snow day", False),
        ("❄️ 8ball hmu plug", True),
    ],
)
def test_context_rules(text: str, fires: bool) -> None:
    assert bool(hit_labels(find_terms(text))) is fires


def test_sale_terms_need_drug_context_when_ambiguous() -> None:
    assert [h.term for h in find_terms("order now, dm me")] == []
    terms = {h.term for h in find_terms("xanax bars, order now, dm me")}
    assert {"xanax bars", "order now"} <= terms


def test_hits_map_to_raw_spans() -> None:
    raw = "Got CΘKE + w□□d, #2mgxanax"
    hits = find_terms(raw)
    raw_words = {raw[h.raw_start : h.raw_end] for h in hits}
    assert {"CΘKE", "w□□d"} <= raw_words
    tag = next(h for h in hits if h.label == "xanax")
    assert raw[tag.raw_start : tag.raw_end] == "2mgxanax"


def test_hashtag_substrings() -> None:
    hits = find_terms("#buyoxycodonenow #tweedjacket")
    assert hit_labels(hits) == ("painkiller",)
    assert all(h.in_hashtag for h in hits)


def test_custom_matcher() -> None:
    lex = read_lexicon_tsv(Path(__file__).parents[1] / "src/drugwatch/lexicon/data/lexicon.tsv")
    assert hit_labels(Matcher(lex).find("ketamine")) == ("other_drugs",)


# -- sources, kinds, ambiguity --------------------------------------------------


def test_every_entry_has_source_kind_and_ambiguity() -> None:
    lex = load_lexicon()
    assert {e.source for e in lex} == set(SOURCES) - {"user"}  # no user lexicon in the tests
    for e in lex:
        assert e.kind in KINDS and isinstance(e.ambiguous, bool), e
        assert e.label is None or e.label in DRUG_LABELS, e  # never non_drug
    assert all(e.note.startswith("dope:") for e in lex if e.source == "dope")


def test_hand_written_entries_win_over_dope() -> None:
    hand = load_lexicon(("lexicon.tsv", "multilingual.tsv"))
    dope = [e for e in load_lexicon() if e.source == "dope"]
    assert dope and not {e.term for e in dope} & hand.vocabulary()
    # the merge rule itself: a derived entry for a hand-written term is dropped
    merged = merge_lexicons([hand], [read_lexicon_tsv(ROOT / "src/drugwatch/lexicon/data/lexicon.tsv", "dope")])
    assert {e.source for e in merged} == {"drugwatch"}


def test_lexicon_before_the_new_sources_stays_loadable() -> None:
    old = load_lexicon(HAND_ENGLISH_FILES)
    new = load_lexicon()
    assert {e.source for e in old} == {"drugwatch"}
    assert set(old.entries) <= set(new.entries)  # nothing was changed or removed
    assert old.fingerprint() != new.fingerprint()
    assert new.fingerprint() == load_lexicon().fingerprint()
    with pytest.raises(ValueError, match="unknown lexicon file"):
        load_lexicon(("nope.tsv",))


def test_sources_and_emoji_rows_are_validated(tmp_path: Path) -> None:
    path = tmp_path / "lex.tsv"
    path.write_text("🍄\tmushroom\temoji\tyes\tx\n🔌\t-\temoji\tyes\tplug\n")
    lex = read_lexicon_tsv(path, "dea-emoji")
    assert [(e.label, e.source) for e in lex] == [("mushroom", "dea-emoji"), (None, "dea-emoji")]
    with pytest.raises(ValueError, match="unknown source"):
        read_lexicon_tsv(path, "wikipedia")
    path.write_text("🍄\tnon_drug\temoji\tyes\tx\n")
    with pytest.raises(ValueError, match="kind 'emoji' takes a drug label"):
        read_lexicon_tsv(path)


# -- DOPE ----------------------------------------------------------------------


def _dope_script():
    spec = importlib.util.spec_from_file_location("build_lexicon_dope", ROOT / "scripts/build_lexicon_dope.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("cls", "category", "synonym", "label", "kind"),
    [
        ("cannabis", "marijuana", "chronic", "marijuana", "street"),
        ("cannabis", "synthetic cannabinoid", "k2", "other_drugs", "street"),
        ("depressant", "alprazolam", "zannies", "xanax", "street"),
        ("depressant", "rohypnol", "roofies", "xanax", "street"),
        ("depressant", "benzodiazepine", "klonopin", "xanax", "brand"),
        ("narcotic (opioid)", "oxycodone", "oxy", "painkiller", "street"),
        ("narcotic (opioid)", "codeine combinations, non-injectable", "hydrocodone", "painkiller", "name"),
        ("narcotic (opioid)", "codeine combinations, non-injectable", "codeine", "codeine", "name"),
        ("narcotic (opioid)", "promethazine with codeine", "sizzurp", "codeine", "street"),
        ("narcotic (opioid)", "morphine-opium, non-injectable", "opium", "other_drugs", "name"),
        ("narcotic (opioid)", "fentanyl", "china white", "painkiller", "street"),
        ("heroin", "heroin", "smack", "other_drugs", "street"),
        ("stimulant", "crack", "rock", "cocaine", "street"),
        ("stimulant", "methamphetamine", "crystal", "other_drugs", "street"),
        ("hallucinogen", "psilocybin", "magic mushroom", "mushroom", "street"),
        ("hallucinogen", "lsd", "blotter", "lsd", "street"),
        ("hallucinogen", "mdma", "molly", "mdma", "street"),
        ("hallucinogen", "mdma", "methedrine", "other_drugs", "street"),  # DOPE misfiles it
        ("treatment drug", "treatment drug", "suboxone", "painkiller", "brand"),
        ("Unknown", "Unknown", "triazolam", "xanax", "name"),
        ("Unknown", "Unknown", "carfentanil", "painkiller", "name"),
        ("Unknown", "Unknown", "captagon", "other_drugs", "brand"),
    ],
)
def test_dope_rows_map_to_labels(cls: str, category: str, synonym: str, label: str, kind: str) -> None:
    script = _dope_script()
    assert script.label_and_kind(script.Row(cls, category, synonym), synonym)[:2] == (label, kind)


@pytest.mark.parametrize(
    ("cls", "category", "synonym"),
    [
        ("reversal agent", "reversal agent", "narcan"),
        ("analgesic", "pain relief", "tylenol"),
        ("treatment drug", "treatment drug", "naltrexone"),
        ("Unknown", "Unknown", "android"),
    ],
)
def test_dope_rows_without_a_drug_of_abuse_are_dropped(cls: str, category: str, synonym: str) -> None:
    script = _dope_script()
    assert script.label_and_kind(script.Row(cls, category, synonym), synonym)[0] is None


def test_every_dope_category_is_mapped_or_dropped() -> None:
    source = ROOT.parent / "shared/lexicon-sources/dope/lookup_df.csv"
    if not source.is_file():
        pytest.skip("the DOPE table is not next to the repository")
    script = _dope_script()
    keys = {(r.cls, r.category) for r in script.read_rows(source)}
    assert keys <= set(script.CATEGORY_LABELS) | set(script.DROPPED_CATEGORIES)


def test_dope_synonym_cells_are_cleaned() -> None:
    script = _dope_script()
    assert script.clean_synonyms("birria (mixed with heroin)") == ["birria"]
    assert script.clean_synonyms('special "k"') == ["special k"]
    assert script.clean_synonyms("finajet/finaject") == ["finajet", "finaject"]
    assert script.clean_synonyms("ac/dc") == []
    assert script.clean_synonyms("dragon’s breath") == ["dragon's breath"]


@pytest.mark.parametrize(
    ("term", "label"),
    [
        ("phentermine", "other_drugs"),
        ("cheeba", "marijuana"),
        ("captagon", "other_drugs"),
        ("acryloylfentanyl", "painkiller"),
        ("flurazepam", "xanax"),
        ("ephylone", "other_drugs"),
    ],
)
def test_dope_terms_are_in_the_lexicon(term: str, label: str) -> None:
    entries = load_lexicon().lookup(term)
    assert [(e.label, e.source, e.ambiguous) for e in entries] == [(label, "dope", False)]


def test_common_words_from_dope_are_left_out() -> None:
    lex = load_lexicon()
    # street names that are everyday words, and names DOPE gives to several drugs
    for word in ("white girl", "twinkie", "duracell", "goodfellas", "paste", "buttons"):
        assert all(e.source != "dope" for e in lex.lookup(word)), word


# -- collisions with ordinary text ----------------------------------------------


def test_collision_checks() -> None:
    assert inside_common_word("rophies") and inside_common_word("inex")
    assert not inside_common_word("phentermine")
    assert splits_into_common_words("herone") == ("her", "one")
    assert splits_into_common_words("heroina") == ("heroin", "a")
    assert splits_into_common_words("phentermine") is None


def _new_files() -> list:
    return [e for name in ("multilingual.tsv", "dope.tsv") for e in load_lexicon((name,))]


def test_new_unambiguous_words_do_not_collide_with_english() -> None:
    """The matcher looks for unambiguous drug words inside hashtags, and
    normalize() joins their split pieces: neither may turn ordinary English
    into a drug word ("#ziggystardust", "gave her one")."""
    bad = []
    for e in _new_files():
        compact = e.term.replace(" ", "")
        if e.ambiguous or e.label is None or not compact.isascii() or not compact.isalpha():
            continue
        if (len(compact) >= 4 and inside_common_word(compact)) or splits_into_common_words(compact):
            bad.append(e.term)
    assert bad == []


def test_no_term_mixes_latin_with_another_script() -> None:
    """The matcher reads only a-z0-9: "k粉" would be indexed as "k"."""
    for e in load_lexicon():
        if e.kind == EMOJI_KIND or e.term.isascii():
            continue
        assert not any("a" <= c <= "z" or c.isdigit() for c in e.term), e.term


# -- emoji ---------------------------------------------------------------------


def test_emoji_entries_are_ambiguous_and_agree_with_their_word() -> None:
    lex = load_lexicon()
    emoji = [e for e in lex if e.kind == EMOJI_KIND]
    assert len(emoji) >= 40 and all(e.ambiguous and e.source == "dea-emoji" for e in emoji)
    assert [e.label for e in lex.lookup("❄️")] == ["cocaine"]  # variation selector ignored
    checked = 0
    for e in emoji:
        word = normalize(e.term).text
        words = [x for x in lex.lookup(word) if x.kind != EMOJI_KIND]
        if not words:
            continue  # normalize() does not read this emoji as a lexicon word
        checked += 1
        if e.label is None:
            assert all(x.label is None for x in words), (e.term, word)
        else:
            assert e.label in lex.labels_of(word), (e.term, word)
    assert checked >= 15


def test_decorative_emoji_name_no_drug() -> None:
    assert analyze("❄️ Winter sale: 20% off all jackets and boots this weekend ❄️").labels == ()
    assert analyze("🌲🎄 Christmas tree farm open, bring the kids 🍀").labels == ()
    assert analyze("❄️❄️ 8ball hmu on wickr").labels == ("cocaine",)


# -- other languages -------------------------------------------------------------


def test_multilingual_entries_name_their_language() -> None:
    entries = list(load_lexicon(("multilingual.tsv",)))
    assert len(entries) >= 150
    assert all(e.source == "drugwatch" and e.note[:2].isalpha() for e in entries)
    langs = {e.note[:2] for e in entries}
    assert {"zh", "ja", "ko", "th", "vi", "es", "pt", "fr", "de", "ru", "ar", "id"} <= langs


@pytest.mark.parametrize(
    ("text", "labels"),
    [
        ("maconha e haxixe, entrega rápida", ("marijuana",)),
        ("vendo cocaína y farlopa, envíos a domicilio", ("cocaine",)),
        ("Koks und Teile, Lieferung, schreib mir auf wickr", ("mdma", "cocaine")),
        ("beuh et haschich à vendre, livraison", ("marijuana",)),
        ("sabu dan ekstasi ready stock, jual", ("mdma", "other_drugs")),
        ("#大麻 #出售", ("marijuana",)),  # hashtags: read by drugwatch.text.hashtags
        ("#코카인 판매", ("cocaine",)),
    ],
)
def test_other_languages_in_latin_script_and_hashtags(text: str, labels: tuple) -> None:
    assert analyze(text).labels == labels


@pytest.mark.parametrize(
    ("text", "labels"),
    [
        ("코카인 팝니다", ("cocaine",)),
        ("대마초를 팝니다", ("marijuana",)),  # a particle attached: Hangul terms match inside words
        ("大麻出售", ("marijuana",)),
        ("ขายกัญชา", ("marijuana",)),
        ("кокаин и мефедрон, закладки", ("cocaine", "other_drugs")),
        ("продам кокаина", ("cocaine",)),  # an ending after a term of four letters or more
        ("كوكايين للبيع", ("cocaine",)),
        ("今天天气很好", ()),
    ],
)
def test_other_scripts_in_running_text(text: str, labels: tuple) -> None:
    assert analyze(text).labels == labels


def test_a_term_in_another_script_must_start_a_word():
    # The Russian for cocaine inside a longer word that is not it.
    assert "cocaine" not in analyze("антикокаин").labels


# -- sale sentences --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "labels"),
    [
        ("molly available, hmu on wickr", ("mdma",)),
        ("cheeba for sale hmu", ("marijuana",)),
        ("phentermine 37.5mg no prescription", ("other_drugs",)),
        ("fent available, hmu on wickr", ("painkiller",)),
    ],
)
def test_street_names_in_sale_sentences(text: str, labels: tuple) -> None:
    assert analyze(text).labels == labels


@pytest.mark.parametrize(
    ("text", "labels"),
    [
        ("got coke for sale, dm me", ("cocaine",)),
        ("selling molly", ("mdma",)),
        ("blow for sale", ("cocaine",)),
        ("bars available", ("xanax",)),
        ("special k for sale", ("other_drugs",)),
    ],
)
def test_ambiguous_names_with_weak_sale_cues(text: str, labels: tuple) -> None:
    assert analyze(text).labels == labels


@pytest.mark.parametrize(
    "text",
    [
        "Snow!",
        "Ice",
        "I love blues",
        "it is snow time",
        "got some ice for my drink",
        "ice cold coke for sale",
        "Molly is selling cookies",
        "selling tickets for charlie tonight",
        "the snow is beautiful today #winter",
        "pot luck tonight, bring a dish",
    ],
)
def test_ambiguous_names_without_sale_context(text: str) -> None:
    assert analyze(text).labels == ()


def test_a_price_is_sale_context_for_words_not_for_emoji() -> None:
    # two ambiguous street names and prices: a price list
    assert analyze("blow $80 a gram, fent $25 a point").labels == ("painkiller", "cocaine")
    assert analyze("gras 10€, koks 70€, pep 8€").labels == ("marijuana", "cocaine", "other_drugs")
    from drugwatch.lexicon import load_lexicon

    hand_only = Matcher(load_lexicon())  # the price decides, not the context model
    assert hit_labels(hand_only.find("gras, koks, pep")) == ()
    assert hit_labels(hand_only.find("gras 10€, koks 70€, pep 8€")) == ("marijuana", "cocaine", "other_drugs")
    # one ambiguous word and a price is not enough; nor are negated words
    assert hit_labels(hand_only.find("coke $2 at the corner store")) == ()
    assert analyze("protein bars $5 each, snow boots $40 each").labels == ()
    # an emoji's word gains nothing from a price ("💎" is the DEA's meth code)
    assert analyze("💎💎 NFT #42 sold! price $90").labels == ()


def test_an_emoji_word_does_not_negate_its_neighbour() -> None:
    # "chocolate bars" is food, but "🍫 bars" is the DEA's Xanax code
    assert analyze("chocolate bars and percs, hmu").labels == ("painkiller",)
    assert analyze("🍫 bars and percs, hmu").labels == ("xanax", "painkiller")
    # without drug or sale context the emoji stays food
    assert analyze("🍫 bars are my favourite snack").labels == ()
    assert analyze("homemade 🍫 bars and brownies for the bake sale").labels == ()


@pytest.mark.parametrize(
    ("text", "labels"),
    [
        ("md and coke, hmu on wickr", ("mdma", "cocaine")),
        ("taz et beuh, livraison 10€", ("marijuana", "mdma")),
        ("teile 5€, pappen 8€, koks 70€", ("mdma", "lsd", "cocaine")),
        ("lsd pappen, 10 stück, versand", ("lsd",)),
        ("my md said to rest", ()),
        ("Taz went to the park", ()),
    ],
)
def test_added_street_names_need_context(text: str, labels: tuple) -> None:
    assert analyze(text).labels == labels


def test_weak_sale_cues_are_the_context_models_decision() -> None:
    from drugwatch.lexicon import load_lexicon
    from drugwatch.lexicon.context import load_context_model

    model = load_context_model()
    assert model is not None and 0.0 < model.threshold < 1.0
    # The hand rule alone (no model) leaves weak cues undecided ...
    hand_only = Matcher(load_lexicon())
    assert hit_labels(hand_only.find("selling molly")) == ()
    # ... and still accepts strong context by itself.
    assert hit_labels(hand_only.find("molly available, hmu on wickr")) == ("mdma",)
    assert hit_labels(Matcher(load_lexicon(), model).find("selling molly")) == ("mdma",)


def test_context_model_needs_context() -> None:
    from drugwatch.lexicon.context import FEATURES, Cue, context_features, load_context_model

    model = load_context_model()
    assert model is not None
    bare = context_features(
        "hello molly",
        6,
        11,
        frozenset({"mdma"}),
        [Cue(6, 11, "drug", frozenset({"mdma"}))],
        dose=False,
        pharma_dose=False,
        pill_word=False,
        emoji=False,
    )
    assert len(bare) == len(FEATURES)
    assert not model.accepts(bare, "molly")  # no context at all, whatever the weights
    text = "selling molly"
    sale = context_features(
        text,
        8,
        13,
        frozenset({"mdma"}),
        [Cue(0, 7, "weak"), Cue(8, 13, "drug", frozenset({"mdma"}))],
        dose=False,
        pharma_dose=False,
        pill_word=False,
        emoji=False,
    )
    assert sale[FEATURES.index("trade_near")] == 1.0
    assert model.probability(sale, "molly") > model.probability(bare, "molly")


def test_context_model_file_must_match_the_features(tmp_path: Path) -> None:
    import json

    from drugwatch.lexicon.context import MODEL_FILE, read_context_model

    data = json.loads(MODEL_FILE.read_text(encoding="utf-8"))
    data["features"] = data["features"][:-1]
    bad = tmp_path / "model.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match="retrain"):
        read_context_model(bad)


def test_a_term_is_reported_at_most_max_hits_times() -> None:
    from drugwatch.lexicon.matcher import MAX_HITS_PER_TERM

    text = "weed " * (MAX_HITS_PER_TERM + 50) + "and xanax"
    hits = find_terms(text)
    weed = [h for h in hits if h.term == "weed"]
    assert len(weed) == MAX_HITS_PER_TERM
    assert [h.start for h in weed] == [5 * i for i in range(MAX_HITS_PER_TERM)]  # the first ones
    assert set(hit_labels(hits)) == {"marijuana", "xanax"}


def test_occurrences_past_the_cap_still_take_their_characters() -> None:
    from drugwatch.lexicon.matcher import MAX_HITS_PER_TERM

    # "crystal meth" is longer than "meth": past the cap its occurrences are
    # not reported, and "meth" inside them is not reported either
    hits = find_terms("crystal meth, " * (MAX_HITS_PER_TERM + 20))
    assert {h.term for h in hits} == {"crystal meth"}
    assert len(hits) == MAX_HITS_PER_TERM


def test_many_candidates_are_resolved_in_linear_time() -> None:
    import time

    from drugwatch.lexicon.matcher import MAX_HITS_PER_TERM

    for text in ("🍄" * 100_000, "🍄 " * 50_000 + "hmu on wickr", "weed " * 20_000):
        nt = normalize(text)
        start = time.process_time()
        hits = find_terms(nt)
        assert time.process_time() - start < 3.0  # 60 s for the first before overlaps were linear
        assert len(hits) <= 3 * MAX_HITS_PER_TERM
    assert {h.term for h in hits} == {"weed"}


# -- discovery and the user lexicon -----------------------------------------------


def test_discover_ranks_words_used_like_drug_names() -> None:
    from drugwatch.lexicon.discover import discover

    texts = [
        ("a", "zootie for sale hmu 3.5g"),
        ("b", "fresh zootie and molly, dm me"),
        ("c", "zootie 1oz $200"),
        ("d", "the weather is nice today"),
        ("e", "cocaine and blizzo available, telegram"),
        ("f", "blizzo 1g $80 hmu"),
        ("g", "blizzo 2g dm"),
        ("h", "nice weather for a walk"),
        ("i", "weather update: nice"),
    ]
    found = discover(texts, min_count=2)
    terms = [c.term for c in found]
    assert {"zootie", "blizzo"} <= set(terms[:2])
    assert "weather" not in terms and "nice" not in terms  # never in drug or sale context
    blizzo = next(c for c in found if c.term == "blizzo")
    assert blizzo.likely_label == "cocaine" and blizzo.examples[0] == ("e", texts[4][1])
    assert discover(texts, min_count=2, max_texts=3)[0].in_context <= 3


def test_accepted_terms_load_on_top_of_the_builtin_lexicon(tmp_path: Path, monkeypatch) -> None:
    from drugwatch.lexicon import USER_LEXICON_ENV, load_lexicon
    from drugwatch.lexicon.discover import append_user_entry

    user = tmp_path / "user.tsv"
    append_user_entry(user, "Zootie", "marijuana", note="seen in 40 adverts")
    with pytest.raises(ValueError, match="needs a drug label"):
        append_user_entry(user, "foo", "weedz")
    assert user.read_text(encoding="utf-8").count("\n") == 2  # header and zootie: the bad line was undone
    builtin = len(load_lexicon())
    monkeypatch.setenv(USER_LEXICON_ENV, str(user))
    load_lexicon.cache_clear()
    try:
        lex = load_lexicon()
        assert len(lex) == builtin + 1
        assert [(e.label, e.source) for e in lex.lookup("zootie")] == [("marijuana", "user")]
        assert hit_labels(Matcher(lex).find("zootie for sale")) == ("marijuana",)
        assert (
            lex.fingerprint()
            != load_lexicon(("lexicon.tsv", "multilingual.tsv", "emoji.tsv", "dope.tsv")).fingerprint()
        )
        monkeypatch.setenv(USER_LEXICON_ENV, str(tmp_path / "missing.tsv"))
        load_lexicon.cache_clear()
        with pytest.raises(FileNotFoundError, match="no such lexicon file"):
            load_lexicon()
    finally:
        monkeypatch.delenv(USER_LEXICON_ENV)
        load_lexicon.cache_clear()
    assert len(load_lexicon()) == builtin

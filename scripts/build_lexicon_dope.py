"""Regenerate ``src/drugwatch/lexicon/data/dope.tsv`` from the DOPE lookup table.

    pip install wordfreq==3.1.1      # build-time only; drugwatch does not need it
    python scripts/build_lexicon_dope.py [--source ../shared/lexicon-sources/dope/lookup_df.csv]
                                         [--out src/drugwatch/lexicon/data/dope.tsv] [--check]

DOPE ("Drug Ontology Parsing Engine", CTN-0094/DOPE, MIT licence) lists 4,766
(class, category, synonym) rows: brand, generic and street names of drugs.
This script maps them to drugwatch's drug labels and writes the kept ones as
lexicon entries with source ``dope``. The committed data file is what the
package reads; this script documents how it was made and rebuilds it. With
``--check`` it writes nothing and exits 1 when the committed file differs.

What is kept (every rule is counted in the summary the script prints):

1. **Label by DOPE's category** (``CATEGORY_LABELS``), following the bench
   kit's conventions: cannabis -> marijuana, synthetic cannabinoids ->
   other_drugs, alprazolam and every other benzodiazepine (Rohypnol too) ->
   xanax, opioid painkillers -> painkiller, codeine and promethazine/codeine
   -> codeine, heroin and opium -> other_drugs, cocaine and crack -> cocaine,
   psilocybin -> mushroom, and every other drug (meth, amphetamine,
   ketamine, PCP, DMT, GHB, steroids, inhalants ...) -> other_drugs.
   Categories that are not drugs of abuse (over-the-counter analgesics,
   caffeine, naloxone, naltrexone ...) are dropped (``DROPPED_CATEGORIES``).
   DOPE's ``Unknown`` rows name no drug: only the names in
   ``UNKNOWN_TERMS`` and those matching ``UNKNOWN_SUFFIXES`` (benzodiazepine,
   fentanyl and barbiturate stems) are kept. ``TERM_LABELS`` corrects rows
   whose synonym names another drug than its category (DOPE files
   "methedrine" under MDMA, "opium" under morphine).
2. **Hand-written entries win**: a term the hand-written files already hold
   (``lexicon.tsv``, ``multilingual.tsv``; compared without spaces and
   punctuation, as the text layer reads them: "meow-meow" is "meow meow")
   is left to them.
3. **One drug per term**: a term DOPE files under categories with different
   labels ("buttons": oxycodone, mescaline, mushrooms) is dropped, and so
   are spellings that differ only in spaces ("whiffle dust" under
   amphetamine, "whiffledust" under MDMA); of two spellings with one label
   the spaced one is kept.
4. **Too short**: terms of fewer than 3 letters or digits are dropped.
5. **Common words** (``word_zipf``): the term's Zipf frequency in wordfreq
   (the highest over English, Spanish, Portuguese, French, German and
   Italian; for a phrase, wordfreq's estimate for the phrase) measures how
   often it is used at all. A street name used at least once per 10 million
   words (``STREET_DROP_ZIPF``: "twinkie", "duracell", "goodfellas", "paste",
   "white girl") is dropped; a brand or generic name is dropped from
   ``NAME_DROP_ZIPF`` ("amt", also short for "amount") and marked ambiguous
   from ``NAME_AMBIGUOUS_ZIPF`` ("dep-testosterone"). Common street words are dropped
   rather than marked ambiguous because, measured on the bench kit's dev
   listings, DOPE's ambiguous street words added about 2,400 wrong labels to
   drug listings for 670 right ones: the matcher accepts an ambiguous word
   whenever the text holds another drug word, and adverts usually do
   ("pills", "paste", "cookies", "stamp", "haze" ...). The hand-written
   lexicon keeps the well-known ambiguous slang ("snow", "ice", "bars")
   with context rules of its own. Phrases that hold an unambiguous drug
   word of the hand lexicon ("hillbilly heroin") are never dropped, only
   marked ambiguous when common.
6. **Collisions with ordinary text** (``drugwatch.lexicon.inside_common_word``,
   ``splits_into_common_words``): a kept term that is part of a frequent
   English word ("rophies" in "trophies", "tardust" in "stardust") is marked
   ambiguous, because the matcher looks for unambiguous drug words inside
   hashtags ("#ziggystardust"); so is a term that splits into a function
   word and a common word ("herone": "her one"), because ``normalize`` joins
   the pieces of an unambiguous drug word ("gave her one" -> "gave herone").

Kinds: ``name`` for generic and chemical names (``GENERIC_NAMES``, the
category's own name, Unknown generics), ``brand`` for the other names in
DOPE's pharmaceutical buckets and Unknown brands, ``street`` for the rest.
The ``note`` column keeps DOPE's class and category of the row.
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SOURCE = ROOT.parent / "shared" / "lexicon-sources" / "dope" / "lookup_df.csv"
DEFAULT_OUT = ROOT / "src" / "drugwatch" / "lexicon" / "data" / "dope.tsv"
WORDFREQ_VERSION = "3.1.1"

#: Zipf frequency at or above which a street name is dropped (rule 5; 2.0 is one
#: use per 10 million words).
STREET_DROP_ZIPF = 2.0
#: Zipf frequencies at or above which a brand or generic name is dropped / marked ambiguous.
NAME_DROP_ZIPF = 3.5
NAME_AMBIGUOUS_ZIPF = 2.5
#: Zipf frequency from which a phrase holding a drug word is marked ambiguous.
PHRASE_AMBIGUOUS_ZIPF = 2.5
#: Languages whose everyday words make a term ambiguous.
ZIPF_LANGUAGES = ("en", "es", "pt", "fr", "de", "it")
MIN_CHARS = 3

OTHER = "other_drugs"
#: The hand-written files (rule 2).
HAND_FILES = ("lexicon.tsv", "multilingual.tsv")

CATEGORY_LABELS: dict[tuple[str, str], str] = {
    ("cannabis", "marijuana"): "marijuana",
    ("cannabis", "marijuana concentrate"): "marijuana",
    ("cannabis", "synthetic cannabinoid"): OTHER,
    ("depressant", "alprazolam"): "xanax",
    ("depressant", "benzodiazepine"): "xanax",
    ("depressant", "clonazepam"): "xanax",
    ("depressant", "diazepam"): "xanax",
    ("depressant", "rohypnol"): "xanax",  # flunitrazepam, a benzodiazepine
    ("depressant", "amobarbital"): OTHER,
    ("depressant", "barbiturate"): OTHER,
    ("depressant", "methaqualone"): OTHER,
    ("depressant", "gbl"): OTHER,
    ("depressant", "ghb"): OTHER,
    ("depressant", "amyl nitrite"): OTHER,
    ("depressant", "isobutyl nitrite"): OTHER,
    ("antitussive", "dextromethorphan"): OTHER,
    ("drugs of concern", "salvia divinorum"): OTHER,
    ("hallucinogen", "2cb"): OTHER,
    ("hallucinogen", "alpha-ethyltryptamine"): OTHER,
    ("hallucinogen", "amt"): OTHER,
    ("hallucinogen", "dmt"): OTHER,
    ("hallucinogen", "ketamine"): OTHER,
    ("hallucinogen", "mescaline"): OTHER,
    ("hallucinogen", "pcp"): OTHER,
    ("hallucinogen", "peyote"): OTHER,
    ("hallucinogen", "lsd"): "lsd",
    ("hallucinogen", "mdma"): "mdma",
    ("hallucinogen", "mushrooms"): "mushroom",
    ("hallucinogen", "psilocybin"): "mushroom",
    ("heroin", "heroin"): OTHER,
    ("inhalant", "inhalant"): OTHER,
    ("inhalant", "nitrous oxide"): OTHER,
    ("narcotic (opioid)", "acetaminophen and oxycodone"): "painkiller",
    ("narcotic (opioid)", "codeine"): "codeine",
    ("narcotic (opioid)", "codeine combinations, non-injectable"): "painkiller",
    ("narcotic (opioid)", "fentanyl"): "painkiller",
    ("narcotic (opioid)", "hydrocodone"): "painkiller",
    ("narcotic (opioid)", "hydromorphone"): "painkiller",
    ("narcotic (opioid)", "methadone"): "painkiller",
    ("narcotic (opioid)", "morphine"): "painkiller",
    ("narcotic (opioid)", "morphine-opium, injectable"): "painkiller",
    ("narcotic (opioid)", "morphine-opium, non-injectable"): "painkiller",
    ("narcotic (opioid)", "opium"): OTHER,
    ("narcotic (opioid)", "oxycodone"): "painkiller",
    ("narcotic (opioid)", "promethazine with codeine"): "codeine",
    ("narcotic (opioid)", "synthetic narcotic, injectable"): "painkiller",
    ("narcotic (opioid)", "synthetic narcotic, non-injectable"): "painkiller",
    ("steroid", "steroid"): OTHER,
    ("stimulant", "amphetamine"): OTHER,
    ("stimulant", "cocaine"): "cocaine",
    ("stimulant", "crack"): "cocaine",
    ("stimulant", "crack cocaine"): "cocaine",
    ("stimulant", "khat"): OTHER,
    ("stimulant", "methamphetamine"): OTHER,
    ("stimulant", "methcathinone"): OTHER,
    ("stimulant", "methylphenidate"): OTHER,
    ("stimulant", "ritalin"): OTHER,
    ("stimulant", "synthetic cathinone"): OTHER,
}

#: Categories left out, and why. Their rows are kept only when TERM_LABELS names them.
DROPPED_CATEGORIES: dict[tuple[str, str], str] = {
    ("analgesic", "pain relief"): "over-the-counter analgesics (ibuprofen, Tylenol)",
    ("diuretic", "caffeine"): "caffeine",
    ("reversal agent", "reversal agent"): "overdose reversal (naloxone)",
    ("treatment drug", "treatment drug"): "addiction treatment (naltrexone, disulfiram)",
    ("Unknown", "Unknown"): "no drug named",
}

#: Rows whose synonym names another drug than DOPE's category says (None: drop the row).
TERM_LABELS: dict[str, str | None] = {
    "codeine": "codeine",
    "opium": OTHER,
    # buprenorphine is an opioid painkiller in the kit's definition
    "buprenorphine": "painkiller",
    "buprenex": "painkiller",
    "bunavail": "painkiller",
    "butrans": "painkiller",
    "probuphine": "painkiller",
    "sublocade": "painkiller",
    "suboxone": "painkiller",
    "zubsolv": "painkiller",
    # filed under MDMA by DOPE, but amphetamines, ibogaine, MAO inhibitors
    "benzedrine": OTHER,
    "biphetamine": OTHER,
    "methedrine": OTHER,
    "chrystal methadrine": OTHER,
    "fastin": OTHER,
    "dexedrine": OTHER,
    "iboga": OTHER,
    "khat": OTHER,
    "mao": None,
    "monoamine oxidase": None,
    # filed under DMT, names of other tryptamines (still other_drugs)
    "amt": OTHER,
    "det": OTHER,
    # a truncated hashtag, not a name: it fires inside "#instagay"
    "instaga": None,
}

#: Names kept from DOPE's Unknown rows: term -> (label, kind).
UNKNOWN_TERMS: dict[str, tuple[str, str]] = {
    **{
        t: ("xanax", "brand")
        for t in (
            "lexotan",
            "lexatin",
            "lexotanil",
            "librium",
            "libritabs",
            "limbitrol",
            "tranxene",
            "halcion",
            "dalmane",
            "serax",
            "paxipam",
            "doral",
            "prosom",
            "centrax",
            "versed",
            "mogadon",
            "erimin",
            "clonopin",
            "nobrium",
            "roipnol",
            "diastat",
            "eurodin",
        )
    },
    **{t: ("xanax", "name") for t in ("chlordiazepoxide", "clorazepate", "clobazam")},
    **{
        t: ("painkiller", "name")
        for t in (
            "acetyldihydrocodeine",
            "dihydrocodeine",
            "ethylmorphine",
            "nicomorphine",
            "dextromoramide",
            "dipipanone",
            "piritramide",
            "tilidine",
            "ketobemidone",
            "propoxyphene",
            "phenazocine",
            "levorphanol",
            "racemorphan",
            "pethidine",
            "normeperidine",
            "alphaprodine",
            "anileridine",
            "bezitramide",
            "drotebanol",
            "isomethadone",
            "normethadone",
            "phenoperidine",
            "propiram",
            "trimeperidine",
            "thebacon",
            "acetylmethadol",
            "dihydroetorphine",
            "dihydromorphinone",
            "dihydrocodeinone",
        )
    },
    **{
        t: ("painkiller", "brand")
        for t in (
            "sublimaze",
            "darvon",
            "darvocet",
            "propacet",
            "stadol",
            "talwin",
            "talacen",
            "numorphan",
            "temgesic",
            "oramorph",
            "ultiva",
            "sufenta",
            "alfenta",
            "palfium",
            "diconal",
            "valoron",
        )
    },
    **{
        t: (OTHER, "name")
        for t in (
            "diacetylmorphine",
            "diamorphine",
            "laudanum",
            "paregoric",
            "phentermine",
            "phenmetrazine",
            "phendimetrazine",
            "benzphetamine",
            "diethylpropion",
            "mazindol",
            "pemoline",
            "modafinil",
            "lisdexamfetamine",
            "fenethylline",
            "amfetyline",
            "mefenorex",
            "fenproporex",
            "fencamfamin",
            "pipradrol",
            "aminorex",
            "cathinone",
            "cathine",
            "pyrovalerone",
            "mdpv",
            "butylone",
            "ethylone",
            "pentylone",
            "eutylone",
            "naphyrone",
            "buphedrone",
            "ethcathinone",
            "naphthylpyrovalerone",
            "ephylone",
            "bzp",
            "thiopental",
            "thiamylal",
            "methohexital",
            "mephobarbital",
            "meprobamate",
            "ethchlorvynol",
            "glutethimide",
            "methyprylon",
            "mecloqualone",
            "zaleplon",
            "zolpidem",
            "zopiclone",
            "ketaset",
            "fospropofol",
            "dimethyltryptamine",
            "diethyltryptamine",
            "bufotenine",
            "ibogaine",
            "escaline",
            "mmda",
            "mdea",
            "doet",
            "phencyclidine",
            "rolicyclidine",
            "tenocyclidine",
            "xlr11",
            "apinaca",
            "akb48",
            "am2201",
            "methasterone",
            "prostanozol",
            "stanolone",
            "metribolone",
            "nabilone",
        )
    },
    **{
        t: (OTHER, "brand")
        for t in (
            "captagon",
            "preludin",
            "ionamin",
            "didrex",
            "tenuate",
            "provigil",
            "cylert",
            "amytal",
            "tuinal",
            "butisol",
            "luminal",
            "mebaral",
            "brevital",
            "miltown",
            "equanil",
            "placidyl",
            "doriden",
            "noludar",
            "mandrax",
            "quaalude",
            "ivadal",
            "stilnoct",
            "halotestin",
            "oxandrin",
            "cesamet",
            "syndros",
        )
    },
    "psilocyn": ("mushroom", "name"),
    "psilocin": ("mushroom", "name"),
    "lysergide": ("lsd", "name"),
    "tetrahydrocannabinols": ("marijuana", "name"),
}
#: Chemical-name stems that name a drug class among DOPE's Unknown rows.
UNKNOWN_SUFFIXES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?:azepam|azolam|zolam)$"), "xanax"),  # benzodiazepines
    (re.compile(r"fentan[iy]l$"), "painkiller"),  # fentanyl analogues
    (re.compile(r"(?:barbital|barbitone)$"), OTHER),  # barbiturates
)

#: Generic and chemical names among DOPE's non-Unknown rows (kind ``name``).
GENERIC_NAMES: frozenset[str] = frozenset(
    {
        "codeine",
        "hydrocodone",
        "oxycodone",
        "fentanyl",
        "hydromorphone",
        "morphine",
        "methadone",
        "meperidine",
        "butorphanol",
        "levorphanol",
        "pentazocine",
        "tramadol",
        "oxymorphone",
        "opium",
        "buprenorphine",
        "dextromethorphan",
        "dxm",
        "ghb",
        "gbl",
        "ketamine",
        "mescaline",
        "psilocybin",
        "dmt",
        "amt",
        "det",
        "bdmpea",
        "methcathinone",
        "ephedrone",
        "cathinone",
        "methylphenidate",
        "methaqualone",
        "amyl nitrite",
        "nitrous oxide",
        "salvia divinorum",
        "methyltestosterone",
        "bolasterone",
        "alpha-et",
        "lactone",
        "phencyclidine",
        "lsd",
        "mdma",
        "cocaine",
        "heroin",
        "marijuana",
        "methamphetamine",
        "amphetamine",
        "psilocybin mushrooms",
    }
)
#: DOPE categories whose non-generic names are pharmaceutical brands (kind ``brand``).
BRAND_CATEGORIES: frozenset[tuple[str, str]] = frozenset(
    {
        ("narcotic (opioid)", "codeine combinations, non-injectable"),
        ("narcotic (opioid)", "morphine-opium, injectable"),
        ("narcotic (opioid)", "morphine-opium, non-injectable"),
        ("narcotic (opioid)", "synthetic narcotic, injectable"),
        ("narcotic (opioid)", "synthetic narcotic, non-injectable"),
        ("depressant", "benzodiazepine"),
        ("depressant", "barbiturate"),
        ("treatment drug", "treatment drug"),
    }
)
#: Steroid slang among the steroid brands (everything else there is a brand or generic).
STEROID_STREET: frozenset[str] = frozenset(
    {
        "arnolds",
        "gym candy",
        "juice",
        "pumpers",
        "roid rage",
        "stackers",
        "stacking",
        "weight trainers",
    }
)

_PAREN = re.compile(r"\([^)]*\)")
_NON_WORD = re.compile(r"[^a-z0-9]+")


def match_key(term: str) -> str:
    """The form the matcher indexes a term by: every run of characters that is
    not ``a-z0-9`` read as one space."""
    return " ".join(_NON_WORD.sub(" ", term).split())


def compact_key(term: str) -> str:
    """``match_key`` without spaces: spellings that the text layer reads as one."""
    return match_key(term).replace(" ", "")


def clean_synonyms(raw: str) -> list[str]:
    """DOPE's synonym cell -> the names it holds, before normalization.

    Drops notes in parentheses ("birria (mixed with heroin)"), quotes and curly
    apostrophes; a cell of several names joined by "/" ("finajet/finaject")
    gives each name of at least 4 characters.
    """
    text = _PAREN.sub(" ", raw).replace("’", "'").replace('"', " ")
    text = " ".join(text.split()).strip(" -")
    if "/" in text:
        parts = [p.strip() for p in text.split("/")]
        if all(len(p) >= 4 for p in parts):
            return parts
        return []
    return [text] if text else []


@dataclass(frozen=True)
class Row:
    cls: str
    category: str
    synonym: str


@dataclass
class Candidate:
    term: str
    labels: set[str]
    kinds: Counter[str]
    notes: list[str]


def read_rows(path: Path) -> list[Row]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = {"class", "category", "synonym"} - set(reader.fieldnames or ())
        if missing:
            raise SystemExit(f"{path}: expected columns class, category, synonym; missing {missing}")
        return [Row(r["class"].strip(), r["category"].strip(), r["synonym"]) for r in reader]


def label_and_kind(row: Row, name: str) -> tuple[str | None, str, str]:
    """(label or None, kind, reason) of one name of a DOPE row."""
    key = (row.cls, row.category)
    if key == ("Unknown", "Unknown"):
        if name in UNKNOWN_TERMS:
            label, kind = UNKNOWN_TERMS[name]
            return label, kind, "unknown-kept"
        for pattern, label in UNKNOWN_SUFFIXES:
            if pattern.search(name):
                return label, "name", "unknown-suffix"
        return None, "", "unknown-dropped"
    if name in TERM_LABELS:
        label = TERM_LABELS[name]
        if label is None:
            return None, "", "term-dropped"
    elif key in DROPPED_CATEGORIES:
        return None, "", "category-dropped"
    elif key in CATEGORY_LABELS:
        label = CATEGORY_LABELS[key]
    else:
        raise SystemExit(f"DOPE category {key} has no mapping: add it to CATEGORY_LABELS or DROPPED_CATEGORIES")
    if name in GENERIC_NAMES or name == row.category:
        kind = "name"
    elif key in BRAND_CATEGORIES:
        kind = "brand"
    elif key == ("steroid", "steroid"):
        kind = "street" if name in STEROID_STREET else "brand"
    else:
        kind = "street"
    return label, kind, "mapped"


def word_zipf(term: str) -> float:
    """How common ``term`` is as an ordinary word (see rule 5 of the module doc)."""
    from wordfreq import zipf_frequency

    return max(zipf_frequency(term, lang) for lang in ZIPF_LANGUAGES)


def build(source: Path) -> tuple[list[tuple[str, str, str, str, str]], Counter[str], dict]:
    """The rows of ``dope.tsv`` (sorted), the counts of every rule, and examples."""
    import drugwatch.lexicon as lexicon_module
    from drugwatch.lexicon import inside_common_word, splits_into_common_words

    hand = lexicon_module.load_lexicon(HAND_FILES)
    # normalize() reads the packaged lexicon (it joins split drug words, "whiffle dust" ->
    # "whiffledust"); let it read only the hand-written files, so that the output does not
    # depend on the dope.tsv being replaced.
    lexicon_module.load_lexicon = lambda files=None: hand
    from drugwatch.text.normalize import normalize

    hand_keys = {compact_key(t) for t in hand.vocabulary()}
    # unambiguous drug words of the hand lexicon, for phrases that hold one
    drug_words = {
        e.term
        for e in hand
        if e.label is not None and not e.ambiguous and " " not in e.term and e.kind in ("name", "brand", "street")
    }

    counts: Counter[str] = Counter()
    examples: dict[str, list[str]] = defaultdict(list)
    candidates: dict[str, Candidate] = {}
    rows = read_rows(source)
    counts["rows in DOPE"] = len(rows)
    for row in rows:
        for raw in clean_synonyms(row.synonym.lower()) or [""]:
            if not raw:
                counts["rows dropped: empty or unsplittable cell"] += 1
                continue
            term = normalize(raw).text
            label, kind, reason = label_and_kind(row, raw.strip())
            if label is None:
                counts[f"rows dropped: {reason}"] += 1
                examples[reason].append(raw)
                continue
            cand = candidates.setdefault(term, Candidate(term, set(), Counter(), []))
            cand.labels.add(label)
            cand.kinds[kind] += 1
            cand.notes.append(f"{row.cls}/{row.category}")

    # Spellings that differ only in spaces and punctuation ("whiffle dust", "whiffledust") are
    # one term to the text layer: normalize() joins the pieces of the unambiguous one.
    labels_by_key: dict[str, set[str]] = defaultdict(set)
    spellings: Counter[str] = Counter()
    for term, cand in candidates.items():
        labels_by_key[compact_key(term)] |= cand.labels
        spellings[compact_key(term)] += 1
    counts["distinct terms"] = len(candidates)
    out: list[tuple[str, str, str, str, str]] = []
    for term, cand in sorted(candidates.items()):
        key = match_key(term)
        compact = compact_key(term)
        if compact in hand_keys:
            counts["terms skipped: already in the hand-written lexicon"] += 1
            continue
        if len(labels_by_key[compact]) > 1:
            counts["terms dropped: DOPE files it under several labels"] += 1
            examples["several labels"].append(f"{term} {sorted(labels_by_key[compact])}")
            continue
        if spellings[compact] > 1 and " " not in key:
            # keep the spaced spelling: the matcher reads it, and normalize() leaves it alone
            counts["terms dropped: another spelling kept"] += 1
            continue
        if len(compact) < MIN_CHARS:
            counts["terms dropped: fewer than 3 letters or digits"] += 1
            examples["short"].append(term)
            continue
        zipf = word_zipf(key)
        kind = min(cand.kinds, key=("name", "brand", "street").index)
        holds_drug_word = " " in key and any(w in drug_words for w in key.split())
        if holds_drug_word:
            drop, ambiguous = False, zipf >= PHRASE_AMBIGUOUS_ZIPF
        elif kind == "street":
            drop, ambiguous = zipf >= STREET_DROP_ZIPF, False
        else:
            drop, ambiguous = zipf >= NAME_DROP_ZIPF, zipf >= NAME_AMBIGUOUS_ZIPF
        if drop:
            counts[f"terms dropped: common word ({kind})"] += 1
            examples[f"common {kind}"].append(f"{term} {zipf:.1f}")
            continue
        if not ambiguous and len(compact) >= 4 and inside_common_word(compact):
            ambiguous = True
            counts["terms ambiguous: inside a common word"] += 1
            examples["inside a common word"].append(term)
        elif not ambiguous and splits_into_common_words(compact):
            ambiguous = True
            counts["terms ambiguous: splits into common words"] += 1
            examples["splits into common words"].append(term)
        counts["terms kept: ambiguous" if ambiguous else "terms kept: unambiguous"] += 1
        label = next(iter(cand.labels))
        note = "dope:" + ";".join(sorted(set(cand.notes)))
        out.append((term, label, kind, "yes" if ambiguous else "no", note))
    out.sort(key=lambda r: (r[1], r[0]))
    return out, counts, examples


HEADER = """\
# drugwatch lexicon: names derived from DOPE (Drug Ontology Parsing Engine, CTN-0094/DOPE,
# MIT licence, Copyright (c) 2020 Layla Bouzoubaa; see LICENSE-DOPE.txt), lookup_df table.
# Source: dope. GENERATED by scripts/build_lexicon_dope.py from
# ../shared/lexicon-sources/dope/lookup_df.csv: do not edit by hand; change the script's tables
# and regenerate. `note` keeps DOPE's class/category. Names the hand-written files already hold,
# that DOPE gives several labels, shorter than 3 characters, or common words are left out; names
# that collide with ordinary English (docs/lexicon.md) are `ambiguous yes`.
term\tlabel\tkind\tambiguous\tnote
"""


def render(rows: list[tuple[str, str, str, str, str]]) -> str:
    return HEADER + "".join("\t".join(r) + "\n" for r in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check", action="store_true", help="compare with the committed file instead of writing it")
    parser.add_argument("--examples", type=int, default=0, help="print N examples of each rule")
    args = parser.parse_args(argv)
    try:
        import wordfreq
    except ImportError:
        print(f"this script needs wordfreq: pip install wordfreq=={WORDFREQ_VERSION}", file=sys.stderr)
        return 2
    if getattr(wordfreq, "__version__", WORDFREQ_VERSION) != WORDFREQ_VERSION:
        print(
            f"warning: wordfreq {wordfreq.__version__} differs from {WORDFREQ_VERSION}, "
            "frequencies and so the ambiguous flags may change",
            file=sys.stderr,
        )
    if not args.source.is_file():
        print(f"DOPE table not found: {args.source}; pass --source", file=sys.stderr)
        return 2

    rows, counts, examples = build(args.source)
    n_terms = counts.pop("distinct terms")
    print(f"distinct terms mapped to one or more labels: {n_terms}")
    for name, n in sorted(counts.items()):
        print(f"{name:52s} {n:6d}")
    by_label = Counter(r[1] for r in rows)
    print("kept per label:", ", ".join(f"{k} {v}" for k, v in sorted(by_label.items())))
    for reason, items in sorted(examples.items()):
        if args.examples:
            print(f"e.g. {reason}: {'; '.join(items[: args.examples])}")
    text = render(rows)
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.is_file() else ""
        if current != text:
            print(f"{args.out} is out of date: rerun without --check", file=sys.stderr)
            return 1
        print(f"{args.out} is up to date ({len(rows)} entries)")
        return 0
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {len(rows)} entries to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

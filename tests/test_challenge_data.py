"""The held-out challenge suites in ``benchmarks/data/`` are well formed and cover what they claim.

They are test data only (see ``benchmarks/data/README.md``): these checks keep
the files loadable by ``benchmarks/bench_challenge.py``, keep the balance of
languages and classes the README states, and make sure no case leaks in from
the bench kit's training texts.
"""

from __future__ import annotations

import json
import os
import re
import unicodedata
from collections import Counter
from pathlib import Path

import pytest

from drugwatch.labels import DRUG_LABELS, LABELS

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / "data"
SELLING = DATA / "selling_challenge.jsonl"
MULTIDRUG = DATA / "multidrug_adverts.jsonl"
BENCH = Path(os.environ.get("DRUGWATCH_BENCH") or ROOT.parent / "shared" / "bench")

REGISTERS = {"instagram_caption", "instagram_comment", "telegram_post", "pharmacy_spam", "sms", "forum_post"}
KINDS = {
    "dealer_post",
    "drug_news",
    "recovery",
    "harm_reduction",
    "meme",
    "legal_dispensary",
    "other_illicit_advert",
    "buy_request",
    "unrelated",
}
STYLES = {"menu", "price_list", "hashtag_wall", "obfuscated", "emoji"}
LANGUAGE_CODE = re.compile(r"^[a-z]{2}$")


def _records(path: Path) -> list[dict]:
    records = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            assert line.strip(), f"{path.name}, line {number}: empty line"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:  # pragma: no cover - the message is the point
                pytest.fail(f"{path.name}, line {number}: invalid JSON ({exc.msg})")
            assert isinstance(record, dict), f"{path.name}, line {number}: not an object"
            records.append(record)
    return records


def _norm(text: str) -> str:
    """The comparison key for duplicates: NFKC, case-folded, whitespace collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


@pytest.fixture(scope="module")
def selling() -> list[dict]:
    return _records(SELLING)


@pytest.fixture(scope="module")
def multidrug() -> list[dict]:
    return _records(MULTIDRUG)


def test_selling_records_have_the_documented_fields(selling: list[dict]) -> None:
    required = {"id", "text", "selling", "register", "language", "kind"}
    for record in selling:
        assert required <= set(record), f"{record.get('id')}: missing {sorted(required - set(record))}"
        assert set(record) <= required | {"note"}, f"{record['id']}: unknown fields {sorted(set(record) - required)}"
        assert isinstance(record["id"], str) and record["id"].startswith("sc-"), record["id"]
        assert isinstance(record["text"], str) and record["text"].strip(), record["id"]
        assert record["selling"] in (0, 1) and not isinstance(record["selling"], bool), record["id"]
        assert record["register"] in REGISTERS, f"{record['id']}: register {record['register']!r}"
        assert record["kind"] in KINDS, f"{record['id']}: kind {record['kind']!r}"
        assert LANGUAGE_CODE.match(record["language"]), f"{record['id']}: language {record['language']!r}"
        assert record["id"].startswith(f"sc-{record['language']}-"), f"{record['id']}: id names another language"
        # Dealer posts and only dealer posts are positives: the kind is how errors get explained.
        assert (record["kind"] == "dealer_post") == (record["selling"] == 1), record["id"]
        if "note" in record:
            assert isinstance(record["note"], str) and record["note"].strip(), record["id"]


def test_selling_suite_size_balance_and_languages(selling: list[dict]) -> None:
    assert len(selling) >= 300
    positives = sum(r["selling"] for r in selling)
    assert 0.35 <= positives / len(selling) <= 0.55, f"{positives} of {len(selling)} are dealer posts"
    by_language = Counter(r["language"] for r in selling)
    assert 0.3 <= by_language["en"] / len(selling) <= 0.5, by_language
    others = {lang: n for lang, n in by_language.items() if lang != "en" and n >= 20}
    assert len(others) >= 7, f"only {sorted(others)} have at least 20 cases"
    for lang in others:
        classes = Counter(r["selling"] for r in selling if r["language"] == lang)
        assert classes[0] and classes[1], f"{lang}: needs dealer posts and negatives, has {dict(classes)}"
    assert set(r["register"] for r in selling) == REGISTERS
    # Every kind of hard negative the README promises is there.
    assert set(r["kind"] for r in selling) == KINDS


def test_multidrug_records_have_the_documented_fields(multidrug: list[dict]) -> None:
    required = {"id", "text", "labels", "language", "style"}
    for record in multidrug:
        assert required <= set(record), f"{record.get('id')}: missing {sorted(required - set(record))}"
        assert set(record) <= required | {"note"}, f"{record['id']}: unknown fields {sorted(set(record) - required)}"
        assert isinstance(record["id"], str) and record["id"].startswith("md-"), record["id"]
        assert isinstance(record["text"], str) and record["text"].strip(), record["id"]
        labels = record["labels"]
        assert isinstance(labels, list) and labels, f"{record['id']}: labels must be a non-empty list"
        unknown = [label for label in labels if label not in DRUG_LABELS]
        assert not unknown, f"{record['id']}: {unknown} not among the drug labels (non_drug is not allowed)"
        assert len(set(labels)) == len(labels), f"{record['id']}: repeated label"
        assert labels == sorted(labels, key=LABELS.index), f"{record['id']}: labels not in LABELS order"
        assert record["style"] in STYLES, f"{record['id']}: style {record['style']!r}"
        assert LANGUAGE_CODE.match(record["language"]), f"{record['id']}: language {record['language']!r}"


def test_multidrug_suite_size_and_spread(multidrug: list[dict]) -> None:
    assert len(multidrug) >= 100
    sizes = Counter(len(r["labels"]) for r in multidrug)
    assert sum(n for k, n in sizes.items() if 2 <= k <= 8) / len(multidrug) >= 0.8, sizes
    assert set(r["style"] for r in multidrug) == STYLES
    # Every drug label is exercised, so per-label recall is defined for each.
    assert set(label for r in multidrug for label in r["labels"]) == set(DRUG_LABELS)
    assert sum(r["language"] != "en" for r in multidrug) >= 20


@pytest.mark.parametrize("path", [SELLING, MULTIDRUG], ids=lambda p: p.name)
def test_ids_and_texts_are_unique(path: Path) -> None:
    records = _records(path)
    ids = Counter(r["id"] for r in records)
    assert not [i for i, n in ids.items() if n > 1], "repeated ids"
    texts = Counter(_norm(r["text"]) for r in records)
    repeated = [t for t, n in texts.items() if n > 1]
    assert not repeated, f"texts written twice: {repeated[:3]}"


def test_no_fake_contact_is_a_real_looking_phone_number(selling: list[dict], multidrug: list[dict]) -> None:
    # The suites promise no real personal data: phone numbers only from the fictional 555-01xx range.
    # A run of 7+ digits (spaces, dots, dashes and brackets between them) reads as a phone number.
    phone = re.compile(r"\+?\d[\d\s().-]{5,}\d")
    found = 0
    for record in [*selling, *multidrug]:
        for match in phone.findall(record["text"]):
            digits = re.sub(r"\D", "", match)
            if len(digits) < 7:
                continue
            found += 1
            assert "55501" in digits, f"{record['id']}: {match!r} is not a 555-01xx number"
    assert found, "the suites have dealer posts with phone contacts; the pattern found none"


def test_suites_share_no_text_with_the_bench_kit(selling: list[dict], multidrug: list[dict]) -> None:
    kit = BENCH / "dev" / "selling.jsonl"
    if not kit.is_file():
        pytest.skip(f"bench kit not found at {kit}")
    ours = {_norm(r["text"]): r["id"] for r in [*selling, *multidrug]}
    shared = []
    with open(kit, encoding="utf-8") as handle:
        for line in handle:
            text = _norm(json.loads(line).get("text") or "")
            if text in ours:
                shared.append(ours[text])
    assert not shared, f"suite texts also in the kit's training data: {shared[:5]}"

"""Account-level features of a dealer model: Yang & Luo's set and ours.

Input: an :class:`~drugwatch.records.Account` with its timeline, the
probability that each timeline event is drug-related (from any event
detector, in timeline order), and optionally the comments *other* users left
under the account's posts (``comments_on``: post key -> events).

Yang & Luo (2017) features (:data:`YANG_LUO_FEATURES`):

``P``
    Share of the account's posts that are drug-related (probability at or
    above ``threshold``). Comments are not posts: they count in our
    ``comment_drug_share`` instead. An account with no posts uses all its
    events.
``H1``..``H4``
    Drug-related posts per hour-of-day bin, divided by the number of posts
    (so ``H1 + H2 + H3 + H4 == P``). Bins of *local* time:
    H1 = 00:00-05:59 (midnight and late night), H2 = 06:00-11:59,
    H3 = 12:00-17:59, H4 = 18:00-23:59 (evening to midnight).
    Time zone: event times are UTC; with ``timezone="account"`` the account's
    ``meta["utc_offset_hours"]`` (set by an analyst from the profile, or by
    the demo generator) shifts them to local time, and accounts without it
    stay in UTC; ``timezone="utc"`` never shifts. Posts without a time count
    in the denominator only.
``R1``, ``R2``, ``R3``
    ``log1p`` of followers, of following, and of following / max(followers, 1).
    Counts are heavy-tailed; the log keeps one huge account from dominating
    the standardized scale. Unknown counts are ``NaN`` (imputed by the model
    with the training median).
``E``
    Evidence of transaction: 1 when a transaction term of the lexicon
    (kind ``transaction``: prices, payment apps, messengers, units) occurs in
    the bio or in a comment under one of the account's drug-related posts.

Ours (:data:`OUR_FEATURES` adds to the above):

``contact_share``      share of the account's events whose text shows a contact (not shipping), or
                       that carry one beside the text (a Telegram contact card or channel handle,
                       :func:`~drugwatch.accounts.linking.platform_contacts`)
``bio_contact``        1 when the bio shows a contact
``distinct_drugs``     distinct drug labels the text layer finds in the drug-related events
``contact_reuse``      share of events with a contact that repeat a contact value of another event
``repeated_adverts``   share of drug-related events that are near-duplicates (MinHash, 0.7) of another
``regularity``         coefficient of variation of the gaps between consecutive posts (low: a schedule)
``comment_drug_share`` share of the account's comments that are drug-related (piggybacked adverts)
``sale_term_share``    share of events with a transaction or selling term
``mean_drug_proba``    mean event probability over the account's events
``E_count``            ``log1p`` of the number of transaction terms behind ``E``
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from typing import Any, Literal

import numpy as np

from drugwatch.records import Account, Event

YANG_LUO_FEATURES: tuple[str, ...] = ("P", "H1", "H2", "H3", "H4", "R1", "R2", "R3", "E")
OUR_EXTRA_FEATURES: tuple[str, ...] = (
    "contact_share",
    "bio_contact",
    "distinct_drugs",
    "contact_reuse",
    "repeated_adverts",
    "regularity",
    "comment_drug_share",
    "sale_term_share",
    "mean_drug_proba",
    "E_count",
)
OUR_FEATURES: tuple[str, ...] = YANG_LUO_FEATURES + OUR_EXTRA_FEATURES
FEATURE_SETS: dict[str, tuple[str, ...]] = {"yang_luo": YANG_LUO_FEATURES, "ours": OUR_FEATURES}

#: Local hour bins ``[start, end)`` of H1..H4.
HOUR_BINS: tuple[tuple[int, int], ...] = ((0, 6), (6, 12), (12, 18), (18, 24))

Timezone = Literal["account", "utc"]


@lru_cache(maxsize=1)
def _transaction_pattern() -> re.Pattern[str]:
    """Whole-word alternation of the lexicon's transaction terms (longest first).

    The lexicon matcher only accepts ambiguous transaction words ("order",
    "cash app") next to a drug term; Yang & Luo's blacklist test looks for the
    words anywhere in the bio or the comments, so it has its own matcher.
    """
    from drugwatch.lexicon import load_lexicon

    terms = sorted({e.term for e in load_lexicon().entries if e.kind == "transaction"}, key=len, reverse=True)
    body = "|".join(re.escape(t) for t in terms)
    return re.compile(rf"(?<![\w])(?:{body})(?![\w])")


def transaction_terms(text: str) -> list[str]:
    """Transaction terms of the lexicon in ``text`` (normalized first), in order."""
    if not text:
        return []
    from drugwatch.text.normalize import normalize

    return _transaction_pattern().findall(normalize(text).text)


def local_hour(event: Event, offset_hours: float) -> int | None:
    if event.created_at is None:
        return None
    return (event.created_at + timedelta(hours=offset_hours)).hour


def hour_bin(hour: int) -> int:
    """0..3: the index of the bin of ``hour`` in :data:`HOUR_BINS`."""
    for index, (start, end) in enumerate(HOUR_BINS):
        if start <= hour < end:
            return index
    raise ValueError(f"hour must be in 0..23, got {hour}")


def utc_offset(account: Account, timezone: Timezone = "account") -> tuple[float, str]:
    """(offset in hours, where it came from: ``account`` or ``utc``)."""
    if timezone == "account":
        value = account.meta.get("utc_offset_hours")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and -14 <= value <= 14:
            return float(value), "account"
    return 0.0, "utc"


@dataclass(frozen=True)
class AccountFeatures:
    """One account's feature values plus the evidence behind them."""

    key: str
    values: dict[str, float]
    evidence: dict[str, Any] = field(default_factory=dict)

    def vector(self, names: Sequence[str]) -> np.ndarray:
        return np.array([self.values[n] for n in names], dtype=np.float64)


def _log1p(value: int | None) -> float:
    return math.log1p(value) if value is not None else float("nan")


def account_features(
    account: Account,
    drug_proba: Sequence[float] | np.ndarray,
    *,
    comments_on: Mapping[str, Sequence[Event]] | None = None,
    threshold: float = 0.5,
    timezone: Timezone = "account",
) -> AccountFeatures:
    """Every feature of :data:`OUR_FEATURES` for ``account`` (see the module docstring).

    ``drug_proba[i]`` is the probability that ``account.timeline[i]`` is
    drug-related. ``comments_on`` maps a post key (``platform:id``) to the
    comments other users wrote under it.
    """
    from drugwatch.accounts.linking import platform_contacts
    from drugwatch.dedup import cluster_texts
    from drugwatch.text.analyze import analyze

    events = list(account.timeline)
    proba = np.asarray(drug_proba, dtype=np.float64).reshape(-1)
    if proba.shape[0] != len(events):
        raise ValueError(
            f"drug_proba has {proba.shape[0]} values but {account.key} has {len(events)} timeline events; "
            "give one probability per timeline event, in timeline order"
        )
    drug = proba >= threshold
    is_post = np.array([e.kind == "post" for e in events], dtype=bool)
    post_idx = np.flatnonzero(is_post) if is_post.any() else np.arange(len(events))
    n_posts = len(post_idx)
    offset, tz_source = utc_offset(account, timezone)

    values: dict[str, float] = {}
    values["P"] = float(drug[post_idx].mean()) if n_posts else 0.0
    bins = np.zeros(len(HOUR_BINS))
    for i in post_idx:
        if drug[i]:
            hour = local_hour(events[i], offset)
            if hour is not None:
                bins[hour_bin(hour)] += 1
    for k in range(len(HOUR_BINS)):
        values[f"H{k + 1}"] = float(bins[k] / n_posts) if n_posts else 0.0
    values["R1"] = _log1p(account.followers)
    values["R2"] = _log1p(account.following)
    ratio = account.following_ratio
    values["R3"] = math.log1p(ratio) if ratio is not None else float("nan")

    # E: transaction terms in the bio and under the drug-related posts.
    drug_post_keys = {events[i].key for i in post_idx if drug[i] and events[i].kind == "post"}
    e_terms: list[dict[str, str]] = [{"where": "bio", "term": t} for t in transaction_terms(account.bio)]
    under: list[Event] = [e for e in events if e.kind == "comment" and e.post_key in drug_post_keys]
    for key in sorted(drug_post_keys):
        # The account's own replies are already in its timeline.
        under.extend(c for c in (comments_on or {}).get(key, ()) if c.author != account.username)
    for comment in under:
        e_terms += [{"where": comment.key, "term": t} for t in transaction_terms(comment.text)]
    values["E"] = 1.0 if e_terms else 0.0
    values["E_count"] = math.log1p(len(e_terms))

    # Ours.
    views = [analyze(e.text) for e in events]
    bio_view = analyze(account.bio)
    # Contacts a platform keeps beside the text (a Telegram contact card, a
    # channel's order handle) count like those in the text.
    extra: list[set[tuple[str, str]]] = [
        {(kind, value) for kind, _, value in (contact.partition(":") for contact in platform_contacts(e))}
        for e in events
    ]
    contact_values: list[set[tuple[str, str]]] = [
        {(str(c.kind), c.value) for c in v.contacts if c.kind not in ("shipping", "app_mention")} | more
        for v, more in zip(views, extra)
    ]
    with_contact = np.array([v.has_contact or bool(more) for v, more in zip(views, extra)], dtype=bool)
    n = len(events)
    values["contact_share"] = float(with_contact.mean()) if n else 0.0
    values["bio_contact"] = 1.0 if bio_view.has_contact else 0.0
    drugs_named = sorted({lab for v, d in zip(views, drug) if d for lab in v.labels})
    values["distinct_drugs"] = float(len(drugs_named))
    seen = Counter(value for vals in contact_values for value in vals)
    reused = sum(1 for vals in contact_values if vals and any(seen[v] >= 2 for v in vals))
    n_with_values = sum(1 for vals in contact_values if vals)
    values["contact_reuse"] = reused / n_with_values if n_with_values else 0.0
    drug_idx = np.flatnonzero(drug)
    if len(drug_idx) >= 2:
        ids = cluster_texts([events[i].text for i in drug_idx])
        sizes = Counter(ids)
        repeated = sum(1 for c in ids if sizes[c] >= 2)
        values["repeated_adverts"] = repeated / len(drug_idx)
    else:
        values["repeated_adverts"] = 0.0
    times = sorted(t for t in (events[i].created_at for i in post_idx) if t is not None)
    gaps = np.diff([t.timestamp() / 3600.0 for t in times]) if len(times) >= 3 else np.zeros(0)
    values["regularity"] = float(gaps.std() / gaps.mean()) if len(gaps) and gaps.mean() > 0 else float("nan")
    comment_idx = np.flatnonzero(~is_post)
    values["comment_drug_share"] = float(drug[comment_idx].mean()) if len(comment_idx) else 0.0
    sale = [bool(v.sale_hits) or bool(transaction_terms(e.text)) for v, e in zip(views, events)]
    values["sale_term_share"] = float(np.mean(sale)) if n else 0.0
    values["mean_drug_proba"] = float(proba.mean()) if n else 0.0

    top = np.argsort(-proba, kind="stable")[:5]
    evidence = {
        "n_events": n,
        "n_posts": int(n_posts),
        "n_drug_events": int(drug.sum()),
        "timezone": tz_source,
        "utc_offset_hours": offset,
        "drug_events": [{"key": events[i].key, "proba": round(float(proba[i]), 4)} for i in top if drug[i]],
        "transaction_terms": e_terms[:20],
        "contacts": sorted({f"{k}:{v}" for vals in contact_values for k, v in vals})[:20],
        "bio_contacts": sorted({f"{c.kind}:{c.value}" for c in bio_view.contacts if c.kind != "shipping"}),
        "drugs": drugs_named,
    }
    return AccountFeatures(key=account.key, values=values, evidence=evidence)


def feature_matrix(features: Sequence[AccountFeatures], names: Sequence[str]) -> np.ndarray:
    """``(n_accounts, len(names))`` in ``names`` order."""
    if not features:
        return np.zeros((0, len(names)))
    return np.vstack([f.vector(names) for f in features])


__all__ = [
    "FEATURE_SETS",
    "HOUR_BINS",
    "OUR_EXTRA_FEATURES",
    "OUR_FEATURES",
    "YANG_LUO_FEATURES",
    "AccountFeatures",
    "account_features",
    "feature_matrix",
    "hour_bin",
    "transaction_terms",
    "utc_offset",
]

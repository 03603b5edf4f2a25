"""The report's numbers, computed from scan results in two streaming passes.

Pass 1 counts (memory: one small record per account, per thread and per
drug-hashtag pair); pass 2 keeps the events of the accounts the detectors
flagged, for the evidence and the contact-linked networks.

Definitions (the report states them too):

* a **dealer event** is an event the selling detector marks (``selling``),
  JMIR's "offer to sell": a drug and a way to buy it;
* an event's **drugs** are the drug-type detector's labels without
  ``non_drug``; without a drug-type model, the lexicon's labels;
  a **drug event** has at least one;
* a **thread** is a post and every comment under it (``post_id``); it has an
  offer to sell when any of its events is a dealer event, an offer to buy when
  any text asks to buy (:func:`drugwatch.scoring.buy_intent`);
* a **dealer account** is, given account scores (``account_scores``: the
  dealer-account model ``drugwatch.accounts.v1``, see
  :mod:`drugwatch.report.account_scores`), an account the model flags; the
  Yang & Luo tables group accounts by that flag, show the model's mean
  probability, and the top accounts are the flagged ones ranked by it.
  Without scores it is an account with at least one dealer event, and the top
  accounts are ranked by dealer events. Either way the account's annotated
  ``dealer`` flag is shown beside it when known. Accounts with events but no
  score count as not flagged (the report says how many);
* **evidence of transaction**: a dealer event that shows a payment method, a
  crypto address, or a sale/transaction/shipping term of the lexicon;
* hours are UTC hours of ``created_at``;
* **image evidence** (results with ``vision``, i.e. a scan with a model that
  reads images, see :mod:`drugwatch.vision.image_scoring`): the image model's
  largest per-image probability, the text decision beside it, and the fused
  decision. ``image-text-agreement`` counts how often the image side
  (probability at least 0.5) and the text side agree; ``image-evidence``
  lists the events with the highest image probability (at most
  ``image_evidence`` of them, kept in a bounded heap during pass 1);
  ``image-contacts`` counts contacts read in images (OCR, ``--ocr``) by kind.
"""

from __future__ import annotations

import heapq
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from drugwatch.labels import DRUG_LABELS, LABELS
from drugwatch.records import Account, Event
from drugwatch.scoring import EventResult

__all__ = ["Table", "ReportTables", "compute_tables", "event_drugs", "is_transaction", "spreadsheet_safe"]

#: Contact kinds counted as a messaging app.
APP_KINDS = ("app_handle", "app_mention")
TRANSACTION_CONTACTS = ("payment", "crypto_address")
TRANSACTION_TERMS = ("selling", "transaction", "shipping")
#: First characters that make a spreadsheet read a cell as a formula (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    """``text`` with a leading ``'`` when it starts like a formula, so that a
    spreadsheet shows it as text instead of running it (OWASP's rule for CSV
    injection: ``=cmd|' /c calc'!A0`` becomes ``'=cmd|' /c calc'!A0``).

    Usernames, hashtags, contacts and captions come from the people being
    studied, so any text cell may be hostile. Quoting the field (the ``csv``
    module does) does not help: a spreadsheet strips the quotes first.
    """
    return "'" + text if text.startswith(FORMULA_STARTS) else text


@dataclass
class Table:
    """A named table: an id (HTML ``id``, CSV file name), a caption, columns and rows."""

    id: str
    caption: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)


@dataclass
class AccountStats:
    events: int = 0
    drug_events: int = 0
    selling_events: int = 0
    max_selling: float = 0.0
    transaction: bool = False
    hours: Counter[int] = field(default_factory=Counter)
    drugs: Counter[str] = field(default_factory=Counter)
    contacts: set[str] = field(default_factory=set)
    platform: str = "instagram"


@dataclass
class ReportTables:
    """Every table of the report plus what the HTML needs for plots and evidence."""

    tables: dict[str, Table]
    n_events: int
    n_selling: int
    accounts: dict[str, AccountStats]
    account_records: dict[str, Account]
    dealers: list[str]
    top: list[str]
    evidence: dict[str, list[EventResult]]
    networks: list[Any]
    models: list[dict[str, Any]]
    hours: dict[str, list[int]]
    drug_source: str
    #: ``"account model"`` (dealer accounts = flagged by the scores) or ``"dealer events"`` (at least one).
    dealer_definition: str = "dealer events"
    #: username -> AccountScore, when scores were given.
    scores: dict[str, Any] = field(default_factory=dict)
    #: Accounts with at least one dealer event (the event-based definition, for comparison).
    event_dealers: list[str] = field(default_factory=list)
    #: Accounts with events in the results but no score (only with scores).
    unscored: list[str] = field(default_factory=list)
    #: The scoring model's name and thresholds (only with scores).
    account_model: dict[str, Any] = field(default_factory=dict)
    #: Events with the highest image probability, highest first (results with ``vision`` only).
    image_evidence: list[EventResult] = field(default_factory=list)
    #: Results that carry image evidence (``vision``).
    n_vision: int = 0
    #: Events in the selling model's "needs review" band (results with ``selling_review``).
    n_review: int = 0


#: Rows of the ``image-text-agreement`` table, in order.
AGREEMENT_ROWS = ("both", "image_only", "text_only", "neither", "no image score", "no text decision")


def event_drugs(result: EventResult) -> tuple[str, ...]:
    """The event's drugs: the drug-type labels without ``non_drug``, else the lexicon's labels."""
    if result.drug_labels is not None:
        return tuple(label for label in result.drug_labels if label in DRUG_LABELS)
    return tuple(result.lexicon_labels)


def is_transaction(result: EventResult) -> bool:
    """A dealer event with a payment, crypto address or sale/transaction/shipping term."""
    if not result.selling:
        return False
    return any(c.kind in TRANSACTION_CONTACTS for c in result.contacts) or any(
        h.label is None and h.kind in TRANSACTION_TERMS for h in result.lexicon_hits
    )


def _thread(result: EventResult) -> str:
    if result.kind == "post" or not result.post_id:
        return result.key if result.kind == "post" else f"{result.platform}:{result.parent_id}"
    return f"{result.platform}:{result.post_id}"


def display_name(account: Account | None) -> str | None:
    """The account's display name (``full_name``) when it says more than its username, else ``None``."""
    if account is None or not account.full_name or account.full_name == account.username:
        return None
    return account.full_name


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def compute_tables(
    results: Callable[[], Iterable[EventResult]],
    accounts: Iterable[Account] = (),
    *,
    top: int = 20,
    evidence_per_account: int = 20,
    hashtags_per_drug: int = 10,
    account_scores: Any = None,
    image_evidence: int = 12,
) -> ReportTables:
    """All tables from ``results()`` (called twice: the passes) and the account records.

    ``account_scores`` (a mapping username or key -> ``AccountScore``, an
    iterable of scores or a JSONL file of them) switches the dealer-account
    definition to the model's flag (see the module docstring).
    """
    account_records = {a.username: a for a in accounts}
    scores: dict[str, Any] = {}
    if account_scores is not None:
        from drugwatch.report.account_scores import scores_by_username

        scores = scores_by_username(account_scores)
    n_events = n_selling = 0
    drug_source = "lexicon"
    label_pred: Counter[str] = Counter()
    label_true: Counter[str] = Counter()
    n_annotated = 0
    selling_by_drug: Counter[str] = Counter()
    tag_by_drug: dict[str, Counter[str]] = defaultdict(Counter)
    tag_kind: dict[str, str] = {}
    kind_occ: Counter[str] = Counter()
    contact_counts: Counter[str] = Counter()
    threads: dict[str, list[bool]] = {}
    stats: dict[str, AccountStats] = defaultdict(AccountStats)
    models: list[dict[str, Any]] = []
    agreement: Counter[str] = Counter()
    image_contacts: Counter[str] = Counter()
    n_vision = n_images_scored = n_ocr = 0
    n_review = 0
    by_language: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # language -> [dealer events, to review]
    best_images: list[tuple[float, int, EventResult]] = []  # min-heap of the highest image probabilities

    for r in results():
        n_events += 1
        if r.ocr_text:
            n_ocr += 1
        for c in r.contacts:
            if c.source == "image":
                image_contacts[c.kind] += 1
        v = r.vision
        if v is not None:
            n_vision += 1
            agreement[v.agreement or ("no image score" if v.image_probability is None else "no text decision")] += 1
            n_images_scored += sum(1 for score in v.images if score.probability is not None)
            if v.image_probability is not None and image_evidence > 0:
                entry = (v.image_probability, -n_events, r)  # earlier events win ties
                if len(best_images) < image_evidence:
                    heapq.heappush(best_images, entry)
                elif entry[:2] > best_images[0][:2]:
                    heapq.heapreplace(best_images, entry)
        if r.selling_review:
            n_review += 1
            by_language[r.language or "unknown"][1] += 1
        if not models and r.models:
            models = [m.dump() for m in r.models]
        if r.drug_labels is not None:
            drug_source = "drugtype model"
            for label in r.drug_labels:
                label_pred[label] += 1
        if r.annotated_labels is not None:
            n_annotated += 1
            for label in r.annotated_labels:
                label_true[label] += 1
        drugs = event_drugs(r)
        thread = threads.setdefault(_thread(r), [False, False])
        thread[0] |= bool(r.selling)
        thread[1] |= r.buy_intent
        if r.author is not None:
            s = stats[r.author]
            s.platform = r.platform
            s.events += 1
            if drugs:
                s.drug_events += 1
                s.drugs.update(drugs)
                if r.created_at is not None:
                    s.hours[r.created_at.hour] += 1
            if r.selling:
                s.selling_events += 1
                s.transaction |= is_transaction(r)
                for c in r.contacts:
                    if c.kind not in ("shipping", "app_mention"):
                        s.contacts.add(f"{c.kind}:{c.value}")
            if r.selling_probability is not None:
                s.max_selling = max(s.max_selling, r.selling_probability)
        if not r.selling:
            continue
        n_selling += 1
        by_language[r.language or "unknown"][0] += 1
        for drug in drugs:
            selling_by_drug[drug] += 1
        for hit in {t.tag: t for t in r.hashtags}.values():
            tag_kind[hit.tag] = hit.kind
            kind_occ[hit.kind] += 1
            for drug in drugs:
                tag_by_drug[drug][hit.tag] += 1
        kinds = {c.kind for c in r.contacts}
        apps = {c.app for c in r.contacts if c.kind in APP_KINDS and c.app}
        if apps or kinds & set(APP_KINDS):
            contact_counts["any messaging app"] += 1
        for app in apps:
            contact_counts[f"app: {app}"] += 1
        for kind in ("email", "phone", "payment", "crypto_address", "url"):
            if kind in kinds:
                contact_counts[kind] += 1
        if kinds - {"shipping"}:
            contact_counts["any contact"] += 1

    tables: dict[str, Table] = {}
    t = Table(
        "languages",
        f"Dealer events and events to review by language ({n_selling} dealer events, {n_review} to review; "
        "'unknown': too few letters to tell, or a scan run with --language none)",
        ["language", "dealer_events", "dealer_share", "to_review"],
    )
    for language, (dealer, review) in sorted(by_language.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0])):
        t.rows.append([language, dealer, _share(dealer, n_selling), review])
    tables[t.id] = t

    t = Table(
        "jmir-hashtags",
        "JMIR: hashtags of dealer events per drug (events carrying the tag; share of the drug's dealer events)",
        ["drug", "hashtag", "kind", "events", "share"],
    )
    for drug in DRUG_LABELS:
        if not selling_by_drug[drug]:
            continue
        ranked_tags = sorted(tag_by_drug[drug].items(), key=lambda kv: (-kv[1], kv[0]))[:hashtags_per_drug]
        for tag, count in ranked_tags:
            t.rows.append([drug, tag, tag_kind[tag], count, _share(count, selling_by_drug[drug])])
    tables[t.id] = t

    t = Table("jmir-drugs", "JMIR: dealer events per drug", ["drug", "dealer_events", "share"])
    for drug in DRUG_LABELS:
        if selling_by_drug[drug]:
            t.rows.append([drug, selling_by_drug[drug], _share(selling_by_drug[drug], n_selling)])
    tables[t.id] = t

    t = Table(
        "jmir-hashtag-kinds",
        "JMIR: hashtag kinds in dealer events (distinct tags; occurrences; share of occurrences)",
        ["kind", "distinct_hashtags", "occurrences", "share"],
    )
    total_occ = sum(kind_occ.values())
    distinct = Counter(tag_kind.values())
    for kind in ("drug_name", "codeword", "sale", "other"):
        t.rows.append([kind, distinct[kind], kind_occ[kind], _share(kind_occ[kind], total_occ)])
    tables[t.id] = t

    t = Table(
        "jmir-contacts",
        "JMIR: contact information in dealer events (events; share of dealer events)",
        ["contact", "events", "share"],
    )
    order = [
        "any contact",
        "any messaging app",
        *sorted(k for k in contact_counts if k.startswith("app: ")),
        "email",
        "phone",
        "payment",
        "crypto_address",
        "url",
    ]
    for name in order:
        t.rows.append([name, contact_counts[name], _share(contact_counts[name], n_selling)])
    tables[t.id] = t

    n_threads = len(threads)
    sell = sum(1 for s, _ in threads.values() if s)
    buy = sum(1 for _, b in threads.values() if b)
    both = sum(1 for s, b in threads.values() if s and b)
    t = Table(
        "jmir-threads",
        "JMIR: threads (a post and its comments) with an offer to sell and to buy",
        ["threads", "count", "share"],
    )
    for name, count in (
        ("all threads", n_threads),
        ("offer to sell", sell),
        ("offer to buy", buy),
        ("offer to sell and offer to buy", both),
    ):
        t.rows.append([name, count, _share(count, n_threads)])
    tables[t.id] = t

    t = Table(
        "dmml-labels",
        f"DMML: label distribution (predicted by the {drug_source}; annotated where the input had labels)",
        ["label", "predicted", "predicted_share", "annotated", "annotated_share"],
    )
    for label in LABELS:
        t.rows.append(
            [
                label,
                label_pred[label],
                _share(label_pred[label], n_events),
                label_true[label],
                _share(label_true[label], n_annotated),
            ]
        )
    tables[t.id] = t

    t = Table(
        "image-text-agreement",
        f"Images and text: does the image model (image probability ≥ 0.5) agree "
        f"with the text decision? ({n_vision} events with image evidence, {n_images_scored} images scored)",
        ["agreement", "events", "share"],
    )
    for name in AGREEMENT_ROWS:
        t.rows.append([name, agreement[name], _share(agreement[name], n_vision)])
    tables[t.id] = t

    ranked_images = [entry[2] for entry in sorted(best_images, key=lambda e: (-e[0], -e[1]))]
    t = Table(
        "image-evidence",
        "Events with the highest image probability (image model; text side; fused decision)",
        [
            "rank",
            "event",
            "images",
            "image_probability",
            "text_probability",
            "fused_probability",
            "fused",
            "fused_by",
            "agreement",
        ],
    )
    for rank, r in enumerate(ranked_images, 1):
        v = r.vision
        assert v is not None
        t.rows.append(
            [
                rank,
                r.id,
                len(v.images),
                round(v.image_probability or 0.0, 4),
                None if v.text_probability is None else round(v.text_probability, 4),
                None if v.fused_probability is None else round(v.fused_probability, 4),
                v.fused,
                v.fused_by,
                v.agreement,
            ]
        )
    tables[t.id] = t

    t = Table("image-contacts", f"Contacts read in images (OCR; {n_ocr} events with image text)", ["kind", "contacts"])
    for kind, count in sorted(image_contacts.items(), key=lambda kv: (-kv[1], kv[0])):
        t.rows.append([kind, count])
    tables[t.id] = t

    event_dealers = sorted(u for u, s in stats.items() if s.selling_events)
    unscored: list[str] = []
    model_info: dict[str, Any] = {}
    if account_scores is not None:
        dealer_definition = "account model"
        dealers = sorted(u for u in stats if u in scores and scores[u].dealer)
        unscored = sorted(u for u in stats if u not in scores)
        model_info = {
            "models": sorted({s.model for s in scores.values()}),
            "thresholds": sorted({float(s.threshold) for s in scores.values()}),
            "scored": len(scores),
            "flagged": sum(1 for s in scores.values() if s.dealer),
        }
    else:
        dealer_definition = "dealer events"
        dealers = event_dealers
    dealer_set = set(dealers)
    others = sorted(u for u in stats if u not in dealer_set)

    def ratio(username: str) -> float | None:
        account = account_records.get(username)
        return None if account is None else account.following_ratio

    def probability(username: str) -> float | None:
        score = scores.get(username)
        return None if score is None else float(score.probability)

    by = "flagged by the dealer-account model" if account_scores is not None else "with a dealer event"
    columns = [
        "group",
        "accounts",
        "mean_drug_share",
        "median_following_ratio",
        "transaction_evidence_share",
        "annotated_dealers",
    ]
    if account_scores is not None:
        columns.append("mean_dealer_probability")
    t = Table("yl-accounts", f"Yang & Luo: account figures, dealer accounts ({by}) vs others", columns)
    for name, group in (("dealer accounts", dealers), ("other accounts", others)):
        shares = [stats[u].drug_events / stats[u].events for u in group if stats[u].events]
        ratios = [r for r in (ratio(u) for u in group) if r is not None]
        known = sum(1 for u in group if account_records.get(u) is not None and account_records[u].dealer)
        row = [
            name,
            len(group),
            round(statistics.fmean(shares), 4) if shares else 0.0,
            round(statistics.median(ratios), 4) if ratios else None,
            _share(sum(1 for u in group if stats[u].transaction), len(group)),
            known,
        ]
        if account_scores is not None:
            probs = [p for p in (probability(u) for u in group) if p is not None]
            row.append(round(statistics.fmean(probs), 4) if probs else None)
        t.rows.append(row)
    tables[t.id] = t

    if account_scores is not None:
        t = Table(
            "dealer-definitions",
            "Dealer accounts: the dealer-account model's flag vs at least one dealer event (accounts with events)",
            ["definition", "accounts"],
        )
        selling = set(event_dealers)
        t.rows.append(["flagged by the model and with a dealer event", len(dealer_set & selling)])
        t.rows.append(["flagged by the model only", len(dealer_set - selling)])
        t.rows.append(["with a dealer event only", len(selling - dealer_set)])
        t.rows.append(["neither", sum(1 for u in stats if u not in dealer_set and u not in selling)])
        t.rows.append(["not scored (count as not flagged)", len(unscored)])
        tables[t.id] = t

    hours = {"dealer accounts": [0] * 24, "other accounts": [0] * 24}
    for name, group in (("dealer accounts", dealers), ("other accounts", others)):
        for u in group:
            for hour, count in stats[u].hours.items():
                hours[name][hour] += count
    t = Table(
        "yl-hours",
        f"Yang & Luo: hour of day (UTC) of drug events, dealer accounts ({by}) vs others",
        ["hour", "dealer_accounts", "other_accounts"],
    )
    for hour in range(24):
        t.rows.append([hour, hours["dealer accounts"][hour], hours["other accounts"][hour]])
    tables[t.id] = t

    if account_scores is not None:
        ranked = sorted(
            dealers, key=lambda u: (-(probability(u) or 0.0), -stats[u].selling_events, -stats[u].max_selling, u)
        )
    else:
        ranked = sorted(dealers, key=lambda u: (-stats[u].selling_events, -stats[u].max_selling, u))
    top_users = ranked[:top]

    # Dealer events first, then other drug events, up to evidence_per_account each account.
    selling_evidence: dict[str, list[EventResult]] = {u: [] for u in top_users}
    drug_evidence: dict[str, list[EventResult]] = {u: [] for u in top_users}
    flagged = dealer_set
    flagged_events: list[Event] = []
    drug_proba: dict[str, float] = {}
    for r in results():
        if r.author in selling_evidence:
            bucket = selling_evidence if r.selling else drug_evidence if event_drugs(r) else None
            if bucket is not None and len(bucket[r.author]) < evidence_per_account:
                bucket[r.author].append(r)
        if r.author in flagged:
            # Results come from validated events, so ``kind`` is "post" or "comment"; Event checks it again.
            kind = cast(Literal["post", "comment"], r.kind)
            flagged_events.append(
                Event(
                    id=r.id,
                    platform=r.platform,
                    kind=kind,
                    parent_id=r.parent_id,
                    post_id=r.post_id,
                    text=r.text,
                    author=r.author,
                    created_at=r.created_at,
                )
            )
            if r.drug_probabilities is not None:
                drug_proba[r.key] = 1.0 - r.drug_probabilities["non_drug"]
    evidence = {u: (selling_evidence[u] + drug_evidence[u])[:evidence_per_account] for u in top_users}
    networks = _link(flagged, account_records, flagged_events, drug_proba or None)

    t = Table(
        "networks",
        "Contact-linked networks among dealer accounts (shared contacts or near-duplicate adverts)",
        ["network", "accounts", "members", "shared_contacts", "links"],
    )
    for network in networks:
        t.rows.append([network.id, network.size, list(network.accounts), list(network.contacts), network.n_edges])
    tables[t.id] = t

    columns = [
        "rank",
        "account",
        "events",
        "drug_events",
        "dealer_events",
        "max_selling_probability",
        "drugs",
        "transaction_evidence",
        "following_ratio",
        "annotated_dealer",
        # The account's display name where it differs from the username (a Telegram
        # channel's title or a sender's name beside its peer id); masked unless --unmask.
        "name",
    ]
    if account_scores is not None:
        columns.insert(2, "dealer_probability")
        caption = "Top accounts: flagged by the dealer-account model, by its probability"
    else:
        caption = "Top accounts by dealer events"
    t = Table("top-accounts", caption, columns)
    for rank, u in enumerate(top_users, 1):
        s = stats[u]
        account = account_records.get(u)
        following = ratio(u)
        row = [
            rank,
            u,
            s.events,
            s.drug_events,
            s.selling_events,
            round(s.max_selling, 4),
            [d for d, _ in s.drugs.most_common()],
            s.transaction,
            None if following is None else round(following, 4),
            None if account is None else account.dealer,
            display_name(account),
        ]
        if account_scores is not None:
            p = probability(u)
            row.insert(2, None if p is None else round(p, 4))
        t.rows.append(row)
    tables[t.id] = t

    return ReportTables(
        tables=tables,
        n_events=n_events,
        n_selling=n_selling,
        accounts=dict(stats),
        account_records=account_records,
        dealers=dealers,
        top=top_users,
        evidence=evidence,
        networks=networks,
        models=models,
        hours=hours,
        drug_source=drug_source,
        dealer_definition=dealer_definition,
        scores=scores,
        event_dealers=event_dealers,
        unscored=unscored,
        account_model=model_info,
        image_evidence=ranked_images,
        n_vision=n_vision,
        n_review=n_review,
    )


def _link(
    flagged: set[str], accounts: dict[str, Account], events: list[Event], drug_proba: dict[str, float] | None
) -> list[Any]:
    from drugwatch.accounts.linking import link_accounts

    if not flagged:
        return []
    records = [a for u, a in accounts.items() if u in flagged]
    platforms = {e.author: e.platform for e in events}
    only = {f"{platforms.get(u, 'instagram')}:{u}" for u in flagged}
    return list(link_accounts(records, events, drug_proba=drug_proba, only=only).networks)

"""Account scoring for ``POST /v1/score/account``.

Every timeline event is scored by the event models (through the score
queue); the account gets the aggregate of those scores: the highest and
mean selling probability, how many events sell or name a drug, the drug
labels seen, and the distinct contacts found in the bio and the events.
This is the evidence an analyst reads, and it needs no account model.

When a dealer-account model is loaded (``account/`` in the model directory,
a ``drugwatch.accounts.v1`` directory written by ``drugwatch accounts
train``), :func:`drugwatch.accounts.score_accounts` adds its dealer
probability and decision, the feature values it read and its evidence;
``method`` then names that model.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from fastapi import HTTPException
from pydantic import BaseModel, ConfigDict, Field

from drugwatch.api.batching import ScoreQueue
from drugwatch.api.modelset import ModelSet
from drugwatch.labels import LABELS
from drugwatch.records import Account, Event, RecordError
from drugwatch.scoring import EventResult, ModelInfo
from drugwatch.text.analyze import analyze


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class AccountEventScore(_Out):
    id: str
    kind: str
    selling_probability: float | None
    selling: bool | None
    drug_labels: list[str] | None
    n_contacts: int


class AccountContact(_Out):
    kind: str
    app: str | None
    value: str
    #: Where it was seen: "bio" and/or event ids.
    n_events: int
    in_bio: bool


class AccountOut(_Out):
    key: str
    username: str
    platform: str
    method: str = Field(description="'aggregate' (event scores summarized) or the dealer model's registry name.")
    n_events: int
    selling_probability_max: float | None
    selling_probability_mean: float | None
    n_selling: int | None = Field(description="Events the selling model labels as selling.")
    share_selling: float | None
    n_drug_events: int | None = Field(description="Events with at least one drug label (drug-type model).")
    share_drug_events: float | None
    drug_label_counts: dict[str, int]
    bio_drug_labels: list[str]
    contacts: list[AccountContact]
    dealer_probability: float | None = Field(
        default=None, description="From the dealer-account model, when one is loaded."
    )
    dealer: bool | None = Field(default=None, description="dealer_probability at the model's threshold.")
    dealer_model: ModelInfo | None = None
    dealer_features: dict[str, float | None] | None = Field(
        default=None, description="The account features the dealer model read."
    )
    dealer_evidence: dict[str, Any] | None = None
    events: list[AccountEventScore]
    models: list[ModelInfo]


def _finite(value: Any) -> Any:
    """JSON-safe: NaN and infinities become null, tuples and sets lists (JSON has neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return [_finite(v) for v in items]
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return _finite(value.item())
    return value


def _account(body: Any) -> Account:
    data = body.model_dump(exclude_none=True, exclude={"timeline"})
    timeline = []
    for i, item in enumerate(body.timeline):
        try:
            timeline.append(item.to_event(default_id=f"{i}", author=body.username))
        except RecordError as exc:
            raise HTTPException(422, f"timeline[{i}]: {exc}") from None
    data["timeline"] = timeline
    try:
        return Account.parse(data)
    except RecordError as exc:
        raise HTTPException(422, str(exc)) from None


def aggregate(account: Account, results: list[EventResult], models: ModelSet) -> AccountOut:
    n = len(results)
    sell = [r.selling_probability for r in results if r.selling_probability is not None]
    sell_labels = [r.selling for r in results if r.selling is not None]
    drug = [r.drug_labels for r in results if r.drug_labels is not None]
    label_counts = Counter(lab for labels in drug for lab in labels if lab != "non_drug")
    n_drug = sum(1 for labels in drug if any(lab != "non_drug" for lab in labels))
    bio = analyze(account.bio)
    contacts: dict[tuple[str, str | None, str], dict[str, Any]] = {}
    for hit in bio.contacts:
        contacts.setdefault((hit.kind, hit.app, hit.value), {"events": set(), "bio": False})["bio"] = True
    for r in results:
        for c in r.contacts:
            contacts.setdefault((c.kind, c.app, c.value), {"events": set(), "bio": False})["events"].add(r.id)
    return AccountOut(
        key=account.key,
        username=account.username,
        platform=account.platform,
        method="aggregate",
        n_events=n,
        selling_probability_max=max(sell) if sell else None,
        selling_probability_mean=sum(sell) / len(sell) if sell else None,
        n_selling=sum(sell_labels) if sell_labels else None,
        share_selling=sum(sell_labels) / len(sell_labels) if sell_labels else None,
        n_drug_events=n_drug if drug else None,
        share_drug_events=n_drug / len(drug) if drug else None,
        drug_label_counts={lab: label_counts[lab] for lab in LABELS if label_counts[lab]},
        bio_drug_labels=list(bio.labels),
        contacts=[
            AccountContact(kind=k, app=a, value=v, n_events=len(seen["events"]), in_bio=seen["bio"])
            for (k, a, v), seen in sorted(contacts.items(), key=lambda kv: (-len(kv[1]["events"]), kv[0][0], kv[0][2]))
        ],
        events=[
            AccountEventScore(
                id=r.id,
                kind=r.kind,
                selling_probability=r.selling_probability,
                selling=r.selling,
                drug_labels=None if r.drug_labels is None else list(r.drug_labels),
                n_contacts=len(r.contacts),
            )
            for r in results
        ],
        models=list(models.scorer.models),
    )


class _AccountWork:
    """One account request on the queue's worker thread: the body becomes an account
    (its events), the scored events become the summary, serialized."""

    def __init__(self, body: Any, models: ModelSet) -> None:
        self.body = body
        self.models = models
        self.account: Account | None = None

    def prepare(self) -> list[Event]:
        self.account = _account(self.body)
        return list(self.account.timeline)

    def finish(self, results: list[EventResult]) -> str:
        assert self.account is not None  # prepare ran first
        out = aggregate(self.account, results, self.models)
        if self.models.account is not None:
            from drugwatch.accounts import score_accounts

            dealer = score_accounts([self.account], self.models.account.detector)[0]
            out = out.model_copy(
                update={
                    "method": dealer.model,
                    "dealer_probability": dealer.probability,
                    "dealer": dealer.dealer,
                    "dealer_model": self.models.account.loaded.info,
                    "dealer_features": _finite(dealer.features),
                    "dealer_evidence": _finite(dealer.evidence),
                }
            )
        return out.model_dump_json()


async def score_account(body: Any, models: ModelSet, queue: ScoreQueue, chars: int) -> str:
    """The account summary as JSON; parsing, scoring, the bio and the dealer model run on the queue's worker."""
    work = _AccountWork(body, models)
    return await queue.submit(models.scorer, work.prepare, work.finish, len(body.timeline), chars)

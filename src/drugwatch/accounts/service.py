"""Account scoring and linking over a store: what ``drugwatch accounts ...`` runs.

* :func:`load_accounts`: the stored accounts with their timelines, plus every
  comment (for the ``E`` feature), in one pass over the events;
* :func:`train_account_model`: grouped k-fold CV of one configuration (the
  numbers go on the model card), then a fit on every labelled account, saved
  as a model directory;
* :func:`score_store`: score every stored account, write an ``account_runs``
  row and one ``account_scores`` row per account;
* :func:`link_store`: link the stored accounts (optionally only those the
  latest score run flagged), write one ``account_networks`` row per network;
* :func:`latest_scores` / :func:`latest_networks`: read the latest run back.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from drugwatch.accounts.schema import AccountNetworkRow, AccountRunRow, AccountScoreRow
from drugwatch.records import Account, Event
from drugwatch.store.repository import Store


def load_accounts(store: Store, *, labelled_only: bool = False) -> tuple[list[Account], list[Event]]:
    """``(accounts with timelines, all comments)``; events are read once, in insertion order."""
    timelines: dict[str, list[Event]] = defaultdict(list)
    comments: list[Event] = []
    for event in store.iter_events():
        if event.author:
            timelines[f"{event.platform}:{event.author}"].append(event)
        if event.kind == "comment":
            comments.append(event)
    accounts = []
    for account in store.iter_accounts():
        if labelled_only and account.dealer is None:
            continue
        events = sorted(
            timelines.get(account.key, ()),
            key=lambda e: (e.created_at is None, e.created_at or datetime.min.replace(tzinfo=UTC)),
        )
        accounts.append(account.model_copy(update={"timeline": tuple(events)}))
    return accounts, comments


@dataclass(frozen=True)
class TrainReport:
    model_dir: Path
    n_accounts: int
    n_dealers: int
    evaluation: dict[str, Any] = field(default_factory=dict)
    selected_features: tuple[str, ...] = ()


def train_account_model(
    store: Store,
    output: str | Path,
    *,
    params: Mapping[str, Any] | None = None,
    n_splits: int = 5,
    seed: int = 0,
    group_by_links: bool = True,
) -> TrainReport:
    """CV then fit ``drugwatch.accounts.v1`` on the store's labelled accounts; save it under ``output``."""
    from drugwatch.accounts.detector import AccountDetector
    from drugwatch.accounts.evaluation import cross_validate_accounts
    from drugwatch.accounts.linking import link_accounts

    params = dict(params or {})
    accounts, comments = load_accounts(store, labelled_only=True)
    if len(accounts) < 2:
        raise ValueError(f"{store.display_url} holds {len(accounts)} account(s) with a dealer label; need more")
    evaluation: dict[str, Any] = {}
    n_dealers = sum(1 for a in accounts if a.dealer)
    groups = None
    if group_by_links:
        membership = link_accounts(accounts).membership()
        groups = [membership.get(a.key, a.key) for a in accounts]
    if n_splits >= 2 and min(n_dealers, len(accounts) - n_dealers) >= n_splits:
        cell = {
            k: v
            for k, v in params.items()
            if k not in ("event_detector", "event_params", "event_target", "inner_folds")
        }
        cv = cross_validate_accounts(
            accounts,
            cells={"model": cell},
            comments=comments,
            groups=groups,
            n_splits=n_splits,
            seed=seed,
            **{k: params[k] for k in ("event_detector", "event_params", "event_target", "inner_folds") if k in params},
        )
        pooled = cv["cells"]["model"]["pooled"]
        evaluation = {f"cv{n_splits}_{k}": pooled[k] for k in ("precision", "recall", "f1", "roc_auc", "pr_auc")}
        evaluation["cv_grouped_by"] = "link components" if group_by_links else "account"
    detector = AccountDetector(**params).fit(accounts, comments=comments, groups=groups)
    directory = detector.save(output, evaluation=evaluation or None)
    return TrainReport(Path(directory), len(accounts), n_dealers, evaluation, detector.selected_features_)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ScoreRun:
    run_id: int
    scores: list[Any]

    @property
    def n_dealers(self) -> int:
        return sum(1 for s in self.scores if s.dealer)


def score_store(store: Store, model_dir: str | Path, *, threshold: float | None = None) -> ScoreRun:
    """Score every stored account with the model in ``model_dir`` and store the results."""
    from drugwatch.accounts.scoring import load_account_detector, score_accounts

    detector = load_account_detector(model_dir)
    accounts, comments = load_accounts(store)
    scores = score_accounts(accounts, detector, comments=comments, threshold=threshold) if accounts else []
    with store.engine.begin() as conn:
        run_id = conn.execute(
            insert(AccountRunRow)
            .values(
                kind="score",
                model=str(model_dir),
                params={"threshold": threshold, "registry_name": detector.name},
                counts={"accounts": len(scores), "dealers": sum(1 for s in scores if s.dealer)},
                created_at=_now(),
            )
            .returning(AccountRunRow.id)
        ).scalar_one()
        if scores:
            conn.execute(
                insert(AccountScoreRow),
                [
                    {
                        "run_id": run_id,
                        "account_key": s.key,
                        "probability": s.probability,
                        "dealer": s.dealer,
                        "threshold": s.threshold,
                        "features": s.features,
                        "evidence": s.evidence,
                    }
                    for s in scores
                ],
            )
    return ScoreRun(int(run_id), scores)


@dataclass(frozen=True)
class LinkRun:
    run_id: int
    result: Any  # drugwatch.accounts.linking.LinkResult


def link_store(
    store: Store,
    *,
    dealers_only: bool = False,
    min_probability: float | None = None,
    near_duplicate_threshold: float = 0.7,
) -> LinkRun:
    """Link the stored accounts and store the networks.

    ``dealers_only`` keeps the accounts the latest score run flagged (or,
    with ``min_probability``, those scored at least that high).
    """
    from drugwatch.accounts.linking import link_accounts

    accounts, comments = load_accounts(store)
    only = None
    if dealers_only or min_probability is not None:
        latest = latest_scores(store)
        if not latest:
            raise ValueError("no account scores in the store yet; run `drugwatch accounts score` first")
        only = [
            k
            for k, row in latest.items()
            if (row["probability"] >= min_probability if min_probability is not None else row["dealer"])
        ]
    result = link_accounts(accounts, comments, only=only, near_duplicate_threshold=near_duplicate_threshold)
    with store.engine.begin() as conn:
        run_id = conn.execute(
            insert(AccountRunRow)
            .values(
                kind="link",
                model=None,
                params={
                    "dealers_only": dealers_only,
                    "min_probability": min_probability,
                    "near_duplicate_threshold": near_duplicate_threshold,
                },
                counts={
                    "accounts": result.graph.number_of_nodes(),
                    "links": result.graph.number_of_edges(),
                    "networks": len(result.networks),
                },
                created_at=_now(),
            )
            .returning(AccountRunRow.id)
        ).scalar_one()
        if result.networks:
            conn.execute(
                insert(AccountNetworkRow),
                [
                    {
                        "run_id": run_id,
                        "network_id": n.id,
                        "size": n.size,
                        "accounts": list(n.accounts),
                        "contacts": list(n.contacts),
                        "evidence": [e.as_dict() for e in n.evidence],
                        "summary": _summary(n),
                    }
                    for n in result.networks
                ],
            )
    return LinkRun(int(run_id), result)


def _summary(network: Any) -> str:
    kinds = sorted({e.type for e in network.evidence})
    return f"{network.size} accounts linked by " + " and ".join(k.replace("_", "-") for k in kinds)


def _latest_run(store: Store, kind: str) -> int | None:
    with store.engine.connect() as conn:
        return conn.execute(
            select(AccountRunRow.id).where(AccountRunRow.kind == kind).order_by(AccountRunRow.id.desc()).limit(1)
        ).scalar_one_or_none()


def latest_scores(store: Store) -> dict[str, dict[str, Any]]:
    """Account key -> the latest score run's row (probability, dealer, threshold, features, evidence)."""
    run_id = _latest_run(store, "score")
    if run_id is None:
        return {}
    with store.engine.connect() as conn:
        rows = conn.execute(select(AccountScoreRow).where(AccountScoreRow.run_id == run_id)).all()
    return {
        r.account_key: {
            "probability": r.probability,
            "dealer": r.dealer,
            "threshold": r.threshold,
            "features": r.features,
            "evidence": r.evidence,
            "run_id": run_id,
        }
        for r in rows
    }


def latest_networks(store: Store) -> list[dict[str, Any]]:
    """The latest link run's networks, largest first."""
    run_id = _latest_run(store, "link")
    if run_id is None:
        return []
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(AccountNetworkRow)
            .where(AccountNetworkRow.run_id == run_id)
            .order_by(AccountNetworkRow.size.desc(), AccountNetworkRow.network_id)
        ).all()
    return [
        {
            "id": r.network_id,
            "size": r.size,
            "accounts": r.accounts,
            "contacts": r.contacts,
            "evidence": r.evidence,
            "summary": r.summary,
            "run_id": run_id,
        }
        for r in rows
    ]


__all__ = [
    "LinkRun",
    "ScoreRun",
    "TrainReport",
    "latest_networks",
    "latest_scores",
    "link_store",
    "load_accounts",
    "score_store",
    "train_account_model",
]

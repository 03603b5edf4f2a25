"""Dealer-account scores for the report: read, write, or compute them from a scan.

Without scores the report calls a *dealer account* any account with at least
one dealer event. Given the scores of the dealer-account model
(``drugwatch.accounts.v1``, :func:`drugwatch.accounts.score_accounts`), the
dealer accounts are the accounts the model flags, and the Yang & Luo tables
and the top-accounts ranking use its probability.

* :func:`score_scan_accounts` scores the account records of a scan (its
  ``.accounts.jsonl`` companion, or the store's accounts) with a saved model,
  their timelines rebuilt from the scan results (what ``drugwatch report
  --account-model DIR`` and ``drugwatch demo`` run);
* :func:`write_account_scores` / :func:`read_account_scores`: one
  :meth:`AccountScore.as_dict` JSON object per line;
* :func:`scores_by_username`: whatever the caller has (a file, a mapping,
  an iterable of scores) as ``username -> AccountScore``.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from drugwatch.records import Account, Event
from drugwatch.scoring import EventResult

if TYPE_CHECKING:  # scikit-learn is loaded only when scores are used
    from drugwatch.accounts.detector import AccountDetector
    from drugwatch.accounts.scoring import AccountScore

__all__ = [
    "AccountScoresInput",
    "read_account_scores",
    "result_event",
    "scan_timelines",
    "score_scan_accounts",
    "scores_by_username",
    "write_account_scores",
]

#: What ``build_report(..., account_scores=...)`` accepts.
AccountScoresInput = Any  # str | os.PathLike | Mapping[str, AccountScore] | Iterable[AccountScore]


def result_event(result: EventResult) -> Event:
    """The event a scan result was computed from, as far as the account model reads it.

    Text, kind, thread ids, author, time and hashtags come back; labels,
    images and ``meta`` do not (the account model does not read them).
    """
    extra_tags = [h.tag for h in result.hashtags if h.start is None]  # tags listed only in event.hashtags
    hashtags: tuple[str, ...] = ()
    if extra_tags:
        from drugwatch.text.hashtags import extract_hashtags

        hashtags = (*extract_hashtags(result.text), *extra_tags)
    return Event(
        id=result.id,
        platform=result.platform,
        kind=result.kind,  # type: ignore[arg-type]
        parent_id=result.parent_id,
        post_id=result.post_id,
        text=result.text,
        author=result.author,
        created_at=result.created_at,
        hashtags=hashtags,
    )


def scan_timelines(results: Iterable[EventResult]) -> tuple[dict[str, list[Event]], list[Event]]:
    """``(account key -> its events in time order, every comment)`` from scan results."""
    timelines: dict[str, list[Event]] = defaultdict(list)
    comments: list[Event] = []
    for result in results:
        event = result_event(result)
        if event.author:
            timelines[f"{event.platform}:{event.author}"].append(event)
        if event.kind == "comment":
            comments.append(event)
    oldest = datetime.min.replace(tzinfo=UTC)
    for events in timelines.values():
        events.sort(key=lambda e: (e.created_at is None, e.created_at or oldest))
    return dict(timelines), comments


def score_scan_accounts(
    results: Iterable[EventResult],
    accounts: Iterable[Account],
    model: AccountDetector | str | os.PathLike[str],
    *,
    threshold: float | None = None,
) -> list[AccountScore]:
    """Score the scan's account records with a ``drugwatch.accounts.v1`` model.

    Each account's timeline is its events among ``results``; every comment in
    ``results`` is passed for the ``E`` feature. Accounts are deduplicated by
    key (the last record wins). Authors without an account record are not
    scored (the model needs the profile).
    """
    from drugwatch.accounts.scoring import load_account_detector, score_accounts

    detector = model if not isinstance(model, (str, os.PathLike)) else load_account_detector(Path(model))
    records = {a.key: a for a in accounts}
    if not records:
        raise ValueError("no account records to score: give the scan's accounts file (or a store with accounts)")
    timelines, comments = scan_timelines(results)
    with_timelines = [a.model_copy(update={"timeline": tuple(timelines.get(key, ()))}) for key, a in records.items()]
    return score_accounts(with_timelines, detector, comments=comments, threshold=threshold)


def write_account_scores(scores: Iterable[AccountScore], path: str | os.PathLike[str]) -> Path:
    """One ``AccountScore.as_dict()`` JSON object per line."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        for score in scores:
            handle.write(json.dumps(score.as_dict(), ensure_ascii=False, default=str) + "\n")
    return path


def _as_score(item: Any, where: str) -> AccountScore:
    from drugwatch.accounts.scoring import AccountScore

    if isinstance(item, AccountScore):
        return item
    if isinstance(item, Mapping):
        names = {f.name for f in fields(AccountScore)}
        missing = {"key", "username", "platform", "probability", "dealer", "threshold", "model"} - set(item)
        if missing:
            raise ValueError(f"{where}: an account score needs {', '.join(sorted(missing))}")
        return AccountScore(**{k: v for k, v in item.items() if k in names})
    raise TypeError(f"{where}: expected an AccountScore or its as_dict(), got {type(item).__name__}")


def read_account_scores(path: str | os.PathLike[str]) -> list[AccountScore]:
    """Scores written by :func:`write_account_scores` (or ``drugwatch accounts score --json``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no account scores at {path}")
    out = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if line.strip():
                try:
                    item = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{number}: not JSON ({exc.msg})") from None
                out.append(_as_score(item, f"{path}:{number}"))
    return out


def scores_by_username(scores: AccountScoresInput) -> dict[str, AccountScore]:
    """``username -> AccountScore`` from a JSONL file, a mapping (username or key -> score) or an iterable."""
    if isinstance(scores, (str, os.PathLike)):
        items: Iterable[Any] = read_account_scores(scores)
    elif isinstance(scores, Mapping):
        items = scores.values()
    else:
        items = scores
    return {s.username: s for s in (_as_score(item, "account_scores") for item in items)}

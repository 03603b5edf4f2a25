"""Model suggestions: the current models' labels offered on the item page.

The models are those the project configured for the app
(``DRUGWATCH_ANNOTATE_MODEL``): one saved detector directory, or a folder
holding ``selling/`` and ``drugtype/`` in the layout ``drugwatch scan`` reads
(``$DRUGWATCH_HOME/models``). They are applied through
:class:`drugwatch.scoring.EventScorer`, the same core as the scan and the API.

A suggestion is computed once per event and stored
(``annotate_suggestions``); it is recomputed when the models change. Every
label level the event has gets the drug-type model's label set (the model
reads the whole item), the dealer question the selling model's decision;
either is missing when that model is. The page marks suggested labels with
their probability but does not check them: the annotator accepts them all
with one key (``a``) or chooses otherwise. What was suggested is saved beside
each answer (``annotate_annotations.suggested``), so
:func:`suggestion_report` can give the model's acceptance rate apart from
agreement between people.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from drugwatch.annotate.schema import DEALER_LEVEL, LABEL_LEVELS, AnnotationRow, AssignmentRow, SuggestionRow, UserRow
from drugwatch.labels import LABELS, NON_DRUG
from drugwatch.records import Event

_CHUNK = 200


@dataclass(frozen=True)
class Suggestion:
    event_key: str
    labels: tuple[str, ...] | None
    drug_probabilities: Mapping[str, float] | None
    selling: bool | None
    selling_probability: float | None
    uncertainty: float | None
    models: str

    def level_labels(self, levels: Sequence[str]) -> dict[str, list[str]]:
        """The suggested label set at each of ``levels`` (empty without a drug-type model)."""
        return {level: list(self.labels) for level in levels} if self.labels is not None else {}

    def suggested_for(self, level: str) -> list[Any] | None:
        """What is saved as ``suggested`` beside an answer at ``level``."""
        if level == DEALER_LEVEL:
            return None if self.selling is None else [self.selling]
        return None if self.labels is None else list(self.labels)


class Suggester:
    """The project's models, loaded once; :meth:`suggest` reads a batch of events."""

    def __init__(self, scorer: Any) -> None:
        self.scorer = scorer
        self.models = ", ".join(f"{m.name}@{m.version}" for m in scorer.models)[:512]

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Suggester:
        """A model directory (``config.json`` in it) or a folder of ``selling/`` and ``drugtype/``."""
        from drugwatch.models.base import CONFIG_FILE
        from drugwatch.scoring import EventScorer

        root = Path(path)
        if (root / CONFIG_FILE).is_file():
            return cls(EventScorer.from_directories([root]))
        return cls(EventScorer.default(root))

    def suggest(self, events: Sequence[Event]) -> list[Suggestion]:
        out = []
        for result in self.scorer.score(list(events)):
            probabilities = result.drug_probabilities
            labels: tuple[str, ...] | None = None
            if probabilities is not None:
                drugs = tuple(label for label in (result.drug_labels or ()) if label != NON_DRUG)
                labels = drugs or (NON_DRUG,)
            columns = [result.selling_probability] if result.selling_probability is not None else []
            columns += list((probabilities or {}).values())
            certainty = max((1.0 - abs(2.0 * p - 1.0) for p in columns), default=None)
            out.append(
                Suggestion(
                    result.key,
                    labels,
                    probabilities,
                    result.selling,
                    result.selling_probability,
                    certainty,
                    self.models,
                )
            )
        return out

    def probabilities(self, events: list[Event]) -> list[list[float]]:
        """Rows of every probability the models give (the active-learning scorer)."""
        return [
            [p for p in ([s.selling_probability] if s.selling_probability is not None else [])]
            + list((s.drug_probabilities or {}).values())
            for s in self.suggest(events)
        ]


def _now() -> datetime:
    return datetime.now(UTC)


def _from_row(row: Any) -> Suggestion:
    return Suggestion(
        row.event_key,
        tuple(row.labels) if row.labels is not None else None,
        {label: float(row.drug_probabilities[label]) for label in LABELS} if row.drug_probabilities else None,
        row.selling,
        row.selling_probability,
        row.uncertainty,
        row.models,
    )


def stored_suggestions(engine: Engine, keys: Sequence[str], models: str | None = None) -> dict[str, Suggestion]:
    """The stored suggestions of ``keys`` (those made by ``models`` only, when given)."""
    found: dict[str, Suggestion] = {}
    with engine.connect() as conn:
        for start in range(0, len(keys), _CHUNK):
            query = select(SuggestionRow).where(SuggestionRow.event_key.in_(list(keys[start : start + _CHUNK])))
            for row in conn.execute(query):
                if models is None or row.models == models:
                    found[row.event_key] = _from_row(row)
    return found


def ensure_suggestions(engine: Engine, suggester: Suggester, keys: Sequence[str]) -> dict[str, Suggestion]:
    """Suggestions of ``keys``, computing and storing those missing or made by other models."""
    from drugwatch.annotate.service import _insert, events_by_key

    keys = list(dict.fromkeys(keys))
    found = stored_suggestions(engine, keys, suggester.models)
    missing = [key for key in keys if key not in found]
    for start in range(0, len(missing), _CHUNK):
        events = events_by_key(engine, missing[start : start + _CHUNK])
        if not events:
            continue
        made = suggester.suggest(list(events.values()))
        now = _now()
        rows = [
            {
                "event_key": s.event_key,
                "drug_probabilities": dict(s.drug_probabilities) if s.drug_probabilities is not None else None,
                "labels": list(s.labels) if s.labels is not None else None,
                "selling_probability": s.selling_probability,
                "selling": s.selling,
                "uncertainty": s.uncertainty,
                "models": s.models,
                "created_at": now,
            }
            for s in made
        ]
        with engine.begin() as conn:
            stmt = _insert(conn, SuggestionRow).values(rows)
            stmt = stmt.on_conflict_do_update(
                index_elements=["event_key"],
                set_={name: stmt.excluded[name] for name in rows[0] if name != "event_key"},
            )
            conn.execute(stmt)
        found.update({s.event_key: s for s in made})
    return found


# ---------------------------------------------------------------------------
# How often people accept what the model suggests


def _rate(accepted: int, total: int) -> float | None:
    return accepted / total if total else None


def suggestion_report(engine: Engine) -> dict[str, Any]:
    """The model's acceptance by annotators, over finished answers that were shown a suggestion.

    A unit is one (event, annotator, level) answer; it is *accepted* when the
    answer equals the suggestion. Per label: how often a suggested label was
    kept or removed, and how often annotators added a label the model did not
    suggest. ``events_accepted``: answers accepted at every level and on the
    dealer question.
    """
    query = (
        select(
            AnnotationRow.event_key,
            UserRow.username,
            AnnotationRow.level,
            AnnotationRow.labels,
            AnnotationRow.selling,
            AnnotationRow.suggested,
        )
        .join(UserRow, UserRow.id == AnnotationRow.user_id)
        .join(
            AssignmentRow,
            (AssignmentRow.event_key == AnnotationRow.event_key) & (AssignmentRow.user_id == AnnotationRow.user_id),
        )
        .where(AssignmentRow.status == "done", AnnotationRow.suggested.is_not(None))
    )
    units = accepted = 0
    by_level: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_user: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    per_label = {label: {"suggested": 0, "kept": 0, "removed": 0, "added": 0} for label in LABELS}
    items: dict[tuple[str, str], bool] = {}
    with engine.connect() as conn:
        for r in conn.execute(query):
            suggested = r.suggested or []
            if r.level == DEALER_LEVEL:
                if r.selling is None or not suggested:
                    continue
                ok = bool(r.selling) == bool(suggested[0])
            elif r.level in LABEL_LEVELS:
                chosen, offered = set(r.labels or ()), {s for s in suggested if isinstance(s, str)}
                ok = chosen == offered
                for label in offered & set(LABELS):
                    per_label[label]["suggested"] += 1
                    per_label[label]["kept" if label in chosen else "removed"] += 1
                for label in chosen - offered:
                    if label in per_label:
                        per_label[label]["added"] += 1
            else:
                continue
            units += 1
            accepted += ok
            by_level[r.level][0] += ok
            by_level[r.level][1] += 1
            by_user[r.username][0] += ok
            by_user[r.username][1] += 1
            items[(r.event_key, r.username)] = items.get((r.event_key, r.username), True) and ok
    return {
        "units": units,
        "accepted": accepted,
        "acceptance_rate": _rate(accepted, units),
        "answers": len(items),
        "answers_accepted": sum(items.values()),
        "answers_acceptance_rate": _rate(sum(items.values()), len(items)),
        "by_level": {
            level: {"units": n, "accepted": a, "acceptance_rate": _rate(a, n)}
            for level, (a, n) in sorted(by_level.items())
        },
        "by_annotator": {
            user: {"units": n, "accepted": a, "acceptance_rate": _rate(a, n)}
            for user, (a, n) in sorted(by_user.items())
        },
        "labels": [{"label": label, **counts} for label, counts in per_label.items() if any(counts.values())],
    }

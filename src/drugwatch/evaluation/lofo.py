"""Leave-one-source-family-out evaluation of selling detectors.

Grouped cross-validation asks whether a detector recognizes *sellers* it
has not seen; every fold still holds the same sources, written in the same
registers. Users point drugwatch at sources the kit never saw. This
evaluation asks that question: each *family* of sources is held out in
turn, the detector is fitted on all the other families and scored on the
held-out one.

The universe is the kit's ``dev/selling.jsonl`` plus a deterministic sample
of its darknet listings (``dev/drugtype.jsonl``: drug listings are offers to
sell, ``selling = true``; listings of other goods are not), so that a family
holding positives can be held out while the training side keeps positives.
Near-duplicates are removed from the universe first, with the experiment
runner's policy (:func:`drugwatch.evaluation.splits.deduplicate`).

Families (``scheme="source"``, the default), by the dataset an event comes
from (``meta["source"]``):

=====================  ==============================================  =====================
family                 sources (``meta.source``)                       selling
=====================  ==============================================  =====================
``pip_tweets``         ``pip_twitter``: PIP drug promotions, PIP        62 positive; hard
                       label-0 tweets, PIP promotions of other goods    negatives
``drug_talk_tweets``   ``drug_talk_tweets`` (IDDT drug keywords,        negative
                       NER-TE)
``other_tweets``       ``iddt_other_tweets``, ``airline_tweets``        negative
``instagram_captions`` ``ig_verified_captions``                         negative
``sms``                ``sms_spam_collection`` (ham and spam)           negative
``reddit_comments``    ``reddit_5meodmt``                               negative
``darknet_listings``   ``dnm2017``, ``agora2014``                       both
=====================  ==============================================  =====================

``scheme="platform"`` groups by ``event.platform`` instead (all tweets
together, as the issue words it): ``tweets``, ``instagram_captions``,
``sms``, ``reddit_comments``, ``darknet_listings``. An event whose source is
not in the table gets ``other:<source>``.

Reported per held-out family: precision, recall, F1, PR-AUC (where both
classes are present) and the false-positive rate (every family with
negatives), at the detector's own decision (:meth:`Detector.predict`);
and the macro-average of F1 over the families that hold positives.
Detectors that add a training pool of their own (``drugwatch.selling.v3``'s
``pool``) are run with ``pool="none"``: the universe already holds the
listings, and a held-out family must not come back through the pool.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from drugwatch.evaluation.metrics import binary_metrics
from drugwatch.evaluation.splits import deduplicate
from drugwatch.models.base import Detector
from drugwatch.records import Event

__all__ = [
    "PLATFORM_FAMILY",
    "SOURCE_FAMILY",
    "family_of",
    "load_universe",
    "render_lofo_table",
    "run_config_lofo",
    "run_lofo",
    "subsample",
    "write_lofo",
]

SOURCE_FAMILY: dict[str, str] = {
    "pip_twitter": "pip_tweets",
    "drug_talk_tweets": "drug_talk_tweets",
    "iddt_other_tweets": "other_tweets",
    "airline_tweets": "other_tweets",
    "ig_verified_captions": "instagram_captions",
    "sms_spam_collection": "sms",
    "reddit_5meodmt": "reddit_comments",
    "dnm2017": "darknet_listings",
    "agora2014": "darknet_listings",
}

PLATFORM_FAMILY: dict[str, str] = {
    "twitter": "tweets",
    "instagram": "instagram_captions",
    "sms": "sms",
    "reddit": "reddit_comments",
    "darknet_market": "darknet_listings",
}

SCHEMES = ("source", "platform")


def family_of(event: Event, scheme: str = "source") -> str:
    """The source family of an event under ``scheme`` (see the module docstring)."""
    if scheme == "source":
        source = str(event.meta.get("source") or event.meta.get("subsource") or event.platform)
        return SOURCE_FAMILY.get(source, f"other:{source}")
    if scheme == "platform":
        return PLATFORM_FAMILY.get(event.platform, f"other:{event.platform}")
    raise ValueError(f"unknown family scheme {scheme!r}; expected one of {SCHEMES}")


def _sample_key(event_id: str, seed: int) -> str:
    return hashlib.sha1(f"{seed}:{event_id}".encode()).hexdigest()


def subsample(events: Sequence[Event], fraction: float, seed: int = 0) -> list[Event]:
    """Every positive, and a deterministic ``fraction`` of the negatives (by hashed id)."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1]; got {fraction}")
    if fraction == 1:
        return list(events)
    cut = int(fraction * 0xFFFFFFFF)
    return [e for e in events if e.selling or int(_sample_key(e.id, seed)[:8], 16) <= cut]


def load_universe(
    selling_path: str | Path,
    drugtype_path: str | Path | None = None,
    *,
    darknet_max: int = 8000,
    negative_fraction: float = 1.0,
    dedup_threshold: float = 0.7,
    seed: int = 0,
) -> tuple[list[Event], np.ndarray, dict[str, Any]]:
    """The LOFO universe: labelled posts, plus at most ``darknet_max`` listings; deduplicated.

    ``negative_fraction`` < 1 keeps that share of the negatives (all
    positives), for quick runs; the report says so.
    """
    from drugwatch.io.jsonl import load_bench_events

    events = [e for e in load_bench_events(selling_path) if e.selling is not None]
    info: dict[str, Any] = {"selling_path": str(selling_path), "n_posts": len(events)}
    if drugtype_path is not None and darknet_max > 0:
        listings = [e for e in load_bench_events(drugtype_path) if e.selling is not None]
        listings.sort(key=lambda e: _sample_key(e.id, seed))
        listings = sorted(listings[:darknet_max], key=lambda e: e.id)
        info.update({"drugtype_path": str(drugtype_path), "n_listings": len(listings)})
        events += listings
    if negative_fraction < 1:
        events = subsample(events, negative_fraction, seed)
        info["negative_fraction"] = negative_fraction
    y = np.array([int(bool(e.selling)) for e in events], dtype=np.int64)
    if dedup_threshold > 0:
        keep, report = deduplicate(events, y, threshold=dedup_threshold)
        events = [events[i] for i in keep]
        y = y[keep]
        info["dedup"] = {"threshold": dedup_threshold, **report.as_dict()}
    info["n_events"] = len(events)
    info["n_positive"] = int(y.sum())
    return events, y, info


def _without_own_pool(detector: Detector) -> Detector:
    if "pool" in detector.get_params():
        detector.set_params(pool="none")
    return detector


def _languages(texts: Sequence[str]) -> list[str]:
    from drugwatch.text.language import detect_languages

    return [code or "und" for code in detect_languages(texts)]


def run_lofo(
    detectors: Mapping[str, Callable[[], Detector]],
    events: Sequence[Event],
    y: Sequence[int] | np.ndarray,
    *,
    scheme: str = "source",
    families: Sequence[str] | None = None,
    by_language: bool = True,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Hold out each family in turn; fit each detector on the rest and score the held-out family.

    ``detectors`` maps a column name to a factory returning an unfitted
    detector. Returns ``{"families": {...}, "columns": {name: {"per_family":
    {...}, "macro_f1": ..., "min_f1": ...}}}``.
    """
    targets = np.asarray(y, dtype=np.int64)
    fams = np.array([family_of(e, scheme) for e in events])
    present = sorted(set(fams))
    chosen = list(families) if families else present
    unknown = [f for f in chosen if f not in present]
    if unknown:
        raise ValueError(f"no events in famil{'y' if len(unknown) == 1 else 'ies'} {unknown}; the data has {present}")
    summary = {f: {"n": int((fams == f).sum()), "positives": int(targets[fams == f].sum())} for f in present}
    languages = _languages([e.text for e in events]) if by_language else None
    result: dict[str, Any] = {"scheme": scheme, "families": summary, "columns": {}}
    for name, factory in detectors.items():
        per_family: dict[str, Any] = {}
        for family in chosen:
            test = np.flatnonzero(fams == family)
            train = np.flatnonzero(fams != family)
            if len(np.unique(targets[train])) < 2:
                per_family[family] = {"skipped": "the other families hold one class only"}
                continue
            detector = _without_own_pool(factory())
            started = time.perf_counter()
            detector.fit([events[i] for i in train.tolist()], targets[train])
            fit_s = time.perf_counter() - started
            proba = detector.predict_proba([events[i] for i in test.tolist()])
            pred = detector.decide(proba)
            metrics = binary_metrics(targets[test], proba[:, 1], threshold=float(detector.threshold_))
            # decide() is the detector's own rule; binary_metrics thresholds the same scores
            metrics.update(_counts(targets[test], pred))
            metrics["fit_s"] = round(fit_s, 2)
            metrics["threshold"] = float(detector.threshold_)
            if languages is not None:
                metrics["by_language"] = _by_group(targets[test], pred, [languages[i] for i in test.tolist()])
            sources = [
                str(events[i].meta.get("subsource") or events[i].meta.get("source") or "?") for i in test.tolist()
            ]
            metrics["fpr_by_subsource"] = _fpr_by(targets[test], pred, sources)
            per_family[family] = metrics
            if progress:
                progress(
                    f"lofo {name} held out {family}: F1 {metrics['f1']:.3f} P {metrics['precision']:.3f} "
                    f"R {metrics['recall']:.3f} FPR {_fmt(metrics['fpr'])} (threshold "
                    f"{detector.threshold_:.3f}, fit {fit_s:.0f}s)"
                )
        with_pos = [m["f1"] for f, m in per_family.items() if "f1" in m and summary[f]["positives"]]
        thresholds = [m["threshold"] for m in per_family.values() if "threshold" in m]
        result["columns"][name] = {
            "per_family": per_family,
            "macro_f1": float(np.mean(with_pos)) if with_pos else None,
            "min_f1": float(np.min(with_pos)) if with_pos else None,
            # the same detector fitted without each family in turn: how far its threshold moves
            "threshold_spread": float(max(thresholds) - min(thresholds)) if thresholds else None,
        }
    return result


def _counts(y: np.ndarray, pred: np.ndarray) -> dict[str, Any]:
    y = np.asarray(y, dtype=bool)
    p = np.asarray(pred, dtype=bool)
    tp, fp, fn, tn = int((y & p).sum()), int((~y & p).sum()), int((y & ~p).sum()), int((~y & ~p).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "fpr": fp / (fp + tn) if fp + tn else None,
    }


def _by_group(y: np.ndarray, pred: np.ndarray, keys: Sequence[str]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = defaultdict(lambda: {"n": 0, "positives": 0, "tp": 0, "fp": 0})
    for truth, p, key in zip(y, pred, keys):
        row = out[key]
        row["n"] += 1
        row["positives"] += int(truth)
        row["tp"] += int(truth and p)
        row["fp"] += int(not truth and p)
    return dict(sorted(out.items(), key=lambda kv: -kv[1]["n"]))


def _fpr_by(y: np.ndarray, pred: np.ndarray, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
    negatives: Counter[str] = Counter()
    false_pos: Counter[str] = Counter()
    for truth, p, key in zip(y, pred, keys):
        if not truth:
            negatives[key] += 1
            false_pos[key] += int(p)
    return {
        k: {"negatives": n, "false_positives": false_pos[k], "fpr": false_pos[k] / n}
        for k, n in negatives.most_common()
    }


def _fmt(value: float | None, pct: bool = True) -> str:
    if value is None:
        return "–"
    return f"{100 * value:.1f}" if pct else f"{value:.3f}"


def render_lofo_table(result: Mapping[str, Any], info: Mapping[str, Any] | None = None) -> str:
    """Markdown: F1 (P / R) per held-out family with positives, FPR per family, macro F1."""
    families = result["families"]
    columns = list(result["columns"])
    pos_fams = [f for f, s in families.items() if s["positives"]]
    lines = [f"Leave-one-source-family-out (scheme `{result['scheme']}`)", ""]
    if info:
        dedup = info.get("dedup", {})
        lines += [
            f"Universe: {info.get('n_events')} events ({info.get('n_positive')} positive) after near-duplicate "
            f"removal ({dedup.get('n_removed', 0)} removed); {info.get('n_posts')} posts"
            + (f" + {info['n_listings']} darknet listings" if info.get("n_listings") else "")
            + (
                f"; negatives subsampled to {100 * info['negative_fraction']:.0f} %"
                if info.get("negative_fraction")
                else ""
            )
            + ".",
            "",
        ]
    lines += [
        "Held-out families with positives: precision / recall / **F1** / PR-AUC (%), at each detector's own decision:",
        "",
    ]
    lines += ["| family | events (pos) | " + " | ".join(columns) + " |", "|" + "---|" * (len(columns) + 2)]
    for f in pos_fams:
        cells = []
        for c in columns:
            m = result["columns"][c]["per_family"].get(f, {})
            cells.append(
                "–"
                if "f1" not in m
                else f"{_fmt(m['precision'])} / {_fmt(m['recall'])} / **{_fmt(m['f1'])}** / {_fmt(m.get('pr_auc'))}"
            )
        lines.append(f"| {f} | {families[f]['n']} ({families[f]['positives']}) | " + " | ".join(cells) + " |")
    lines.append(
        "| **macro F1** | | "
        + " | ".join(
            f"**{_fmt(result['columns'][c]['macro_f1'])}** (min {_fmt(result['columns'][c]['min_f1'])})"
            for c in columns
        )
        + " |"
    )
    lines += ["", "False-positive rate on each held-out family's negatives (%; false positives / negatives):", ""]
    lines += ["| family | negatives | " + " | ".join(columns) + " |", "|" + "---|" * (len(columns) + 2)]
    for f, s in families.items():
        negatives = s["n"] - s["positives"]
        if not negatives:
            continue
        cells = []
        for c in columns:
            m = result["columns"][c]["per_family"].get(f, {})
            cells.append("–" if m.get("fpr") is None else f"{_fmt(m['fpr'])} ({m['fp']})")
        lines.append(f"| {f} | {negatives} | " + " | ".join(cells) + " |")
    lines += ["", "Decision threshold of each fit (trained without the family named) and its spread:", ""]
    lines += ["| held out | " + " | ".join(columns) + " |", "|" + "---|" * (len(columns) + 1)]
    for f in families:
        cells = []
        for c in columns:
            m = result["columns"][c]["per_family"].get(f, {})
            cells.append("–" if m.get("threshold") is None else f"{m['threshold']:.3f}")
        lines.append(f"| {f} | " + " | ".join(cells) + " |")
    lines.append(
        "| **spread** | "
        + " | ".join(_fmt(result["columns"][c].get("threshold_spread"), pct=False) for c in columns)
        + " |"
    )
    lines.append("")
    return "\n".join(lines)


def write_lofo(result: Mapping[str, Any], info: Mapping[str, Any], output_dir: str | Path) -> Path:
    """``lofo.json`` and ``lofo.md`` in ``output_dir``; returns the Markdown path."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "lofo.json").write_text(
        json.dumps({"data": info, **result}, indent=2, default=float) + "\n", encoding="utf-8"
    )
    path = output_dir / "lofo.md"
    path.write_text(render_lofo_table(result, info), encoding="utf-8")
    return path


def run_config_lofo(
    config: Any, output_dir: str | Path, progress: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """The ``[lofo]`` section of an experiment config: every column (first row), on the config's data.

    Writes ``lofo.json`` and ``lofo.md`` to ``output_dir``; returns the macro and
    minimum F1 of each column (for ``metrics.json``).
    """
    section = config.lofo
    data_path = config.data_path()
    darknet = data_path.parent / section.darknet_file if section.darknet_file else None
    if darknet is not None and not darknet.is_file():
        from drugwatch.evaluation.experiment import ConfigError

        raise ConfigError(
            f"lofo.darknet_file: {darknet} does not exist; set it to a file next to "
            f'{data_path.name} or to "" for posts only'
        )
    events, y, info = load_universe(
        data_path,
        darknet,
        darknet_max=section.darknet_max,
        negative_fraction=section.negative_fraction,
        dedup_threshold=config.data.dedup_threshold,
        seed=config.cv.seed,
    )
    row = config.train.row if config.train.row is not None else config.row_values()[0]
    factories = {
        config.columns[key].title: (lambda key=key: config.build_detector(key, row)) for key in config.column_keys()
    }
    if progress:
        progress(f"lofo: {info['n_events']} events ({info['n_positive']} positive), scheme {section.scheme}")
    result = run_lofo(factories, events, y, scheme=section.scheme, families=section.families or None, progress=progress)
    write_lofo(result, info, output_dir)
    return {name: {"macro_f1": col["macro_f1"], "min_f1": col["min_f1"]} for name, col in result["columns"].items()}

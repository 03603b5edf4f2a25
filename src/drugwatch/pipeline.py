"""The main job: the whole drugwatch flow on the bundled demo corpus.

``drugwatch demo`` runs it:

1. generate the demo corpus (seeded, synthetic) and write it as generic JSONL plus images;
2. import it into the store;
3. train the default fast detectors (``drugwatch.selling.v4``, ``drugwatch.drugtype.v3``) on a
   *second* demo corpus drawn with another seed, so the scan below is out of sample;
4. train the dealer-account model (``drugwatch.accounts.v1``) on that second corpus' accounts
   (truth: ``Account.dealer``, else ``meta["kind"] == "dealer"``) with
   :func:`drugwatch.accounts.service.train_account_model`, the function behind
   ``drugwatch accounts train`` and with its default configuration (our features, L1 + logistic
   regression, ``drugwatch.yang_luo_text.v1`` event detector); the accounts go through a temporary
   SQLite store, which that function reads;
5. scan the first corpus with the event detectors (in-process engine; resumable; bad records
   quarantined);
6. score the scanned corpus' accounts (the scan's accounts file, timelines rebuilt from the results)
   with the account model and write the scores;
7. write the report with those scores: dealer accounts are the accounts the model flags (HTML with
   plots, CSV tables, evidence bundles; personal data masked).

Everything lands under ``out_dir`` (default ``$DRUGWATCH_HOME/demo/seed-N``):
``demo.jsonl``, ``images/``, ``models/{selling,drugtype,account}/``, ``scan/results.jsonl``
(plus ``scan/results.accounts.jsonl``), ``scan/accounts_scores.jsonl`` and ``report/report.html``.
``DemoJobReport.quality`` holds, against the generator's truth on the scanned corpus (out of
sample): the selling detector's event-level precision / recall / F1, the account model's
account-level ones (``account_*``) and, for comparison, those of the report's fallback rule "an
account with at least one dealer event" (``account_rule_*``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drugwatch.io.importer import ImportReport, import_path
from drugwatch.store import Store, data_home

#: Offset of the training corpus' seed from the scanned corpus' seed.
TRAIN_SEED_OFFSET = 1000
#: The training corpus has this many times the scanned corpus' accounts. A demo
#: dealer sells a few drugs, so 120 accounts hold ~22 dealers and some drugs
#: only a handful of adverts (seed 1000: 3 cocaine, 35 LSD events); three times
#: as many accounts give every label enough examples (drug-type macro-F1 on
#: seed 0 goes from about 0.54 to 0.76) for about 20 s more training.
TRAIN_SCALE = 3

#: The dealer-account model's configuration: ``drugwatch accounts train``'s defaults.
ACCOUNT_MODEL_PARAMS: dict[str, Any] = {
    "features": "ours",
    "model": "logreg",
    "event_detector": "drugwatch.yang_luo_text.v1",
    "event_target": "is_drug",
}
#: Cross-validation folds of the account model on its training corpus (numbers on its model card).
ACCOUNT_MODEL_FOLDS = 5


@dataclass
class DemoJobReport:
    corpus_dir: Path
    corpus_file: Path
    store_url: str
    import_report: ImportReport
    corpus: dict[str, Any] = field(default_factory=dict)
    store: dict[str, Any] = field(default_factory=dict)
    #: The event detectors' model directories (``selling``, ``drugtype``).
    models: dict[str, Path] = field(default_factory=dict)
    #: The dealer-account model directory (``models/account``) and its training report.
    account_model: Path | None = None
    account_training: Any = None  #: drugwatch.accounts.service.TrainReport
    #: The scanned corpus' account scores (JSONL of ``AccountScore.as_dict()``).
    account_scores: Path | None = None
    scan: Any = None  #: drugwatch.scan.ScanReport
    results_file: Path | None = None
    report_html: Path | None = None
    report_dir: Path | None = None
    #: Detector quality on the scanned corpus against the generator's truth (out of sample).
    quality: dict[str, Any] = field(default_factory=dict)


def run_demo_job(
    *,
    db: str | None = None,
    out_dir: Path | None = None,
    seed: int = 0,
    n_accounts: int = 120,
    images: bool = True,
    scan: bool = True,
    engine: str = "local",
    on_step: Callable[[str], None] | None = None,
) -> DemoJobReport:
    """Generate, import, train, scan and report on the demo corpus (see the module docstring).

    ``scan=False`` stops after the import (the corpus and store only).
    """
    from drugwatch.demo import generate_demo, write_demo

    step = on_step or (lambda _message: None)
    out_dir = Path(out_dir) if out_dir else data_home() / "demo" / f"seed-{seed}"
    step(f"generating the demo corpus (seed {seed}, {n_accounts} accounts)")
    corpus = generate_demo(seed=seed, n_accounts=n_accounts, images=images)
    corpus_file = write_demo(corpus, out_dir)
    store = Store(db)
    step(f"importing {corpus_file} into {store.display_url}")
    report = import_path(corpus_file, store, fmt="jsonl", quarantine=out_dir / "quarantine.jsonl")
    labels: Counter[str] = Counter()
    for event in corpus.events:
        for label in event.labels or ():
            labels[label] += 1
    summary = {
        "accounts": len(corpus.accounts),
        "accounts_by_kind": dict(Counter(a.meta.get("kind", "?") for a in corpus.accounts)),
        "dealers": sum(1 for a in corpus.accounts if a.dealer),
        "networks": len(corpus.networks),
        "events": len(corpus.events),
        "posts": sum(1 for e in corpus.events if e.kind == "post"),
        "comments": sum(1 for e in corpus.events if e.kind == "comment"),
        "selling_events": sum(1 for e in corpus.events if e.selling),
        "events_with_images": sum(1 for e in corpus.events if e.images),
        "labels": dict(labels.most_common()),
    }
    job = DemoJobReport(
        corpus_dir=out_dir,
        corpus_file=corpus_file,
        store_url=store.display_url,
        import_report=report,
        corpus=summary,
        store=store.stats(),
    )
    if not scan:
        return job

    from drugwatch.report import (
        build_report,
        load_accounts,
        score_scan_accounts,
        write_account_scores,
    )
    from drugwatch.scan import run_scan
    from drugwatch.scan.sinks import accounts_path, read_results
    from drugwatch.scoring import EventScorer, train_default_detectors

    train_seed = seed + TRAIN_SEED_OFFSET
    step(
        f"training the default detectors on a separate demo corpus (seed {train_seed}, "
        f"{TRAIN_SCALE * n_accounts} accounts)"
    )
    training = generate_demo(seed=train_seed, n_accounts=TRAIN_SCALE * n_accounts, images=False)
    job.models = train_default_detectors(training.events, out_dir / "models", seed=seed, on_step=step)
    step(f"training the dealer-account model on the accounts of the same corpus (seed {train_seed})")
    job.account_training = _train_account_model(training, out_dir / "models" / "account", seed=seed)
    job.account_model = job.account_training.model_dir
    scorer = EventScorer.from_directories(job.models.values())
    results = out_dir / "scan" / "results.jsonl"
    step(f"scanning {corpus_file.name} ({engine} engine)")
    job.scan = run_scan(
        corpus_file,
        results,
        scorer=scorer,
        engine=engine,
        resume=False,
        overwrite=True,
        quarantine=out_dir / "scan" / "quarantine.jsonl",
    )
    job.results_file = results
    step("scoring the scanned accounts with the dealer-account model")
    scores = score_scan_accounts(read_results(results), load_accounts(accounts_path(results)), job.account_model)
    job.account_scores = write_account_scores(scores, out_dir / "scan" / "accounts_scores.jsonl")
    job.quality = {**_quality(results, corpus), **_account_quality(scores, results, corpus)}
    step("writing the report")
    out = build_report(results, out_dir / "report", title=f"drugwatch demo report (seed {seed})", account_scores=scores)
    job.report_dir = out.directory
    job.report_html = out.html
    return job


def _dealer_truth(account: Any) -> bool:
    """The generator's account truth: ``Account.dealer``, else ``meta["kind"] == "dealer"``."""
    if account.dealer is not None:
        return bool(account.dealer)
    return account.meta.get("kind") == "dealer"


def _train_account_model(training: Any, output: Path, *, seed: int) -> Any:
    """``drugwatch accounts train`` on the training corpus' accounts (via a temporary store)."""
    import tempfile

    from drugwatch.accounts.service import train_account_model

    accounts = [
        a if a.dealer is not None else a.model_copy(update={"dealer": _dealer_truth(a)}) for a in training.accounts
    ]
    with tempfile.TemporaryDirectory(prefix="drugwatch-account-training-") as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'training.sqlite'}")
        try:
            store.upsert([*accounts, *training.events])
            return train_account_model(
                store, output, params={**ACCOUNT_MODEL_PARAMS, "seed": seed}, n_splits=ACCOUNT_MODEL_FOLDS, seed=seed
            )
        finally:
            store.close()


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    from drugwatch.evaluation.metrics import precision_recall_f1

    precision, recall, f1 = precision_recall_f1(tp, fp, fn)
    return round(precision, 3), round(recall, 3), round(f1, 3)


def _account_quality(scores: list[Any], results: Path, corpus: Any) -> dict[str, Any]:
    """Account-level precision / recall / F1 of the account model and of the "a dealer event" rule."""
    from drugwatch.scan.sinks import read_results

    truth = {a.key: _dealer_truth(a) for a in corpus.accounts}
    flagged = {s.key: s.dealer for s in scores if s.key in truth}
    with_dealer_event = {f"{r.platform}:{r.author}" for r in read_results(results) if r.selling and r.author}
    out: dict[str, Any] = {}
    for prefix, predicted in (
        ("account", lambda k: flagged.get(k, False)),
        ("account_rule", lambda k: k in with_dealer_event),
    ):
        tp = sum(1 for k, t in truth.items() if t and predicted(k))
        fp = sum(1 for k, t in truth.items() if not t and predicted(k))
        fn = sum(1 for k, t in truth.items() if t and not predicted(k))
        p, r, f = _prf(tp, fp, fn)
        out.update({f"{prefix}_precision": p, f"{prefix}_recall": r, f"{prefix}_f1": f})
    out["accounts_scored"] = len(flagged)
    out["accounts_flagged"] = sum(1 for v in flagged.values() if v)
    out["dealer_accounts_true"] = sum(1 for t in truth.values() if t)
    return out


def _quality(results: Path, corpus: Any) -> dict[str, Any]:
    """Precision / recall / F1 of the selling detector on the scanned corpus (generator truth)."""
    from drugwatch.scan.sinks import read_results

    truth = {e.key: bool(e.selling) for e in corpus.events}
    tp = fp = fn = 0
    for r in read_results(results):
        if r.selling is None or r.key not in truth:
            continue
        tp += r.selling and truth[r.key]
        fp += r.selling and not truth[r.key]
        fn += (not r.selling) and truth[r.key]
    precision, recall, f1 = _prf(tp, fp, fn)
    return {"selling_precision": precision, "selling_recall": recall, "selling_f1": f1}

"""The main job: the whole drugwatch flow on the bundled demo corpus.

``drugwatch demo`` runs it:

1. generate the demo corpus (seeded, synthetic) and write it as generic JSONL plus images;
2. import it into the store;
3. train the default fast detectors (``drugwatch.selling.v1``, ``drugwatch.drugtype.v1``) on a
   *second* demo corpus drawn with another seed, so the scan below is out of sample;
4. scan the first corpus with them (in-process engine; resumable; bad records quarantined);
5. write the report (HTML with plots, CSV tables, evidence bundles; personal data masked).

Everything lands under ``out_dir`` (default ``$DRUGWATCH_HOME/demo/seed-N``):
``demo.jsonl``, ``images/``, ``models/{selling,drugtype}/``, ``scan/results.jsonl``
and ``report/report.html``.
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


@dataclass
class DemoJobReport:
    corpus_dir: Path
    corpus_file: Path
    store_url: str
    import_report: ImportReport
    corpus: dict[str, Any] = field(default_factory=dict)
    store: dict[str, Any] = field(default_factory=dict)
    models: dict[str, Path] = field(default_factory=dict)
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

    from drugwatch.report import build_report
    from drugwatch.scan import run_scan
    from drugwatch.scoring import EventScorer, train_default_detectors

    train_seed = seed + TRAIN_SEED_OFFSET
    step(f"training the default detectors on a separate demo corpus (seed {train_seed})")
    training = generate_demo(seed=train_seed, n_accounts=n_accounts, images=False)
    job.models = train_default_detectors(training.events, out_dir / "models", seed=seed, on_step=step)
    scorer = EventScorer.from_directories(job.models.values())
    results = out_dir / "scan" / "results.jsonl"
    step(f"scanning {corpus_file.name} ({engine} engine)")
    job.scan = run_scan(corpus_file, results, scorer=scorer, engine=engine, resume=False, overwrite=True,
                        quarantine=out_dir / "scan" / "quarantine.jsonl")
    job.results_file = results
    job.quality = _quality(results, corpus)
    step("writing the report")
    out = build_report(results, out_dir / "report", title=f"drugwatch demo report (seed {seed})")
    job.report_dir = out.directory
    job.report_html = out.html
    return job


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
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"selling_precision": round(precision, 3), "selling_recall": round(recall, 3), "selling_f1": round(f1, 3)}

"""The main job: the whole drugwatch flow on the bundled demo corpus.

``drugwatch demo`` runs it. At this stage: generate the demo corpus, write it
as generic JSONL plus images, import it into the store, and summarise. Later
stages (train, scan, report) extend this function, not the command line.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drugwatch.io.importer import ImportReport, import_path
from drugwatch.store import Store, data_home


@dataclass
class DemoJobReport:
    corpus_dir: Path
    corpus_file: Path
    store_url: str
    import_report: ImportReport
    corpus: dict[str, Any] = field(default_factory=dict)
    store: dict[str, Any] = field(default_factory=dict)


def run_demo_job(
    *,
    db: str | None = None,
    out_dir: Path | None = None,
    seed: int = 0,
    n_accounts: int = 120,
    images: bool = True,
    on_step: Callable[[str], None] | None = None,
) -> DemoJobReport:
    """Generate the demo corpus, import it into the store and summarise both."""
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
    return DemoJobReport(
        corpus_dir=out_dir,
        corpus_file=corpus_file,
        store_url=store.display_url,
        import_report=report,
        corpus=summary,
        store=store.stats(),
    )

"""``drugwatch demo``: the main job on the bundled demo corpus."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from drugwatch.cli._app import app
from drugwatch.cli.common import DbOption, console


@app.command("demo")
def demo_command(
    db: DbOption = None,
    out: Annotated[
        Path | None,
        typer.Option(
            help="Where to write the corpus, models, results and report. Default: $DRUGWATCH_HOME/demo/seed-N."
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Generator seed; the same seed gives the same corpus.")] = 0,
    accounts: Annotated[int, typer.Option(min=6, help="Number of accounts to generate.")] = 120,
    images: Annotated[bool, typer.Option("--images/--no-images", help="Draw images (slower).")] = True,
    scan: Annotated[bool, typer.Option("--scan/--no-scan", help="Train, scan and report after the import.")] = True,
    engine: Annotated[str, typer.Option(help="Scan engine: local or ray.")] = "local",
) -> None:
    """Run the main job on the demo corpus: generate, import, train, scan, report.

    The demo corpus is synthetic (a seeded generator with fake contacts), for
    demos and tests only; it is never derived from real data. The detectors
    and the dealer-account model are trained on a second demo corpus (another
    seed), so the scan and the account scores are out of sample; the report's
    dealer accounts are the accounts the model flags.
    """
    from drugwatch.cli.import_cmd import print_report
    from drugwatch.cli.scan_cmd import print_scan_report
    from drugwatch.pipeline import run_demo_job

    report = run_demo_job(
        db=db,
        out_dir=out,
        seed=seed,
        n_accounts=accounts,
        images=images,
        scan=scan,
        engine=engine,
        on_step=lambda message: console.print(f"[bold cyan]»[/] {message}"),
    )
    print_report(report.import_report)
    corpus = Table(title="demo corpus", show_header=False)
    corpus.add_column("what")
    corpus.add_column("value", justify="right")
    for name, value in report.corpus.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}: {v}" for k, v in value.items())
        corpus.add_row(name.replace("_", " "), str(value))
    console.print(corpus)
    stats = report.store
    console.print(
        f"store {report.store_url}: {stats['events']} events ({stats['comments']} comments), "
        f"{stats['unique_texts']} unique texts, {stats['accounts']} accounts"
    )
    console.print(f"corpus written to {report.corpus_dir}")
    if report.scan is not None:
        print_scan_report(report.scan)
        q = report.quality

        def prf(prefix: str) -> str:
            return (
                f"precision {q.get(prefix + '_precision')}, recall {q.get(prefix + '_recall')}, "
                f"F1 {q.get(prefix + '_f1')}"
            )

        console.print("on this corpus (out of sample, generator truth):")
        console.print(f"  selling detector (events): {prf('selling')}")
        if "account_f1" in q:
            console.print(
                f"  dealer-account model (accounts; {q['accounts_flagged']} of {q['accounts_scored']} "
                f"flagged, {q['dealer_accounts_true']} true dealers): {prf('account')}"
            )
            console.print(f"  rule 'an account with a dealer event' (accounts): {prf('account_rule')}")
        console.print(f"models: {report.corpus_dir / 'models'}")
        if report.account_scores is not None:
            console.print(f"account scores: {report.account_scores}")
        console.print(f"[bold green]report:[/] {report.report_html}")

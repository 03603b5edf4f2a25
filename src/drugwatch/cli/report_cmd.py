"""``drugwatch report RESULTS``: the HTML report, CSV tables and evidence bundles of a scan."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from drugwatch.cli._app import app
from drugwatch.cli.common import DbOption, ExitCode, console, fail


@app.command("report")
def report_command(
    results: Annotated[
        str, typer.Argument(help="Scan results: a .jsonl or .parquet file from `drugwatch scan`, or 'db'.")
    ] = "scan-results.jsonl",
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Report folder (report.html, tables/*.csv, evidence/).")
    ] = Path("report"),
    accounts: Annotated[
        Path | None,
        typer.Option(help="Accounts (generic JSONL). Default: RESULTS' .accounts.jsonl, or the store for 'db'."),
    ] = None,
    db: DbOption = None,
    run: Annotated[
        int | None, typer.Option(help="With 'db': the scan run id (default: the latest complete run).")
    ] = None,
    top: Annotated[int, typer.Option(min=1, help="Top accounts shown with evidence and bundled.")] = 20,
    unmask: Annotated[
        bool, typer.Option("--unmask", help="Show usernames, contacts and clear images. Logged.")
    ] = False,
    account_model: Annotated[
        Path | None,
        typer.Option(
            help="Dealer-account model directory (`drugwatch accounts train`): score the accounts with it; dealer accounts = those it flags."
        ),
    ] = None,
    account_scores: Annotated[
        Path | None,
        typer.Option(
            help="Account scores (JSONL of AccountScore, e.g. from `drugwatch demo`); dealer accounts = those flagged."
        ),
    ] = None,
) -> None:
    """Write a self-contained HTML report with plots, CSV tables and per-account evidence bundles.

    Tables: JMIR's characterization (hashtags per drug, hashtag kinds, contacts,
    threads with offers to sell and buy), DMML's label distribution, Yang &
    Luo's account figures, contact-linked networks and the top accounts.
    Dealer accounts are those with a dealer event, or, with --account-model
    or --account-scores, those the dealer-account model flags (the tables
    then use its probability). Personal data is masked unless --unmask
    (which is logged).
    """
    from drugwatch.models import ModelLoadError
    from drugwatch.report import build_report

    if account_model is not None and account_scores is not None:
        raise fail("give --account-model or --account-scores, not both", ExitCode.USAGE)
    try:
        out = build_report(
            results,
            output,
            accounts_path=accounts,
            db=db,
            run_id=run,
            unmask=unmask,
            top=top,
            account_model=account_model,
            account_scores=account_scores,
        )
    except (FileNotFoundError, LookupError, ModelLoadError, ValueError) as exc:
        raise fail(str(exc), ExitCode.USAGE) from None
    console.print(f"{out.n_events} events, {out.n_selling} dealer events; {len(out.bundles)} evidence bundles")
    definition = (
        "flagged by the dealer-account model"
        if out.dealer_definition == "account model"
        else "with at least one dealer event"
    )
    console.print(f"{out.n_dealer_accounts} dealer accounts ({definition})")
    console.print(f"tables: {out.directory / 'tables'}")
    if unmask:
        console.print("[yellow]personal data unmasked; logged in[/] " + str(out.directory / "unmask-log.jsonl"))
    console.print(f"report: {out.html}")

"""``drugwatch accounts``: train, score and link dealer accounts in a store.

drugwatch accounts train --output runs/accounts/model-best --features ours --model forest
drugwatch accounts score --model runs/accounts/model-best
drugwatch accounts link --dealers-only
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from drugwatch.cli._app import app
from drugwatch.cli.common import DbOption, ExitCode, console, fail

accounts_app = typer.Typer(help="Dealer accounts (Yang & Luo) and account linking.", no_args_is_help=True)
app.add_typer(accounts_app, name="accounts")


def _store(db: str | None):
    from drugwatch.store import Store

    return Store(db)


@accounts_app.command("train")
def train_command(
    output: Annotated[Path, typer.Option(help="Model directory to write.")],
    db: DbOption = None,
    features: Annotated[str, typer.Option(help="yang_luo (P, H1-H4, R1-R3, E) or ours (those plus ours).")] = "ours",
    model: Annotated[str, typer.Option(help="logreg (L1 selection + logistic regression) or forest.")] = "logreg",
    event_detector: Annotated[
        str, typer.Option(help="Registered event detector for drug-related events.")
    ] = "drugwatch.yang_luo_text.v1",
    event_target: Annotated[
        str, typer.Option(help="Event target: is_drug (labels), selling, or mentions (demo truth).")
    ] = "is_drug",
    folds: Annotated[int, typer.Option(min=0, max=20, help="Cross-validation folds for the model card (0: none).")] = 5,
    seed: Annotated[int, typer.Option(min=0)] = 0,
) -> None:
    """Cross-validate, then fit the dealer-account model on the store's labelled accounts."""
    from drugwatch.accounts.service import train_account_model

    params = {
        "features": features,
        "model": model,
        "event_detector": event_detector,
        "event_target": event_target,
        "seed": seed,
    }
    try:
        report = train_account_model(_store(db), output, params=params, n_splits=folds, seed=seed)
    except ValueError as exc:
        raise fail(str(exc), ExitCode.USAGE) from None
    console.print(
        f"trained on {report.n_accounts} accounts ({report.n_dealers} dealers); "
        f"features kept: {', '.join(report.selected_features)}"
    )
    for key, value in report.evaluation.items():
        console.print(f"  {key}: {value:.3f}" if isinstance(value, float) else f"  {key}: {value}")
    console.print(f"model written to {report.model_dir}")


@accounts_app.command("score")
def score_command(
    model: Annotated[Path, typer.Option(help="Model directory from `drugwatch accounts train`.")],
    db: DbOption = None,
    threshold: Annotated[
        float | None, typer.Option(min=0.0, max=1.0, help="Decision threshold (default: the model's).")
    ] = None,
    top: Annotated[int, typer.Option(min=0, help="Rows to print, highest first.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="Print every score as JSON lines.")] = False,
) -> None:
    """Score every stored account; the results go to the account_scores table."""
    from drugwatch.accounts.service import score_store
    from drugwatch.models import ModelLoadError

    try:
        run = score_store(_store(db), model, threshold=threshold)
    except (ModelLoadError, ValueError) as exc:
        raise fail(str(exc), ExitCode.USAGE) from None
    if as_json:
        for score in run.scores:
            console.print_json(json.dumps(score.as_dict()))
        return
    ranked = sorted(run.scores, key=lambda s: -s.probability)[:top]
    table = Table(title=f"account scores (run {run.run_id}): {run.n_dealers} of {len(run.scores)} flagged")
    for column in ("account", "dealer prob.", "flagged", "P", "E", "drugs"):
        table.add_column(column)
    for s in ranked:
        table.add_row(
            s.key,
            f"{s.probability:.3f}",
            "yes" if s.dealer else "",
            f"{s.features['P']:.2f}",
            f"{s.features['E']:.0f}",
            ", ".join(s.evidence.get("drugs", [])),
        )
    console.print(table)


@accounts_app.command("link")
def link_command(
    db: DbOption = None,
    dealers_only: Annotated[bool, typer.Option(help="Only accounts the latest score run flagged.")] = False,
    min_probability: Annotated[
        float | None, typer.Option(min=0.0, max=1.0, help="Only accounts scored at least this high.")
    ] = None,
    near_duplicate_threshold: Annotated[
        float, typer.Option(min=0.5, max=1.0, help="MinHash Jaccard for near-duplicate adverts.")
    ] = 0.7,
    as_json: Annotated[bool, typer.Option("--json", help="Print the networks as JSON.")] = False,
) -> None:
    """Link accounts by shared contacts and near-duplicate adverts; networks go to the account_networks table."""
    from drugwatch.accounts.service import link_store

    try:
        run = link_store(
            _store(db),
            dealers_only=dealers_only,
            min_probability=min_probability,
            near_duplicate_threshold=near_duplicate_threshold,
        )
    except ValueError as exc:
        raise fail(str(exc), ExitCode.USAGE) from None
    result = run.result
    if as_json:
        console.print_json(json.dumps(result.as_dict()))
        return
    table = Table(
        title=f"suspected networks (run {run.run_id}): {len(result.networks)} from "
        f"{result.graph.number_of_nodes()} accounts, {result.graph.number_of_edges()} links"
    )
    for column in ("network", "accounts", "shared contacts", "advert clusters"):
        table.add_column(column)
    for network in result.networks:
        clusters = sum(1 for e in network.evidence if e.type == "near_duplicate")
        members = "\n".join(network.label(a) for a in network.accounts)
        table.add_row(network.id, members, "\n".join(network.contacts), str(clusters))
    console.print(table)

"""``drugwatch annotate``: serve the annotation app, manage users and tasks,
export final labels and print agreement."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from drugwatch.cli._app import app
from drugwatch.cli.common import DbOption, ExitCode, console, fail

annotate_app = typer.Typer(help="The annotation web app: users, assignments, agreement, export.", no_args_is_help=True)
app.add_typer(annotate_app, name="annotate")

PASSWORD_ENV = "DRUGWATCH_ANNOTATE_PASSWORD"


def _settings(db: str | None):
    from drugwatch.annotate.settings import Settings

    settings = Settings()
    if db is not None:
        settings = settings.model_copy(update={"db": db})
    return settings


def _engine(db: str | None):
    import drugwatch.annotate.schema  # noqa: F401  (tables on Base before migrating)
    from drugwatch.store import Store

    return Store(_settings(db).db).engine


@annotate_app.command("serve")
def serve(
    db: DbOption = None,
    host: Annotated[
        str, typer.Option(help="Interface to listen on; 127.0.0.1 keeps it local (use a TLS proxy for a team).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8765,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Worker processes (PostgreSQL; SQLite is best with 1).")
    ] = 1,
) -> None:
    """Run the web app (uvicorn)."""
    import uvicorn

    settings = _settings(db)
    if settings.db is not None:
        os.environ["DRUGWATCH_DB"] = settings.db
    # Make sure the schema is there before workers start, and the secret exists.
    _engine(db)
    settings.signing_key()
    console.print(f"drugwatch annotate on http://{host}:{port}/ (Ctrl-C stops)")
    uvicorn.run(
        "drugwatch.annotate.app:create_app", factory=True, host=host, port=port, workers=workers, log_level="warning"
    )


@annotate_app.command("add-user")
def add_user(
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option(help="annotator, adjudicator or admin.")] = "annotator",
    db: DbOption = None,
) -> None:
    """Add a user or reset their password. The password comes from
    $DRUGWATCH_ANNOTATE_PASSWORD if set, else a hidden prompt; never from an
    argument, so it stays out of shell history and process lists."""
    from drugwatch.annotate.auth import check_role, create_user, make_hasher

    try:
        check_role(role)  # before asking for a password
    except ValueError as exc:
        raise fail(str(exc), ExitCode.USAGE) from None
    password = os.environ.get(PASSWORD_ENV)
    if not password:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    settings = _settings(db)
    try:
        uid = create_user(
            _engine(db), username, password, role, make_hasher(settings.argon2_time_cost, settings.argon2_memory_kib)
        )
    except ValueError as exc:
        raise fail(str(exc), ExitCode.USAGE) from None
    console.print(f"user {username!r} ({role}) saved, id {uid}")


@annotate_app.command("assign")
def assign(
    db: DbOption = None,
    k: Annotated[
        int | None,
        typer.Option(
            "--k", "-k", min=1, max=20, help="Annotators per event (default $DRUGWATCH_ANNOTATORS_PER_EVENT or 2)."
        ),
    ] = None,
    kind: Annotated[str | None, typer.Option(help="Only 'post' or 'comment' events.")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many events.")] = None,
    events: Annotated[
        Path | None,
        typer.Option("--events", help="File of event keys (platform:id), one per line.", exists=True, dir_okay=False),
    ] = None,
    annotator: Annotated[
        list[str] | None, typer.Option("--annotator", "-a", help="Only these annotators (repeatable).")
    ] = None,
) -> None:
    """Assign every event not yet assigned to k different annotators.

    With $DRUGWATCH_ANNOTATE_MODEL set (a saved detector), the pending queues
    are then ordered by the model's uncertainty, with diversity."""
    from drugwatch.annotate.service import assign as do_assign
    from drugwatch.annotate.service import load_scorer, prioritize

    if kind not in (None, "post", "comment"):
        raise fail("--kind must be 'post' or 'comment'", ExitCode.USAGE)
    keys = None
    if events is not None:
        keys = [line.strip() for line in events.read_text(encoding="utf-8").splitlines() if line.strip()]
    try:
        made = do_assign(
            _engine(db),
            k=k or _settings(db).annotators_per_event,
            event_keys=keys,
            kinds=[kind] if kind else None,
            limit=limit,
            annotators=annotator or None,
        )
    except ValueError as exc:
        raise fail(str(exc), ExitCode.USAGE) from None
    console.print(f"{made} new assignment(s)")
    settings = _settings(db)
    if made and settings.annotate_model is not None:
        ranked = prioritize(_engine(db), load_scorer(settings.annotate_model), diversity=settings.annotate_diversity)
        console.print(f"queues ordered by model uncertainty ({ranked} event(s))")


@annotate_app.command("export")
def export(
    output: Annotated[Path, typer.Argument(help="Output file (.jsonl or .parquet).")],
    db: DbOption = None,
    fmt: Annotated[str | None, typer.Option("--format", help="jsonl or parquet (default: from the file name).")] = None,
    min_annotators: Annotated[int, typer.Option(min=1, help="Annotators who must agree for a consensus label.")] = 2,
) -> None:
    """Write final labels (adjudicated or unanimous) for ``drugwatch train``."""
    from drugwatch.annotate.service import export_labels

    fmt = fmt or ("parquet" if output.suffix == ".parquet" else "jsonl")
    try:
        n = export_labels(_engine(db), output, fmt=fmt, min_annotators=min_annotators)
    except ValueError as exc:
        raise fail(str(exc), ExitCode.USAGE) from None
    console.print(f"{n} labelled event(s) written to {output}")


@annotate_app.command("agreement")
def agreement(
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Print Cohen's kappa per pair, Fleiss' kappa and Krippendorff's alpha per label."""
    from drugwatch.annotate.agreement import agreement_report
    from drugwatch.annotate.service import collect_answers
    from drugwatch.annotate.suggest import suggestion_report

    engine = _engine(db)
    report = agreement_report(collect_answers(engine))
    model = suggestion_report(engine)
    if as_json:
        typer.echo(json.dumps({**report.as_dict(), "suggestions": model}, indent=2))
        return

    def num(x: float | None) -> str:
        return "n/a" if x is None else f"{x:.3f}"

    console.print(f"{report.n_events} event(s) with two or more finished annotations")
    pairs = Table(title="Annotator pairs (Cohen's kappa)")
    for col in ("A", "B", "events", "units", "raw", "kappa labels", "kappa dealer"):
        pairs.add_column(col)
    for p in report.pairs:
        pairs.add_row(
            p.a, p.b, str(p.n_events), str(p.n_units), num(p.raw_agreement), num(p.kappa_labels), num(p.kappa_dealer)
        )
    console.print(pairs)
    labels = Table(title="Labels (Fleiss' kappa, Krippendorff's alpha)")
    for col in ("label", "units", "positive", "raw", "Fleiss kappa", "Krippendorff alpha"):
        labels.add_column(col)
    for lab in report.labels:
        labels.add_row(
            lab.label,
            str(lab.n_units),
            str(lab.n_positive),
            num(lab.raw_agreement),
            num(lab.fleiss_kappa),
            num(lab.krippendorff_alpha),
        )
    console.print(labels)
    if model["units"]:
        console.print(
            f"model suggestions accepted: {model['accepted']} of {model['units']} answers per level "
            f"({100 * model['acceptance_rate']:.1f}%); whole items {model['answers_accepted']} of {model['answers']}"
        )


@annotate_app.command("option")
def option(
    name: Annotated[str, typer.Argument(help="suggestions or blur_images")],
    value: Annotated[str, typer.Argument(help="on or off")],
    db: DbOption = None,
) -> None:
    """Set a project option: model suggestions on the item page (off for blind labels), blurred images."""
    from drugwatch.annotate.service import set_option

    flags = {"on": True, "true": True, "yes": True, "1": True, "off": False, "false": False, "no": False, "0": False}
    if value.lower() not in flags:
        raise fail(f"value must be on or off, not {value!r}", ExitCode.USAGE)
    try:
        set_option(_engine(db), name, flags[value.lower()])
    except ValueError as exc:
        raise fail(str(exc), ExitCode.USAGE) from None
    console.print(f"{name} = {'on' if flags[value.lower()] else 'off'}")

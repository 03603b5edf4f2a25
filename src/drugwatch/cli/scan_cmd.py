"""``drugwatch scan INPUT``: score a corpus with the detectors, streaming and resumable."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from drugwatch.cli._app import app
from drugwatch.cli.common import DbOption, ExitCode, console, fail, progress_bar

if TYPE_CHECKING:
    from drugwatch.scan.engine import ScanReport


def print_scan_report(report: ScanReport) -> None:
    table = Table(title=f"scan of {report.input} ({report.engine})")
    for name in ("read", "results", "accounts", "quarantined", "selling"):
        table.add_column(name, justify="right")
    counts = report.counts()
    table.add_row(*(str(counts[k]) for k in ("read", "results", "accounts", "quarantined", "selling")))
    console.print(table)
    models = ", ".join(
        f"{m['name']} (v{m['version']}, {m['task']}, data {str(m['fingerprint'])[:12]})" for m in report.models
    )
    console.print(f"models: {models}")
    if report.resumed_from:
        console.print(f"resumed after {report.resumed_from} records")
    if report.quarantined:
        console.print(f"[yellow]{report.quarantined} record(s) set aside in[/] {report.quarantine_path}")
        for reason, count in report.reasons.most_common(5):
            console.print(f"  {count:>6} × {reason}")
    rate = report.read / report.seconds if report.seconds else 0.0
    where = f"run {report.run_id} in the store" if report.run_id is not None else report.output
    console.print(f"results: {where} ({report.seconds:.1f} s, {rate:,.0f} records/s)")


@app.command("scan")
def scan_command(
    input: Annotated[
        str, typer.Argument(help="A .jsonl (drugwatch or bench kit) or .parquet file of events, or 'db' for the store.")
    ],
    output: Annotated[
        str,
        typer.Option("--output", "-o", help="Results: a .jsonl or .parquet path, or 'db' (the store's scan_results)."),
    ] = "scan-results.jsonl",
    model: Annotated[
        list[Path],
        typer.Option(
            "--model",
            help="A saved model directory (repeatable: one selling, one drugtype). Default: the fast detectors in $DRUGWATCH_HOME/models.",
        ),
    ] = [],  # noqa: B006
    ocr: Annotated[
        bool, typer.Option("--ocr/--no-ocr", help="Also read the images' text (contacts written on images).")
    ] = False,
    language: Annotated[
        str,
        typer.Option(
            help="Which events get their language: flagged (those the selling model marks or sends to review), "
            "all (about 0.3 ms per event) or none."
        ),
    ] = "flagged",
    db: DbOption = None,
    where: Annotated[
        str | None,
        typer.Option(help="With INPUT 'db': an SQL condition on the events table, e.g. \"platform = 'instagram'\"."),
    ] = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format", "-f", help="Input format: auto, jsonl, bench, images (the kit's images.jsonl), parquet or db."
        ),
    ] = "auto",
    engine: Annotated[str, typer.Option(help="local (in-process) or ray (Ray Data).")] = "local",
    workers: Annotated[int, typer.Option(min=1, help="Ray: scoring actors (each loads the models once).")] = 2,
    ray_address: Annotated[str | None, typer.Option(help="Ray: cluster address (default: local mode).")] = None,
    quarantine: Annotated[
        Path | None, typer.Option(help="Where to set aside bad records. Default: beside the output.")
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Events scored together.")] = 256,
    checkpoint_every: Annotated[int, typer.Option(min=1, help="Records between checkpoints.")] = 5000,
    restart: Annotated[bool, typer.Option("--restart", help="Ignore a checkpoint and start over.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an existing output file.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the counts as JSON.")] = False,
) -> None:
    """Score every event of INPUT: selling and drug-type probabilities, contacts, lexicon hits.

    Streams with bounded memory; an interrupted scan run again with the same
    arguments resumes at its last checkpoint. Bad records are set aside with
    file, line and reason, and the counts add up:
    read = results + accounts + quarantined. Exit code 3 when anything was quarantined.
    """
    from drugwatch.io.base import ReaderError
    from drugwatch.models.base import ModelLoadError
    from drugwatch.scan.engine import ScanError, run_scan

    if engine not in ("local", "ray"):
        raise fail(f"--engine must be 'local' or 'ray', got {engine!r}", ExitCode.USAGE)
    if language not in ("flagged", "all", "none"):
        raise fail(f"--language must be 'flagged', 'all' or 'none', got {language!r}", ExitCode.USAGE)
    try:
        with progress_bar(f"scanning {Path(input).name}") as (progress, task):
            report = run_scan(
                input,
                output,
                model_dirs=model,
                ocr=ocr,
                language=language,
                input_format=fmt,
                db=db,
                where=where,
                quarantine=quarantine,
                engine=engine,
                workers=workers,
                ray_address=ray_address,
                batch_size=batch_size,
                checkpoint_every=checkpoint_every,
                resume=not restart,
                overwrite=overwrite,
                on_progress=lambda n: progress.update(task, completed=n),
            )
    except (ReaderError, ScanError, ModelLoadError, FileNotFoundError, ValueError, ImportError) as exc:
        raise fail(str(exc), ExitCode.USAGE) from None
    if as_json:
        typer.echo(json.dumps(report.to_dict(), default=str))
    else:
        print_scan_report(report)
    if report.quarantined:
        raise typer.Exit(int(ExitCode.PARTIAL))

"""``drugwatch import``: read files into the store."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from drugwatch.cli._app import app
from drugwatch.cli.common import DbOption, ExitCode, console, fail, progress_bar
from drugwatch.io.formats import IMPORT_FORMATS

if TYPE_CHECKING:
    from drugwatch.io.importer import ImportReport


def _parse_mapping(items: list[str]) -> dict[str, str]:
    mapping = {}
    for item in items:
        field, sep, column = item.partition("=")
        if not sep or not field or not column:
            raise fail(f"--map expects FIELD=COLUMN, got {item!r}", ExitCode.USAGE)
        mapping[field.strip()] = column.strip()
    return mapping


def print_report(report: ImportReport) -> None:
    table = Table(title=f"import of {report.source} ({report.format})", show_header=True)
    table.add_column("read", justify="right")
    table.add_column("imported", justify="right")
    table.add_column("merged", justify="right")
    table.add_column("near-duplicate", justify="right")
    table.add_column("unchanged", justify="right")
    table.add_column("quarantined", justify="right")
    table.add_row(
        *(
            str(v)
            for v in (
                report.read,
                report.imported,
                report.merged,
                report.near_duplicate,
                report.unchanged,
                report.quarantined,
            )
        )
    )
    console.print(table)
    if report.skipped:
        console.print(f"{report.skipped} item(s) read and skipped as not records:")
        for reason, count in report.skipped_reasons.most_common(5):
            console.print(f"  {count:>6} × {reason}")
    if report.nul_removed:
        console.print(f"{report.nul_removed} record(s) stored with their NUL characters removed")
    if report.quarantined:
        console.print(f"[yellow]{report.quarantined} record(s) set aside in[/] {report.quarantine_path}")
        for reason, count in report.reasons.most_common(5):
            console.print(f"  {count:>6} × {reason}")


@app.command("import")
def import_command(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Files or folders to import (instaloader folders, *.json(.xz), Telegram Desktop result.json, *.jsonl, *.ndjson (Zeeschuimer, 4CAT Instagram or Telegram), *.csv; the last three may be .gz, .bz2 or .xz)."
        ),
    ],
    db: DbOption = None,
    fmt: Annotated[
        str, typer.Option("--format", "-f", help=f"Input format: auto or one of {', '.join(IMPORT_FORMATS)}.")
    ] = "auto",
    quarantine: Annotated[
        Path | None,
        typer.Option(
            help="Where to write records that cannot be imported (JSONL with file, line, reason). Default: $DRUGWATCH_HOME/quarantine/."
        ),
    ] = None,
    mapping: Annotated[
        list[str],
        typer.Option("--map", help="CSV only: FIELD=COLUMN, e.g. --map text=caption --map author=user. Repeatable."),
    ] = [],  # noqa: B006
    platform: Annotated[
        str, typer.Option(help="CSV only: the platform of rows without a platform column (e.g. telegram).")
    ] = "instagram",
    id_from: Annotated[
        str | None,
        typer.Option(
            "--id-from",
            help="CSV only: the column event ids come from, or several comma-separated columns whose cells are hashed into the id (e.g. author,created_at,text). Default: the id column, else a hash of the whole row.",
        ),
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Records per transaction.")] = 2000,
) -> None:
    """Import posts, comments and accounts into the store.

    Imports are idempotent (the same file twice changes nothing), records with
    the same platform id are merged, near-duplicate texts are clustered, and
    malformed records are set aside in a quarantine file with file, line and
    reason. The counts printed at the end always add up:
    read = imported + merged + near-duplicate + unchanged + quarantined
    (+ skipped: items that are not records, such as Telegram service messages).
    Exit code 3 when anything was quarantined.
    """
    from drugwatch.io.base import ReaderError
    from drugwatch.io.importer import import_path
    from drugwatch.store import Store

    csv_mapping = _parse_mapping(mapping) if mapping else None
    store = Store(db)
    console.print(f"store: {store.display_url}")
    any_quarantined = False
    for path in paths:
        try:
            with progress_bar(f"importing {path.name}") as (progress, task):
                report = import_path(
                    path,
                    store,
                    fmt=fmt,
                    quarantine=quarantine,
                    csv_mapping=csv_mapping,
                    csv_platform=platform,
                    csv_id_from=id_from.split(",") if id_from else None,
                    batch_size=batch_size,
                    on_progress=lambda n: progress.update(task, completed=n),
                )
        except ReaderError as exc:
            raise fail(str(exc), ExitCode.USAGE) from None
        print_report(report)
        any_quarantined |= report.quarantined > 0
    if any_quarantined:
        raise typer.Exit(int(ExitCode.PARTIAL))

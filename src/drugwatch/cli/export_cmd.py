"""``drugwatch export``: write the store to JSONL or Parquet."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from drugwatch.cli._app import app
from drugwatch.cli.common import DbOption, ExitCode, console, fail
from drugwatch.io.formats import EXPORT_FORMATS


@app.command("export")
def export_command(
    output: Annotated[Path, typer.Argument(help="File to write (.jsonl or .parquet).")],
    db: DbOption = None,
    fmt: Annotated[
        str | None,
        typer.Option("--format", "-f", help=f"One of {', '.join(EXPORT_FORMATS)}; default from the file name."),
    ] = None,
    what: Annotated[str, typer.Option(help="all (JSONL only), events or accounts.")] = "all",
) -> None:
    """Export events and accounts.

    JSONL is drugwatch's generic format and can be imported again with
    `drugwatch import`; Parquet (one record type per file) is for analysis
    in pandas, DuckDB or Spark.
    """
    from drugwatch.io.export import export_store
    from drugwatch.store import Store

    fmt = fmt or ("parquet" if output.suffix == ".parquet" else "jsonl")
    store = Store(db)
    try:
        counts = export_store(store, output, fmt=fmt, what=what)
    except ValueError as exc:
        raise fail(str(exc), ExitCode.USAGE) from None
    parts = ", ".join(f"{n} {name}" for name, n in counts.items())
    console.print(f"wrote {parts} to {output}")

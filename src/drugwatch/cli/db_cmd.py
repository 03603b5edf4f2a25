"""``drugwatch db``: inspect and migrate the store."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from drugwatch.cli._app import app
from drugwatch.cli.common import DbOption, console

db_app = typer.Typer(help="Inspect and migrate the store.", no_args_is_help=True)
app.add_typer(db_app, name="db")


@db_app.command("stats")
def stats_command(
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Counts of events, comments, unique texts (near-duplicate clusters), labels and accounts."""
    from drugwatch.store import Store

    stats = Store(db).stats()
    if as_json:
        console.print_json(json.dumps(stats))
        return
    table = Table(title="drugwatch store", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    for name, value in stats.items():
        if isinstance(value, dict):
            value = ", ".join(f"{k}: {v}" for k, v in sorted(value.items())) or "-"
        table.add_row(name.replace("_", " "), str(value))
    console.print(table)


@db_app.command("upgrade")
def upgrade_command(db: DbOption = None) -> None:
    """Migrate the store's schema to the latest revision (done on every open too)."""
    from drugwatch.store import Store

    store = Store(db)
    console.print(f"{store.display_url} is at schema revision {store.stats()['schema_revision']}")

"""``drugwatch serve``: the scoring API; ``drugwatch api-keys``: its keys.

drugwatch api-keys create "team laptop" --scope score --scope inspect
drugwatch api-keys list
drugwatch api-keys revoke k3j5x7q2ab
drugwatch serve --models runs/models --port 8080
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from drugwatch.cli._app import app
from drugwatch.cli.common import DbOption, ExitCode, console, fail

keys_app = typer.Typer(help="API keys of the scoring API (drugwatch serve).", no_args_is_help=True)
app.add_typer(keys_app, name="api-keys")


def _engine(db: str | None):
    import drugwatch.api.schema  # noqa: F401  (the table on Base before migrating)
    from drugwatch.store import Store

    return Store(db).engine


@app.command("serve")
def serve(
    db: DbOption = None,
    models: Annotated[
        Path | None,
        typer.Option(
            "--models",
            help="Model directory (selling/ and drugtype/). Default: $DRUGWATCH_API_MODELS, "
            "else $DRUGWATCH_HOME/models.",
            file_okay=False,
        ),
    ] = None,
    host: Annotated[
        str, typer.Option(help="Interface; 127.0.0.1 keeps it local (put a TLS proxy in front).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8080,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Worker processes; each loads the models and keeps its own rate limits.")
    ] = 1,
    watch: Annotated[
        float | None,
        typer.Option(min=0, help="Poll the model directory every N seconds and reload on change (0: off)."),
    ] = None,
) -> None:
    """Run the scoring API (uvicorn; request heads and bodies have time limits, see docs/api.md).
    Logs are JSON lines on stderr."""
    import uvicorn

    from drugwatch.api.app import models_directory
    from drugwatch.api.logs import configure_logging
    from drugwatch.api.modelset import load_model_set
    from drugwatch.api.settings import ApiSettings
    from drugwatch.models.base import ModelLoadError

    # Settings travel to the worker processes through the environment.
    if db is not None:
        os.environ["DRUGWATCH_DB"] = db
    if models is not None:
        os.environ["DRUGWATCH_API_MODELS"] = str(models.resolve())
    if watch is not None:
        os.environ["DRUGWATCH_API_WATCH_SECONDS"] = str(watch)
    settings = ApiSettings()
    _engine(settings.db)  # migrate once, before the workers start
    try:
        load_model_set(
            models_directory(settings), settings.api_account_model
        )  # fail here, with the reason, not in a worker
    except (ModelLoadError, OSError, ValueError) as exc:
        raise fail(str(exc), ExitCode.USAGE) from None
    configure_logging()
    docs = "docs /docs, " if settings.api_docs else ""
    console.print(f"drugwatch scoring API on http://{host}:{port}/ ({docs}schema /openapi.json; Ctrl-C stops)")
    uvicorn.run(
        "drugwatch.api.app:serving_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,  # our access log has no client address and no query
        # h11 with timeouts for reading a request head and body (uvicorn has none: slowloris).
        # By import path: worker processes import it themselves.
        http="drugwatch.api.server:TimedH11Protocol",
        timeout_keep_alive=settings.api_keep_alive_seconds,
        limit_concurrency=settings.api_limit_concurrency,
    )


@keys_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Who or what uses the key (shown in the list).")],
    scope: Annotated[list[str], typer.Option("--scope", "-s", help="score, inspect or admin (repeatable).")] = [
        "score"
    ],
    db: DbOption = None,
) -> None:
    """Create a key and print it once. Only its SHA-256 is stored."""
    from drugwatch.api.keys import ApiKeyError, create_key

    try:
        created = create_key(_engine(db), name, scope)
    except ApiKeyError as exc:
        raise fail(str(exc), ExitCode.USAGE) from None
    console.print(
        f"key {created.prefix} ({', '.join(created.scopes)}) for {created.name!r}; copy it now, it is not shown again:",
        highlight=False,
    )
    typer.echo(created.token)


@keys_app.command("list")
def list_command(
    db: DbOption = None,
    active: Annotated[bool, typer.Option("--active", help="Only keys not revoked.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per key.")] = False,
) -> None:
    """List keys: prefix, name, scopes, created, last used, revoked."""
    from drugwatch.api.keys import list_keys

    def when(value) -> str:
        return value.strftime("%Y-%m-%d %H:%M") if value else "—"

    keys = list_keys(_engine(db), include_revoked=not active)
    if as_json:
        for key in keys:
            typer.echo(
                json.dumps(
                    {
                        "id": key.id,
                        "prefix": key.prefix,
                        "name": key.name,
                        "scopes": list(key.scopes),
                        "created_at": key.created_at.isoformat(),
                        "last_used_at": key.last_used_at.isoformat() if key.last_used_at else None,
                        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
                    }
                )
            )
        return
    table = Table(title="API keys")
    for col in ("id", "prefix", "name", "scopes", "created", "last used", "revoked"):
        table.add_column(col, overflow="fold")
    for key in keys:
        table.add_row(
            str(key.id),
            key.prefix,
            key.name,
            ", ".join(key.scopes),
            when(key.created_at),
            when(key.last_used_at),
            when(key.revoked_at),
        )
    console.print(table)


@keys_app.command("revoke")
def revoke(
    key: Annotated[str, typer.Argument(help="The key's prefix (or id, or the whole key).")],
    db: DbOption = None,
) -> None:
    """Revoke a key. A running server stops accepting it within $DRUGWATCH_API_KEY_CACHE_SECONDS (10 s)."""
    from drugwatch.api.keys import ApiKeyError, revoke_key

    try:
        info = revoke_key(_engine(db), key)
    except ApiKeyError as exc:
        raise fail(str(exc), ExitCode.USAGE) from None
    console.print(f"key {info.prefix} ({info.name!r}) revoked at {info.revoked_at:%Y-%m-%d %H:%M:%S} UTC")

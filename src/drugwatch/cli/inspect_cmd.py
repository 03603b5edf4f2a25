"""``drugwatch inspect``: show what the text layer reads in a text.

drugwatch inspect "🍄 + ❄️ available, hmu on the 👻"
drugwatch inspect --file posts.txt        # one text per line; '-' for stdin
drugwatch inspect --json "x4n4x 2mg bars"
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from drugwatch.cli._app import app

if TYPE_CHECKING:
    from drugwatch.text.analyze import TextView

_STYLES = {
    "drug": "bold black on yellow",
    "sale": "bold black on cyan",
    "contact": "bold white on magenta",
    "hashtag": "underline",
}


def view_to_dict(view: TextView) -> dict[str, Any]:
    """A JSON-ready dict of a :class:`TextView` (spans index the raw text)."""
    return {
        "raw": view.raw,
        "normalized": view.text,
        "labels": list(view.labels),
        "hashtags": [
            {
                "tag": h.tag,
                "segments": list(h.analysis.segments),
                "category": h.analysis.kind,
                "labels": sorted(h.analysis.labels),
                "ambiguous": h.analysis.ambiguous,
                "raw_span": [h.raw_start, h.raw_end],
            }
            for h in view.hashtags
        ],
        "contacts": [
            {
                "kind": c.kind,
                "app": c.app,
                "value": c.value,
                "obfuscated": c.obfuscated,
                "raw_span": [c.raw_start, c.raw_end],
                "raw": view.raw[c.raw_start : c.raw_end],
            }
            for c in view.contacts
        ],
        "hits": [
            {
                "label": h.label,
                "term": h.term,
                "kind": h.kind,
                "ambiguous": h.ambiguous,
                "in_hashtag": h.in_hashtag,
                "span": [h.start, h.end],
                "raw_span": [h.raw_start, h.raw_end],
                "raw": view.raw[h.raw_start : h.raw_end],
            }
            for h in view.hits
        ],
    }


def _highlighted(view: TextView) -> Text:
    text = Text(view.raw)
    for tag in view.hashtags:
        text.stylize(_STYLES["hashtag"], tag.raw_start, tag.raw_end)
    for c in view.contacts:
        text.stylize(_STYLES["contact"], c.raw_start, c.raw_end)
    for hit in view.hits:
        text.stylize(_STYLES["drug" if hit.label else "sale"], hit.raw_start, hit.raw_end)
    return text


#: Rows shown per table; rich lays a table out in time that grows with its
#: rows (about 1-2 ms each), so a text with 20,000 hashtags would take a
#: minute. ``--json`` prints every item.
MAX_TABLE_ROWS = 200


def _more(console: Console, items: Sequence[object], what: str) -> None:
    if len(items) > MAX_TABLE_ROWS:
        console.print(f"[dim]… and {len(items) - MAX_TABLE_ROWS} more {what} (all of them with --json)[/dim]")


def _render(console: Console, view: TextView, index: int | None) -> None:
    title = "text" if index is None else f"text {index}"
    labels = ", ".join(view.labels) if view.labels else "none"
    console.print(
        Panel(_highlighted(view), title=f"{title} — drug labels: {labels}", title_align="left", border_style="cyan")
    )
    console.print(Text.assemble(("normalized: ", "bold"), view.text))
    if view.hits:
        table = Table(title="lexicon hits", title_justify="left", show_edge=False)
        for col in ("label", "term", "kind", "raw text", "raw span", "note"):
            table.add_column(col)
        for h in view.hits[:MAX_TABLE_ROWS]:
            note = ", ".join(
                n for n, on in (("ambiguous, context ok", h.ambiguous), ("inside hashtag", h.in_hashtag)) if on
            )
            table.add_row(
                h.label or "—",
                h.term,
                h.kind,
                view.raw[h.raw_start : h.raw_end],
                f"{h.raw_start}:{h.raw_end}",
                note,
                style="yellow" if h.label else "cyan",
            )
        console.print(table)
        _more(console, view.hits, "lexicon hits")
    if view.hashtags:
        table = Table(title="hashtags", title_justify="left", show_edge=False)
        for col in ("tag", "segments", "category", "labels"):
            table.add_column(col)
        for tag in view.hashtags[:MAX_TABLE_ROWS]:
            a = tag.analysis
            table.add_row(
                "#" + a.tag,
                " · ".join(a.segments),
                a.kind + (" (ambiguous)" if a.ambiguous else ""),
                ", ".join(sorted(a.labels)),
            )
        console.print(table)
        _more(console, view.hashtags, "hashtags")
    if view.contacts:
        table = Table(title="contacts", title_justify="left", show_edge=False)
        for col in ("kind", "app", "value", "raw text", "raw span"):
            table.add_column(col)
        for c in view.contacts[:MAX_TABLE_ROWS]:
            table.add_row(
                c.kind,
                c.app or "—",
                c.value + (" (obfuscated)" if c.obfuscated else ""),
                view.raw[c.raw_start : c.raw_end],
                f"{c.raw_start}:{c.raw_end}",
                style="magenta",
            )
        console.print(table)
        _more(console, view.contacts, "contacts")
    if not (view.hits or view.hashtags or view.contacts):
        console.print("[dim]no lexicon terms, hashtags or contacts[/dim]")


def _read_lines(path: str) -> list[str]:
    if path == "-":
        content = sys.stdin.read()
    else:
        p = Path(path)
        if not p.is_file():
            raise typer.BadParameter(f"no such file: {path}", param_hint="--file")
        content = p.read_text(encoding="utf-8")
    return [line for line in content.splitlines() if line.strip()]


@app.command("inspect")
def inspect_command(
    text: Annotated[str | None, typer.Argument(help="The text to inspect.")] = None,
    file: Annotated[
        str | None, typer.Option("--file", "-f", help="Read texts from a file, one per line ('-' for stdin).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (one object per text).")] = False,
) -> None:
    """Show the normalized text, hashtags, contacts and lexicon hits of a text."""
    if (text is None) == (file is None):
        raise typer.BadParameter("give either TEXT or --file PATH (not both)")
    texts = [text] if text is not None else _read_lines(file or "-")
    from drugwatch.text.analyze import analyze

    views = [analyze(t) for t in texts]
    if as_json:
        for view in views:
            typer.echo(json.dumps(view_to_dict(view), ensure_ascii=False))
        return
    console = Console(highlight=False)
    for i, view in enumerate(views, start=1):
        _render(console, view, i if len(views) > 1 else None)

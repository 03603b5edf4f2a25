"""``drugwatch lexicon``: propose new slang from a corpus, and accept it into a user lexicon.

    drugwatch lexicon discover posts.jsonl --top 30          # ranked candidates with examples
    drugwatch lexicon accept "zootie" marijuana --file my_lexicon.tsv
    DRUGWATCH_USER_LEXICON=my_lexicon.tsv drugwatch inspect "zootie for sale"

``discover`` reads JSON Lines (one object per line with a ``text`` field and
an optional ``id``; ``.gz``/``.bz2``/``.xz`` too), at most ``--limit`` lines,
each line under the importer's byte cap and each text's first 2,000
characters. Lines that cannot be read are counted and skipped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from drugwatch.cli._app import app

lexicon_app = typer.Typer(
    help="The drug lexicon: discover new slang, accept it into a user lexicon.", no_args_is_help=True
)
app.add_typer(lexicon_app, name="lexicon")


def _texts(path: Path, limit: int, skipped: list[int]):
    from drugwatch.io.base import Problem
    from drugwatch.io.jsonl import iter_json_lines

    for n, (number, _raw, obj) in enumerate(iter_json_lines(path)):
        if n >= limit:
            return
        if isinstance(obj, Problem) or not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
            skipped[0] += 1
            continue
        yield str(obj.get("id") or f"line {number}"), obj["text"]


@lexicon_app.command("discover")
def discover_cmd(
    corpus: Annotated[
        Path, typer.Argument(help="JSON Lines with a 'text' field per line", exists=True, dir_okay=False)
    ],
    top: Annotated[int, typer.Option(min=1, max=10_000, help="candidates shown")] = 30,
    min_count: Annotated[int, typer.Option(min=1, help="fewest texts in drug or sale context")] = 3,
    limit: Annotated[int, typer.Option(min=1, help="lines read at most")] = 200_000,
    as_json: Annotated[bool, typer.Option("--json", help="JSON Lines output")] = False,
) -> None:
    """Propose words that behave like drug names in selling contexts, ranked, with examples."""
    from drugwatch.lexicon.discover import discover

    skipped = [0]
    found = discover(_texts(corpus, limit, skipped), top=top, min_count=min_count, max_texts=limit)
    if as_json:
        for c in found:
            typer.echo(
                json.dumps(
                    {
                        "term": c.term,
                        "score": c.score,
                        "in_context": c.in_context,
                        "total": c.total,
                        "next_to_drug": c.next_to_drug,
                        "likely_label": c.likely_label,
                        "labels": c.labels,
                        "examples": [{"id": i, "text": t} for i, t in c.examples],
                    },
                    ensure_ascii=False,
                )
            )
    else:
        typer.echo(f"{'term':24} {'score':>7} {'context':>8} {'total':>6} {'near':>5}  likely label  example")
        for c in found:
            example = c.examples[0][1].replace("\n", " ")[:70] if c.examples else ""
            typer.echo(
                f"{c.term:24} {c.score:7.3f} {c.in_context:8d} {c.total:6d} {c.next_to_drug:5d}  "
                f"{(c.likely_label or '-'):12}  {example}"
            )
    if skipped[0]:
        typer.echo(f"{skipped[0]} lines skipped (not a JSON object with a 'text' string)", err=True)


@lexicon_app.command("accept")
def accept_cmd(
    term: Annotated[str, typer.Argument(help="the term, as written")],
    label: Annotated[str, typer.Argument(help="its drug label (marijuana, cocaine, ...)")],
    file: Annotated[Path, typer.Option("--file", help="user lexicon file (created when absent)")],
    kind: Annotated[str, typer.Option(help="name, brand, street, misspelling, hashtag or form")] = "street",
    ambiguous: Annotated[bool, typer.Option(help="the term also has an ordinary meaning")] = False,
    note: Annotated[str, typer.Option(help="why it was accepted")] = "",
) -> None:
    """Add a reviewed term to a user lexicon file (set DRUGWATCH_USER_LEXICON to use it)."""
    from drugwatch.lexicon.discover import append_user_entry

    try:
        append_user_entry(file, term, label, kind=kind, ambiguous=ambiguous, note=note)
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"added {term!r} ({label}, {kind}) to {file}")

"""Pieces every command shares: the --db option, exit codes, progress, errors."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

console = Console()
err_console = Console(stderr=True)


def plain_progress(message: str) -> None:
    """Print a progress line to stderr as plain text ("[with_hashtags]" is not rich markup)."""
    err_console.print(message, markup=False, highlight=False, soft_wrap=True)


class ExitCode(enum.IntEnum):
    """Process exit codes (documented in ``drugwatch --help``)."""

    OK = 0
    ERROR = 1
    USAGE = 2
    PARTIAL = 3  # finished, but some records were quarantined


DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Store URL (sqlite:///path, postgresql://user@host/db) or a SQLite file path. "
        "Default: $DRUGWATCH_DB, else ~/.local/share/drugwatch/drugwatch.sqlite ($DRUGWATCH_HOME).",
        show_default=False,
    ),
]


def fail(message: str, code: int = ExitCode.ERROR) -> typer.Exit:
    """Print ``message`` as an error and return the Exit to raise.

    ``code`` is an :class:`ExitCode` or a command's own exit-code enum
    (``drugwatch collect`` has more codes than the others).

    The message is printed as it is: not read as rich markup (a path may hold
    "[...]") and not wrapped at the terminal width (so a long path stays on
    one line, whole, to be copied).
    """
    err_console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True)
    return typer.Exit(int(code))


@contextmanager
def progress_bar(description: str, total: int | None = None) -> Iterator[tuple[Progress, TaskID]]:
    """A rich progress bar on stderr (hidden when stderr is not a terminal)."""
    # Imported here: rich.progress costs every command's start-up, --help included.
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    progress = Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )
    with progress:
        task = progress.add_task(description, total=total)
        yield progress, task

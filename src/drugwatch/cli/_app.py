"""The bare ``drugwatch`` Typer app, on which each ``*_cmd`` module registers its commands.

It lives apart from :mod:`drugwatch.cli` so that a command module can be
imported on its own (``drugwatch.cli.main`` imports only the module of the
command it runs) without pulling in every other command module.
"""

from __future__ import annotations

import typer

app = typer.Typer(
    name="drugwatch",
    help="Find and characterize illicit drug trafficking on social media.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    # Plain help: rich help formatting adds about 0.35 s to every --help.
    rich_markup_mode=None,
)


@app.callback()
def _root() -> None:
    # Without a callback, Typer runs an app holding one registered command as
    # that command itself, so `drugwatch inspect TEXT` (only `inspect`
    # registered) would read "inspect" as its TEXT. The callback keeps the app
    # a command group however many commands are registered; the app's help
    # text comes from `help=` above, not from this function.
    pass

"""The ``drugwatch`` command line.

One module per command group; each parses arguments and calls one typed
library function, so no logic lives here.
"""

from __future__ import annotations

import importlib

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

# Each module registers its commands on ``app`` when imported.
_COMMAND_MODULES = (
    "drugwatch.cli.demo_cmd",
    "drugwatch.cli.import_cmd",
    "drugwatch.cli.export_cmd",
    "drugwatch.cli.db_cmd",
    "drugwatch.cli.inspect_cmd",
    "drugwatch.cli.train_cmd",
    "drugwatch.cli.evaluate_cmd",
    "drugwatch.cli.annotate_cmd",
    "drugwatch.cli.collect_cmd",
    "drugwatch.cli.scan_cmd",
    "drugwatch.cli.report_cmd",
    "drugwatch.cli.serve_cmd",
    "drugwatch.cli.accounts_cmd",
    "drugwatch.cli.lexicon_cmd",
)

for _name in _COMMAND_MODULES:
    importlib.import_module(_name)


def main() -> None:
    app()

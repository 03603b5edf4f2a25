"""The ``drugwatch`` command line.

One module per command group; each parses arguments and calls one typed
library function, so no logic lives here.

Each ``drugwatch.cli.*_cmd`` module registers its commands on the Typer app
of :mod:`drugwatch.cli._app` when it is imported. Two ways in:

- :func:`main` (the ``drugwatch`` script and ``python -m drugwatch``) looks at
  the first argument: when it names a command or command group of
  :data:`COMMAND_MODULES`, only that command's module is imported, which
  saves the import of the other thirteen on every run. Anything else (no
  arguments, ``--help``, an option first, an unknown name) imports every
  module, so help listings and "No such command" errors are those of the
  full app.
- ``drugwatch.cli.app`` (``from drugwatch.cli import app``, as the tests and
  ``CliRunner`` use it) is always the fully registered app: the attribute is
  resolved on first access (a module ``__getattr__``), which imports every
  command module.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING

from drugwatch.cli._app import app as _root

if TYPE_CHECKING:
    from drugwatch.cli._app import app

__all__ = ["COMMAND_MODULES", "app", "main", "module_for"]

# Command or command-group name -> the module that registers it, in the order
# `drugwatch --help` lists them (commands, then groups, each by module).
# tests/test_cli_lazy.py checks this map against what each module registers.
COMMAND_MODULES: dict[str, str] = {
    "demo": "drugwatch.cli.demo_cmd",
    "import": "drugwatch.cli.import_cmd",
    "export": "drugwatch.cli.export_cmd",
    "db": "drugwatch.cli.db_cmd",
    "inspect": "drugwatch.cli.inspect_cmd",
    "train": "drugwatch.cli.train_cmd",
    "evaluate": "drugwatch.cli.evaluate_cmd",
    "annotate": "drugwatch.cli.annotate_cmd",
    "collect": "drugwatch.cli.collect_cmd",
    "scan": "drugwatch.cli.scan_cmd",
    "report": "drugwatch.cli.report_cmd",
    "api-keys": "drugwatch.cli.serve_cmd",
    "serve": "drugwatch.cli.serve_cmd",
    "accounts": "drugwatch.cli.accounts_cmd",
    "lexicon": "drugwatch.cli.lexicon_cmd",
}


def module_for(args: list[str]) -> str | None:
    """The one command module to import before parsing ``args`` (``sys.argv[1:]``), or None for all.

    Only the first argument is looked at: the top-level app takes no option
    but ``--help``, which prints the full listing, so a command named later
    (``drugwatch --help inspect``) still needs every module.
    """
    return COMMAND_MODULES.get(args[0]) if args else None


def _import_all() -> None:
    for module in dict.fromkeys(COMMAND_MODULES.values()):
        importlib.import_module(module)
    # A command module imported on its own before this (a test importing
    # `drugwatch.cli.collect_cmd` first) registers out of turn; list every
    # command in the same order however the modules were first imported.
    order = {name: i for i, name in enumerate(COMMAND_MODULES)}
    _root.registered_commands.sort(key=lambda info: order.get(info.name or "", len(order)))
    _root.registered_groups.sort(key=lambda info: order.get(info.name or "", len(order)))


def __getattr__(name: str) -> object:
    # `drugwatch.cli.app` is the fully registered app; resolved here, on first
    # access, so that importing this package (as `main` does) registers nothing.
    if name == "app":
        _import_all()
        globals()["app"] = _root
        return _root
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """Run the command line on ``sys.argv``, importing only the command modules it needs."""
    module = module_for(sys.argv[1:])
    if module is None:
        _import_all()
    else:
        importlib.import_module(module)
    _root()

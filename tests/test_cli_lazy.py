"""`drugwatch.cli.main` imports only the module of the command it runs.

The command -> module map (`drugwatch.cli.COMMAND_MODULES`) is checked
against what each module registers, in a fresh interpreter; a command run
through `main` in a fresh interpreter must load no other command module and
print what the fully registered app prints.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import drugwatch.cli
from drugwatch.cli import COMMAND_MODULES, app, module_for

CLI_DIR = Path(drugwatch.cli.__file__).parent

# Runs `main` as `python -m drugwatch` does, then prints (to stderr, after the
# command's own exit) the `drugwatch.cli.*` modules the run loaded.
_RUN_MAIN = """
import atexit, json, runpy, sys
atexit.register(lambda: print("CLI_MODULES=" + json.dumps(
    sorted(m for m in sys.modules if m.startswith("drugwatch.cli."))), file=sys.stderr))
sys.argv = ["drugwatch", *sys.argv[1:]]
runpy.run_module("drugwatch", run_name="__main__", alter_sys=True)
"""

# Imports each command module in turn into a fresh interpreter and prints the
# command and group names each one added to the app.
_REGISTRATIONS = """
import importlib, json, sys
from typer.main import get_command_name
import drugwatch.cli
from drugwatch.cli._app import app
assert not [m for m in sys.modules if m.endswith("_cmd")], "importing drugwatch.cli loaded a command module"
def names():
    found = {c.name or get_command_name(c.callback.__name__) for c in app.registered_commands}
    return found | {g.name or g.typer_instance.info.name for g in app.registered_groups}
seen, added = set(), {}
for module in dict.fromkeys(drugwatch.cli.COMMAND_MODULES.values()):
    importlib.import_module(module)
    added[module] = sorted(names() - seen)
    seen |= names()
print(json.dumps(added))
"""

_ENV = {"NO_COLOR": "1", "COLUMNS": "100", "TERM": "dumb"}


def _run_main(args: list[str]) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run `main` on `args` in a fresh interpreter; the process and the `drugwatch.cli.*` modules it loaded."""
    done = subprocess.run(
        [sys.executable, "-c", _RUN_MAIN, *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={**os.environ, **_ENV},
        timeout=120,
        check=False,
    )
    head, sep, marker = done.stderr.rpartition("CLI_MODULES=")
    assert sep, done.stderr
    done.stderr = head
    return done, json.loads(marker)


def _run_full_app(args: list[str]) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of the fully registered app on `args`, in this process."""
    # The runner forces an 80-column help; a process with COLUMNS >= 80 wraps at 78.
    result = CliRunner().invoke(app, args, prog_name="python -m drugwatch", env=_ENV, terminal_width=78)
    return result.exit_code, result.stdout, result.stderr


def test_command_map_equals_what_the_modules_register() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _REGISTRATIONS], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    registered = json.loads(done.stdout)
    expected: dict[str, list[str]] = {}
    for name, module in COMMAND_MODULES.items():
        expected.setdefault(module, []).append(name)
    assert registered == {module: sorted(names) for module, names in expected.items()}
    # A new command module must be added to the map, or `main` never imports it.
    on_disk = {f"drugwatch.cli.{p.stem}" for p in CLI_DIR.glob("*_cmd.py")}
    assert on_disk == set(COMMAND_MODULES.values())


def test_full_app_lists_every_command_in_map_order() -> None:
    # Tests import single command modules before `app` (test_collect.py does);
    # the listing order must not depend on that.
    import drugwatch.cli.collect_cmd  # noqa: F401

    commands = [c.name for c in app.registered_commands]
    groups = [g.name for g in app.registered_groups]
    assert commands + groups == [n for n in COMMAND_MODULES if n in commands] + [
        n for n in COMMAND_MODULES if n in groups
    ]
    assert set(commands) | set(groups) == set(COMMAND_MODULES)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], None),
        (["--help"], None),
        (["--help", "inspect"], None),
        (["nonsense", "inspect"], None),
        (["insp"], None),
        (["inspect", "some text"], "drugwatch.cli.inspect_cmd"),
        (["api-keys", "list"], "drugwatch.cli.serve_cmd"),
        (["serve", "--port", "8000"], "drugwatch.cli.serve_cmd"),
        (["lexicon", "discover"], "drugwatch.cli.lexicon_cmd"),
    ],
)
def test_module_for_picks_one_module_only_for_a_leading_command(args: list[str], expected: str | None) -> None:
    assert module_for(args) == expected


def test_inspect_through_main_loads_only_inspect_and_reads_its_text() -> None:
    text = "selling c0ke and xanax bars, snap @plug_uk #420"
    done, modules = _run_main(["inspect", "--json", text])
    assert done.returncode == 0, done.stderr
    assert modules == ["drugwatch.cli._app", "drugwatch.cli.inspect_cmd"]
    # With one command registered the app must still read "inspect" as the
    # command name, not as TEXT: the output is that of the full app.
    view = json.loads(done.stdout)
    assert view["raw"] == text
    code, full, _ = _run_full_app(["inspect", "--json", text])
    assert code == 0
    assert json.loads(full) == view


@pytest.mark.parametrize(
    "args",
    [["inspect", "--help"], ["scan", "--help"], ["lexicon", "--help"], ["api-keys", "--help"], ["inspect"]],
)
def test_help_and_errors_through_main_match_the_full_app(args: list[str]) -> None:
    done, modules = _run_main(args)
    assert [m for m in modules if m.endswith("_cmd")] == [COMMAND_MODULES[args[0]]]
    assert (done.returncode, done.stdout, done.stderr) == _run_full_app(args)


def test_top_level_help_and_unknown_commands_load_every_module() -> None:
    for args in (["--help"], ["nonsense"]):
        done, modules = _run_main(args)
        assert {m for m in modules if m.endswith("_cmd")} == set(COMMAND_MODULES.values())
        assert (done.returncode, done.stdout, done.stderr) == _run_full_app(args)

"""The foundation commands through Typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from drugwatch.cli import app
from drugwatch.cli.common import ExitCode

runner = CliRunner()


def _corpus(tmp_path: Path) -> Path:
    path = tmp_path / "in.jsonl"
    rows = [
        {"record_type": "account", "username": "demo_plug", "followers": 1, "following": 50, "dealer": True},
        {"id": "1", "text": "bars in stock #xanax", "author": "demo_plug", "labels": ["xanax"], "selling": True},
        {"id": "2", "kind": "comment", "parent_id": "1", "post_id": "1", "text": "price?", "author": "demo_b"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n{oops\n", encoding="utf-8")
    return path


def test_import_stats_export(tmp_path: Path) -> None:
    db = str(tmp_path / "cli.sqlite")
    source = _corpus(tmp_path)
    result = runner.invoke(app, ["import", str(source), "--db", db, "--quarantine", str(tmp_path / "q.jsonl")])
    assert result.exit_code == ExitCode.PARTIAL, result.output
    assert "1 record(s) set aside" in result.output
    assert json.loads((tmp_path / "q.jsonl").read_text())["locator"] == "line 4"

    again = runner.invoke(app, ["import", str(source), "--db", db, "--quarantine", str(tmp_path / "q2.jsonl")])
    assert again.exit_code == ExitCode.PARTIAL
    assert "│    4 │        0 │      0 │              0 │         3 │           1 │" in again.output

    stats = runner.invoke(app, ["db", "stats", "--db", db, "--json"])
    assert stats.exit_code == 0, stats.output
    data = json.loads(stats.output)
    assert (data["events"], data["comments"], data["accounts"], data["dealer_accounts"], data["import_runs"]) == (
        2,
        1,
        1,
        1,
        2,
    )

    out = tmp_path / "out.jsonl"
    exported = runner.invoke(app, ["export", str(out), "--db", db])
    assert exported.exit_code == 0, exported.output
    assert "wrote 1 accounts, 2 events" in exported.output
    assert [json.loads(line)["record_type"] for line in out.read_text().splitlines()] == ["account", "event", "event"]


def test_db_env_var_selects_the_store(tmp_path: Path, monkeypatch) -> None:
    db = tmp_path / "env.sqlite"
    monkeypatch.setenv("DRUGWATCH_DB", str(db))
    assert (
        runner.invoke(app, ["import", str(_corpus(tmp_path)), "--quarantine", str(tmp_path / "q.jsonl")]).exit_code
        == ExitCode.PARTIAL
    )
    assert db.exists()


def test_errors_are_clear(tmp_path: Path) -> None:
    result = runner.invoke(app, ["import", str(tmp_path / "nope.jsonl"), "--db", str(tmp_path / "x.sqlite")])
    assert result.exit_code == ExitCode.USAGE
    assert "no such file or folder" in result.output
    bad_map = runner.invoke(
        app, ["import", str(_corpus(tmp_path)), "--map", "text", "--db", str(tmp_path / "x.sqlite")]
    )
    assert bad_map.exit_code == ExitCode.USAGE and "FIELD=COLUMN" in bad_map.output


def test_every_command_has_help() -> None:
    for command in (["import"], ["export"], ["db", "stats"], ["demo"]):
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0, (command, result.output)
        assert "Usage" in result.output


def test_demo_main_job(tmp_path: Path) -> None:
    db = tmp_path / "demo.sqlite"
    out = tmp_path / "corpus"
    result = runner.invoke(app, ["demo", "--db", str(db), "--out", str(out), "--accounts", "12", "--no-images"])
    assert result.exit_code == 0, result.output
    lines = (out / "demo.jsonl").read_text().splitlines()
    stats = runner.invoke(app, ["db", "stats", "--db", str(db), "--json"])
    data = json.loads(stats.output)
    assert data["accounts"] == 12
    assert data["accounts"] + data["events"] == len(lines)
    assert data["unique_texts"] < data["events"]  # dealers repeat adverts
    # The main job is idempotent: a second run changes nothing in the store.
    again = runner.invoke(app, ["demo", "--db", str(db), "--out", str(out), "--accounts", "12", "--no-images"])
    assert again.exit_code == 0
    assert json.loads(runner.invoke(app, ["db", "stats", "--db", str(db), "--json"]).output)["events"] == data["events"]


def test_errors_print_long_paths_whole_and_without_markup(tmp_path: Path) -> None:
    """An error naming a long path keeps it on one line (copyable), and "[...]" in it is not rich markup."""
    missing = tmp_path / ("a-very-long-directory-name-" * 4) / "[bold]model[/bold]"
    result = runner.invoke(app, ["accounts", "score", "--db", str(tmp_path / "x.sqlite"), "--model", str(missing)])
    assert result.exit_code == ExitCode.USAGE
    assert f"{missing} is not a model directory" in result.output  # one line, brackets kept

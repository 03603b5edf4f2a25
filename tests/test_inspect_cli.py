"""``drugwatch inspect``."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from drugwatch.cli import app

runner = CliRunner()


def test_inspect_text_shows_every_section() -> None:
    result = runner.invoke(app, ["inspect", "🍄 + ❄️ hmu wickr: demo_plug7 #2mgxanax"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "mushroom + snow" in out
    assert "lexicon hits" in out and "hashtags" in out and "contacts" in out
    assert "2mg · xanax" in out
    assert "demo_plug7" in out


def test_inspect_json() -> None:
    result = runner.invoke(app, ["inspect", "--json", "x4n4x bars"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["normalized"] == "xanax bars"
    assert data["labels"] == ["xanax"]
    hit = data["hits"][0]
    assert hit["raw"] == "x4n4x bars" and hit["raw_span"] == [0, 10]


def test_inspect_file_and_stdin(tmp_path: Path) -> None:
    path = tmp_path / "texts.txt"
    path.write_text("Md□ma 1g\n\nnothing here\n", encoding="utf-8")
    result = runner.invoke(app, ["inspect", "--json", "--file", str(path)])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [r["labels"] for r in rows] == [["mdma"], []]
    result = runner.invoke(app, ["inspect", "--file", "-"], input="C*ke plug\n")
    assert result.exit_code == 0, result.output
    assert "coke" in result.output


def test_inspect_needs_exactly_one_source(tmp_path: Path) -> None:
    result = runner.invoke(app, ["inspect"])
    assert result.exit_code != 0
    assert "either TEXT or --file" in result.output
    result = runner.invoke(app, ["inspect", "--file", str(tmp_path / "missing.txt")])
    assert result.exit_code != 0
    assert "no such file" in result.output


def test_inspect_tables_are_capped_and_say_how_many_more() -> None:
    from drugwatch.cli.inspect_cmd import MAX_TABLE_ROWS

    text = " ".join(f"#tag{i}x" for i in range(MAX_TABLE_ROWS + 50))
    result = runner.invoke(app, ["inspect", text])
    assert result.exit_code == 0, result.output
    assert "… and 50 more hashtags" in result.output
    rows = [line for line in result.output.splitlines() if "│ tag ·" in line]
    assert len(rows) == MAX_TABLE_ROWS
    shown = runner.invoke(app, ["inspect", "--json", text])
    assert len(json.loads(shown.output)["hashtags"]) == MAX_TABLE_ROWS + 50

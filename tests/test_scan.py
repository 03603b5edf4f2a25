"""drugwatch scan: counts add up, bad records quarantined, resume = uninterrupted, all inputs and outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from drugwatch.cli import app
from drugwatch.cli.common import ExitCode
from drugwatch.demo import generate_demo, write_demo
from drugwatch.io.export import write_parquet
from drugwatch.io.importer import import_path
from drugwatch.records import Event
from drugwatch.scan import ScanError, run_scan
from drugwatch.scan.sinks import accounts_path, read_results
from drugwatch.scoring import EventScorer, train_default_detectors
from drugwatch.store import Store

runner = CliRunner()

BAD_LINES = [
    "{not json",
    "[1, 2, 3]",
    json.dumps({"record_type": "event", "id": "c9", "kind": "comment", "text": "reply without a parent"}),
    json.dumps({"record_type": "event", "id": "l9", "text": "x", "labels": ["weed"]}),
]


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    corpus = generate_demo(seed=21, n_accounts=10, images=False)
    return train_default_detectors(corpus.events, tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def scorer(models: dict[str, Path]) -> EventScorer:
    return EventScorer.from_directories(models.values())


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo corpus (accounts + events) with bad lines spliced in."""
    root = tmp_path_factory.mktemp("corpus")
    path = write_demo(generate_demo(seed=4, n_accounts=8, images=False), root)
    lines = path.read_text(encoding="utf-8").splitlines()
    for offset, bad in enumerate(BAD_LINES):
        lines.insert(20 + 37 * offset, bad)
    lines.insert(5, "")  # blank lines are skipped, not counted
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def _events_only(corpus_dir: Path, tmp_path: Path) -> Path:
    out = tmp_path / "events.jsonl"
    with open(corpus_dir / "demo.jsonl", encoding="utf-8") as src, open(out, "w", encoding="utf-8") as dst:
        for line in src:
            if '"record_type":"account"' not in line.replace(" ", ""):
                dst.write(line)
    return out


def _lines(path: Path) -> int:
    return sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


def test_counts_in_equal_results_plus_quarantined(corpus_dir: Path, scorer: EventScorer, tmp_path: Path) -> None:
    source = _events_only(corpus_dir, tmp_path)
    report = run_scan(source, tmp_path / "out.jsonl", scorer=scorer)
    n_in = _lines(source)
    assert report.accounts == 0
    assert report.read == n_in == report.results + report.quarantined
    assert report.quarantined == len(BAD_LINES)
    assert _lines(tmp_path / "out.jsonl") == report.results + 1  # the header line
    assert sum(1 for _ in read_results(tmp_path / "out.jsonl")) == report.results
    problems = [json.loads(line) for line in Path(report.quarantine_path).read_text().splitlines()]
    assert len(problems) == report.quarantined
    assert all(p["source"] == str(source) and p["locator"].startswith("line ") for p in problems)
    reasons = " | ".join(p["reason"] for p in problems)
    assert "invalid JSON" in reasons and "expected a JSON object" in reasons
    assert "needs 'parent_id'" in reasons and "unknown label 'weed'" in reasons
    # Each quarantined line is the line it names.
    raw_lines = source.read_text(encoding="utf-8").splitlines()
    for p in problems:
        assert raw_lines[int(p["locator"].split()[1]) - 1].strip() == p["raw"]
    assert not (tmp_path / "out.jsonl.checkpoint.json").exists()


def test_accounts_are_counted_and_kept_beside_the_results(
    corpus_dir: Path, scorer: EventScorer, tmp_path: Path
) -> None:
    report = run_scan(corpus_dir / "demo.jsonl", tmp_path / "r.jsonl", scorer=scorer)
    assert report.accounts == 8
    assert report.read == report.results + report.accounts + report.quarantined == _lines(corpus_dir / "demo.jsonl")
    assert _lines(accounts_path(tmp_path / "r.jsonl")) == 8
    results = list(read_results(tmp_path / "r.jsonl"))
    assert len({r.key for r in results}) == report.results
    assert all(r.provenance is not None and r.provenance["raw_sha256"] for r in results)


class Interrupt(KeyboardInterrupt):
    pass


def _interrupt_after(n: int):
    def progress(read: int) -> None:
        if read >= n:
            raise Interrupt

    return progress


@pytest.mark.parametrize("suffix", ["jsonl", "parquet"])
def test_resume_gives_the_same_output_as_an_uninterrupted_run(
    corpus_dir: Path, scorer: EventScorer, tmp_path: Path, suffix: str
) -> None:
    source = corpus_dir / "demo.jsonl"
    whole = tmp_path / f"whole.{suffix}"
    part = tmp_path / f"part.{suffix}"
    options = {"scorer": scorer, "batch_size": 16, "checkpoint_every": 40}
    run_scan(source, whole, quarantine=tmp_path / "qw.jsonl", **options)
    n = _lines(source)
    with pytest.raises(Interrupt):
        run_scan(source, part, quarantine=tmp_path / "qp.jsonl", on_progress=_interrupt_after(n // 3), **options)
    checkpoint = part.with_name(part.name + ".checkpoint.json")
    assert checkpoint.is_file()
    saved = json.loads(checkpoint.read_text())
    assert 0 < saved["counts"]["read"] < n // 3
    # Interrupted a second time, later: still resumes from its own checkpoint.
    with pytest.raises(Interrupt):
        run_scan(source, part, quarantine=tmp_path / "qp.jsonl", on_progress=_interrupt_after(2 * n // 3), **options)
    report = run_scan(source, part, quarantine=tmp_path / "qp.jsonl", **options)
    assert report.resumed_from and report.resumed_from >= saved["counts"]["read"]
    assert not checkpoint.exists()
    report.check()
    assert [r.to_json() for r in read_results(part)] == [r.to_json() for r in read_results(whole)]
    assert (tmp_path / "qp.jsonl").read_bytes() == (tmp_path / "qw.jsonl").read_bytes()
    assert accounts_path(part).read_bytes() == accounts_path(whole).read_bytes()
    if suffix == "jsonl":
        assert part.read_bytes() == whole.read_bytes()


def test_existing_output_and_foreign_checkpoint_are_refused(
    corpus_dir: Path, scorer: EventScorer, tmp_path: Path
) -> None:
    out = tmp_path / "o.jsonl"
    run_scan(corpus_dir / "demo.jsonl", out, scorer=scorer)
    with pytest.raises(ScanError, match="already exists"):
        run_scan(corpus_dir / "demo.jsonl", out, scorer=scorer)
    run_scan(corpus_dir / "demo.jsonl", out, scorer=scorer, overwrite=True)
    other = tmp_path / "other.jsonl"
    other.write_text((corpus_dir / "demo.jsonl").read_text().splitlines()[30] + "\n")
    with pytest.raises(Interrupt):
        run_scan(
            corpus_dir / "demo.jsonl",
            tmp_path / "x.jsonl",
            scorer=scorer,
            batch_size=8,
            checkpoint_every=8,
            on_progress=_interrupt_after(20),
        )
    (tmp_path / "x.jsonl.checkpoint.json").rename(tmp_path / "y.jsonl.checkpoint.json")
    (tmp_path / "y.jsonl").write_text("")
    with pytest.raises(ScanError, match="checkpoint of another scan"):
        run_scan(other, tmp_path / "y.jsonl", scorer=scorer)
    report = run_scan(other, tmp_path / "y.jsonl", scorer=scorer, resume=False, overwrite=True)
    assert report.results == 1


def test_parquet_input_gives_the_same_results(corpus_dir: Path, scorer: EventScorer, tmp_path: Path) -> None:
    corpus = generate_demo(seed=4, n_accounts=8, images=False)
    parquet = tmp_path / "events.parquet"
    write_parquet(corpus.events, parquet, batch_size=50)  # several row groups = several splits
    from_parquet = run_scan(parquet, tmp_path / "p.jsonl", scorer=scorer)
    from_jsonl = run_scan(write_demo(corpus, tmp_path / "c"), tmp_path / "j.jsonl", scorer=scorer)
    assert from_parquet.read == from_parquet.results == len(corpus.events)
    strip = lambda r: r.model_copy(update={"provenance": None}).to_json()  # noqa: E731
    assert [strip(r) for r in read_results(tmp_path / "p.jsonl")] == [
        strip(r) for r in read_results(tmp_path / "j.jsonl")
    ]
    assert from_jsonl.results == from_parquet.results


def test_database_in_and_out(corpus_dir: Path, scorer: EventScorer, tmp_path: Path, store_url: str) -> None:
    db = store_url
    store = Store(db)
    import_path(corpus_dir / "demo.jsonl", store, fmt="jsonl", quarantine=tmp_path / "iq.jsonl")
    posts = sum(1 for e in store.iter_events() if e.kind == "post")
    report = run_scan("db", "db", scorer=scorer, db=db, where="kind = 'post'", batch_size=32)
    assert report.read == report.results == posts and report.run_id is not None
    stored = list(read_results("db", db=db))
    assert len(stored) == posts and all(r.kind == "post" for r in stored)
    # Interrupted and resumed into the database: the same rows, each once.
    with pytest.raises(Interrupt):
        run_scan(
            "db", "db", scorer=scorer, db=db, batch_size=16, checkpoint_every=16, on_progress=_interrupt_after(100)
        )
    resumed = run_scan("db", "db", scorer=scorer, db=db, batch_size=16, checkpoint_every=16)
    assert resumed.resumed_from and resumed.run_id == report.run_id + 1
    run_scan("db", tmp_path / "whole.jsonl", scorer=scorer, db=db)
    stored_run = [r.to_json() for r in read_results("db", db=db, run_id=resumed.run_id)]
    assert stored_run == [r.to_json() for r in read_results(tmp_path / "whole.jsonl")]
    assert [r.to_json() for r in read_results("db", db=db)] == stored_run  # the latest complete run
    # The report reads the latest run and the store's accounts.
    from drugwatch.report import build_report

    out = build_report("db", tmp_path / "report", db=db)
    assert out.n_events == resumed.results
    summary = json.loads((tmp_path / "report" / "report.json").read_text())
    assert summary["dealer_events"] == sum(1 for r in read_results("db", db=db) if r.selling)


class _Failing(EventScorer):
    """Crashes on any batch holding the text "boom"."""

    def score(self, events):
        if any("boom" in e.text for e in events):
            raise RuntimeError("detector crashed")
        return super().score(events)


def test_scoring_failures_are_quarantined_one_by_one(scorer: EventScorer, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    events = [Event(id=str(i), text="boom" if i == 3 else f"post {i} #travel", author="a") for i in range(8)]
    source.write_text("".join(json.dumps(e.model_dump(mode="json")) + "\n" for e in events))
    failing = _Failing([item.detector for item in scorer._loaded])
    report = run_scan(source, tmp_path / "out.jsonl", scorer=failing)
    assert (report.read, report.results, report.quarantined) == (8, 7, 1)
    problem = json.loads(Path(report.quarantine_path).read_text())
    assert problem["locator"] == "line 4" and "scoring failed: RuntimeError: detector crashed" in problem["reason"]


def test_cli_scan(corpus_dir: Path, models: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "cli.jsonl"
    args = ["scan", str(corpus_dir / "demo.jsonl"), "--output", str(out), "--json"]
    for path in models.values():
        args += ["--model", str(path)]
    result = runner.invoke(app, args)
    assert result.exit_code == ExitCode.PARTIAL, result.output  # bad lines were quarantined
    counts = json.loads(result.output.strip().splitlines()[-1])
    assert counts["read"] == counts["results"] + counts["accounts"] + counts["quarantined"]
    assert counts["quarantined"] == len(BAD_LINES)
    assert _lines(out) == counts["results"] + 1  # the header line
    again = runner.invoke(app, args)
    assert again.exit_code == ExitCode.USAGE and "--overwrite" in again.output
    missing = runner.invoke(app, ["scan", str(corpus_dir / "demo.jsonl"), "--output", str(tmp_path / "m.jsonl")])
    assert missing.exit_code == ExitCode.USAGE and "drugwatch demo" in missing.output


def test_jsonl_results_name_the_models_once(corpus_dir: Path, scorer: EventScorer, tmp_path: Path) -> None:
    source = _events_only(corpus_dir, tmp_path)
    out = tmp_path / "out.jsonl"
    run_scan(source, out, scorer=scorer)
    header, *lines = out.read_text(encoding="utf-8").splitlines()
    header = json.loads(header)
    assert header["record_type"] == "scan" and header["format"] == 2
    assert [m["name"] for m in header["models"]] == [m.name for m in scorer.models]
    from drugwatch.lexicon import load_lexicon

    assert header["lexicon"] == load_lexicon().fingerprint() and len(header["lexicon"]) == 16
    assert all('"models"' not in line for line in lines)
    results = list(read_results(out))
    assert len(results) == len(lines)
    assert all(r.models == tuple(scorer.models) for r in results)
    # A file of the first layout (models on every line, no header) still reads.
    old = tmp_path / "old.jsonl"
    old.write_text("".join(r.to_json() + "\n" for r in results[:3]), encoding="utf-8")
    assert list(read_results(old)) == results[:3]
    bad = tmp_path / "future.jsonl"
    bad.write_text('{"record_type":"scan","format":99,"models":[]}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="format 99"):
        list(read_results(bad))


def test_hostile_lines_are_set_aside_without_being_held(scorer: EventScorer, tmp_path: Path) -> None:
    from drugwatch.io.limits import MAX_LINE_BYTES

    good = [json.dumps({"record_type": "event", "id": f"g{i}", "text": f"sunny day {i}"}) for i in range(4)]
    lines = [
        good[0],
        json.dumps({"record_type": "event", "id": "long", "text": "x" * (MAX_LINE_BYTES + 10)}),
        good[1],
        '{"record_type": "event", "id": "int", "text": "a", "meta": {"n": ' + "9" * 5000 + "}}",
        "[" * 100_000 + "]" * 100_000,
        good[2],
        json.dumps({"record_type": "event", "id": "long2", "text": "y" * (MAX_LINE_BYTES * 2)}),
        good[3],
    ]
    source = tmp_path / "hostile.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    report = run_scan(source, tmp_path / "out.jsonl", scorer=scorer)
    assert report.read == len(lines) == report.results + report.quarantined
    assert [r.id for r in read_results(tmp_path / "out.jsonl")] == ["g0", "g1", "g2", "g3"]
    problems = [json.loads(line) for line in Path(report.quarantine_path).read_text().splitlines()]
    assert [p["locator"] for p in problems] == ["line 2", "line 4", "line 5", "line 7"]
    assert all(len(p["raw"]) <= 21_000 for p in problems)


def test_splits_cut_at_line_ends_around_a_line_longer_than_a_split(tmp_path: Path) -> None:
    from drugwatch.scan.sources import JsonlSource

    lines = [
        json.dumps({"record_type": "event", "id": f"e{i}", "text": ("z" * 5000 if i == 3 else "t")}) for i in range(8)
    ]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    source = JsonlSource(path, fmt="jsonl", split_bytes=256)
    splits = source.splits(None)
    items = [item for split in splits for item in source.read(split)]
    assert [item.item.record.id for item in items] == [f"e{i}" for i in range(8)]
    assert [item.position for item in items] == list(range(1, 9))

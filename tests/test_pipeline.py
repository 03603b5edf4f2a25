"""The main job (``drugwatch demo``): generate -> import -> train -> scan -> report, end to end."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from drugwatch.cli import app
from drugwatch.pipeline import TRAIN_SEED_OFFSET, run_demo_job
from drugwatch.scan.sinks import read_results
from drugwatch.store import Store

runner = CliRunner()


def test_demo_job_runs_the_whole_flow(tmp_path: Path) -> None:
    steps: list[str] = []
    db = f"sqlite:///{tmp_path / 'demo.sqlite'}"
    job = run_demo_job(db=db, out_dir=tmp_path / "demo", seed=3, n_accounts=12, images=False, on_step=steps.append)
    assert [s.split()[0] for s in steps][:3] == ["generating", "importing", "training"]
    assert f"seed {3 + TRAIN_SEED_OFFSET}" in steps[2]
    assert steps[-1] == "writing the report"
    # import
    assert job.import_report.read == job.corpus["accounts"] + job.corpus["events"]
    assert Store(db).stats()["events"] == job.corpus["events"]
    # train: both default detectors saved as model directories
    assert set(job.models) == {"selling", "drugtype"}
    assert all((p / "config.json").is_file() for p in job.models.values())
    # scan: every event scored, accounts kept, nothing lost
    scan = job.scan
    assert scan.read == scan.results + scan.accounts + scan.quarantined
    assert (scan.results, scan.accounts, scan.quarantined) == (job.corpus["events"], job.corpus["accounts"], 0)
    results = list(read_results(job.results_file))
    assert len(results) == job.corpus["events"]
    assert {m.name for m in results[0].models} == {"drugwatch.selling.v1", "drugwatch.drugtype.v1"}
    # The detectors were trained on another corpus and still find the adverts of this one.
    assert job.quality["selling_f1"] > 0.7
    # report
    assert job.report_html.is_file() and job.report_html.read_text().startswith("<!doctype html>")
    summary = json.loads((job.report_dir / "report.json").read_text())
    assert summary["events"] == job.corpus["events"]
    assert summary["dealer_events"] == sum(1 for r in results if r.selling)
    assert summary["masked"] is True and summary["bundles"]
    # The main job can run again over the same folder and store.
    again = run_demo_job(db=db, out_dir=tmp_path / "demo", seed=3, n_accounts=12, images=False)
    assert again.scan.results == scan.results and again.import_report.unchanged == job.import_report.read


def test_cli_demo_prints_where_the_report_is(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--db", str(tmp_path / "d.sqlite"), "--out", str(tmp_path / "out"),
                                 "--accounts", "10", "--no-images"])
    assert result.exit_code == 0, result.output
    assert "report:" in result.output
    assert str(tmp_path / "out" / "report" / "report.html") in result.output.replace("\n", "")
    assert (tmp_path / "out" / "report" / "tables" / "jmir-contacts.csv").is_file()
    stop = runner.invoke(app, ["demo", "--db", str(tmp_path / "e.sqlite"), "--out", str(tmp_path / "o2"),
                               "--accounts", "10", "--no-images", "--no-scan"])
    assert stop.exit_code == 0 and "report:" not in stop.output

"""The main job (``drugwatch demo``): generate -> import -> train -> scan -> score accounts -> report, end to end."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from drugwatch.cli import app
from drugwatch.pipeline import TRAIN_SCALE, TRAIN_SEED_OFFSET, run_demo_job
from drugwatch.scan.sinks import read_results
from drugwatch.scoring import DEFAULT_DETECTORS
from drugwatch.store import Store

runner = CliRunner()


def test_demo_job_runs_the_whole_flow(tmp_path: Path) -> None:
    steps: list[str] = []
    db = f"sqlite:///{tmp_path / 'demo.sqlite'}"
    job = run_demo_job(db=db, out_dir=tmp_path / "demo", seed=3, n_accounts=12, images=False, on_step=steps.append)
    assert [s.split()[0] for s in steps][:3] == ["generating", "importing", "training"]
    assert f"seed {3 + TRAIN_SEED_OFFSET}" in steps[2]
    assert any(
        s.startswith("training the dealer-account model") and f"seed {3 + TRAIN_SEED_OFFSET}" in s for s in steps
    )
    assert steps[-2:] == ["scoring the scanned accounts with the dealer-account model", "writing the report"]
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
    assert {m.name for m in results[0].models} == set(DEFAULT_DETECTORS.values())
    # The detectors were trained on another corpus and still find the adverts of this one.
    assert job.quality["selling_f1"] > 0.7
    # account model: trained on the other corpus' accounts, saved, and used on this corpus' accounts
    assert job.account_model == tmp_path / "demo" / "models" / "account"
    config = json.loads((job.account_model / "config.json").read_text())
    assert config["registry_name"] == "drugwatch.accounts.v1"
    assert job.account_training.n_accounts == TRAIN_SCALE * 12 and job.account_training.n_dealers >= 2
    scores = [json.loads(line) for line in job.account_scores.read_text().splitlines()]
    assert job.account_scores == tmp_path / "demo" / "scan" / "accounts_scores.jsonl"
    assert len(scores) == job.corpus["accounts"] and all(0.0 <= s["probability"] <= 1.0 for s in scores)
    flagged = {s["username"] for s in scores if s["dealer"]}
    for key in (
        "account_precision",
        "account_recall",
        "account_f1",
        "account_rule_precision",
        "account_rule_recall",
        "account_rule_f1",
    ):
        assert 0.0 <= job.quality[key] <= 1.0
    truth = {
        a["username"]
        for a in map(json.loads, (tmp_path / "demo" / "demo.jsonl").read_text().splitlines())
        if a["record_type"] == "account" and a["dealer"]
    }
    tp = len(flagged & truth)
    assert job.quality["account_recall"] == round(tp / len(truth), 3)
    assert job.quality["accounts_flagged"] == len(flagged) and job.quality["dealer_accounts_true"] == len(truth)
    # report
    assert job.report_html.is_file() and job.report_html.read_text().startswith("<!doctype html>")
    summary = json.loads((job.report_dir / "report.json").read_text())
    assert summary["events"] == job.corpus["events"]
    assert summary["dealer_events"] == sum(1 for r in results if r.selling)
    assert summary["masked"] is True and summary["bundles"]
    # The report's dealer accounts are the accounts the model flagged (all of them have events here).
    authors = {r.author for r in results}
    assert summary["dealer_account_definition"] == "account model"
    assert summary["dealer_accounts"] == len(flagged & authors)
    assert summary["accounts_with_dealer_events"] == len({r.author for r in results if r.selling})
    assert 'data-definition="account model"' in job.report_html.read_text()
    # `drugwatch report --account-model` scores the scan's accounts file the same way.
    again_report = runner.invoke(
        app,
        ["report", str(job.results_file), "--output", str(tmp_path / "rep"), "--account-model", str(job.account_model)],
    )
    assert again_report.exit_code == 0, again_report.output
    same = json.loads((tmp_path / "rep" / "report.json").read_text())
    assert (same["dealer_accounts"], same["account_model"]) == (summary["dealer_accounts"], summary["account_model"])
    with (
        open(tmp_path / "rep" / "tables" / "top-accounts.csv") as a,
        open(job.report_dir / "tables" / "top-accounts.csv") as b,
    ):
        # masks differ between reports; ranks and probabilities do not
        assert [r.split(",")[2] for r in a] == [r.split(",")[2] for r in b]
    # The main job can run again over the same folder and store.
    again = run_demo_job(db=db, out_dir=tmp_path / "demo", seed=3, n_accounts=12, images=False)
    assert again.scan.results == scan.results and again.import_report.unchanged == job.import_report.read


def test_cli_demo_prints_where_the_report_is(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["demo", "--db", str(tmp_path / "d.sqlite"), "--out", str(tmp_path / "out"), "--accounts", "10", "--no-images"],
    )
    assert result.exit_code == 0, result.output
    assert "report:" in result.output
    assert "dealer-account model (accounts;" in result.output and "account scores:" in result.output
    assert (tmp_path / "out" / "models" / "account" / "config.json").is_file()
    assert str(tmp_path / "out" / "report" / "report.html") in result.output.replace("\n", "")
    assert (tmp_path / "out" / "report" / "tables" / "jmir-contacts.csv").is_file()
    stop = runner.invoke(
        app,
        [
            "demo",
            "--db",
            str(tmp_path / "e.sqlite"),
            "--out",
            str(tmp_path / "o2"),
            "--accounts",
            "10",
            "--no-images",
            "--no-scan",
        ],
    )
    assert stop.exit_code == 0 and "report:" not in stop.output

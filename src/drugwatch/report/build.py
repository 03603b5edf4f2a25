"""Build the report folder: ``report.html`` (self-contained), one CSV per table, evidence bundles.

>>> build_report("scan-results.jsonl", "report/")   # doctest: +SKIP
ReportOutput(html=PosixPath('report/report.html'), ...)
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

from drugwatch.records import Account
from drugwatch.report.evidence import event_card, write_bundle
from drugwatch.report.masking import Masker, log_unmask
from drugwatch.report.svg import bar_chart, grouped_bar_chart, network_chart
from drugwatch.report.tables import ReportTables, Table, compute_tables, display_name, spreadsheet_safe
from drugwatch.scoring import EventResult

__all__ = ["CSS", "ReportOutput", "build_report", "load_accounts"]

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2rem auto;max-width:1100px;color:#1b1f24;padding:0 1rem}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2.2rem;border-bottom:1px solid #d0d7de}
table{border-collapse:collapse;margin:.6rem 0 1rem;font-size:.88rem;display:block;max-width:100%;overflow-x:auto}
th,td{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}td{overflow-wrap:break-word;max-width:28rem}caption{caption-side:top;text-align:left;font-weight:600;padding:.3rem 0}
td.num{text-align:right;font-variant-numeric:tabular-nums}
mark.drug{background:#ffd8a8}mark.sale{background:#d3f9d8}mark.tag{background:#d0ebff}mark.contact{background:#ffc9c9}
.event{border:1px solid #d0d7de;border-radius:6px;padding:.5rem .8rem;margin:.5rem 0}
.event .meta,.event .prov{color:#57606a;font-size:.8rem}.event .text{white-space:pre-wrap;overflow-wrap:anywhere}.event .prov{overflow-wrap:anywhere}
.thumbs figure{display:inline-block;margin:0 .5rem .5rem 0;font-size:.7rem;color:#57606a}
.p-image{font-weight:600;color:#1f2328}
.note{background:#fff8c5;padding:.5rem .8rem;border-radius:6px}svg.chart{display:block;margin:.5rem 0}
"""


@dataclass
class ReportOutput:
    """Where the report went."""

    directory: Path
    html: Path
    csv: dict[str, Path]
    bundles: dict[str, Path] = field(default_factory=dict)
    masked: bool = True
    n_events: int = 0
    n_selling: int = 0
    #: ``"account model"`` (dealer accounts = what the account scores flag) or ``"dealer events"``.
    dealer_definition: str = "dealer events"
    n_dealer_accounts: int = 0
    #: The scores computed with ``account_model`` (empty when they were given or not used).
    account_scores: list[Any] = field(default_factory=list)


def load_accounts(path: str | os.PathLike[str] | None = None, *, db: str | None = None) -> Iterator[Account]:
    """Accounts from a generic JSONL file (``record_type: account`` lines) or from the store."""
    if path is not None:
        from drugwatch.io.base import Parsed
        from drugwatch.io.jsonl import read_jsonl

        for item in read_jsonl(path):
            if isinstance(item, Parsed) and isinstance(item.record, Account):
                yield item.record
        return
    from drugwatch.store import Store

    yield from Store(db).iter_accounts()


def _cell(value: Any, column: str, masker: Masker) -> str:
    if column in ("account",):
        value = masker.user(value)
    elif column == "name":
        value = value if masker.unmask or not value else "[masked]"
    elif column == "members":
        value = ", ".join(masker.account_key(v) for v in value)
    elif column == "shared_contacts":
        value = ", ".join(masker.linked_value(v) for v in value)
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))
    return str(value)


def _html_table(table: Table, masker: Masker) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in table.columns)
    rows = []
    for row in table.rows:
        cells = []
        for column, value in zip(table.columns, row):
            numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
            cells.append(f"<td{' class=num' if numeric else ''}>{escape(_cell(value, column, masker))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f'<table id="{table.id}"><caption>{escape(table.caption)}</caption><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _csv_cell(value: Any, column: str, masker: Masker) -> str:
    """A CSV cell: text cells escaped against formula injection (:func:`spreadsheet_safe`),
    masked or not; numbers the report computed (``-0.25``) stay numbers."""
    text = _cell(value, column, masker)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return text
    return spreadsheet_safe(text)


def _write_csv(table: Table, path: Path, masker: Masker) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow([spreadsheet_safe(column) for column in table.columns])
        for row in table.rows:
            writer.writerow([_csv_cell(v, c, masker) for c, v in zip(table.columns, row)])


def _plots(data: ReportTables, masker: Masker) -> dict[str, str]:
    labels = data.tables["dmml-labels"].rows
    plots = {
        "labels": bar_chart("Predicted labels (events)", [r[0] for r in labels], [r[1] for r in labels]),
        "hours": grouped_bar_chart(
            "Drug events by hour of day (UTC)", [str(h) for h in range(24)], {k: v for k, v in data.hours.items()}
        ),
    }
    drugs = data.tables["jmir-drugs"].rows
    if drugs:
        plots["drugs"] = bar_chart("Dealer events per drug", [r[0] for r in drugs], [r[1] for r in drugs])
    contacts = [r for r in data.tables["jmir-contacts"].rows if r[1]]
    if contacts:
        plots["contacts"] = bar_chart(
            "Contacts in dealer events (share)", [r[0] for r in contacts], [100 * r[2] for r in contacts], unit="%"
        )
    yl = data.tables["yl-accounts"].rows
    plots["drug_share"] = bar_chart(
        "Mean share of drug events per account", [r[0] for r in yl], [100 * r[2] for r in yl], unit="%"
    )
    plots["ratio"] = bar_chart("Median following/follower ratio", [r[0] for r in yl], [r[3] for r in yl])
    if data.networks:
        nets = []
        for network in data.networks[:12]:
            nodes = [masker.account_key(a) for a in network.accounts]
            edges: list[tuple[str, str]] = []
            for ev in network.evidence:
                members = [masker.account_key(a) for a in ev.accounts]
                edges.extend((a, b) for i, a in enumerate(members) for b in members[i + 1 :])
            nets.append((network.id, nodes, edges))
        plots["networks"] = network_chart("Contact-linked networks", nets)
    return plots


def build_report(
    results: str | os.PathLike[str] | Callable[[], Iterable[EventResult]],
    output_dir: str | os.PathLike[str],
    *,
    accounts: Iterable[Account] | None = None,
    accounts_path: str | os.PathLike[str] | None = None,
    db: str | None = None,
    run_id: int | None = None,
    unmask: bool = False,
    top: int = 20,
    bundles: int | None = None,
    title: str = "drugwatch report",
    account_scores: Any = None,
    account_model: Any = None,
) -> ReportOutput:
    """Write ``output_dir/report.html``, ``output_dir/tables/*.csv`` and ``output_dir/evidence/<account>/``.

    ``results`` is a results file (JSONL or Parquet), ``"db"`` (the latest
    complete scan run in the store ``db``, or ``run_id``), or a function
    returning an iterable of results (called twice; three times with
    ``account_model``). Accounts come from ``accounts``, else
    ``accounts_path``, else the results file's
    ``.accounts.jsonl`` companion, else the store for ``"db"``. Personal data
    is masked unless ``unmask``, which is logged. ``bundles`` evidence bundles
    are written for the top accounts (default: all ``top``).

    Dealer accounts are the accounts with at least one dealer event, unless
    account scores of the dealer-account model (``drugwatch.accounts.v1``) are
    given: ``account_scores`` (a mapping username or ``platform:username`` ->
    :class:`~drugwatch.accounts.AccountScore`, an iterable of scores, or a
    JSONL file of ``AccountScore.as_dict()`` lines), or ``account_model`` (a
    model directory or fitted detector) to score the accounts here, their
    timelines rebuilt from the results. Then the dealer accounts are those the
    model flags, and the Yang & Luo tables and the top accounts use its
    probability. The page says which definition it used.
    """
    from drugwatch.scan.sinks import accounts_path as companion
    from drugwatch.scan.sinks import read_results

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    if callable(results):
        factory = results
        source_name = "results"
    else:
        source = str(results)
        source_name = source

        def factory() -> Iterator[EventResult]:
            return read_results(source, db=db, run_id=run_id)

        if accounts is None and accounts_path is None:
            if source == "db":
                accounts = list(load_accounts(db=db))
            elif companion(source).is_file():
                accounts_path = companion(source)
    if accounts is None:
        accounts = list(load_accounts(accounts_path)) if accounts_path is not None else []
    if account_scores is not None and account_model is not None:
        raise ValueError("give account_scores or account_model, not both")
    computed: list[Any] = []
    if account_model is not None:
        from drugwatch.report.account_scores import score_scan_accounts

        accounts = list(accounts)
        computed = score_scan_accounts(factory(), accounts, account_model)
        account_scores = computed
    masker = Masker(unmask=unmask)
    if unmask:
        log_unmask(out, "report", {"results": source_name})
    data = compute_tables(factory, accounts, top=top, account_scores=account_scores)

    csv_paths: dict[str, Path] = {}
    (out / "tables").mkdir(exist_ok=True)
    for table in data.tables.values():
        path = out / "tables" / f"{table.id}.csv"
        _write_csv(table, path, masker)
        csv_paths[table.id] = path

    bundle_paths: dict[str, Path] = {}
    n_bundles = top if bundles is None else bundles
    for username in data.top[:n_bundles]:
        bundle_paths[username] = write_bundle(
            out / "evidence", username, data.evidence[username], data.account_records.get(username), masker, css=CSS
        )

    plots = _plots(data, masker)
    t = data.tables
    models = (
        ", ".join(f"{m['name']} v{m['version']} (training data {str(m.get('fingerprint'))[:12]})" for m in data.models)
        or "none recorded"
    )
    evidence_html = []
    for rank, username in enumerate(data.top, 1):
        link = ""
        if username in bundle_paths:
            rel = bundle_paths[username].relative_to(out)
            link = f' · <a href="{escape(str(rel))}/bundle.html">bundle</a>'
        cards = "".join(event_card(r, masker) for r in data.evidence[username][:5])
        name = display_name(data.account_records.get(username)) if masker.unmask else None
        shown = masker.user(username) + (f" ({name})" if name else "")
        evidence_html.append(
            f'<section class="account" id="account-{rank}"><h3>{rank}. {escape(shown)}{link}</h3>{cards}</section>'
        )
    image_cards = "".join(event_card(r, masker) for r in data.image_evidence)
    image_section = (
        (
            ""
            if data.n_vision
            else '<p id="no-image-evidence">No image evidence: the scan applied no model that reads images '
            "(scan with --model DIR of an image or fusion model).</p>"
        )
        + f"{_html_table(t['image-text-agreement'], masker)}{_html_table(t['image-evidence'], masker)}"
        f'<div id="image-evidence-cards">{image_cards}</div>{_html_table(t["image-contacts"], masker)}'
    )
    definition = _definition_html(data)
    privacy = (
        "Personal data is <b>shown</b> (--unmask); this was logged."
        if unmask
        else "Personal data is masked: usernames and contact values are replaced by keyed hashes valid in this "
        "report only; images are blurred. Use --unmask to show them (logged)."
    )
    review_note = (
        f'<b id="review-count">{data.n_review}</b> events to review (the selling model\'s review band), '
        if data.n_review
        else ""
    )
    html = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style></head>
<body>
<h1>{escape(title)}</h1>
<p id="summary">{data.n_events} events scanned, <b>{data.n_selling}</b> dealer events (offers to sell),
{review_note}{len(data.dealers)} dealer accounts, {len(data.networks)} linked networks. Models: {escape(models)}.
Generated {datetime.now(UTC).isoformat(timespec="seconds")} from {escape(source_name)}.</p>
<p id="dealer-definition" data-definition="{escape(data.dealer_definition)}">{definition}</p>
<p class="note">{privacy}</p>
<h2>JMIR characterization</h2>
{plots.get("drugs", "")}{_html_table(t["jmir-drugs"], masker)}
{_html_table(t["jmir-hashtags"], masker)}
{_html_table(t["jmir-hashtag-kinds"], masker)}
{plots.get("contacts", "")}{_html_table(t["jmir-contacts"], masker)}
{_html_table(t["jmir-threads"], masker)}
{_html_table(t["languages"], masker)}
<h2>DMML label distribution</h2>
{plots["labels"]}{_html_table(t["dmml-labels"], masker)}
<h2>Yang &amp; Luo account figures</h2>
{plots["drug_share"]}{plots["ratio"]}{_html_table(t["yl-accounts"], masker)}
{_html_table(t["dealer-definitions"], masker) if "dealer-definitions" in t else ""}
{plots["hours"]}{_html_table(t["yl-hours"], masker)}
<h2>Contact-linked networks</h2>
{plots.get("networks", "<p>No networks among the dealer accounts.</p>")}{_html_table(t["networks"], masker)}
<h2>Image evidence</h2>
{image_section}
<h2>Top accounts with evidence</h2>
{_html_table(t["top-accounts"], masker)}
{"".join(evidence_html)}
<h2>Definitions</h2>
<p>A dealer event is one the selling detector marks (a drug offered with a way to buy it). An event's drugs are the
{escape(data.drug_source)}'s labels. A thread is a post and its comments. {definition}
Evidence of transaction: a dealer event with a payment method, crypto address or sale, transaction or shipping
term. Hours are UTC. Highlights: <mark class="drug">drug term</mark> <mark class="sale">sale term</mark>
<mark class="tag">hashtag</mark> <mark class="contact">contact</mark>.</p>
</body></html>
"""
    html_path = out / "report.html"
    html_path.write_text(html, encoding="utf-8")
    (out / "report.json").write_text(
        json.dumps(
            {
                "results": source_name,
                "events": data.n_events,
                "dealer_events": data.n_selling,
                "review_events": data.n_review,
                "dealer_accounts": len(data.dealers),
                "dealer_account_definition": data.dealer_definition,
                "account_model": data.account_model or None,
                "accounts_with_dealer_events": len(data.event_dealers),
                "networks": len(data.networks),
                "masked": not unmask,
                "models": data.models,
                "tables": {k: str(v.relative_to(out)) for k, v in csv_paths.items()},
                "bundles": {masker.user(u): str(p.relative_to(out)) for u, p in bundle_paths.items()},
            },
            indent=1,
            default=str,
        ),
        encoding="utf-8",
    )
    return ReportOutput(
        directory=out,
        html=html_path,
        csv=csv_paths,
        bundles=bundle_paths,
        masked=not unmask,
        n_events=data.n_events,
        n_selling=data.n_selling,
        dealer_definition=data.dealer_definition,
        n_dealer_accounts=len(data.dealers),
        account_scores=computed,
    )


def _definition_html(data: ReportTables) -> str:
    """The sentence saying what a dealer account is in this report."""
    n_event = len(data.event_dealers)
    if data.dealer_definition != "account model":
        return (
            "A dealer account has at least one dealer event (no dealer-account model scores were given; "
            "give <code>--account-model</code> or <code>--account-scores</code> to use "
            "<code>drugwatch.accounts.v1</code>). Top accounts are ranked by dealer events."
        )
    info = data.account_model
    models = ", ".join(escape(m) for m in info.get("models", ())) or "the dealer-account model"
    cuts = ", ".join(f"{c:g}" for c in info.get("thresholds", ()))
    unscored = (
        f" {len(data.unscored)} accounts with events had no score and count as not flagged." if data.unscored else ""
    )
    return (
        f"A dealer account is one the dealer-account model ({models}) flags: dealer probability at or above "
        f"{cuts or 'its threshold'} ({len(data.dealers)} accounts; {n_event} accounts have at least one dealer "
        f"event, the definition used without scores). The Yang &amp; Luo tables group accounts by this flag and "
        f"show the model's mean probability; top accounts are the flagged ones ranked by it.{unscored}"
    )

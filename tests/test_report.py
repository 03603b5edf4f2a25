"""drugwatch report: the tables carry the right numbers on a hand-made corpus (read back from the HTML),
personal data masked by default, --unmask logged, evidence bundles hashed, and dealer accounts follow the
dealer-account model's scores when given (else: accounts with a dealer event)."""

from __future__ import annotations

import csv
import hashlib
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from drugwatch.accounts import AccountScore
from drugwatch.cli import app
from drugwatch.labels import LABELS
from drugwatch.records import Account
from drugwatch.report import build_report, read_account_scores, write_account_scores
from drugwatch.scoring import ContactHit, EventResult, HashtagHit, LexiconMatch, ModelInfo

runner = CliRunner()
PHONE = "+14405550147"
WALLET = "bc1qdemopapzf5xqyb3zmyj2hli0mitsx2z820"
MODELS = (ModelInfo(name="drugwatch.selling.v1", version=1, task="selling", fingerprint="f" * 64),)


def _probs(*labels: str) -> dict[str, float]:
    return {label: (0.9 if label in labels else 0.01) for label in LABELS}


def _result(
    id: str,
    author: str,
    text: str,
    *,
    kind: str = "post",
    post_id: str | None = None,
    selling: bool,
    drugs: tuple[str, ...],
    hour: int,
    tags: tuple[tuple[str, str], ...] = (),
    contacts: tuple[tuple[str, str | None, str], ...] = (),
    buy: bool = False,
    hits: tuple[tuple[str, str | None, str], ...] = (),
    images: tuple[dict, ...] = (),
) -> EventResult:
    def span(piece: str) -> tuple[int, int]:
        start = text.find(piece)
        return (start, start + len(piece)) if start >= 0 else (0, 0)

    return EventResult(
        key=f"instagram:{id}",
        id=id,
        platform="instagram",
        kind=kind,
        post_id=post_id,
        parent_id=post_id,
        author=author,
        created_at=f"2024-05-0{1 + hour % 3}T{hour:02d}:15:00Z",
        text=text,
        normalized_text=text.lower(),
        selling_probability=0.95 if selling else 0.05,
        selling=selling,
        drug_probabilities=_probs(*(drugs or ("non_drug",))),
        drug_labels=drugs or ("non_drug",),
        hashtags=tuple(HashtagHit(tag=t, kind=k, start=span("#" + t)[0], end=span("#" + t)[1]) for t, k in tags),
        contacts=tuple(ContactHit(kind=k, app=a, value=v, start=span(v)[0], end=span(v)[1]) for k, a, v in contacts),
        lexicon_hits=tuple(
            LexiconMatch(term=t, label=lab, kind=k, start=span(t)[0], end=span(t)[1]) for t, lab, k in hits
        ),
        buy_intent=buy,
        images=images,
        models=MODELS,
        provenance={
            "platform": "instagram",
            "source": "hand.jsonl",
            "locator": f"line {id}",
            "raw_sha256": hashlib.sha256(id.encode()).hexdigest(),
        },
    )


@pytest.fixture
def corpus(tmp_path: Path) -> tuple[list[EventResult], list[Account]]:
    image = tmp_path / "bars.png"
    Image.new("RGB", (64, 48), (200, 30, 30)).save(image)
    results = [
        _result(
            "e1",
            "plugmaster",
            f"2mg bars ready wickr: demo_plug7 call {PHONE} #xanax #plug",
            selling=True,
            drugs=("xanax",),
            hour=13,
            tags=(("xanax", "drug_name"), ("plug", "codeword")),
            contacts=(("app_handle", "wickr", "demo_plug7"), ("phone", None, PHONE)),
            hits=(("bars", "xanax", "slang"),),
            images=({"path": str(image), "sha256": "a" * 64},),
        ),
        _result(
            "e2", "buyer1", "how much for 10?", kind="comment", post_id="e1", selling=False, drugs=(), hour=14, buy=True
        ),
        _result(
            "e3",
            "plugmaster",
            "snow in stock, pay by cashapp $demo_cash #coke #restock",
            selling=True,
            drugs=("cocaine",),
            hour=14,
            tags=(("coke", "codeword"), ("restock", "sale")),
            contacts=(("payment", "cashapp", "demo_cash"),),
            hits=(("snow", "cocaine", "slang"), ("in stock", None, "selling")),
        ),
        _result("e4", "friend_a", "sunset #travel", selling=False, drugs=(), hour=18, tags=(("travel", "other"),)),
        _result(
            "e5",
            "plug2",
            f"bars bars text {PHONE} or mail demo@example.com #xanax",
            selling=True,
            drugs=("xanax",),
            hour=13,
            tags=(("xanax", "drug_name"),),
            contacts=(("phone", None, PHONE), ("email", None, "demo@example.com")),
        ),
        _result("e6", "friend_a", "chill night with a joint", selling=False, drugs=("marijuana",), hour=20),
    ]
    accounts = [
        Account(username="plugmaster", followers=100, following=500, dealer=True),
        Account(username="plug2", followers=100, following=300, dealer=True),
        Account(username="buyer1", followers=200, following=100),
        Account(username="friend_a", followers=400, following=200),
    ]
    return results, accounts


class _Tables(HTMLParser):
    """Every <table id=...> of a page as a list of rows of cell texts (header row first)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self.svgs = 0
        self.images = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._table = dict(attrs).get("id") or "?"
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "svg":
            self.svgs += 1
        elif tag == "img" and (dict(attrs).get("src") or "").startswith("data:image/jpeg;base64,"):
            self.images += 1

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table:
            self.tables[self._table].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None


def _parse(html_path: Path) -> _Tables:
    parser = _Tables()
    parser.feed(html_path.read_text(encoding="utf-8"))
    return parser


def _rows(tables: _Tables, table_id: str) -> dict[str, list[str]]:
    return {row[0]: row[1:] for row in tables.tables[table_id][1:]}


def test_tables_carry_the_right_numbers(corpus, tmp_path: Path) -> None:
    results, accounts = corpus
    out = build_report(lambda: iter(results), tmp_path / "report", accounts=accounts, unmask=True)
    page = _parse(out.html)

    drugs = _rows(page, "jmir-drugs")
    assert drugs == {"xanax": ["2", "0.6667"], "cocaine": ["1", "0.3333"]}
    tags = {(r[0], r[1]): r[2:] for r in page.tables["jmir-hashtags"][1:]}
    assert tags[("xanax", "xanax")] == ["drug_name", "2", "1"]
    assert tags[("xanax", "plug")] == ["codeword", "1", "0.5"]
    assert tags[("cocaine", "restock")] == ["sale", "1", "1"]
    assert ("xanax", "travel") not in tags  # not a dealer event
    kinds = _rows(page, "jmir-hashtag-kinds")
    # dealer events carry: xanax x2, plug, coke, restock -> 5 occurrences.
    assert kinds["drug_name"] == ["1", "2", "0.4"]
    assert kinds["codeword"] == ["2", "2", "0.4"]
    assert kinds["sale"] == ["1", "1", "0.2"]
    assert kinds["other"] == ["0", "0", "0"]
    contacts = _rows(page, "jmir-contacts")
    assert contacts["any contact"] == ["3", "1"]
    assert contacts["any messaging app"] == ["1", "0.3333"]
    assert contacts["app: wickr"] == ["1", "0.3333"]
    assert contacts["phone"] == ["2", "0.6667"]
    assert contacts["email"] == ["1", "0.3333"]
    assert contacts["payment"] == ["1", "0.3333"]
    threads = _rows(page, "jmir-threads")
    assert threads["all threads"] == ["5", "1"]
    assert threads["offer to sell"] == ["3", "0.6"]
    assert threads["offer to buy"] == ["1", "0.2"]
    assert threads["offer to sell and offer to buy"] == ["1", "0.2"]

    labels = _rows(page, "dmml-labels")
    assert labels["xanax"][:2] == ["2", "0.3333"]
    assert labels["non_drug"][:2] == ["2", "0.3333"]
    assert labels["cocaine"][:2] == ["1", "0.1667"]
    assert labels["marijuana"][:2] == ["1", "0.1667"]
    assert labels["lsd"][:2] == ["0", "0"]

    yl = _rows(page, "yl-accounts")
    # dealers: plugmaster (2/2 drug events, ratio 5, transaction), plug2 (1/1, ratio 3, none)
    assert yl["dealer accounts"] == ["2", "1", "4", "0.5", "2"]
    # others: buyer1 (0/1, ratio 0.5), friend_a (1/2, ratio 0.5)
    assert yl["other accounts"] == ["2", "0.25", "0.5", "0", "0"]
    hours = _rows(page, "yl-hours")
    assert hours["13"] == ["2", "0"] and hours["14"] == ["1", "0"] and hours["20"] == ["0", "1"]
    assert hours["18"] == ["0", "0"]  # a non-drug event does not count

    networks = page.tables["networks"][1:]
    assert len(networks) == 1
    assert networks[0][1] == "2"
    assert set(networks[0][2].split(", ")) == {"instagram:plugmaster", "instagram:plug2"}
    assert f"phone:{PHONE}" in networks[0][3]

    top = page.tables["top-accounts"][1:]
    assert [row[1] for row in top] == ["plugmaster", "plug2"]
    assert top[0][4] == "2" and top[0][7] == "True"
    assert page.svgs >= 5 and page.images == 1

    # CSV tables carry the same numbers.
    with open(out.csv["jmir-contacts"], newline="") as handle:
        rows = {row["contact"]: row for row in csv.DictReader(handle)}
    assert rows["phone"]["events"] == "2" and rows["phone"]["share"] == "0.6667"
    assert set(out.csv) == set(page.tables) - {"?"}


def test_personal_data_is_masked_by_default(corpus, tmp_path: Path) -> None:
    results, accounts = corpus
    # A wallet address the contact reader did not validate is masked all the same.
    results = [
        *results,
        _result(
            "e7",
            "plug2",
            f"btc only {WALLET} #xanax",
            selling=True,
            drugs=("xanax",),
            hour=13,
            tags=(("xanax", "drug_name"),),
        ),
    ]
    out = build_report(lambda: iter(results), tmp_path / "masked", accounts=accounts)
    everything = out.html.read_text(encoding="utf-8") + "".join(
        p.read_text(encoding="utf-8")
        for p in (tmp_path / "masked").rglob("*")
        if p.suffix in (".csv", ".json", ".html")
    )
    for secret in (
        "plugmaster",
        "plug2",
        "buyer1",
        "demo_plug7",
        PHONE,
        "4405550147",
        "demo@example.com",
        "demo_cash",
        WALLET,
    ):
        assert secret not in everything, secret
    page = _parse(out.html)
    top = page.tables["top-accounts"][1:]
    assert all(row[1].startswith("user-") for row in top)
    # Masks are stable within a report: the network lists the same tokens as the top accounts.
    assert {f"instagram:{row[1]}" for row in top} == set(page.tables["networks"][1][2].split(", "))
    assert not (tmp_path / "masked" / "unmask-log.jsonl").exists()


def test_unmask_is_logged(corpus, tmp_path: Path, _isolated_home: Path) -> None:
    results, accounts = corpus
    out = build_report(lambda: iter(results), tmp_path / "open", accounts=accounts, unmask=True)
    assert "plugmaster" in out.html.read_text(encoding="utf-8")
    entry = json.loads((tmp_path / "open" / "unmask-log.jsonl").read_text().splitlines()[-1])
    assert entry["what"] == "report" and entry["user"]
    assert (_isolated_home / "audit" / "unmask.log").read_text().strip()


def test_evidence_bundles_hash_every_item(corpus, tmp_path: Path) -> None:
    results, accounts = corpus
    out = build_report(lambda: iter(results), tmp_path / "r", accounts=accounts, unmask=True)
    bundle = out.bundles["plugmaster"]
    manifest = json.loads((bundle / "manifest.json").read_text())
    listed = {f["path"] for f in manifest["files"]}
    on_disk = {str(p.relative_to(bundle)) for p in bundle.rglob("*") if p.is_file()} - {"manifest.json"}
    assert listed == on_disk
    for item in manifest["files"]:
        assert hashlib.sha256((bundle / item["path"]).read_bytes()).hexdigest() == item["sha256"]
    events = [f for f in manifest["files"] if f["what"] == "event"]
    assert [f["event_id"] for f in events] == ["e1", "e3"]
    assert events[0]["raw_sha256"] == hashlib.sha256(b"e1").hexdigest()
    assert any(f["what"] == "image" for f in manifest["files"])
    event = json.loads((bundle / "events" / "000.json").read_text())
    assert event["text"].startswith("2mg bars") and event["models"][0]["name"] == "drugwatch.selling.v1"
    html = (bundle / "bundle.html").read_text()
    assert '<mark class="contact"' in html and '<mark class="drug"' in html


def test_cli_report_reads_results_and_accounts_files(corpus, tmp_path: Path) -> None:
    results, accounts = corpus
    path = tmp_path / "results.jsonl"
    path.write_text("".join(r.to_json() + "\n" for r in results))
    (tmp_path / "results.accounts.jsonl").write_text(
        "".join(json.dumps({"record_type": "account", **a.model_dump(mode="json")}) + "\n" for a in accounts)
    )
    result = runner.invoke(app, ["report", str(path), "--output", str(tmp_path / "rep")])
    assert result.exit_code == 0, result.output
    assert "report:" in result.output and (tmp_path / "rep" / "report.html").is_file()
    yl = _rows(_parse(tmp_path / "rep" / "report.html"), "yl-accounts")
    assert yl["dealer accounts"][2] == "4"  # following ratios came from the accounts file
    missing = runner.invoke(app, ["report", str(tmp_path / "nope.jsonl"), "--output", str(tmp_path / "x")])
    assert missing.exit_code == 2 and "no scan results" in missing.output


def _score(username: str, probability: float) -> AccountScore:
    return AccountScore(
        key=f"instagram:{username}",
        username=username,
        platform="instagram",
        probability=probability,
        dealer=probability >= 0.5,
        threshold=0.5,
        model="drugwatch.accounts.v1",
        features={"P": 0.5},
        evidence={},
    )


def test_without_account_scores_the_report_says_it_counts_dealer_events(corpus, tmp_path: Path) -> None:
    results, accounts = corpus
    out = build_report(lambda: iter(results), tmp_path / "r", accounts=accounts, unmask=True)
    html = out.html.read_text(encoding="utf-8")
    assert 'data-definition="dealer events"' in html
    assert "A dealer account has at least one dealer event" in html
    page = _parse(out.html)
    assert "dealer-definitions" not in page.tables
    assert "dealer_probability" not in page.tables["top-accounts"][0]
    assert json.loads((tmp_path / "r" / "report.json").read_text())["dealer_account_definition"] == "dealer events"


def test_account_scores_define_the_dealer_accounts(corpus, tmp_path: Path) -> None:
    results, accounts = corpus
    # The model and the event rule disagree: plug2 has a dealer event but the model does not flag it;
    # friend_a has none but the model flags it.
    scores = {
        "plugmaster": _score("plugmaster", 0.9),
        "plug2": _score("plug2", 0.2),
        "friend_a": _score("friend_a", 0.7),
        "buyer1": _score("buyer1", 0.1),
    }
    out = build_report(
        lambda: iter(results), tmp_path / "scored", accounts=accounts, unmask=True, account_scores=scores
    )
    assert out.dealer_definition == "account model" and out.n_dealer_accounts == 2
    html = out.html.read_text(encoding="utf-8")
    assert 'data-definition="account model"' in html and "drugwatch.accounts.v1" in html
    page = _parse(out.html)

    yl = _rows(page, "yl-accounts")
    assert page.tables["yl-accounts"][0][-1] == "mean_dealer_probability"
    # dealers: plugmaster (2/2 drug events, ratio 5, transaction, annotated, 0.9), friend_a (1/2, 0.5, -, -, 0.7)
    assert yl["dealer accounts"] == ["2", "0.75", "2.75", "0.5", "1", "0.8"]
    # others: plug2 (1/1, ratio 3, no transaction, annotated, 0.2), buyer1 (0/1, 0.5, -, -, 0.1)
    assert yl["other accounts"] == ["2", "0.5", "1.75", "0", "1", "0.15"]
    hours = _rows(page, "yl-hours")
    assert hours["13"] == ["1", "1"] and hours["14"] == ["1", "0"] and hours["20"] == ["1", "0"]
    definitions = _rows(page, "dealer-definitions")
    assert definitions == {
        "flagged by the model and with a dealer event": ["1"],
        "flagged by the model only": ["1"],
        "with a dealer event only": ["1"],
        "neither": ["1"],
        "not scored (count as not flagged)": ["0"],
    }

    top = page.tables["top-accounts"]
    assert top[0][:4] == ["rank", "account", "dealer_probability", "events"]
    assert [row[1:3] for row in top[1:]] == [["plugmaster", "0.9"], ["friend_a", "0.7"]]
    assert top[2][5] == "0"  # friend_a: no dealer event, yet a dealer account by the model
    # plug2 shares a phone with plugmaster but is not a dealer account here: no network.
    assert page.tables["networks"][1:] == []
    assert set(out.bundles) == {"plugmaster", "friend_a"}
    summary = json.loads((tmp_path / "scored" / "report.json").read_text())
    assert summary["dealer_account_definition"] == "account model"
    assert summary["dealer_accounts"] == 2 and summary["accounts_with_dealer_events"] == 2
    assert summary["account_model"]["models"] == ["drugwatch.accounts.v1"]

    # Higher probability ranks first whatever the dealer events say; unscored accounts are not dealers.
    scores = {"instagram:friend_a": _score("friend_a", 0.95), "instagram:plugmaster": _score("plugmaster", 0.6)}
    out = build_report(
        lambda: iter(results), tmp_path / "partial", accounts=accounts, unmask=True, account_scores=scores
    )
    page = _parse(out.html)
    assert [row[1] for row in page.tables["top-accounts"][1:]] == ["friend_a", "plugmaster"]
    assert _rows(page, "dealer-definitions")["not scored (count as not flagged)"] == ["2"]
    assert "2 accounts with events had no score" in out.html.read_text(encoding="utf-8")


def test_cli_report_reads_account_scores(corpus, tmp_path: Path) -> None:
    results, accounts = corpus
    path = tmp_path / "results.jsonl"
    path.write_text("".join(r.to_json() + "\n" for r in results))
    scores = write_account_scores(
        [_score("plug2", 0.2), _score("friend_a", 0.7), _score("plugmaster", 0.9)], tmp_path / "scores.jsonl"
    )
    assert [s.username for s in read_account_scores(scores)] == ["plug2", "friend_a", "plugmaster"]
    result = runner.invoke(
        app, ["report", str(path), "--output", str(tmp_path / "rep"), "--unmask", "--account-scores", str(scores)]
    )
    assert result.exit_code == 0, result.output
    assert "2 dealer accounts (flagged by the dealer-account model)" in " ".join(result.output.split())
    page = _parse(tmp_path / "rep" / "report.html")
    assert [row[1:3] for row in page.tables["top-accounts"][1:]] == [["plugmaster", "0.9"], ["friend_a", "0.7"]]
    both = runner.invoke(
        app,
        [
            "report",
            str(path),
            "--output",
            str(tmp_path / "x"),
            "--account-scores",
            str(scores),
            "--account-model",
            str(tmp_path),
        ],
    )
    assert both.exit_code == 2 and "not both" in both.output
    not_a_model = runner.invoke(
        app, ["report", str(path), "--output", str(tmp_path / "x"), "--account-model", str(tmp_path)]
    )
    assert not_a_model.exit_code == 2 and "not a model directory" in " ".join(not_a_model.output.split())


FORMULA = "=cmd|' /c calc'!a0"


@pytest.mark.parametrize("unmask", [True, False])
def test_csv_cells_cannot_start_a_formula(corpus, tmp_path: Path, unmask: bool) -> None:
    """OWASP's rule: a text cell starting with = + - @ tab or CR gets a leading quote, masked or not;
    numbers the report computed stay numbers."""
    results, accounts = corpus
    hostile_tags = (
        (FORMULA, "codeword"),
        ('=HYPERLINK("http://evil.example","x")', "codeword"),
        ("+1+1", "codeword"),
        ("-2+3", "codeword"),
        ("@SUM(A1)", "codeword"),
        ("\tTAB", "codeword"),
        ("\rCR", "codeword"),
    )
    text = "bars " + " ".join(f"#{tag}" for tag, _ in hostile_tags)
    results = [*results, _result("e8", FORMULA, text, selling=True, drugs=("xanax",), hour=13, tags=hostile_tags)]
    out = build_report(lambda: iter(results), tmp_path / "csv", accounts=accounts, unmask=unmask)

    cells: list[str] = []
    for path in out.csv.values():
        with open(path, newline="", encoding="utf-8") as handle:
            cells.extend(cell for row in csv.reader(handle) for cell in row)
    assert cells
    for cell in cells:
        if cell.startswith(("=", "+", "@", "\t", "\r")):
            raise AssertionError(f"formula cell in the CSV: {cell!r}")
        if cell.startswith("-"):
            float(cell)  # only a number may start with '-'
    with open(out.csv["jmir-hashtags"], newline="", encoding="utf-8") as handle:
        tags = {row["hashtag"] for row in csv.DictReader(handle)}
    assert {"'" + FORMULA, "'+1+1", "'-2+3", "'@SUM(A1)", "'\tTAB", "'\rCR"} <= tags
    assert '\'=HYPERLINK("http://evil.example","x")' in tags
    with open(out.csv["top-accounts"], newline="", encoding="utf-8") as handle:
        accounts_column = [row["account"] for row in csv.DictReader(handle)]
    if unmask:
        assert "'" + FORMULA in accounts_column
    else:
        assert all(a.startswith("user-") for a in accounts_column)
    # The HTML page is not a spreadsheet: it shows the text as it is (escaped).
    assert "'=cmd" not in out.html.read_text(encoding="utf-8")


def test_spreadsheet_safe_leaves_ordinary_text_alone() -> None:
    from drugwatch.report.tables import spreadsheet_safe

    assert spreadsheet_safe("xanax") == "xanax"
    assert spreadsheet_safe("a=b") == "a=b"
    assert spreadsheet_safe("") == ""
    assert spreadsheet_safe("-5") == "'-5"  # a text cell that looks like a number is still text
    assert spreadsheet_safe(FORMULA) == "'" + FORMULA

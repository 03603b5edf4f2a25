"""Accounts, features, networks and the report on Telegram data, as on Instagram.

A small Telegram Desktop export in the shape ``export_output_json.cpp``
writes (see tests/test_io_telegram.py), made-up values only: two shop
channels that share an order bot (``@demo_orderbot``) and a contact card's
phone number, and a group where buyers mention the same seller.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from drugwatch.accounts.features import account_features
from drugwatch.accounts.linking import event_contacts, link_accounts, platform_contacts
from drugwatch.accounts.service import link_store, load_accounts
from drugwatch.cli import app
from drugwatch.io.importer import import_path
from drugwatch.labels import LABELS
from drugwatch.records import Account, Event
from drugwatch.store import Store

SHOP, STORE_TWO, GROUP = 1500000001, 1500000002, 1500000003
CARD_PHONE = "+1 555 010 7788"
runner = CliRunner()


def message(mid: int, text, sender: str, name: str, **extra) -> dict:
    return {
        "id": mid,
        "type": "message",
        "date": "2024-05-01T14:00:00",
        "date_unixtime": str(1714572000 + mid * 3600),
        "from": name,
        "from_id": sender,
        "text": text,
        **extra,
    }


def write_export(folder: Path) -> Path:
    shop, two = f"channel{SHOP}", f"channel{STORE_TWO}"
    export = {
        "about": "Here is the data you requested.",
        "chats": {
            "about": "This page lists all chats from this export.",
            "list": [
                {
                    "name": "demo shop",
                    "type": "public_channel",
                    "id": SHOP,
                    "messages": [
                        message(
                            1,
                            ["xanax bars 2mg in stock, order via ", {"type": "mention", "text": "@demo_orderbot"}],
                            shop,
                            "demo shop",
                        ),
                        message(
                            2,
                            "",
                            shop,
                            "demo shop",
                            contact_information={"first_name": "Demo", "last_name": "Plug", "phone_number": CARD_PHONE},
                        ),
                        message(3, "new week, new menu", shop, "demo shop"),
                    ],
                },
                {
                    "name": "demo store two",
                    "type": "public_channel",
                    "id": STORE_TWO,
                    "messages": [
                        message(1, "mdma pills fresh batch, write @demo_orderbot", two, "demo store two"),
                        message(
                            2,
                            "",
                            two,
                            "demo store two",
                            contact_information={"first_name": "D", "last_name": "", "phone_number": "+15550107788"},
                        ),
                    ],
                },
                {
                    "name": "demo chat",
                    "type": "private_supergroup",
                    "id": GROUP,
                    "messages": [
                        message(10, "@demo_seller how much for the pills?", "user7002", "demo_buyer"),
                        message(11, "@demo_seller still open tonight?", "user7003", "demo_other_buyer"),
                        message(12, "dm me", "user7001", "demo_seller", reply_to_message_id=10),
                    ],
                },
            ],
        },
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "result.json"
    path.write_text(json.dumps(export, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(str(tmp_path / "store.sqlite"))
    report = import_path(write_export(tmp_path / "export"), s, quarantine=tmp_path / "q.jsonl")
    assert report.quarantined == 0 and report.imported > 0
    yield s
    s.close()


def test_channels_and_senders_are_accounts_with_their_timelines(store: Store) -> None:
    accounts, comments = load_accounts(store)
    by_key = {a.key: a for a in accounts}
    assert set(by_key) == {
        f"telegram:channel{SHOP}",
        f"telegram:channel{STORE_TWO}",
        "telegram:user7001",
        "telegram:user7002",
        "telegram:user7003",
    }
    shop = by_key[f"telegram:channel{SHOP}"]
    assert shop.full_name == "demo shop" and shop.meta["kind"] == "channel"
    assert [e.id for e in shop.timeline] == [f"{SHOP}/1", f"{SHOP}/2", f"{SHOP}/3"]
    assert [e.id for e in by_key["telegram:user7001"].timeline] == [f"{GROUP}/12"]
    assert [c.key for c in comments] == [f"telegram:{GROUP}/12"]  # the reply is a comment under message 10


def test_get_account_finds_a_telegram_account_without_naming_the_platform(store: Store) -> None:
    shop = store.get_account(f"channel{SHOP}")
    assert shop is not None and shop.platform == "telegram"
    assert [e.id for e in shop.timeline] == [f"{SHOP}/1", f"{SHOP}/2", f"{SHOP}/3"]
    assert store.get_account(f"channel{SHOP}", platform="instagram") is None
    assert store.get_account("nobody") is None
    # The same username on two platforms must be asked for by platform.
    store.upsert([Account(username="user7001", platform="instagram", bio="someone else")])
    with pytest.raises(ValueError, match=r"several platforms \(instagram, telegram\)"):
        store.get_account("user7001")
    assert store.get_account("user7001", platform="telegram").timeline[0].id == f"{GROUP}/12"
    assert store.get_account("user7001", platform="instagram").bio == "someone else"


def test_contact_cards_and_channel_handles_are_contacts(store: Store) -> None:
    events = {e.id: e for e in store.iter_events()}
    card = events[f"{SHOP}/2"]
    assert card.text == "" and platform_contacts(card) == {"phone:+15550107788"}
    assert event_contacts(events[f"{SHOP}/1"]) == {"app_handle:demo_orderbot"}
    # A buyer's @mention in a group is not the buyer's contact.
    assert event_contacts(events[f"{GROUP}/10"]) == set()
    # Other platforms: only the text counts.
    instagram = Event(id="1", text="", meta={"contact": {"phone_number": CARD_PHONE}})
    assert platform_contacts(instagram) == set()


def test_channels_sharing_an_order_bot_and_a_phone_form_one_network(store: Store) -> None:
    accounts, comments = load_accounts(store)
    result = link_accounts(accounts, comments)
    assert [n.accounts for n in result.networks] == [(f"telegram:channel{SHOP}", f"telegram:channel{STORE_TWO}")]
    network = result.networks[0]
    assert set(network.contacts) == {"app_handle:demo_orderbot", "phone:+15550107788"}
    phone = next(e for e in network.evidence if e.value == "phone:+15550107788")
    assert phone.events == (f"telegram:{SHOP}/2", f"telegram:{STORE_TWO}/2")
    # The two buyers who both wrote "@demo_seller" are not one operation.
    assert result.network_of("telegram:user7002") is None and result.network_of("telegram:user7003") is None


def test_account_features_count_a_contact_card_as_a_contact(store: Store) -> None:
    shop = store.get_account(f"channel{SHOP}")
    features = account_features(shop, [0.9, 0.9, 0.1])
    # Message 1 names the order bot, message 2 is a contact card, message 3 has neither.
    assert features.values["contact_share"] == pytest.approx(2 / 3)
    assert {"app_handle:demo_orderbot", "phone:+15550107788"} <= set(features.evidence["contacts"])
    assert features.values["P"] == pytest.approx(2 / 3)
    assert all(features.values[k] != features.values[k] for k in ("R1", "R2", "R3"))  # no counts: NaN


def test_link_store_and_the_cli_show_the_telegram_network(store: Store) -> None:
    run = link_store(store)
    assert [n.accounts for n in run.result.networks] == [(f"telegram:channel{SHOP}", f"telegram:channel{STORE_TWO}")]
    result = runner.invoke(app, ["accounts", "link", "--db", store.url, "--json"])
    assert result.exit_code == 0, result.output
    networks = json.loads(result.output)["networks"]
    assert networks[0]["accounts"] == [f"telegram:channel{SHOP}", f"telegram:channel{STORE_TWO}"]
    assert "phone:+15550107788" in networks[0]["contacts"]


def _results(store: Store):
    """Scan results for the store's events as a selling model that flags every drug advert would give them."""
    from drugwatch.scoring import EventResult

    out = []
    for event in store.iter_events():
        selling = any(word in event.text for word in ("xanax", "mdma"))
        probs = {label: 0.01 for label in LABELS}
        probs["xanax" if "xanax" in event.text else "mdma" if "mdma" in event.text else "non_drug"] = 0.9
        out.append(
            EventResult(
                key=event.key,
                id=event.id,
                platform=event.platform,
                kind=event.kind,
                parent_id=event.parent_id,
                post_id=event.post_id,
                author=event.author,
                created_at=event.created_at,
                text=event.text,
                normalized_text=event.text.lower(),
                selling_probability=0.95 if selling else 0.05,
                selling=selling,
                drug_probabilities=probs,
                drug_labels=tuple(k for k, v in probs.items() if v > 0.5),
            )
        )
    return out


def test_the_report_ranks_and_links_telegram_channels(store: Store, tmp_path: Path) -> None:
    from drugwatch.report import build_report

    results = _results(store)
    accounts = list(store.iter_accounts())
    build_report(lambda: results, tmp_path / "report", accounts=accounts, unmask=True)
    tables = tmp_path / "report" / "tables"
    with open(tables / "top-accounts.csv", encoding="utf-8") as handle:
        top = [row["account"] for row in csv.DictReader(handle)]
    assert top[:2] == [f"channel{SHOP}", f"channel{STORE_TWO}"] or top[:2] == [f"channel{STORE_TWO}", f"channel{SHOP}"]
    with open(tables / "networks.csv", encoding="utf-8") as handle:
        networks = list(csv.DictReader(handle))
    assert len(networks) == 1
    assert (
        f"telegram:channel{SHOP}" in networks[0]["members"]
        and "app_handle:demo_orderbot" in networks[0]["shared_contacts"]
    )


def test_display_names_show_beside_peer_ids_in_the_networks_the_cli_and_the_report(
    store: Store, tmp_path: Path
) -> None:
    from drugwatch.report import build_report

    network = link_store(store).result.networks[0]
    assert network.names == {f"telegram:channel{SHOP}": "demo shop", f"telegram:channel{STORE_TWO}": "demo store two"}
    assert network.label(f"telegram:channel{SHOP}") == f"telegram:channel{SHOP} (demo shop)"
    result = runner.invoke(app, ["accounts", "link", "--db", store.url])
    assert result.exit_code == 0, result.output
    assert "(demo shop)" in result.output
    as_json = runner.invoke(app, ["accounts", "link", "--db", store.url, "--json"])
    assert json.loads(as_json.output)["networks"][0]["names"][f"telegram:channel{STORE_TWO}"] == "demo store two"

    results, accounts = _results(store), list(store.iter_accounts())
    build_report(lambda: results, tmp_path / "shown", accounts=accounts, unmask=True)
    with open(tmp_path / "shown" / "tables" / "top-accounts.csv", encoding="utf-8") as handle:
        names = {row["account"]: row["name"] for row in csv.DictReader(handle)}
    assert names[f"channel{SHOP}"] == "demo shop" and names[f"channel{STORE_TWO}"] == "demo store two"
    assert f"channel{SHOP} (demo shop)" in (tmp_path / "shown" / "report.html").read_text(encoding="utf-8")
    # Masked (the default), a display name is personal data like the username.
    build_report(lambda: results, tmp_path / "masked", accounts=accounts)
    with open(tmp_path / "masked" / "tables" / "top-accounts.csv", encoding="utf-8") as handle:
        masked = [row["name"] for row in csv.DictReader(handle)]
    assert "demo shop" not in masked and "[masked]" in masked
    assert "demo shop" not in (tmp_path / "masked" / "report.html").read_text(encoding="utf-8")


def test_a_contact_cards_phone_is_among_the_scan_results_contacts(store: Store) -> None:
    from drugwatch.scoring import EventScorer

    events = list(store.iter_events(platform="telegram"))
    by_key = {r.key: r for r in EventScorer().score(events)}
    card = by_key[f"telegram:{SHOP}/2"]
    assert [(c.kind, c.value, c.source) for c in card.contacts] == [("phone", "+15550107788", "contact_card")]
    assert card.text == ""
    # Messages without a card keep only their text's contacts.
    assert all(c.source == "text" for c in by_key[f"telegram:{SHOP}/1"].contacts)

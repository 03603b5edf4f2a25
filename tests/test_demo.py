"""The seeded demo corpus: deterministic, valid, consistent threads, fake contacts, usable truth."""

from __future__ import annotations

import json
import re
import statistics
from datetime import timedelta
from pathlib import Path

import pytest

from drugwatch.demo import DemoCorpus, generate_demo, write_demo
from drugwatch.demo.images import IMAGE_KINDS, render
from drugwatch.labels import NON_DRUG
from drugwatch.records import Account, Event, sha256_bytes, sha256_json

SMALL = {"n_accounts": 14, "posts_per_account": (2, 5)}

PHONE_VALUE = re.compile(r"^\+1\d{3}55501\d\d$")
# A North American number written with any separators: "440-555-0147", "(440) 555 0147".
PHONE_IN_TEXT = re.compile(r"(?<!\d)(?:\+?1[\s.-]?)?\(?(\d{3})\)?[\s.-]?(\d{3})[\s.-]?(\d{4})(?!\d)")
EMAIL_IN_TEXT = re.compile(r"[\w.+-]+@([\w-]+(?:\.[\w-]+)+)")


@pytest.fixture(scope="module")
def small() -> DemoCorpus:
    return generate_demo(seed=7, **SMALL)


@pytest.fixture(scope="module")
def medium() -> DemoCorpus:
    """Large enough for kind-level statistics and several networks; no images (fast)."""
    return generate_demo(seed=11, n_accounts=60, posts_per_account=(5, 15), images=False)


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------- determinism


def test_same_seed_gives_byte_identical_output(tmp_path: Path) -> None:
    write_demo(generate_demo(seed=3, **SMALL), tmp_path / "a")
    write_demo(generate_demo(seed=3, **SMALL), tmp_path / "b")
    first, second = _files(tmp_path / "a"), _files(tmp_path / "b")
    assert first.keys() == second.keys()
    assert any(name.startswith("images/") for name in first)
    assert first == second


def test_different_seed_gives_different_corpus(tmp_path: Path) -> None:
    a = write_demo(generate_demo(seed=3, images=False, **SMALL), tmp_path / "a").read_bytes()
    b = write_demo(generate_demo(seed=4, images=False, **SMALL), tmp_path / "b").read_bytes()
    assert a != b


def test_texts_do_not_depend_on_images(small: DemoCorpus) -> None:
    bare = generate_demo(seed=7, images=False, **SMALL)
    assert not bare.images
    assert [e.model_dump(exclude={"images", "provenance"}) for e in bare.events] == [
        e.model_dump(exclude={"images", "provenance"}) for e in small.events
    ]


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="n_accounts must be at least 6"):
        generate_demo(n_accounts=3, images=False)
    with pytest.raises(ValueError, match="posts_per_account must be"):
        generate_demo(posts_per_account=(5, 2), images=False)
    with pytest.raises(TypeError, match="seed must be an int"):
        generate_demo(seed="0", images=False)  # type: ignore[arg-type]


# ------------------------------------------------------------ records, JSONL


def test_jsonl_round_trips_through_the_record_parsers(tmp_path: Path, small: DemoCorpus) -> None:
    path = write_demo(small, tmp_path)
    lines = path.read_text(encoding="utf-8").splitlines()
    types = [json.loads(line)["record_type"] for line in lines]
    assert types == ["account"] * len(small.accounts) + ["event"] * len(small.events)
    for n, line in enumerate(lines, 1):
        payload = json.loads(line)
        record_type = payload.pop("record_type")
        parser = Account if record_type == "account" else Event
        record = parser.parse(payload, source=str(path), locator=f"line {n}")
        assert record.model_dump(mode="json") == payload
        assert record.provenance is not None
        assert record.provenance.source == "drugwatch-demo:7"
        raw = record.model_dump(mode="json", exclude={"provenance"})
        assert record.provenance.raw_sha256 == sha256_json(raw)
    truth = json.loads((tmp_path / "truth.json").read_text(encoding="utf-8"))
    assert truth["dealers"] == small.dealers
    assert truth["networks"] == small.networks


def test_accounts_are_invented_and_carry_truth(small: DemoCorpus) -> None:
    names = [a.username for a in small.accounts]
    assert len(set(names)) == len(names)
    kinds = {a.meta["kind"] for a in small.accounts}
    assert kinds == {"dealer", "drug_user", "ordinary", "news_awareness"}
    for account in small.accounts:
        assert account.timeline == ()
        assert account.dealer == (account.meta["kind"] == "dealer")
        assert isinstance(account.meta["utc_offset_hours"], int)
        assert account.posts_count is not None and account.posts_count >= 1
    authors = {e.author for e in small.events}
    assert authors <= set(names)


def test_threads_are_consistent(small: DemoCorpus) -> None:
    by_id = {e.id: e for e in small.events}
    assert len(by_id) == len(small.events)
    position = {e.id: i for i, e in enumerate(small.events)}
    comments = [e for e in small.events if e.kind == "comment"]
    assert comments
    for event in small.events:
        if event.kind == "post":
            assert event.parent_id is None and event.post_id is None
            assert event.meta["depth"] == 0
            continue
        parent = by_id[event.parent_id]
        assert event.created_at > parent.created_at
        assert position[parent.id] < position[event.id]  # parents are written first
        depth, node = 1, parent
        while node.kind == "comment":
            node = by_id[node.parent_id]
            depth += 1
        assert node.id == event.post_id
        assert 1 <= depth <= 3
        assert event.meta["depth"] == depth
    assert max(e.meta["depth"] for e in small.events) >= 2


def test_time_window_is_about_120_days(medium: DemoCorpus) -> None:
    posts = [e.created_at for e in medium.events if e.kind == "post"]
    assert timedelta(days=100) < max(posts) - min(posts) < timedelta(days=122)


# ------------------------------------------------------------------- labels


def test_labels_follow_the_documented_convention(medium: DemoCorpus) -> None:
    kind = {a.username: a.meta["kind"] for a in medium.accounts}
    for event in medium.events:
        assert event.labels is not None and event.selling is not None
        if event.labels != (NON_DRUG,):
            assert set(event.labels) <= set(event.meta["mentions"])
        if event.selling:
            assert kind[event.author] == "dealer"
            assert event.labels != (NON_DRUG,)
            assert event.meta["contacts"], event.text
        if event.meta["role"] in ("personal_use", "news", "ordinary", "friend", "lifestyle"):
            assert event.labels == (NON_DRUG,)
            assert not event.selling
    roles = {e.meta["role"] for e in medium.events}
    assert {
        "advert",
        "teaser",
        "piggyback_advert",
        "buyer_ask",
        "dealer_reply",
        "personal_use",
        "news",
    } <= roles
    personal = [e for e in medium.events if e.meta["role"] == "personal_use"]
    assert all(e.meta["mentions"] for e in personal)


def test_piggybacked_adverts_hide_under_harmless_posts(medium: DemoCorpus) -> None:
    by_id = {e.id: e for e in medium.events}
    piggybacks = [e for e in medium.events if e.meta["role"] == "piggyback_advert"]
    assert piggybacks
    roots = {by_id[e.post_id].meta["role"] for e in piggybacks}
    assert "ordinary" in roots
    assert all(by_id[e.post_id].labels == (NON_DRUG,) for e in piggybacks)
    assert any(e.meta["depth"] >= 2 for e in piggybacks)


def test_obfuscated_texts_keep_their_plain_version(medium: DemoCorpus) -> None:
    disguised = [e for e in medium.events if e.meta["obfuscation"]]
    assert disguised
    techniques = {t for e in disguised for t in e.meta["obfuscation"]}
    assert len(techniques) >= 3
    for event in disguised:
        assert event.meta["plain_text"] and event.meta["plain_text"] != event.text
        assert event.labels != (NON_DRUG,)


def test_some_adverts_give_contacts_only_in_the_image(medium: DemoCorpus) -> None:
    image_only = [
        e
        for e in medium.events
        if e.selling and e.meta["contacts"] and all(c["where"] == "image" for c in e.meta["contacts"])
    ]
    assert image_only
    for event in image_only:
        for contact in event.meta["contacts"]:
            assert contact["surface"] in event.meta["image_text"]


# ----------------------------------------------------------------- contacts


def _contact_truths(corpus: DemoCorpus) -> list[dict[str, str]]:
    found = [c for e in corpus.events for c in e.meta["contacts"]]
    found += [c for a in corpus.accounts for c in a.meta["contacts"] + a.meta["bio_contacts"]]
    return found


def test_dealers_sell_with_fake_contacts_only(medium: DemoCorpus) -> None:
    dealers = set(medium.dealers)
    selling = [e for e in medium.events if e.selling]
    assert selling and {e.author for e in selling} <= dealers
    assert {e.author for e in selling if e.kind == "post"} == dealers
    truths = _contact_truths(medium)
    types = {c["type"] for c in truths}
    assert len(types) >= 3
    for contact in truths:
        value = contact["value"]
        if value.startswith("+"):
            assert PHONE_VALUE.match(value), value
        if contact["type"] == "email":
            assert value.rsplit("@", 1)[1] in ("example.com", "example.org")
        if contact["type"] == "btc":
            # 'o' is outside the bech32 alphabet: the string can never validate.
            assert value.startswith("bc1qdemo")
    texts = [e.text for e in medium.events] + [e.meta["image_text"] or "" for e in medium.events]
    texts += [a.bio for a in medium.accounts]
    phones = [m for text in texts for m in PHONE_IN_TEXT.finditer(text)]
    assert phones or not any(c["value"].startswith("+") for c in truths)
    for match in phones:
        assert match.group(2) == "555" and match.group(3).startswith("01"), match.group(0)
    emails = [m.group(1) for text in texts for m in EMAIL_IN_TEXT.finditer(text)]
    assert emails or not any("@example." in c.get("surface", "") for c in truths)
    assert set(emails) <= {"example.com", "example.org"}


def test_contact_surfaces_appear_where_stated(medium: DemoCorpus) -> None:
    for event in medium.events:
        for contact in event.meta["contacts"]:
            where = event.text if contact["where"] == "text" else event.meta["image_text"]
            assert contact["surface"] in where


# ----------------------------------------------------------------- networks


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]{3,}", text.lower())}


def test_networks_share_a_contact_or_an_advert_template(medium: DemoCorpus) -> None:
    assert medium.networks
    accounts = {a.username: a for a in medium.accounts}
    for network_id, members in medium.networks.items():
        assert 2 <= len(members) <= 5
        details = medium.network_details[network_id]
        for name in members:
            assert accounts[name].meta["network"] == network_id
            assert accounts[name].dealer
        own = {name: [e for e in medium.events if e.author == name] for name in members}
        if details["link"] in ("shared_contact", "both"):
            value = details["shared_contact"]["value"]
            for name in members:
                assert any(c["value"] == value for e in own[name] for c in e.meta["contacts"])
        if details["link"] in ("template", "both"):
            adverts = {
                name: [e for e in own[name] if e.meta["template"] == details["template"] and not e.meta["obfuscation"]]
                for name in members
            }
            assert all(adverts.values())
            first, *others = members
            base = _words(adverts[first][0].text)
            for name in others:
                other = _words(adverts[name][0].text)
                assert len(base & other) / len(base | other) >= 0.5
    linked = {m for members in medium.networks.values() for m in members}
    solo = [a for a in medium.accounts if a.dealer and a.username not in linked]
    assert all(a.meta["network"] is None for a in solo)


def test_dealers_repost_near_duplicate_adverts(medium: DemoCorpus) -> None:
    groups: dict[tuple[str, str], list[Event]] = {}
    for event in medium.events:
        if event.meta["role"] == "advert":
            groups.setdefault((event.author, event.meta["template"]), []).append(event)
    reposted = [group for group in groups.values() if len(group) >= 2]
    assert len({group[0].author for group in reposted}) >= len(medium.dealers) // 2
    for group in reposted:
        a = _words(group[0].meta["plain_text"] or group[0].text)
        b = _words(group[1].meta["plain_text"] or group[1].text)
        assert len(a & b) / len(a | b) >= 0.5


# ------------------------------------------------------ kind-level statistics


def _local_hour(event: Event, offset: int) -> int:
    assert event.created_at is not None
    return (event.created_at + timedelta(hours=offset)).hour


def test_dealers_differ_from_ordinary_users_as_yang_and_luo_found(medium: DemoCorpus) -> None:
    offsets = {a.username: a.meta["utc_offset_hours"] for a in medium.accounts}
    kind = {a.username: a.meta["kind"] for a in medium.accounts}
    posts = {k: [e for e in medium.events if e.kind == "post" and kind[e.author] == k] for k in set(kind.values())}

    def drug_share(k: str) -> float:
        return sum(bool(e.meta["mentions"]) for e in posts[k]) / len(posts[k])

    def night_share(k: str) -> float:
        return sum(0 <= _local_hour(e, offsets[e.author]) < 4 for e in posts[k]) / len(posts[k])

    assert drug_share("dealer") > 0.6 > 0.1 > drug_share("ordinary")
    assert drug_share("dealer") > drug_share("drug_user") > drug_share("ordinary")
    assert night_share("dealer") > 2 * night_share("ordinary")

    def ratio(k: str) -> float:
        return statistics.median(a.following_ratio for a in medium.accounts if a.meta["kind"] == k)

    assert ratio("dealer") > 2 * ratio("ordinary")
    assert ratio("news_awareness") < ratio("ordinary")


# ------------------------------------------------------------------- images


def test_images_exist_with_matching_sha256(tmp_path: Path, small: DemoCorpus) -> None:
    write_demo(small, tmp_path)
    with_images = [e for e in small.events if e.images]
    posts = [e for e in small.events if e.kind == "post"]
    assert len(with_images) > len(posts) / 2
    for event in small.events:
        assert len(event.images) == len(event.meta["image_kinds"])
        for ref in event.images:
            assert ref.path is not None and ref.path.startswith("images/")
            data = (tmp_path / ref.path).read_bytes()
            assert sha256_bytes(data) == ref.sha256
            assert data[:2] == b"\xff\xd8"  # JPEG


def test_image_dir_receives_the_same_files(tmp_path: Path) -> None:
    corpus = generate_demo(seed=2, image_dir=tmp_path / "root", **SMALL)
    files = _files(tmp_path / "root")
    assert files == dict(corpus.images)


def test_scene_truth_is_recorded(medium: DemoCorpus) -> None:
    kinds = {k for e in medium.events for k in e.meta["image_kinds"]}
    assert {"pills", "leaf", "contact_note", "food", "sunset"} <= kinds
    assert kinds <= set(IMAGE_KINDS)
    for event in medium.events:
        for label in event.meta["image_labels"]:
            assert label in event.meta["mentions"]


@pytest.mark.parametrize("kind", sorted(IMAGE_KINDS))
def test_every_scene_renders_deterministically(kind: str) -> None:
    text = "wickr: demo_plug7\ntel 440-555-0142" if kind == "contact_note" else None
    first = render(kind, "k1", text=text)
    assert first == render(kind, "k1", text=text)
    assert first != render(kind, "k2", text=text)


def test_render_rejects_unknown_scenes() -> None:
    with pytest.raises(ValueError, match="unknown image kind 'selfie'"):
        render("selfie", "k")
    with pytest.raises(ValueError, match="needs the text"):
        render("contact_note", "k")

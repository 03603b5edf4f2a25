"""Account linking on a small hand-made graph with known components, and hashtag communities."""

from __future__ import annotations

from drugwatch.accounts.evaluation import network_recovery
from drugwatch.accounts.linking import hashtag_communities, link_accounts, linkable_contacts
from drugwatch.records import Account, Event

ADVERT = (
    "🔥 RESTOCKED 🔥 premium xanax bars ready to ship, {n} for ${p}, discreet packaging, "
    "tracking provided, order now wickr: {h}"
)


def account(name: str, *texts: str, bio: str = "") -> Account:
    events = tuple(Event(id=f"{name}{i}", author=name, text=text) for i, text in enumerate(texts))
    return Account(username=name, bio=bio, timeline=events)


def corpus() -> list[Account]:
    return [
        account("a", "new menu out", bio="🔌 wickr: plugA1"),
        account("b", "hmu on telegram plugA1 for the menu"),  # same handle, another app
        account("c", "whatsapp +1 555 010 7788 for bars"),
        account("d", "text me +1-555-010-7788"),  # same phone, other layout
        account("e", ADVERT.format(n=10, p=50, h="eee1")),
        account("f", ADVERT.format(n=20, p=90, h="fff2")),  # near-duplicate advert, other contact
        account("g", "dm on wickr"),  # bare app names never link
        account("h", "dm on wickr", "cashapp only"),
        account("i", "love you @bestie"),  # friends tagging friends never link
        account("j", "miss you @bestie"),
        account("k", "newsroom tips: tips@example.org"),
        account("l", "write to tips@example.org"),
    ]


def test_components_are_the_known_networks_with_their_evidence():
    result = link_accounts(corpus())
    found = {n.accounts for n in result.networks}
    expected = {
        ("instagram:a", "instagram:b"),
        ("instagram:c", "instagram:d"),
        ("instagram:e", "instagram:f"),
        ("instagram:k", "instagram:l"),
    }
    assert found == expected
    by_members = {n.accounts: n for n in result.networks}
    ab = by_members[("instagram:a", "instagram:b")]
    assert ab.contacts == ("app_handle:plugA1".lower(),)
    assert ab.evidence[0].events == ("instagram:a#bio", "instagram:b0")
    cd = by_members[("instagram:c", "instagram:d")]
    assert cd.contacts == ("phone:+15550107788",)
    ef = by_members[("instagram:e", "instagram:f")]
    assert [e.type for e in ef.evidence] == ["near_duplicate"]
    assert ef.evidence[0].events == ("instagram:e0", "instagram:f0")
    assert result.graph.number_of_nodes() == 12 and result.graph.number_of_edges() == 4
    assert result.network_of("instagram:g") is None
    assert result.membership()["instagram:b"] == ab.id
    assert result.as_dict()["networks"][0]["size"] == 2
    score = network_recovery(
        [n.accounts for n in result.networks],
        [("instagram:a", "instagram:b"), ("instagram:c", "instagram:d"), ("instagram:e", "instagram:f")],
        [a.key for a in corpus()],
    )
    assert score["pair_recall"] == 1.0 and score["pair_precision"] == 0.75


def test_only_restricts_the_graph_and_near_duplicates_can_be_turned_off():
    keys = [a.key for a in corpus() if a.username != "k"]
    result = link_accounts(corpus(), only=keys, near_duplicates=False)
    found = {n.accounts for n in result.networks}
    assert found == {("instagram:a", "instagram:b"), ("instagram:c", "instagram:d")}
    assert "instagram:k" not in result.graph


def test_events_without_account_records_link_their_authors():
    events = [
        Event(id="x1", author="x", text="wickr: samehandle9"),
        Event(id="y1", author="y", text="wickr samehandle9"),
    ]
    result = link_accounts([], events)
    assert [n.accounts for n in result.networks] == [("instagram:x", "instagram:y")]


def test_linkable_contacts_skip_app_words_and_mentions():
    assert linkable_contacts("cashapp only, dm on wickr, @friend") == set()
    assert linkable_contacts("$demo_cash") == {"payment:demo_cash"}


def test_hashtag_communities_per_drug():
    events = []
    for i in range(3):
        events.append(Event(id=f"k{i}", text="kush for sale #weed #kush #og"))
        events.append(Event(id=f"s{i}", text="weed all day #420 #stoner #highlife"))
        events.append(Event(id=f"x{i}", text="xanax bars #xanax #bars"))
    events.append(Event(id="n", text="sunset #beach #sun"))  # no drug: not counted
    communities = hashtag_communities(events)
    assert set(communities) == {"marijuana", "xanax"}
    weed = {c.tags for c in communities["marijuana"]}
    assert {frozenset(t) for t in weed} == {frozenset({"weed", "kush", "og"}), frozenset({"420", "stoner", "highlife"})}
    assert all(c.n_events == 3 for c in communities["marijuana"])
    assert {frozenset(c.tags) for c in communities["xanax"]} == {frozenset({"xanax", "bars"})}
    assert hashtag_communities(events, min_cooccurrence=4) == {}


def test_phone_ids_meet_phones_and_digit_fragments_never_link():
    # a WhatsApp id that is a phone number is the phone number
    assert linkable_contacts("whatsapp 702-555-0123") == {"phone:+17025550123"}
    # two different numbers share the area code and exchange: no link through a fragment
    result = link_accounts([account("p", "wickr 70255501"), account("q", "kik 70255501")])
    assert result.networks == ()
    phone_pair = link_accounts([account("r", "whatsapp 702-555-0123"), account("s", "call 702 555 0123")])
    assert [n.contacts for n in phone_pair.networks] == [("phone:+17025550123",)]

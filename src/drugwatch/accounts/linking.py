"""Linking accounts into suspected dealer networks, and hashtag communities per drug.

Public API (stable; the scan/report stage and the REST API call it):

:func:`link_accounts`
    A graph whose nodes are accounts (``platform:username``) and whose edges
    say why two accounts look like one operation:

    * **shared contact**: the same contact value in both accounts' bios or
      events (phone in E.164, e-mail, messenger handle, payment handle such as
      ``$name``, crypto address), read by :func:`drugwatch.text.contacts.find_contacts`,
      which undoes look-alike letters, spaced or spelled digits and
      "at"/"dot" words. A messenger handle links across apps (``wickr: x`` and
      ``telegram: x``): dealers reuse handles. Bare app names ("dm on wickr")
      and payment words without a handle ("cashapp") never link; neither do
      Instagram @mentions (friends tag friends).
      Telegram keeps contacts beside the text too (:func:`platform_contacts`):
      the phone number of a shared contact card (``meta["contact"]``), and,
      in a channel's own posts, @usernames, which are Telegram handles there
      (``order via @shop_bot``) and link as ``app_handle``. @mentions by
      users in groups do not link (buyers all mention the same seller).
    * **near-duplicate advert**: two accounts posted adverts in one MinHash
      near-duplicate cluster (:mod:`drugwatch.dedup`, Jaccard >= 0.7 on the
      fingerprint view, where digits are collapsed, so reposts with other
      prices still match). The whole text is compared, contacts and hashtags
      included: removing them made unrelated dealers' adverts, written from
      the same stock phrases, look alike (pair precision fell from 1.0 to
      0.3-0.8 on demo seeds 0-4). An *advert* is an event whose text names a drug
      and shows a contact (or, when ``drug_proba`` is given, an event at or
      above 0.5 that shows a contact).

    Connected components with two or more accounts are the suspected
    :class:`Network` objects, each with every piece of evidence behind its
    edges (contact values, advert clusters, event keys).

:func:`hashtag_communities`
    For each drug label, a co-occurrence graph of the hashtags of the events
    that name that drug (edge weight: events where both tags appear) split
    into Louvain communities (``networkx``, seeded).

>>> result = link_accounts(accounts)                     # doctest: +SKIP
>>> [n.accounts for n in result.networks]                # doctest: +SKIP
[('instagram:plug_a', 'instagram:plug_b')]
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import networkx as nx

from drugwatch.records import Account, Event

#: Contact kinds that link accounts (see the module docstring for the exclusions).
LINK_CONTACT_KINDS: tuple[str, ...] = ("phone", "email", "app_handle", "payment", "crypto_address")
#: Evidence listed per link (the rest is counted).
MAX_EVENTS_PER_EVIDENCE = 20


@dataclass(frozen=True)
class LinkEvidence:
    """Why some accounts are linked: one shared contact value or one advert cluster."""

    type: str  # "contact" or "near_duplicate"
    value: str  # "phone:+15550107788", or the cluster's first advert (truncated)
    accounts: tuple[str, ...]
    events: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"type": self.type, "value": self.value, "accounts": list(self.accounts), "events": list(self.events)}


@dataclass(frozen=True)
class Network:
    """A connected component of the link graph with two or more accounts."""

    id: str
    accounts: tuple[str, ...]
    evidence: tuple[LinkEvidence, ...]
    n_edges: int
    #: Account key -> display name, for members whose name says more than their
    #: username (a Telegram channel's title, a sender's name beside its peer id).
    names: Mapping[str, str] = field(default_factory=dict, hash=False)

    @property
    def size(self) -> int:
        return len(self.accounts)

    def label(self, account_key: str) -> str:
        """``account_key``, with its display name in brackets when there is one."""
        name = self.names.get(account_key)
        return f"{account_key} ({name})" if name else account_key

    @property
    def contacts(self) -> tuple[str, ...]:
        return tuple(e.value for e in self.evidence if e.type == "contact")

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "accounts": list(self.accounts),
            "size": self.size,
            "n_edges": self.n_edges,
            "contacts": list(self.contacts),
            "evidence": [e.as_dict() for e in self.evidence],
            "names": dict(self.names),
        }


@dataclass(frozen=True)
class LinkResult:
    """The link graph, its networks and all evidence."""

    graph: nx.Graph
    networks: tuple[Network, ...]
    evidence: tuple[LinkEvidence, ...]

    def network_of(self, account_key: str) -> Network | None:
        for network in self.networks:
            if account_key in network.accounts:
                return network
        return None

    def membership(self) -> dict[str, str]:
        """Account key -> network id, for accounts in a network."""
        return {a: n.id for n in self.networks for a in n.accounts}

    def as_dict(self) -> dict[str, Any]:
        return {
            "n_accounts": self.graph.number_of_nodes(),
            "n_links": self.graph.number_of_edges(),
            "networks": [n.as_dict() for n in self.networks],
        }


_DIGITS_ONLY = re.compile(r"^\+?[0-9]+$")
#: Fewer digits than this is a fragment of a number (an area code and exchange
#: are shared by many different phones), not an identifier.
MIN_PHONE_DIGITS = 10


def linkable_contacts(text: str) -> set[str]:
    """``kind:value`` of the contacts in ``text`` that can link accounts.

    A messenger or payment id that is a phone number ("whatsapp 702-555-0123")
    becomes ``phone:<number>``, so it meets the same number written alone;
    digit strings shorter than :data:`MIN_PHONE_DIGITS` are dropped.
    """
    from drugwatch.text.analyze import analyze

    out = set()
    for contact in analyze(text).contacts:
        if contact.kind not in LINK_CONTACT_KINDS:
            continue
        value = contact.value.strip().lower()
        if not value or (contact.app and value == contact.app.lower()):
            continue  # "cashapp", "bitcoin": a payment word, not an account
        kind = contact.kind
        if kind == "phone" or _DIGITS_ONLY.match(value):
            if sum(ch.isdigit() for ch in value) < MIN_PHONE_DIGITS:
                continue
            kind = "phone"
        out.add(f"{kind}:{value}")
    return out


#: Authors of Telegram events who are a channel (its own posts), not a person.
_TELEGRAM_CHANNEL = re.compile(r"^channel\d+$")


def platform_contacts(event: Event) -> set[str]:
    """``kind:value`` contacts an event holds beside its text, in :func:`linkable_contacts` form.

    Telegram (``platform == "telegram"``, read by :mod:`drugwatch.io.telegram`):
    the phone number of a shared contact card (``meta["contact"]
    ["phone_number"]``; such a message often has no text at all), and, when
    the author is a channel (``channel<id>``), the @usernames of its text as
    ``app_handle`` values: a shop channel names the account or bot that takes
    orders. Other platforms: none.
    """
    if event.platform != "telegram":
        return set()
    out: set[str] = set()
    card = event.meta.get("contact")
    if isinstance(card, dict) and isinstance(card.get("phone_number"), str):
        out |= {v for v in linkable_contacts(card["phone_number"]) if v.startswith("phone:")}
    if event.author and _TELEGRAM_CHANNEL.match(event.author):
        from drugwatch.text.analyze import analyze

        out |= {
            f"app_handle:{c.value.lower()}"
            for c in analyze(event.text).contacts
            if c.kind == "instagram_handle" and c.value
        }
    return out


def event_contacts(event: Event) -> set[str]:
    """Every linkable contact of ``event``: its text's and its platform's (:func:`platform_contacts`)."""
    return linkable_contacts(event.text) | platform_contacts(event)


def is_advert(event: Event, drug_proba: float | None = None) -> bool:
    """A drug event with a contact (see the module docstring)."""
    from drugwatch.text.analyze import analyze

    view = analyze(event.text)
    drug = bool(view.labels) if drug_proba is None else drug_proba >= 0.5
    return drug and (view.has_contact or bool(platform_contacts(event)))


def _node(platform: str, username: str) -> str:
    return f"{platform}:{username}"


def link_accounts(
    accounts: Iterable[Account] = (),
    events: Iterable[Event] = (),
    *,
    contact_kinds: Sequence[str] = LINK_CONTACT_KINDS,
    near_duplicate_threshold: float = 0.7,
    near_duplicates: bool = True,
    drug_proba: Mapping[str, float] | None = None,
    only: Iterable[str] | None = None,
) -> LinkResult:
    """Link ``accounts`` (bios and timelines) and the authors of ``events``.

    ``events`` are extra events (e.g. a corpus whose accounts come without
    timelines); their authors become nodes even without an account record.
    ``drug_proba`` maps event keys to a detector's drug probability; without
    it, adverts are recognized with the lexicon. ``only`` restricts the graph
    to these account keys (e.g. the accounts a dealer model flagged), so an
    organisation's shared newsroom e-mail does not form a "network".
    """
    from drugwatch.dedup import cluster_texts

    kinds = set(contact_kinds)
    keep = None if only is None else set(only)
    graph = nx.Graph()
    by_event: dict[str, tuple[str, Event]] = {}
    contact_holders: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    names: dict[str, str] = {}
    for account in accounts:
        node = account.key
        if keep is not None and node not in keep:
            continue
        graph.add_node(node)
        if account.full_name and account.full_name != account.username:
            names[node] = account.full_name
        for value in linkable_contacts(account.bio):
            if value.split(":", 1)[0] in kinds:
                contact_holders[value][node].append(f"{node}#bio")
        for event in account.timeline:
            by_event[event.key] = (node, event)
    for event in events:
        if event.author and (keep is None or _node(event.platform, event.author) in keep):
            by_event.setdefault(event.key, (_node(event.platform, event.author), event))
    for node, event in by_event.values():
        graph.add_node(node)
        author_name = event.meta.get("author_name")  # Telegram: the sender's or channel's display name
        if node not in names and isinstance(author_name, str) and author_name and author_name != event.author:
            names[node] = author_name
        for value in event_contacts(event):
            if value.split(":", 1)[0] in kinds:
                contact_holders[value][node].append(event.key)

    evidence: list[LinkEvidence] = []
    for value in sorted(contact_holders):
        holders = contact_holders[value]
        if len(holders) < 2:
            continue
        found = tuple(k for node in sorted(holders) for k in holders[node])[:MAX_EVENTS_PER_EVIDENCE]
        evidence.append(LinkEvidence("contact", value, tuple(sorted(holders)), found))

    if near_duplicates:
        adverts = [
            (node, event)
            for node, event in by_event.values()
            if is_advert(event, None if drug_proba is None else drug_proba.get(event.key, 0.0))
        ]
        adverts.sort(key=lambda pair: pair[1].key)
        clusters: dict[int, list[tuple[str, Event]]] = defaultdict(list)
        for cid, pair in zip(cluster_texts([e.text for _, e in adverts], near_duplicate_threshold), adverts):
            clusters[cid].append(pair)
        for members in clusters.values():
            nodes = sorted({node for node, _ in members})
            if len(nodes) < 2:
                continue
            preview = " ".join(members[0][1].text.split())[:160]
            keys = tuple(e.key for _, e in members)[:MAX_EVENTS_PER_EVIDENCE]
            evidence.append(LinkEvidence("near_duplicate", preview, tuple(nodes), keys))

    for item in evidence:
        for a, b in combinations(item.accounts, 2):
            if graph.has_edge(a, b):
                graph.edges[a, b]["evidence"].append(item)
            else:
                graph.add_edge(a, b, evidence=[item])

    networks = []
    components = [sorted(c) for c in nx.connected_components(graph) if len(c) >= 2]
    components.sort(key=lambda c: (-len(c), c[0]))
    for number, component in enumerate(components, start=1):
        sub = graph.subgraph(component)
        items: dict[tuple[str, str], LinkEvidence] = {}
        for _, _, data in sub.edges(data=True):
            for item in data["evidence"]:
                items[(item.type, item.value)] = item
        networks.append(
            Network(
                id=f"net-{number:03d}",
                accounts=tuple(component),
                evidence=tuple(items[k] for k in sorted(items)),
                n_edges=sub.number_of_edges(),
                names={node: names[node] for node in component if node in names},
            )
        )
    return LinkResult(graph=graph, networks=tuple(networks), evidence=tuple(evidence))


# ---------------------------------------------------------------------------
# Hashtag communities


@dataclass(frozen=True)
class HashtagCommunity:
    """Hashtags that travel together in the events of one drug."""

    drug: str
    tags: tuple[str, ...]  # most frequent first
    n_events: int  # events of this drug carrying at least two of the tags
    tag_counts: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "drug": self.drug,
            "tags": list(self.tags),
            "n_events": self.n_events,
            "tag_counts": dict(self.tag_counts),
        }


def hashtag_communities(
    events: Iterable[Event],
    *,
    min_cooccurrence: int = 2,
    seed: int = 0,
    drugs_of: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, list[HashtagCommunity]]:
    """Louvain communities of the hashtag co-occurrence graph of each drug.

    An event counts for drug ``d`` when the text layer finds ``d`` in it
    (or ``drugs_of[event.key]`` names ``d``). Pairs of tags seen together in
    fewer than ``min_cooccurrence`` events are dropped. Communities of one
    tag are left out.
    """
    from drugwatch.text.analyze import analyze

    pair_counts: dict[str, Counter[tuple[str, str]]] = defaultdict(Counter)
    tag_counts: dict[str, Counter[str]] = defaultdict(Counter)
    tagsets: dict[str, list[frozenset[str]]] = defaultdict(list)
    for event in events:
        tags = sorted(set(event.hashtags))
        if len(tags) < 2:
            continue
        drugs = drugs_of.get(event.key, ()) if drugs_of is not None else analyze(event.text).labels
        for drug in drugs:
            tag_counts[drug].update(tags)
            pair_counts[drug].update(combinations(tags, 2))
            tagsets[drug].append(frozenset(tags))
    out: dict[str, list[HashtagCommunity]] = {}
    for drug in sorted(pair_counts):
        graph = nx.Graph()
        for (a, b), weight in pair_counts[drug].items():
            if weight >= min_cooccurrence:
                graph.add_edge(a, b, weight=weight)
        if graph.number_of_edges() == 0:
            continue
        communities = nx.community.louvain_communities(graph, weight="weight", seed=seed)
        found = []
        for community in communities:
            if len(community) < 2:
                continue
            counts = {t: tag_counts[drug][t] for t in community}
            ordered = tuple(sorted(community, key=lambda t: (-counts[t], t)))
            n_events = sum(1 for s in tagsets[drug] if len(s & community) >= 2)
            found.append(HashtagCommunity(drug, ordered, n_events, counts))
        found.sort(key=lambda c: (-c.n_events, c.tags))
        out[drug] = found
    return out


__all__ = [
    "LINK_CONTACT_KINDS",
    "HashtagCommunity",
    "LinkEvidence",
    "LinkResult",
    "Network",
    "hashtag_communities",
    "event_contacts",
    "is_advert",
    "link_accounts",
    "linkable_contacts",
    "platform_contacts",
]

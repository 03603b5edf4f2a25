"""Build the seeded synthetic demo corpus: accounts, posts, comment threads, truth.

The corpus imitates what the seed papers saw on Instagram, with invented
people, contacts and images:

* **Accounts** of four kinds with the account-level differences Yang & Luo
  use to spot dealers: ``dealer`` (many drug posts, posted late at night,
  following far more accounts than follow them, transaction words and
  contacts in the bio), ``drug_user`` (talks about personal use, asks where
  to buy, never sells), ``ordinary`` (food, travel, pets, fitness, memes) and
  ``news_awareness`` (seizures, overdoses, harm reduction: drug words without
  selling).
* **Events**: posts with captions and hashtags (misspelled and coded ones
  such as #percocert, #zanax, #2mgxanax), and comment threads up to three
  levels deep, including adverts piggybacked as comments under harmless
  posts and buy/sell conversations (JMIR's offers to buy and to sell).
* **Disguises** in a share of dealer texts (look-alike letters, separators,
  masks, leetspeak, emoji) with the plain text kept as truth.
* **Networks** of 2-5 dealers that share a contact or post near-duplicate
  adverts from one template, recorded so account linking can be measured.
* **Images** drawn by :mod:`drugwatch.demo.images`, some carrying written
  contact details (the OCR target).

Labelling convention (decided here, used by every demo consumer):

``labels``
    The drugs the event *traffics*: offered for sale (adverts, teasers,
    dealers' replies) or asked for to buy (buyers' questions and
    follow-ups, judged with the thread's context as DMML's annotators
    saw it). Everything else, including personal-use talk and news, is
    ``("non_drug",)``.
``selling``
    JMIR's dealer-post label: True only when the event offers a drug for
    sale *and* shows contact information to buy (in the text or written in
    the image). Teasers without contacts and buyers' questions are False.
``meta["mentions"]``
    Every drug the event mentions or shows, trafficked or not (a news post
    about a seizure, a user's joint). Use it for Yang & Luo's
    "drug-related post" truth.

Other truth in ``Event.meta``: ``role`` (advert, teaser, lifestyle,
piggyback_advert, buyer_ask, dealer_reply, buyer_followup, personal_use,
news, ordinary, friend, author_reply, warning, piggyback_reaction), ``depth``
(0 for posts), ``image_kind`` / ``image_kinds`` / ``image_labels`` /
``image_text`` (the first image's scene class, every image's scene class in
order, the drugs depicted and the exact text drawn on the images; kept even
when the corpus is built without image files), ``contacts`` (type, canonical value,
surface text and where it appears: ``text`` or ``image``), ``obfuscation`` and
``plain_text`` (the disguises applied and the text before them), ``template``
(the advert template id, for near-duplicate truth).
Account ``meta``: ``kind``, ``network`` (id or None), ``network_link``,
``utc_offset_hours``, ``drugs`` (a dealer's focus), ``contacts`` (all the
account's contact values) and ``bio_contacts``.
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from drugwatch.demo import images as demo_images
from drugwatch.demo import vocab
from drugwatch.demo.contacts import (
    CHANNEL_WEIGHTS,
    Contact,
    ContactType,
    new_contact,
    note_line,
    render_contact,
)
from drugwatch.demo.obfuscate import disguise
from drugwatch.labels import LABEL_INDEX, NON_DRUG
from drugwatch.records import Account, Event, ImageRef, Provenance, sha256_bytes, sha256_json
from drugwatch.text.hashtags import extract_hashtags

#: The corpus covers 120 days starting here (UTC).
WINDOW_START: Final[datetime] = datetime(2024, 3, 1, tzinfo=UTC)
WINDOW_DAYS: Final[int] = 120
#: When the simulated crawl "fetched" the records (after the window).
FETCHED_AT: Final[datetime] = WINDOW_START + timedelta(days=WINDOW_DAYS + 1)

KINDS: Final[tuple[str, ...]] = ("dealer", "drug_user", "ordinary", "news_awareness")
#: Share of each kind among the accounts (ordinary takes the remainder).
KIND_SHARES: Final[dict[str, float]] = {"dealer": 0.18, "drug_user": 0.20, "news_awareness": 0.08}

#: Relative weight of each local hour of day (0-23) for posts by kind.
#: Dealers post around midnight and late at night; news in office hours.
HOUR_WEIGHTS: Final[dict[str, tuple[float, ...]]] = {
    "dealer": (9, 9, 8, 7, 5, 2, 1, 1, 1, 1, 2, 2, 3, 3, 3, 3, 3, 4, 4, 5, 6, 7, 8, 9),
    "drug_user": (6, 5, 3, 2, 1, 1, 0.5, 0.5, 1, 1, 2, 3, 3, 3, 3, 4, 4, 5, 6, 7, 8, 9, 9, 8),
    "ordinary": (1, 0.5, 0.3, 0.2, 0.2, 0.5, 1, 2, 3, 4, 5, 6, 7, 6, 5, 5, 6, 7, 8, 9, 9, 7, 4, 2),
    "news_awareness": (
        0.2,
        0.1,
        0.1,
        0.1,
        0.2,
        0.5,
        2,
        5,
        8,
        9,
        9,
        8,
        7,
        8,
        8,
        7,
        6,
        5,
        4,
        3,
        2,
        1,
        0.5,
        0.3,
    ),
}
#: UTC offsets of the accounts' home time zones (mostly North America).
UTC_OFFSETS: Final[tuple[tuple[int, float], ...]] = (
    (-5, 0.35),
    (-6, 0.2),
    (-8, 0.2),
    (-7, 0.08),
    (-4, 0.05),
    (0, 0.05),
    (1, 0.05),
    (10, 0.02),
)

POST_ROLES: Final[dict[str, dict[str, float]]] = {
    "dealer": {"advert": 0.6, "teaser": 0.2, "lifestyle": 0.2},
    "drug_user": {"personal_use": 0.55, "ordinary": 0.45},
    "ordinary": {"ordinary": 1.0},
    "news_awareness": {"news": 1.0},
}

#: Share of dealer texts written in disguise, and of contacts written obfuscated.
OBFUSCATED_SHARE: Final[float] = 0.25
OBFUSCATED_CONTACT_SHARE: Final[float] = 0.2
#: Chance that an ordinary, personal-use or news post gets a piggybacked advert.
PIGGYBACK_RATE: Final[dict[str, float]] = {"ordinary": 0.12, "personal_use": 0.3, "news": 0.08}


@dataclass(frozen=True, slots=True)
class AdvertTemplate:
    """The fixed choices of one advert; reposts vary prices, contacts and tag order."""

    id: str
    drugs: tuple[str, ...]
    items: tuple[str, ...]
    offers: tuple[vocab.Offer, ...]
    opener: str
    phrase: str
    logistics: tuple[str, ...]
    call: str
    drug_tags: tuple[str, ...]
    sale_tags: tuple[str, ...]


@dataclass(slots=True)
class _Persona:
    """Everything decided about an account before its events are written."""

    index: int
    kind: str
    username: str
    offset: int
    network: str | None = None
    network_link: str | None = None
    drugs: tuple[str, ...] = ()
    contacts: list[Contact] = field(default_factory=list)
    shared: Contact | None = None
    templates: list[AdvertTemplate] = field(default_factory=list)
    network_template: AdvertTemplate | None = None
    posts: int = 0


@dataclass(slots=True)
class _Draft:
    """An event before ids are final and provenance is attached."""

    id: str
    kind: str
    author: str
    created_at: datetime
    text: str
    labels: tuple[str, ...]
    selling: bool
    meta: dict[str, Any]
    parent: _Draft | None = None
    root: _Draft | None = None
    image_plans: list[dict[str, Any]] = field(default_factory=list)

    @property
    def depth(self) -> int:
        return int(self.meta["depth"])


@dataclass(frozen=True)
class DemoCorpus:
    """A generated demo corpus: accounts, events and the linking truth.

    ``accounts`` have empty timelines (their events are in ``events``, the
    way drugwatch's readers yield them). ``networks`` maps a network id to
    its dealers' usernames; ``network_details`` says how each network is
    linked (``shared_contact``, ``template`` or ``both``), which contact is
    shared and which template is reused. ``images`` maps each image's
    relative path (as in :class:`~drugwatch.records.ImageRef`) to its JPEG
    bytes; it is empty when the corpus was built with ``images=False``.
    """

    seed: int
    accounts: list[Account]
    events: list[Event]
    networks: dict[str, list[str]]
    network_details: dict[str, dict[str, Any]]
    images: dict[str, bytes]

    @property
    def dealers(self) -> list[str]:
        """Usernames of the dealer accounts (the account-level truth)."""
        return [a.username for a in self.accounts if a.dealer]

    def summary(self) -> dict[str, int]:
        """Counts that describe the corpus (accounts by kind, events by role and label...)."""
        counts: Counter[str] = Counter()
        counts["accounts"] = len(self.accounts)
        for account in self.accounts:
            counts[f"accounts_{account.meta['kind']}"] += 1
        counts["events"] = len(self.events)
        for event in self.events:
            counts[f"{event.kind}s"] += 1
            counts[f"role_{event.meta['role']}"] += 1
            if event.selling:
                counts["selling"] += 1
            if event.labels != (NON_DRUG,):
                counts["trafficking"] += 1
            if event.meta["mentions"]:
                counts["drug_related"] += 1
            for label in event.labels or ():
                counts[f"label_{label}"] += 1
            if event.meta["obfuscation"]:
                counts["obfuscated"] += 1
            if event.meta["image_kind"] is not None:
                counts["with_image_plan"] += 1
            if event.images:
                counts["with_images"] += 1
            if any(c["where"] == "image" for c in event.meta["contacts"]) and not any(
                c["where"] == "text" for c in event.meta["contacts"]
            ):
                counts["contact_in_image_only"] += 1
        counts["images"] = len(self.images)
        counts["networks"] = len(self.networks)
        counts["dealers_in_networks"] = sum(len(v) for v in self.networks.values())
        return dict(sorted(counts.items()))

    def truth(self) -> dict[str, Any]:
        """The account-level truth written to ``truth.json``."""
        return {
            "seed": self.seed,
            "generator": "drugwatch-demo",
            "dealers": self.dealers,
            "kinds": {a.username: a.meta["kind"] for a in self.accounts},
            "networks": self.networks,
            "network_details": self.network_details,
            "summary": self.summary(),
        }


class _Builder:
    """Draws one corpus from one seeded random stream (see :func:`generate_demo`)."""

    def __init__(self, seed: int, n_accounts: int, posts_per_account: tuple[int, int]) -> None:
        self.seed = seed
        self.n_accounts = n_accounts
        self.posts_range = posts_per_account
        self.rng = random.Random(f"drugwatch-demo:{seed}")
        self.personas: list[_Persona] = []
        self.by_kind: dict[str, list[_Persona]] = {k: [] for k in KINDS}
        self.drafts: list[_Draft] = []
        self.used_names: set[str] = set()
        self.used_contacts: set[str] = set()
        self.network_details: dict[str, dict[str, Any]] = {}
        self.counter = 0

    # ------------------------------------------------------------ accounts

    def _syllables(self, low: int, high: int) -> str:
        return "".join(self.rng.choice(vocab.SYLLABLES) for _ in range(self.rng.randint(low, high)))

    def _username(self, kind: str) -> str:
        while True:
            stem = self._syllables(2, 3)
            suffix = self.rng.choice(vocab.USERNAME_SUFFIXES[kind])
            sep = self.rng.choice(("_", ".", "")) if suffix else ""
            digits = str(self.rng.randint(1, 999)) if self.rng.random() < 0.3 else ""
            name = f"{stem}{sep}{suffix}{digits}"
            if name not in self.used_names:
                self.used_names.add(name)
                return name

    def _place(self) -> str:
        return self.rng.choice(vocab.PLACES)

    def _kinds(self) -> list[str]:
        n = self.n_accounts
        counts = {kind: max(2 if kind == "dealer" else 1, round(share * n)) for kind, share in KIND_SHARES.items()}
        counts["ordinary"] = n - sum(counts.values())
        if counts["ordinary"] < 1:
            raise ValueError(f"n_accounts={n} is too small for every account kind; use at least 6")
        kinds = [kind for kind in KINDS for _ in range(counts[kind])]
        self.rng.shuffle(kinds)
        return kinds

    def _offset(self) -> int:
        offsets, weights = zip(*UTC_OFFSETS, strict=True)
        return self.rng.choices(offsets, weights)[0]

    def _unique_contact(self, type_: ContactType) -> Contact:
        while True:
            contact = new_contact(self.rng, type_)
            if contact.value not in self.used_contacts:
                self.used_contacts.add(contact.value)
                return contact

    def _drug_focus(self, count: int) -> tuple[str, ...]:
        drugs = list(vocab.DEALER_DRUG_WEIGHTS)
        weights = list(vocab.DEALER_DRUG_WEIGHTS.values())
        chosen: list[str] = []
        while len(chosen) < count:
            drug = self.rng.choices(drugs, weights)[0]
            if drug not in chosen:
                chosen.append(drug)
        return tuple(sorted(chosen, key=LABEL_INDEX.__getitem__))

    def _template(self, template_id: str, drugs: tuple[str, ...]) -> AdvertTemplate:
        rng = self.rng
        shown = drugs if len(drugs) <= 2 else tuple(rng.sample(drugs, 2))
        shown = tuple(sorted(shown, key=LABEL_INDEX.__getitem__))
        offers: list[vocab.Offer] = []
        drug_tags: list[str] = []
        for drug in shown:
            entry = vocab.DRUGS[drug]
            picks = rng.sample(entry.offers, min(len(entry.offers), rng.randint(2, 3)))
            offers += sorted(picks, key=lambda o: o.low)
            drug_tags += rng.sample(entry.hashtags, rng.randint(2, 4))
        return AdvertTemplate(
            id=template_id,
            drugs=shown,
            items=tuple(rng.choice(vocab.DRUGS[d].names) for d in shown),
            offers=tuple(offers),
            opener=rng.choice(vocab.ADVERT_OPENERS),
            phrase=rng.choice(vocab.ADVERT_PHRASES),
            logistics=tuple(rng.sample(vocab.ADVERT_LOGISTICS, rng.randint(1, 2))),
            call=rng.choice(vocab.ADVERT_CALLS),
            drug_tags=tuple(drug_tags),
            sale_tags=tuple(rng.sample(vocab.SALE_HASHTAGS, rng.randint(1, 3))),
        )

    def _plan_accounts(self) -> None:
        for index, kind in enumerate(self._kinds()):
            persona = _Persona(index=index, kind=kind, username=self._username(kind), offset=self._offset())
            self.personas.append(persona)
            self.by_kind[kind].append(persona)
        self._plan_dealers()

    def _plan_dealers(self) -> None:
        rng = self.rng
        dealers = list(self.by_kind["dealer"])
        for persona in dealers:
            persona.drugs = self._drug_focus(rng.choices((1, 2, 3), (0.45, 0.4, 0.15))[0])
            channels = list(CHANNEL_WEIGHTS)
            weights = list(CHANNEL_WEIGHTS.values())
            picked: list[ContactType] = []
            for _ in range(rng.choices((1, 2, 3), (0.45, 0.4, 0.15))[0]):
                channel = rng.choices(channels, weights)[0]
                if channel not in picked:
                    picked.append(channel)
            for channel in picked:
                contact = self._unique_contact(channel)
                if channel in ("wickr", "telegram", "kik", "snapchat") and rng.random() < 0.3:
                    # Reusing the username as a handle is a linking cue dealers leave.
                    contact = Contact(contact.type, persona.username.replace(".", "_"))
                persona.contacts.append(contact)
            if rng.random() < 0.25:
                persona.contacts.append(self._unique_contact("btc"))
        # Networks: about half of the dealers, in groups of 2-5.
        pool = list(dealers)
        rng.shuffle(pool)
        target = round(len(dealers) * 0.55)
        grouped = 0
        number = 0
        while len(pool) >= 2 and grouped < target:
            size = min(rng.randint(2, 5), len(pool))
            members, pool = pool[:size], pool[size:]
            grouped += size
            number += 1
            network_id = f"net{number:02d}"
            link = rng.choices(("shared_contact", "template", "both"), (0.45, 0.35, 0.2))[0]
            details: dict[str, Any] = {"link": link, "usernames": [m.username for m in members]}
            if link in ("shared_contact", "both"):
                shared = self._unique_contact(rng.choice(("wickr", "phone", "telegram", "whatsapp")))
                details["shared_contact"] = {"type": shared.type, "value": shared.value}
                for member in members:
                    member.shared = shared
                    member.contacts.insert(0, shared)
            if link in ("template", "both"):
                drugs = members[0].drugs
                template = self._template(f"{network_id}-t", drugs)
                details["template"] = template.id
                for member in members:
                    member.drugs = drugs
                    member.network_template = template
            for member in members:
                member.network = network_id
                member.network_link = link
            self.network_details[network_id] = details
        for persona in dealers:
            persona.templates = [
                self._template(f"{persona.username}-t{k}", persona.drugs) for k in range(rng.randint(1, 2))
            ]

    def _counts(self, persona: _Persona) -> tuple[int, int]:
        """(followers, following) drawn for the kind (Yang & Luo's R1, R2)."""
        rng = self.rng
        if persona.kind == "dealer":
            followers = int(rng.lognormvariate(math.log(400), 0.8))
            # Most dealers follow many more accounts than follow them back; a
            # few look like anyone else (the hard cases).
            ratio = rng.uniform(2.0, 9.0) if rng.random() < 0.85 else rng.uniform(0.8, 2.0)
        elif persona.kind == "news_awareness":
            followers = int(rng.lognormvariate(math.log(15000), 1.0))
            ratio = rng.uniform(0.005, 0.05)
        elif persona.kind == "drug_user":
            followers = int(rng.lognormvariate(math.log(500), 0.9))
            ratio = rng.uniform(0.5, 1.6)
        else:
            followers = int(rng.lognormvariate(math.log(600), 1.0))
            ratio = rng.uniform(0.3, 1.6)
        followers = max(followers, 3)
        following = min(7500, max(1, int(followers * ratio)))
        return followers, following

    def _bio(self, persona: _Persona) -> tuple[str, list[dict[str, str]]]:
        rng = self.rng
        fill = {"place": self._place(), "age": rng.randint(19, 45)}
        if persona.kind == "dealer":
            if rng.random() < 0.15:
                return rng.choice(vocab.DEALER_QUIET_BIO), []
            parts = rng.sample(vocab.DEALER_BIO_PARTS, rng.randint(2, 4))
            parts.append(" ".join(vocab.DRUGS[d].emoji for d in persona.drugs))
            shown: list[dict[str, str]] = []
            if rng.random() < 0.65:
                for contact in persona.contacts[: rng.randint(1, 2)]:
                    if contact.type == "btc":
                        continue
                    surface = render_contact(rng, contact)
                    parts.append(surface)
                    shown.append(contact.truth(surface, "bio"))
            return " | ".join(parts), shown
        table = {
            "drug_user": vocab.USER_BIO,
            "ordinary": vocab.ORDINARY_BIO,
            "news_awareness": vocab.NEWS_BIO,
        }
        return rng.choice(table[persona.kind]).format(**fill), []

    def _full_name(self, persona: _Persona) -> str:
        a, b = self._syllables(2, 3).capitalize(), self._syllables(2, 3).capitalize()
        if persona.kind == "news_awareness":
            outlet = self.rng.choice(("Gazette", "Health Watch", "Daily", "Recovery Network"))
            return f"{self._place()} {outlet}"
        if persona.kind == "dealer" and self.rng.random() < 0.5:
            emoji = self.rng.choice(("🔌", "💯", "❄️", "🍃", "💊"))
            return f"{emoji} {a} {self.rng.choice(('Supply', 'Plug', 'Connect'))}"
        return f"{a} {b}"

    # -------------------------------------------------------------- timing

    def _local_time(self, persona: _Persona, day: int) -> datetime:
        hour = self.rng.choices(range(24), HOUR_WEIGHTS[persona.kind])[0]
        minute, second = self.rng.randrange(60), self.rng.randrange(60)
        return WINDOW_START + timedelta(days=day, hours=hour - persona.offset, minutes=minute, seconds=second)

    def _post_time(self, persona: _Persona) -> datetime:
        return self._local_time(persona, self.rng.randrange(WINDOW_DAYS))

    def _reply_time(self, persona: _Persona, after: datetime) -> datetime:
        """A time after ``after``, at an hour typical of the replier's kind."""
        local_after = after + timedelta(hours=persona.offset)
        day = (local_after - WINDOW_START).days + self.rng.choice((0, 0, 0, 1, 1, 2))
        moment = self._local_time(persona, day)
        while moment <= after + timedelta(minutes=1):
            moment += timedelta(days=1)
        return moment

    # -------------------------------------------------------------- events

    def _new_id(self, kind: str) -> str:
        self.counter += 1
        return f"d{self.seed}{'p' if kind == 'post' else 'c'}{self.counter:06d}"

    def _add(
        self,
        persona: _Persona,
        role: str,
        text: str,
        *,
        parent: _Draft | None = None,
        trafficked: tuple[str, ...] = (),
        mentions: tuple[str, ...] = (),
        selling: bool = False,
        contacts: list[dict[str, str]] | None = None,
        image_plans: list[dict[str, Any]] | None = None,
        obfuscation: list[str] | None = None,
        plain_text: str | None = None,
        template: str | None = None,
        when: datetime | None = None,
    ) -> _Draft:
        kind = "comment" if parent else "post"
        plans = image_plans or []
        depicted = {d for plan in plans for d in plan["labels"]}
        all_mentions = sorted(set(mentions) | set(trafficked) | depicted, key=LABEL_INDEX.__getitem__)
        labels = tuple(sorted(set(trafficked), key=LABEL_INDEX.__getitem__)) or (NON_DRUG,)
        created = when or (self._reply_time(persona, parent.created_at) if parent else self._post_time(persona))
        draft = _Draft(
            id=self._new_id(kind),
            kind=kind,
            author=persona.username,
            created_at=created,
            text=text,
            labels=labels,
            selling=selling,
            meta={
                "role": role,
                "depth": parent.depth + 1 if parent else 0,
                "mentions": all_mentions,
                "image_kind": plans[0]["kind"] if plans else None,
                "image_kinds": [p["kind"] for p in plans],
                "image_labels": sorted(depicted, key=LABEL_INDEX.__getitem__),
                "image_text": "\n".join(p["text"] for p in plans if p.get("text")) or None,
                "contacts": contacts or [],
                "obfuscation": obfuscation or [],
                "plain_text": plain_text,
                "template": template,
            },
            parent=parent,
            root=(parent.root or parent) if parent else None,
            image_plans=plans,
        )
        self.drafts.append(draft)
        return draft

    def _drug_image(self, drug: str, overlay: str | None = None) -> dict[str, Any]:
        scene = self.rng.choice(vocab.DRUGS[drug].images)
        return {"kind": scene, "drug": drug, "labels": [drug], "overlay": overlay, "text": overlay}

    def _scene(self, scene: str) -> dict[str, Any]:
        return {"kind": scene, "drug": None, "labels": [], "overlay": None, "text": None}

    def _prices(self, offers: tuple[vocab.Offer, ...]) -> str:
        parts = []
        for offer in offers:
            price = round(self.rng.uniform(offer.low, offer.high) / 5) * 5
            parts.append(f"{offer.quantity} ${price}")
        return " | ".join(parts)

    def _contact_lines(self, persona: _Persona, force_shared: bool) -> tuple[list[str], list[dict[str, str]]]:
        rng = self.rng
        talk = [c for c in persona.contacts if c.type != "btc"]
        chosen = rng.sample(talk, min(len(talk), rng.choices((1, 2), (0.7, 0.3))[0]))
        if persona.shared and (force_shared or rng.random() < 0.6) and persona.shared not in chosen:
            chosen[0] = persona.shared
        btc = [c for c in persona.contacts if c.type == "btc"]
        if btc and rng.random() < 0.5:
            chosen.append(btc[0])
        lines, truth = [], []
        for contact in chosen:
            surface = render_contact(rng, contact, obfuscate=rng.random() < OBFUSCATED_CONTACT_SHARE)
            lines.append(surface)
            truth.append(contact.truth(surface, "text"))
        return lines, truth

    def _maybe_disguise(
        self, text: str, drugs: tuple[str, ...], terms: list[str], force_plain: bool = False
    ) -> tuple[str, list[str], str | None]:
        if force_plain or self.rng.random() >= OBFUSCATED_SHARE:
            return text, [], None
        technique = self.rng.choice(("homoglyph", "separator", "mask", "leet", "emoji"))
        disguised = text
        for drug in drugs:
            drug_terms = [t for t in terms if t in vocab.DRUGS[drug].names]
            disguised, _ = disguise(self.rng, disguised, drug_terms, vocab.DRUGS[drug].emoji, technique)
        if disguised == text:
            return text, [], None
        return disguised, [technique], text

    def _advert(self, persona: _Persona, first: bool) -> _Draft:
        rng = self.rng
        use_network = persona.network_template is not None and (first or rng.random() < 0.6)
        template = persona.network_template if use_network else rng.choice(persona.templates)
        assert template is not None
        where = "text" if first else rng.choices(("text", "image", "both"), (0.7, 0.15, 0.15))[0]
        contact_lines, contacts = self._contact_lines(persona, force_shared=first)
        plans: list[dict[str, Any]] = []
        drug = rng.choice(template.drugs)
        if where == "text":
            if rng.random() < 0.9:
                plans.append(self._drug_image(drug))
        else:
            talk = [c for c in persona.contacts if c.type != "btc"]
            on_image = persona.shared if persona.shared and (first or rng.random() < 0.6) else rng.choice(talk)
            if where == "image" and rng.random() < 0.6:
                lines = [note_line(on_image)]
                others = [c for c in talk if c != on_image]
                if others and rng.random() < 0.5:
                    lines.append(note_line(rng.choice(others)))
                if rng.random() < 0.5:
                    lines.append(rng.choice(("DM to order", "no scams", "24/7", "fast delivery")))
                text = "\n".join(lines)
                plans.append(
                    {
                        "kind": "contact_note",
                        "drug": None,
                        "labels": [],
                        "overlay": None,
                        "text": text,
                    }
                )
                shown = [c for c in talk if note_line(c) in lines]
                if rng.random() < 0.5:
                    plans.insert(0, self._drug_image(drug))
            else:
                overlay = note_line(on_image)
                plans.append(self._drug_image(drug, overlay=overlay))
                shown = [on_image]
            contacts = ([] if where == "image" else contacts) + [c.truth(note_line(c), "image") for c in shown]
            if where == "image":
                contact_lines = [rng.choice(vocab.CONTACT_IN_IMAGE)]
        item = " & ".join(template.items)
        tags = list(template.drug_tags)
        rng.shuffle(tags)
        hide_tags = not first and rng.random() < OBFUSCATED_SHARE * 0.3
        tag_list = ([] if hide_tags else tags) + list(template.sale_tags)
        lines = [
            template.opener,
            template.phrase.format(item=item),
            self._prices(template.offers),
            *template.logistics,
            *contact_lines,
            template.call,
            " ".join(f"#{t}" for t in tag_list),
        ]
        plain = "\n".join(line for line in lines if line)
        text, technique, plain_text = self._maybe_disguise(plain, template.drugs, list(template.items), first)
        return self._add(
            persona,
            "advert",
            text,
            trafficked=template.drugs,
            selling=True,
            contacts=contacts,
            image_plans=plans,
            obfuscation=technique,
            plain_text=plain_text,
            template=template.id,
        )

    def _teaser(self, persona: _Persona) -> _Draft:
        rng = self.rng
        drug = rng.choice(persona.drugs)
        entry = vocab.DRUGS[drug]
        item = rng.choice(entry.names)
        head = rng.choice(vocab.TEASERS)
        plain = f"{item} {head}" if rng.random() < 0.5 else head
        tags = rng.sample(entry.hashtags, rng.randint(2, 4)) + rng.sample(vocab.SALE_HASHTAGS, rng.randint(0, 2))
        plain = f"{plain} {entry.emoji}\n" + " ".join(f"#{t}" for t in tags)
        text, technique, plain_text = self._maybe_disguise(plain, (drug,), [item])
        plans = [self._drug_image(drug)] if rng.random() < 0.95 else []
        return self._add(
            persona,
            "teaser",
            text,
            trafficked=(drug,),
            image_plans=plans,
            obfuscation=technique,
            plain_text=plain_text,
        )

    def _ordinary_post(self, persona: _Persona, role: str = "ordinary") -> _Draft:
        rng = self.rng
        if role == "lifestyle":
            text, scene = rng.choice(vocab.DEALER_LIFESTYLE)
        else:
            template, scene = rng.choice(vocab.ORDINARY_POSTS)
            text = template.format(place=self._place(), pet=rng.choice(vocab.PETS))
        plans = [self._scene(scene)] if rng.random() < 0.93 else []
        return self._add(persona, role, text, image_plans=plans)

    def _personal_use(self, persona: _Persona) -> _Draft:
        rng = self.rng
        drug = rng.choices(list(vocab.DEALER_DRUG_WEIGHTS), list(vocab.DEALER_DRUG_WEIGHTS.values()))[0]
        entry = vocab.DRUGS[drug]
        tags = [t for t in rng.sample(entry.hashtags, rng.randint(1, 3)) if not t.endswith("forsale")]
        tags += rng.sample(("vibes", "weekend", "party", "mood", "lit", "nightlife"), rng.randint(0, 2))
        text = rng.choice(entry.use) + ("\n" + " ".join(f"#{t}" for t in tags) if tags else "")
        plans = (
            [self._drug_image(drug)]
            if rng.random() < 0.6
            else ([self._scene(rng.choice(("sunset", "landscape")))] if rng.random() < 0.7 else [])
        )
        return self._add(persona, "personal_use", text, mentions=(drug,), image_plans=plans)

    def _news(self, persona: _Persona) -> _Draft:
        rng = self.rng
        template, drugs, scene = rng.choice(vocab.NEWS_POSTS)
        text = template.format(place=self._place(), n=rng.randint(3, 60), k=rng.randint(1, 12), pct=rng.randint(5, 40))
        plans: list[dict[str, Any]] = []
        if rng.random() < 0.8:
            if scene in demo_images.DRUG_SCENES and drugs:
                drug = next((d for d in drugs if scene in vocab.DRUGS[d].images), drugs[0])
                plans = [{"kind": scene, "drug": drug, "labels": [drug], "overlay": None, "text": None}]
            else:
                plans = [self._scene(scene)]
        return self._add(persona, "news", text, mentions=tuple(drugs), image_plans=plans)

    # ------------------------------------------------------------ comments

    def _someone(self, *kinds: str, besides: str | None = None) -> _Persona:
        pool = [p for k in kinds for p in self.by_kind[k] if p.username != besides]
        if not pool:
            pool = [p for p in self.personas if p.kind != "dealer" and p.username != besides]
        return self.rng.choice(pool)

    def _buyer(self, besides: str) -> _Persona:
        kind = "drug_user" if self.rng.random() < 0.7 else "ordinary"
        return self._someone(kind, besides=besides)

    def _buyer_ask(self, buyer: _Persona, parent: _Draft, drug: str) -> _Draft:
        rng = self.rng
        entry = vocab.DRUGS[drug]
        if rng.random() < 0.6:
            text = rng.choice(entry.asks)
        else:
            text = rng.choice(vocab.BUYER_ASKS_GENERIC).replace("texas", rng.choice(vocab.STATES))
        return self._add(buyer, "buyer_ask", text, parent=parent, trafficked=(drug,))

    def _dealer_reply(self, dealer: _Persona, parent: _Draft, drug: str) -> _Draft:
        rng = self.rng
        if rng.random() < 0.35 or not dealer.contacts:
            text = rng.choice(vocab.DEALER_REPLIES_NO_CONTACT)
            return self._add(dealer, "dealer_reply", text, parent=parent, trafficked=(drug,))
        talk = [c for c in dealer.contacts if c.type != "btc"]
        contact = dealer.shared if dealer.shared and rng.random() < 0.5 else rng.choice(talk)
        surface = render_contact(rng, contact, obfuscate=rng.random() < OBFUSCATED_CONTACT_SHARE)
        offer = rng.choice(vocab.DRUGS[drug].offers)
        text = rng.choice(vocab.DEALER_REPLIES_CONTACT).format(
            contact=surface,
            price=round(rng.uniform(offer.low, offer.high) / 5) * 5,
            quantity=offer.quantity,
        )
        return self._add(
            dealer,
            "dealer_reply",
            text,
            parent=parent,
            trafficked=(drug,),
            selling=True,
            contacts=[contact.truth(surface, "text")],
        )

    def _followup(self, buyer: _Persona, parent: _Draft, drug: str) -> _Draft:
        if parent.meta["contacts"]:
            channel = parent.meta["contacts"][0]["type"]
            channel = {"phone": "ur number", "btc": "dm"}.get(channel, channel)
            text = self.rng.choice(vocab.BUYER_FOLLOWUPS).format(channel=channel)
        else:
            text = self.rng.choice(("sent u a dm", "check your dms", "dm'd you 🙏", "ok sending msg now"))
        return self._add(buyer, "buyer_followup", text, parent=parent, trafficked=(drug,))

    def _piggyback(self, dealer: _Persona, parent: _Draft) -> _Draft:
        rng = self.rng
        drug = rng.choice(dealer.drugs)
        entry = vocab.DRUGS[drug]
        item = rng.choice(entry.names)
        opener = rng.choice(vocab.PIGGYBACK_OPENERS).format(item=item)
        offer = rng.choice(entry.offers)
        price = round(rng.uniform(offer.low, offer.high) / 5) * 5
        lines, contacts = self._contact_lines(dealer, force_shared=False)
        tags = " ".join(f"#{t}" for t in rng.sample(entry.hashtags, rng.randint(0, 2)))
        plain = " ".join(part for part in (opener, f"{offer.quantity} ${price}", " | ".join(lines), tags) if part)
        text, technique, plain_text = self._maybe_disguise(plain, (drug,), [item])
        return self._add(
            dealer,
            "piggyback_advert",
            text,
            parent=parent,
            trafficked=(drug,),
            selling=True,
            contacts=contacts,
            obfuscation=technique,
            plain_text=plain_text,
        )

    def _react_to_piggyback(self, advert: _Draft) -> None:
        rng = self.rng
        if advert.depth >= 3:
            return
        roll = rng.random()
        if roll < 0.3:
            someone = self._someone("ordinary", "drug_user", besides=advert.author)
            self._add(someone, "piggyback_reaction", rng.choice(vocab.PIGGYBACK_REPLIES), parent=advert)
        elif roll < 0.45:
            drug = rng.choice([label for label in advert.labels])
            self._add(
                self._buyer(advert.author),
                "buyer_followup",
                rng.choice(("dm'd you", "added u", "legit?")),
                parent=advert,
                trafficked=(drug,),
            )

    def _sale_threads(self, dealer: _Persona, post: _Draft) -> None:
        rng = self.rng
        drugs = [label for label in post.labels if label != NON_DRUG] or list(dealer.drugs)
        for _ in range(rng.choices((0, 1, 2, 3, 4), (0.3, 0.32, 0.22, 0.1, 0.06))[0]):
            roll = rng.random()
            if roll < 0.7:
                drug = rng.choice(drugs)
                buyer = self._buyer(dealer.username)
                ask = self._buyer_ask(buyer, post, drug)
                if rng.random() < 0.7:
                    reply = self._dealer_reply(dealer, ask, drug)
                    if rng.random() < 0.4:
                        self._followup(buyer, reply, drug)
            elif roll < 0.82:
                someone = self._someone("ordinary", "drug_user", besides=dealer.username)
                self._add(
                    someone,
                    "warning",
                    rng.choice(
                        (
                            "scammer!! dont send money",
                            "ripped me off 😡",
                            "fake pills, be careful",
                            "reported",
                        )
                    ),
                    parent=post,
                )
            else:
                someone = self._someone("drug_user", "ordinary", besides=dealer.username)
                self._add(someone, "friend", rng.choice(("🔥🔥", "💯", "👀", "link up soon")), parent=post)

    def _social_threads(self, author: _Persona, post: _Draft) -> None:
        rng = self.rng
        role = post.meta["role"]
        threads: list[_Draft] = []
        count = rng.choices((0, 1, 2, 3), (0.68, 0.22, 0.08, 0.02))[0]
        for _ in range(count):
            if role == "news":
                friend = self._someone("ordinary", "drug_user", besides=author.username)
                threads.append(self._add(friend, "friend", rng.choice(vocab.NEWS_COMMENTS), parent=post))
                continue
            if role == "personal_use" and rng.random() < 0.3:
                asker = self._buyer(author.username)
                drug = post.meta["mentions"][0]
                threads.append(
                    self._add(
                        asker,
                        "buyer_ask",
                        rng.choice(vocab.WHO_IS_YOUR_PLUG),
                        parent=post,
                        trafficked=(drug,),
                    )
                )
                continue
            comments = vocab.USER_FRIEND_COMMENTS if role == "personal_use" else vocab.FRIEND_COMMENTS
            friend = self._someone("ordinary", "drug_user", besides=author.username)
            first = self._add(friend, "friend", rng.choice(comments), parent=post)
            threads.append(first)
            if rng.random() < 0.3:
                reply = self._add(author, "author_reply", rng.choice(vocab.AUTHOR_REPLIES), parent=first)
                threads.append(reply)
                if rng.random() < 0.3:
                    threads.append(self._add(friend, "friend", rng.choice(comments), parent=reply))
        if self.by_kind["dealer"] and rng.random() < PIGGYBACK_RATE.get(role, 0.0):
            dealer = rng.choice(self.by_kind["dealer"])
            # Adverts hide at any depth: under the post or inside a thread.
            hosts = [post] + [d for d in threads if d.depth < 3]
            asks = [d for d in threads if d.meta["role"] == "buyer_ask"]
            host = rng.choice(asks) if asks and rng.random() < 0.7 else rng.choice(hosts)
            self._react_to_piggyback(self._piggyback(dealer, host))

    # --------------------------------------------------------------- build

    def _posts_for(self, persona: _Persona) -> None:
        rng = self.rng
        low, high = self.posts_range
        n = rng.randint(low, high)
        if persona.kind == "dealer":
            n = max(n, rng.randint(low, high))
        persona.posts = n
        roles = POST_ROLES[persona.kind]
        for k in range(n):
            role = (
                "advert" if persona.kind == "dealer" and k == 0 else rng.choices(list(roles), list(roles.values()))[0]
            )
            if role == "advert":
                post = self._advert(persona, first=k == 0)
            elif role == "teaser":
                post = self._teaser(persona)
            elif role == "personal_use":
                post = self._personal_use(persona)
            elif role == "news":
                post = self._news(persona)
            else:
                post = self._ordinary_post(persona, role)
            if persona.kind == "dealer" and role in ("advert", "teaser", "lifestyle"):
                if role == "lifestyle":
                    if rng.random() < 0.3:
                        drug = rng.choice(persona.drugs)
                        ask = self._add(
                            self._buyer(persona.username),
                            "buyer_ask",
                            rng.choice(("you still plugging?", "u got anything rn?", "dm me bro")),
                            parent=post,
                            trafficked=(drug,),
                        )
                        if rng.random() < 0.6:
                            self._dealer_reply(persona, ask, drug)
                else:
                    self._sale_threads(persona, post)
            else:
                self._social_threads(persona, post)

    def _account(self, persona: _Persona) -> Account:
        followers, following = self._counts(persona)
        bio, bio_contacts = self._bio(persona)
        hidden = self.rng.randint(0, 3 * persona.posts)  # older posts outside the window
        fields: dict[str, Any] = {
            "username": persona.username,
            "platform": "instagram",
            "user_id": f"d{self.seed}u{persona.index:05d}",
            "full_name": self._full_name(persona),
            "bio": bio,
            "followers": followers,
            "following": following,
            "posts_count": persona.posts + hidden,
            "is_private": False,
            "dealer": persona.kind == "dealer",
            "meta": {
                "kind": persona.kind,
                "network": persona.network,
                "network_link": persona.network_link,
                "utc_offset_hours": persona.offset,
                "drugs": list(persona.drugs),
                "contacts": [{"type": c.type, "value": c.value} for c in persona.contacts],
                "bio_contacts": bio_contacts,
            },
        }
        return _with_provenance(Account.model_validate(fields), self.seed, f"account {persona.username}")

    def build(self, render_images: bool, image_dir: Path | None) -> DemoCorpus:
        self._plan_accounts()
        for persona in self.personas:
            self._posts_for(persona)
        accounts = [self._account(p) for p in self.personas]
        drafts = sorted(self.drafts, key=lambda d: (d.created_at, d.id))
        rendered: dict[str, bytes] = {}
        events = []
        for draft in drafts:
            refs = []
            if render_images:
                for k, plan in enumerate(draft.image_plans):
                    relpath = f"images/{draft.id}{'' if k == 0 else f'_{k}'}.jpg"
                    data = demo_images.render(
                        plan["kind"],
                        f"{self.seed}:{draft.id}:{k}",
                        drug=plan["drug"],
                        text=plan["text"] if plan["kind"] == "contact_note" else None,
                        overlay=plan["overlay"],
                    )
                    rendered[relpath] = data
                    refs.append(ImageRef(path=relpath, sha256=sha256_bytes(data)))
            events.append(_event(draft, refs, self.seed))
        if image_dir is not None:
            _write_images(rendered, Path(image_dir))
        networks = {nid: list(d["usernames"]) for nid, d in self.network_details.items()}
        return DemoCorpus(
            seed=self.seed,
            accounts=accounts,
            events=events,
            networks=networks,
            network_details=self.network_details,
            images=rendered,
        )


def _with_provenance(record: Any, seed: int, locator: str) -> Any:
    """Attach provenance whose ``raw_sha256`` is the record's own canonical JSON."""
    raw = record.model_dump(mode="json", exclude={"provenance"})
    provenance = Provenance(
        platform="instagram",
        source=f"drugwatch-demo:{seed}",
        fetched_at=FETCHED_AT,
        raw_sha256=sha256_json(raw),
        locator=locator,
        importer="drugwatch.demo",
    )
    return record.model_copy(update={"provenance": provenance})


def _event(draft: _Draft, refs: list[ImageRef], seed: int) -> Event:
    fields: dict[str, Any] = {
        "id": draft.id,
        "platform": "instagram",
        "kind": draft.kind,
        "parent_id": draft.parent.id if draft.parent else None,
        "post_id": draft.root.id if draft.root else None,
        "text": draft.text,
        "hashtags": extract_hashtags(draft.text),
        "images": refs,
        "author": draft.author,
        "created_at": draft.created_at,
        "labels": draft.labels,
        "selling": draft.selling,
        "meta": draft.meta,
    }
    return _with_provenance(Event.model_validate(fields), seed, f"event {draft.id}")


def _write_images(images: dict[str, bytes], root: Path) -> None:
    for relpath, data in images.items():
        target = root / relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def generate_demo(
    seed: int = 0,
    n_accounts: int = 120,
    posts_per_account: tuple[int, int] = (5, 25),
    images: bool = True,
    image_dir: Path | None = None,
) -> DemoCorpus:
    """Generate the synthetic demo corpus for ``seed`` (same seed, same corpus).

    ``n_accounts`` accounts (at least 6) each write a number of posts drawn
    from ``posts_per_account`` (inclusive; dealers draw twice and keep the
    larger); comments come on top. With ``images=True`` every planned image is
    drawn and kept in :attr:`DemoCorpus.images`; ``image_dir``, when given,
    also receives the files as ``image_dir/images/<event id>.jpg``, so
    ``image_dir`` is the root the :class:`~drugwatch.records.ImageRef` paths
    are relative to. Texts do not depend on ``images``: only the image files
    and references do.
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if n_accounts < 6:
        raise ValueError(f"n_accounts must be at least 6 (one per kind and two dealers), got {n_accounts}")
    low, high = posts_per_account
    if low < 1 or high < low:
        raise ValueError(f"posts_per_account must be (low, high) with 1 <= low <= high, got {posts_per_account!r}")
    return _Builder(seed, n_accounts, (low, high)).build(images, image_dir)


def write_demo(corpus: DemoCorpus, out_dir: Path) -> Path:
    """Write ``demo.jsonl``, ``images/`` and ``truth.json`` under ``out_dir``; return the JSONL.

    ``demo.jsonl`` is drugwatch's generic JSONL: one object per line, accounts
    first (``{"record_type": "account", ...}``) then events
    (``{"record_type": "event", ...}``), fields as ``model_dump(mode="json")``.
    Image paths in the events are relative to ``out_dir``.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _write_images(corpus.images, out_dir)
    path = out_dir / "demo.jsonl"
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for account in corpus.accounts:
            handle.write(_line("account", account.model_dump(mode="json")))
        for event in corpus.events:
            handle.write(_line("event", event.model_dump(mode="json")))
    truth = json.dumps(corpus.truth(), ensure_ascii=False, indent=2, sort_keys=True)
    (out_dir / "truth.json").write_text(truth + "\n", encoding="utf-8")
    return path


def _line(record_type: str, payload: dict[str, Any]) -> str:
    return json.dumps({"record_type": record_type, **payload}, ensure_ascii=False) + "\n"

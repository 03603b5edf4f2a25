"""Invented contact details for demo dealers, and the ways adverts write them.

Every value is fake by construction:

* phones use the North American exchange 555 with line numbers 0100-0199,
  which are reserved for fiction (``+1 440 555 0147``);
* e-mail addresses are at ``example.com`` / ``example.org`` (RFC 2606);
* messaging handles are built from random syllables;
* bitcoin addresses start with ``bc1qdemo``: the letter ``o`` is outside the
  bech32 alphabet, so no such string can ever validate as an address.

A :class:`Contact` holds the canonical ``value`` (a phone in E.164 form, a
handle without ``@``); :func:`render_contact` writes it the way a dealer would,
plain or obfuscated, and returns the surface text so the truth records exactly
what appears in the event.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass
from typing import Final, Literal

from drugwatch.demo.vocab import AREA_CODES, DIGIT_WORDS, SYLLABLES

ContactType = Literal["phone", "email", "wickr", "telegram", "kik", "whatsapp", "snapchat", "signal", "btc"]

#: Channel shares among dealer contacts, after JMIR (Wickr 36.2%, Telegram
#: 20.0%, Kik 18.3%, WhatsApp 15.3%; e-mail and phone less often).
CHANNEL_WEIGHTS: Final[dict[ContactType, float]] = {
    "wickr": 0.30,
    "telegram": 0.17,
    "kik": 0.15,
    "whatsapp": 0.13,
    "snapchat": 0.07,
    "signal": 0.04,
    "email": 0.06,
    "phone": 0.08,
}

#: Contact types whose value is a phone number.
PHONE_TYPES: Final[frozenset[str]] = frozenset({"phone", "whatsapp", "signal"})

_HANDLE_WORDS: Final[tuple[str, ...]] = (
    "plug",
    "connect",
    "supply",
    "meds",
    "vendor",
    "store",
    "hub",
    "",
)
_BTC_ALPHABET: Final[str] = string.ascii_lowercase + string.digits


@dataclass(frozen=True, slots=True)
class Contact:
    """One way to reach a dealer: ``type`` and canonical ``value``.

    ``value`` is E.164 for phone-based types (``+14405550147``), the address
    for e-mail and bitcoin, and the bare handle for messaging apps.
    """

    type: ContactType
    value: str

    def truth(self, surface: str, where: str) -> dict[str, str]:
        """The record stored in ``Event.meta["contacts"]``."""
        return {"type": self.type, "value": self.value, "surface": surface, "where": where}


def fake_phone(rng: random.Random) -> str:
    """A phone number in the fictional range: ``+1 AAA 555 01NN`` as E.164."""
    return f"+1{rng.choice(AREA_CODES)}55501{rng.randrange(100):02d}"


def fake_handle(rng: random.Random) -> str:
    """An invented messaging handle, e.g. ``zorivel_plug7``."""
    stem = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3)))
    word = rng.choice(_HANDLE_WORDS)
    sep = rng.choice(("_", ".", "")) if word else ""
    digits = str(rng.randint(1, 99)) if rng.random() < 0.5 else ""
    return f"{stem}{sep}{word}{digits}"


def fake_email(rng: random.Random) -> str:
    """An address at example.com or example.org."""
    return f"{fake_handle(rng).replace('.', '_')}@{rng.choice(('example.com', 'example.org'))}"


def fake_btc(rng: random.Random) -> str:
    """A string shaped like a bech32 address that can never validate (see module docs)."""
    return "bc1qdemo" + "".join(rng.choice(_BTC_ALPHABET) for _ in range(30))


def new_contact(rng: random.Random, type_: ContactType) -> Contact:
    """A fresh contact of the given type."""
    if type_ in PHONE_TYPES and not (type_ == "signal" and rng.random() < 0.5):
        return Contact(type_, fake_phone(rng))
    if type_ == "email":
        return Contact(type_, fake_email(rng))
    if type_ == "btc":
        return Contact(type_, fake_btc(rng))
    return Contact(type_, fake_handle(rng))


def _is_phone(contact: Contact) -> bool:
    return contact.value.startswith("+1") and contact.value[2:].isdigit()


def render_phone(rng: random.Random, e164: str, obfuscate: bool) -> str:
    """Write a phone number as a dealer would; obfuscated forms hide it from naive regexes."""
    area, exchange, line = e164[2:5], e164[5:8], e164[8:]
    if not obfuscate:
        return rng.choice(
            (
                f"+1 ({area}) {exchange}-{line}",
                f"{area}-{exchange}-{line}",
                f"{area}.{exchange}.{line}",
                f"({area}) {exchange} {line}",
                f"{area}{exchange}{line}",
                f"+1{area}{exchange}{line}",
            )
        )
    style = rng.randrange(4)
    if style == 0:  # last digits spelled out: "440 555 01 four seven"
        tail = " ".join(DIGIT_WORDS[int(d)] for d in line[2:])
        return f"{area} {exchange} {line[:2]} {tail}"
    if style == 1:  # every digit spaced
        return " ".join(area + exchange + line)
    if style == 2:  # exchange masked, as in "+1 (440) *** -0147"
        return f"+1 ({area}) *** -{line}"
    return f"{area} {exchange} {line[0]}{line[1]} {DIGIT_WORDS[int(line[2])]} {line[3]}"


def render_contact(rng: random.Random, contact: Contact, obfuscate: bool = False) -> str:
    """The contact as it appears in a caption or comment (``"Wickr: zorivel_plug"``)."""
    value = contact.value
    if contact.type == "phone":
        number = render_phone(rng, value, obfuscate)
        return rng.choice(("text {n}", "call/text {n}", "📱 {n}", "tel {n}", "hmu {n}")).format(n=number)
    if contact.type == "email":
        if obfuscate:
            user, domain = value.split("@")
            name, tld = domain.rsplit(".", 1)
            value = rng.choice((f"{user} (at) {name} (dot) {tld}", f"{user}[at]{domain}", f"{user} at {domain}"))
        return rng.choice(("email {v}", "📧 {v}", "mail me {v}")).format(v=value)
    if contact.type == "btc":
        return rng.choice(("btc: {v}", "pay btc {v}", "₿ {v}")).format(v=value)
    if _is_phone(contact):
        number = render_phone(rng, value, obfuscate)
        app = {"whatsapp": ("WhatsApp", "whatsapp", "WA"), "signal": ("Signal", "signal")}[contact.type]
        return f"{rng.choice(app)} {rng.choice(('', ': ', '👉 '))}{number}".replace("  ", " ")
    names = {
        "wickr": ("Wickr", "wickr", "wickr me", "W1ckr", "WICKR ID"),
        "telegram": ("Telegram", "telegram", "tg", "TG", "telegram ➡️"),
        "kik": ("Kik", "kik", "KIK"),
        "snapchat": ("snap", "Snapchat", "sc 👻", "add my snap"),
        "signal": ("Signal", "signal"),
    }[contact.type]
    at = "@" if contact.type == "telegram" and rng.random() < 0.6 else ""
    handle = value
    if obfuscate:
        handle = rng.choice((" ".join(value), value.replace("_", " underscore ")))
    return f"{rng.choice(names)}{rng.choice((': ', ' ', ' - ', ' 👉 '))}{at}{handle}"


def note_line(contact: Contact) -> str:
    """The contact written plainly on a note (the OCR target), e.g. ``"wickr: zorivel_plug"``."""
    if contact.type == "btc":
        raise ValueError("bitcoin addresses are too long for a legible note; write a handle or phone instead")
    if _is_phone(contact):
        number = f"{contact.value[2:5]}-{contact.value[5:8]}-{contact.value[8:]}"
        label = {"phone": "tel", "whatsapp": "whatsapp", "signal": "signal"}[contact.type]
        return f"{label} {number}"
    label = {
        "email": "email",
        "wickr": "wickr",
        "telegram": "telegram",
        "kik": "kik",
        "snapchat": "snap",
        "signal": "signal",
    }[contact.type]
    at = "@" if contact.type == "telegram" else ""
    return f"{label}: {at}{contact.value}"

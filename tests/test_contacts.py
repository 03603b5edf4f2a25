"""Contact extraction: table of positive cases, precision guards, properties.

All contacts here are fake: 555-01xx phone numbers, example.com/.org
addresses, invented handles, all-zero or spec test-vector crypto addresses.
"""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drugwatch.text.contacts import (
    CONTACT_KINDS,
    Contact,
    btc_bech32_checksum_ok,
    btc_legacy_checksum_ok,
    find_contacts,
    fold,
)

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _b58check(payload: bytes) -> str:
    data = payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    num = int.from_bytes(data, "big")
    out = ""
    while num:
        num, rem = divmod(num, 58)
        out = _B58[rem] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


BTC_P2PKH = _b58check(b"\x00" + bytes(20))  # 1111111111111111111114oLvT2
BTC_P2SH = _b58check(b"\x05" + bytes(19) + b"\x01")
BTC_BECH32 = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"  # BIP-173 test vector
ETH = "0x000000000000000000000000000000000000dEaD"
XMR = "4A" + (_B58 * 2)[:93]

# (text, kind, app, value, raw substring the span must cover, obfuscated or None)
CASES: list[tuple[str, str, str | None, str, str, bool | None]] = [
    # messaging-app handles
    ("wickr: demo_plug7 for orders", "app_handle", "wickr", "demo_plug7", "wickr: demo_plug7", False),
    ("Wickr me @demo_x7", "app_handle", "wickr", "demo_x7", "Wickr me @demo_x7", False),
    ("WICKR ID - DemoPlug", "app_handle", "wickr", "demoplug", "WICKR ID - DemoPlug", False),
    ("tg @demo_handle", "app_handle", "telegram", "demo_handle", "tg @demo_handle", False),
    # a dash after a weak name introduces a handle only when it looks like one
    ("snap - demo_plug7", "app_handle", "snapchat", "demo_plug7", "snap - demo_plug7", False),
    # '$' + an s-word is a Cash App tag next to a Cash App name
    ("send it to my cashapp. $sweet", "payment", "cashapp", "sweet", "$sweet", False),
    # capitals after a Cash App name are a tag, not a ticker
    ("cash app $BOB", "payment", "cashapp", "bob", "cash app $BOB", False),
    ("telegram: t.me/demo_handle", "app_handle", "telegram", "demo_handle", "telegram: t.me/demo_handle", False),
    ("join t.me/demo_channel today", "app_handle", "telegram", "demo_channel", "t.me/demo_channel", False),
    ("kik - demoname", "app_handle", "kik", "demoname", "kik - demoname", False),
    ("snap: demo_snap", "app_handle", "snapchat", "demo_snap", "snap: demo_snap", False),
    ("👻 demo_ghost", "app_handle", "snapchat", "demo_ghost", "👻 demo_ghost", False),
    ("snapchat ➡️ demo.snap", "app_handle", "snapchat", "demo.snap", "snapchat ➡️ demo.snap", False),
    ("add me on whatsapp +1 440 555 0142", "app_handle", "whatsapp", "+14405550142", "whatsapp +1 440 555 0142", False),
    ("wa.me/14405550143", "app_handle", "whatsapp", "+14405550143", "wa.me/14405550143", False),
    ("signal: +1 440 555 0144", "app_handle", "signal", "+14405550144", "signal: +1 440 555 0144", False),
    ("threema id: DEMO7X2K", "app_handle", "threema", "demo7x2k", "threema id: DEMO7X2K", False),
    ("line id: demo_line", "app_handle", "line", "demo_line", "line id: demo_line", False),
    ("session id: demo_session9", "app_handle", "session", "demo_session9", "session id: demo_session9", False),
    ("wechat: demo_wx", "app_handle", "wechat", "demo_wx", "wechat: demo_wx", False),
    ("discord: demo_user#1234", "app_handle", "discord", "demo_user#1234", "discord: demo_user#1234", False),
    # obfuscated app names and handles
    ("W1CKR: demo_plug", "app_handle", "wickr", "demo_plug", "W1CKR: demo_plug", True),
    ("w.i.c.k.r demo_99", "app_handle", "wickr", "demo_99", "w.i.c.k.r demo_99", True),
    (
        "wickr: d\u0435m\u043e_plug",
        "app_handle",
        "wickr",
        "demo_plug",
        "wickr: d\u0435m\u043e_plug",
        True,
    ),  # Cyrillic е and о
    ("t e l e g r a m: @demo_tg", "app_handle", "telegram", "demo_tg", "t e l e g r a m: @demo_tg", True),
    # app mentions without a handle
    ("hmu on wickr", "app_mention", "wickr", "wickr", "wickr", False),
    ("hit me up on signal", "app_mention", "signal", "signal", "signal", False),
    ("telegram only, serious buyers", "app_mention", "telegram", "telegram", "telegram", False),
    ("we use kik", "app_mention", "kik", "kik", "kik", False),
    # instagram handles
    ("follow my backup @demo.backup", "instagram_handle", "instagram", "demo.backup", "@demo.backup", False),
    ("ig: demo_gram", "instagram_handle", "instagram", "demo_gram", "ig: demo_gram", False),
    # phones
    ("call +1 (440) 555-0142 now", "phone", None, "+14405550142", "+1 (440) 555-0142", False),
    ("text 440.555.0145", "phone", None, "+14405550145", "440.555.0145", False),
    ("txt 440-555-0146 anytime", "phone", None, "+14405550146", "440-555-0146", False),
    ("+1(440) *** -3147", "phone", None, "+1440XXX3147", "+1(440) *** -3147", True),
    ("call 440-555-01xx", "phone", None, "+144055501XX", "440-555-01xx", True),
    ("call 5 5 5 0 1 4 2", "phone", None, "5550142", "5 5 5 0 1 4 2", True),
    ("4 4 0 5 5 5 0 1 4 7", "phone", None, "+14405550147", "4 4 0 5 5 5 0 1 4 7", True),
    ("five five five zero one four two", "phone", None, "5550142", "five five five zero one four two", True),
    ("555 oh one 4 two", "phone", None, "5550142", "555 oh one 4 two", True),
    ("text me 555-0148", "phone", None, "5550148", "555-0148", False),
    ("call me at 555 0151", "phone", None, "5550151", "555 0151", False),
    ("text me now: 440 555 0152 x", "phone", None, "+14405550152", "440 555 0152", False),
    ("uk +44 20 7946 0958", "phone", None, "+442079460958", "+44 20 7946 0958", False),
    ("4.4.0.5.5.5.0.1.4.3", "phone", None, "+14405550143", "4.4.0.5.5.5.0.1.4.3", True),
    (
        "\uff14\uff14\uff10-\uff15\uff15\uff15-\uff10\uff11\uff14\uff12",
        "phone",
        None,
        "+14405550142",
        "\uff14\uff14\uff10-\uff15\uff15\uff15-\uff10\uff11\uff14\uff12",
        True,
    ),
    ("(440) 555-0150 oh and hi", "phone", None, "+14405550150", "(440) 555-0150", False),
    # e-mail
    ("mail demo@example.com now", "email", None, "demo@example.com", "demo@example.com", False),
    ("Demo.Plug@Example.org", "email", None, "demo.plug@example.org", "Demo.Plug@Example.org", False),
    ("demo at protonmail dot com", "email", None, "demo@protonmail.com", "demo at protonmail dot com", True),
    ("demo[at]example[dot]com", "email", None, "demo@example.com", "demo[at]example[dot]com", True),
    ("demo (at) example (dot) org", "email", None, "demo@example.org", "demo (at) example (dot) org", True),
    ("demo@example dot com", "email", None, "demo@example.com", "demo@example dot com", True),
    ("d\u0435mo@\u0435xample.com", "email", None, "demo@example.com", "d\u0435mo@\u0435xample.com", True),
    # URLs
    ("menu at https://example.com/menu.", "url", None, "https://example.com/menu", "https://example.com/menu", False),
    ("www.example.org/shop", "url", None, "www.example.org/shop", "www.example.org/shop", False),
    ("visit Example.com today", "url", None, "example.com", "Example.com", False),
    ("store: demo-shop.onion", "url", None, "demo-shop.onion", "demo-shop.onion", False),
    # payment
    ("cash app $demo_cash", "payment", "cashapp", "demo_cash", "cash app $demo_cash", False),
    ("pay $demo_cash", "payment", "cashapp", "demo_cash", "$demo_cash", False),
    ("venmo @demo_pay", "payment", "venmo", "demo_pay", "venmo @demo_pay", False),
    ("zelle accepted", "payment", "zelle", "zelle", "zelle", False),
    ("paypal f&f", "payment", "paypal", "paypal", "paypal", False),
    ("btc only", "payment", "bitcoin", "bitcoin", "btc", False),
    ("bitcoin accepted", "payment", "bitcoin", "bitcoin", "bitcoin accepted", False),
    ("we take crypto", "payment", None, "crypto", "crypto", False),
    ("c@sh app ok", "payment", "cashapp", "cashapp", "c@sh app", True),
    # crypto addresses
    (f"btc: {BTC_P2PKH}", "crypto_address", "bitcoin", BTC_P2PKH, BTC_P2PKH, False),
    (f"send to {BTC_P2SH} thx", "crypto_address", "bitcoin", BTC_P2SH, BTC_P2SH, False),
    (f"{BTC_BECH32}", "crypto_address", "bitcoin", BTC_BECH32, BTC_BECH32, False),
    (f"eth {ETH}", "crypto_address", "ethereum", ETH.lower(), ETH, False),
    (f"xmr: {XMR}", "crypto_address", "monero", XMR, XMR, False),
    # shipping / stealth
    ("discreet shipping", "shipping", None, "discreet shipping", "discreet shipping", False),
    ("100% stealth", "shipping", None, "stealth", "stealth", False),
    ("overnight to your door", "shipping", None, "overnight", "overnight", False),
    ("next day delivery", "shipping", None, "next day delivery", "next day delivery", False),
    ("worldwide shipping!", "shipping", None, "worldwide shipping", "worldwide shipping", False),
    ("tracking provided", "shipping", None, "tracking", "tracking", False),
    ("vacuum sealed", "shipping", None, "vacuum sealed", "vacuum sealed", False),
    ("local meetup only", "shipping", None, "meetup", "meetup", False),
]


@pytest.mark.parametrize(("text", "kind", "app", "value", "raw", "obfuscated"), CASES, ids=[c[0][:40] for c in CASES])
def test_contact_found(text, kind, app, value, raw, obfuscated):
    contacts = find_contacts(text)
    hits = [c for c in contacts if c.kind == kind and c.app == app and c.value == value]
    assert hits, f"no {kind}/{app}/{value!r} in {contacts}"
    hit = hits[0]
    assert text[hit.raw_start : hit.raw_end] == raw
    if obfuscated is not None:
        assert hit.obfuscated is obfuscated


def test_case_table_covers_every_kind():
    assert {c[1] for c in CASES} == set(CONTACT_KINDS)
    assert len(CASES) >= 40


def test_app_handle_that_is_a_phone_also_yields_the_phone():
    kinds = {(c.kind, c.value) for c in find_contacts("whatsapp: +1 440 555 0142")}
    assert ("app_handle", "+14405550142") in kinds
    assert ("phone", "+14405550142") in kinds


def test_handle_after_app_is_not_also_an_instagram_handle():
    contacts = find_contacts("Wickr me @demo_x7")
    assert [c.kind for c in contacts] == ["app_handle"]


def test_email_domain_is_not_also_a_url():
    contacts = find_contacts("demo@example.com")
    assert [c.kind for c in contacts] == ["email"]


def test_several_contacts_in_text_order():
    text = (
        "🔥 xanax 2mg bars $5 each 🔥 wickr: demo_plug7 | kik - demo_kik | "
        "call 440-555-0149 | demo at example dot com | discreet shipping"
    )
    contacts = find_contacts(text)
    assert [(c.kind, c.app, c.value) for c in contacts] == [
        ("app_handle", "wickr", "demo_plug7"),
        ("app_handle", "kik", "demo_kik"),
        ("phone", None, "+14405550149"),
        ("email", None, "demo@example.com"),
        ("shipping", None, "discreet shipping"),
    ]
    starts = [c.raw_start for c in contacts]
    assert starts == sorted(starts)


def test_region_reads_national_numbers():
    (hit,) = find_contacts("ring 020 7946 0958", region="GB")
    assert (hit.kind, hit.value) == ("phone", "+442079460958")


def test_bad_checksum_needs_a_crypto_word():
    bad = BTC_P2PKH[:-1] + ("3" if BTC_P2PKH[-1] != "3" else "4")
    assert not btc_legacy_checksum_ok(bad)
    assert not [c for c in find_contacts(f"ref {bad}") if c.kind == "crypto_address"]
    assert [c for c in find_contacts(f"btc wallet {bad}") if c.kind == "crypto_address"]


def test_checksums():
    assert btc_legacy_checksum_ok(BTC_P2PKH)
    assert btc_legacy_checksum_ok(BTC_P2SH)
    assert btc_bech32_checksum_ok(BTC_BECH32)
    assert not btc_bech32_checksum_ok(BTC_BECH32[:-1] + "5")


# ---------------------------------------------------------------------------
# Precision guards: none of these holds a contact.

NO_CONTACT = [
    "Had a great day at the beach with friends, the sunset was amazing",
    "I waited in line for an hour at the store",
    "The session starts at 3:30pm tomorrow",
    "There was no signal at the cabin",
    "Snap a photo of the sunset",
    "Meet me at the park and dot your i's",
    "Price is $50, £20 or €30 for 3.5g",
    "2mg and 30mg tabs, 10 for 100",
    "Born 12/05/1990, moved 2019-05-12, back on 05.12.2024",
    "Open 9am-5pm, Mon-Fri, 11:45 pm to 12:30 am",
    "we sold 1,000,000 copies in 2024",
    "Score was 21-14 at halftime",
    "the years 1999 2000 2001 were wild",
    "Room 1204, floor 12, building 7",
    "version 2.1.3 released",
    "xanax 2mg.xanax bars",
    "Order #12345678 has shipped",
    "temp 98.6 and 101.2",
    "coordinates 40.7128, -74.0060",
    "scored 100 100 100 100",
    "dimensions 10x20x30x40 cm",
    "1 2 3 4 5 6 7 8 9 10 countdown",
    "costs $1,200.00",
    "call 911",
    "the 80s were great",
    "CBD 1000mg oil",
    "weed 28g for $200, 1 oz 2 oz 3 oz",
    "20/20 vision and a 50/50 chance",
    "the line is long and the signal is weak during the session",
    "bottom line: prices drop. Signal: strong. Session - morning",
    "ok.now what, love cats.so cute",
    "I am at home, one two three go",
    "mix 3.5 with 7.5",
    # grams, not "ig" / "tg" in leetspeak (two-letter app names are matched as written)
    "1G - ISAAC 3.5g",
    "1g - l.a confidential",
    "7g) Super Lemon Haze",
    "1g [1000mg] hash",
    # listing-title fields and leetspeak, not handles
    "g - BHO - PULL SNAP - SHATTER",
    "ig | lemon haze",
    "SPRING $ALE 10x 20mg",
    "**FIRE** $WEET DEAL",
    "Ketamine Pure $pecial",
    "Email Logins (@jzPum.net.au Edition)",
    "140 000 @evbxixx.net list",
    # stock and coin tickers
    "$SNAP $AAPL to the moon",
    "$TSLA $NVDA $AMD earnings week",
    "$ETH to 5k",
    "",
]


@pytest.mark.parametrize("text", NO_CONTACT)
def test_no_contact(text):
    assert find_contacts(text) == []


# ---------------------------------------------------------------------------
# Properties.


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_never_crashes_and_spans_inside(text):
    for contact in find_contacts(text):
        assert isinstance(contact, Contact)
        assert contact.kind in CONTACT_KINDS
        assert 0 <= contact.raw_start < contact.raw_end <= len(text)
        assert contact.value


_pieces = st.sampled_from(
    [
        "wickr: ",
        "demo_plug7",
        " ",
        "@",
        "+1 ",
        "440",
        "555",
        "0142",
        "-",
        ".",
        "at",
        "dot",
        "com",
        "five ",
        "oh ",
        "$",
        "btc",
        "👻",
        "\u0435",
        "t.me/",
        "x",
        "*",
        "(",
        ")",
        "#",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_pieces, max_size=20).map("".join))
def test_contact_like_noise_keeps_spans_inside(text):
    for contact in find_contacts(text):
        assert 0 <= contact.raw_start < contact.raw_end <= len(text)


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_fold_keeps_length(text):
    assert len(fold(text)) == len(text)


def test_rejects_non_str():
    with pytest.raises(TypeError, match="expects a str"):
        find_contacts(b"wickr: demo")  # type: ignore[arg-type]


_words = st.sampled_from(
    [
        "wickr",
        "w.i.c.k.r",
        "telegram",
        "kik",
        "snap",
        "signal",
        "line",
        "session",
        "venmo",
        "zelle",
        "paypal",
        "crypto",
        "stealth",
        "overnight",
        "meetup",
        "tracking",
        "demo",
        "at",
        "dot",
        "com",
        "example",
        "org",
        "five",
        "one",
        "zero",
        "oh",
        "two",
        "hmu",
        "on",
        "me",
        "www",
        "t.me/demo_x",
        "wa",
        "tg",
        "whats app",
        "c@sh app",
        "d\u0435mo",
        ":",
        "-",
        "👉",
        "discreet",
        "shipping",
        "next",
        "day",
        "delivery",
        "ig",
        "insta",
        "btc",
        "[at]",
        "(dot)",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_words, min_size=1, max_size=12).map(" ".join))
def test_prefilter_never_drops_a_contact(text):
    from drugwatch.text import contacts as module

    original = module._cues
    try:
        module._cues = lambda raw, low: module._ALL_CUES
        expected = find_contacts(text)
    finally:
        module._cues = original
    assert find_contacts(text) == expected


def test_stop_words_equal_scikit_learns():
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS as sklearn_words

    from drugwatch.text.stopwords import ENGLISH_STOP_WORDS

    assert ENGLISH_STOP_WORDS == sklearn_words


def test_reference_alias_pattern_is_built_on_first_use():
    import subprocess
    import sys

    # in a fresh process: reloading the module here would give later tests a second Contact class
    code = (
        "from drugwatch.text import contacts as c\n"
        "assert '_ALIAS_RE' not in vars(c), 'compiled at import'\n"
        "p = c._ALIAS_RE\n"
        "assert vars(c)['_ALIAS_RE'] is p and p.search('add me on wickr: plug_uk')\n"
        "try:\n    c._NOT_THERE\nexcept AttributeError as e:\n    print(e)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "has no attribute '_NOT_THERE'" in done.stdout

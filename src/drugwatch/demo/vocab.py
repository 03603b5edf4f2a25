"""Invented vocabulary for the demo corpus: names, drug terms, caption pieces.

Everything here was written by hand for the synthetic demo corpus; none of it
was taken from collected posts. The drug terms, codewords and misspellings are
the kinds the seed papers describe (JMIR's #percocert, #zanax, #2mgxanax,
#whitebar; DMML's ten labels), so detectors trained on the demo corpus meet the
same kinds of evidence they meet in the field.

Each drug label maps to a :class:`DrugVocab` with the words a post uses for it.
Slots in the caption templates (``{item}``, ``{prices}``...) are filled by
:mod:`drugwatch.demo.generator`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Offer:
    """A quantity a dealer sells and the price range it goes for (US dollars)."""

    quantity: str
    low: int
    high: int


@dataclass(frozen=True, slots=True)
class DrugVocab:
    """How posts talk about one drug label.

    ``names`` are the words a dealer writes in a caption (street names
    included); ``hashtags`` are the tags, misspellings and codewords among them
    (JMIR: platforms block the plain names, so dealers misspell); ``asks`` are
    what a buyer writes under an advert; ``use`` what a user writes about
    personal use; ``images`` the image scenes that show the drug.
    """

    label: str
    names: tuple[str, ...]
    hashtags: tuple[str, ...]
    offers: tuple[Offer, ...]
    asks: tuple[str, ...]
    use: tuple[str, ...]
    images: tuple[str, ...]
    emoji: str


DRUGS: Final[dict[str, DrugVocab]] = {
    "marijuana": DrugVocab(
        label="marijuana",
        names=("weed", "kush", "gas", "loud", "exotic buds", "za", "carts", "wax", "OG kush"),
        hashtags=(
            "weed",
            "weedstagram",
            "kush",
            "420",
            "cannabis",
            "thc",
            "carts",
            "dabs",
            "exoticweed",
            "loud",
            "weedforsale",
            "kushforsale",
            "420friendly",
            "stoner",
        ),
        offers=(
            Offer("1/8", 30, 45),
            Offer("half zip", 110, 150),
            Offer("zip", 180, 260),
            Offer("QP", 650, 950),
            Offer("1 lb", 1800, 2600),
            Offer("10 carts", 200, 300),
        ),
        asks=(
            "how much for a QP?",
            "price on a zip?",
            "got carts?",
            "how much for an eighth",
            "u got gas or mids?",
            "need a half zip asap",
        ),
        use=(
            "rolling one up after work 🍃",
            "wake and bake kinda sunday",
            "this kush got me stuck to the couch",
            "420 with the homies",
            "best blunt of my life fr",
            "dab rig finally came in",
        ),
        images=("leaf",),
        emoji="🍃",
    ),
    "codeine": DrugVocab(
        label="codeine",
        names=("lean", "drank", "codeine", "promethazine", "actavis", "tris", "wock"),
        hashtags=(
            "lean",
            "codeine",
            "actavis",
            "purpledrank",
            "wock",
            "sizzurp",
            "promethazine",
            "leanforsale",
            "drank",
            "codiene",
        ),
        offers=(
            Offer("4oz", 120, 180),
            Offer("8oz", 220, 320),
            Offer("pint", 450, 700),
            Offer("sealed pint", 600, 900),
        ),
        asks=(
            "how much for a pint?",
            "u got actavis or tris?",
            "price on 4oz?",
            "sealed or poured?",
        ),
        use=(
            "sippin slow tonight 💜",
            "double cup kinda night",
            "lean got me movin slow",
            "too much drank last night lol",
        ),
        images=("syrup",),
        emoji="💜",
    ),
    "mdma": DrugVocab(
        label="mdma",
        names=("molly", "mdma", "ecstasy", "beans", "pressies", "mandy"),
        hashtags=(
            "molly",
            "mdma",
            "ecstasy",
            "beans",
            "pressies",
            "mollywater",
            "emdma",
            "rolling",
            "mdmaforsale",
        ),
        offers=(
            Offer("10 pills", 100, 160),
            Offer("50 pills", 400, 550),
            Offer("100 pills", 650, 900),
            Offer("1g crystal", 50, 80),
            Offer("5g crystal", 200, 300),
        ),
        asks=(
            "how much for 10 beans?",
            "molly tested?",
            "price on a gram of mandy?",
            "u got pressies?",
        ),
        use=(
            "rolling at the festival 🌈",
            "molly and bass all night",
            "still feeling the beans lol",
            "comedown hitting hard today",
        ),
        images=("pills", "powder"),
        emoji="🌈",
    ),
    "xanax": DrugVocab(
        label="xanax",
        names=(
            "xanax",
            "bars",
            "xans",
            "zannies",
            "green bars",
            "white bars",
            "2mg bars",
            "alprazolam",
            "school buses",
        ),
        hashtags=(
            "xanax",
            "zanax",
            "xanaxbars",
            "2mgxanax",
            "bars",
            "whitebar",
            "greenbars",
            "xans",
            "alprazolam",
            "xanaxangel",
            "xannies",
            "zanny",
        ),
        offers=(
            Offer("10 bars", 50, 90),
            Offer("50 bars", 200, 300),
            Offer("100 bars", 350, 500),
            Offer("500 bars", 1200, 1600),
            Offer("1000 bars", 2000, 2800),
        ),
        asks=(
            "price for 10 bars?",
            "u got greens?",
            "how much for 100 bars?",
            "are these real R039?",
            "need bars tonight",
        ),
        use=(
            "popped a bar and slept 14 hours",
            "xans got me forgetting everything lol",
            "half a bar and im good",
            "no more bars for me this month",
        ),
        images=("pills",),
        emoji="💊",
    ),
    "painkiller": DrugVocab(
        label="painkiller",
        names=(
            "percs",
            "percocet",
            "oxy",
            "oxycodone",
            "roxys",
            "M30s",
            "blues",
            "norco",
            "hydrocodone",
            "tramadol",
            "vicodin",
        ),
        hashtags=(
            "percocet",
            "percocert",
            "percs",
            "oxy",
            "oxycodone",
            "m30",
            "roxy",
            "hydrocodone",
            "hydrocodoneacetaminophen",
            "norco",
            "vicodin",
            "tramadol",
            "painkillers",
            "perc30",
        ),
        offers=(
            Offer("10 percs", 150, 250),
            Offer("25 M30s", 400, 550),
            Offer("100 blues", 1200, 1700),
            Offer("50 norcos", 350, 500),
            Offer("100 tramadol", 180, 260),
        ),
        asks=(
            "still got percs?",
            "how much for 10 blues?",
            "are the M30s pressed or pharma?",
            "price on 25 roxys?",
        ),
        use=(
            "back pain so bad took a perc",
            "percs and chill",
            "doc cut my norco again smh",
            "one blue and im floating",
        ),
        images=("pills",),
        emoji="💊",
    ),
    "mushroom": DrugVocab(
        label="mushroom",
        names=(
            "shrooms",
            "mushrooms",
            "golden teachers",
            "penis envy",
            "psilocybin",
            "caps",
            "magic mushrooms",
            "shroom chocolate bars",
        ),
        hashtags=(
            "shrooms",
            "shroomsforsale",
            "magicmushrooms",
            "psilocybin",
            "goldenteacher",
            "psychedelics",
            "mushroomsforsale",
            "penisenvy",
            "shroomies",
        ),
        offers=(
            Offer("1/8", 25, 40),
            Offer("half oz", 90, 130),
            Offer("1 oz", 150, 220),
            Offer("4 chocolate bars", 120, 180),
        ),
        asks=(
            "how much for an oz of GT?",
            "u got penis envy?",
            "price on the choc bars?",
            "can u ship shrooms to cali?",
        ),
        use=(
            "shroom trip in the woods changed me 🍄",
            "microdosing week 3",
            "saw colors for hours lol",
            "first time on caps, be kind",
        ),
        images=("mushroom",),
        emoji="🍄",
    ),
    "lsd": DrugVocab(
        label="lsd",
        names=("lsd", "acid", "tabs", "blotter", "gel tabs", "lucy", "sheets"),
        hashtags=(
            "lsd",
            "acid",
            "tabs",
            "blotter",
            "lsdtabs",
            "acidtabs",
            "lucy",
            "lsdforsale",
            "trippy",
        ),
        offers=(
            Offer("10 tabs", 80, 120),
            Offer("1 strip", 70, 100),
            Offer("half sheet", 250, 350),
            Offer("full sheet", 450, 650),
        ),
        asks=(
            "how much for a sheet?",
            "tabs tested?",
            "can I get 2 strips?",
            "what ug are the tabs?",
        ),
        use=(
            "first acid trip, 12 hours of wow",
            "lucy in the sky tonight",
            "tab hit different at the show",
            "never again with two tabs lol",
        ),
        images=("blotter",),
        emoji="🌀",
    ),
    "cocaine": DrugVocab(
        label="cocaine",
        names=("coke", "cocaine", "snow", "blow", "yayo", "white", "flake", "8balls"),
        hashtags=(
            "coke",
            "cocaine",
            "yayo",
            "blow",
            "snow",
            "colombian",
            "8ball",
            "cokeforsale",
            "nosecandy",
        ),
        offers=(
            Offer("1g", 60, 100),
            Offer("8ball", 150, 220),
            Offer("half zip", 500, 700),
            Offer("zip", 900, 1300),
        ),
        asks=(
            "how much for an 8ball?",
            "is it fishscale?",
            "price on a zip of white?",
            "need a g tonight",
        ),
        use=(
            "too much snow at the party lol",
            "bumps in the bathroom again",
            "nose still numb",
            "said I'd quit the white",
        ),
        images=("powder",),
        emoji="❄️",
    ),
    "other_drugs": DrugVocab(
        label="other_drugs",
        names=("adderall", "addys", "ketamine", "ket", "dmt", "vyvanse", "study buddies"),
        hashtags=(
            "adderall",
            "adderrall",
            "addys",
            "ketamine",
            "dmt",
            "studybuddy",
            "vyvanse",
            "ketaminelife",
        ),
        offers=(
            Offer("10 addys", 60, 100),
            Offer("30 addys", 150, 250),
            Offer("1g ket", 40, 70),
            Offer("1g dmt", 80, 140),
        ),
        asks=(
            "got addys for finals?",
            "price on 30 addys?",
            "how much for a g of ket?",
            "u got dmt pens?",
        ),
        use=(
            "addy and a library all night",
            "k hole last night was wild",
            "one addy and cleaned the house",
            "dmt breakthrough, still processing",
        ),
        images=("pills", "powder"),
        emoji="🧪",
    ),
}

#: How often each drug is a dealer's focus. Xanax dominates dealer posts in
#: JMIR, then oxycodone-type painkillers; DMML's corpus has much marijuana.
DEALER_DRUG_WEIGHTS: Final[dict[str, float]] = {
    "xanax": 0.22,
    "painkiller": 0.17,
    "marijuana": 0.18,
    "codeine": 0.08,
    "mdma": 0.08,
    "lsd": 0.08,
    "mushroom": 0.07,
    "cocaine": 0.07,
    "other_drugs": 0.05,
}

#: Tags dealers add to every advert, whatever the drug.
SALE_HASHTAGS: Final[tuple[str, ...]] = (
    "plug",
    "plugs",
    "plugslife",
    "connect",
    "forsale",
    "discreetshipping",
    "legitvendor",
    "shipping",
    "overnightshipping",
    "trustedplug",
    "vendor",
    "menu",
    "restock",
)

ADVERT_OPENERS: Final[tuple[str, ...]] = (
    "🔥 RESTOCKED 🔥",
    "Plug back in business 🔌",
    "Top shelf only 💯",
    "Quality guaranteed ✅",
    "Best prices around 📉",
    "New batch just landed 📦",
    "Your trusted plug is back 🔌",
    "Weekend special 🎉",
    "Legit vendor, no games 💯",
    "Menu updated 📋",
)
ADVERT_PHRASES: Final[tuple[str, ...]] = (
    "Fire {item} available now",
    "Got {item} on deck",
    "{item} in stock",
    "Selling {item}",
    "Premium {item} ready to ship",
    "{item} for sale",
    "Tested {item}, best quality",
)
ADVERT_LOGISTICS: Final[tuple[str, ...]] = (
    "Discreet shipping 📦 worldwide",
    "Same day delivery in the city 🚗",
    "Stealth packaging, tracking provided",
    "Overnight shipping USA 🇺🇸",
    "Pickups and drop offs",
    "Fast delivery, order now",
    "Payment: btc, cashapp, zelle",
    "Bulk discounts available",
)
ADVERT_CALLS: Final[tuple[str, ...]] = (
    "Order now",
    "Serious buyers only",
    "No cap, hmu",
    "Reach out for the full menu",
    "Message to order",
    "Don't miss out",
)
#: Short lines a dealer writes when the contact is only in the picture.
CONTACT_IN_IMAGE: Final[tuple[str, ...]] = (
    "contact in pic 👆",
    "info on the pic 📸",
    "details in the photo",
    "see pic for contact",
    "",
)
TEASERS: Final[tuple[str, ...]] = (
    "new batch 🔥",
    "just landed",
    "restocked again",
    "quality speaks for itself 💯",
    "who want some 👀",
    "top shelf",
    "look at these beauties",
    "fresh",
)
DEALER_LIFESTYLE: Final[tuple[tuple[str, str], ...]] = (
    ("money on my mind 💸 #grind #hustle", "sunset"),
    ("new whip who dis 🚗 #cars", "landscape"),
    ("late night grind 🌃 #nosleep", "sunset"),
    ("steak dinner after a long week #foodie", "food"),
    ("stay humble stack paper #motivation", "landscape"),
    ("my boy bruno 🐶 #dogsofinstagram", "dog"),
)

BUYER_ASKS_GENERIC: Final[tuple[str, ...]] = (
    "dm me",
    "how much?",
    "price?",
    "interested 👀 dm me",
    "u ship to texas?",
    "hmu",
    "you legit?",
    "what's the menu?",
    "do you deliver to ohio?",
    "sent you a dm",
    "need some asap",
)
BUYER_FOLLOWUPS: Final[tuple[str, ...]] = (
    "sent u a msg on {channel}",
    "just added you",
    "ordered, thanks plug 🙏",
    "payment sent, check it",
    "got it today, legit 💯",
    "msg'd you bro",
)
DEALER_REPLIES_NO_CONTACT: Final[tuple[str, ...]] = (
    "check ur dm 📩",
    "yes still got, dm",
    "100% legit, ask around",
    "dm'd you",
    "all in stock rn",
)
DEALER_REPLIES_CONTACT: Final[tuple[str, ...]] = (
    "hit me up 👉 {contact}",
    "${price} for {quantity} bro, {contact}",
    "yes still got, {contact}",
    "100% legit, ask around. {contact}",
    "ship anywhere, {contact}",
)
PIGGYBACK_OPENERS: Final[tuple[str, ...]] = (
    "Looking for {item}? 🔌",
    "Best {item} in town",
    "Need {item}? I got you",
    "{item} plug here",
    "Selling {item} 💯",
    "Real {item}, fast shipping",
)
PIGGYBACK_REPLIES: Final[tuple[str, ...]] = (
    "reported 🚩",
    "spam smh",
    "get off my page",
    "bro what",
    "this is a scam dont send money",
)

ORDINARY_POSTS: Final[tuple[tuple[str, str], ...]] = (
    ("Sunday brunch at {place} 😋 #foodie #brunch", "food"),
    ("homemade pasta night 🍝 #homecooking #foodporn", "food"),
    ("best tacos in {place} no debate #tacotuesday #foodie", "food"),
    ("golden hour never misses 🌅 #sunset #nofilter", "sunset"),
    ("beach days are the best days #sunset #summer", "sunset"),
    ("hiking {place} trail this weekend ⛰️ #hiking #naturelovers", "landscape"),
    ("road trip views #travel #wanderlust", "landscape"),
    ("weekend in {place} ✈️ #travel #explore", "landscape"),
    ("meet {pet}, our new family member 🐶 #dogsofinstagram #puppy", "dog"),
    ("{pet} waiting for his walk #dog #goodboy", "dog"),
    ("leg day done 💪 #fitness #gym", "landscape"),
    ("new PR on deadlift today #gymlife #fitness", "landscape"),
    ("first coffee of the day ☕ #coffee #morning", "coffee"),
    ("latte art getting better #coffeelover #barista", "coffee"),
    ("my jungle is growing 🌿 #plants #houseplants", "plant"),
    ("repotted the monstera finally #plantmom #urbanjungle", "plant"),
    ("candy haul for movie night 🍬 #sweets #movienight", "candy"),
    ("when monday hits different lol #memes #mondaymood", "sunset"),
    ("me pretending to understand taxes #memes #relatable", "food"),
    ("family dinner ❤️ #family #blessed", "food"),
)
PLACES: Final[tuple[str, ...]] = (
    "Kelvar Bay",
    "Dunmore Hills",
    "Port Velisa",
    "Oakridge Falls",
    "Marrow Creek",
    "Lake Tamsin",
    "Old Brenton",
    "Silvan Heights",
)
PETS: Final[tuple[str, ...]] = ("Biscuit", "Luna", "Bruno", "Maple", "Pixel", "Nacho", "Olive")
FRIEND_COMMENTS: Final[tuple[str, ...]] = (
    "so cute 😍",
    "where is this?",
    "yum",
    "love this",
    "goals 🙌",
    "miss you!",
    "🔥🔥🔥",
    "need this",
    "omg",
    "beautiful 😍",
    "take me with you",
    "haha same",
    "looks amazing",
)
AUTHOR_REPLIES: Final[tuple[str, ...]] = (
    "thank you!",
    "haha right?",
    "❤️❤️",
    "come visit!",
    "next time with you",
    "thanks babe",
)

USER_FRIEND_COMMENTS: Final[tuple[str, ...]] = (
    "lmaooo",
    "pass that 🍃",
    "wish I was there",
    "be safe bro",
    "u wild for this",
    "same tbh",
    "invite me next time",
    "🔥🔥",
)
#: Users asking other users where they got their drugs (an offer to buy).
WHO_IS_YOUR_PLUG: Final[tuple[str, ...]] = (
    "who's ur plug?",
    "where u get those?",
    "can u link me with ur guy?",
    "need the plug info lol",
)

NEWS_POSTS: Final[tuple[tuple[str, tuple[str, ...], str], ...]] = (
    (
        "Police in {place} seized {n} lbs of marijuana and {k} kg of cocaine in a traffic stop. #news #police",
        ("marijuana", "cocaine"),
        "powder",
    ),
    (
        "Fake M30 pills pressed with fentanyl are killing people. "
        "Never trust pills from social media sellers. "
        "#harmreduction #fentanyl #overdose",
        ("painkiller",),
        "pills",
    ),
    (
        "Overdose deaths in {place} rose {pct}% last year. Free naloxone at the county clinic. "
        "#overdoseawareness #naloxone",
        ("painkiller",),
        "sunset",
    ),
    (
        "Counterfeit Xanax bars found in {place} schools contain fentanyl. Talk to your kids. #xanax #publichealth",
        ("xanax",),
        "pills",
    ),
    (
        "Harm reduction: test your molly, start low, stay hydrated. "
        "Fentanyl strips available free. "
        "#harmreduction #mdma #festivalsafety",
        ("mdma",),
        "landscape",
    ),
    (
        "Study: psilocybin therapy shows promise for depression. #research #psilocybin #mentalhealth",
        ("mushroom",),
        "mushroom",
    ),
    (
        "Lean (codeine syrup) addiction among teens is rising, doctors warn. #codeine #health",
        ("codeine",),
        "syrup",
    ),
    (
        "{place} sheriff: {n} arrested after an investigation into LSD sales on social media. #news #lsd",
        ("lsd",),
        "blotter",
    ),
    (
        "Cannabis legal questions answered: what the new state law means for you. #cannabis #law",
        ("marijuana",),
        "leaf",
    ),
    (
        "Community meeting on the opioid crisis this Thursday at the library. #opioidcrisis #community",
        ("painkiller",),
        "landscape",
    ),
    ("Weather alert: heavy rain expected across {place} tonight. #weather", (), "landscape"),
    ("Local bakery wins state award 🥖 #community #news", (), "food"),
)
NEWS_COMMENTS: Final[tuple[str, ...]] = (
    "so sad 💔",
    "rip 🕊️",
    "carry narcan everyone",
    "legalize it and regulate",
    "the war on drugs failed",
    "thank you for sharing",
    "praying for the families",
    "test your stuff people",
)

#: Syllables that build the invented usernames, full names and places.
SYLLABLES: Final[tuple[str, ...]] = (
    "ka",
    "zo",
    "ri",
    "vel",
    "mun",
    "tor",
    "bex",
    "lia",
    "dra",
    "quo",
    "fen",
    "sil",
    "yor",
    "nax",
    "pim",
    "tu",
    "gro",
    "vi",
    "lem",
    "sha",
    "ok",
    "ur",
    "zen",
    "bri",
    "dol",
    "mar",
    "kit",
    "ro",
    "sa",
    "ne",
    "jul",
    "tav",
    "qui",
    "hex",
    "lo",
    "pra",
    "wyn",
    "fy",
    "gus",
    "zel",
)
USERNAME_SUFFIXES: Final[dict[str, tuple[str, ...]]] = {
    # Many dealers have telling names, many do not: the name alone must not give them away.
    "dealer": (
        "plug",
        "connect",
        "supply",
        "exotics",
        "meds",
        "plugz",
        "vendor",
        "",
        "",
        "",
        "",
        "",
        "fit",
        "daily",
    ),
    "drug_user": ("vibes", "420", "lifted", "wav", "", "", ""),
    "ordinary": ("eats", "travels", "fit", "photos", "daily", "life", "", "", ""),
    "news_awareness": ("news", "health", "watch", "reports", "recovery", "harmreduction"),
}

DEALER_BIO_PARTS: Final[tuple[str, ...]] = (
    "🔌 plug",
    "discreet shipping 📦",
    "trusted vendor ✅",
    "same day delivery",
    "DM to order",
    "menu in highlights",
    "legit only, no scams",
    "worldwide shipping 🌎",
    "btc/cashapp accepted",
    "serious buyers only",
    "prices negotiable on bulk",
    "order before 5pm ship today",
)
#: Bio lines for dealers who keep their bios clean (a hard case for the
#: transaction-evidence feature).
DEALER_QUIET_BIO: Final[tuple[str, ...]] = (
    "living life 💯",
    "stay humble",
    "🌃",
    "❄️🍃💊",
    "no days off",
)
USER_BIO: Final[tuple[str, ...]] = (
    "just vibes 🍃",
    "420 friendly",
    "festival kid 🌈",
    "{age} | living my best life",
    "sleep is for the weak",
    "music, friends, good times",
    "psychonaut 🍄",
    "",
)
ORDINARY_BIO: Final[tuple[str, ...]] = (
    "Coffee lover ☕ | Travel",
    "dog mom 🐶",
    "Foodie from {place}",
    "{age} | {place}",
    "Gym rat 💪",
    "photographer 📷",
    "plant parent 🌿",
    "Living one day at a time",
    "",
)
NEWS_BIO: Final[tuple[str, ...]] = (
    "Local news for {place} • Tips: newsroom@example.org",
    "Public health updates • Harm reduction resources",
    "Naloxone saves lives • Recovery support",
    "Community safety news • {place}",
)

#: State names buyers ask shipping questions about.
STATES: Final[tuple[str, ...]] = ("texas", "ohio", "cali", "florida", "ny", "jersey", "georgia")

#: Look-alike digits used to spell out phone numbers ("555 01 four seven").
DIGIT_WORDS: Final[tuple[str, ...]] = (
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
)

#: Area codes used with the reserved fictional exchange 555-01xx.
AREA_CODES: Final[tuple[str, ...]] = (
    "213",
    "310",
    "312",
    "404",
    "415",
    "440",
    "512",
    "602",
    "617",
    "702",
    "713",
    "718",
    "786",
    "818",
    "917",
    "206",
    "305",
    "503",
)

"""Find lexicon terms in normalized text.

One Aho–Corasick pass over the normalized view (with every character that is
not ``a-z0-9`` read as a word boundary) finds whole-word terms; a second pass
looks inside hashtags ("#2mgxanax", "#weedlife") for unambiguous drug words.
Overlapping matches keep the longest ("green crack" over "crack"). A text
reports at most ``MAX_HITS_PER_TERM`` occurrences of one term.

Ambiguous terms ("snow", "bars", "coke", "lean", "molly", "pot", "acid" …)
must pass context rules: no ordinary-language neighbour ("diet coke",
"pot of tea", "lean on", "gay bars", "folic acid") and enough drug or trade
context in the same text (an unambiguous drug word, a dose such as "2mg", a
dealer term such as "hmu", "plug", "wickr", or several weaker trade words).
Weaker context ("selling molly", "got coke for sale, dm me") is judged by the
context model learned from the bench kit (:mod:`drugwatch.lexicon.context`).
Ambiguous trade terms ("order", "dm", "price") are only reported next to a
drug hit.

>>> [(h.label, h.term) for h in find_terms("x a n a x 2mg bars, dm to order")]
[('xanax', 'xanax 2mg'), ('xanax', 'bars'), (None, 'dm to order')]
>>> find_terms("a diet coke and a pot of tea")
[]
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

import ahocorasick

from drugwatch.lexicon import DRUG_KINDS, Lexicon, LexiconEntry, load_lexicon
from drugwatch.lexicon.context import PRICE, ContextModel, Cue, TextContext, load_context_model
from drugwatch.text.normalize import GC_PAUSE_MIN_CHARS, NormalizedText, normalize

__all__ = ["MAX_HITS_PER_TERM", "LexiconHit", "Matcher", "find_terms", "get_matcher", "hit_labels"]

#: The most occurrences of one term a text reports (the first ones, left to
#: right). Later occurrences are neither checked against their context nor
#: reported, and keep their characters from shorter terms as a reported one
#: would. The evidence a text gives is the same (a term seen 100 times is
#: context enough), and a text of 100,000 emoji costs 100 hits, not 100,000.
MAX_HITS_PER_TERM: Final[int] = 100
# Up to this many candidates, overlaps are resolved by comparing each with the
# kept ones (cheapest for the few terms of most texts; too few to reach the
# cap above).
_FEW_CANDIDATES: Final[int] = 16


@dataclass(frozen=True, slots=True)
class LexiconHit:
    """One lexicon term found in a text.

    ``start``/``end`` index the normalized text; ``raw_start``/``raw_end`` the
    raw text (what an analyst sees highlighted). ``label`` is ``None`` for
    transaction, selling and shipping terms.
    """

    label: str | None
    term: str
    kind: str
    start: int
    end: int
    raw_start: int
    raw_end: int
    ambiguous: bool = False
    in_hashtag: bool = False

    @property
    def is_drug(self) -> bool:
        return self.label is not None


def hit_labels(hits: Iterable[LexiconHit]) -> tuple[str, ...]:
    """The distinct drug labels of ``hits``, in the fixed label order."""
    from drugwatch.labels import DRUG_LABELS

    found = {h.label for h in hits if h.label is not None}
    return tuple(lab for lab in DRUG_LABELS if lab in found)


# ---------------------------------------------------------------------------
# Context rules
# ---------------------------------------------------------------------------


def _words(spec: str) -> frozenset[str]:
    return frozenset(w.strip() for w in spec.split("|") if w.strip())


# Words (one or two) right before / after a term that show its ordinary
# meaning. Applied to every term listed, ambiguous or not.
_NEG_BEFORE: Final[dict[str, frozenset[str]]] = {
    "coke": _words(
        "diet|cherry|vanilla|classic|pepsi|sprite|fanta|rum and|rum|whiskey and|jack and"
        "|cold|ice cold|can of|bottle of|glass of|a|drink|drinking|drank|sip|sipping|zero"
    ),
    "pot": _words(
        "tea|coffee|crock|instant|hot|flower|plant|cooking|honey|chamber|melting|jack"
        "|stock|soup|clay|terracotta|ceramic|potty|jackpot|the jack|lobster|a flower"
    ),
    "grass": _words(
        "cut|cutting|mow|mowing|on the|green|tall|artificial|synthetic|lawn|the|wet"
        "|ornamental|pampas|lemon|sea|blades of"
    ),
    "snow": _words("let it|heavy|fresh|more|in the|of|first|deep|melting|the|playing in|no"),
    "snowman": _words("build a|frozen|olaf|a|the"),
    "tabs": _words("browser|keep|open|close|closing|pull|beer|chrome|many|all"),
    "molly": _words(
        "my|aunt|sister|friend|daughter|cousin|little|dear|with|named|called|miss|mrs|ms"
        "|love|to|for|tell|told|thanks|thank you|hi|hey|with my|mom|grandma"
    ),
    "mandy": _words(
        "my|aunt|sister|friend|daughter|cousin|little|dear|with|named|called|miss|mrs|ms"
        "|love|to|for|tell|told|thanks|hi|hey|mom|grandma"
    ),
    "charlie": _words(
        "my|uncle|brother|friend|little|dear|with|named|called|and|to|for|tell|told|thanks|hi|hey|prince|bonnie prince"
    ),
    "bars": _words(
        "gay|sports|wine|cocktail|piano|local|best|top|rooftop|hotel|beach|dive|karaoke"
        "|cereal|protein|granola|candy|chocolate|soap|gold|silver|metal|iron|steel|monkey"
        "|grab|pull up|prison|jail|behind|health|energy|snack|music|spit|spitting|rap"
        "|hard|hot|lyrics|stripe|parallel|space|status|progress|menu|tool|side|handle"
        "|lightning|candy|ice cream|fruit|oat|nut|bike|roll|crash|towel|grab|sound"
        "|restaurants and|clubs and|pubs and|the|many|some|few|several|great|good|fun"
    ),
    "blues": _words(
        "the|rhythm and|delta|singing|baby|holiday|winter|monday|got the|post|st louis"
        "|country|jazz and|chicago|electric|sunday|morning"
    ),
    "lean": _words(
        "to|i|we|you|they|please|don t|dont|can|should|will|would|could|mean|the|a|extra|super|stay|keep|get|getting|so"
    ),
    "dope": _words(
        "so|that s|thats|really|pretty|super|is|was|looks|sounds|how|very|too|look|that|this is|it s|its|real"
    ),
    "crack": _words(
        "a|the|to|will|can|could|i|we|phone|screen|windshield|plumber|butt|wise|sidewalk"
        "|small|little|tiny|big|hairline|lightning"
    ),
    "blow": _words(
        "a|to|will|gonna|it|don t|dont|i|low|death|body|final|big|could|would|may|might"
        "|didn t|didnt|never|please|wind|winds"
    ),
    "acid": _words(
        "hyaluronic|folic|amino|citric|lactic|glycolic|salicylic|ascorbic|stomach|nucleic"
        "|fatty|uric|boric|sulfuric|sulphuric|hydrochloric|nitric|acetic|malic|kojic|azelaic"
        "|tranexamic|ferulic|retinoic|formic|tartaric|phosphoric|gastric|lipoic|alpha lipoic"
        "|mandelic|stearic|oleic|linoleic|omega|carbolic|hydrofluoric|ellagic|caffeic|bile"
        "|deoxyribonucleic|ribonucleic|chlorogenic|humic|fulvic|gamma aminobutyric|an|the"
    ),
    "rolling": _words(
        "rock and|rock n|keep|get|start|started|ball is|ball s|heads|eyes|dice|money|cash|the|are|were|been|dough"
    ),
    "beans": _words(
        "coffee|baked|green|black|pinto|kidney|jelly|string|refried|cocoa|vanilla|cacao"
        "|navy|lima|mung|soy|butter|fava|broad|espresso|of"
    ),
    "candy": _words("cotton|eye|hard|arm|rock|halloween|sweet|chocolate|gummy|sour|some|free|rock"),
    "crystals": _words("swarovski|clear|healing|quartz|salt|sugar|ice|snow|amethyst|the|bath"),
    "speed": _words(
        "high|top|full|internet|wind|light|reading|typing|warp|at|up to|fast|low|max"
        "|the|same|constant|download|upload|processing|shutter|good|great|average"
    ),
    "plug": _words("power|spark|usb|wall|ear|butt|shameless|drain|sink|bath|the sink|a power"),
    "gas": _words(
        "natural|cheap|tear|greenhouse|out of|pump|petrol|nerve|poison|propane|cooking"
        "|noble|exhaust|laughing|the|fill up|filled up|paying for"
    ),
    "herb": _words("fresh|dried|kitchen|garden|mixed|italian|provence|aromatic|an|the|basil|this"),
    "leaf": _words(
        "fall|autumn|gold|tea|bay|lettuce|fig|palm|new|clover|four|turn over a|turn a"
        "|loose|banana|grape|curry|kaffir|lime|the|a|spring|single"
    ),
    "maple leaf": _words("toronto|the|canadian|canada"),
    "trees": _words(
        "christmas|palm|apple|the|oak|fruit|family|decision|pine|cherry|tall|old|some|many|plant|planting|cut|cutting"
    ),
    "mushroom": _words(
        "button|portobello|shiitake|oyster|cream of|stuffed|wild|chanterelle|enoki"
        "|porcini|cremini|sauteed|fried|grilled|chicken and|beef and|creamy|the|a"
        "|garlic|lions mane|lion s mane|reishi|chaga|cordyceps|turkey tail|mario"
    ),
    "mushrooms": _words(
        "button|portobello|shiitake|oyster|stuffed|wild|chanterelle|enoki|porcini"
        "|cremini|sauteed|fried|grilled|creamy|garlic|lions mane|lion s mane|reishi"
        "|chaga|cordyceps|medicinal|edible|functional|the|and|with|some"
    ),
    "truffles": _words("chocolate|lindt|black|white|oreo|rum|champagne|italian|the|dark|milk"),
    "special k": _words("kellogg|kellogg s|kelloggs"),
    "seeds": _words(
        "chia|flax|sunflower|pumpkin|sesame|poppy|bird|vegetable|tomato|flower|grass"
        "|garden|apple|watermelon|fennel|caraway|mustard|cumin|coriander|basil|pepper"
        "|the|some|plant|heirloom|organic|hemp|squash|melon|seeds and"
    ),
    "flower": _words(
        "sun|wall|may|corn|cauli|passion|a|the|wild|pressed|paper|fresh|dried|edible"
        "|lotus|this|favorite|favourite|state"
    ),
    "wax": _words("car|ear|bees|bee|bikini|candle|brazilian|floor|surf|hair|soy|sealing|leg|lost"),
    "shatter": _words("to|will|glass|could|would|might|may|can|screen"),
    "trim": _words("hair|beard|a|the|door|window|wood|car|interior|chrome|gold|lace|bangs"),
    "shake": _words(
        "protein|milk|a|vanilla|chocolate|strawberry|harlem|hand|earth|salt|shake|the|banana|diet|weight loss"
    ),
    "hash": _words("corned beef|corned|beef|sha|sha256|md5|crypto|password|the|a|turkey|potato"),
    "edibles": _words(
        "vitamin|melatonin|fruit|sour|multivitamin|kids|elderberry|collagen|gelatin|vegan|biotin|dog|pet"
    ),
    "gummies": _words(
        "vitamin|melatonin|fruit|sour|multivitamin|kids|elderberry|collagen|gelatin"
        "|vegan|biotin|apple cider vinegar|acv|dog|pet|gummy|haribo|sugar free"
    ),
    "brownies": _words(
        "chocolate|fudge|baked|girl scout|fudgy|double chocolate|vegan|the|some|homemade|baking|bake|made"
    ),
    "carts": _words("shopping|golf|add to|grocery|food|go|the|airport|luggage|utility"),
    "cart": _words("shopping|golf|add to|your|grocery|food|go|the|a|airport|luggage|utility|abandoned|my"),
    "indoor": _words("the|an|best|for|great"),
    "outdoor": _words("the|an|best|for|great|indoor and|indoor"),
    "dank": _words("the|so"),
    "loud": _words(
        "too|so|very|out|really|is|was|music|be|the|a|how|and|it s|its|that s|thats"
        "|say it|said it|laugh|laughing|screaming|super"
    ),
    "exotic": _words("car|pet|cars|the|an|most"),
    "exotics": _words("car|pet|cars|the|my"),
    "kitty": _words("hello|my|the|a|cute|little|hi|kitty"),
    "horse": _words("race|dark|trojan|rocking|sea|wild|a|the|my|her|his|white|riding|show"),
    "boomers": _words("baby|ok|the"),
    "chronic": _words("my|a|is|with|has|have|suffer from"),
    "skunk": _words("a|the|striped|baby|dead|like a"),
    "bud": _words("rose|taste|ear|air|my|best|hey|flower|thanks|a|the|lil|little|buddy|nip"),
    "buds": _words("taste|ear|air|my|rose|flower|best|the|apple|galaxy|pixel|beats|bose|wireless"),
    "joint": _words(
        "knee|hip|my|ball|sore|a|the|burger|pizza|bbq|barbecue|chicken|juke|clip|in"
        "|out of|this|shoulder|ankle|elbow|wrist|finger|toe|jaw|sacroiliac|si"
    ),
    "joints": _words(
        "knee|hip|my|sore|achy|aching|stiff|swollen|your|healthy|the|finger|toe|expansion|wood|welded|solder"
    ),
    "dab": _words("a|quick|little|do the|did the|doing the|lil|tiny"),
    "dabs": _words("the|some|quick"),
    "flake": _words(
        "snow|corn|chocolate|cadbury|pastry|sea salt|salt|a|total|such a|the|bran"
        "|chili|chilli|red pepper|tuna|coconut|nutritional yeast"
    ),
    "school bus": _words("the|a|yellow|my|on the|ride the|riding the|his|her|drives"),
    "footballs": _words("the|nfl|leather|two|signed|autographed|some"),
    "ladders": _words("step|extension|snakes and|rope|corporate|the|fire|roof|chutes and|attic"),
    "planks": _words("wood|wooden|oak|timber|the|walk the|do|doing|side|hold"),
    "subs": _words("youtube|my|new|sandwich|sandwiches|gain|twitch|the|italian|submarine|turkey"),
    "morph": _words("to|will|can|could|the|a"),
    "spice": _words(
        "pumpkin|cajun|mixed|the|a|sugar and|old|everything|chai|curry|jerk|rub|some|allspice|baharat|seasoning and"
    ),
    "k2": _words("climb|climbing|climbed|summit|mount"),
    "poppers": _words("jalapeno|jalapeño|party|bubble|confetti|pimple|popcorn|balloon|corn|bacon|jalapeno cheese"),
    "whippets": _words("my|our|the|two|racing|italian"),
    "crank": _words("to|a|the|bike|hand|pedal|window|engine"),
    "tweak": _words("to|a|small|minor|slight|some|little|the|final|quick"),
    "heroine": _words("the|a|female|our|strong|tragic|romantic|action|super|true|unsung|local|main|her|a real|my"),
    "brown sugar": _words("light|dark|the|cup of|tbsp|tsp|packed|a|and|cinnamon|with|of|golden"),
    "black tar": _words("roof|roofing|driveway|pine|the"),
    "drank": _words(
        "i|we|he|she|they|you|just|who|never|already|then|and|have|had|also|finally|that|it|which|cat|dog|baby"
    ),
    "syrup": _words(
        "maple|pancake|simple|corn|chocolate|caramel|agave|golden|date|fruit|rice"
        "|sugar|strawberry|blueberry|vanilla|mint|rose|ginger|hazelnut|coffee|honey"
    ),
    "pint": _words("a|beer|of|guinness|cold|half|half a|per|ice cream|milk"),
    "pints": _words("beer|of|guinness|cold|few|two|three|some|ice cream|milk"),
    "double cup": _words("the|a"),
    "30s": _words("my|your|his|her|their|early|mid|late|the|in her|in his|in their|in my|in your|1930s|our|in the"),
    "fetty": _words("the"),
    "tree": _words(
        "christmas|family|apple|palm|oak|pine|decision|binary|fruit|lemon|the|a|big|old|tall|cherry|shade|money|gum"
    ),
    "za": _words("pizza|the|a"),
    "mids": _words("the|highs and|bass|lows and"),
    "gel tabs": _words("ibuprofen|advil|tylenol"),
    "microdots": _words(""),
    "clones": _words("star wars|the|attack of the|his|her|my"),
    "smalls": _words("the|my|your|his|her"),
    "texas tea": _words("the"),
    "ice": _words("on|dry|black|shaved|thin|vanilla|with|no|crushed|the|some|add|bag of|on thin"),
    "crystal": _words("swarovski|clear|healing|quartz|cut|lead|rose|amethyst|a|the|bohemian"),
    "tab": _words("browser|new|bar|the|a|pick up the|open|close|pull|chrome|settings|keep"),
    "hulks": _words("the|incredible"),
    "x pills": _words("the"),
    "lucy": _words(
        "my|aunt|sister|friend|daughter|cousin|little|dear|with|named|called|miss|mrs|ms"
        "|love|and|to|for|tell|told|thanks|hi|hey|i love"
    ),
    "tina": _words(
        "my|aunt|sister|friend|daughter|cousin|little|dear|with|named|called|miss|mrs|ms"
        "|love|and|to|for|tell|told|thanks|hi|hey"
    ),
    "percy": _words("my|uncle|brother|friend|little|dear|with|named|called|and|to|for|tell|told|thanks|hi|hey"),
    "rolls": _words(
        "dinner|spring|egg|sushi|cinnamon|toilet|paper|sweet|bread|hawaiian|honor|drum"
        "|barrel|lobster|cabbage|kaiser|crescent|sausage|pizza|summer|california|the"
    ),
    "powder": _words(""),
    "microdosing": _words(""),
    "magics": _words("the"),
    "sugar cubes": _words("the|two|some|a few"),
    "420": _words("area code|route|model|mercedes|highway|room|apt|suite|unit|flight|bus|page"),
    "710": _words("area code|route|model|highway|room|apt|suite|unit|flight|bus|page"),
}

_NEG_AFTER: Final[dict[str, frozenset[str]]] = {
    "coke": _words(
        "zero|can|cans|bottle|bottles|float|cola|machine|and pepsi|or pepsi|studio|oven"
        "|products|company|classic|life|cherry|vanilla|and fries|with ice|and rum|and chips"
        "|and a burger|and popcorn|slurpee|icee|ad|commercial|light|diet|freestyle"
    ),
    "pot": _words(
        "of|pie|pies|roast|luck|luck dinner|belly|hole|holes|plant|plants|noodles|noodle"
        "|stickers|sticker|pourri|pourri|holder|holders|lid|lids|odds|and pan|and pans"
        "|pans|stir|head of|roast recipe"
    ),
    "grass": _words(
        "fed|cutter|seed|seeds|field|fields|stains|roots|court|courts|cutting|hopper"
        "|snake|land|lands|clippings|skirt|is always greener|is greener|green"
    ),
    "snow": _words(
        "day|days|storm|storms|fall|falls|man|men|board|boarding|flake|flakes|plow"
        "|tires|white|globe|cone|cones|leopard|shoe|shoes|blower|shovel|drift|drifts"
        "|covered|capped|angel|angels|patrol|pea|peas|crab|boots|ball|balls|tubing"
        "|mobile|mobiles|and ice|is falling|outside|today|tonight|tomorrow|in|on the|globes|tires|tyres"
    ),
    "snowman": _words("with|in the|on the"),
    "ice": _words(
        "cream|creams|cold|age|cube|cubes|bucket|hockey|skating|skate|skates|rink|tea"
        "|coffee|water|pack|packs|queen|king|box|maker|breaker|berg|cap|caps|storm"
        "|spice|out|bath|baths|fishing|fish|pop|pops|pick|machine|tray|trays|sculpture"
        "|climbing|dance|dancing|land|road|roads|on the|latte|chips|chip|melts|melting"
        "|bag|bags|and snow|t|ice baby|crystals"
    ),
    "tabs": _words("open|on|in chrome|in the browser|in firefox|at the bar|on it|on him|on her|on them"),
    "tab": _words("key|button|bar|open|on|in|for|of|s|settings|closed|tab"),
    "molly": _words(
        "said|says|and i|is my|ringwald|malone|weasley|brown|shannon|the dog|the cat"
        "|is|was|has|had|and her|goes|went|told|loves|s mom|s dad|s birthday"
    ),
    "mandy": _words("said|says|and i|is my|moore|patinkin|is|was|has|had|and her|goes|went"),
    "charlie": _words(
        "said|says|and i|is my|brown|puth|chaplin|sheen|kirk|hunnam|and the chocolate"
        "|is|was|has|had|horse|bit my finger|bucket|day"
    ),
    "bars": _words(
        "and restaurants|and clubs|in town|nearby|near|downtown|and pubs|open|of soap"
        "|of chocolate|of gold|on|in|around|and nightclubs|and lounges|and cafes|close"
        "|of music|of the song|of the beat|of signal|of service|and stripes|and grills"
        "|with live music|are|were|tonight|this weekend"
    ),
    "blues": _words(
        "band|music|guitar|festival|singer|brothers|clues|traveler|rock|jazz|club|bar"
        "|song|songs|album|legend|harp|scale|hall"
    ),
    "lean": _words(
        "on|back|in|against|over|forward|towards|toward|into|meat|meats|protein|muscle"
        "|mass|body|beef|cut|cuts|manufacturing|startup|six sigma|management|production"
        "|and mean|and green|ground|turkey|chicken|pork|fish|gains|bulk|diet|times|out"
        "|to|enterprise|team|teams|principles|method|methodology|process|season|year"
        "|years|burger|physique|build|figure|legs|frame|cuisine"
    ),
    "dope": _words(
        "af|as|shit|song|pic|picture|beat|beats|track|video|fit|outfit|design|photo"
        "|idea|vibes|vibe|music|look|shot|ass|album|collab|work|job|art|stuff"
    ),
    "crack": _words(
        "down|up|open|a joke|jokes|the code|code|me up|in the|of dawn|ed|screen|shot"
        "|head|heads|the case|a smile|a beer|a window|the whip|on|in|the egg|an egg"
        "|eggs|the door|the window|under|between|of the whip|team"
    ),
    "blow": _words(
        "up|out|dry|dryer|dryers|job|torch|your mind|mind|away|off|me|kiss|kisses"
        "|the candles|candles|bubbles|hole|their mind|his mind|her mind|my mind|over"
        "|a kiss|it|the whistle|a fuse|fish|horn|the roof|in"
    ),
    "acid": _words(
        "reflux|rain|wash|washed|jazz|house|test|attack|base|indigestion|peel|peels"
        "|mantle|green|etch|etched|etching|burn|burns|tongue|rock|techno|dye|dyed"
        "|neutralizer|content|level|levels|stomach|and base|resistant|free|balance"
    ),
    "rolling": _words(
        "stone|stones|hills|pin|papers|paper|tray|trays|in the deep|thunder|out|up"
        "|down|back|along|around|over|loud|blackouts|basis|average|release"
        "|with the punches|on the floor|in|on|my eyes|eyes|suitcase|luggage|chair"
    ),
    "rolls": _words(
        "royce|of paper|of toilet paper|of tape|of film|around|up|down|over|back|on|off|out|in|into|with|of fabric"
    ),
    "beans": _words("and rice|on toast|soup|recipe|salad|burrito|chili|plant|plants|sprout"),
    "candy": _words(
        "crush|shop|shops|store|stores|bar|bars|canes|cane|corn|apple|apples|land"
        "|floss|buffet|dish|jar|wrappers|bag|bags|hearts|making|maker|for kids|girl"
    ),
    "crystal": _words(
        "clear|ball|balls|glass|glasses|healing|palace|light|lake|shop|jewelry"
        "|necklace|necklaces|vase|chandelier|stemware|cove|skull|earrings|bead|beads"
        "|river|cave|set|display|castle"
    ),
    "crystals": _words("healing|jewelry|necklace|energy|and stones|stones|for|grid|collection"),
    "speed": _words(
        "limit|limits|bump|bumps|dating|test|tests|of light|of sound|up|run|boat"
        "|way|racer|demon|dial|bag|reading|queen|ball|skating|camera|cameras"
        "|ticket|tickets|trap|ratings|rating|controller|control|square|bag|typing"
    ),
    "plug": _words("socket|adapter|adapters|and play|ins|in adapter|points|wires|wire|type"),
    "gas": _words(
        "station|stations|prices|price|mask|masks|stove|stoves|bill|bills|tank|tanks"
        "|pump|pumps|money|leak|leaks|giant|grill|grills|fireplace|heater|heaters"
        "|cylinder|cylinders|lighting|light|pedal|mileage|can|cans|chamber|chambers"
        "|oven|ovens|and electric|and electricity|supply|supplies|company|companies"
        "|powered|engine|engines|line|lines|fee|fees|limit|cards|card|furnace"
    ),
    "herb": _words(
        "garden|gardens|butter|salad|de provence|seasoning|tea|teas|crusted|roasted"
        "|chicken|potatoes|mix|blend|infused|sauce|oil|cheese|bread"
    ),
    "leaf": _words(
        "blower|blowers|peeping|spring|rake|pile|piles|lettuce|tea|green|shape|print"
        "|pattern|design|motif|decor|blade|spring|nation|insignia|flag|logo|jersey"
    ),
    "tree": _words(
        "house|houses|top|tops|trunk|branch|branches|bark|line|lines|hugger|huggers"
        "|planting|nursery|farm|farms|service|services|removal|trimming|lighting"
        "|skirt|topper|stand|ornament|ornaments|of life|hollow|frog|frogs|nut|nuts"
        "|structure|diagram|data|algorithm|ring|rings"
    ),
    "trees": _words(
        "are|were|and flowers|and bushes|and shrubs|planted|near|in the|of|grow|fell"
        "|fall|were planted|bloom|blooming|near me|line|lined"
    ),
    "mushroom": _words(
        "soup|risotto|sauce|burger|pizza|ravioli|gravy|cloud|clouds|hunting|foraging"
        "|farm|farming|kingdom|stroganoff|omelette|omelet|quiche|cap|caps|coffee"
        "|extract|extracts|supplement|supplements|tea|teas|powder|powders|lamp"
        "|house|haircut|head|stuffing|toast|tart|ragout|ragu|pie|pasta|risotto"
    ),
    "mushrooms": _words(
        "and onions|and peppers|soup|risotto|sauce|on toast|recipe|in the forest"
        "|in the woods|in my garden|in my yard|growing in|supplement|supplements"
        "|extract|extracts|coffee|and spinach|and garlic"
    ),
    "truffles": _words("oil|fries|chocolate|chocolates|pasta|recipe|box|gift"),
    "special k": _words("cereal|bar|bars|diet|red berries|protein|original"),
    "seeds": _words(
        "of|and nuts|for birds|bird|oil|butter|bread|crackers|packet|packets|planted"
        "|sprouting|germinating|vegetables|vegetable|garden"
    ),
    "flower": _words(
        "shop|shops|delivery|deliveries|arrangement|arrangements|bouquet|bouquets"
        "|girl|girls|pot|pots|garden|gardens|power|crown|crowns|field|fields|bed"
        "|beds|market|markets|show|petals|petal|child|children|pattern|print|vase"
        "|vases|moon|festival|farm|farms|dress|dresses|bud|buds|essence|essences"
    ),
    "wax": _words(
        "melts|melt|candle|candles|strips|strip|seal|seals|museum|on wax off|job|figures"
        "|figure|paper|warmer|warmers|crayon|crayons|coated|print|prints"
    ),
    "shatter": _words(
        "proof|resistant|screen|records|record|the|my|me|glass|into|your|his|her"
        "|their|our|dreams|expectations|the record|windows"
    ),
    "trim": _words(
        "your|the|my|hair|beard|tab|line|level|levels|kit|kits|color|colour|piece"
        "|pieces|work|carpentry|package|packages|panel|panels|down|off|up|and tone"
        "|and slim|waist|waistline|weight|size|tabs"
    ),
    "shake": _words(
        "it|hands|off|up|shack|weight|my hand|your hand|hand|hands with|the world"
        "|things up|recipe|recipes|powder|mix|mixes|bottle|bottles|well|a leg"
    ),
    "hash": _words(
        "browns|brown|tag|tags|function|functions|map|maps|table|tables|rate|power"
        "|mark|marks|key|keys|value|values|out|it out|things out|code|tree|set"
    ),
    "carts": _words("checkout|wheels|and bags|abandoned"),
    "cart": _words(
        "checkout|wheels|is empty|total|abandoned|items|abandonment|page|button|path|ride|rides|racing|racer|rental"
    ),
    "edibles": _words("arrangement|arrangements|and drinkables|garden|gardens|flowers"),
    "gummies": _words("for kids|vitamins|vitamin|multivitamin|for adults|bears|worms|sugar free"),
    "brownies": _words("recipe|recipes|and cookies|mix|pan|points|batter|girl scout|troop"),
    "indoor": _words(
        "plant|plants|pool|pools|cycling|cat|cats|soccer|games|game|activities"
        "|activity|playground|air|garden|gardening|garden|track|skydiving|voice"
        "|dining|seating|temperature|temperatures|climbing|lighting|use|furniture"
    ),
    "outdoor": _words(
        "furniture|activities|activity|adventure|adventures|gear|living|kitchen"
        "|dining|wedding|weddings|pool|lighting|cat|cats|space|spaces|seating|games"
        "|game|play|playground|enthusiast|enthusiasts|recreation|clothing|jacket"
        "|jackets|shower|voice|decor|use|patio|concert|concerts|movie|cinema"
    ),
    "dank": _words("memes|meme|basement|cellar|cave|air|and dark"),
    "loud": _words(
        "music|noise|noises|and clear|voice|voices|mouth|mouthed|enough|af|as|sound"
        "|sounds|speaker|speakers|neighbors|neighbours|bang|bangs|crash|boom|laugh"
        "|laughs|and proud|volume|cheer|cheers|applause|house|in here"
    ),
    "exotic": _words(
        "car|cars|pet|pets|animal|animals|bird|birds|fish|dancer|dancers|fruit"
        "|fruits|travel|location|locations|vacation|beaches|beach|island|islands|plant"
        "|plants|flower|flowers|food|foods|wood|woods|species|destination"
    ),
    "exotics": _words("cars|car|pets|animals|rental|rentals|show|auto|dealer|dealership"),
    "kitty": _words(
        "cat|cats|litter|litters|cat litter|party|kat|hawk|corner|cafe|and puppy|ears|paws|toy|toys|pic|pics|witch"
    ),
    "horse": _words(
        "riding|race|races|racing|show|shows|back|power|shoe|shoes|trailer|trailers"
        "|stable|stables|farm|ranch|feed|meat|girl|girls|hair|fly|radish|whisperer"
        "|and carriage|and buggy|sense|play|playing|around"
    ),
    "boomers": _words("generation|and millennials|vs|and gen|are|were|who|ruined"),
    "chronic": _words(
        "pain|illness|illnesses|fatigue|disease|diseases|condition|conditions|kidney"
        "|back pain|migraine|migraines|stress|inflammation|lyme|bronchitis|cough"
        "|diarrhea|care|absenteeism|lateness|procrastinator|worrier|liar"
    ),
    "skunk": _words(
        "smell|smells|spray|sprayed|works|cabbage|odor|odour|family|stripe|bear|in my yard|in the yard|under|ape"
    ),
    "bud": _words("light|lite|weiser|dy|ies|vase|vases|of the|the|rose|roses|break"),
    "buds": _words(
        "and blooms|and flowers|are|on the|of the|bloom|blooming|opening|swell|pro|live|plus|case|cases|max"
    ),
    "joint": _words(
        "pain|pains|venture|ventures|account|accounts|statement|statements|replacement"
        "|replacements|supplement|supplements|health|custody|effort|efforts|session"
        "|sessions|chiefs|commission|committee|task force|operation|operations"
        "|exercise|exercises|stiffness|care|support|mobility|compound|probability"
        "|distribution|tenancy|return|returns|resolution|degree|degrees|fluid"
        "|inflammation|damage|injury|injuries|surgery|tax|filing|owner|owners"
    ),
    "joints": _words(
        "pain|pains|and muscles|and bones|ache|aching|hurt|hurting|health|support"
        "|stiffness|mobility|and ligaments|inflammation"
    ),
    "dab": _words("on|on them|on em|on the haters|dance|of|hand|hands|it|it on|the|a bit|some"),
    "dabs": _words("on|dance|of"),
    "flake": _words("on me|out|d|y|ed|on|on us|on them|on plans|salt|off|cereal|ice|tuna|bar"),
    "school bus": _words("driver|drivers|stop|stops|route|routes|ride|rides|accident|accidents"),
    "footballs": _words("and basketballs|and soccer balls|for sale|signed"),
    "ladders": _words("and scaffolding|and scaffolds|for sale|rack|racks|and stools"),
    "planks": _words(
        "of wood|wood|wooden|for|a day|challenge|exercise|exercises|and crunches"
        "|and squats|and pushups|and push ups|for core|hold"
    ),
    "subs": _words(
        "and sandwiches|sandwich|sandwiches|count|gain|goal|goals|only|please|for sub"
        "|4 sub|and dubs|dubs|subtitles|in english|and likes|and views|to my|menu"
    ),
    "morph": _words("into|suit|suits|target|targets|between|from|the|it|its"),
    "spice": _words(
        "rack|racks|blend|blends|mix|mixes|girls|girl|of life|market|markets|trade"
        "|islands|cake|cakes|jar|jars|grinder|level|levels|route|routes|things up"
        "|it up|up|world|drawer|cabinet|box"
    ),
    "k2": _words(
        "mountain|summit|climb|climbing|ski|skis|skate|skates|bike|bikes|sports"
        "|snowboard|snowboards|peak|base camp|expedition"
    ),
    "poppers": _words("recipe|recipes|with|stuffed|wrapped"),
    "whippets": _words("dog|dogs|puppy|puppies|racing|breed|breeders|for adoption|and greyhounds"),
    "crank": _words(
        "it up|up|the|handle|handles|shaft|shafts|call|calls|calling|caller|arm"
        "|arms|case|bearing|bearings|sensor|sensors|window|windows|out|it"
    ),
    "tweak": _words("the|a|it|settings|setting|some|my|your|his|her|their|our|this|that|these|those|tool|tools"),
    "heroine": _words("of|in|the|who|and hero|and heroes|and villain|journey|s journey|worship|complex|addict"),
    "brown sugar": _words(
        "cookies|cookie|syrup|glaze|glazed|oatmeal|bacon|ham|salmon|scrub"
        "|scrubs|bubble tea|boba|butter|cinnamon|and cinnamon|and butter|in|to"
        "|recipe|sauce|milk tea|latte|pop tarts"
    ),
    "black tar": _words("roofing|roof|sealant|soap|shampoo|heroin"),
    "drank": _words(
        "water|coffee|tea|some|a|the|too|it|wine|beer|my|all|from|milk|juice|lots"
        "|so|and|at|with|in|half|two|three|four|five"
    ),
    "syrup": _words("on|pancakes|pancake|for pancakes|bottle|recipe|and butter|dispenser"),
    "pint": _words(
        "of beer|of ale|of guinness|of cider|of milk|of ice cream|glass|glasses"
        "|of blood|of water|of stout|of lager|of bitter|sized|size|jar|jars"
    ),
    "pints": _words(
        "of beer|of ale|of guinness|of cider|of milk|of ice cream|of blood|of water|of stout|of lager|of bitter|with|at"
    ),
    "double cup": _words("holder|holders|of coffee|of tea|coffee"),
    "30s": _words(
        "and 40s|or 40s|style|fashion|music|era|decade|film|films|movie|movies|jazz"
        "|dress|dresses|women|woman|men|man|crowd"
    ),
    "fetty": _words("wap"),
    "za": _words("pizza|za"),
    "mids": _words("and highs|and lows|and bass|range|tone|frequency|frequencies"),
    "clones": _words("of|wars|army|armies|for sale"),
    "smalls": _words("and larges|and mediums|size|sizes|undies|underwear"),
    "420": _words(
        "dollars|usd|eur|euro|euros|gbp|pounds|bucks|k|kg|km|miles|mi|points|pts|sq|sqft"
        "|hp|ft|lbs|calories|kcal|pages|people|votes|views|likes|followers|am|pm"
    ),
    "710": _words(
        "dollars|usd|eur|euro|euros|gbp|pounds|bucks|k|kg|km|miles|mi|points|pts|sq|sqft"
        "|hp|ft|lbs|calories|kcal|pages|people|votes|views|likes|followers|am|pm"
    ),
    "lucy": _words("said|says|and i|is my|liu|hale|and the|is|was|has|had|and her|goes|went|pevensie"),
    "tina": _words("said|says|and i|is my|fey|turner|belcher|is|was|has|had|and her|goes|went"),
    "percy": _words("jackson|said|says|and i|is my|is|was|has|had|and his|goes|went|shelley|pig"),
    "magics": _words("the"),
    "hulks": _words("smash|smashes|of"),
    "gel tabs": _words(""),
    "texas tea": _words(""),
    "sugar cubes": _words("for|in|with|and tea|and coffee"),
    "x pills": _words(""),
}

# Dealer-style trade words: weigh more as context for ambiguous drug terms
# than plain commerce words ("price", "order", "shipping").
_DEALER_TERMS: Final[frozenset[str]] = _words(
    "hmu|hit me up|tap in|plug|the plug|your plug|best plug|snapchat|snap|wickr|wickr me|telegram"
    "|kik|whatsapp|signal|threema|dm|dms|dm me|dm me for|inbox me|cash app|cashapp|zelle|venmo"
    "|link in bio|pull up|discreet|discrete|stealth|menu|new menu|in stock|restock|restocked"
    "|plugged in|taking orders|open for business|slide in|text me|call me|dead drop|drop|drops"
    "|meetup|meet up|legit|vouch|vouches|qp|qps|zip|zips|half oz|half ounce|quarter oz|8th|8ths"
    "|eighth|ounce|ounces|oz|gram|grams|per gram|per oz|per pill|per tab|reup|re-up|bulk"
    "|quarter pound|half pound|pound|pounds|lb|lbs|kilo|kilos|no prescription|without prescription"
    "|no rx|no script"
)

# A number of units, or "x 10" / "10x", with no letter or digit before it.
# Each look-behind comes after the first character and looks two back
# ("\d(?<![a-z0-9]\d)" is "(?<![a-z0-9])\d"): a pattern that starts with a
# look-behind is tried at every position of the text, one that starts with a
# character class only where that character is (3 to 4 times faster here).
_DOSE = re.compile(
    r"\d(?<![a-z0-9]\d)\d*(?:[.,]\d+)?\s?(?:mg|mgs|mcg|ug|µg|ml|gr|grams?|g|oz|kg|kilos?|lbs?|qp|"
    r"tabs?|pills?|caps?|capsules?|tablets?|hits?|pcs|x)(?![a-z0-9])"
    r"|x(?<![a-z0-9]x)\s?\d+(?![a-z0-9])|\d(?<![a-z0-9]\d)\d*\s?x(?![a-z0-9])"
)
_PHARMA_DOSE = re.compile(r"\d(?<![a-z0-9]\d)\d*(?:[.,]\d+)?\s?(?:mg|mgs|mcg|ug|µg)(?![a-z0-9])")
_PILL_WORD_LIST: Final[tuple[str, ...]] = (
    "pill",
    "pills",
    "tablet",
    "tablets",
    "capsule",
    "capsules",
    "caps",
    "tabs",
    "dose",
    "doses",
    "high",
    "stoned",
    "trip",
    "tripping",
    "rolling",
    "faded",
    "lit",
    "smoke",
    "smoking",
    "sniff",
    "snort",
    "plug",
)
_PILL_WORDS = re.compile(r"(?<![a-z])(?:" + "|".join(_PILL_WORD_LIST) + r")(?![a-z])")
_ANY_DIGIT = re.compile(r"\d")  # every _DOSE alternative holds one


def _build_pill_automaton() -> ahocorasick.Automaton:
    automaton = ahocorasick.Automaton()
    for word in _PILL_WORD_LIST:
        automaton.add_word(word, len(word))
    automaton.make_automaton()
    return automaton


_PILL_AUTOMATON: Final[ahocorasick.Automaton] = _build_pill_automaton()


def _has_pill_word(s: str) -> bool:
    """``_PILL_WORDS.search(s) is not None``, with one Aho–Corasick pass (the
    pattern's leading look-behind makes the regex engine try every position)."""
    n = len(s)
    for end, length in _PILL_AUTOMATON.iter(s):
        start = end - length + 1
        if (start == 0 or not "a" <= s[start - 1] <= "z") and (end + 1 == n or not "a" <= s[end + 1] <= "z"):
            return True
    return False


_CURRENCY_BEFORE = frozenset("$£€¥₿")

# Kinds preferred when one term has several entries with the same label.
_KIND_ORDER: Final[dict[str, int]] = {
    "name": 0,
    "brand": 1,
    "street": 2,
    "form": 3,
    "misspelling": 4,
    "hashtag": 5,
    "selling": 6,
    "transaction": 7,
    "shipping": 8,
    "emoji": 9,
}

_NON_WORD = re.compile(r"[^a-z0-9]")
# _NON_WORD.sub(" ", ...) for ASCII text, as a bytes.translate table
_NON_WORD_BYTES: Final[bytes] = bytes(i if _NON_WORD.match(chr(i)) is None else ord(" ") for i in range(256))


def _words_view(text: str) -> str:
    """``text`` with every character that is not ``a-z0-9`` turned into a space
    (``_NON_WORD.sub(" ", text)``: a non-ASCII character is encoded as one '?',
    which the table turns into a space like any other non-word character)."""
    return text.encode("ascii", "replace").translate(_NON_WORD_BYTES).decode("ascii")


_HASHTAG = re.compile(r"#([a-z0-9_]+)")


# Scripts written without spaces between words (Han, kana, Hangul, Thai).
_UNSPACED = re.compile("[\u0e00-\u0e7f\u1100-\u11ff\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


def _canon(term: str) -> str:
    return " ".join(_NON_WORD.sub(" ", term).split())


@dataclass(slots=True)  # not frozen: built for every term found, and never changed
class _Candidate:
    start: int
    end: int
    term: str
    entries: tuple[LexiconEntry, ...]
    in_hashtag: bool


class Matcher:
    """Aho–Corasick matcher over one :class:`Lexicon` (build once, reuse)."""

    def __init__(self, lexicon: Lexicon, context_model: ContextModel | None = None) -> None:
        """``context_model`` judges ambiguous drug words the hand rule does
        not accept (see :mod:`drugwatch.lexicon.context`); ``None``: the hand
        rule alone."""
        self.lexicon = lexicon
        self.context_model = context_model
        grouped: dict[str, dict[tuple[str | None, str], LexiconEntry]] = {}
        for entry in lexicon.entries:
            key = _canon(entry.term)
            if not key:
                continue
            slot = grouped.setdefault(key, {})
            # one entry per label; the best kind wins
            prev = next((e for (lab, _), e in slot.items() if lab == entry.label), None)
            if prev is None or _KIND_ORDER[entry.kind] < _KIND_ORDER[prev.kind]:
                if prev is not None:
                    del slot[(prev.label, prev.kind)]
                slot[(entry.label, entry.kind)] = entry
        self._words = ahocorasick.Automaton()
        self._inner = ahocorasick.Automaton()
        for key, slot in grouped.items():
            entries = tuple(sorted(slot.values(), key=lambda e: (e.label or "~", e.kind)))
            self._words.add_word(f" {key} ", (key, entries))
            compact = key.replace(" ", "")
            drug = tuple(e for e in entries if e.kind in DRUG_KINDS and not e.ambiguous)
            if drug and len(compact) >= 4:
                self._inner.add_word(compact, (key, drug))
        self._words.make_automaton()
        if len(self._inner):
            self._inner.make_automaton()
        # Terms in other scripts (大麻, 코카인, кокаин, كوكايين) have no a-z0-9
        # key, so the word automaton cannot hold them; they are matched in
        # the normalized text itself (see _script_candidates).
        scripts: dict[str, dict[tuple[str | None, str], LexiconEntry]] = {}
        for entry in lexicon.entries:
            # Emoji are read through the word normalize() makes of them (❄️ -> "snow").
            if entry.term.isascii() or _canon(entry.term) or entry.kind == "emoji":
                continue
            key = normalize(entry.term).text.strip()
            if not key or key.isascii():
                continue
            slot = scripts.setdefault(key, {})
            prev = next((e for (lab, _), e in slot.items() if lab == entry.label), None)
            if prev is None or _KIND_ORDER[entry.kind] < _KIND_ORDER[prev.kind]:
                if prev is not None:
                    del slot[(prev.label, prev.kind)]
                slot[(entry.label, entry.kind)] = entry
        self._script = ahocorasick.Automaton()
        for key, slot in scripts.items():
            self._script.add_word(key, (key, tuple(sorted(slot.values(), key=lambda e: (e.label or "~", e.kind)))))
        if len(self._script):
            self._script.make_automaton()
        # The first letters of those terms. pyahocorasick looks a character
        # up among a node's children one by one, and the root of this
        # automaton has about a hundred (Han, Hangul, Thai, Cyrillic ...
        # letters), so a scan of a long Chinese text cost about 50 µs; the
        # regex engine tells in about 1 µs whether a text holds any of them.
        firsts = sorted({key[0] for key in scripts})
        self._script_firsts = re.compile("[" + "".join(re.escape(c) for c in firsts) + "]") if firsts else None

    # -- candidates ----------------------------------------------------------

    def _word_candidates(self, text: str, words: str | None = None) -> list[_Candidate]:
        """Whole-word terms in ``text``; ``words`` is ``_words_view(text)``
        when the caller has it."""
        padded = " " + (_words_view(text) if words is None else words) + " "
        out: list[_Candidate] = []
        for end, (key, entries) in self._words.iter(padded):
            # padded[end] is the trailing space; the term ends at text[end - 1]
            start = end - len(key) - 1
            out.append(_Candidate(start, end - 1, key, entries, False))
        return out

    def _script_candidates(self, text: str) -> list[_Candidate]:
        """Terms written in other scripts. Han, kana, Hangul and Thai are
        written without spaces between words (and Korean attaches particles),
        so a term matches anywhere; in other scripts it must start a word,
        and a term of four letters or more may carry an ending (кокаина)."""
        if text.isascii() or self._script_firsts is None:
            return []
        first = self._script_firsts.search(text)
        if first is None:
            return []
        out: list[_Candidate] = []
        n = len(text)
        # no term starts before ``first``: the scan starts there (the ends
        # it reports are still indexes into ``text``)
        for last, (key, entries) in self._script.iter(text, first.start()):
            start, end = last - len(key) + 1, last + 1
            if not _UNSPACED.match(key):
                if start > 0 and text[start - 1].isalpha():
                    continue
                if len(key) < 4 and end < n and text[end].isalpha():
                    continue
            out.append(_Candidate(start, end, key, entries, False))
        return out

    def _hashtag_candidates(self, text: str) -> list[_Candidate]:
        if "#" not in text or not len(self._inner):
            return []
        out: list[_Candidate] = []
        for m in _HASHTAG.finditer(text):
            body = m.group(1).replace("_", " ")
            base = m.start(1)
            if _canon(body) and self._words.exists(f" {_canon(body)} "):
                continue  # the whole tag is a term: found by the word pass
            found: list[_Candidate] = []
            for end, (key, entries) in self._inner.iter(body):
                compact_len = len(key.replace(" ", ""))
                a = end - compact_len + 1
                b = end + 1
                if " " in body[a:b]:
                    continue
                at_start = a == 0 or body[a - 1] == " "
                at_end = b == len(body) or body[b] == " "
                if at_start and at_end:
                    continue  # a whole piece: the word pass has it
                if not (at_start or (at_end and compact_len >= 5) or compact_len >= 6):
                    continue
                found.append(_Candidate(base + a, base + b, key, entries, True))
            out.extend(found)
        return out

    # -- context -------------------------------------------------------------

    @staticmethod
    def _neighbours(text: str, start: int, end: int, words: str | None = None) -> tuple[list[str], list[str]]:
        """The two words before and three after ``text[start:end]``.

        ``words`` is ``_words_view(text)`` when the caller has it: it maps
        every character on its own, so its slices are the slices of ``text``
        with ``_NON_WORD`` turned into spaces.
        """
        if words is None:
            before = _NON_WORD.sub(" ", text[max(0, start - 40) : start]).split()[-2:]
            after = _NON_WORD.sub(" ", text[end : end + 40]).split()[:3]
        else:
            before = words[max(0, start - 40) : start].split()[-2:]
            after = words[end : end + 40].split()[:3]
        return before, after

    @classmethod
    def _negated(cls, text: str, cand: _Candidate, words: str | None = None) -> bool:
        term = cand.term
        nb = _NEG_BEFORE.get(term)
        na = _NEG_AFTER.get(term)
        if term[:1].isdigit() and cand.start > 0 and text[cand.start - 1] in _CURRENCY_BEFORE:
            return True
        if nb is None and na is None:
            return False
        before, after = cls._neighbours(text, cand.start, cand.end, words)
        if nb is not None and before:
            if before[-1] in nb or " ".join(before[-2:]) in nb:
                return True
        if na is not None and after:
            if after[0] in na or " ".join(after[:2]) in na or " ".join(after[:3]) in na:
                return True
        return False

    # -- main ----------------------------------------------------------------

    def find(self, text: NormalizedText | str) -> list[LexiconHit]:
        """Lexicon hits in ``text`` (a raw string is normalized first)."""
        nt = text if isinstance(text, NormalizedText) else normalize(text)
        if len(nt.text) >= GC_PAUSE_MIN_CHARS and gc.isenabled():
            gc.disable()  # see GC_PAUSE_MIN_CHARS
            try:
                return self._find(nt)
            finally:
                gc.enable()
        return self._find(nt)

    def _find(self, nt: NormalizedText) -> list[LexiconHit]:
        s = nt.text
        words = _words_view(s)
        cands = self._word_candidates(s, words)
        if "#" in s:
            cands.extend(self._hashtag_candidates(s))
        if not s.isascii():
            cands.extend(self._script_candidates(s))
        if not cands:
            return []
        # longest match wins; ties go to the leftmost
        if len(cands) > 1:
            cands.sort(key=lambda c: (c.start - c.end, c.start))
        kept: list[_Candidate] = []
        if len(cands) <= _FEW_CANDIDATES:  # most texts: each compared with the kept ones
            for c in cands:
                start, end = c.start, c.end
                for k in kept:
                    if start < k.end and k.start < end:
                        break
                else:
                    if not self._negated(s, c, words) or _emoji_neighbour(nt, start, end):
                        kept.append(c)
        else:
            # The characters covered by kept terms. A candidate is no longer
            # than the longest term, so checking its own characters is
            # constant work; comparing it with every kept term cost the
            # square of their number ("🍄" x 100,000: 60 s).
            taken = bytearray(len(s))
            per_term: dict[str, int] = {}
            for c in cands:
                start, end = c.start, c.end
                if taken.find(1, start, end) >= 0:
                    continue
                count = per_term.get(c.term, 0)
                if count >= MAX_HITS_PER_TERM:
                    # neither checked nor reported; its characters stay
                    # taken, as they would if it were kept
                    taken[start:end] = b"\x01" * (end - start)
                    continue
                if not self._negated(s, c, words) or _emoji_neighbour(nt, start, end):
                    kept.append(c)
                    per_term[c.term] = count + 1
                    taken[start:end] = b"\x01" * (end - start)
        if len(kept) > 1:
            kept.sort(key=lambda c: c.start)

        # context evidence
        strong = False
        dealer = 0.0
        amb_drug_terms: dict[str, set[str]] = {}
        for c in kept:
            for e in c.entries:
                if e.label is not None:
                    if e.ambiguous:
                        amb_drug_terms.setdefault(c.term, set()).add(e.label)
                    else:
                        strong = True
                elif not e.ambiguous:
                    dealer += 2.0
                elif c.term in _DEALER_TERMS:
                    dealer += 1.0
                else:
                    dealer += 0.5
        dose_found = pharma = pill = price = False
        if not strong:
            dose = _DOSE.search(s) if _ANY_DIGIT.search(s) else None
            if dose is not None:
                dose_found = True
                pharma = _PHARMA_DOSE.search(s) is not None
                dealer += 2.0 if pharma else 1.0
            pill = _has_pill_word(s)
            if pill:
                dealer += 0.5
            # a price counts for a word ("coke $70/g, fent $30 a point"),
            # not for an emoji ("💎 $90 NFT sold")
            price = PRICE.search(s) is not None

        hits: list[LexiconHit] = []
        confirmed_drug = strong
        resolved: list[tuple[_Candidate, LexiconEntry]] = []
        # Other ambiguous drug words reinforce a term: 1 for each naming the
        # same drug, 0.5 for each other one. Counted once per label, not once
        # per term found.
        same_drug: dict[str, int] = {}
        for labs in amb_drug_terms.values():
            for lab in labs:
                same_drug[lab] = same_drug.get(lab, 0) + 1
        n_amb = len(amb_drug_terms)
        context: TextContext | None = None
        for c in kept:
            for e in c.entries:
                if e.label is not None and e.ambiguous:
                    # c.term is one of the terms naming e.label: not counted
                    same = same_drug[e.label] - 1
                    others = same + 0.5 * (n_amb - 1 - same)
                    if not (
                        strong
                        or dealer + others >= 2.0
                        or (price and dealer + others >= 1.0 and not _from_emoji(nt, c.start, c.end))
                        or _obfuscated(nt, c.start, c.end)
                    ):
                        # weaker context: the learned context model decides
                        if self.context_model is None:
                            continue
                        if context is None:
                            context = TextContext(s, _cues(kept), dose=dose_found, pharma_dose=pharma, pill_word=pill)
                        feats = context.features(
                            c.start, c.end, frozenset(amb_drug_terms[c.term]), _from_emoji(nt, c.start, c.end)
                        )
                        if not self.context_model.accepts(feats, c.term):
                            continue
                    confirmed_drug = True
                resolved.append((c, e))
        starts, ends = nt.starts, nt.ends
        for c, e in resolved:
            if e.label is None and e.ambiguous and not confirmed_drug:
                continue
            # a candidate is a non-empty span inside the text: nt.raw_span
            # without its clamping
            if starts is None or ends is None:
                raw_start, raw_end = c.start, c.end
            else:
                raw_start, raw_end = starts[c.start], ends[c.end - 1]
            hits.append(
                LexiconHit(e.label, e.term, e.kind, c.start, c.end, raw_start, raw_end, e.ambiguous, c.in_hashtag)
            )
        return hits


def _cues(kept: list[_Candidate]) -> list[Cue]:
    """The kept candidates as the context model's features see them."""
    out: list[Cue] = []
    for c in kept:
        labels = frozenset(e.label for e in c.entries if e.label is not None and e.ambiguous)
        if labels:
            out.append(Cue(c.start, c.end, "drug", labels))
            continue
        if any(e.label is not None for e in c.entries):
            continue  # an unambiguous drug word: the hand rule already accepted
        if any(not e.ambiguous for e in c.entries):
            cls = "strong"
        elif c.term in _DEALER_TERMS:
            cls = "dealer"
        else:
            cls = "weak"
        out.append(Cue(c.start, c.end, cls))
    return out


def _from_emoji(nt: NormalizedText, start: int, end: int) -> bool:
    """Whether ``nt.text[start:end]`` was written as emoji (❄️ -> "snow")."""
    if nt.starts is None:
        return False
    from drugwatch.text.normalize import EMOJI_WORDS

    raw = nt.raw_slice(start, end)
    return any(ch in EMOJI_WORDS for ch in raw)


def _emoji_neighbour(nt: NormalizedText, start: int, end: int) -> bool:
    """Whether the word right before or after ``nt.text[start:end]`` was
    written as an emoji: "🍫 bars" is the DEA's Xanax code, not a chocolate
    bar, so an emoji's word does not negate its neighbour."""
    if nt.starts is None:
        return False
    s = nt.text
    i = start
    while i > 0 and s[i - 1] == " ":
        i -= 1
    j = i
    while j > 0 and j > i - 40 and s[j - 1].isalnum():
        j -= 1
    if j < i and _from_emoji(nt, j, i):
        return True
    k = end
    while k < len(s) and s[k] == " ":
        k += 1
    m = k
    while m < len(s) and m < k + 40 and s[m].isalnum():
        m += 1
    return k < m and _from_emoji(nt, k, m)


def _obfuscated(nt: NormalizedText, start: int, end: int) -> bool:
    """Whether a word was disguised ("CΘKE", "c0ke", "C*ke"): hiding a word is
    evidence that it is meant as a drug word. Emoji do not count."""
    if nt.starts is None:
        return False
    from drugwatch.text.normalize import EMOJI_WORDS

    raw = nt.raw_slice(start, end)
    if all(ch in EMOJI_WORDS or ch.isspace() or ch in "\ufe0f\u200d" for ch in raw):
        return False
    return " ".join(raw.lower().split()) != nt.text[start:end]


@lru_cache(maxsize=1)
def get_matcher() -> Matcher:
    """The matcher over the packaged lexicon (built once)."""
    return Matcher(load_lexicon(), load_context_model())


def find_terms(text: NormalizedText | str) -> list[LexiconHit]:
    """Lexicon hits in ``text`` with the packaged lexicon; see the module doc."""
    return get_matcher().find(text)

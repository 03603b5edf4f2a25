"""An obfuscation attack harness: disguise texts the way dealers do, at three strengths.

Families (:data:`FAMILIES`), each a word-level rewrite a human reader sees
through:

=================  ==========================================================
``homoglyph``      letters swapped for look-alikes from Cyrillic / Greek
                   (``сοкe``, ``ХаNAХ``)
``math_alphabet``  the word in a Unicode letter style: mathematical bold,
                   script, fraktur, sans-serif, monospace, fullwidth or
                   circled (``𝔵𝔞𝔫𝔞𝔵``, ``ｘａｎａｘ``, ``ⓧⓐⓝⓐⓧ``)
``separator``      a separator between every letter (``x.a.n.a.x``,
                   ``m-d-m-a``, ``s_h_r_o_o_m_s``, ``k*u*s*h``)
``leetspeak``      digits and symbols for letters (``x4n4x``, ``c0c41n3``)
``zero_width``     zero-width characters between letters (invisible)
``mask``           one inner letter replaced by a symbol (``md□a``, ``x*nax``)
``repeat``         letters stretched (``weeeeed``, ``xaaaanax``)
``mixture``        every attacked word gets a family drawn from the above
``mask_vowels``    every vowel of the word replaced by one symbol of
                   :data:`MASK_ALPHABET` (``C*c**n*``, ``K⊠t⊠m⊠n⊠``, ``m●thyl●n●``)
``mask_heavy``     every vowel and one inner consonant (``C▢c▢▢▢▢``)
``mask_heldout``   every vowel, with a symbol of :data:`HELDOUT_MASK_ALPHABET`
``mixture2``       a light mixture: each attacked word gets two families in
                   turn, drawn from :data:`MIXABLE` (``x4n◌x``, ``k.u.u.u.s.h``)
``mixture3``       the same with three families
``mixture_heldout`` the recipe :data:`HELDOUT_MIXTURE` (repeat, then leetspeak,
                   then a zero-width character: ``c0ok‌eee``)
=================  ==========================================================

The held-out mask alphabet and mixture recipe are left out of all tuning of
the text layer and the models (no threshold, word list or rule was chosen by
looking at them): their rows in a table show how the reading generalizes.
:data:`CORE_FAMILIES` are the first eight; :data:`EXTENDED_FAMILIES` the rest.

Strength (:data:`STRENGTHS`) is the share of eligible words attacked:
``light`` 25 %, ``medium`` 50 %, ``heavy`` every word. Eligible words are
runs of three or more ASCII letters; numbers, prices, URLs and handles are
left as they are. An attack is deterministic: the same text, family,
strength and seed always give the same output.

:func:`run_robustness` trains a detector on the clean training folds and
scores it on the clean test fold and on every attacked copy of it.

>>> attack("xanax 2mg bars", "separator", "heavy", seed=0) != "xanax 2mg bars"
True
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

import numpy as np

CORE_FAMILIES: Final[tuple[str, ...]] = (
    "homoglyph",
    "math_alphabet",
    "separator",
    "leetspeak",
    "zero_width",
    "mask",
    "repeat",
    "mixture",
)
EXTENDED_FAMILIES: Final[tuple[str, ...]] = (
    "mask_vowels",
    "mask_heavy",
    "mask_heldout",
    "mixture2",
    "mixture3",
    "mixture_heldout",
)
FAMILIES: Final[tuple[str, ...]] = CORE_FAMILIES + EXTENDED_FAMILIES
#: Families never looked at while tuning (reported apart).
HELDOUT_FAMILIES: Final[tuple[str, ...]] = ("mask_heldout", "mixture_heldout")
#: Share of eligible words attacked.
STRENGTHS: Final[dict[str, float]] = {"light": 0.25, "medium": 0.5, "heavy": 1.0}

# URLs, e-mail addresses and @handles are matched first and kept as they are.
_ELIGIBLE = re.compile(
    r"(?P<keep>(?:https?://|www\.)\S+|[\w.+-]+@[\w-]+\.[\w.]+|@\w+)|(?<![\w@/.])(?P<word>[A-Za-z]{3,})(?![\w@/])"
)

HOMOGLYPHS: Final[dict[str, str]] = {
    "a": "аα",
    "c": "сϲ",
    "d": "ԁ",
    "e": "е",
    "h": "һ",
    "i": "іι",
    "j": "ј",
    "k": "κ",
    "o": "оο",
    "p": "рρ",
    "s": "ѕ",
    "x": "хχ",
    "y": "у",
    "v": "ν",
    "A": "АΑ",
    "B": "ВΒ",
    "C": "С",
    "E": "ЕΕ",
    "H": "НΗ",
    "I": "ІΙ",
    "K": "КΚ",
    "M": "МΜ",
    "N": "Ν",
    "O": "ОΘΟ",
    "P": "РΡ",
    "T": "ТΤ",
    "X": "ХΧ",
    "Y": "Υ",
}
LEET: Final[dict[str, str]] = {"a": "4@", "e": "3", "i": "1!", "o": "0", "s": "5$", "t": "7", "b": "8", "g": "9"}
SEPARATORS: Final[tuple[str, ...]] = (".", "-", "_", "*", "·", "|", " ")
ZERO_WIDTH: Final[tuple[str, ...]] = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff")
MASKS: Final[tuple[str, ...]] = ("□", "*", "■", "●", "_", "#", "?")
#: Mask symbols of ``mask_vowels`` and ``mask_heavy`` (the issue's list).
MASK_ALPHABET: Final[tuple[str, ...]] = ("*", "_", ".", "-", "□", "▢", "■", "●", "◌", "∅", "⊠", "░")
#: Held-out mask symbols (``mask_heldout``): none of them is named by the
#: text layer's mask list; they belong to the Unicode blocks masks come from.
HELDOUT_MASK_ALPHABET: Final[tuple[str, ...]] = ("◬", "⊞", "⬡", "▚", "◩")
_VOWELS = frozenset("aeiouAEIOU")
#: (uppercase A, lowercase a) code points of letter styles without holes.
STYLES: Final[tuple[tuple[int, int], ...]] = (
    (0x1D400, 0x1D41A),  # bold
    (0x1D4D0, 0x1D4EA),  # bold script
    (0x1D56C, 0x1D586),  # bold fraktur
    (0x1D5A0, 0x1D5BA),  # sans-serif
    (0x1D5D4, 0x1D5EE),  # sans-serif bold
    (0x1D608, 0x1D622),  # sans-serif italic
    (0x1D670, 0x1D68A),  # monospace
    (0xFF21, 0xFF41),  # fullwidth
    (0x24B6, 0x24D0),  # circled
)


def _homoglyph(rng: random.Random, word: str) -> str:
    spots = [i for i, ch in enumerate(word) if ch in HOMOGLYPHS]
    if not spots:
        return word
    chosen = {i for i in spots if rng.random() < 0.6} or {rng.choice(spots)}
    return "".join(rng.choice(HOMOGLYPHS[ch]) if i in chosen else ch for i, ch in enumerate(word))


def _math_alphabet(rng: random.Random, word: str) -> str:
    upper, lower = rng.choice(STYLES)
    return "".join(
        chr(upper + ord(ch) - 65) if "A" <= ch <= "Z" else chr(lower + ord(ch) - 97) if "a" <= ch <= "z" else ch
        for ch in word
    )


def _separator(rng: random.Random, word: str) -> str:
    return rng.choice(SEPARATORS).join(word)


def _leetspeak(rng: random.Random, word: str) -> str:
    out = [rng.choice(LEET[ch.lower()]) if ch.lower() in LEET else ch for ch in word]
    return "".join(out)


def _zero_width(rng: random.Random, word: str) -> str:
    out = [word[0]]
    for ch in word[1:]:
        if rng.random() < 0.5:
            out.append(rng.choice(ZERO_WIDTH))
        out.append(ch)
    if len(out) == len(word):
        out.insert(1, rng.choice(ZERO_WIDTH))
    return "".join(out)


def _mask(rng: random.Random, word: str) -> str:
    i = rng.randrange(1, len(word) - 1)
    return word[:i] + rng.choice(MASKS) + word[i + 1 :]


def _repeat(rng: random.Random, word: str) -> str:
    i = rng.randrange(len(word))
    return word[:i] + word[i] * rng.randint(3, 6) + word[i + 1 :]


def _vowel_mask(rng: random.Random, word: str, alphabet: Sequence[str], consonants: int) -> str:
    """Every vowel, and ``consonants`` inner consonants, replaced by one
    symbol; a word without a vowel gets one inner letter masked."""
    symbol = rng.choice(alphabet)
    spots = {i for i, ch in enumerate(word) if ch in _VOWELS}
    inner = [i for i in range(1, len(word) - 1) if i not in spots and word[i].isalpha()]
    rng.shuffle(inner)
    spots.update(inner[:consonants])
    if not spots:
        spots = {rng.randrange(1, len(word) - 1)}
    return "".join(symbol if i in spots else ch for i, ch in enumerate(word))


def _mask_vowels(rng: random.Random, word: str) -> str:
    return _vowel_mask(rng, word, MASK_ALPHABET, 0)


def _mask_heavy(rng: random.Random, word: str) -> str:
    return _vowel_mask(rng, word, MASK_ALPHABET, 1)


def _mask_heldout(rng: random.Random, word: str) -> str:
    return _vowel_mask(rng, word, HELDOUT_MASK_ALPHABET, 0)


#: Families a light mixture draws from. Letter-level rewrites come before
#: the ones that insert characters between letters, so that each acts on letters.
MIXABLE: Final[tuple[str, ...]] = (
    "homoglyph",
    "math_alphabet",
    "leetspeak",
    "mask",
    "mask_vowels",
    "repeat",
    "separator",
    "zero_width",
)
_LATE: Final[frozenset[str]] = frozenset({"separator", "zero_width"})
#: The held-out mixture recipe: applied in this order.
HELDOUT_MIXTURE: Final[tuple[str, ...]] = ("repeat", "leetspeak", "zero_width")


def _compose(rng: random.Random, word: str, names: Sequence[str]) -> str:
    for name in sorted(names, key=lambda n: (n in _LATE, MIXABLE.index(n) if n in MIXABLE else 0)):
        word = _ATTACK_FUNCS[name](rng, word)
    return word


def _mixture_of(k: int) -> Callable[[random.Random, str], str]:
    def mix(rng: random.Random, word: str) -> str:
        return _compose(rng, word, rng.sample(MIXABLE, k))

    return mix


def _mixture_heldout(rng: random.Random, word: str) -> str:
    for name in HELDOUT_MIXTURE:
        word = _ATTACK_FUNCS[name](rng, word)
    return word


WORD_ATTACKS: Final[dict[str, Callable[[random.Random, str], str]]] = {
    "homoglyph": _homoglyph,
    "math_alphabet": _math_alphabet,
    "separator": _separator,
    "leetspeak": _leetspeak,
    "zero_width": _zero_width,
    "mask": _mask,
    "repeat": _repeat,
}
# Every single-word rewrite, the extended ones included (``mixture`` draws
# from WORD_ATTACKS only, as it always did, so its numbers stay comparable).
_ATTACK_FUNCS: Final[dict[str, Callable[[random.Random, str], str]]] = {
    **WORD_ATTACKS,
    "mask_vowels": _mask_vowels,
    "mask_heavy": _mask_heavy,
    "mask_heldout": _mask_heldout,
    "mixture2": _mixture_of(2),
    "mixture3": _mixture_of(3),
    "mixture_heldout": _mixture_heldout,
}


def attack(text: str, family: str, strength: str | float = "heavy", seed: int = 0) -> str:
    """``text`` with a share of its eligible words disguised by ``family``."""
    if family not in FAMILIES:
        raise ValueError(f"unknown attack family {family!r}; expected one of: {', '.join(FAMILIES)}")
    if isinstance(strength, str):
        if strength not in STRENGTHS:
            raise ValueError(f"unknown strength {strength!r}; expected one of: {', '.join(STRENGTHS)} or a share")
        share = STRENGTHS[strength]
    else:
        share = float(strength)
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"strength share must be in [0, 1]; got {share}")
    rng = random.Random(f"{seed}\x1f{family}\x1f{share}\x1f{text}")
    families = tuple(WORD_ATTACKS)

    def rewrite(match: re.Match[str]) -> str:
        word = match.group("word")
        if word is None:
            return match.group(0)
        if rng.random() >= share:
            return word
        name = rng.choice(families) if family == "mixture" else family
        return _ATTACK_FUNCS[name](rng, word)

    return _ELIGIBLE.sub(rewrite, text)


def attack_many(texts: Sequence[str], family: str, strength: str | float = "heavy", seed: int = 0) -> list[str]:
    return [attack(t, family, strength, seed) for t in texts]


def attacked_events(events: Sequence[Any], family: str, strength: str | float, seed: int = 0) -> list[Any]:
    """Copies of ``events`` with attacked texts (ids, labels and meta kept)."""
    return [e.model_copy(update={"text": attack(e.text, family, strength, seed)}) for e in events]


# ---------------------------------------------------------------------------
# Harness


def _outputs(task: str, detector: Any, events: Sequence[Any]) -> np.ndarray:
    """Hard predictions: ``(n, 10)`` indicators (drugtype) or 0/1 at the detector's threshold (selling)."""
    return detector.predict(events)


def _proba(task: str, detector: Any, events: Sequence[Any]) -> np.ndarray | None:
    return None if task == "drugtype" else detector.predict_proba(events)[:, 1]


def _metrics(task: str, y: np.ndarray, pred: np.ndarray, proba: np.ndarray | None) -> dict[str, float | None]:
    if task == "drugtype":
        from drugwatch.evaluation.metrics import multilabel_metrics

        m = multilabel_metrics(y, pred)
        return {"macro_f1": m["macro_f1"], "subset_accuracy": m["subset_accuracy"], "micro_f1": m["micro_f1"]}
    from sklearn.metrics import average_precision_score, f1_score, precision_score, recall_score

    return {
        "f1": float(f1_score(y, pred, zero_division=0)),
        "precision": float(precision_score(y, pred, zero_division=0)),
        "recall": float(recall_score(y, pred, zero_division=0)),
        "pr_auc": float(average_precision_score(y, proba)) if y.sum() else None,
    }


def run_robustness(
    make_detector: Callable[[], Any],
    events: Sequence[Any],
    y: np.ndarray,
    folds: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    task: str,
    families: Sequence[str] = FAMILIES,
    strengths: Sequence[str] = tuple(STRENGTHS),
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Fit on each clean training fold; score the clean test fold and every attacked copy of it.

    ``task`` is ``"drugtype"`` (``y`` is ``(n, 10)``; macro-F1, subset
    accuracy, micro-F1) or ``"selling"`` (``y`` is 0/1; F1 at the
    detector's own threshold, precision, recall, PR-AUC). Returns per-fold
    scores, their mean, and scores *pooled* over the test folds run (for
    selling, where a fold may hold few positives, the pooled numbers are
    the ones to read). Conditions are keyed ``"clean"`` and
    ``"<family>/<strength>"``.
    """
    if task not in ("drugtype", "selling"):
        raise ValueError(f"task must be 'drugtype' or 'selling'; got {task!r}")
    conditions = ["clean"] + [f"{f}/{s}" for f in families for s in strengths]
    tested = np.concatenate([np.asarray(te) for _, te in folds])
    # condition -> event index -> that event's prediction row (or selling probability)
    pooled_pred: dict[str, dict[int, Any]] = {c: {} for c in conditions}
    pooled_proba: dict[str, dict[int, Any]] = {c: {} for c in conditions}
    per_fold = []
    for k, (train_idx, test_idx) in enumerate(folds):
        started = time.perf_counter()
        detector = make_detector().fit([events[i] for i in train_idx], y[train_idx])
        fit_s = time.perf_counter() - started
        test = [events[i] for i in test_idx]
        row: dict[str, Any] = {"fold": k, "fit_s": round(fit_s, 1), "n_test": len(test_idx), "scores": {}}
        for condition in conditions:
            if condition == "clean":
                batch = test
            else:
                family, strength = condition.split("/")
                batch = attacked_events(test, family, strength, seed)
            pred = _outputs(task, detector, batch)
            proba = _proba(task, detector, batch)
            row["scores"][condition] = _metrics(task, y[test_idx], pred, proba)
            for i, j in enumerate(test_idx):
                pooled_pred[condition][int(j)] = pred[i]
                if proba is not None:
                    pooled_proba[condition][int(j)] = proba[i]
        per_fold.append(row)
        if progress:
            key = "macro_f1" if task == "drugtype" else "f1"
            heavy = {c.split("/")[0]: round(v[key], 3) for c, v in row["scores"].items() if c.endswith("/heavy")}
            progress(f"fold {k}: clean {key} {row['scores']['clean'][key]:.4f}; heavy {heavy}")
    pooled = {}
    for condition in conditions:
        pred = np.array([pooled_pred[condition][int(j)] for j in tested])
        proba = np.array([pooled_proba[condition][int(j)] for j in tested]) if task == "selling" else None
        pooled[condition] = _metrics(task, y[tested], pred, proba)
    mean: dict[str, dict[str, float | None]] = {}
    for condition in conditions:
        keys = per_fold[0]["scores"][condition].keys()
        mean[condition] = {}
        for key in keys:
            values = [f["scores"][condition][key] for f in per_fold if f["scores"][condition][key] is not None]
            mean[condition][key] = float(np.mean(values)) if values else None
    return {
        "task": task,
        "families": list(families),
        "strengths": list(strengths),
        "seed": seed,
        "per_fold": per_fold,
        "mean": mean,
        "pooled": pooled,
    }


def robustness_table(result: Mapping[str, Any], metric: str, *, source: str = "mean") -> str:
    """Markdown: one row per family, clean / light / medium / heavy and the drop at heavy (points)."""
    scores = result[source]
    clean = scores["clean"][metric]
    strengths = result["strengths"]
    lines = [
        "| family | clean | " + " | ".join(strengths) + f" | drop at {strengths[-1]} (points) |",
        "|" + "---|" * (len(strengths) + 3),
    ]
    for family in result["families"]:
        values = [scores[f"{family}/{s}"][metric] for s in strengths]
        cells = " | ".join("–" if v is None else f"{100 * v:.1f}" for v in values)
        drop = None if clean is None or values[-1] is None else 100 * (clean - values[-1])
        lines.append(f"| {family} | {100 * clean:.1f} | {cells} | {'–' if drop is None else f'{drop:+.1f}'} |")
    return "\n".join(lines)


__all__ = [
    "CORE_FAMILIES",
    "EXTENDED_FAMILIES",
    "FAMILIES",
    "HELDOUT_FAMILIES",
    "HELDOUT_MASK_ALPHABET",
    "HELDOUT_MIXTURE",
    "MASK_ALPHABET",
    "MIXABLE",
    "STRENGTHS",
    "WORD_ATTACKS",
    "attack",
    "attack_many",
    "attacked_events",
    "robustness_table",
    "run_robustness",
]

"""Weak supervision for selling detection: labelling functions on the text layer and a label model.

A *labelling function* (LF) reads the evidence the text layer found in one
text (drug terms, contacts, prices, quantities, sale / buy / news /
recovery cues; :func:`drugwatch.models.selling_v3.evidence`) and either
votes for a class or abstains. The LFs here are written to mean the same in
every language the cue lists cover, so they vote on registers and languages
the labelled kit does not hold:

=========================  =====  ==========================================================
LF                         vote   fires when
=========================  =====  ==========================================================
``offer_with_contact``     1      a drug, a contact, and a price, quantity or sale cue
``drug_and_sale_cue``      1      a drug next to a sale cue, and no request to buy
``listing``                1      a drug with a quantity and a price, sale cue or shipping
``slang_offer``            1      an ambiguous drug word ("blow") with a sale cue and a contact
``buy_intent``             0      a request to buy ("where can i get", "求购")
``news``                   0      news and policing words
``care``                   0      recovery and harm-reduction words
``no_drug``                0      no drug term at all, ambiguous ones included
``drug_talk``              0      a drug named with no contact, price, quantity or sale cue
=========================  =====  ==========================================================

The :class:`LabelModel` combines the votes without reading any label: a
latent-class model in which each LF fires with its own rate under each class
and LFs are independent given the class (the model behind Snorkel's
``LabelModel`` and Dawid & Skene's, written for *unipolar* LFs, which vote
one class or abstain), fitted by EM from the majority vote. Its posterior
``P(selling | votes)`` is what a detector uses: ``drugwatch.selling.v3``
adds it as one more sign-constrained evidence feature, and can label an
unlabelled corpus with it (``weak_pool``).

Why not Snorkel: ``snorkel`` 0.10.0 (the last release, February 2024) needs
``torch``, ``tensorboard`` and ``protobuf`` at install time for a model that
is, for nine unipolar LFs, a two-class latent-class model fitted by EM in a
few dozen lines of numpy; the default selling detector must stay light to
install and fast to load. The model here is fitted in milliseconds on tens of
thousands of vote rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from drugwatch.models.base import saved_state

ABSTAIN = -1

#: Each LF's name and the class it votes for when it fires.
LABELLING_FUNCTIONS: tuple[tuple[str, int], ...] = (
    ("offer_with_contact", 1),
    ("drug_and_sale_cue", 1),
    ("listing", 1),
    ("slang_offer", 1),
    ("buy_intent", 0),
    ("news", 0),
    ("care", 0),
    ("no_drug", 0),
    ("drug_talk", 0),
)
LF_NAMES: tuple[str, ...] = tuple(name for name, _ in LABELLING_FUNCTIONS)
LF_CLASS = np.array([vote for _, vote in LABELLING_FUNCTIONS], dtype=np.int64)

#: Evidence features the LFs read (a subset of ``selling_v3.EVIDENCE_FEATURES``).
NEEDED: tuple[str, ...] = (
    "drug_any",
    "ambiguous_drug_word",
    "contact_any",
    "contact_shipping",
    "drug_and_contact",
    "drug_and_price",
    "drug_and_quantity",
    "drug_and_sale_term",
    "sale_term",
    "sale_cue",
    "buy_cue",
    "news_cue",
    "care_cue",
    "drug_and_sale_cue",
)


def fires(dense: np.ndarray, feature_names: Sequence[str]) -> np.ndarray:
    """Boolean matrix ``(n_texts, n_LFs)``: which LF fires on which text, from the evidence block.

    ``dense`` holds one evidence vector per row, its columns named by
    ``feature_names``; every name in :data:`NEEDED` must be among them.
    """
    index = {name: i for i, name in enumerate(feature_names)}
    missing = [name for name in NEEDED if name not in index]
    if missing:
        raise ValueError(f"the evidence block lacks the features {missing} the labelling functions read")
    dense = np.asarray(dense)
    if dense.ndim != 2 or dense.shape[1] != len(feature_names):
        raise ValueError(f"evidence must have shape (n, {len(feature_names)}); got {dense.shape}")

    def f(name: str) -> np.ndarray:
        return dense[:, index[name]] > 0

    drug = f("drug_any")
    sale = f("sale_cue") | f("sale_term")
    price, quantity = f("drug_and_price"), f("drug_and_quantity")
    contact = f("contact_any")
    buy = f("buy_cue")
    out = np.column_stack(
        [
            drug & contact & (price | quantity | sale),  # offer_with_contact
            f("drug_and_sale_cue") & ~buy,  # drug_and_sale_cue
            quantity & (price | sale | f("contact_shipping")),  # listing
            ~drug & f("ambiguous_drug_word") & sale & contact,  # slang_offer
            buy,  # buy_intent
            f("news_cue"),  # news
            f("care_cue"),  # care
            ~drug & ~f("ambiguous_drug_word"),  # no_drug
            drug & ~contact & ~price & ~quantity & ~sale,  # drug_talk
        ]
    )
    return out


def votes(fired: np.ndarray) -> np.ndarray:
    """The label matrix: each LF's class where it fires, :data:`ABSTAIN` elsewhere."""
    return np.where(fired, LF_CLASS[None, :], ABSTAIN)


@saved_state
class LabelModel:
    """Two-class latent-class model over unipolar LFs, fitted by EM (see the module docstring).

    Parameters: the class prior ``prior_`` = P(y = 1) and, per LF and class,
    the firing rate ``rates_[y, j]`` = P(LF j fires | y). ``smoothing`` adds
    pseudo-counts so that a rate is never 0 or 1 (one text would otherwise
    decide the class alone).
    """

    prior_: float
    rates_: np.ndarray
    n_iter_: int

    def __init__(self, *, max_iter: int = 100, tol: float = 1e-6, smoothing: float = 1.0):
        self.max_iter = max_iter
        self.tol = tol
        self.smoothing = smoothing

    def _log_odds(self, fired: np.ndarray) -> np.ndarray:
        r1, r0 = self.rates_[1], self.rates_[0]
        on = np.log(r1) - np.log(r0)
        off = np.log1p(-r1) - np.log1p(-r0)
        prior = np.log(self.prior_) - np.log1p(-self.prior_)
        return prior + fired @ on + (~fired) @ off

    def fit(self, fired: np.ndarray) -> LabelModel:
        """Fit on a boolean ``(n, n_LFs)`` firing matrix; no labels are read."""
        fired = np.asarray(fired, dtype=bool)
        if fired.ndim != 2 or fired.shape[1] != len(LABELLING_FUNCTIONS):
            raise ValueError(f"firing matrix must have shape (n, {len(LABELLING_FUNCTIONS)}); got {fired.shape}")
        if len(fired) == 0:
            raise ValueError("the label model needs at least one text")
        # start from the majority vote (ties and all-abstain rows count half)
        pos = (fired & (LF_CLASS == 1)).sum(axis=1)
        neg = (fired & (LF_CLASS == 0)).sum(axis=1)
        q = np.where(pos > neg, 1.0, np.where(neg > pos, 0.0, 0.5))
        previous = -np.inf
        self.n_iter_ = 0
        for _ in range(self.max_iter):
            self._m_step(fired, q)
            log_odds = self._log_odds(fired)
            q = 1.0 / (1.0 + np.exp(-np.clip(log_odds, -50, 50)))
            # the marginal log-likelihood, for convergence
            r1, r0 = self.rates_[1], self.rates_[0]
            ll1 = np.log(self.prior_) + fired @ np.log(r1) + (~fired) @ np.log1p(-r1)
            ll0 = np.log1p(-self.prior_) + fired @ np.log(r0) + (~fired) @ np.log1p(-r0)
            likelihood = float(np.logaddexp(ll1, ll0).mean())
            self.n_iter_ += 1
            if likelihood - previous < self.tol:
                break
            previous = likelihood
        self._m_step(fired, q)
        # Keep the orientation the LFs declare: a positive LF fires more often under y = 1.
        if (self.rates_[1] - self.rates_[0])[LF_CLASS == 1].mean() < 0:
            self.rates_ = self.rates_[::-1].copy()
            self.prior_ = 1.0 - self.prior_
        return self

    def _m_step(self, fired: np.ndarray, q: np.ndarray) -> None:
        s = self.smoothing
        n1, n0 = q.sum(), (1.0 - q).sum()
        self.prior_ = float((n1 + s) / (len(q) + 2 * s))
        self.rates_ = np.vstack(
            [
                ((1.0 - q) @ fired + s) / (n0 + 2 * s),
                (q @ fired + s) / (n1 + 2 * s),
            ]
        )

    def predict_proba(self, fired: np.ndarray) -> np.ndarray:
        """``P(selling | votes)`` per row."""
        if not hasattr(self, "rates_"):
            raise RuntimeError("LabelModel is not fitted; call fit() first")
        log_odds = self._log_odds(np.asarray(fired, dtype=bool))
        return 1.0 / (1.0 + np.exp(-np.clip(log_odds, -50, 50)))

    def describe(self) -> dict[str, dict[str, float]]:
        """Per LF: its class, P(fires | selling), P(fires | not selling)."""
        return {
            name: {
                "votes": int(LF_CLASS[j]),
                "rate_selling": float(self.rates_[1, j]),
                "rate_not_selling": float(self.rates_[0, j]),
            }
            for j, name in enumerate(LF_NAMES)
        }


def lf_summary(fired: np.ndarray, y: np.ndarray) -> dict[str, dict[str, float]]:
    """Coverage and empirical accuracy of each LF against known labels (for docs and error analysis)."""
    fired = np.asarray(fired, dtype=bool)
    y = np.asarray(y, dtype=np.int64)
    out = {}
    for j, name in enumerate(LF_NAMES):
        hits = fired[:, j]
        out[name] = {
            "votes": int(LF_CLASS[j]),
            "coverage": float(hits.mean()) if len(hits) else 0.0,
            "n": int(hits.sum()),
            "accuracy": float((y[hits] == LF_CLASS[j]).mean()) if hits.any() else float("nan"),
        }
    return out


__all__ = ["ABSTAIN", "LABELLING_FUNCTIONS", "LF_NAMES", "LabelModel", "NEEDED", "fires", "lf_summary", "votes"]

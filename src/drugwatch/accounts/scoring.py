"""Score accounts with a fitted dealer model: probability, decision, features and evidence."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drugwatch.accounts.detector import AccountDetector, as_accounts
from drugwatch.models.base import ModelLoadError
from drugwatch.records import Account, Event


@dataclass(frozen=True)
class AccountScore:
    """One account's dealer score.

    ``probability`` is the model's dealer probability; ``dealer`` applies the
    model's threshold. ``features`` are the values the model read (all of
    :data:`drugwatch.accounts.features.OUR_FEATURES`, whichever set the model
    uses); ``evidence`` names the drug-related events, transaction terms and
    contacts behind them, for an analyst to check.
    """

    key: str
    username: str
    platform: str
    probability: float
    dealer: bool
    threshold: float
    model: str
    features: dict[str, float | None] = field(default_factory=dict)  # NaN (undefined) -> None
    evidence: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "username": self.username,
            "platform": self.platform,
            "probability": self.probability,
            "dealer": self.dealer,
            "threshold": self.threshold,
            "model": self.model,
            "features": dict(self.features),
            "evidence": dict(self.evidence),
        }


def load_account_detector(model_dir: str | Path) -> AccountDetector:
    """Load a saved ``drugwatch.accounts.v1`` model directory (fails clearly on anything else)."""
    model = AccountDetector.load(model_dir)
    if not isinstance(model, AccountDetector):  # load checks the registry name, so this cannot happen
        raise ModelLoadError(f"{model_dir} holds {type(model).__name__}, not an account model")
    return model


def score_accounts(
    accounts: Iterable[Account],
    detector: AccountDetector | str | Path,
    *,
    comments: Iterable[Event] | Mapping[str, Sequence[Event]] | None = None,
    threshold: float | None = None,
) -> list[AccountScore]:
    """Dealer scores of ``accounts`` (with their timelines), in input order.

    ``detector`` is a fitted :class:`AccountDetector` or the path of its model
    directory. ``comments`` are other users' comments under the accounts'
    posts (events or post key -> events), read for the ``E`` feature.
    ``threshold`` overrides the model's decision threshold.
    """
    if not isinstance(detector, AccountDetector):
        detector = load_account_detector(detector)
    accounts = as_accounts(accounts)
    features = detector.features_of(accounts, comments=comments)
    proba = detector.predict_proba_features(features)[:, 1]
    cut = detector.threshold_ if threshold is None else float(threshold)
    name = detector.name
    out = []
    for account, feats, p in zip(accounts, features, proba):
        out.append(
            AccountScore(
                key=account.key,
                username=account.username,
                platform=account.platform,
                probability=float(p),
                dealer=bool(p >= cut),
                threshold=float(cut),
                model=name,
                features={k: (None if v != v else float(v)) for k, v in feats.values.items()},  # NaN -> None
                evidence=feats.evidence,
            )
        )
    return out


__all__ = ["AccountScore", "load_account_detector", "score_accounts"]

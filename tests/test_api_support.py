"""Helpers shared by the scoring-API tests (no tests here).

Tiny default detectors trained on the seeded demo corpus, so every API
test runs against real models in a few seconds.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from functools import lru_cache
from pathlib import Path

from drugwatch.demo import generate_demo
from drugwatch.records import Account, Event
from drugwatch.scoring import train_default_detectors

ADVERT = "fresh 2mg bars #xanax #plugsofinstagram hmu on wickr: demo_plug77 ships today $20"
BENIGN = "sunset at the beach with friends #travel #sunset"


def demo_events(seed: int = 0, n_accounts: int = 12) -> list[Event]:
    return generate_demo(seed=seed, n_accounts=n_accounts, posts_per_account=(2, 4), images=False).events


@lru_cache(maxsize=4)
def _trained(cache_root: str, seed: int) -> Path:
    out = Path(cache_root) / f"models-seed{seed}"
    if not (out / "selling" / "config.json").is_file():
        train_default_detectors(demo_events(seed), out, seed=seed)
    return out


def demo_accounts(seed: int = 0, n_accounts: int = 12) -> list[Account]:
    """The demo accounts with their timelines attached."""
    corpus = generate_demo(seed=seed, n_accounts=n_accounts, posts_per_account=(2, 4), images=False)
    by_author: dict[str | None, list[Event]] = defaultdict(list)
    for event in corpus.events:
        by_author[event.author].append(event)
    return [a.model_copy(update={"timeline": tuple(by_author[a.username])}) for a in corpus.accounts]


@lru_cache(maxsize=2)
def _trained_account(cache_root: str) -> Path:
    from drugwatch.accounts import AccountDetector

    out = Path(cache_root) / "account-model"
    if not (out / "config.json").is_file():
        AccountDetector(inner_folds=2).fit(demo_accounts()).save(out)
    return out


def copy_models(cache_root: Path, target: Path, seed: int = 0, *, account: bool = False) -> Path:
    """A fresh copy of the tiny models trained on demo seed ``seed`` (trained once per session);
    with ``account``, also a dealer-account model in ``account/``."""
    source = _trained(str(cache_root), seed)
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)
    if account:
        shutil.copytree(_trained_account(str(cache_root)), target / "account")
    return target

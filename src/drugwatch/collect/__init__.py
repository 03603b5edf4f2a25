"""Collection: hashtag crawls of Instagram (or a replayed corpus) that survive rate limits and kills.

>>> from drugwatch.collect import CrawlConfig, Crawler, ReplaySource   # doctest: +SKIP
>>> source = ReplaySource.from_corpus(generate_demo(seed=0, n_accounts=300, images=False))  # doctest: +SKIP
>>> Crawler(source, Store(url), CrawlConfig(strategy="dmml", budget=500), checkpoint=path).run()  # doctest: +SKIP

See ``docs/collect.md`` for the strategies, the cost model and the checkpoint.
:class:`~drugwatch.collect.instagram.InstagramSource` is imported from
:mod:`drugwatch.collect.instagram` (it imports instaloader).
"""

from drugwatch.collect.crawler import (
    DEFAULT_SEEDS,
    STRATEGIES,
    AnyJudge,
    Checkpoint,
    CheckpointError,
    CrawlConfig,
    Crawler,
    CrawlState,
    CrawlSummary,
    DetectorJudge,
    Judge,
    LexiconJudge,
    Verdict,
    collect,
    default_checkpoint_path,
    read_feedback,
    tag_feedback_from_events,
)
from drugwatch.collect.rate import (
    AuthError,
    Backoff,
    BudgetExhausted,
    CollectError,
    EndpointUnavailable,
    ItemError,
    LoginRequired,
    NotFound,
    PrivateProfile,
    RateLimited,
    RequestBudget,
    TransientError,
)
from drugwatch.collect.sources import Page, ReplaySource, Source

__all__ = [
    "DEFAULT_SEEDS",
    "STRATEGIES",
    "AnyJudge",
    "AuthError",
    "Backoff",
    "BudgetExhausted",
    "Checkpoint",
    "CheckpointError",
    "CollectError",
    "CrawlConfig",
    "CrawlState",
    "CrawlSummary",
    "Crawler",
    "DetectorJudge",
    "EndpointUnavailable",
    "ItemError",
    "Judge",
    "LexiconJudge",
    "LoginRequired",
    "NotFound",
    "Page",
    "PrivateProfile",
    "RateLimited",
    "ReplaySource",
    "RequestBudget",
    "Source",
    "TransientError",
    "Verdict",
    "collect",
    "default_checkpoint_path",
    "read_feedback",
    "tag_feedback_from_events",
]

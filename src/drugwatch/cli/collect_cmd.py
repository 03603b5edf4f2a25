"""``drugwatch collect``: crawl Instagram (or replay a corpus) by hashtag, resumably."""

from __future__ import annotations

import enum
import json
import logging
from pathlib import Path
from typing import Annotated, cast

import typer

from drugwatch.cli._app import app
from drugwatch.cli.common import DbOption, console, err_console, fail, progress_bar


class CollectExit(enum.IntEnum):
    """Exit codes of ``drugwatch collect``."""

    OK = 0
    ERROR = 1
    USAGE = 2
    PARTIAL = 3  # finished, but some items failed (listed in the summary)
    RATE_LIMITED = 4  # 429 after every backoff; resume later
    AUTH = 5  # 401/403 or no session; refresh the session, then resume
    INTERRUPTED = 130  # Ctrl-C; resume with --resume


def _seeds(seed: list[str] | None, seeds_file: Path | None) -> tuple[str, ...]:
    tags: list[str] = list(seed or [])
    if seeds_file is not None:
        for line in seeds_file.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if line and not line.startswith("# "):
                tags.extend(line.replace(",", " ").split())
    if tags:
        return tuple(tags)
    from drugwatch.collect.crawler import DEFAULT_SEEDS

    return DEFAULT_SEEDS


@app.command("collect")
def collect_command(
    db: DbOption = None,
    strategy: Annotated[str, typer.Option(help="Hashtag strategy: fixed, jmir or dmml (see below).")] = "dmml",
    seed: Annotated[
        list[str] | None,
        typer.Option("--seed", "-s", help="A seed hashtag (repeat). Default: drugwatch's seed list."),
    ] = None,
    seeds_file: Annotated[Path | None, typer.Option(help="File of seed hashtags (one or more per line).")] = None,
    budget: Annotated[int, typer.Option(min=1, help="Most requests this crawl may make (all runs together).")] = 1000,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue the interrupted crawl with these options.")
    ] = False,
    restart: Annotated[bool, typer.Option("--restart", help="Discard an existing checkpoint and start over.")] = False,
    checkpoint: Annotated[
        Path | None,
        typer.Option(help="Checkpoint file. Default: $DRUGWATCH_HOME/crawls/<strategy>-<digest>.json."),
    ] = None,
    replay: Annotated[
        Path | None,
        typer.Option(help="Replay a stored corpus (drugwatch JSONL) instead of Instagram."),
    ] = None,
    replay_demo: Annotated[
        int | None,
        typer.Option(min=6, help="Replay the synthetic demo corpus with this many accounts."),
    ] = None,
    demo_seed: Annotated[int, typer.Option(help="Generator seed of --replay-demo.")] = 0,
    session: Annotated[
        str | None,
        typer.Option(
            help="Instagram account whose instaloader session file to use (make it: instaloader --login USER)."
        ),
    ] = None,
    session_file: Annotated[
        Path | None, typer.Option(help="Path of that session file, if not instaloader's default.")
    ] = None,
    cutoff_days: Annotated[
        float | None,
        typer.Option(help="End a feed at posts older than this (default: 90 for jmir, none otherwise)."),
    ] = None,
    max_pages_per_tag: Annotated[int | None, typer.Option(min=1, help="Most pages read per hashtag.")] = None,
    target_dealers: Annotated[
        int | None, typer.Option(min=1, help="Stop at this many suspected dealer accounts.")
    ] = None,
    comments: Annotated[
        bool, typer.Option("--comments/--no-comments", help="Fetch comments of drug-related posts.")
    ] = True,
    follow: Annotated[
        str,
        typer.Option(help="Fetch profile and timeline of authors of events judged: selling, drug, none."),
    ] = "selling",
    timeline_posts: Annotated[int, typer.Option(min=0, help="Most timeline posts per followed account.")] = 200,
    feedback: Annotated[
        Path | None,
        typer.Option(help="Annotated hashtags: JSON {tag: true|false} or lines 'tag yes|no'."),
    ] = None,
    feedback_from_db: Annotated[
        bool,
        typer.Option(
            "--feedback-from-db",
            help="Also label hashtags from the store's annotated events (majority of their labels).",
        ),
    ] = False,
    images_dir: Annotated[Path | None, typer.Option(help="Download images of drug-related posts here.")] = None,
    backoff_base: Annotated[float, typer.Option(min=0, help="First wait after a 429, in seconds (doubles).")] = 60.0,
    latency: Annotated[float, typer.Option(min=0, hidden=True, help="Replay only: seconds per request.")] = 0.0,
    summary: Annotated[Path | None, typer.Option(help="Also write the run summary here as JSON.")] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every item error as it happens.")] = False,
) -> None:
    """Collect posts, comments and profiles by hashtag into the store, resumably.

    Every page is checkpointed: after Ctrl-C, a crash or a kill, run the same
    command with --resume. Strategies: fixed (the seed list), jmir (two
    loops, posts newer than the cutoff), dmml (a hashtag frontier weighted by
    what the detector judges drug-related).
    """
    from drugwatch.collect.crawler import (
        CheckpointError,
        CrawlConfig,
        Crawler,
        FollowAuthors,
        Strategy,
        collect,
        default_checkpoint_path,
        read_feedback,
    )
    from drugwatch.collect.rate import AuthError, Backoff, CollectError, RateLimited, RequestBudget
    from drugwatch.collect.sources import ReplaySource, Source
    from drugwatch.store import Store

    logging.basicConfig(level=logging.INFO if verbose else logging.ERROR, format="%(levelname)s %(message)s")
    if resume and restart:
        raise fail("--resume and --restart exclude each other", CollectExit.USAGE)
    if replay is not None and replay_demo is not None:
        raise fail("give --replay or --replay-demo, not both", CollectExit.USAGE)
    try:
        config = CrawlConfig(
            strategy=cast(Strategy, strategy),  # any string: CrawlConfig checks it
            seeds=_seeds(seed, seeds_file),
            budget=budget,
            cutoff_days=cutoff_days,
            max_pages_per_tag=max_pages_per_tag,
            comments=comments,
            follow_authors=cast(FollowAuthors, follow),  # checked by CrawlConfig too
            timeline_posts=timeline_posts,
            target_dealers=target_dealers,
            images=images_dir is not None,
        )
        labels = read_feedback(feedback) if feedback is not None else None
    except (ValueError, OSError) as exc:
        raise fail(str(exc), CollectExit.USAGE) from None

    request_budget = RequestBudget()
    source: Source
    try:
        if replay is not None:
            source = ReplaySource.from_jsonl(replay, budget=request_budget, latency=latency)
        elif replay_demo is not None:
            from drugwatch.demo import generate_demo

            corpus = generate_demo(seed=demo_seed, n_accounts=replay_demo, images=images_dir is not None)
            source = ReplaySource.from_corpus(corpus, budget=request_budget, latency=latency)
        else:
            from drugwatch.collect.instagram import InstagramSource

            source = InstagramSource(
                budget=request_budget,
                session_user=session,
                session_file=str(session_file) if session_file else None,
            )
    except AuthError as exc:
        raise fail(str(exc), CollectExit.AUTH) from None
    except (OSError, ValueError) as exc:
        raise fail(f"cannot open the source: {exc}", CollectExit.ERROR) from None

    source_name = getattr(source, "name", "instagram")
    path = checkpoint or default_checkpoint_path(config, source_name)
    with (
        Store(db) as store,
        progress_bar(f"collect ({config.strategy})", total=budget) as (bar, task),
    ):

        def on_page(crawler: Crawler) -> None:
            bar.update(
                task,
                completed=crawler.budget.used,
                description=f"collect ({config.strategy}): {crawler.state.counters.get('selling_events', 0)} selling, "
                f"{len(crawler.state.dealers)} suspected dealers",
            )

        if feedback_from_db:
            from drugwatch.collect.crawler import tag_feedback_from_events

            labels = {**tag_feedback_from_events(store.iter_events()), **(labels or {})}
        try:
            result = collect(
                source,
                store,
                config,
                checkpoint=path,
                resume=resume,
                restart=restart,
                feedback=labels,
                backoff=Backoff(base=backoff_base),
                on_page=on_page,
                images_dir=images_dir,
            )
        except CheckpointError as exc:
            raise fail(str(exc), CollectExit.USAGE) from None
        except KeyboardInterrupt:
            err_console.print(
                f"[yellow]interrupted[/]: every finished page is saved in {path}; "
                "run the same command with --resume to continue"
            )
            raise typer.Exit(int(CollectExit.INTERRUPTED)) from None
        except RateLimited as exc:
            raise fail(str(exc), CollectExit.RATE_LIMITED) from None
        except AuthError as exc:
            raise fail(str(exc), CollectExit.AUTH) from None
        except CollectError as exc:
            raise fail(str(exc), CollectExit.ERROR) from None

    console.print(result.format())
    if result.status == "budget":
        console.print(f"budget spent; checkpoint kept at {path}: --resume --budget N continues this crawl")
    if summary is not None:
        summary.parent.mkdir(parents=True, exist_ok=True)
        summary.write_text(json.dumps(result.to_json(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
    if result.error_count:
        raise typer.Exit(int(CollectExit.PARTIAL))

"""Load test of the annotation app on loopback: concurrent annotators, no lost or duplicated labels.

    .venv/bin/python benchmarks/bench_annotate.py                     # SQLite and PostgreSQL
    .venv/bin/python benchmarks/bench_annotate.py --backend sqlite --sessions 20 --labels 2000
    .venv/bin/python benchmarks/bench_annotate.py --backend postgresql --pg-url postgresql://postgres@127.0.0.1:5432/postgres

For each backend: a fresh store with ``labels / k`` generated events (k = 2
annotators each, so ``labels`` tasks), ``sessions`` annotator accounts, and
uvicorn serving ``drugwatch.annotate.app:create_app`` on 127.0.0.1 in a
subprocess. ``sessions`` httpx clients run concurrently; each signs in
(argon2, CSRF), then loops: GET /tasks/next, GET the item page (to read
which levels it has), POST its labels. A seeded share of submissions is
POSTed twice (a client retrying after a lost response). Afterwards the
database is checked: every task done exactly once, exactly one annotation
per (event, annotator, level), and each stored value equal to what the
client sent. Bounded: ``--labels`` tasks at most, ``--timeout`` seconds.

PostgreSQL: ``--pg-url`` or ``$DRUGWATCH_TEST_PG_URL`` names a server (a
database is created and dropped in it); otherwise a throw-away server is
started with initdb/pg_ctl when PostgreSQL is installed.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import httpx

from drugwatch.store.pgtemp import free_port

PASSWORD = "bench-password-1"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
LEVELS = re.compile(r'<fieldset data-level="(\w+)"')
DRUGS = ("marijuana", "codeine", "mdma", "xanax", "painkiller", "mushroom", "lsd", "cocaine", "other_drugs")


# ---------------------------------------------------------------------------
# Databases


@contextmanager
def sqlite_db(root: Path) -> Iterator[str]:
    yield f"sqlite:///{root / 'bench.sqlite'}"


@contextmanager
def postgresql_db(server_url: str | None) -> Iterator[str]:
    from drugwatch.store.pgtemp import temporary_database, temporary_server

    if server_url:
        with temporary_database(server_url, prefix="dw_bench") as url:
            yield url
        return
    with temporary_server(max_connections=200) as server, temporary_database(server, prefix="dw_bench") as url:
        yield url


# ---------------------------------------------------------------------------
# Seeding


def seed(url: str, n_events: int, n_annotators: int, k: int) -> None:
    import drugwatch.annotate.schema  # noqa: F401
    from drugwatch.annotate import service
    from drugwatch.annotate.auth import create_user, make_hasher
    from drugwatch.records import Event
    from drugwatch.store import Store

    rng = random.Random(0)
    events = []
    for i in range(n_events):
        drug = rng.choice(DRUGS)
        tags = [drug, rng.choice(["plug", "travel", "food", "420", "pills"])] if i % 3 else []
        text = f"bench post {i}: {drug} today, dm for prices" if i % 2 else f"bench post {i}: nice day out"
        if i % 4 == 3:
            events.append(Event(id=f"c{i}", kind="comment", parent_id=f"p{i - 1}", post_id=f"p{i - 1}", text=text, hashtags=tags, author=f"user{i % 97}"))
        else:
            events.append(Event(id=f"p{i}", text=text, hashtags=tags, author=f"user{i % 97}"))
    store = Store(url)
    for start in range(0, len(events), 2000):
        store.upsert(events[start : start + 2000])
    hasher = make_hasher(1, 8192)
    for j in range(n_annotators):
        create_user(store.engine, f"ann{j:02d}", PASSWORD, "annotator", hasher)
    service.assign(store.engine, k=k)
    store.close()


def _answer(event_key: str, user: str, levels: list[str]) -> dict[str, Any]:
    """A deterministic, mostly agreeing answer (so the agreement numbers mean something)."""
    digest = hashlib.sha256(event_key.encode()).digest()
    truth = DRUGS[digest[0] % len(DRUGS)] if digest[1] % 3 else "non_drug"
    if hashlib.sha256(f"{event_key}/{user}".encode()).digest()[0] < 26:  # ~10% disagreement
        truth = "non_drug" if truth != "non_drug" else "marijuana"
    form: dict[str, Any] = {level: [truth] for level in levels}
    form["selling"] = "1" if truth != "non_drug" and digest[2] % 2 else "0"
    return form


# ---------------------------------------------------------------------------
# The load


async def annotator(base: str, user: str, budget: dict[str, int], out: dict[str, Any], rng: random.Random, retry_share: float) -> None:
    timeout = httpx.Timeout(60.0)
    async with httpx.AsyncClient(base_url=base, timeout=timeout, follow_redirects=False) as client:
        page = await client.get("/login")
        await client.post("/login", data={"username": user, "password": PASSWORD, "csrf_token": CSRF.search(page.text).group(1)})
        tasks_page = await client.get("/tasks")
        if tasks_page.status_code != 200:
            raise RuntimeError(f"{user} could not sign in: {tasks_page.status_code}")
        csrf = CSRF.search(tasks_page.text).group(1)
        while budget["left"] > 0:
            nxt = await client.get("/tasks/next")
            location = nxt.headers.get("location", "")
            match = re.fullmatch(r"/tasks/(\d+)", location)
            if not match:
                break  # queue empty
            budget["left"] -= 1
            task_id = match.group(1)
            item = await client.get(location)
            levels = LEVELS.findall(item.text)
            key = re.search(r"<h2>\w+ (\S+)", item.text).group(1)
            form = {**_answer(key, user, levels), "csrf_token": csrf}
            tries = 2 if rng.random() < retry_share else 1
            for attempt in range(tries):
                started = time.perf_counter()
                response = await client.post(location, data=form)
                out["latency"].append(time.perf_counter() - started)
                if response.status_code != 303:
                    out["errors"].append(f"{user} task {task_id}: HTTP {response.status_code}")
                if attempt:
                    out["retries"] += 1
            out["sent"][(key, user)] = form
            out["requests"] += 2 + tries


def verify(url: str, sent: dict[tuple[str, str], dict[str, Any]]) -> dict[str, Any]:
    from sqlalchemy import func, select

    import drugwatch.annotate.schema as schema
    from drugwatch.annotate import service
    from drugwatch.annotate.agreement import agreement_report
    from drugwatch.store import Store

    store = Store(url)
    engine = store.engine
    with engine.connect() as conn:
        done = conn.execute(select(func.count()).select_from(schema.AssignmentRow).where(schema.AssignmentRow.status == "done")).scalar_one()
        rows = conn.execute(select(func.count()).select_from(schema.AnnotationRow)).scalar_one()
        duplicated = conn.execute(
            select(func.count()).select_from(
                select(schema.AnnotationRow.event_key)
                .group_by(schema.AnnotationRow.event_key, schema.AnnotationRow.user_id, schema.AnnotationRow.level)
                .having(func.count() > 1)
                .subquery()
            )
        ).scalar_one()
    answers = service.collect_answers(engine)
    lost = 0
    expected_rows = 0
    for (key, user), form in sent.items():
        levels = [level for level in ("hashtag", "image", "comment") if level in form]
        expected_rows += len(levels) + 1
        stored = answers.get(key, {}).get(user)
        want = {level: tuple(form[level]) for level in levels}
        want["dealer"] = form["selling"] == "1"
        if stored != want:
            lost += 1
    started = time.perf_counter()
    report = agreement_report(answers)
    agreement_s = time.perf_counter() - started
    selling = next(lab for lab in report.labels if lab.label == "selling")
    store.close()
    return {
        "tasks_done_in_db": done,
        "annotation_rows": rows,
        "expected_annotation_rows": expected_rows,
        "lost_or_wrong": lost,
        "duplicated": duplicated,
        "agreement_seconds": round(agreement_s, 3),
        "krippendorff_alpha_selling": None if selling.krippendorff_alpha is None else round(selling.krippendorff_alpha, 3),
    }


def run_backend(name: str, url: str, args: argparse.Namespace, root: Path) -> dict[str, Any]:
    n_events = args.labels // args.k
    started = time.perf_counter()
    seed(url, n_events, args.sessions, args.k)
    seed_s = time.perf_counter() - started
    port = free_port()
    env = {
        **os.environ,
        "DRUGWATCH_DB": url,
        "DRUGWATCH_HOME": str(root / "home"),
        "DRUGWATCH_SECRET_KEY": "bench-secret-key-0123456789",
        "DRUGWATCH_ANNOTATE_OCR": "0",
        "DRUGWATCH_ARGON2_TIME_COST": "1",
        "DRUGWATCH_ARGON2_MEMORY_KIB": "8192",
    }
    command = [sys.executable, "-m", "uvicorn", "drugwatch.annotate.app:create_app", "--factory",
               "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--workers", str(args.workers)]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/login", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start: {server.stderr.read() if server.stderr else ''}")
            time.sleep(0.2)
        out: dict[str, Any] = {"latency": [], "errors": [], "retries": 0, "requests": 0, "sent": {}}
        budget = {"left": args.labels}
        rng = random.Random(1)

        async def main() -> None:
            users = [f"ann{j:02d}" for j in range(args.sessions)]
            await asyncio.wait_for(
                asyncio.gather(*(annotator(base, u, budget, out, random.Random(rng.random()), args.retry_share) for u in users)),
                timeout=args.timeout,
            )

        started = time.perf_counter()
        asyncio.run(main())
        wall = time.perf_counter() - started
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    latency = sorted(out["latency"])

    def pct(p: float) -> float:
        return round(1000 * latency[min(len(latency) - 1, int(p * len(latency)))], 1) if latency else float("nan")

    result = {
        "backend": name,
        "sessions": args.sessions,
        "workers": args.workers,
        "events": n_events,
        "labels_submitted": len(out["sent"]),
        "retried_posts": out["retries"],
        "http_requests": out["requests"] + 3 * args.sessions,
        "http_errors": len(out["errors"]),
        "seed_seconds": round(seed_s, 2),
        "wall_seconds": round(wall, 2),
        "labels_per_second": round(len(out["sent"]) / wall, 1),
        "requests_per_second": round((out["requests"] + 3 * args.sessions) / wall, 1),
        "submit_ms_p50": pct(0.50),
        "submit_ms_p95": pct(0.95),
        "submit_ms_p99": pct(0.99),
        "submit_ms_max": pct(1.0),
        **verify(url, out["sent"]),
    }
    if out["errors"]:
        result["first_errors"] = out["errors"][:5]
    result["ok"] = (
        result["labels_submitted"] == args.labels
        and result["tasks_done_in_db"] == args.labels
        and result["lost_or_wrong"] == 0
        and result["duplicated"] == 0
        and result["annotation_rows"] == result["expected_annotation_rows"]
        and not out["errors"]
    )
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--sessions", type=int, default=20, help="concurrent annotator sessions")
    parser.add_argument("--labels", type=int, default=2000, help="labels (tasks) to submit in all")
    parser.add_argument("--k", type=int, default=2, help="annotators per event")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--retry-share", type=float, default=0.1, help="share of submissions POSTed twice")
    parser.add_argument("--timeout", type=float, default=600, help="seconds before the load is abandoned")
    parser.add_argument("--pg-url", default=os.environ.get("DRUGWATCH_TEST_PG_URL"))
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    if args.labels % args.k:
        parser.error("--labels must be a multiple of --k")
    results = []
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        with tempfile.TemporaryDirectory(prefix="dw-bench-annotate-") as tmp:
            root = Path(tmp)
            db = sqlite_db(root) if backend == "sqlite" else postgresql_db(args.pg_url)
            with db as url:
                result = run_backend(backend, url, args, root)
        results.append(result)
        print(json.dumps(result), flush=True)
    print()
    print(f"{'backend':<11} {'labels':>6} {'wall s':>7} {'labels/s':>8} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'lost':>5} {'dup':>4} ok")
    for r in results:
        print(f"{r['backend']:<11} {r['labels_submitted']:>6} {r['wall_seconds']:>7} {r['labels_per_second']:>8} {r['requests_per_second']:>7} "
              f"{r['submit_ms_p50']:>7} {r['submit_ms_p95']:>7} {r['submit_ms_p99']:>7} {r['lost_or_wrong']:>5} {r['duplicated']:>4} {r['ok']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())

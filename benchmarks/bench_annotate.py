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

    .venv/bin/python benchmarks/bench_annotate.py --keystrokes

Keystrokes per item instead of load: a fixed script of items (a harmless
post, a post whose suggestions are right, a drug post without suggestions,
a comment, a post whose suggestion is half right) is labelled in headless
Chromium with the keys the app offers now, each answer is checked in the
database, and the count is printed beside the keys the same answer took
before the one-key answers (level key, label digits per level, dealer key,
Enter; the first level active from the start). Needs /usr/bin/chromium and
Playwright.
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
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from drugwatch.store.pgtemp import free_port

PASSWORD = "bench-password-1"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
LEVELS = re.compile(r'id="level-(hashtag|image|comment)"')
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
            events.append(
                Event(
                    id=f"c{i}",
                    kind="comment",
                    parent_id=f"p{i - 1}",
                    post_id=f"p{i - 1}",
                    text=text,
                    hashtags=tags,
                    author=f"user{i % 97}",
                )
            )
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


async def annotator(
    base: str, user: str, budget: dict[str, int], out: dict[str, Any], rng: random.Random, retry_share: float
) -> None:
    timeout = httpx.Timeout(60.0)
    async with httpx.AsyncClient(base_url=base, timeout=timeout, follow_redirects=False) as client:
        for _ in range(20):
            page = await client.get("/login")
            signed_in = await client.post(
                "/login", data={"username": user, "password": PASSWORD, "csrf_token": CSRF.search(page.text).group(1)}
            )
            if signed_in.status_code != 503:
                break
            # At most DRUGWATCH_LOGIN_MAX_HASHES sign-ins hash at once; the rest are told to come back.
            await asyncio.sleep(float(signed_in.headers.get("retry-after", "1")))
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
        done = conn.execute(
            select(func.count()).select_from(schema.AssignmentRow).where(schema.AssignmentRow.status == "done")
        ).scalar_one()
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
        "krippendorff_alpha_selling": None
        if selling.krippendorff_alpha is None
        else round(selling.krippendorff_alpha, 3),
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
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "drugwatch.annotate.app:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--workers",
        str(args.workers),
    ]
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
                asyncio.gather(
                    *(annotator(base, u, budget, out, random.Random(rng.random()), args.retry_share) for u in users)
                ),
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


# ---------------------------------------------------------------------------
# Keystrokes per item

#: The fixed script: each item, the answer it must end with, what the model
#: suggests for it (``None``: no suggestion shown), and the keys pressed now.
KEY_SCRIPT: list[dict[str, Any]] = [
    {
        "name": "harmless post (hashtags, image, caption)",
        "id": "k1",
        "text": "sunset at the beach #travel",
        "image": True,
        "answer": {"hashtag": ["non_drug"], "image": ["non_drug"], "comment": ["non_drug"], "dealer": False},
        "model": None,
        "keys": ["x", "Enter"],
    },
    {
        "name": "post whose suggestions are right",
        "id": "k2",
        "text": "2mg bars #xanax wickr plug_77",
        "image": True,
        "answer": {"hashtag": ["xanax"], "image": ["xanax"], "comment": ["xanax"], "dealer": True},
        "model": (["xanax"], True),
        "keys": ["a", "Enter"],
    },
    {
        "name": "drug post, no suggestion, same at every level",
        "id": "k3",
        "text": "percs 30s #percocet text 617 555 0162",
        "image": True,
        "answer": {"hashtag": ["painkiller"], "image": ["painkiller"], "comment": ["painkiller"], "dealer": True},
        "model": None,
        "keys": ["5", "=", "y", "Enter"],
    },
    {
        "name": "harmless comment",
        "id": "k4",
        "text": "love this view",
        "image": False,
        "comment_of": "k1",
        "answer": {"comment": ["non_drug"], "dealer": False},
        "model": None,
        "keys": ["x", "Enter"],
    },
    {
        "name": "post whose suggestion is half right",
        "id": "k5",
        "text": "bars and percs, dm #xanax",
        "image": True,
        "answer": {"hashtag": ["xanax"], "image": ["xanax"], "comment": ["xanax", "painkiller"], "dealer": True},
        "model": (["xanax"], True),
        "keys": ["a", "c", "5", "Enter"],
    },
]
_LEVEL_KEY = {"hashtag": "h", "image": "i", "comment": "c"}
_DIGIT = {label: str(i) for i, label in enumerate(("non_drug",) + DRUGS)}


def keys_before(answer: dict[str, Any]) -> list[str]:
    """The keys the same answer took without one-key answers or suggestions."""
    keys: list[str] = []
    levels = [level for level in ("hashtag", "image", "comment") if level in answer]
    for n, level in enumerate(levels):
        if n:
            keys.append(_LEVEL_KEY[level])
        keys += [_DIGIT[label] for label in answer[level]]
    return keys + ["y" if answer["dealer"] else "n", "Enter"]


def run_keystrokes() -> list[dict[str, Any]]:
    import socket
    import threading
    from types import SimpleNamespace

    import uvicorn
    from playwright.sync_api import sync_playwright

    import drugwatch.annotate.schema  # noqa: F401
    from drugwatch.annotate import Settings, create_app, service
    from drugwatch.annotate.auth import create_user
    from drugwatch.annotate.suggest import Suggester
    from drugwatch.labels import LABELS
    from drugwatch.records import Event, ImageRef

    png = bytes.fromhex(
        "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
        "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
    )

    class ScriptedModels:
        """What the script's model says (the models are not what is measured here)."""

        models = (SimpleNamespace(name="script.drugtype", version=1), SimpleNamespace(name="script.selling", version=1))

        def score(self, events):
            out = []
            for event in events:
                item = next(i for i in KEY_SCRIPT if i["id"] == event.id)
                labels, selling = item["model"] or (["non_drug"], False)
                probabilities = {label: (0.95 if label in labels else 0.03) for label in LABELS}
                out.append(
                    SimpleNamespace(
                        key=event.key,
                        drug_probabilities=probabilities,
                        drug_labels=tuple(labels),
                        selling=selling,
                        selling_probability=0.9 if selling else 0.1,
                    )
                )
            return out

    results = []
    with tempfile.TemporaryDirectory(prefix="dw-bench-keys-") as tmp:
        root = Path(tmp)
        (root / "img.png").write_bytes(png)
        app = create_app(
            Settings(
                db=f"sqlite:///{root / 'keys.sqlite'}",
                secret_key="bench-secret-key-0123456789",
                annotate_ocr=False,
                argon2_time_cost=1,
                argon2_memory_kib=8192,
                media_roots=[root],
            )
        )
        app.state.suggester = Suggester(ScriptedModels())
        events = []
        for item in KEY_SCRIPT:
            images = [ImageRef(path=str(root / "img.png"))] if item["image"] else []
            if item.get("comment_of"):
                events.append(
                    Event(
                        id=item["id"],
                        kind="comment",
                        parent_id=item["comment_of"],
                        post_id=item["comment_of"],
                        text=item["text"],
                        author="someone",
                    )
                )
            else:
                events.append(Event(id=item["id"], text=item["text"], author="someone", images=images))
        app.state.store.upsert(events)
        create_user(app.state.engine, "ann", PASSWORD, "annotator", app.state.hasher)
        service.assign(app.state.engine, k=1)
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path="/usr/bin/chromium",
                    headless=True,
                    args=["--headless", "--no-sandbox", "--disable-gpu"],
                )
                page = browser.new_page(viewport={"width": 1024, "height": 700})
                page.goto(f"{base}/login")
                page.fill("#username", "ann")
                page.fill("#password", PASSWORD)
                page.click("#login-submit")
                page.wait_for_url("**/tasks")
                for item in KEY_SCRIPT:
                    # The model is offered only where the script says it is right or half right.
                    service.set_option(app.state.engine, "suggestions", item["model"] is not None)
                    task = service.next_task(app.state.engine, 1)
                    page.goto(f"{base}/tasks/{task}")
                    page.wait_for_selector("#label-form")
                    assert item["text"][:10] in page.inner_text("#caption"), item["name"]
                    for key in item["keys"][:-1]:
                        page.keyboard.press(key)
                    with page.expect_navigation():
                        page.keyboard.press(item["keys"][-1])
                    event_key = f"instagram:{item['id']}"
                    stored = service.collect_answers(app.state.engine, [event_key])[event_key]["ann"]
                    want = {level: tuple(labels) for level, labels in item["answer"].items() if level != "dealer"}
                    want["dealer"] = item["answer"]["dealer"]
                    results.append(
                        {
                            "item": item["name"],
                            "before": len(keys_before(item["answer"])),
                            "now": len(item["keys"]),
                            "keys": " ".join(item["keys"]),
                            "answer_ok": stored == want,
                        }
                    )
                browser.close()
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            app.state.store.close()
    return results


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
    parser.add_argument(
        "--keystrokes", action="store_true", help="count keys per item on the fixed script instead (Chromium)"
    )
    args = parser.parse_args(argv)
    if args.keystrokes:
        rows = run_keystrokes()
        print(f"{'item':<48} {'before':>6} {'now':>4}  keys now          answer stored right")
        for r in rows:
            print(f"{r['item']:<48} {r['before']:>6} {r['now']:>4}  {r['keys']:<17} {r['answer_ok']}")
        print(
            f"{'mean':<48} {sum(r['before'] for r in rows) / len(rows):>6.1f} {sum(r['now'] for r in rows) / len(rows):>4.1f}"
        )
        if args.json:
            args.json.write_text(json.dumps(rows, indent=2), encoding="utf-8")
        return 0 if all(r["answer_ok"] for r in rows) else 1
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
    print(
        f"{'backend':<11} {'labels':>6} {'wall s':>7} {'labels/s':>8} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'lost':>5} {'dup':>4} ok"
    )
    for r in results:
        print(
            f"{r['backend']:<11} {r['labels_submitted']:>6} {r['wall_seconds']:>7} {r['labels_per_second']:>8} {r['requests_per_second']:>7} "
            f"{r['submit_ms_p50']:>7} {r['submit_ms_p95']:>7} {r['submit_ms_p99']:>7} {r['lost_or_wrong']:>5} {r['duplicated']:>4} {r['ok']}"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())

"""Load test of the scoring API on loopback: single-event scoring latency and throughput, or
``/health`` under hostile load.

    .venv/bin/python benchmarks/bench_serve.py                         # 30 s, 8 connections
    .venv/bin/python benchmarks/bench_serve.py --duration 10 --connections 4 --models runs/models
    .venv/bin/python benchmarks/bench_serve.py --hostile               # about a minute

``drugwatch serve`` runs in a subprocess (uvicorn, one worker, 127.0.0.1)
with the default fast detectors (``drugwatch.selling.v1`` +
``drugwatch.drugtype.v1``): from ``--models`` if given, else trained first on
the seeded demo corpus (the bench's texts are the demo corpus' posts too).
A key is created for the run and the per-key rate limit is lifted so it
measures the service, not the limiter.

The client is plain asyncio sockets (HTTP/1.1 keep-alive, requests built
once, no HTTP library in the loop) so it takes little of the CPU the server
needs: ``--connections`` connections each send ``POST /v1/score/event``
with the next demo text and wait for the answer (a closed loop). The first
``--warmup`` seconds are not counted; then for ``--duration`` seconds every
latency (request written -> response read) is recorded. Bounded: the run
stops after warm-up + duration, whatever happens. Reports requests/s, p50,
p90, p99 and max latency, errors, how many scorer calls served the
requests (the service coalesces concurrent requests), the CPU the server
process used per request (from /proc: what the service costs whatever else
runs on the machine) and the load average, as a table and as JSON
(``--output``).

``--hostile`` measures what a client sending the worst requests the limits
admit does to everyone else. The hostile requests (:func:`hostile_requests`)
are built at the server's limits (characters per event and per request,
body bytes, batch size): spaced single characters, spaced digits, CJK and
emoji runs without spaces, runs of lexicon terms, long hashtags, an account
with a full timeline, ``/v1/inspect`` of a spaced text; and two that must be
refused after parsing: 32 texts at the per-text cap (over the request's
characters, 413) and 32 texts of 32,000 characters (1 MiB, over the per-text
cap, 422).
Three phases: ``/health`` polled alone (``--idle`` seconds: the baseline);
each hostile request sent once alone, with the server CPU it cost (the
target: none over 2 s); then ``--connections`` (default 4) clients send the
hostile requests in a closed loop while one client polls ``/health`` every
20 ms for ``--duration`` seconds (default 30). Reports ``/health`` p50, p99
and max under load, and the p99 ratio to the idle baseline (the target:
p99 ≤ 100 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from drugwatch.store.pgtemp import free_port


def _train(root: Path, n_accounts: int) -> tuple[Path, list[str]]:
    from drugwatch.demo import generate_demo
    from drugwatch.scoring import train_default_detectors

    corpus = generate_demo(seed=0, n_accounts=n_accounts, images=False)
    out = root / "models"
    started = time.perf_counter()
    train_default_detectors(corpus.events, out, seed=0)
    print(f"trained the default detectors on {len(corpus.events)} demo events in {time.perf_counter() - started:.1f} s")
    return out, [e.text for e in corpus.events if e.text]


def _texts(n_accounts: int) -> list[str]:
    from drugwatch.demo import generate_demo

    return [e.text for e in generate_demo(seed=1, n_accounts=n_accounts, images=False).events if e.text]


def _request(port: int, token: str, body: bytes, path: str = "/v1/score/event") -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("ascii") + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    status, body, _ = await _read_response_full(reader)
    return status, body


async def _read_response_full(reader: asyncio.StreamReader) -> tuple[int, bytes, bool]:
    """Status, body, and whether the server closes the connection after it."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    closes = False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
        elif name.strip().lower() == "connection" and value.strip().lower() == "close":
            closes = True
    body = await reader.readexactly(length) if length else b""
    return status, body, closes


async def _connection(
    port: int,
    requests: list[bytes],
    offset: int,
    start_at: float,
    stop_at: float,
    latencies: list[float],
    errors: list[str],
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = offset
    try:
        while True:
            now = time.perf_counter()
            if now >= stop_at:
                break
            writer.write(requests[i % len(requests)])
            i += 1
            t0 = time.perf_counter()
            await writer.drain()
            status, body = await _read_response(reader)
            elapsed = time.perf_counter() - t0
            if t0 >= start_at:
                if status == 200:
                    latencies.append(elapsed)
                else:
                    errors.append(f"{status}: {body[:200]!r}")
    finally:
        writer.close()
        await writer.wait_closed()


async def _load(port: int, requests: list[bytes], connections: int, warmup: float, duration: float):
    latencies: list[float] = []
    errors: list[str] = []
    start_at = time.perf_counter() + warmup
    stop_at = start_at + duration
    await asyncio.wait_for(
        asyncio.gather(
            *(_connection(port, requests, k * 997, start_at, stop_at, latencies, errors) for k in range(connections))
        ),
        timeout=warmup + duration + 60,
    )
    return latencies, errors


def _cpu_seconds(pid: int) -> float | None:
    """User + system CPU seconds of a process (Linux /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _load_with_cpu(
    pid: int, port: int, requests: list[bytes], connections: int, warmup: float, duration: float
) -> tuple[list[float], list[str], float | None]:
    """Like :func:`_load`, and the server's CPU seconds over the measured window."""
    task = asyncio.ensure_future(_load(port, requests, connections, warmup, duration))
    await asyncio.sleep(warmup)
    before = _cpu_seconds(pid)
    await asyncio.sleep(duration)
    after = _cpu_seconds(pid)
    latencies, errors = await task
    cpu = None if before is None or after is None else after - before
    return latencies, errors, cpu


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def _latency_table(ms: list[float]) -> dict[str, float] | None:
    if not ms:
        return None
    return {
        "p50": round(_percentile(ms, 50), 2),
        "p90": round(_percentile(ms, 90), 2),
        "p99": round(_percentile(ms, 99), 2),
        "max": round(max(ms), 2),
        "mean": round(statistics.fmean(ms), 2),
    }


class _Server:
    """``drugwatch serve`` in a subprocess with a fresh key store; stopped on exit."""

    def __init__(self, root: Path, models: Path, scopes: list[str]) -> None:
        self.root = root
        self.models = models
        self.scopes = scopes
        self.db = f"sqlite:///{root / 'api.sqlite'}"
        self.port = free_port()
        self.log_path = root / "server.log"

    def __enter__(self) -> _Server:
        env = {
            **os.environ,
            "DRUGWATCH_HOME": str(self.root / "home"),
            "DRUGWATCH_DB": self.db,
            "DRUGWATCH_API_RATE_PER_SECOND": "1000000",
            "DRUGWATCH_API_RATE_BURST": "1000000",
        }
        from drugwatch.api.keys import create_key
        from drugwatch.store import Store

        with Store(self.db) as store:
            self.token = create_key(store.engine, "bench", self.scopes).token
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-c",
                    "from drugwatch.cli import main; main()",
                    "serve",
                    "--models",
                    str(self.models),
                    "--port",
                    str(self.port),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise RuntimeError("the server did not start:\n" + self.log_path.read_text()[-3000:])
            time.sleep(0.2)

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def health(self) -> dict:
        return httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=5).json()


def _throughput(args: argparse.Namespace, models: Path, root: Path) -> int:
    texts = _texts(args.demo_accounts)
    with _Server(root, models, ["score"]) as server:
        port = server.port
        requests = [
            _request(port, server.token, json.dumps({"id": str(i), "text": t}).encode("utf-8"))
            for i, t in enumerate(texts)
        ]
        load_before = os.getloadavg()[0]
        latencies, errors, server_cpu = asyncio.run(
            _load_with_cpu(server.process.pid, port, requests, args.connections, args.warmup, args.duration)
        )
        load_after = os.getloadavg()[0]
        health = server.health()

    ms = [x * 1000 for x in latencies]
    result = {
        "route": "POST /v1/score/event",
        "models": health["models"],
        "connections": args.connections,
        "duration_s": args.duration,
        "requests": len(ms),
        "errors": len(errors),
        "error_examples": errors[:3],
        "requests_per_s": round(len(ms) / args.duration, 1),
        "latency_ms": _latency_table(ms),
        "scorer": health["scoring"],
        # CPU the server used per answered request: the cost independent of other jobs on the machine.
        "server_cpu_ms_per_request": round(server_cpu * 1000 / len(ms), 3) if server_cpu is not None and ms else None,
        "server_cpu_share": round(server_cpu / args.duration, 3) if server_cpu is not None else None,
        "load_average_1min": [round(load_before, 2), round(load_after, 2)],
        "distinct_texts": len(texts),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
    }
    lat = result["latency_ms"] or {}
    print(
        f"\n{result['route']}, {args.connections} connections, {args.duration:g} s, models {', '.join(health['models'])}"
    )
    print(
        "| requests/s | p50 ms | p90 ms | p99 ms | max ms | requests | errors | events per scorer call "
        "| server CPU ms per request | server CPU share | load average (1 min, start / end) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    per_call = health["scoring"]["events"] / max(health["scoring"]["calls"], 1)
    print(
        f"| {result['requests_per_s']} | {lat.get('p50')} | {lat.get('p90')} | {lat.get('p99')} | {lat.get('max')} "
        f"| {result['requests']} | {result['errors']} | {per_call:.2f} | {result['server_cpu_ms_per_request']} "
        f"| {result['server_cpu_share']} | {load_before:.2f} / {load_after:.2f} |"
    )
    if args.output:
        args.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0 if not errors and ms else 1


# ---------------------------------------------------------------------------
# --hostile


def _spaced(alphabet: str, n: int) -> str:
    """``n`` characters of single characters separated by spaces: "a b c ..." (the text layer joins such runs)."""
    return " ".join(alphabet[i % len(alphabet)] for i in range(n // 2 + 1))[:n]


def _run_of(unit: str, n: int) -> str:
    return (unit * (n // len(unit) + 1))[:n]


def hostile_requests(
    event_chars: int, request_chars: int, max_batch: int, max_timeline: int, realistic: list[str]
) -> dict[str, tuple[str, dict]]:
    """The worst requests the limits admit, by name: (path, JSON body). Each holds close to
    ``request_chars`` characters of text; the last two hold more and must be refused cheaply (413 past
    the request's characters, or 422 past one text's)."""
    per_event = min(event_chars, request_chars)
    n_long = max(1, min(max_batch, request_chars // per_event))
    n_short = min(max_batch, 256)
    short = min(per_event, request_chars // n_short)
    n_timeline = min(max_timeline, 1000)
    timeline_chars = min(per_event, (request_chars - 4000) // n_timeline)

    def batch(texts: list[str]) -> dict:
        return {"events": [{"id": str(i), "text": t} for i, t in enumerate(texts)]}

    # The issue's case: 32 texts of 32,000 characters, 1 MiB of ASCII (under the body limit).
    blob = " ".join(realistic).encode("ascii", "ignore").decode("ascii")
    issue_case = [blob[i * 997 % max(1, len(blob) - 32_000) :][:32_000] for i in range(32)]
    at_cap = [text[:per_event] for text in issue_case]  # each text allowed, the request not
    tags = [_run_of(f"{k}xanaxplug", 256) for k in range(100)]  # distinct: repeated tags are merged
    n_tag_events = max(1, min(max_batch, request_chars // (100 * 256 + 201)))
    return {
        "spaced letters, batch": ("/v1/score/events", batch([_spaced("abcdefghij", per_event)] * n_long)),
        "spaced digits, 256 events": ("/v1/score/events", batch([_spaced("7", short)] * n_short)),
        "CJK and emoji runs, batch": (
            "/v1/score/events",
            batch([_run_of("中文字符" if i % 2 else "🍄💊🔌", per_event) for i in range(n_long)]),
        ),
        "lexicon terms, batch": (
            "/v1/score/events",
            batch([_run_of("xanax " if i % 2 else "🍄 ", per_event) for i in range(n_long)]),
        ),
        "long hashtags": (
            "/v1/score/events",
            {"events": [{"id": str(i), "text": "#" + tags[0][:200], "hashtags": tags} for i in range(n_tag_events)]},
        ),
        "account, full timeline": (
            "/v1/score/account",
            {
                "username": "hostile",
                "bio": _spaced("x4n4x", 4000),
                "timeline": [{"id": str(i), "text": _spaced("ab7", timeline_chars)} for i in range(n_timeline)],
            },
        ),
        "inspect, spaced letters": ("/v1/inspect", {"text": _spaced("abcdefghij", per_event)}),
        "32 texts at the text cap": ("/v1/score/events", batch(at_cap)),
        "32 x 32,000 characters (1 MiB)": ("/v1/score/events", batch(issue_case)),
    }


async def _exchange(port: int, raw: bytes, timeout: float) -> tuple[int, float]:
    """One request on its own connection: status and seconds (status 0: no answer in time)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.perf_counter()
    try:
        writer.write(raw)
        await writer.drain()
        status, _ = await asyncio.wait_for(_read_response(reader), timeout)
    except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
        status = 0
    finally:
        writer.close()
    return status, time.perf_counter() - started


async def _poll_health(
    port: int, seconds: float, every: float = 0.02, failures: list[str] | None = None
) -> list[float]:
    """``GET /health`` on a keep-alive connection every ``every`` seconds; the latencies in ms.

    A poll that fails (no answer in 30 s, connection dropped) counts with the
    time it took, is noted in ``failures``, and the next poll reconnects.
    """
    raw = f"GET /health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode("ascii")
    latencies: list[float] = []
    stop_at = time.perf_counter() + seconds
    writer = None
    try:
        while time.perf_counter() < stop_at:
            started = time.perf_counter()
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(raw)
                await writer.drain()
                status, _ = await asyncio.wait_for(_read_response(reader), 30)
                if status != 200:
                    raise RuntimeError(f"/health answered {status}")
            except (TimeoutError, ConnectionError, asyncio.IncompleteReadError, RuntimeError) as exc:
                if failures is not None:
                    failures.append(f"{type(exc).__name__}: {exc}"[:200])
                if writer is not None:
                    writer.close()
                writer = None
            latencies.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(max(0.0, every - (time.perf_counter() - started)))
    finally:
        if writer is not None:
            writer.close()
    return latencies


async def _hostile_client(
    port: int, requests: list[tuple[str, bytes]], offset: int, stop_at: float, outcomes: list[tuple[str, int, float]]
) -> None:
    """Send the hostile requests in turn (closed loop) until ``stop_at``; reconnect when the server closes."""
    i = offset
    reader = writer = None
    try:
        while time.perf_counter() < stop_at:
            name, raw = requests[i % len(requests)]
            i += 1
            if writer is None:
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
            started = time.perf_counter()
            try:
                writer.write(raw)
                await writer.drain()
                left = max(0.1, stop_at - time.perf_counter() + 5)
                status, _, closes = await asyncio.wait_for(_read_response_full(reader), left)
            except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
                status, closes = 0, True
            outcomes.append((name, status, time.perf_counter() - started))
            if closes:
                writer.close()
                reader = writer = None
    finally:
        if writer is not None:
            writer.close()


async def _hostile_load(port: int, requests: list[tuple[str, bytes]], clients: int, seconds: float):
    outcomes: list[tuple[str, int, float]] = []
    stop_at = time.perf_counter() + seconds
    hostile = [asyncio.ensure_future(_hostile_client(port, requests, k * 3, stop_at, outcomes)) for k in range(clients)]
    await asyncio.sleep(0.5)  # the hostile requests are in flight before the first poll
    failures: list[str] = []
    health = await _poll_health(port, seconds - 0.5, failures=failures)
    await asyncio.wait_for(asyncio.gather(*hostile), timeout=60)
    return health, outcomes, failures


#: Status 0: no answer, the request was still in flight when the run ended.
_STATUS_NAMES = {"0": "in flight at the end"}


def _hostile(args: argparse.Namespace, models: Path, root: Path) -> int:
    from drugwatch.api.settings import ApiSettings

    limits = ApiSettings()  # the server reads the same environment
    realistic = _texts(args.demo_accounts)
    bodies = hostile_requests(
        limits.api_max_event_chars,
        limits.api_max_request_chars,
        limits.api_max_batch,
        limits.api_max_timeline,
        realistic,
    )
    with _Server(root, models, ["score", "inspect"]) as server:
        port = server.port
        # UTF-8 as it is (not \u escapes): CJK and emoji bodies stay under the byte limit.
        requests = [
            (name, _request(port, server.token, json.dumps(body, ensure_ascii=False).encode("utf-8"), path))
            for name, (path, body) in bodies.items()
        ]
        idle = asyncio.run(_poll_health(port, args.idle))
        costs = []
        for name, raw in requests:  # each alone: its server CPU
            before = _cpu_seconds(server.process.pid)
            status, seconds = asyncio.run(_exchange(port, raw, args.cost_timeout))
            after = _cpu_seconds(server.process.pid)
            cpu = None if before is None or after is None else round(after - before, 3)
            costs.append(
                {
                    "request": name,
                    "bytes": len(raw),
                    "status": status,
                    "seconds": round(seconds, 3),
                    "server_cpu_s": cpu,
                }
            )
            print(f"  {name}: {status or 'no answer'} in {seconds:.2f} s, server CPU {cpu} s", flush=True)
            if status == 0:
                print("    (no answer in --cost-timeout: the worker is still busy with it)", flush=True)
        load_before = os.getloadavg()[0]
        cpu_before = _cpu_seconds(server.process.pid)
        health, outcomes, failures = asyncio.run(_hostile_load(port, requests, args.connections, args.duration))
        cpu_after = _cpu_seconds(server.process.pid)
        load_after = os.getloadavg()[0]

    by_kind: dict[str, dict] = {}
    for name, status, seconds in outcomes:
        entry = by_kind.setdefault(name, {"statuses": {}, "seconds": []})
        entry["statuses"][str(status)] = entry["statuses"].get(str(status), 0) + 1
        entry["seconds"].append(seconds)
    idle_table, load_table = _latency_table(idle), _latency_table(health)
    ratio = round(load_table["p99"] / idle_table["p99"], 1) if idle_table and load_table else None
    result = {
        "mode": "hostile",
        "limits": {
            "max_event_chars": limits.api_max_event_chars,
            "max_request_chars": limits.api_max_request_chars,
            "max_body_bytes": limits.api_max_body_bytes,
            "max_batch": limits.api_max_batch,
        },
        "health_idle_ms": idle_table,
        "health_under_load_ms": load_table,
        "health_p99_ratio": ratio,
        "health_polls": len(health),
        "health_failures": len(failures),
        "health_failure_examples": failures[:3],
        "hostile_clients": args.connections,
        "duration_s": args.duration,
        "cost_alone": costs,
        "hostile_requests": {
            name: {"statuses": e["statuses"], "max_s": round(max(e["seconds"]), 2)} for name, e in by_kind.items()
        },
        "server_cpu_share": round((cpu_after - cpu_before) / args.duration, 3)
        if cpu_before is not None and cpu_after is not None
        else None,
        "load_average_1min": [round(load_before, 2), round(load_after, 2)],
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
    }
    print(
        f"\n/health with {args.connections} hostile clients, {args.duration:g} s "
        f"(limits: {limits.api_max_event_chars} characters per text, {limits.api_max_request_chars} per request)"
    )
    print("| phase | polls | p50 ms | p90 ms | p99 ms | max ms |")
    print("|---|---|---|---|---|---|")
    for phase, table, n in (("idle", idle_table, len(idle)), ("hostile load", load_table, len(health))):
        print(f"| {phase} | {n} | {table['p50']} | {table['p90']} | {table['p99']} | {table['max']} |")
    if failures:
        print(f"/health polls that failed: {len(failures)} (e.g. {failures[0]})")
    print(
        f"p99 under load / idle p99: {ratio}; target p99 <= 100 ms: {'met' if load_table['p99'] <= 100 else 'NOT met'}"
    )
    print(
        "\n| hostile request | alone: status | alone: seconds | alone: server CPU s | under load: answers by status |"
    )
    print("|---|---|---|---|---|")
    for cost in costs:
        statuses = by_kind.get(cost["request"], {}).get("statuses", {})
        print(
            f"| {cost['request']} | {cost['status'] or 'none in time'} | {cost['seconds']} | {cost['server_cpu_s']} "
            f"| {', '.join(f'{_STATUS_NAMES.get(k, k)}: {v}' for k, v in sorted(statuses.items())) or '—'} |"
        )
    worst = max((c["server_cpu_s"] or 0 for c in costs), default=0)
    print(
        f"most server CPU for one request: {worst} s (target <= 2 s); server CPU share under load: "
        f"{result['server_cpu_share']}; load average {load_before:.2f} / {load_after:.2f}"
    )
    if args.output:
        args.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0 if load_table["p99"] <= 100 and not failures else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--hostile", action="store_true", help="Measure /health while clients send the worst requests the limits admit."
    )
    parser.add_argument(
        "--duration", type=float, default=None, help="Measured seconds (default 30; with --hostile, the hostile phase)."
    )
    parser.add_argument("--warmup", type=float, default=3.0, help="Seconds before measuring (default 3).")
    parser.add_argument(
        "--connections",
        type=int,
        default=None,
        help="Concurrent connections (default 8; with --hostile, hostile clients, default 4).",
    )
    parser.add_argument("--idle", type=float, default=5.0, help="--hostile: seconds of idle /health baseline.")
    parser.add_argument(
        "--cost-timeout",
        type=float,
        default=30.0,
        help="--hostile: seconds to wait for each hostile request sent alone.",
    )
    parser.add_argument(
        "--models", type=Path, help="Model directory (selling/, drugtype/); default: train on the demo corpus."
    )
    parser.add_argument("--demo-accounts", type=int, default=120, help="Demo corpus size for training and texts.")
    parser.add_argument("--output", type=Path, help="Write the results as JSON here.")
    args = parser.parse_args()
    args.duration = 30.0 if args.duration is None else args.duration
    args.connections = (4 if args.hostile else 8) if args.connections is None else args.connections

    with tempfile.TemporaryDirectory(prefix="drugwatch-bench-serve-") as tmp:
        root = Path(tmp)
        models = args.models if args.models is not None else _train(root, args.demo_accounts)[0]
        return (_hostile if args.hostile else _throughput)(args, models, root)


if __name__ == "__main__":
    sys.exit(main())

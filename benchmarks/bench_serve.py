"""Load test of the scoring API on loopback: single-event scoring latency and throughput.

    .venv/bin/python benchmarks/bench_serve.py                         # 30 s, 8 connections
    .venv/bin/python benchmarks/bench_serve.py --duration 10 --connections 4 --models runs/models

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


def _request(port: int, token: str, body: bytes) -> bytes:
    head = (
        f"POST /v1/score/event HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("ascii") + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    body = await reader.readexactly(length) if length else b""
    return status, body


async def _connection(port: int, requests: list[bytes], offset: int, start_at: float, stop_at: float,
                      latencies: list[float], errors: list[str]) -> None:
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
        asyncio.gather(*(_connection(port, requests, k * 997, start_at, stop_at, latencies, errors)
                         for k in range(connections))),
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


async def _load_with_cpu(pid: int, port: int, requests: list[bytes], connections: int, warmup: float,
                         duration: float) -> tuple[list[float], list[str], float | None]:
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=30.0, help="Measured seconds (default 30).")
    parser.add_argument("--warmup", type=float, default=3.0, help="Seconds before measuring (default 3).")
    parser.add_argument("--connections", type=int, default=8, help="Concurrent connections (default 8).")
    parser.add_argument("--models", type=Path, help="Model directory (selling/, drugtype/); default: train on the demo corpus.")
    parser.add_argument("--demo-accounts", type=int, default=120, help="Demo corpus size for training and texts.")
    parser.add_argument("--output", type=Path, help="Write the results as JSON here.")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="drugwatch-bench-serve-") as tmp:
        root = Path(tmp)
        if args.models is None:
            models, _ = _train(root, args.demo_accounts)
        else:
            models = args.models
        texts = _texts(args.demo_accounts)
        db = f"sqlite:///{root / 'api.sqlite'}"
        env = {**os.environ, "DRUGWATCH_HOME": str(root / "home"), "DRUGWATCH_DB": db,
               "DRUGWATCH_API_RATE_PER_SECOND": "1000000", "DRUGWATCH_API_RATE_BURST": "1000000"}
        from drugwatch.api.keys import create_key
        from drugwatch.store import Store

        with Store(db) as store:
            token = create_key(store.engine, "bench", ["score"]).token
        port = free_port()
        log_path = root / "server.log"
        with open(log_path, "w") as log:
            server = subprocess.Popen(
                [sys.executable, "-c", "from drugwatch.cli import main; main()", "serve", "--models", str(models),
                 "--port", str(port)],
                stdout=log, stderr=subprocess.STDOUT, env=env,
            )
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    print(log_path.read_text()[-3000:])
                    return 1
                time.sleep(0.2)
            requests = [_request(port, token, json.dumps({"id": str(i), "text": t}).encode("utf-8"))
                        for i, t in enumerate(texts)]
            load_before = os.getloadavg()[0]
            latencies, errors, server_cpu = asyncio.run(
                _load_with_cpu(server.pid, port, requests, args.connections, args.warmup, args.duration))
            load_after = os.getloadavg()[0]
            health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).json()
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()

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
        "latency_ms": {
            "p50": round(_percentile(ms, 50), 2), "p90": round(_percentile(ms, 90), 2),
            "p99": round(_percentile(ms, 99), 2), "max": round(max(ms), 2), "mean": round(statistics.fmean(ms), 2),
        } if ms else None,
        "scorer": health["scoring"],
        # CPU the server used per answered request: the cost independent of other jobs on the machine.
        "server_cpu_ms_per_request": round(server_cpu * 1000 / len(ms), 3) if server_cpu is not None and ms else None,
        "server_cpu_share": round(server_cpu / args.duration, 3) if server_cpu is not None else None,
        "load_average_1min": [round(load_before, 2), round(load_after, 2)],
        "distinct_texts": len(texts),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
    }
    lat = result["latency_ms"] or {}
    print(f"\n{result['route']}, {args.connections} connections, {args.duration:g} s, models {', '.join(health['models'])}")
    print("| requests/s | p50 ms | p90 ms | p99 ms | max ms | requests | errors | events per scorer call "
          "| server CPU ms per request | server CPU share | load average (1 min, start / end) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    per_call = health["scoring"]["events"] / max(health["scoring"]["calls"], 1)
    print(f"| {result['requests_per_s']} | {lat.get('p50')} | {lat.get('p90')} | {lat.get('p99')} | {lat.get('max')} "
          f"| {result['requests']} | {result['errors']} | {per_call:.2f} | {result['server_cpu_ms_per_request']} "
          f"| {result['server_cpu_share']} | {load_before:.2f} / {load_after:.2f} |")
    if args.output:
        args.output.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0 if not errors and ms else 1


if __name__ == "__main__":
    sys.exit(main())

"""kill -9 a real crawl process twice, resume it, and get the store of an uninterrupted run.

The crawl runs ``drugwatch collect`` in a subprocess over a replayed demo
corpus, slowed by a simulated network latency so the kill lands mid-run. The
test waits for the checkpoint to show progress, sends SIGKILL (no handler can
run), resumes with ``--resume`` and, after the last resume, compares every
stored event and account (all fields, provenance included, in store order)
with an uninterrupted run of the same command.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from drugwatch.demo import generate_demo, write_demo
from drugwatch.store import Store

ENTRY = "import drugwatch.cli.collect_cmd; from drugwatch.cli import app; app()"
BUDGET = "220"

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")


def _command(corpus: Path, db: Path, checkpoint: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-c",
        ENTRY,
        "collect",
        "--replay",
        str(corpus),
        "--db",
        str(db),
        "--checkpoint",
        str(checkpoint),
        "--budget",
        BUDGET,
        "--strategy",
        "dmml",
        "--seed",
        "xanaxangel",
        "--seed",
        "lsd",
        "--seed",
        "xanax",
        *extra,
    ]


def _steps(checkpoint: Path) -> int:
    try:
        return json.loads(checkpoint.read_text(encoding="utf-8"))["state"]["steps"]
    except (OSError, ValueError, KeyError):
        return 0


def _kill_after(command: list[str], checkpoint: Path, steps: int, timeout: float = 120.0) -> int:
    """Start ``command``, SIGKILL it once the checkpoint shows ``steps`` pages; return its exit status."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and process.poll() is None:
            if _steps(checkpoint) >= steps:
                os.kill(process.pid, signal.SIGKILL)
                break
            time.sleep(0.005)
        return process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _dump(db: Path):
    with Store(f"sqlite:///{db}") as store:
        events = [e.model_dump(mode="json") for e in store.iter_events()]
        accounts = [a.model_dump(mode="json") for a in store.iter_accounts()]
        stats = {k: v for k, v in store.stats().items() if k != "url"}
    return events, accounts, stats


def test_kill9_and_resume_equals_uninterrupted_run(tmp_path):
    corpus = write_demo(
        generate_demo(seed=5, n_accounts=40, posts_per_account=(3, 8), images=False),
        tmp_path / "demo",
    )

    reference_db, reference_ckpt = tmp_path / "reference.sqlite", tmp_path / "reference.json"
    done = subprocess.run(_command(corpus, reference_db, reference_ckpt), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert not reference_ckpt.exists()

    db, ckpt = tmp_path / "killed.sqlite", tmp_path / "killed.json"
    slow = ("--latency", "0.01")
    first = _kill_after(_command(corpus, db, ckpt, *slow), ckpt, steps=12)
    assert first == -signal.SIGKILL, "the first run was killed mid-crawl"
    killed_at = _steps(ckpt)
    second = _kill_after(_command(corpus, db, ckpt, "--resume", *slow), ckpt, steps=killed_at + 40)
    assert second == -signal.SIGKILL, "the resumed run was killed mid-crawl too"
    assert _steps(ckpt) > killed_at

    final = subprocess.run(_command(corpus, db, ckpt, "--resume"), capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr
    assert not ckpt.exists(), "the completed crawl removed its checkpoint"

    events, accounts, stats = _dump(db)
    ref_events, ref_accounts, ref_stats = _dump(reference_db)
    assert len(events) == len({e["id"] for e in events}), "no event stored twice"
    assert events == ref_events
    assert accounts == ref_accounts
    assert stats == ref_stats
    assert stats["events"] > 100

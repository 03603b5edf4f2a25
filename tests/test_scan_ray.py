"""``--engine ray``: Ray Data (local mode, 2 workers) writes exactly what the in-process engine writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from drugwatch.demo import generate_demo, write_demo
from drugwatch.scan import run_scan
from drugwatch.scan.sinks import accounts_path
from drugwatch.scoring import train_default_detectors

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ray_local():
    ray = pytest.importorskip("ray")
    yield
    if ray.is_initialized():
        ray.shutdown()


def test_ray_and_in_process_give_identical_output(tmp_path: Path, ray_local: None) -> None:
    models = train_default_detectors(generate_demo(seed=31, n_accounts=10, images=False).events, tmp_path / "m")
    source = write_demo(generate_demo(seed=32, n_accounts=10, images=False), tmp_path / "c")
    with open(source, "a", encoding="utf-8") as handle:
        handle.write("{broken\n")
    dirs = list(models.values())
    local = run_scan(source, tmp_path / "local.jsonl", model_dirs=dirs, batch_size=32)
    # Small splits so several Ray read tasks and both actors take part.
    from drugwatch.scan import sources

    original = sources.SPLIT_BYTES
    sources.SPLIT_BYTES = 20_000
    try:
        remote = run_scan(source, tmp_path / "ray.jsonl", model_dirs=dirs, engine="ray", workers=2, batch_size=32)
    finally:
        sources.SPLIT_BYTES = original
    assert remote.counts() == local.counts()
    assert local.quarantined == 1
    assert (tmp_path / "ray.jsonl").read_bytes() == (tmp_path / "local.jsonl").read_bytes()
    assert accounts_path(tmp_path / "ray.jsonl").read_bytes() == accounts_path(tmp_path / "local.jsonl").read_bytes()
    assert (tmp_path / "ray.quarantine.jsonl").read_bytes() == (tmp_path / "local.quarantine.jsonl").read_bytes()

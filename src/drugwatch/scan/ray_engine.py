"""``engine="ray"``: the same scan with the scoring on Ray Data.

The input's splits (:mod:`drugwatch.scan.sources`) become the read tasks of
a Ray :class:`~ray.data.Datasource`; a callable class, :class:`ScoreBatch`,
loads the detectors once per worker (``map_batches`` with an actor pool of
``workers``) and scores batches of events; the driver iterates the results
in input order (``preserve_order``) and hands them to the same writer loop,
checkpoints and counts as the in-process engine. A result depends only on
its event and the models, so both engines write identical output.

Local mode by default (``ray.init`` on this machine); ``address`` joins a
cluster (``"auto"`` or ``"ray://head:10001"``), in which case the input
paths and model directories must be readable from every node.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

from drugwatch.io.base import Parsed, Problem
from drugwatch.records import Account, Event
from drugwatch.scan.sources import Source, SourceItem, Split
from drugwatch.scoring import EventResult, EventScorer

__all__ = ["ScoreBatch", "ray_windows"]

_COLUMNS = ("position", "resume", "kind", "payload")


def _encode_item(item: SourceItem) -> dict[str, Any]:
    inner = item.item
    if isinstance(inner, Problem):
        kind, payload = "problem", asdict(inner)
    else:
        kind = "account" if isinstance(inner.record, Account) else "event"
        payload = {"record": inner.record.model_dump(mode="json"), "source": inner.source, "locator": inner.locator}
    return {
        "position": item.position,
        "resume": json.dumps(item.resume),
        "kind": kind,
        "payload": json.dumps(payload, ensure_ascii=False),
    }


def _decode_item(position: int, resume: str, kind: str, payload: str) -> SourceItem:
    data = json.loads(payload)
    if kind == "problem":
        inner: Parsed | Problem = Problem(**data)
    else:
        model = Account if kind == "account" else Event
        inner = Parsed(model.model_validate(data["record"]), data["source"], data["locator"])
    return SourceItem(int(position), inner, json.loads(resume))


def _read_split(source: Source, split: Split, rows_per_block: int) -> Iterator[Any]:
    import pyarrow as pa

    rows: list[dict[str, Any]] = []
    for item in source.read(split):
        rows.append(_encode_item(item))
        if len(rows) >= rows_per_block:
            yield pa.Table.from_pylist(rows)
            rows = []
    if rows:
        yield pa.Table.from_pylist(rows)


def _datasource(source: Source, start: dict[str, int] | None, rows_per_block: int):
    from ray.data import Datasource, ReadTask
    from ray.data.block import BlockMetadata

    class ScanDatasource(Datasource):
        def __init__(self) -> None:
            self._splits = source.splits(start)

        def estimate_inmemory_data_size(self) -> int | None:
            return None

        def get_read_tasks(
            self, parallelism: int, per_task_row_limit: int | None = None, data_context: Any = None
        ) -> list[ReadTask]:
            tasks = []
            for split in self._splits:
                meta = BlockMetadata(num_rows=None, size_bytes=None, exec_stats=None, input_files=None)
                tasks.append(ReadTask(functools.partial(_read_split, source, split, rows_per_block), meta))
            return tasks

        def get_name(self) -> str:
            return f"drugwatch.scan.{source.kind}"

    return ScanDatasource()


class ScoreBatch:
    """Ray Data callable class: detectors loaded once in ``__init__``, applied per batch."""

    def __init__(self, model_dirs: list[str] | None, scorer: EventScorer | None, ocr: bool, language: str):
        if model_dirs:
            ocr_engine = None
            if ocr:
                from drugwatch.vision.ocr import default_ocr_engine

                ocr_engine = default_ocr_engine()
            self.scorer = EventScorer.from_directories(model_dirs, ocr=ocr_engine, language=language)
        else:
            assert scorer is not None
            self.scorer = scorer

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        from drugwatch.scan.engine import score_items

        items = [_decode_item(*values) for values in zip(*(batch[c] for c in _COLUMNS))]
        outcomes = score_items(self.scorer, items)
        out: dict[str, list[Any]] = {c: [] for c in _COLUMNS}
        for item, outcome in zip(items, outcomes):
            out["position"].append(item.position)
            out["resume"].append(json.dumps(item.resume))
            if isinstance(outcome, EventResult):
                out["kind"].append("result")
                out["payload"].append(outcome.to_json())
            elif isinstance(outcome, Account):
                out["kind"].append("account")
                out["payload"].append(json.dumps(outcome.model_dump(mode="json"), ensure_ascii=False))
            else:
                out["kind"].append("problem")
                out["payload"].append(json.dumps(asdict(outcome), ensure_ascii=False))
        return out


@dataclass(frozen=True, slots=True)
class _Done:
    position: int
    resume: dict[str, int]


def _decode_outcome(kind: str, payload: str) -> EventResult | Account | Problem:
    if kind == "result":
        return EventResult.from_json(payload)
    if kind == "account":
        return Account.model_validate_json(payload)
    return Problem(**json.loads(payload))


def ray_windows(
    source: Source,
    scorer: EventScorer,
    start: dict[str, int] | None,
    *,
    batch_size: int = 256,
    workers: int = 2,
    address: str | None = None,
) -> Iterator[list[tuple[_Done, Any]]]:
    """Scored windows in input order, computed by Ray Data (see the module docstring)."""
    try:
        import ray
        from ray.data import DataContext
    except ImportError as exc:
        raise ImportError(
            f"--engine ray needs Ray Data ({exc}); install it with: pip install 'ray[data]>=2.9'"
        ) from None

    if not ray.is_initialized():
        if address:
            ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
        else:
            ray.init(
                num_cpus=workers + 1,
                include_dashboard=False,
                ignore_reinit_error=True,
                log_to_driver=False,
                configure_logging=False,
            )
    ctx = DataContext.get_current()
    ctx.execution_options.preserve_order = True
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False
    paths = scorer.model_paths
    model_dirs = [str(p) for p in paths if p is not None]
    # Workers load saved models by path; models made in memory travel pickled instead.
    by_path = bool(paths) and len(model_dirs) == len(paths)
    ds = ray.data.read_datasource(_datasource(source, start, batch_size))
    ds = ds.map_batches(
        ScoreBatch,
        fn_constructor_kwargs={
            "model_dirs": model_dirs if by_path else None,
            "scorer": None if by_path else scorer,
            "ocr": scorer.ocr is not None,
            "language": scorer.language,
        },
        batch_size=batch_size,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=1,
    )
    for batch in ds.iter_batches(batch_size=batch_size, batch_format="numpy", prefetch_batches=2):
        yield [
            (_Done(int(p), json.loads(r)), _decode_outcome(k, payload))
            for p, r, k, payload in zip(batch["position"], batch["resume"], batch["kind"], batch["payload"])
        ]

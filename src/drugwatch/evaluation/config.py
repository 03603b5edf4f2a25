"""Experiment config files: the TOML schema, dotted overrides and loading.

An experiment is a TOML file (see ``experiments/``)::

    [experiment]
    name = "jmir_table1"
    title = "JMIR table 1 (proxy data)"

    [data]
    path = "../../shared/bench/dev/selling.jsonl"   # relative to this file
    bench_file = "dev/selling.jsonl"   # used instead when DRUGWATCH_BENCH is set
    dedup_threshold = 0.7              # 0 turns near-duplicate removal off

    [cv]
    n_splits = 10
    seed = 0

    [train]
    seed = 0             # the seed of every detector that takes one
    column = "ours"      # what `drugwatch train` fits
    row = "with_hashtags"

    [rows]               # table rows: one detector parameter swept
    param = "variant"
    values = ["with_hashtags", "hashtags_only", "without_hashtags"]

    [columns.rf]         # table columns: registered detectors
    detector = "drugwatch.jmir_rf.v1"
    title = "Random forest"
    params = { n_estimators = 100 }

Dotted overrides (``train.seed=3``, ``columns.lstm.params.max_epochs=5``,
``run.columns=["ours"]``) are applied to the parsed TOML before validation;
values are read as TOML (``3``, ``0.5``, ``"text"``, ``[1, 2]``), and
anything that is not valid TOML is taken as a string.

``data.target`` names the task (:mod:`drugwatch.evaluation.tasks`):
``selling`` (binary), ``drugtype`` (DMML's 10 labels), and the image targets
``drug_image`` and ``image_tree`` (:mod:`drugwatch.vision.evaluation`, also
used for ``drugtype`` on data with images: ``data.format`` ``images``,
``jsonl``, ``demo``). The runner is :mod:`drugwatch.evaluation.experiment`.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from drugwatch.models.base import Detector
from drugwatch.models.registry import get_detector_class

BENCH_ENV = "DRUGWATCH_BENCH"
METRICS_FILE = "metrics.json"
TABLE_FILE = "table.md"
CHECKPOINT_DIR = "folds"


class ConfigError(ValueError):
    """An experiment config that cannot be used, with what to change."""


# ---------------------------------------------------------------------------
# Config schema


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExperimentSection(_Strict):
    name: str = Field(min_length=1, max_length=100)
    title: str = ""
    note: str = ""


class DataSection(_Strict):
    path: str = Field(min_length=1)
    bench_file: str | None = None
    dedup_threshold: float = Field(default=0.7, ge=0, le=1)
    # The task (drugwatch.evaluation.tasks.task_for): "selling" and "drugtype" on text bench files; the image
    # targets, and "drugtype" on data with images, by drugwatch.vision.evaluation.
    target: str = Field(default="selling", pattern="^(selling|drugtype|drug_image|image_tree)$")
    #: "auto" guesses from the path ("demo:...") and the first record; see drugwatch.vision.evaluation.
    format: str = Field(default="auto", pattern="^(auto|bench|jsonl|images|demo)$")
    #: Image experiments: keep at most this many events (a deterministic subset) when a CPU cannot afford all.
    max_events: int | None = Field(default=None, ge=2)


class CVSection(_Strict):
    n_splits: int = Field(default=10, ge=2)
    seed: int = Field(default=0, ge=0)
    # Run only these folds (0-based; empty = all): expensive detectors can be
    # cross-validated a few folds at a time (fold checkpoints keep the rest).
    folds: list[int] = Field(default_factory=list)


class TrainSection(_Strict):
    seed: int = Field(default=0, ge=0)
    column: str | None = None
    row: Any = None
    cross_validate: bool = False


class RowsSection(_Strict):
    param: str | None = None
    values: list[Any] = Field(default_factory=lambda: [None])
    titles: list[str] | None = None


class RunSection(_Strict):
    columns: list[str] = Field(default_factory=list)
    rows: list[Any] = Field(default_factory=list)


class LofoSection(_Strict):
    """Leave-one-source-family-out after the CV (:mod:`drugwatch.evaluation.lofo`); off unless ``enabled``."""

    enabled: bool = False
    scheme: str = Field(default="source", pattern="^(source|platform)$")
    #: Darknet listings added to the universe: a file next to the data file, at most ``darknet_max``.
    darknet_file: str | None = "drugtype.jsonl"
    darknet_max: int = Field(default=8000, ge=0)
    negative_fraction: float = Field(default=1.0, gt=0, le=1)
    families: list[str] = Field(default_factory=list)


class ColumnSection(_Strict):
    detector: str
    title: str = ""
    params: dict[str, Any] = Field(default_factory=dict)
    #: Rows this column does not take part in (e.g. a detector without that variant).
    skip_rows: list[Any] = Field(default_factory=list)


class ExperimentConfig(_Strict):
    experiment: ExperimentSection
    data: DataSection
    cv: CVSection = CVSection()
    train: TrainSection = TrainSection()
    rows: RowsSection = RowsSection()
    run: RunSection = RunSection()
    lofo: LofoSection = LofoSection()
    columns: dict[str, ColumnSection]
    #: Directory the config file lives in; relative data paths resolve against it.
    base_dir: str = "."

    @field_validator("columns")
    @classmethod
    def _columns(cls, value: dict[str, ColumnSection]) -> dict[str, ColumnSection]:
        if not value:
            raise ValueError("an experiment needs at least one [columns.NAME] section")
        for key, column in value.items():
            try:
                get_detector_class(column.detector)
            except (KeyError, ValueError) as exc:  # the message lists the known names
                raise ValueError(f"columns.{key}.detector: {exc}") from None
            if not column.title:
                object.__setattr__(column, "title", key)
        return value

    def data_path(self) -> Path:
        """The data file: ``$DRUGWATCH_BENCH/<bench_file>`` if set, else ``path`` from the config's folder."""
        bench = os.environ.get(BENCH_ENV)
        if bench and self.data.bench_file:
            return Path(bench) / self.data.bench_file
        path = Path(os.path.expandvars(self.data.path)).expanduser()
        return path if path.is_absolute() else (Path(self.base_dir) / path).resolve()

    def row_values(self) -> list[Any]:
        values = list(self.rows.values)
        if self.run.rows:
            unknown = [r for r in self.run.rows if r not in values]
            if unknown:
                raise ConfigError(f"run.rows names unknown rows {unknown}; rows are {values}")
            values = [v for v in values if v in self.run.rows]
        return values

    def column_keys(self) -> list[str]:
        keys = list(self.columns)
        if self.run.columns:
            unknown = [c for c in self.run.columns if c not in keys]
            if unknown:
                raise ConfigError(f"run.columns names unknown columns {unknown}; columns are {keys}")
            keys = [k for k in keys if k in self.run.columns]
        return keys

    def row_title(self, value: Any) -> str:
        if self.rows.titles and value in self.rows.values:
            return self.rows.titles[self.rows.values.index(value)]
        return "all" if value is None else str(value)

    def build_detector(self, column_key: str, row_value: Any) -> Detector:
        column = self.columns[column_key]
        cls = get_detector_class(column.detector)
        params = dict(column.params)
        accepted = set(cls._param_names())
        if self.rows.param is not None and row_value is not None and self.rows.param in accepted:
            params[self.rows.param] = row_value
        if "seed" in accepted and "seed" not in column.params:
            params["seed"] = self.train.seed
        unknown = sorted(set(params) - accepted)
        if unknown:
            raise ConfigError(
                f"columns.{column_key}: {column.detector} has no parameter(s) {unknown}; valid: {sorted(accepted)}"
            )
        return cls(**params)


# ---------------------------------------------------------------------------
# Loading and overrides


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"train.seed=3"`` -> ``(["train", "seed"], 3)``; the value is read as TOML if it can be."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} must look like section.key=value (e.g. train.seed=3)")
    key, raw = text.split("=", 1)
    key = key.strip().lstrip("-")
    if not key or any(not part for part in key.split(".")):
        raise ConfigError(f"override {text!r} has an empty key")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return key.split("."), value


def parse_params(items: Sequence[str]) -> dict[str, Any]:
    """``["offer_gate=true", "target_fpr=0.001"]`` -> ``{"offer_gate": True, "target_fpr": 0.001}``
    (values read as TOML, else kept as text; :func:`parse_override` per item)."""
    params: dict[str, Any] = {}
    for item in items:
        path, value = parse_override(item)
        params[".".join(path)] = value
    return params


def apply_overrides(data: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Apply dotted overrides to a parsed TOML document (a copy is returned)."""
    data = json.loads(json.dumps(data, default=str))
    for text in overrides:
        path, value = parse_override(text)
        node = data
        for part in path[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(f"override {text!r}: {part!r} is a value, not a section")
            node = child
        node[path[-1]] = value
    return data


def extra_args_to_overrides(args: Sequence[str]) -> list[str]:
    """spaCy-style extra CLI args (``--train.seed 3`` or ``--train.seed=3``) -> ``["train.seed=3"]``."""
    out: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if not arg.startswith("--"):
            raise ConfigError(f"unexpected argument {arg!r}; overrides look like --section.key value")
        if "=" in arg:
            out.append(arg[2:])
            i += 1
            continue
        if i + 1 >= len(args) or args[i + 1].startswith("--"):
            raise ConfigError(f"override {arg} has no value")
        out.append(f"{arg[2:]}={args[i + 1]}")
        i += 2
    return out


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> ExperimentConfig:
    """Read and validate an experiment TOML, after applying ``overrides``."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"no such config file: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    raw = apply_overrides(raw, overrides)
    raw["base_dir"] = str(path.resolve().parent)
    try:
        return ExperimentConfig.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors(include_url=False)
        )
        raise ConfigError(f"{path}: {problems}") from None


@contextmanager
def bench_errors() -> Iterator[None]:
    """A bench file that does not read as one becomes a :class:`ConfigError` saying what to change."""
    from drugwatch.io.base import ReaderError

    try:
        yield
    except ReaderError as exc:
        hint = (
            ' (image records: set data.format = "images" and data.target = "drug_image", "image_tree" or "drugtype")'
            if "lacks text" in str(exc)
            else ""
        )
        raise ConfigError(f"cannot read the data as bench records: {exc}{hint}") from None


def clean_json(value: Any) -> Any:
    """A result made JSON-safe: numpy scalars as Python numbers, non-finite floats as ``None``."""
    if isinstance(value, dict):
        return {str(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_json(v) for v in value]
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return value if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def write_json(path: Path, value: Any) -> None:
    """Write ``value`` as indented JSON (made JSON-safe first)."""
    path.write_text(json.dumps(clean_json(value), indent=2) + "\n", encoding="utf-8")


__all__ = [
    "BENCH_ENV",
    "CHECKPOINT_DIR",
    "METRICS_FILE",
    "TABLE_FILE",
    "ColumnSection",
    "ConfigError",
    "ExperimentConfig",
    "apply_overrides",
    "bench_errors",
    "clean_json",
    "extra_args_to_overrides",
    "load_config",
    "parse_override",
    "write_json",
]

"""Labelling guidelines: each label's definition and examples, what each
level means, and what counts as contact information for the dealer question.

The built-in text is ``guidelines.toml`` beside this module. A project edits
its own copy (``DRUGWATCH_ANNOTATE_GUIDELINES``): every table it gives
replaces the built-in one, key by key, so a project may reword one label and
keep the rest. The file is read once at start, capped at
:data:`MAX_GUIDELINES_BYTES`, and checked: unknown labels or levels are an
error naming the file, never silently ignored.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drugwatch.annotate.schema import LABEL_LEVELS
from drugwatch.labels import LABELS

BUILTIN = Path(__file__).with_name("guidelines.toml")
MAX_GUIDELINES_BYTES = 256 * 1024
_MAX_EXAMPLES = 20


class GuidelinesError(ValueError):
    """A guidelines file that cannot be used; the message names the file and the fix."""


@dataclass(frozen=True)
class LabelGuide:
    label: str
    definition: str
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class LevelGuide:
    level: str
    name: str
    definition: str
    post_name: str | None = None
    comment_name: str | None = None


@dataclass(frozen=True)
class Guidelines:
    title: str
    summary: str
    labels: dict[str, LabelGuide]
    levels: dict[str, LevelGuide]
    dealer: dict[str, Any] = field(default_factory=dict)
    source: str = "built-in"

    def level_name(self, level: str, kind: str) -> str:
        """What a level is called on an item of ``kind``: a post's text level is its caption."""
        guide = self.levels[level]
        if kind == "post" and guide.post_name:
            return guide.post_name
        if kind == "comment" and guide.comment_name:
            return guide.comment_name
        return guide.name


def _read(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_GUIDELINES_BYTES + 1)
    except OSError as exc:
        raise GuidelinesError(f"cannot read the guidelines file {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_GUIDELINES_BYTES:
        raise GuidelinesError(f"the guidelines file {path} is over {MAX_GUIDELINES_BYTES // 1024} KiB; shorten it")
    try:
        return tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise GuidelinesError(f"the guidelines file {path} is not valid UTF-8 TOML: {exc}") from None


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        out[key] = _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _text(value: Any, where: str, source: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise GuidelinesError(f"{source}: {where} must be a non-empty string")
    return " ".join(value.split())


def _examples(value: Any, where: str, source: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise GuidelinesError(f"{source}: {where} must be a list of strings")
    return tuple(v.strip() for v in value[:_MAX_EXAMPLES] if v.strip())


def load_guidelines(path: str | os.PathLike[str] | None = None) -> Guidelines:
    """The built-in guidelines, overridden by the TOML file at ``path`` if given."""
    data = _read(BUILTIN)
    source = "built-in"
    if path is not None:
        override = _read(Path(path))
        source = str(path)
        unknown = sorted(set(override.get("labels", {})) - set(LABELS))
        if unknown:
            raise GuidelinesError(f"{source}: unknown label(s) {', '.join(unknown)}; expected: {', '.join(LABELS)}")
        unknown = sorted(set(override.get("levels", {})) - set(LABEL_LEVELS))
        if unknown:
            raise GuidelinesError(
                f"{source}: unknown level(s) {', '.join(unknown)}; expected: {', '.join(LABEL_LEVELS)}"
            )
        data = _merge(data, override)
    labels = {}
    for label in LABELS:
        entry = data.get("labels", {}).get(label, {})
        labels[label] = LabelGuide(
            label,
            _text(entry.get("definition"), f"labels.{label}.definition", source),
            _examples(entry.get("examples"), f"labels.{label}.examples", source),
        )
    levels = {}
    for level in LABEL_LEVELS:
        entry = data.get("levels", {}).get(level, {})
        levels[level] = LevelGuide(
            level,
            _text(entry.get("name", level), f"levels.{level}.name", source),
            _text(entry.get("definition"), f"levels.{level}.definition", source),
            entry.get("post_name"),
            entry.get("comment_name"),
        )
    dealer = dict(data.get("dealer", {}))
    dealer["definition"] = _text(dealer.get("definition"), "dealer.definition", source)
    dealer["contact"] = _text(dealer.get("contact"), "dealer.contact", source)
    for key in ("examples_yes", "examples_no"):
        dealer[key] = _examples(dealer.get(key), f"dealer.{key}", source)
    return Guidelines(
        title=_text(data.get("title", "Labelling guidelines"), "title", source),
        summary=_text(data.get("summary", ""), "summary", source) if data.get("summary") else "",
        labels=labels,
        levels=levels,
        dealer=dealer,
        source=source,
    )

"""Same-output check for the text layer: a digest of every field of every view.

    python benchmarks/text_digest.py texts OUT.jsonl [--bench-dir ../shared/bench/dev] [--attacked 12]
    python benchmarks/text_digest.py digest TEXTS.jsonl OUT.txt
    python benchmarks/text_digest.py compare A.txt B.txt

``texts`` writes the inputs once: the distinct ``text`` fields of the kit's
``drugtype.jsonl`` and ``selling.jsonl`` plus, for ``--attacked`` attack
families (``drugwatch.evaluation.attacks``), a heavy-strength attacked copy
of every 24th text (masks, look-alikes, separators, mixtures: the paths that
plain texts rarely take). ``digest`` reads those texts with
``analyze_many`` and, for every 16th text, with ``analyze`` as well (the two
must agree), and writes one SHA-1 per text of every field of its view: the
raw and normalized text, the offset maps, each hashtag's analysis and span,
each contact and each lexicon hit, and the labels. ``compare`` reports the
texts whose digests differ.

To compare old code with new, run ``digest`` once with the old package on
``PYTHONPATH`` (a copy of ``src/`` with the old files put back) and once with
the new; both read the same texts file, so the lexicon data, which the
digest covers, must be the same in both copies.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any


def _plain(value: Any) -> Any:
    """``value`` as nested tuples of field names and values (dataclasses by field)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (
            type(value).__name__,
            tuple((f.name, _plain(getattr(value, f.name))) for f in dataclasses.fields(value)),
        )
    if isinstance(value, (tuple, list)):
        return tuple(_plain(v) for v in value)
    if isinstance(value, (frozenset, set)):
        return tuple(sorted(repr(_plain(v)) for v in value))
    if isinstance(value, dict):
        return tuple(sorted((repr(k), repr(_plain(v))) for k, v in value.items()))
    return value


def view_digest(view: Any) -> str:
    return hashlib.sha1(repr(_plain(view)).encode("utf-8", "surrogatepass")).hexdigest()


def _cmd_texts(args: argparse.Namespace) -> int:
    texts: list[str] = []
    for name in ("drugtype.jsonl", "selling.jsonl"):
        with (args.bench_dir / name).open(encoding="utf-8") as handle:
            texts.extend(json.loads(line)["text"] for line in handle if line.strip())
    unique = list(dict.fromkeys(texts))
    out = list(unique)
    if args.attacked:
        from drugwatch.evaluation.attacks import FAMILIES, attack

        sample = unique[:: args.every]
        for number, family in enumerate(FAMILIES[: args.attacked]):
            out.extend(attack(t, family, "heavy", seed=number * 1000 + i) for i, t in enumerate(sample))
    with args.out.open("w", encoding="utf-8") as handle:
        for text in out:
            handle.write(json.dumps(text, ensure_ascii=False) + "\n")
    print(f"{len(out)} texts ({len(unique)} distinct kit texts, {len(out) - len(unique)} attacked) -> {args.out}")
    return 0


def _cmd_digest(args: argparse.Namespace) -> int:
    from drugwatch.text import analyze as analyze_module

    with args.texts.open(encoding="utf-8") as handle:
        texts = [json.loads(line) for line in handle if line.strip()]
    t0 = time.process_time()
    views = analyze_module.analyze_many(texts)
    elapsed = time.process_time() - t0
    digests = [view_digest(v) for v in views]
    mismatched = 0
    for i in range(0, len(texts), 16):
        analyze_module._analyze_cached.cache_clear()
        if view_digest(analyze_module.analyze(texts[i])) != digests[i]:
            mismatched += 1
    with args.out.open("w", encoding="utf-8") as handle:
        handle.writelines(d + "\n" for d in digests)
    print(
        f"{len(texts)} views digested -> {args.out} (analyze_many {len(texts) / elapsed:,.0f} texts/CPU-s; "
        f"analyze differs from analyze_many on {mismatched} texts)"
    )
    return 1 if mismatched else 0


def _cmd_compare(args: argparse.Namespace) -> int:
    a = args.a.read_text(encoding="utf-8").split()
    b = args.b.read_text(encoding="utf-8").split()
    if len(a) != len(b):
        print(f"different counts: {len(a)} vs {len(b)}")
        return 1
    diff = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
    if args.texts is not None and diff:
        with args.texts.open(encoding="utf-8") as handle:
            texts = [json.loads(line) for line in handle if line.strip()]
        for i in diff[:20]:
            print(f"  #{i}: {texts[i]!r}")
    print(f"{len(a)} texts, {len(diff)} differ")
    return 1 if diff else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("texts")
    p.add_argument("out", type=Path)
    default_dir = Path(__file__).resolve().parents[1] / ".." / "shared" / "bench" / "dev"
    p.add_argument("--bench-dir", type=Path, default=default_dir)
    p.add_argument("--attacked", type=int, default=12, help="attack families to add (0: kit texts only)")
    p.add_argument("--every", type=int, default=24, help="attack every Nth distinct text")
    p = sub.add_parser("digest")
    p.add_argument("texts", type=Path)
    p.add_argument("out", type=Path)
    p = sub.add_parser("compare")
    p.add_argument("a", type=Path)
    p.add_argument("b", type=Path)
    p.add_argument("--texts", type=Path, default=None, help="print the first differing texts")
    args = parser.parse_args(argv)
    return {"texts": _cmd_texts, "digest": _cmd_digest, "compare": _cmd_compare}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())

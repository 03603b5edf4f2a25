"""Inference speed of the multimodal detectors on this CPU (events/s).

Rows:

* MMBT (``drugwatch.mmbt.v1``, 4 image tokens, max_len 64) on demo events
  that all carry an image, batch 32: with the image features already cached
  (the transformer alone) and cold (EfficientNet-Lite0 encoding included,
  a fresh cache); and the same model exported to ONNX, fp32 and dynamic
  int8 (:class:`drugwatch.models.onnx_text.OnnxMMBTDetector`), features cached;
* the late-fusion and image-only heads on the same events (features cached);
* the MiniLM text detector (``drugwatch.minilm.v1``) at batch 32: PyTorch vs
  ONNX fp32 vs ONNX dynamic int8 (:mod:`drugwatch.models.onnx_text`), with
  the largest probability difference to PyTorch.

* ``drugwatch scan`` (:func:`drugwatch.scan.engine.run_scan`, in-process,
  JSONL in and out) of the same events, in one call: text only (the
  default fast detectors, ``drugwatch.selling.v1`` + ``drugwatch.drugtype.v1``
  fitted on the demo corpus), then the same plus the Yang & Luo image model
  (``drugwatch.yang_luo_image.v1``: per-image probabilities and the late
  fusion of :mod:`drugwatch.vision.image_scoring`) with a cold feature
  cache (every image decoded and encoded) and warm (the cache answers).
  Wall-clock seconds include reading, scoring and writing, not loading the
  models.

The models are fitted for a few steps only: speed does not depend on the
weights. One untimed warm-up call precedes each timed one.

    python benchmarks/bench_multimodal.py [--events 128] [--threads 2] [--out results.json]
    python benchmarks/bench_multimodal.py --scan-only --events 256   # only the scan rows
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np


def _demo_events(n: int, root: Path):
    from drugwatch.demo import generate_demo, write_demo
    from drugwatch.io.jsonl import read_jsonl
    from drugwatch.records import Event

    corpus = generate_demo(seed=7, n_accounts=30, images=True)
    write_demo(corpus, root)
    events = [
        item.record for item in read_jsonl(root / "demo.jsonl") if isinstance(getattr(item, "record", None), Event)
    ]
    with_images = [e for e in events if e.images]
    return with_images[:n], events


def _scan_rows(events, all_events, tmp_path: Path, threads: int, results: dict) -> None:
    """Scan speed: text-only vs with the image model, cold and warm feature cache, in this one process."""
    from drugwatch.models.multitask_image import MultitaskImageDetector
    from drugwatch.scan.engine import run_scan
    from drugwatch.scoring import EventScorer, train_default_detectors

    corpus = tmp_path / "scan-input.jsonl"
    corpus.write_text(
        "".join(json.dumps({"record_type": "event", **e.model_dump(mode="json")}) + "\n" for e in events),
        encoding="utf-8",
    )
    labelled = [e for e in all_events if e.labels is not None or e.selling is not None][:600]
    text_dirs = train_default_detectors(labelled, tmp_path / "models")
    image_model = (
        MultitaskImageDetector(epochs=2, num_threads=threads)
        .fit([e for e in all_events if e.images][:64])
        .save(tmp_path / "models" / "image")
    )
    text_scorer = EventScorer.from_directories(text_dirs.values())
    image_scorer = EventScorer.from_directories([*text_dirs.values(), image_model])
    n = len(events)

    def scan(scorer, name: str) -> float:
        started = time.perf_counter()
        report = run_scan(corpus, tmp_path / f"{name}.jsonl", scorer=scorer, overwrite=True, resume=False)
        seconds = time.perf_counter() - started
        assert report.results == n, report.counts()
        return seconds

    scan(text_scorer, "warm-up")  # loads the text layer's tables once
    rows = {"text_only": scan(text_scorer, "text")}
    os.environ["DRUGWATCH_HOME"] = str(tmp_path / "scan-cold")  # an empty feature cache
    rows["with_images_cold_cache"] = scan(image_scorer, "cold")
    rows["with_images_warm_cache"] = scan(image_scorer, "warm")
    n_images = sum(len(e.images) for e in events)
    results["scan"] = {
        "events": n,
        "images": n_images,
        **{f"{k}_events_per_s": n / v for k, v in rows.items()},
        **{f"{k}_s": v for k, v in rows.items()},
    }
    print(
        f"drugwatch scan, {n} events ({n_images} images), in-process: "
        + ", ".join(f"{k} {n / v:.1f} ev/s ({v:.1f} s)" for k, v in rows.items()),
        flush=True,
    )


def _timed(fn, repeat: int = 1) -> float:
    fn()  # warm-up
    started = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - started) / repeat


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip-text", action="store_true", help="skip the MiniLM PyTorch/ONNX rows")
    parser.add_argument("--scan-only", action="store_true", help="only the drugwatch scan rows")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    from drugwatch.models import create_detector
    from drugwatch.models.mmbt import MMBTDetector

    results: dict[str, object] = {"threads": args.threads, "load_avg": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="bench-mm-") as tmp:
        tmp_path = Path(tmp)
        os.environ["DRUGWATCH_HOME"] = str(tmp_path / "home")
        events, all_events = _demo_events(args.events, tmp_path / "demo")
        train = [e for e in all_events if e.labels][:64]
        n = len(events)
        results["n_events"] = n
        _scan_rows(events, all_events, tmp_path, args.threads, results)
        os.environ["DRUGWATCH_HOME"] = str(tmp_path / "home")
        if args.scan_only:
            if args.out:
                args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
            return 0

        mmbt = MMBTDetector(
            n_image_tokens=4,
            max_len=64,
            epochs=1,
            batch_size=16,
            max_train=16,
            validation_fraction=0.0,
            num_threads=args.threads,
        ).fit(train)
        # Cold: a fresh feature cache, the CNN runs on every image.
        os.environ["DRUGWATCH_HOME"] = str(tmp_path / "cold")
        started = time.perf_counter()
        mmbt.predict_proba(events)
        cold = time.perf_counter() - started
        warm = _timed(lambda: mmbt.predict_proba(events))
        results["mmbt_cold_events_per_s"] = n / cold
        results["mmbt_cached_events_per_s"] = n / warm
        print(
            f"MMBT (4 tokens, max_len 64), {n} events with images: cold cache {n / cold:.1f} ev/s, "
            f"features cached {n / warm:.1f} ev/s",
            flush=True,
        )

        # The same MMBT exported to ONNX (fp32 and dynamic int8), features cached, batch 64 as PyTorch.
        from drugwatch.models.onnx_text import OnnxMMBTDetector, export_onnx, quantize_int8

        mmbt_fp32 = export_onnx(mmbt.save(tmp_path / "mmbt"), tmp_path / "mmbt-onnx")
        mmbt_ref = mmbt.predict_proba(events)
        for label, path in (("onnx_fp32", mmbt_fp32), ("onnx_int8", quantize_int8(mmbt_fp32))):
            runner = OnnxMMBTDetector(path, num_threads=args.threads)
            seconds = _timed(lambda r=runner: r.predict_proba(events))
            results[f"mmbt_{label}_cached_events_per_s"] = n / seconds
            results[f"mmbt_{label}_max_abs_diff"] = float(np.abs(runner.predict_proba(events) - mmbt_ref).max())
            print(
                f"MMBT {label}, features cached: {n / seconds:.1f} ev/s "
                f"(max |p - PyTorch| {results[f'mmbt_{label}_max_abs_diff']:.2g})",
                flush=True,
            )

        for name in ("drugwatch.image_only.v1", "drugwatch.fusion_concat.v1", "drugwatch.fusion_fbc.v1"):
            det = create_detector(name, epochs=1, validation_fraction=0.0, num_threads=args.threads).fit(train)
            seconds = _timed(lambda d=det: d.predict_proba(events))
            results[f"{name}_cached_events_per_s"] = n / seconds
            print(f"{name}: features cached {n / seconds:.1f} ev/s", flush=True)

        if not args.skip_text:
            try:
                from drugwatch.models.onnx_text import OnnxTextDetector, export_onnx, quantize_int8
            except ImportError:
                print("drugwatch.models.onnx_text not available: MiniLM ONNX rows skipped")
            else:
                texts = [e.text for e in all_events][:256]
                minilm = create_detector(
                    "drugwatch.minilm.v1",
                    max_len=64,
                    epochs=1,
                    batch_size=16,
                    max_train=16,
                    validation_fraction=0.0,
                    num_threads=args.threads,
                ).fit(train)
                model_dir = minilm.save(tmp_path / "minilm")
                fp32 = export_onnx(model_dir, tmp_path / "minilm-onnx")
                int8 = quantize_int8(fp32)
                torch_s = _timed(lambda: minilm._logits(texts, batch=32))
                ref = minilm.predict_proba(texts)
                row: dict[str, float] = {"pytorch_events_per_s": len(texts) / torch_s}
                for label, path in (("onnx_fp32", fp32), ("onnx_int8", int8)):
                    runner = OnnxTextDetector(path, num_threads=args.threads)
                    seconds = _timed(lambda r=runner: r.predict_proba(texts, batch=32))
                    row[f"{label}_events_per_s"] = len(texts) / seconds
                    row[f"{label}_max_abs_diff"] = float(np.abs(runner.predict_proba(texts, batch=32) - ref).max())
                results["minilm_batch32"] = row
                print(
                    "MiniLM text detector, batch 32, max_len 64: " + ", ".join(f"{k} {v:.4g}" for k, v in row.items()),
                    flush=True,
                )
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Throughput of the image side: PyTorch vs ONNX encoder, cache hits, OCR.

    python benchmarks/bench_vision.py [--images 64] [--ocr-images 16] [--batch-size 32]
                                      [--source demo|dev] [--bench-dir ../shared/bench/dev]
                                      [--json results.json]

Images: ``--source demo`` (default) draws ``--images`` demo scenes with
:func:`drugwatch.demo.images.render` (320 x 320 JPEGs, every scene kind, a
quarter of them contact notes); ``--source dev`` uses the first ``--images``
files listed in the bench kit's ``images.jsonl`` (loaded by path, never
copied).

Everything runs in this one process, caches off (``use_cache=False``) except
for the cache-hit row. Each encoder gets one untimed warm-up batch (model load,
allocator), then encodes all images ``--batch-size`` at a time; the figure is
images/s including decoding and preprocessing. The ONNX graph is exported
first (in a child process, as in production) into a temporary folder, and
the largest difference between the two encoders' pooled features is printed.
OCR: RapidOCR (PP-OCRv6 small, ONNX) on ``--ocr-images`` images, one at a time.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _demo_images(count: int, folder: Path) -> list[Path]:
    from drugwatch.demo.images import IMAGE_KINDS, render

    kinds = [kind for kind in IMAGE_KINDS if kind != "contact_note"]
    paths = []
    for i in range(count):
        name = folder / f"demo-{i:04d}.jpg"
        if i % 4 == 3:
            text = f"text me 440-555-01{i % 100:02d}\nwickr: plug_{i}"
            name.write_bytes(render("contact_note", f"bench-{i}", text=text))
        else:
            kind = kinds[i % len(kinds)]
            overlay = f"snap: dealer_{i}" if i % 8 == 1 else None
            name.write_bytes(render(kind, f"bench-{i}", overlay=overlay))
        paths.append(name)
    return paths


def _dev_images(count: int, bench_dir: Path) -> list[Path]:
    listing = bench_dir / "images.jsonl"
    paths = []
    with listing.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                paths.append(bench_dir / json.loads(line)["file"])
            if len(paths) >= count:
                break
    return paths


def _time_encoder(encoder, paths: list[Path], batch_size: int) -> tuple[float, np.ndarray]:
    encoder.encode(paths[:batch_size])  # warm-up, untimed
    start = time.perf_counter()
    features = encoder.encode(paths)
    elapsed = time.perf_counter() - start
    return len(paths) / elapsed, features.pooled


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=64)
    parser.add_argument("--ocr-images", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--source", choices=("demo", "dev"), default="demo")
    default_dir = Path(__file__).resolve().parents[1] / ".." / "shared" / "bench" / "dev"
    parser.add_argument("--bench-dir", type=Path, default=default_dir)
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args(argv)

    import onnxruntime
    import torch

    from drugwatch.vision import ImageEncoder, OcrEngine, OnnxImageEncoder, export_onnx

    results: dict[str, object] = {
        "source": args.source,
        "images": args.images,
        "batch_size": args.batch_size,
        "torch_threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
    }
    with tempfile.TemporaryDirectory(prefix="drugwatch-bench-vision-") as tmp:
        tmp_dir = Path(tmp)
        if args.source == "demo":
            paths = _demo_images(args.images, tmp_dir)
        else:
            if not (args.bench_dir / "images.jsonl").is_file():
                print(f"{args.bench_dir / 'images.jsonl'} not found; pass --bench-dir", file=sys.stderr)
                return 2
            paths = _dev_images(args.images, args.bench_dir.resolve())

        torch_rate, torch_pooled = _time_encoder(
            ImageEncoder(batch_size=args.batch_size, use_cache=False), paths, args.batch_size
        )
        results["torch_images_per_s"] = round(torch_rate, 2)
        print(f"PyTorch encoder : {torch_rate:8.2f} images/s")

        start = time.perf_counter()
        onnx_path = export_onnx(tmp_dir / "onnx")
        results["onnx_export_s"] = round(time.perf_counter() - start, 1)
        print(f"ONNX export     : {results['onnx_export_s']:8.1f} s (child process)")
        onnx_rate, onnx_pooled = _time_encoder(
            OnnxImageEncoder(onnx_path.parent, batch_size=args.batch_size, use_cache=False),
            paths,
            args.batch_size,
        )
        results["onnx_images_per_s"] = round(onnx_rate, 2)
        results["onnx_speedup"] = round(onnx_rate / torch_rate, 2)
        results["max_abs_diff_pooled"] = float(np.abs(onnx_pooled - torch_pooled).max())
        print(
            f"ONNX encoder    : {onnx_rate:8.2f} images/s  (x{results['onnx_speedup']}, "
            f"max |diff| pooled {results['max_abs_diff_pooled']:.2e})"
        )

        cached = ImageEncoder(batch_size=args.batch_size, cache_dir=tmp_dir / "features")
        cached.encode(paths)
        start = time.perf_counter()
        cached.encode(paths)
        results["cache_hit_images_per_s"] = round(len(paths) / (time.perf_counter() - start), 1)
        print(f"cache hits      : {results['cache_hit_images_per_s']:8.1f} images/s (hash + read .npy)")

        ocr = OcrEngine(use_cache=False).load()
        ocr_paths = paths[: args.ocr_images]
        ocr.read_text(ocr_paths[0])  # warm-up
        start = time.perf_counter()
        texts = [ocr.read_text(path).text for path in ocr_paths]
        ocr_rate = len(ocr_paths) / (time.perf_counter() - start)
        results["ocr_images_per_s"] = round(ocr_rate, 2)
        results["ocr_images_with_text"] = sum(1 for text in texts if text)
        print(
            f"OCR (RapidOCR)  : {ocr_rate:8.2f} images/s  "
            f"({results['ocr_images_with_text']}/{len(ocr_paths)} images with text)"
        )

    print(
        f"(threads: torch {results['torch_threads']}, CPUs {results['cpu_count']}, "
        f"load average {results['load_average']})"
    )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

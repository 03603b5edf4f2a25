"""ONNX export of the image encoder, and an encoder that runs the export.

Export runs in a child process (``python -m drugwatch.vision.onnx_export
--out DIR``): tracing a model loads and mutates a lot of torch state that a
long-running scanner should not carry, and a crash in the exporter then
cannot take the caller down. :func:`export_onnx` starts that process and
raises :class:`OnnxExportError` with its output if it fails.

The exported graph takes the preprocessed ``pixels`` (``(batch, 3, 224,
224)`` float32, see :func:`drugwatch.vision.encoder.preprocess`; the batch
axis is dynamic) and returns ``feature_map`` (``(batch, 1280, 7, 7)``) and
``pooled`` (``(batch, 1280)``). The output folder holds:

* ``image_encoder.onnx``: the graph (opset 17, classic TorchScript exporter);
* ``config.json``: registry name and version, the PyTorch model id,
  preprocessing, opset, library versions and the SHA-256 of the weights and
  of the ONNX file.

:class:`OnnxImageEncoder` has the same :meth:`encode` API as
:class:`~drugwatch.vision.encoder.ImageEncoder` and runs on onnxruntime's CPU
execution provider. Its features equal PyTorch's to about 1e-5 (tested
below 1e-3) but are cached under their own model id
(``<model id>+onnx``), so the two never mix in one cache folder.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import threading
import warnings
from pathlib import Path
from typing import Any, Final

import numpy as np

from drugwatch.vision.encoder import (
    FEATURE_DIM,
    FEATURE_MAP_SIZE,
    IMAGE_SIZE,
    MEAN,
    MODEL_ID,
    MODEL_NAME,
    RESIZE_SIZE,
    STD,
    BaseImageEncoder,
    build_model,
    weights_path,
)

REGISTRY_NAME: Final[str] = "drugwatch.image_encoder.onnx"
REGISTRY_VERSION: Final[int] = 1
ONNX_FILE: Final[str] = "image_encoder.onnx"
CONFIG_FILE: Final[str] = "config.json"
INPUT_NAME: Final[str] = "pixels"
OUTPUT_NAMES: Final[tuple[str, str]] = ("feature_map", "pooled")
DEFAULT_OPSET: Final[int] = 17


class OnnxExportError(RuntimeError):
    """The export process failed; the message carries the end of its output."""


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _export_here(out_dir: Path, opset: int = DEFAULT_OPSET) -> Path:
    """Trace and write the graph in *this* process (the child's job)."""
    import onnx
    import torch

    class EncoderGraph(torch.nn.Module):
        # ``model`` is efficientnet_lite_pytorch's EfficientNet (untyped): a Module with extract_features.
        def __init__(self, model: Any):
            super().__init__()
            self.model = model

        def forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            feature_map = self.model.extract_features(pixels)
            return feature_map, feature_map.mean(dim=(2, 3))

    graph = EncoderGraph(build_model(optimize=False)).eval()
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / ONNX_FILE
    tmp = out_dir / f".{ONNX_FILE}.tmp"
    example = torch.zeros(2, 3, IMAGE_SIZE, IMAGE_SIZE)
    batch_axis = {0: "batch"}
    with warnings.catch_warnings():
        # The classic exporter announces its own deprecation and notes that
        # it cannot fold the static-padding Slice ops; neither matters here.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            graph,
            (example,),
            str(tmp),
            dynamo=False,
            input_names=[INPUT_NAME],
            output_names=list(OUTPUT_NAMES),
            dynamic_axes={INPUT_NAME: batch_axis, **{name: batch_axis for name in OUTPUT_NAMES}},
            opset_version=opset,
            do_constant_folding=True,
        )
    onnx.checker.check_model(str(tmp))
    os.replace(tmp, target)

    import onnxruntime

    config = {
        "registry_name": REGISTRY_NAME,
        "registry_version": REGISTRY_VERSION,
        "model_id": MODEL_ID,
        "architecture": MODEL_NAME,
        "weights_file": weights_path().name,
        "weights_sha256": _sha256_file(weights_path()),
        "onnx_file": ONNX_FILE,
        "onnx_sha256": _sha256_file(target),
        "opset": opset,
        "input": {"name": INPUT_NAME, "shape": ["batch", 3, IMAGE_SIZE, IMAGE_SIZE], "dtype": "float32"},
        "outputs": {
            "feature_map": ["batch", FEATURE_DIM, FEATURE_MAP_SIZE, FEATURE_MAP_SIZE],
            "pooled": ["batch", FEATURE_DIM],
        },
        "preprocessing": {
            "resize_shorter_side": RESIZE_SIZE,
            "center_crop": IMAGE_SIZE,
            "interpolation": "bicubic",
            "mean": MEAN,
            "std": STD,
            "exif_transpose": True,
        },
        "versions": {
            "torch": torch.__version__,
            "onnx": onnx.__version__,
            "onnxruntime": onnxruntime.__version__,
            "python": sys.version.split()[0],
        },
    }
    (out_dir / CONFIG_FILE).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return target


def export_onnx(out_dir: str | Path, *, opset: int = DEFAULT_OPSET, timeout: float = 600.0) -> Path:
    """Export the encoder to ``out_dir`` in a child process; return the ``.onnx`` path."""
    out_dir = Path(out_dir).resolve()
    command = [sys.executable, "-m", "drugwatch.vision.onnx_export", "--out", str(out_dir), "--opset", str(opset)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise OnnxExportError(f"the ONNX export did not finish within {timeout:g} s") from None
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip()[-4000:]
        raise OnnxExportError(f"the ONNX export failed (exit code {done.returncode}):\n{tail}")
    target = out_dir / ONNX_FILE
    if not target.is_file():
        raise OnnxExportError(f"the export process succeeded but wrote no {target}")
    return target


def read_config(model_dir: str | Path) -> dict[str, Any]:
    """Read and check ``config.json`` of an exported encoder."""
    path = Path(model_dir) / CONFIG_FILE
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{path} not found; export the encoder first: python -m drugwatch.vision.onnx_export --out {model_dir}"
        ) from None
    name, version = config.get("registry_name"), config.get("registry_version")
    if name != REGISTRY_NAME or version != REGISTRY_VERSION:
        raise ValueError(
            f"{path} describes {name!r} version {version!r}; expected {REGISTRY_NAME!r} version "
            f"{REGISTRY_VERSION} (re-export with this drugwatch)"
        )
    if config.get("model_id") != MODEL_ID:
        raise ValueError(
            f"{path} was exported from {config.get('model_id')!r}, but this drugwatch encodes with "
            f"{MODEL_ID!r}; re-export it"
        )
    return config


_SESSIONS: dict[tuple[str, int | None], Any] = {}
_SESSIONS_LOCK = threading.Lock()


def _session(path: Path, num_threads: int | None):
    """One onnxruntime session per (file, threads) per process."""
    key = (str(path.resolve()), num_threads)
    with _SESSIONS_LOCK:
        session = _SESSIONS.get(key)
        if session is None:
            import onnxruntime

            options = onnxruntime.SessionOptions()
            options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
            if num_threads is not None:
                options.intra_op_num_threads = num_threads
                options.inter_op_num_threads = 1
            session = onnxruntime.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
            _SESSIONS[key] = session
        return session


class OnnxImageEncoder(BaseImageEncoder):
    """The image encoder on onnxruntime (CPU); same API as :class:`ImageEncoder`.

    ``model_dir`` is a folder written by :func:`export_onnx`. ``num_threads``
    sets onnxruntime's intra-op threads (``None``: onnxruntime's default,
    all cores). Other parameters as for :class:`ImageEncoder`.
    """

    model_id = f"{MODEL_ID}+onnx"

    def __init__(
        self,
        model_dir: str | Path,
        *,
        batch_size: int = 32,
        cache_dir: str | Path | None = None,
        use_cache: bool = True,
        strict: bool = False,
        num_threads: int | None = None,
    ):
        super().__init__(batch_size=batch_size, cache_dir=cache_dir, use_cache=use_cache, strict=strict)
        self.model_dir = model_dir
        self.num_threads = num_threads
        self._onnx_path: Path | None = None

    def _check_params(self) -> None:
        super()._check_params()
        _ = self.onnx_path  # reads and checks config.json before any image is touched

    @property
    def onnx_path(self) -> Path:
        """The checked ``.onnx`` file (``config.json`` is read once)."""
        if self._onnx_path is None:
            config = read_config(self.model_dir)
            self._onnx_path = Path(self.model_dir) / config["onnx_file"]
        return self._onnx_path

    def _forward(self, pixels: np.ndarray) -> np.ndarray:
        session = _session(self.onnx_path, self.num_threads)
        (feature_map,) = session.run([OUTPUT_NAMES[0]], {INPUT_NAME: pixels})
        return feature_map


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m drugwatch.vision.onnx_export",
        description="Export drugwatch's EfficientNet-Lite0 image encoder to ONNX.",
    )
    parser.add_argument("--out", required=True, type=Path, help="folder to write image_encoder.onnx and config.json")
    parser.add_argument("--opset", type=int, default=DEFAULT_OPSET, help=f"ONNX opset (default {DEFAULT_OPSET})")
    args = parser.parse_args(argv)
    path = _export_here(args.out, args.opset)
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

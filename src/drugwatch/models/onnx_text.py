"""Fast inference for MiniLM-based detectors: ONNX export and dynamic int8.

:func:`export_onnx` turns a saved ``drugwatch.minilm.v1`` model directory
into ``model.onnx`` (inputs ``input_ids`` and ``attention_mask``, dynamic
batch and sequence axes; output ``proba``, the 10 sigmoid probabilities).
A saved ``drugwatch.mmbt.v1`` directory exports the same way, with two more
inputs: ``image_tokens`` (``(batch, N, 1280)``, the pooled EfficientNet-Lite0
feature map already standardized with the training images' statistics) and
``image_mask`` (``(batch,)``, 1 where the event has an image); its text
inputs are the text tokens and ``[SEP]`` without ``[CLS]``, which the graph
adds before the image tokens. The export runs in a **separate Python process** (``python -m
drugwatch.models.onnx_text export MODEL_DIR OUT``), so the tracer's state
and memory never touch the calling process. :func:`quantize_int8` writes
``model.int8.onnx`` with onnxruntime's dynamic quantization (int8 weights of
the encoder's matrix multiplications, activations quantized on the fly).

:class:`OnnxTextDetector` runs an exported model with onnxruntime, with the
tokenizer, ``max_len`` and per-label thresholds of the model directory, and
gives the same ``predict_proba`` / ``predict`` as the PyTorch detector
(equality within a tolerance is tested in ``tests/test_multilabel.py``);
:class:`OnnxMMBTDetector` does the same for MMBT, reading image features with
the cached vision encoder (tested in ``tests/test_multimodal.py``).

    python -m drugwatch.models.onnx_text export model-best/ model-best/onnx/
    python -m drugwatch.models.onnx_text quantize model-best/onnx/model.onnx model-best/onnx/model.int8.onnx
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

from drugwatch.models.base import as_events
from drugwatch.models.multilabel import decode

ONNX_FILE = "model.onnx"
INT8_FILE = "model.int8.onnx"
OPSET = 17


def _export_in_process(model_dir: Path, out_dir: Path) -> Path:
    from drugwatch.models.base import Detector
    from drugwatch.models.minilm import MiniLMDetector
    from drugwatch.models.mmbt import MMBTDetector

    detector = Detector.load(model_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if isinstance(detector, MMBTDetector):
        return _export_mmbt(detector, Path(model_dir), out_dir)
    if not isinstance(detector, MiniLMDetector):
        raise ValueError(
            f"{model_dir} holds {detector.name!r}; ONNX export supports drugwatch.minilm.v1 and drugwatch.mmbt.v1"
        )
    return _export_minilm(detector, Path(model_dir), out_dir)


def _write_meta(out_dir: Path, model_dir: Path, detector: Any, **extra: Any) -> None:
    (out_dir / "onnx.json").write_text(
        json.dumps(
            {
                "source_model_dir": str(model_dir.resolve()),
                "registry_name": detector.name,
                "max_len": detector.max_len,
                "thresholds": [float(t) for t in detector.thresholds_],
                "opset": OPSET,
                "output": "proba (sigmoid), columns in drugwatch.labels.LABELS order",
                **extra,
            },
            indent=2,
        ),
        encoding="utf-8",
    )


def _export_minilm(detector: Any, model_dir: Path, out_dir: Path) -> Path:
    import torch

    net = detector.network_.eval()

    class WithSigmoid(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return torch.sigmoid(self.net(input_ids, attention_mask))

    enc = detector._tokenize(["xanax 2mg bars", "a longer example listing title with more tokens"])
    path = out_dir / ONNX_FILE
    with torch.inference_mode():
        torch.onnx.export(
            WithSigmoid(),
            (enc["input_ids"], enc["attention_mask"]),
            str(path),
            input_names=["input_ids", "attention_mask"],
            output_names=["proba"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "seq"},
                "attention_mask": {0: "batch", 1: "seq"},
                "proba": {0: "batch"},
            },
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
    _write_meta(out_dir, model_dir, detector, kind="minilm")
    return path


def _export_mmbt(detector: Any, model_dir: Path, out_dir: Path) -> Path:
    import torch

    net = detector.network_.eval()
    cls_id, sep_id = detector._ids()

    class WithSigmoid(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(
            self,
            input_ids: torch.Tensor,
            attention_mask: torch.Tensor,
            image_tokens: torch.Tensor,
            image_mask: torch.Tensor,
        ) -> torch.Tensor:
            return torch.sigmoid(self.net(input_ids, attention_mask, image_tokens, image_mask, cls_id, sep_id))

    enc = detector._text_inputs(["xanax 2mg bars", "a longer example listing title with more tokens"])
    n_tokens = detector.n_image_tokens
    tokens = torch.zeros(2, n_tokens, net.image_proj.in_features)
    mask = torch.tensor([1.0, 0.0])
    path = out_dir / ONNX_FILE
    with torch.inference_mode():
        torch.onnx.export(
            WithSigmoid(),
            (enc["input_ids"], enc["attention_mask"], tokens, mask),
            str(path),
            input_names=["input_ids", "attention_mask", "image_tokens", "image_mask"],
            output_names=["proba"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "seq"},
                "attention_mask": {0: "batch", 1: "seq"},
                "image_tokens": {0: "batch"},
                "image_mask": {0: "batch"},
                "proba": {0: "batch"},
            },
            opset_version=OPSET,
            do_constant_folding=True,
            dynamo=False,
        )
    _write_meta(
        out_dir,
        model_dir,
        detector,
        kind="mmbt",
        n_image_tokens=n_tokens,
        image_mean=detector.image_mean_.tolist(),
        image_std=detector.image_std_.tolist(),
    )
    return path


def export_onnx(model_dir: str | Path, out_dir: str | Path, *, timeout: float = 600) -> Path:
    """Export a MiniLM or MMBT model directory to ``out_dir/model.onnx`` in a child process."""
    out_dir = Path(out_dir)
    proc = subprocess.run(
        [sys.executable, "-m", "drugwatch.models.onnx_text", "export", str(model_dir), str(out_dir)],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"ONNX export of {model_dir} failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    return out_dir / ONNX_FILE


def quantize_int8(onnx_path: str | Path, out_path: str | Path | None = None) -> Path:
    """Dynamic int8 quantization (weights int8, activations quantized at run time)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    onnx_path = Path(onnx_path)
    out_path = Path(out_path) if out_path is not None else onnx_path.with_name(INT8_FILE)
    quantize_dynamic(str(onnx_path), str(out_path), weight_type=QuantType.QInt8, per_channel=True)
    meta = onnx_path.with_name("onnx.json")
    if meta.is_file() and out_path.parent != onnx_path.parent:
        out_path.parent.joinpath("onnx.json").write_text(meta.read_text(encoding="utf-8"), encoding="utf-8")
    return out_path


class OnnxTextDetector:
    """An exported MiniLM detector run by onnxruntime: ``predict_proba`` / ``predict`` like the original."""

    def __init__(self, onnx_path: str | Path, *, num_threads: int = 0):
        import onnxruntime as ort

        self.onnx_path = Path(onnx_path)
        meta = json.loads(self.onnx_path.with_name("onnx.json").read_text(encoding="utf-8"))
        if meta.get("kind", "minilm") != "minilm":
            raise ValueError(f"{self.onnx_path} is a {meta['kind']!r} export: run it with OnnxMMBTDetector")
        self.max_len = int(meta["max_len"])
        self.thresholds_ = np.asarray(meta["thresholds"], dtype=np.float64)
        options = ort.SessionOptions()
        if num_threads:
            options.intra_op_num_threads = num_threads
            options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(self.onnx_path), options, providers=["CPUExecutionProvider"])
        from drugwatch.models.minilm import load_tokenizer

        self.tokenizer = load_tokenizer()

    def predict_proba(self, events, batch: int = 128) -> np.ndarray:
        texts = [e.text for e in as_events(events)]
        out = np.zeros((len(texts), len(self.thresholds_)))
        order = np.argsort([len(t) for t in texts], kind="stable")
        for start in range(0, len(texts), batch):
            idx = order[start : start + batch]
            enc = self.tokenizer(
                [texts[i] for i in idx], padding=True, truncation=True, max_length=self.max_len, return_tensors="np"
            )
            out[idx] = self.session.run(
                ["proba"],
                {
                    "input_ids": enc["input_ids"].astype(np.int64),
                    "attention_mask": enc["attention_mask"].astype(np.int64),
                },
            )[0]
        return out

    def predict(self, events) -> np.ndarray:
        return self.decide(self.predict_proba(events))

    def decide(self, proba: np.ndarray) -> np.ndarray:
        """Labels from probabilities, by :func:`decode` at the exported ``thresholds_``."""
        return decode(proba, self.thresholds_)


class OnnxMMBTDetector:
    """An exported MMBT detector run by onnxruntime: ``predict_proba`` / ``predict`` like the original.

    Image features come from :func:`drugwatch.models.image_only.event_image_features`
    (the EfficientNet-Lite0 encoder, cached by image SHA-256), or are passed in
    with :meth:`predict_proba_arrays`; they are standardized with the training
    statistics saved at export. Events without an image read their text alone.
    """

    def __init__(self, onnx_path: str | Path, *, num_threads: int = 0):
        import onnxruntime as ort

        self.onnx_path = Path(onnx_path)
        meta = json.loads(self.onnx_path.with_name("onnx.json").read_text(encoding="utf-8"))
        if meta.get("kind") != "mmbt":
            raise ValueError(f"{self.onnx_path} is not an MMBT export (kind {meta.get('kind', 'minilm')!r})")
        self.max_len = int(meta["max_len"])
        self.n_image_tokens = int(meta["n_image_tokens"])
        self.image_mean_ = np.asarray(meta["image_mean"], dtype=np.float32)
        self.image_std_ = np.asarray(meta["image_std"], dtype=np.float32)
        self.thresholds_ = np.asarray(meta["thresholds"], dtype=np.float64)
        self.num_threads = num_threads
        options = ort.SessionOptions()
        if num_threads:
            options.intra_op_num_threads = num_threads
            options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(self.onnx_path), options, providers=["CPUExecutionProvider"])
        from drugwatch.models.minilm import load_tokenizer

        self.tokenizer = load_tokenizer()

    def predict_proba(self, events, batch: int = 64) -> np.ndarray:
        from drugwatch.models.image_only import event_image_features

        events = as_events(events)
        feats = event_image_features(events, num_threads=self.num_threads)
        return self.predict_proba_arrays(events, feats.tokens(self.n_image_tokens), feats.mask, batch=batch)

    def predict_proba_arrays(self, events, tokens: np.ndarray, mask: np.ndarray, batch: int = 64) -> np.ndarray:
        """Probabilities from raw image tokens ``(n, N, 1280)`` and a mask, as the PyTorch detector's."""
        texts = [e.text for e in as_events(events)]
        mask = np.asarray(mask, dtype=bool)
        tokens = (np.asarray(tokens, dtype=np.float32) - self.image_mean_) / self.image_std_
        tokens[~mask] = 0.0
        out = np.zeros((len(texts), len(self.thresholds_)))
        order = np.argsort([len(t) for t in texts], kind="stable")
        for start in range(0, len(texts), batch):
            idx = order[start : start + batch]
            enc = self.tokenizer(
                [texts[i] for i in idx], padding=True, truncation=True, max_length=self.max_len + 1, return_tensors="np"
            )
            out[idx] = self.session.run(
                ["proba"],
                {
                    "input_ids": enc["input_ids"][:, 1:].astype(np.int64),  # [CLS] is added by the graph
                    "attention_mask": enc["attention_mask"][:, 1:].astype(np.int64),
                    "image_tokens": tokens[idx].astype(np.float32),
                    "image_mask": mask[idx].astype(np.float32),
                },
            )[0]
        return out

    def predict(self, events) -> np.ndarray:
        return self.decide(self.predict_proba(events))

    def decide(self, proba: np.ndarray) -> np.ndarray:
        """Labels from probabilities, by :func:`decode` at the exported ``thresholds_``."""
        return decode(proba, self.thresholds_)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) == 3 and argv[0] == "export":
        print(_export_in_process(Path(argv[1]), Path(argv[2])))
        return 0
    if len(argv) in (2, 3) and argv[0] == "quantize":
        print(quantize_int8(argv[1], argv[2] if len(argv) == 3 else None))
        return 0
    print(
        "usage: python -m drugwatch.models.onnx_text export MODEL_DIR OUT_DIR\n"
        "       python -m drugwatch.models.onnx_text quantize MODEL.onnx [OUT.onnx]",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["OnnxMMBTDetector", "OnnxTextDetector", "export_onnx", "quantize_int8"]

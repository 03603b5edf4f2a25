"""Fast inference for MiniLM-based detectors: ONNX export and dynamic int8.

:func:`export_onnx` turns a saved ``drugwatch.minilm.v1`` model directory
into ``model.onnx`` (inputs ``input_ids`` and ``attention_mask``, dynamic
batch and sequence axes; output ``proba``, the 10 sigmoid probabilities).
The export runs in a **separate Python process** (``python -m
drugwatch.models.onnx_text export MODEL_DIR OUT``), so the tracer's state
and memory never touch the calling process. :func:`quantize_int8` writes
``model.int8.onnx`` with onnxruntime's dynamic quantization (int8 weights of
the encoder's matrix multiplications, activations quantized on the fly).

:class:`OnnxTextDetector` runs an exported model with onnxruntime, with the
tokenizer, ``max_len`` and per-label thresholds of the model directory, and
gives the same ``predict_proba`` / ``predict`` as the PyTorch detector
(equality within a tolerance is tested in ``tests/test_multilabel.py``).

    python -m drugwatch.models.onnx_text export model-best/ model-best/onnx/
    python -m drugwatch.models.onnx_text quantize model-best/onnx/model.onnx model-best/onnx/model.int8.onnx
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from drugwatch.models.base import as_events
from drugwatch.models.multilabel import decode

ONNX_FILE = "model.onnx"
INT8_FILE = "model.int8.onnx"
OPSET = 17


def _export_in_process(model_dir: Path, out_dir: Path) -> Path:
    import torch

    from drugwatch.models.base import Detector
    from drugwatch.models.minilm import MiniLMDetector

    detector = Detector.load(model_dir)
    if not isinstance(detector, MiniLMDetector):
        raise ValueError(f"{model_dir} holds {detector.name!r}; ONNX export supports drugwatch.minilm.v1 only")
    net = detector.network_.eval()

    class WithSigmoid(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
            return torch.sigmoid(self.net(input_ids, attention_mask))

    out_dir.mkdir(parents=True, exist_ok=True)
    enc = detector._tokenize(["xanax 2mg bars", "a longer example listing title with more tokens"])
    path = out_dir / ONNX_FILE
    with torch.inference_mode():
        torch.onnx.export(
            WithSigmoid(), (enc["input_ids"], enc["attention_mask"]), str(path),
            input_names=["input_ids", "attention_mask"], output_names=["proba"],
            dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
                          "proba": {0: "batch"}},
            opset_version=OPSET, do_constant_folding=True, dynamo=False,
        )
    (out_dir / "onnx.json").write_text(json.dumps({
        "source_model_dir": str(Path(model_dir).resolve()),
        "registry_name": detector.name,
        "max_len": detector.max_len,
        "thresholds": [float(t) for t in detector.thresholds_],
        "opset": OPSET,
        "output": "proba (sigmoid), columns in drugwatch.labels.LABELS order",
    }, indent=2), encoding="utf-8")
    return path


def export_onnx(model_dir: str | Path, out_dir: str | Path, *, timeout: float = 600) -> Path:
    """Export a MiniLM model directory to ``out_dir/model.onnx`` in a child process."""
    out_dir = Path(out_dir)
    proc = subprocess.run(
        [sys.executable, "-m", "drugwatch.models.onnx_text", "export", str(model_dir), str(out_dir)],
        capture_output=True, text=True, timeout=timeout,
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
            idx = order[start:start + batch]
            enc = self.tokenizer([texts[i] for i in idx], padding=True, truncation=True, max_length=self.max_len,
                                 return_tensors="np")
            out[idx] = self.session.run(["proba"], {"input_ids": enc["input_ids"].astype(np.int64),
                                                    "attention_mask": enc["attention_mask"].astype(np.int64)})[0]
        return out

    def predict(self, events) -> np.ndarray:
        return decode(self.predict_proba(events), self.thresholds_)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) == 3 and argv[0] == "export":
        print(_export_in_process(Path(argv[1]), Path(argv[2])))
        return 0
    if len(argv) in (2, 3) and argv[0] == "quantize":
        print(quantize_int8(argv[1], argv[2] if len(argv) == 3 else None))
        return 0
    print("usage: python -m drugwatch.models.onnx_text export MODEL_DIR OUT_DIR\n"
          "       python -m drugwatch.models.onnx_text quantize MODEL.onnx [OUT.onnx]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["OnnxTextDetector", "export_onnx", "quantize_int8"]

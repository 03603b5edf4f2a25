"""DMML's image-only baseline, multi-label (``drugwatch.image_only.v1``), and the shared head machinery.

The paper's image-only rows fine-tune ImageNet CNNs (VGG16, ResNet-50, ...)
on the event images. drugwatch keeps the CNN frozen and learns a head over
its features: the pooled 1280-d EfficientNet-Lite0 vector of the event's
first image (:class:`drugwatch.vision.ImageEncoder`, cached by SHA-256, so
repeated fits and folds never re-encode an image), standardized with the
training images' mean and deviation, plus a ``has_image`` flag; then a
multilayer perceptron (``hidden`` units, ReLU, dropout; ``hidden=0`` is a
linear layer) to 10 logits; binary cross-entropy, Adam.

Events with no image (most comments) get a zero feature row and
``has_image = 0``: the head learns what to say about them (in practice, the
label prior), so text-only events flow through without errors.

Also here, shared by :mod:`drugwatch.models.fusion` and
:mod:`drugwatch.models.mmbt`:

* :func:`event_image_features`: one feature row per event (first image),
  through one process-wide encoder;
* :class:`FeatureHeadDetector`: the training loop of a small PyTorch network
  over precomputed feature arrays (seeded, a validation share of the
  training *groups* for early stopping and per-label thresholds, save/load
  as ``weights.pt`` + ``head.json``), and its ONNX export
  (:func:`export_head_onnx`, :class:`OnnxHead`).
"""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from drugwatch.labels import LABELS
from drugwatch.models.base import Interval
from drugwatch.models.multilabel import MultiLabelDetector, validation_split
from drugwatch.models.registry import register
from drugwatch.records import Event

N_LABELS = len(LABELS)
#: Width of EfficientNet-Lite0's pooled feature and of each image token.
IMAGE_DIM = 1280
WEIGHTS = "weights.pt"
HEAD = "head.json"
ONNX_HEAD = "head.onnx"

# ---------------------------------------------------------------------------
# Image features


_ENCODERS: dict[tuple[int, int], Any] = {}


def _encoder(batch_size: int, num_threads: int):
    from drugwatch.vision import ImageEncoder

    key = (batch_size, num_threads)
    if key not in _ENCODERS:
        _ENCODERS[key] = ImageEncoder(batch_size=batch_size, num_threads=num_threads or None)
    return _ENCODERS[key]


def event_image_features(events: Sequence[Event], *, batch_size: int = 32, num_threads: int = 0):
    """:class:`~drugwatch.vision.ImageFeatures` of each event's first image (masked when none).

    The encoder caches features under ``$DRUGWATCH_HOME/cache/image-features``
    by image SHA-256: a second fit on the same events reads the cache and
    runs no network. Unreadable images become masked rows (``errors`` says why).
    """
    return _encoder(batch_size, num_threads).encode_events(events)


# ---------------------------------------------------------------------------
# A PyTorch head over feature arrays


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


class _Threads:
    """Run with ``num_threads`` torch threads (0: leave the process setting)."""

    def __init__(self, num_threads: int):
        self.num_threads = num_threads
        self.previous = 0

    def __enter__(self) -> None:
        self.previous = torch.get_num_threads()
        if self.num_threads:
            torch.set_num_threads(self.num_threads)

    def __exit__(self, *exc: object) -> None:
        torch.set_num_threads(self.previous)


class FeatureHeadDetector(MultiLabelDetector):
    """Base of detectors that train a small network over precomputed per-event feature arrays.

    Subclasses implement :meth:`_features` (events -> named float32 arrays,
    first axis = events; ``fit=True`` on the training data learns scalers,
    kept in ``self.scalers_`` as arrays) and :meth:`_network` (a module whose
    ``forward`` takes those arrays as tensors, by name, in
    :attr:`input_names` order, and returns 10 logits).

    Training: Adam with ``lr`` and ``weight_decay``, binary cross-entropy,
    ``epochs`` passes in seeded random order. A seeded share
    ``validation_fraction`` of the training groups is held out: the epoch
    with the lowest validation loss is kept (stop after ``patience`` epochs
    without improvement) and its held-out probabilities fit the per-label
    thresholds. With ``validation_fraction=0`` all events train for
    ``epochs`` epochs and the thresholds stay at 0.5.
    """

    input_names: ClassVar[tuple[str, ...]] = ()
    #: Reads event images (test suites over text-only corpora can filter on this).
    uses_images: ClassVar[bool] = True

    # Hyperparameters the training loop reads; every subclass's constructor stores them.
    epochs: int
    patience: int
    batch_size: int
    lr: float
    weight_decay: float
    validation_fraction: float
    image_batch_size: int
    num_threads: int
    seed: int

    _common_constraints: ClassVar[dict[str, list]] = {
        "epochs": [Interval(int, 1, None)],
        "patience": [Interval(int, 1, None)],
        "batch_size": [Interval(int, 1, None)],
        "lr": [Interval(float, 0, None, closed="neither")],
        "weight_decay": [Interval(float, 0, None)],
        "dropout": [Interval(float, 0, 1, closed="left")],
        "validation_fraction": [Interval(float, 0, 0.5)],
        "image_batch_size": [Interval(int, 1, None)],
        "num_threads": [Interval(int, 0, None)],
        "seed": [Interval(int, 0, None)],
    }

    # -- subclass hooks -------------------------------------------------------

    def _features(self, events: list[Event], fit: bool) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def _network(self) -> nn.Module:
        raise NotImplementedError

    # -- shared -----------------------------------------------------------------

    def _logits(self, net: nn.Module, arrays: Mapping[str, np.ndarray], batch: int = 512) -> np.ndarray:
        net.eval()
        n = len(next(iter(arrays.values())))
        out = []
        with torch.inference_mode():
            for start in range(0, n, batch):
                inputs = [torch.from_numpy(arrays[k][start : start + batch]) for k in self.input_names]
                out.append(net(*inputs).float().numpy())
        return np.concatenate(out) if out else np.zeros((0, N_LABELS), dtype=np.float32)

    def _fit(self, events: list[Event], y: np.ndarray) -> None:
        with _Threads(self.num_threads):
            self._train(events, y)

    def _train(self, events: list[Event], y: np.ndarray) -> None:
        torch.manual_seed(self.seed)
        started = time.perf_counter()
        train_idx, val_idx = validation_split(events, self.validation_fraction, self.seed)
        self.scalers_: dict[str, np.ndarray] = {}
        # Scalers are learned from the training part only, not the held-out groups.
        self._features([events[i] for i in train_idx], fit=True)
        arrays = self._features(events, fit=False)
        tensors = {k: torch.from_numpy(v) for k, v in arrays.items()}
        target = torch.from_numpy(y.astype(np.float32))
        # Seeded here, after the features: loading the encoders on first use draws from torch's RNG.
        torch.manual_seed(self.seed)
        net = self._network()
        optimizer = torch.optim.Adam(net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        loss_fn = nn.BCEWithLogitsLoss()
        generator = torch.Generator().manual_seed(self.seed)
        train_t = torch.from_numpy(train_idx)
        val = {k: v[val_idx] for k, v in arrays.items()}
        best_state, best_loss, best_epoch, stale = None, float("inf"), 0, 0
        history: list[dict[str, float]] = []
        for epoch in range(self.epochs):
            net.train()
            order = train_t[torch.randperm(len(train_t), generator=generator)]
            running = 0.0
            for start in range(0, len(order), self.batch_size):
                batch = order[start : start + self.batch_size]
                optimizer.zero_grad()
                loss = loss_fn(net(*[tensors[k][batch] for k in self.input_names]), target[batch])
                loss.backward()
                optimizer.step()
                running += float(loss.detach()) * len(batch)
            entry = {"epoch": epoch + 1, "train_loss": running / max(1, len(order))}
            if len(val_idx):
                logits = torch.from_numpy(self._logits(net, val))
                val_loss = float(loss_fn(logits, target[torch.from_numpy(val_idx)]))
                entry["val_loss"] = val_loss
                history.append(entry)
                if val_loss < best_loss - 1e-6:
                    best_loss, best_epoch, stale = val_loss, epoch + 1, 0
                    best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
                else:
                    stale += 1
                    if stale >= self.patience:
                        break
            else:
                history.append(entry)
        if best_state is not None:
            net.load_state_dict(best_state)
        else:
            best_epoch = len(history)
        net.eval()
        self.network_ = net
        self.history_ = history
        self.best_epoch_ = int(best_epoch)
        self.fit_s_ = round(time.perf_counter() - started, 2)
        if len(val_idx):
            proba = _sigmoid(self._logits(net, val))
            self._set_thresholds(
                y[val_idx], proba, f"held-out {len(val_idx)} events ({self.validation_fraction:.0%} of groups)"
            )
        else:
            self._set_thresholds(y, None, "fixed 0.5 (no validation split)")

    def _predict_proba(self, events: list[Event]) -> np.ndarray:
        with _Threads(self.num_threads):
            return _sigmoid(self._logits(self.network_, self._features(events, fit=False)))

    # -- persistence ----------------------------------------------------------

    def _save_weights(self, directory: Path) -> list[str]:
        torch.save(self.network_.state_dict(), directory / WEIGHTS)
        (directory / HEAD).write_text(
            json.dumps(
                {
                    "scalers": {k: np.asarray(v).tolist() for k, v in self.scalers_.items()},
                    "thresholds": [float(t) for t in self.thresholds_],
                    "threshold_source": self.threshold_source_,
                    "history": self.history_,
                    "best_epoch": self.best_epoch_,
                    "fit_s": self.fit_s_,
                }
            ),
            encoding="utf-8",
        )
        return [WEIGHTS, HEAD]

    def _load_weights(self, directory: Path) -> None:
        saved = json.loads((directory / HEAD).read_text(encoding="utf-8"))
        self.scalers_ = {k: np.asarray(v, dtype=np.float32) for k, v in saved["scalers"].items()}
        self.thresholds_ = np.asarray(saved["thresholds"], dtype=np.float64)
        self.threshold_source_ = saved["threshold_source"]
        self.history_ = saved["history"]
        self.best_epoch_ = saved["best_epoch"]
        self.fit_s_ = saved["fit_s"]
        net = self._network()
        net.load_state_dict(torch.load(directory / WEIGHTS, weights_only=True))
        net.eval()
        self.network_ = net

    def _learned_state(self) -> dict[str, Any]:
        return {k: v for k, v in super()._learned_state().items() if k != "network_"}

    def _extra_config(self) -> dict[str, Any]:
        return {
            **super()._extra_config(),
            "best_epoch": self.best_epoch_,
            "fit_s": self.fit_s_,
            "history": json.dumps(self.history_[-5:]),
        }

    # -- fast inference ---------------------------------------------------------

    def feature_arrays(self, events) -> dict[str, np.ndarray]:
        """The network's inputs for ``events`` (what :class:`OnnxHead` takes)."""
        from drugwatch.models.base import as_events

        self._check_fitted()
        return self._features(as_events(events), fit=False)


def export_head_onnx(detector: FeatureHeadDetector, path: str | Path, opset: int = 17) -> Path:
    """Export a fitted feature head (network + sigmoid) to ONNX; inputs named as :attr:`input_names`.

    The graph takes the arrays of :meth:`FeatureHeadDetector.feature_arrays`
    (image features from the image encoder or its ONNX export, text
    embeddings) and returns ``proba`` (10 sigmoids, LABELS order), with a
    dynamic batch axis. A ``head.json`` next to it records the thresholds.
    """
    detector._check_fitted()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    net = detector.network_.eval()

    class WithSigmoid(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = net

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            return torch.sigmoid(self.net(*inputs))

    dummy = detector._features([Event(id="onnx-a", text="xanax bars"), Event(id="onnx-b", text="sunset")], fit=False)
    args = tuple(torch.from_numpy(dummy[k]) for k in detector.input_names)
    axes = {k: {0: "batch"} for k in detector.input_names}
    axes["proba"] = {0: "batch"}
    # The classic TorchScript exporter (as drugwatch's other exports); it warns that it is deprecated.
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            WithSigmoid(),
            args,
            str(path),
            input_names=list(detector.input_names),
            output_names=["proba"],
            dynamic_axes=axes,
            opset_version=opset,
            do_constant_folding=True,
            dynamo=False,
        )
    path.with_suffix(".json").write_text(
        json.dumps(
            {
                "registry_name": detector.name,
                "inputs": list(detector.input_names),
                "opset": opset,
                "thresholds": [float(t) for t in detector.thresholds_],
                "output": "proba (sigmoid), columns in drugwatch.labels.LABELS order",
            },
            indent=2,
        ),
        encoding="utf-8",
    )
    return path


class OnnxHead:
    """A head exported by :func:`export_head_onnx`, run by onnxruntime on feature arrays."""

    def __init__(self, path: str | Path, *, num_threads: int = 0):
        import onnxruntime as ort

        self.path = Path(path)
        meta = json.loads(self.path.with_suffix(".json").read_text(encoding="utf-8"))
        self.input_names = tuple(meta["inputs"])
        self.thresholds_ = np.asarray(meta["thresholds"], dtype=np.float64)
        options = ort.SessionOptions()
        if num_threads:
            options.intra_op_num_threads = num_threads
        self.session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])

    def predict_proba_features(self, arrays: Mapping[str, np.ndarray]) -> np.ndarray:
        feeds = {k: np.ascontiguousarray(arrays[k], dtype=np.float32) for k in self.input_names}
        return self.session.run(["proba"], feeds)[0].astype(np.float64)


# ---------------------------------------------------------------------------
# The image-only detector


class ImageMLP(nn.Module):
    """``[features ; has_image]`` -> (hidden, ReLU, dropout) -> 10 logits."""

    def __init__(self, dim: int, hidden: int, dropout: float, n_out: int = N_LABELS):
        super().__init__()
        if hidden:
            self.body: nn.Module = nn.Sequential(
                nn.Linear(dim + 1, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, n_out)
            )
        else:
            self.body = nn.Sequential(nn.Dropout(dropout), nn.Linear(dim + 1, n_out))

    def forward(self, image: torch.Tensor, has_image: torch.Tensor) -> torch.Tensor:
        return self.body(torch.cat([image * has_image, has_image], dim=1))


def standardize_images(
    detector: FeatureHeadDetector, key: str, pooled: np.ndarray, mask: np.ndarray, fit: bool
) -> np.ndarray:
    """Standardize image rows with the training images' mean / sd (kept in ``scalers_``); missing rows stay 0."""
    if fit:
        rows = pooled[mask] if mask.any() else np.zeros((1, pooled.shape[1]), dtype=np.float32)
        detector.scalers_[f"{key}_mean"] = rows.mean(0).astype(np.float32)
        detector.scalers_[f"{key}_std"] = (rows.std(0) + 1e-3).astype(np.float32)
    out = (pooled - detector.scalers_[f"{key}_mean"]) / detector.scalers_[f"{key}_std"]
    out[~mask] = 0.0
    return out.astype(np.float32)


@register("drugwatch.image_only.v1")
class ImageOnlyDetector(FeatureHeadDetector):
    """Frozen EfficientNet-Lite0 pooled features of the first image, MLP head, 10 sigmoids."""

    description = (
        "DMML image-only baseline: pooled 1280-d EfficientNet-Lite0 (ImageNet) features of the event's first "
        "image, standardized, plus a has-image flag; MLP head to 10 sigmoids, binary cross-entropy, Adam; "
        "per-label thresholds from held-out training groups. Events without images get the learned prior."
    )
    input_names = ("image", "has_image")
    _parameter_constraints = {
        **FeatureHeadDetector._common_constraints,
        "hidden": [Interval(int, 0, None)],
    }

    def __init__(
        self,
        *,
        hidden: int = 256,
        dropout: float = 0.2,
        epochs: int = 40,
        patience: int = 5,
        batch_size: int = 32,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        validation_fraction: float = 0.1,
        image_batch_size: int = 32,
        num_threads: int = 0,
        seed: int = 0,
    ):
        self.hidden = hidden
        self.dropout = dropout
        self.epochs = epochs
        self.patience = patience
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.validation_fraction = validation_fraction
        self.image_batch_size = image_batch_size
        self.num_threads = num_threads
        self.seed = seed

    def _features(self, events: list[Event], fit: bool) -> dict[str, np.ndarray]:
        feats = event_image_features(events, batch_size=self.image_batch_size, num_threads=self.num_threads)
        image = standardize_images(self, "image", feats.pooled, feats.mask, fit)
        return {"image": image, "has_image": feats.mask.astype(np.float32)[:, None]}

    def _network(self) -> nn.Module:
        return ImageMLP(IMAGE_DIM, self.hidden, self.dropout)

    def _extra_config(self) -> dict[str, Any]:
        from drugwatch.vision import MODEL_ID

        return {**super()._extra_config(), "image_features": f"{MODEL_ID} pooled (1280), first image"}


__all__ = [
    "IMAGE_DIM",
    "FeatureHeadDetector",
    "ImageMLP",
    "ImageOnlyDetector",
    "OnnxHead",
    "event_image_features",
    "export_head_onnx",
    "standardize_images",
]

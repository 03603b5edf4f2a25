"""Yang & Luo's multitask image classifier (``drugwatch.yang_luo_image.v1``).

Frozen image-encoder features (the pooled 1280-d EfficientNet-Lite0 vector
of :mod:`drugwatch.vision`, standing in for the paper's GoogLeNet) feed a
network with two shared hidden layers of 256 units (ReLU, dropout) and four
sigmoid heads, in this column order: ``drug``, ``weed``, ``pills``, ``syrup``.

Targets and loss (:func:`encode_targets`, :func:`multitask_loss`):

* every example knows some heads and not others. A labelled Instagram post
  knows all four; a web image from a "weed" search knows ``weed`` only; a
  drug / not-drug image set (the bench kit's ``images.jsonl``) knows ``drug``;
* **task-relation encoding**: ``drug`` is the parent of ``weed``, ``pills``
  and ``syrup``. When a child is positive, the parent target is set positive
  and that parent loss is weighted ``parent_weight`` (0.5, as in the paper);
* a known negative parent makes the children known negatives (a picture with
  no drug shows no weed);
* heads an example does not know are **masked**: weight 0, so they add
  nothing to the loss or its gradient (a weed image says nothing about pills);
* binary cross-entropy per head, times those weights, summed and divided by
  the number of examples in the batch; RMSprop.

``multitask=False`` gives the single-task baseline: the same network trained
on the ``drug`` head alone (children masked everywhere).

Drug labels map to heads as: ``weed`` = marijuana; ``pills`` = xanax,
painkiller, mdma; ``syrup`` = codeine; any drug label makes ``drug`` positive.

Inputs to ``fit`` / ``predict_proba``: :class:`~drugwatch.records.Event`
objects (their first image; targets from ``meta["image_labels"]`` when the
record carries it, else from ``labels``) and :class:`ImageExample` objects
(an image file with the heads it knows, e.g. from :func:`read_image_jsonl` or
:func:`read_image_folder`), in any mix. An :class:`ImageExample` may carry
precomputed ``features`` (tests use random vectors; no encoder runs then).
Items without a readable image get each head's training base rate.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
from torch import nn

from drugwatch.models.base import Detector, InstanceOf, Interval, Task
from drugwatch.models.registry import register
from drugwatch.records import Event, ImageRef

if TYPE_CHECKING:
    from drugwatch.text.analyze import TextView

HEADS: tuple[str, ...] = ("drug", "weed", "pills", "syrup")
PARENT = "drug"
CHILDREN: tuple[str, ...] = ("weed", "pills", "syrup")
#: Drug labels behind each child head.
CHILD_LABELS: dict[str, frozenset[str]] = {
    "weed": frozenset({"marijuana"}),
    "pills": frozenset({"xanax", "painkiller", "mdma"}),
    "syrup": frozenset({"codeine"}),
}
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif")
WEIGHTS = "weights.pt"
HEAD_FILE = "head.json"


@dataclass(frozen=True)
class ImageExample:
    """One labelled image: the heads it knows (``None`` or absent = unknown)."""

    id: str
    image: ImageRef | None = None
    targets: Mapping[str, int | None] = field(default_factory=dict)
    source: str = "images"
    group: str | None = None
    features: np.ndarray | None = field(default=None, repr=False, compare=False)


Item = Event | ImageExample


def targets_from_labels(labels: Iterable[str] | None) -> dict[str, int | None]:
    """Head targets of a complete set of drug labels (``None``: unknown)."""
    if labels is None:
        return {}
    labels = set(labels)
    drug = bool(labels - {"non_drug"})
    out: dict[str, int | None] = {PARENT: int(drug)}
    for head, names in CHILD_LABELS.items():
        out[head] = int(bool(labels & names))
    return out


def item_targets(item: Item) -> dict[str, int | None]:
    if isinstance(item, ImageExample):
        return dict(item.targets)
    if "image_labels" in item.meta and item.meta.get("image_kind") is not None:
        return targets_from_labels(item.meta["image_labels"] or ["non_drug"])
    return targets_from_labels(item.labels)


def encode_targets(
    targets: Sequence[Mapping[str, int | None]], *, parent_weight: float = 0.5, multitask: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """``(Y, W)``, both ``(n, 4)`` float32 in :data:`HEADS` order (see the module docstring)."""
    n = len(targets)
    Y = np.zeros((n, len(HEADS)), dtype=np.float32)
    W = np.zeros((n, len(HEADS)), dtype=np.float32)
    for i, known in enumerate(targets):
        for unknown in set(known) - set(HEADS):
            raise ValueError(f"unknown head {unknown!r}; heads are {', '.join(HEADS)}")
        parent = known.get(PARENT)
        for j, head in enumerate(HEADS):
            value = known.get(head)
            if value is not None:
                Y[i, j], W[i, j] = float(value), 1.0
        if parent is not None and int(parent) == 0:
            for head in CHILDREN:
                j = HEADS.index(head)
                if known.get(head) is None:
                    Y[i, j], W[i, j] = 0.0, 1.0
        if any(known.get(head) == 1 for head in CHILDREN):
            Y[i, 0], W[i, 0] = 1.0, parent_weight  # task-relation encoding
        if not multitask:
            W[i, 1:] = 0.0
    return Y, W


def multitask_loss(logits: torch.Tensor, Y: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
    """Masked, weighted binary cross-entropy summed over heads, averaged over examples."""
    per_head = nn.functional.binary_cross_entropy_with_logits(logits, Y, reduction="none")
    return (per_head * W).sum() / max(1, logits.shape[0])


class MultitaskNet(nn.Module):
    """``n_hidden`` shared layers of ``hidden`` units (ReLU, dropout), then one logit per head."""

    def __init__(self, dim: int, hidden: int = 256, n_hidden: int = 2, dropout: float = 0.2, n_heads: int = len(HEADS)):
        super().__init__()
        layers: list[nn.Module] = []
        width = dim
        for _ in range(n_hidden):
            layers += [nn.Linear(width, hidden), nn.ReLU(), nn.Dropout(dropout)]
            width = hidden
        self.shared = nn.Sequential(*layers)
        self.heads = nn.Linear(width, n_heads)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.heads(self.shared(x))


# ---------------------------------------------------------------------------
# Labelled image sources


def read_image_jsonl(path: str | Path) -> list[ImageExample]:
    """The bench kit's ``images.jsonl``: ``{"id", "file", "drug": bool, "source"}`` per line.

    ``file`` is relative to the JSONL's folder. Only the ``drug`` head is known.
    """
    path = Path(path)
    out = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            row = json.loads(line)
            if "file" not in row or "drug" not in row:
                raise ValueError(f"{path}, line {number}: an image record needs 'file' and 'drug'")
            image = ImageRef(path=str(path.parent / row["file"]))
            out.append(
                ImageExample(
                    id=str(row.get("id", row["file"])),
                    image=image,
                    targets={PARENT: int(bool(row["drug"]))},
                    source=str(row.get("source", path.name)),
                    group=str(row.get("id", row["file"])),
                )
            )
    return out


def read_image_folder(folder: str | Path, head: str, *, positive: bool = True) -> list[ImageExample]:
    """Every image under ``folder`` as an example that knows only ``head`` (a web-search folder)."""
    if head not in HEADS:
        raise ValueError(f"head must be one of {', '.join(HEADS)}; got {head!r}")
    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS)
    return [
        ImageExample(
            id=f"{head}:{p.relative_to(folder)}",
            image=ImageRef(path=str(p)),
            targets={head: int(positive)},
            source=f"folder:{head}",
            group=str(p),
        )
        for p in files
    ]


def as_items(items: Any, *, what: str = "items") -> list[Item]:
    """Events and labelled images as a list; a raw text becomes an event without an image (base rates)."""
    if isinstance(items, (str, bytes)):
        raise TypeError(
            f"Iterable over Event objects expected for {what}, {type(items).__name__} object received. "
            "Wrap a single text in a list: detector.predict_proba([text])."
        )
    if isinstance(items, (Event, ImageExample)):
        raise TypeError(f"Iterable over Event or ImageExample objects expected for {what}; wrap one in a list")
    out: list[Item] = []
    for i, item in enumerate(items):
        if isinstance(item, str):
            out.append(Event(id=f"text-{i}", text=item))
        elif isinstance(item, (Event, ImageExample)):
            out.append(item)
        else:
            raise TypeError(f"{what}[{i}] is a {type(item).__name__}; expected an Event or an ImageExample")
    return out


# ---------------------------------------------------------------------------
# The detector


@register("drugwatch.yang_luo_image.v1")
class MultitaskImageDetector(Detector):
    """Yang & Luo's multitask image network over frozen encoder features."""

    task: ClassVar[Task] = "drug_image"
    description = (
        "Yang & Luo 2017 multitask image classifier: frozen EfficientNet-Lite0 pooled features (1280), two shared "
        "hidden layers of 256, sigmoid heads drug/weed/pills/syrup; task-relation encoding (a positive child sets "
        "the parent, parent loss weight 0.5), heads unknown to an example's source masked; RMSprop."
    )
    _parameter_constraints = {
        "hidden": [Interval(int, 1, None)],
        "n_hidden": [Interval(int, 0, 8)],
        "dropout": [Interval(float, 0, 1, closed="left")],
        "epochs": [Interval(int, 1, None)],
        "batch_size": [Interval(int, 1, None)],
        "lr": [Interval(float, 0, None, closed="neither")],
        "parent_weight": [Interval(float, 0, 1)],
        "multitask": [InstanceOf((bool,))],
        "image_batch_size": [Interval(int, 1, None)],
        "num_threads": [Interval(int, 0, None)],
        "seed": [Interval(int, 0, None)],
    }

    def __init__(
        self,
        *,
        hidden: int = 256,
        n_hidden: int = 2,
        dropout: float = 0.2,
        epochs: int = 60,
        batch_size: int = 32,
        lr: float = 1e-3,
        parent_weight: float = 0.5,
        multitask: bool = True,
        image_batch_size: int = 32,
        num_threads: int = 0,
        seed: int = 0,
    ):
        self.hidden = hidden
        self.n_hidden = n_hidden
        self.dropout = dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.parent_weight = parent_weight
        self.multitask = multitask
        self.image_batch_size = image_batch_size
        self.num_threads = num_threads
        self.seed = seed

    @property
    def columns(self) -> tuple[str, ...]:
        return HEADS

    # -- features -----------------------------------------------------------

    def _raw_features(self, items: Sequence[Item]) -> tuple[np.ndarray, np.ndarray]:
        """``(features, has_image)``: precomputed vectors where given, else the encoder's (cached by SHA-256)."""
        dim = next((len(i.features) for i in items if isinstance(i, ImageExample) and i.features is not None), None)
        refs: list[ImageRef | None] = []
        todo = []
        for index, item in enumerate(items):
            if isinstance(item, ImageExample) and item.features is not None:
                refs.append(None)
            else:
                ref = item.image if isinstance(item, ImageExample) else (item.images[0] if item.images else None)
                refs.append(ref)
                if ref is not None:
                    todo.append(index)
        if dim is None:
            from drugwatch.vision.encoder import FEATURE_DIM

            dim = getattr(self, "dim_", FEATURE_DIM)
        X = np.zeros((len(items), dim), dtype=np.float32)
        mask = np.zeros(len(items), dtype=bool)
        for index, item in enumerate(items):
            if isinstance(item, ImageExample) and item.features is not None:
                X[index] = np.asarray(item.features, dtype=np.float32)
                mask[index] = True
        if todo:
            from drugwatch.models.image_only import _encoder

            encoder = _encoder(self.image_batch_size, self.num_threads)
            feats = encoder.encode([refs[i] for i in todo])
            if feats.pooled.shape[1] != dim:
                raise ValueError(f"encoder features have {feats.pooled.shape[1]} dims, precomputed ones {dim}")
            for row, index in enumerate(todo):
                if feats.mask[row]:
                    X[index] = feats.pooled[row]
                    mask[index] = True
        return X, mask

    def _standardize(self, X: np.ndarray) -> np.ndarray:
        return ((X - self.mean_) / self.std_).astype(np.float32)

    # -- fitting --------------------------------------------------------------

    def fit(self, items: Iterable[Item] | Iterable[str], y: Any | None = None) -> MultitaskImageDetector:
        """Fit on events and labelled images; ``y`` optionally gives ``(n, 4)`` targets (NaN = unknown).

        Events and images carry partial targets (the heads they know), so this
        replaces the event base's target checks; the learning is :meth:`_fit`.
        """
        self._validate_params()
        items = as_items(items)
        if not items:
            raise ValueError("MultitaskImageDetector.fit needs at least one example; got none")
        if y is None:
            known = [item_targets(i) for i in items]
            for unknown in {h for k in known for h in k} - set(HEADS):
                raise ValueError(f"unknown head {unknown!r}; heads are {', '.join(HEADS)}")
            arr = np.array(
                [[np.nan if (v := k.get(h)) is None else float(v) for h in HEADS] for k in known], dtype=np.float64
            ).reshape(len(items), len(HEADS))
        else:
            arr = np.asarray(y, dtype=np.float64)
            if arr.shape != (len(items), len(HEADS)):
                raise ValueError(f"y must have shape ({len(items)}, {len(HEADS)}) in {HEADS} order; got {arr.shape}")
        self._fit(items, arr)
        self.is_fitted_ = True
        return self

    def _fit(self, items: Sequence[Item], y: np.ndarray) -> None:
        """Learn from ``(n, 4)`` head targets, NaN where an example does not know a head."""
        known = [{h: (None if np.isnan(v) else int(v)) for h, v in zip(HEADS, row)} for row in y]
        Y, W = encode_targets(known, parent_weight=self.parent_weight, multitask=bool(self.multitask))
        started = time.perf_counter()
        X, mask = self._raw_features(items)
        usable = mask & (W.sum(1) > 0)
        if not usable.any():
            raise ValueError("no example has both an image (or features) and a known head; nothing to learn")
        if len(np.unique(Y[usable & (W[:, 0] > 0), 0])) < 2:
            raise ValueError("the drug head needs drug and non-drug images among the examples")
        self.dim_ = int(X.shape[1])
        self.mean_ = X[usable].mean(0).astype(np.float32)
        self.std_ = (X[usable].std(0) + 1e-3).astype(np.float32)
        weight_sum = np.maximum(W[usable].sum(0), 1e-9)
        self.prior_ = np.clip((Y[usable] * W[usable]).sum(0) / weight_sum, 1e-3, 1 - 1e-3).astype(np.float64)
        previous = torch.get_num_threads()
        if self.num_threads:
            torch.set_num_threads(self.num_threads)
        try:
            self._train(self._standardize(X[usable]), Y[usable], W[usable])
        finally:
            torch.set_num_threads(previous)
        self.fit_s_ = round(time.perf_counter() - started, 2)
        self.threshold_ = 0.5
        self.training_data_ = {
            "n_examples": len(items),
            "n_used": int(usable.sum()),
            "n_without_image": int((~mask).sum()),
            "known_heads": {h: int((W[usable, j] > 0).sum()) for j, h in enumerate(HEADS)},
            "positive_heads": {h: int(((Y[usable, j] > 0) & (W[usable, j] > 0)).sum()) for j, h in enumerate(HEADS)},
            "sources": dict(sorted(_sources(items).items())),
        }
        self.n_features_in_ = self.dim_

    def _train(self, X: np.ndarray, Y: np.ndarray, W: np.ndarray) -> None:
        torch.manual_seed(self.seed)
        net = MultitaskNet(X.shape[1], self.hidden, self.n_hidden, self.dropout)
        optimizer = torch.optim.RMSprop(net.parameters(), lr=self.lr)
        generator = torch.Generator().manual_seed(self.seed)
        Xt, Yt, Wt = torch.from_numpy(X), torch.from_numpy(Y), torch.from_numpy(W)
        history = []
        for _ in range(self.epochs):
            net.train()
            order = torch.randperm(len(Xt), generator=generator)
            total = 0.0
            for start in range(0, len(order), self.batch_size):
                batch = order[start : start + self.batch_size]
                optimizer.zero_grad()
                loss = multitask_loss(net(Xt[batch]), Yt[batch], Wt[batch])
                loss.backward()
                optimizer.step()
                total += float(loss.detach()) * len(batch)
            history.append(round(total / len(Xt), 5))
        net.eval()
        self.network_ = net
        self.history_ = history

    # -- predicting ------------------------------------------------------------

    def predict_proba(
        self, items: Iterable[Item] | Iterable[str], *, views: Sequence[TextView] | None = None
    ) -> np.ndarray:
        """``(n, 4)`` head probabilities (:data:`HEADS` order); items without an image get the base rates.

        ``views`` (the text layer's readings) is accepted for the scorer's sake and unused: no text is read.
        """
        self._check_fitted()
        items = as_items(items)
        if not items:
            return np.zeros((0, len(HEADS)))
        return self._predict_proba(items)

    def _predict_proba(self, items: Sequence[Item]) -> np.ndarray:
        X, mask = self._raw_features(items)
        return self.proba_from_features(X, mask)

    def proba_from_features(self, X: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        self._check_fitted()
        out = np.tile(self.prior_, (len(X), 1))
        mask = np.ones(len(X), dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
        if mask.any():
            with torch.inference_mode():
                logits = self.network_(torch.from_numpy(self._standardize(np.asarray(X[mask], np.float32))))
            out[mask] = torch.sigmoid(logits).double().numpy()
        return out

    def has_image(self, items: Iterable[Item]) -> np.ndarray:
        """Whether each item has an image (or precomputed features)."""
        return np.array(
            [
                (i.features is not None or i.image is not None) if isinstance(i, ImageExample) else bool(i.images)
                for i in as_items(items)
            ],
            dtype=bool,
        )

    def predict(self, items: Iterable[Item] | Iterable[str], *, views: Sequence[TextView] | None = None) -> np.ndarray:
        """``(n, 4)`` 0/1 per head: ``decide(predict_proba(items))`` (each head at ``threshold_``)."""
        return self.decide(self.predict_proba(items, views=views))

    # -- persistence -------------------------------------------------------------

    def _save_weights(self, directory: Path) -> list[str]:
        torch.save(self.network_.state_dict(), directory / WEIGHTS)
        (directory / HEAD_FILE).write_text(
            json.dumps(
                {
                    "dim": self.dim_,
                    "mean": self.mean_.tolist(),
                    "std": self.std_.tolist(),
                    "prior": self.prior_.tolist(),
                    "history": self.history_,
                    "fit_s": self.fit_s_,
                }
            ),
            encoding="utf-8",
        )
        return [WEIGHTS, HEAD_FILE]

    def _load_weights(self, directory: Path) -> None:
        saved = json.loads((directory / HEAD_FILE).read_text(encoding="utf-8"))
        self.dim_ = int(saved["dim"])
        self.mean_ = np.asarray(saved["mean"], dtype=np.float32)
        self.std_ = np.asarray(saved["std"], dtype=np.float32)
        self.prior_ = np.asarray(saved["prior"], dtype=np.float64)
        self.history_ = saved["history"]
        self.fit_s_ = saved["fit_s"]
        net = MultitaskNet(self.dim_, self.hidden, self.n_hidden, self.dropout)
        net.load_state_dict(torch.load(directory / WEIGHTS, weights_only=True))
        net.eval()
        self.network_ = net

    def _learned_state(self) -> dict[str, Any]:
        return {k: v for k, v in super()._learned_state().items() if k != "network_"}

    def _extra_config(self) -> dict[str, Any]:
        return {
            "heads": list(HEADS),
            "input_dim": self.dim_,
            "final_train_loss": self.history_[-1],
            "fit_s": self.fit_s_,
            "optimizer": "RMSprop",
        }


def _sources(items: Sequence[Item]) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in items:
        source = item.source if isinstance(item, ImageExample) else str(item.meta.get("subsource") or item.platform)
        out[source] = out.get(source, 0) + 1
    return out


__all__ = [
    "CHILD_LABELS",
    "HEADS",
    "ImageExample",
    "MultitaskImageDetector",
    "MultitaskNet",
    "encode_targets",
    "item_targets",
    "multitask_loss",
    "read_image_folder",
    "read_image_jsonl",
    "targets_from_labels",
]

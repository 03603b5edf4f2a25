"""DMML's text-only neural baselines, multi-label, in PyTorch: FastText, TextCNN, TextRNN.

* ``drugwatch.fasttext.v1``: bag of word uni- and (hashed) bigram
  embeddings, averaged, then a linear layer (Joulin et al. 2017).
* ``drugwatch.textcnn.v1``: word embeddings, 1-D convolutions of widths
  2, 3, 4 (``filters`` each), ReLU, max-over-time pooling, dropout, linear
  (Kim 2014).
* ``drugwatch.textrnn.v1``: word embeddings, bidirectional GRU, the final
  states of both directions concatenated, dropout, linear.

All three read the lower-cased raw text (as the paper's baselines do),
tokenized into words; the vocabulary (words seen ``min_count`` times) comes
from the training split only; index 0 is padding and 1 is "unknown". The
output is 10 sigmoid units trained with binary cross-entropy (Adam).

Training: a seeded share (``validation_fraction``) of the training
*groups* is held out; after each epoch the validation loss is measured and
the best epoch's weights are kept (stop after ``patience`` epochs without
improvement). The held-out probabilities of the kept weights fit the
per-label thresholds (:func:`drugwatch.models.multilabel.fit_thresholds`).
With ``validation_fraction=0`` the model trains ``epochs`` epochs on
everything and the thresholds stay at 0.5 (overfit tests).

A model directory holds ``weights.pt`` (the state dict) and ``vocab.json``
(vocabulary, thresholds, training history).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from drugwatch.labels import LABELS
from drugwatch.models.base import Interval
from drugwatch.models.multilabel import MultiLabelDetector, fit_thresholds, validation_split
from drugwatch.models.registry import register
from drugwatch.records import Event

PAD, UNK = 0, 1
_TOKEN = re.compile(r"(?u)\w+|[$€£%]")


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens (and currency / percent signs)."""
    return _TOKEN.findall(text.lower())


def _bigram_bucket(a: str, b: str, buckets: int) -> int:
    # A stable hash (Python's str hash is salted per process).
    h = 2166136261
    for ch in f"{a}\x1f{b}".encode():
        h = ((h ^ ch) * 16777619) & 0xFFFFFFFF
    return h % buckets


class FastTextNet(nn.Module):
    def __init__(self, n_tokens: int, dim: int, n_out: int):
        super().__init__()
        self.embedding = nn.Embedding(n_tokens, dim, padding_idx=PAD)
        self.out = nn.Linear(dim, n_out)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        mask = (ids != PAD).unsqueeze(-1).float()
        summed = (self.embedding(ids) * mask).sum(1)
        return self.out(summed / mask.sum(1).clamp(min=1.0))


class TextCNNNet(nn.Module):
    def __init__(self, n_tokens: int, dim: int, filters: int, widths: tuple[int, ...], dropout: float, n_out: int):
        super().__init__()
        self.embedding = nn.Embedding(n_tokens, dim, padding_idx=PAD)
        self.convs = nn.ModuleList(nn.Conv1d(dim, filters, w, padding=w - 1) for w in widths)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(filters * len(widths), n_out)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.embedding(ids).transpose(1, 2)  # (batch, dim, len)
        pad = (ids == PAD).unsqueeze(1)
        pooled = []
        for conv in self.convs:
            h = torch.relu(conv(x))[:, :, : ids.shape[1]]
            pooled.append(h.masked_fill(pad, 0.0).max(dim=2).values)
        return self.out(self.dropout(torch.cat(pooled, dim=1)))


class TextRNNNet(nn.Module):
    def __init__(self, n_tokens: int, dim: int, hidden: int, dropout: float, n_out: int):
        super().__init__()
        self.embedding = nn.Embedding(n_tokens, dim, padding_idx=PAD)
        self.rnn = nn.GRU(dim, hidden, batch_first=True, bidirectional=True)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(2 * hidden, n_out)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        lengths = (ids != PAD).sum(1).clamp(min=1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(self.embedding(ids), lengths, batch_first=True, enforce_sorted=False)
        _, h = self.rnn(packed)  # (2, batch, hidden)
        return self.out(self.dropout(torch.cat([h[0], h[1]], dim=1)))


class _NeuralTextDetector(MultiLabelDetector):
    """Shared training loop, vocabulary and persistence of the three networks."""

    # Hyperparameters every subclass's constructor stores (declared here for the loop below).
    max_len: int
    embedding_dim: int
    min_count: int
    epochs: int
    patience: int
    batch_size: int
    lr: float
    validation_fraction: float
    num_threads: int
    seed: int

    _common_constraints: ClassVar[dict[str, list]] = {
        "max_len": [Interval(int, 1, None)],
        "embedding_dim": [Interval(int, 1, None)],
        "min_count": [Interval(int, 1, None)],
        "epochs": [Interval(int, 1, None)],
        "patience": [Interval(int, 1, None)],
        "batch_size": [Interval(int, 1, None)],
        "lr": [Interval(float, 0, None, closed="neither")],
        "validation_fraction": [Interval(float, 0, 0.5)],
        "num_threads": [Interval(int, 0, None)],
        "seed": [Interval(int, 0, None)],
    }

    # -- subclass hooks ---------------------------------------------------------

    def _network(self) -> nn.Module:
        raise NotImplementedError

    def _encode_tokens(self, tokens: list[str]) -> list[int]:
        get = self.vocabulary_.get
        return [get(t, UNK) for t in tokens[: self.max_len]]

    def _n_tokens(self) -> int:
        return len(self.vocabulary_) + 2

    # -- shared ----------------------------------------------------------------

    def _ids(self, events: list[Event]) -> torch.Tensor:
        rows = [self._encode_tokens(tokenize(e.text)) or [UNK] for e in events]
        width = max(len(r) for r in rows)
        out = np.zeros((len(rows), width), dtype=np.int64)
        for i, row in enumerate(rows):
            out[i, : len(row)] = row
        return torch.from_numpy(out)

    def _with_threads(self, fn):
        previous = torch.get_num_threads()
        if self.num_threads:
            torch.set_num_threads(self.num_threads)
        try:
            return fn()
        finally:
            torch.set_num_threads(previous)

    def _logits(self, net: nn.Module, ids: torch.Tensor, batch: int = 512) -> np.ndarray:
        net.eval()
        out = []
        with torch.inference_mode():
            for start in range(0, len(ids), batch):
                chunk = ids[start : start + batch]
                chunk = chunk[:, : max(1, int((chunk != PAD).sum(1).max()))]
                out.append(net(chunk).float().numpy())
        return np.concatenate(out) if out else np.zeros((0, len(LABELS)))

    def _fit(self, events: list[Event], y: np.ndarray) -> None:
        self._with_threads(lambda: self._train(events, y))

    def _train(self, events: list[Event], y: np.ndarray) -> None:
        torch.manual_seed(self.seed)
        train_idx, val_idx = validation_split(events, self.validation_fraction, self.seed)
        counts = Counter(t for i in train_idx for t in set(tokenize(events[i].text)))
        words = sorted((w for w, c in counts.items() if c >= self.min_count), key=lambda w: (-counts[w], w))
        self.vocabulary_ = {w: i + 2 for i, w in enumerate(words)}
        ids = self._ids(events)
        target = torch.from_numpy(y.astype(np.float32))
        net = self._network()
        optimizer = torch.optim.Adam(net.parameters(), lr=self.lr)
        loss_fn = nn.BCEWithLogitsLoss()
        generator = torch.Generator().manual_seed(self.seed)
        best_state, best_loss, best_epoch, stale = None, float("inf"), 0, 0
        history: list[float] = []
        train_t = torch.from_numpy(train_idx)
        for epoch in range(self.epochs):
            net.train()
            order = train_t[torch.randperm(len(train_t), generator=generator)]
            for start in range(0, len(order), self.batch_size):
                batch = order[start : start + self.batch_size]
                x = ids[batch]
                x = x[:, : max(1, int((x != PAD).sum(1).max()))]
                optimizer.zero_grad()
                loss = loss_fn(net(x), target[batch])
                loss.backward()
                optimizer.step()
            if len(val_idx):
                logits = torch.from_numpy(self._logits(net, ids[torch.from_numpy(val_idx)]))
                val_loss = float(loss_fn(logits, target[torch.from_numpy(val_idx)]))
                history.append(val_loss)
                if val_loss < best_loss - 1e-6:
                    best_loss, best_epoch, stale = val_loss, epoch + 1, 0
                    best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
                else:
                    stale += 1
                    if stale >= self.patience:
                        break
        if best_state is not None:
            net.load_state_dict(best_state)
        else:
            best_epoch = len(history) or self.epochs
        net.eval()
        self.network_ = net
        self.history_ = history
        self.best_epoch_ = int(best_epoch)
        if len(val_idx):
            proba = 1.0 / (1.0 + np.exp(-self._logits(net, ids[torch.from_numpy(val_idx)])))
            self.thresholds_ = fit_thresholds(y[val_idx], proba)
            self.threshold_source_ = f"held-out {len(val_idx)} events ({self.validation_fraction:.0%} of groups)"
        else:
            self.thresholds_ = np.full(len(LABELS), 0.5)
            self.threshold_source_ = "fixed 0.5 (no validation split)"
        self.threshold_ = 0.5

    def _predict_proba(self, events: list[Event]) -> np.ndarray:
        logits = self._with_threads(lambda: self._logits(self.network_, self._ids(events)))
        return 1.0 / (1.0 + np.exp(-logits))

    # -- persistence ----------------------------------------------------------

    def _save_weights(self, directory: Path) -> list[str]:
        torch.save(self.network_.state_dict(), directory / "weights.pt")
        (directory / "vocab.json").write_text(
            json.dumps(
                {
                    "vocabulary": self.vocabulary_,
                    "thresholds": [float(t) for t in self.thresholds_],
                    "threshold_source": self.threshold_source_,
                    "history": self.history_,
                    "best_epoch": self.best_epoch_,
                },
                ensure_ascii=False,
            ),
            encoding="utf-8",
        )
        return ["weights.pt", "vocab.json"]

    def _load_weights(self, directory: Path) -> None:
        saved = json.loads((directory / "vocab.json").read_text(encoding="utf-8"))
        self.vocabulary_ = saved["vocabulary"]
        self.thresholds_ = np.asarray(saved["thresholds"], dtype=np.float64)
        self.threshold_source_ = saved["threshold_source"]
        self.history_ = saved["history"]
        self.best_epoch_ = saved["best_epoch"]
        net = self._network()
        net.load_state_dict(torch.load(directory / "weights.pt", weights_only=True))
        net.eval()
        self.network_ = net

    def _extra_config(self) -> dict[str, Any]:
        return {
            **super()._extra_config(),
            "vocabulary_size": len(self.vocabulary_),
            "epochs_run": len(self.history_) or self.epochs,
            "best_epoch": self.best_epoch_,
            "best_val_loss": min(self.history_) if self.history_ else None,
        }


@register("drugwatch.fasttext.v1")
class FastTextDetector(_NeuralTextDetector):
    """FastText-style bag of word uni- and hashed bigram embeddings."""

    description = "DMML baseline FastText: averaged word + hashed bigram embeddings, linear, 10 sigmoids."
    _parameter_constraints = {**_NeuralTextDetector._common_constraints, "buckets": [Interval(int, 1, None)]}

    def __init__(
        self,
        *,
        max_len: int = 48,
        embedding_dim: int = 64,
        buckets: int = 50_000,
        min_count: int = 1,
        epochs: int = 10,
        patience: int = 2,
        batch_size: int = 64,
        lr: float = 5e-3,
        validation_fraction: float = 0.1,
        num_threads: int = 0,
        seed: int = 0,
    ):
        self.max_len = max_len
        self.embedding_dim = embedding_dim
        self.buckets = buckets
        self.min_count = min_count
        self.epochs = epochs
        self.patience = patience
        self.batch_size = batch_size
        self.lr = lr
        self.validation_fraction = validation_fraction
        self.num_threads = num_threads
        self.seed = seed

    def _n_tokens(self) -> int:
        return len(self.vocabulary_) + 2 + self.buckets

    def _encode_tokens(self, tokens: list[str]) -> list[int]:
        tokens = tokens[: self.max_len]
        get = self.vocabulary_.get
        base = len(self.vocabulary_) + 2
        uni = [get(t, UNK) for t in tokens]
        bi = [base + _bigram_bucket(a, b, self.buckets) for a, b in zip(tokens, tokens[1:])]
        return uni + bi

    def _network(self) -> nn.Module:
        return FastTextNet(self._n_tokens(), self.embedding_dim, len(LABELS))


@register("drugwatch.textcnn.v1")
class TextCNNDetector(_NeuralTextDetector):
    """Kim-style TextCNN over word embeddings."""

    description = "DMML baseline TextCNN: word embeddings, convolutions of widths 2-4, max pooling, 10 sigmoids."
    _parameter_constraints = {
        **_NeuralTextDetector._common_constraints,
        "filters": [Interval(int, 1, None)],
        "dropout": [Interval(float, 0, 1, closed="left")],
    }

    def __init__(
        self,
        *,
        max_len: int = 48,
        embedding_dim: int = 128,
        filters: int = 100,
        dropout: float = 0.5,
        min_count: int = 1,
        epochs: int = 8,
        patience: int = 2,
        batch_size: int = 64,
        lr: float = 1e-3,
        validation_fraction: float = 0.1,
        num_threads: int = 0,
        seed: int = 0,
    ):
        self.max_len = max_len
        self.embedding_dim = embedding_dim
        self.filters = filters
        self.dropout = dropout
        self.min_count = min_count
        self.epochs = epochs
        self.patience = patience
        self.batch_size = batch_size
        self.lr = lr
        self.validation_fraction = validation_fraction
        self.num_threads = num_threads
        self.seed = seed

    def _network(self) -> nn.Module:
        return TextCNNNet(self._n_tokens(), self.embedding_dim, self.filters, (2, 3, 4), self.dropout, len(LABELS))


@register("drugwatch.textrnn.v1")
class TextRNNDetector(_NeuralTextDetector):
    """Bidirectional GRU over word embeddings."""

    description = "DMML baseline TextRNN: word embeddings, bidirectional GRU, final states, 10 sigmoids."
    _parameter_constraints = {
        **_NeuralTextDetector._common_constraints,
        "hidden": [Interval(int, 1, None)],
        "dropout": [Interval(float, 0, 1, closed="left")],
    }

    def __init__(
        self,
        *,
        max_len: int = 48,
        embedding_dim: int = 128,
        hidden: int = 64,
        dropout: float = 0.3,
        min_count: int = 1,
        epochs: int = 8,
        patience: int = 2,
        batch_size: int = 64,
        lr: float = 2e-3,
        validation_fraction: float = 0.1,
        num_threads: int = 0,
        seed: int = 0,
    ):
        self.max_len = max_len
        self.embedding_dim = embedding_dim
        self.hidden = hidden
        self.dropout = dropout
        self.min_count = min_count
        self.epochs = epochs
        self.patience = patience
        self.batch_size = batch_size
        self.lr = lr
        self.validation_fraction = validation_fraction
        self.num_threads = num_threads
        self.seed = seed

    def _network(self) -> nn.Module:
        return TextRNNNet(self._n_tokens(), self.embedding_dim, self.hidden, self.dropout, len(LABELS))


__all__ = ["FastTextDetector", "TextCNNDetector", "TextRNNDetector", "tokenize"]

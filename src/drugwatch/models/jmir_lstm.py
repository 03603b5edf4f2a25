"""JMIR (Li et al. 2019) two-branch LSTM, in PyTorch.

Architecture (paper sizes are the defaults):

* text branch: the first ``text_len`` (50) tokens of the chosen variant ->
  embedding (``embedding_dim`` 400) -> LSTM (``hidden`` 800 units, input
  dropout 0.2, recurrent dropout 0.2) -> dense ``dense`` (200), sigmoid;
* hashtag branch: the first ``tag_len`` (15) hashtags -> its own embedding
  (400) -> flattened -> dense (200), sigmoid;
* concatenation -> dense (200), sigmoid -> one sigmoid output.

Training: binary cross-entropy, Adam (lr 1e-4), batches of 32; a 70/30
train/validation split of the training data (stratified, seeded); training
stops when the validation loss exceeds each of the previous
``patience`` (4) epochs' losses, or after ``max_epochs``; the weights of the
epoch with the lowest validation loss are kept.

Details the paper leaves open, and our choices:

* Vocabulary: one word index built from the training data; index 0 is
  padding only; words not in the index are dropped (Keras ``Tokenizer``
  behaviour), so an unseen word never reaches the model.
* Padding is on the left and truncation keeps the *first* tokens. Padding
  steps are masked: the LSTM state stays zero until the first real token,
  so a prediction does not depend on how much padding a batch carries.
* Dropout 0.2 is a per-sequence mask on the LSTM's input, recurrent
  dropout 0.2 a per-sequence mask on the hidden state ``h`` fed back into
  the recurrence (Keras / Gal & Ghahramani semantics), implemented with an
  explicit cell loop. No dropout at prediction time.
* ``validation_fraction=0`` trains ``max_epochs`` on all the data, with no
  early stopping (for overfit tests and fixed-budget runs).
* Variants: the text branch reads the JMIR variant's tokens; the hashtag
  branch reads the post's hashtags, except for ``"without_hashtags"``
  where it is empty (all padding), so that variant truly sees no hashtag.
* The hashtag branch's dense layer reads the flattened ``tag_len x
  embedding_dim`` embeddings.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from drugwatch.models.base import Detector, Interval, Options
from drugwatch.models.jmir import VARIANTS, cleaning_source, jmir_token_pair
from drugwatch.models.registry import register
from drugwatch.records import Event

PAD = 0


class TwoBranchLSTM(nn.Module):
    """The JMIR network; ``forward`` returns logits of shape ``(batch,)``."""

    def __init__(
        self, vocab_size: int, *, text_len: int, tag_len: int, embedding_dim: int, hidden: int, dense: int,
        dropout: float, recurrent_dropout: float,
    ):
        super().__init__()
        self.hidden = hidden
        self.dropout = dropout
        self.recurrent_dropout = recurrent_dropout
        self.text_embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=PAD)
        self.tag_embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=PAD)
        self.cell = nn.LSTMCell(embedding_dim, hidden)
        self.text_dense = nn.Linear(hidden, dense)
        self.tag_dense = nn.Linear(tag_len * embedding_dim, dense)
        self.joint_dense = nn.Linear(2 * dense, dense)
        self.out = nn.Linear(dense, 1)

    def _encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        batch, steps = tokens.shape
        # Left padding: leading columns that are padding in every row leave the
        # (masked) state at zero, so skipping them changes nothing.
        real = (tokens != PAD).any(dim=0).nonzero()
        if real.numel() == 0:
            return tokens.new_zeros((batch, self.hidden), dtype=torch.float32)
        tokens = tokens[:, int(real[0]) :]
        x = self.text_embedding(tokens)  # (B, T, E)
        mask = (tokens != PAD).unsqueeze(-1).to(x.dtype)  # (B, T, 1)
        if self.training and self.dropout > 0:
            keep = 1.0 - self.dropout
            x = x * (torch.bernoulli(x.new_full((batch, 1, x.shape[-1]), keep)) / keep)
        h_mask = None
        if self.training and self.recurrent_dropout > 0:
            keep = 1.0 - self.recurrent_dropout
            h_mask = torch.bernoulli(x.new_full((batch, self.hidden), keep)) / keep
        # Input projections for all steps at once; the loop only does the recurrence.
        w_ih, w_hh = self.cell.weight_ih, self.cell.weight_hh
        gates_x = torch.matmul(x, w_ih.t()) + self.cell.bias_ih + self.cell.bias_hh
        h = x.new_zeros((batch, self.hidden))
        c = x.new_zeros((batch, self.hidden))
        for t in range(tokens.shape[1]):
            h_in = h * h_mask if h_mask is not None else h
            gates = gates_x[:, t] + torch.matmul(h_in, w_hh.t())
            i, f, g, o = gates.chunk(4, dim=1)
            c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h_new = torch.sigmoid(o) * torch.tanh(c_new)
            m = mask[:, t]
            c = m * c_new + (1 - m) * c
            h = m * h_new + (1 - m) * h
        return h

    def forward(self, text: torch.Tensor, tags: torch.Tensor) -> torch.Tensor:
        text_vec = torch.sigmoid(self.text_dense(self._encode_text(text)))
        tag_vec = torch.sigmoid(self.tag_dense(self.tag_embedding(tags).flatten(1)))
        joint = torch.sigmoid(self.joint_dense(torch.cat([text_vec, tag_vec], dim=1)))
        return self.out(joint).squeeze(1)


def _pad_left(ids: list[int], length: int) -> list[int]:
    ids = ids[:length]
    return [PAD] * (length - len(ids)) + ids


@register("drugwatch.jmir_lstm.v1")
class JmirLSTM(Detector):
    """JMIR two-branch LSTM (text + hashtags); see the module docstring."""

    task: ClassVar[str] = "selling"
    description = "JMIR 2019 two-branch LSTM (text 50 tokens + hashtags 15), PyTorch re-implementation."
    _parameter_constraints = {
        "variant": [Options(VARIANTS)],
        "text_len": [Interval(int, 1, None)],
        "tag_len": [Interval(int, 1, None)],
        "embedding_dim": [Interval(int, 1, None)],
        "hidden": [Interval(int, 1, None)],
        "dense": [Interval(int, 1, None)],
        "dropout": [Interval(float, 0, 1, closed="left")],
        "recurrent_dropout": [Interval(float, 0, 1, closed="left")],
        "lr": [Interval(float, 0, None, closed="neither")],
        "batch_size": [Interval(int, 1, None)],
        "max_epochs": [Interval(int, 1, None)],
        "patience": [Interval(int, 1, None)],
        "validation_fraction": [Interval(float, 0, 1, closed="left")],
        "min_count": [Interval(int, 1, None)],
        "seed": [Interval(int, 0, None)],
        "num_threads": [Interval(int, 0, None)],
    }

    def __init__(
        self,
        *,
        variant: str = "with_hashtags",
        text_len: int = 50,
        tag_len: int = 15,
        embedding_dim: int = 400,
        hidden: int = 800,
        dense: int = 200,
        dropout: float = 0.2,
        recurrent_dropout: float = 0.2,
        lr: float = 1e-4,
        batch_size: int = 32,
        max_epochs: int = 100,
        patience: int = 4,
        validation_fraction: float = 0.3,
        min_count: int = 1,
        seed: int = 0,
        num_threads: int = 0,
    ):
        self.variant = variant
        self.text_len = text_len
        self.tag_len = tag_len
        self.embedding_dim = embedding_dim
        self.hidden = hidden
        self.dense = dense
        self.dropout = dropout
        self.recurrent_dropout = recurrent_dropout
        self.lr = lr
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.min_count = min_count
        self.seed = seed
        self.num_threads = num_threads

    # -- data -----------------------------------------------------------------

    def _tokens(self, event: Event) -> tuple[list[str], list[str]]:
        words, tags = jmir_token_pair(event.text)
        if self.variant == "hashtags_only":
            words = [w for w in words if w.startswith("#")]
        elif self.variant == "without_hashtags":
            words = [w for w in words if not w.startswith("#")]
            tags = []
        return words, tags

    def _encode(self, events: list[Event]) -> tuple[torch.Tensor, torch.Tensor]:
        index = self.vocabulary_
        text_rows, tag_rows = [], []
        for event in events:
            words, tags = self._tokens(event)
            text_rows.append(_pad_left([index[w] for w in words if w in index], self.text_len))
            tag_rows.append(_pad_left([index[t] for t in tags if t in index], self.tag_len))
        return torch.tensor(text_rows, dtype=torch.long), torch.tensor(tag_rows, dtype=torch.long)

    # -- training ---------------------------------------------------------------

    def _network(self) -> TwoBranchLSTM:
        return TwoBranchLSTM(
            len(self.vocabulary_) + 1, text_len=self.text_len, tag_len=self.tag_len,
            embedding_dim=self.embedding_dim, hidden=self.hidden, dense=self.dense,
            dropout=self.dropout, recurrent_dropout=self.recurrent_dropout,
        )

    def _fit(self, events: list[Event], y: np.ndarray) -> None:
        from sklearn.model_selection import train_test_split

        previous_threads = torch.get_num_threads()
        if self.num_threads:
            torch.set_num_threads(self.num_threads)
        try:
            self._train(events, y, train_test_split)
        finally:
            torch.set_num_threads(previous_threads)

    def _train(self, events: list[Event], y: np.ndarray, train_test_split) -> None:
        torch.manual_seed(self.seed)
        generator = np.random.default_rng(self.seed)
        idx = np.arange(len(events))
        if self.validation_fraction > 0:
            stratify = y if np.bincount(y).min() >= 2 else None
            train_idx, val_idx = train_test_split(
                idx, test_size=self.validation_fraction, random_state=self.seed, stratify=stratify
            )
        else:  # no validation split: train max_epochs on everything (used by overfit tests)
            train_idx, val_idx = idx, idx
        # Vocabulary from the training part of the fit data only (index 0 = padding).
        counts: Counter[str] = Counter()
        for i in train_idx:
            words, tags = self._tokens(events[i])
            counts.update(words[: self.text_len])
            counts.update(tags[: self.tag_len])
        kept = sorted((w for w, n in counts.items() if n >= self.min_count), key=lambda w: (-counts[w], w))
        self.vocabulary_ = {w: i + 1 for i, w in enumerate(kept)}

        text, tags = self._encode(events)
        target = torch.tensor(y, dtype=torch.float32)
        net = self._network()
        optimizer = torch.optim.Adam(net.parameters(), lr=self.lr)
        loss_fn = nn.BCEWithLogitsLoss()
        val_text, val_tags, val_y = text[val_idx], tags[val_idx], target[val_idx]

        history: list[float] = []
        best_loss, best_state, best_epoch = float("inf"), None, 0
        for epoch in range(self.max_epochs):
            net.train()
            order = generator.permutation(train_idx)
            for start in range(0, len(order), self.batch_size):
                batch = torch.as_tensor(order[start : start + self.batch_size])
                optimizer.zero_grad()
                loss = loss_fn(net(text[batch], tags[batch]), target[batch])
                loss.backward()
                optimizer.step()
            net.eval()
            with torch.no_grad():
                val_loss = float(loss_fn(self._logits(net, val_text, val_tags), val_y))
            history.append(val_loss)
            if self.validation_fraction == 0:
                best_state, best_epoch = None, epoch
                continue
            if val_loss < best_loss:
                best_loss, best_epoch = val_loss, epoch
                best_state = {k: v.detach().clone() for k, v in net.state_dict().items()}
            previous = history[-1 - self.patience : -1]
            if len(previous) == self.patience and all(val_loss > p for p in previous):
                break
        if best_state is not None:
            net.load_state_dict(best_state)
        net.eval()
        self.network_ = net
        self.val_loss_history_ = history
        self.best_epoch_ = best_epoch + 1

    def _logits(self, net: TwoBranchLSTM, text: torch.Tensor, tags: torch.Tensor, chunk: int = 512) -> torch.Tensor:
        parts = [net(text[i : i + chunk], tags[i : i + chunk]) for i in range(0, len(text), chunk)]
        return torch.cat(parts) if parts else torch.zeros(0)

    def _predict_proba(self, events: list[Event]) -> np.ndarray:
        text, tags = self._encode(events)
        self.network_.eval()
        with torch.no_grad():
            return torch.sigmoid(self._logits(self.network_, text, tags)).double().numpy()

    # -- persistence ------------------------------------------------------------

    def _save_weights(self, directory: Path) -> list[str]:
        torch.save(self.network_.state_dict(), directory / "weights.pt")
        (directory / "vocab.json").write_text(
            json.dumps({"vocabulary": self.vocabulary_, "val_loss_history": self.val_loss_history_,
                        "best_epoch": self.best_epoch_}, ensure_ascii=False),
            encoding="utf-8",
        )
        return ["weights.pt", "vocab.json"]

    def _load_weights(self, directory: Path) -> None:
        saved = json.loads((directory / "vocab.json").read_text(encoding="utf-8"))
        self.vocabulary_ = saved["vocabulary"]
        self.val_loss_history_ = saved["val_loss_history"]
        self.best_epoch_ = saved["best_epoch"]
        net = self._network()
        net.load_state_dict(torch.load(directory / "weights.pt", weights_only=True))
        net.eval()
        self.network_ = net

    def _extra_config(self) -> dict[str, Any]:
        return {
            "vocabulary_size": len(self.vocabulary_),
            "epochs_run": len(self.val_loss_history_),
            "best_epoch": self.best_epoch_,
            "best_val_loss": min(self.val_loss_history_),
            "cleaning": cleaning_source(),
        }


__all__ = ["JmirLSTM", "TwoBranchLSTM"]

"""The JMIR LSTM's packed recurrence and hand-written backward against plain references."""

from __future__ import annotations

import pytest
import torch

from drugwatch.models.jmir_lstm import PAD, TwoBranchLSTM, _Recurrence

SIZES = dict(text_len=12, tag_len=4, embedding_dim=16, hidden=24, dense=8)


def _network(seed: int = 0, **kwargs) -> TwoBranchLSTM:
    torch.manual_seed(seed)
    return TwoBranchLSTM(50, **SIZES, dropout=0.0, recurrent_dropout=0.0, **kwargs)


def _left_padded(lengths: list[int], width: int = 12, seed: int = 1) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    rows = torch.zeros((len(lengths), width), dtype=torch.long)
    for i, n in enumerate(lengths):
        if n:
            rows[i, width - n :] = torch.randint(1, 50, (n,), generator=generator)
    return rows


def _reference_state(net: TwoBranchLSTM, tokens: torch.Tensor) -> torch.Tensor:
    """Each row on its own: nn.LSTMCell over its real tokens from a zero state."""
    states = []
    for row in tokens:
        h = torch.zeros((1, net.hidden))
        c = torch.zeros((1, net.hidden))
        for token in row[row != PAD]:
            h, c = net.cell(net.text_embedding(token.view(1)), (h, c))
        states.append(h[0])
    return torch.stack(states)


@pytest.mark.parametrize("with_mask", [False, True])
def test_recurrence_backward_matches_numerical_gradient(with_mask):
    torch.manual_seed(0)
    hidden, active = 4, (1, 3, 3, 5)  # rows join at steps 0, 1 and 3
    gates_x = torch.randn(sum(active), 4 * hidden, dtype=torch.double, requires_grad=True)
    w_hh = torch.randn(4 * hidden, hidden, dtype=torch.double, requires_grad=True)
    mask = (torch.bernoulli(torch.full((5, hidden), 0.7, dtype=torch.double)) / 0.7) if with_mask else None
    assert torch.autograd.gradcheck(lambda g, w: _Recurrence.apply(g, w, mask, active), (gates_x, w_hh))


def test_packed_encoder_equals_one_row_at_a_time():
    net = _network()
    tokens = _left_padded([0, 3, 12, 1, 7, 7, 0, 5, 2])
    packed = net._encode_text(tokens)
    reference = _reference_state(net, tokens)
    torch.testing.assert_close(packed, reference, rtol=1e-5, atol=1e-6)
    assert torch.count_nonzero(packed[0]) == 0 and torch.count_nonzero(packed[6]) == 0  # no token, zero state
    # Gradients of every parameter agree as well (training mode, no dropout).
    net.train()
    weights = torch.linspace(-1, 1, net.hidden)
    (net._encode_text(tokens) * weights).sum().backward()
    packed_grads = {name: p.grad.clone() for name, p in net.named_parameters() if p.grad is not None}
    net.zero_grad()
    (_reference_state(net, tokens) * weights).sum().backward()
    for name, p in net.named_parameters():
        if name in packed_grads:
            torch.testing.assert_close(packed_grads[name], p.grad, rtol=1e-4, atol=1e-6, msg=name)
    assert {"cell.weight_hh", "cell.weight_ih", "text_embedding.weight"} <= set(packed_grads)


def test_all_padding_batch_gives_zero_state():
    net = _network()
    state = net._encode_text(torch.zeros((3, 12), dtype=torch.long))
    assert state.shape == (3, net.hidden) and torch.count_nonzero(state) == 0


def test_dense_embedding_grads_equal_the_dense_gradient():
    tokens, tags = _left_padded([4, 12, 1, 0]), _left_padded([2, 0, 4, 1], width=4, seed=2)
    dense, sparse = _network(), _network(sparse_embeddings=True)
    sparse.load_state_dict(dense.state_dict())
    dense(tokens, tags).sum().backward()
    sparse(tokens, tags).sum().backward()
    assert sparse.text_embedding.weight.grad.is_sparse
    buffers: dict[str, torch.Tensor] = {}
    sparse.dense_embedding_grads(buffers)
    for name in ("text_embedding", "tag_embedding"):
        got = getattr(sparse, name).weight.grad
        assert not got.is_sparse
        torch.testing.assert_close(got, getattr(dense, name).weight.grad)
    # The buffers are reused and cleared between steps.
    sparse.zero_grad()
    sparse(tokens[:1], tags[:1]).sum().backward()
    sparse.dense_embedding_grads(buffers)
    assert sparse.text_embedding.weight.grad.data_ptr() == buffers["text"].data_ptr()
    dense.zero_grad()
    dense(tokens[:1], tags[:1]).sum().backward()
    torch.testing.assert_close(sparse.text_embedding.weight.grad, dense.text_embedding.weight.grad)

"""The recurrent models without packed sequences, for the graph exporters (``textclf.graphs.write``).

Graph exporters (ONNX, ``torch.export``) cannot follow a packed sequence, whose
shape depends on the lengths. ``UnpackedRNN`` computes the same final states on
the padded batch: the forward direction reads each text from its start, and
its state after the text's last real token is picked out; the backward
direction reads each text *reversed within its length* (padding stays at the
end, after the real tokens), so it too sees only real tokens before its final
state. ``RNNClassifier.unpack(unpacked(scan))`` switches a model to it (the exports do).

``torch.export`` goes one step further: it unrolls ``nn.GRU``/``nn.LSTM`` over the
time steps, fixing the length (pytorch/pytorch#115092). With ``scan=True`` the
cells are written out (the GRU and LSTM equations below) and stepped with
``scan``, a loop the exported graph keeps, so the length stays dynamic.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


def unpacked(scan: bool = False) -> Callable[[nn.RNNBase], nn.Module]:
    """What ``ClassifierNet.unpack`` is given: ``rnn -> UnpackedRNN(rnn, scan)``. ``scan``: step hand-written
    cells with ``scan`` (for ``torch.export``; slower in eager mode)."""
    return lambda rnn: UnpackedRNN(rnn, scan=scan)


def reverse_within(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """``x [batch, seq_len, dim]`` with each row's first ``lengths[b]`` steps reversed, the rest left in place.
    Its own inverse."""
    steps = torch.arange(x.shape[1], device=x.device).unsqueeze(0)  # [1, seq_len]
    last = (lengths - 1).unsqueeze(1)  # [batch, 1]
    index = torch.where(steps <= last, last - steps, steps)  # [batch, seq_len]
    return x.gather(1, index.unsqueeze(-1).expand(-1, -1, x.shape[2]))


def at_length(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """``x [batch, seq_len, dim]`` -> ``[batch, dim]``: each row's step ``lengths[b] - 1``."""
    index = (lengths - 1).view(-1, 1, 1).expand(-1, 1, x.shape[2])  # [batch, 1, dim]
    return x.gather(1, index).squeeze(1)


class UnpackedRNN(nn.Module):
    """The final states of a (bi-directional, multi-layer) ``nn.LSTM``/``nn.GRU`` over right-padded batches,
    without packing: one single-direction RNN per layer and direction, holding copies of the weights."""

    def __init__(self, rnn: nn.LSTM | nn.GRU, scan: bool = False):
        super().__init__()
        self.scan = scan
        self.directions = 2 if rnn.bidirectional else 1
        self.cells = nn.ModuleList()
        for layer in range(rnn.num_layers):
            for suffix in ("", "_reverse")[: self.directions]:
                size = rnn.input_size if layer == 0 else rnn.hidden_size * self.directions
                one = type(rnn)(size, rnn.hidden_size, batch_first=True)
                with torch.no_grad():
                    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                        getattr(one, f"{name}_l0").copy_(getattr(rnn, f"{name}_l{layer}{suffix}"))
                self.cells.append(one.to(rnn.weight_ih_l0.device))

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:  # x [batch, seq_len, input]
        finals = []
        for layer in range(len(self.cells) // self.directions):
            outputs = []
            for direction in range(self.directions):
                cell = self.cells[layer * self.directions + direction]
                seen = x if direction == 0 else reverse_within(x, lengths)  # [batch, seq_len, input]
                out = scanned(cell, seen) if self.scan else cell(seen)[0]  # [batch, seq_len, hidden]
                # (steps past a text's length are never read)
                finals.append(at_length(out, lengths))  # [batch, hidden]: after the text's last real token
                outputs.append(out if direction == 0 else reverse_within(out, lengths))
            x = torch.cat(outputs, dim=2)  # [batch, seq_len, hidden * directions]: the next layer's input
        return torch.stack(finals)  # [layers * directions, batch, hidden], as nn.LSTM/GRU order h_n


def gru_step(h: torch.Tensor, gx: torch.Tensor, w_hh: torch.Tensor, b_hh: torch.Tensor) -> torch.Tensor:
    """One GRU step: ``h [batch, hidden]``, ``gx = x W_ih^T + b_ih`` ``[batch, 3 hidden]`` (reset, update, new)."""
    r_x, z_x, n_x = gx.chunk(3, dim=-1)
    r_h, z_h, n_h = (h @ w_hh.T + b_hh).chunk(3, dim=-1)
    reset, update = torch.sigmoid(r_x + r_h), torch.sigmoid(z_x + z_h)
    new = torch.tanh(n_x + reset * n_h)
    return (1 - update) * new + update * h


def lstm_step(h: torch.Tensor, c: torch.Tensor, gx: torch.Tensor, w_hh: torch.Tensor, b_hh: torch.Tensor):
    """One LSTM step: ``h, c [batch, hidden]``, ``gx [batch, 4 hidden]`` (input, forget, cell, output gates)."""
    i, f, g, o = (gx + h @ w_hh.T + b_hh).chunk(4, dim=-1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def scanned(cell: nn.GRU | nn.LSTM, x: torch.Tensor) -> torch.Tensor:
    """``cell(x)[0]`` (one layer, one direction, ``x [batch, seq_len, input]``) as a ``scan`` over time steps."""
    from torch._higher_order_ops.scan import scan  # a loop torch.export keeps (PyTorch's own, still private)

    w_hh, b_hh = cell.weight_hh_l0, cell.bias_hh_l0  # tensors, not the module: scan's step must not touch an RNN
    gx = (x @ cell.weight_ih_l0.T + cell.bias_ih_l0).transpose(0, 1)  # [seq_len, batch, gates * hidden]
    h0 = x.new_zeros(x.shape[0], cell.hidden_size)  # [batch, hidden]
    if isinstance(cell, nn.LSTM):
        def step(state, g):
            h, c = lstm_step(*state, g, w_hh, b_hh)
            return (h, c), h.clone()
        init = (h0, h0.clone())
    else:
        def step(h, g):
            h = gru_step(h, g, w_hh, b_hh)
            return h, h.clone()
        init = h0
    _, outputs = scan(step, init, gx)  # [seq_len, batch, hidden]
    return outputs.transpose(0, 1)

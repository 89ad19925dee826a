"""Integrated gradients, written out step by step (Sundararajan et al., 2017).

Which words made the model say "positive"? Integrated gradients answers in
*embedding space*. Take the text's word vectors ``x`` and a *baseline* ``x'``
that carries no information (every word replaced by ``<pad>``, ``<unk>`` or a
zero vector). Walk the straight line from ``x'`` to ``x``, and add up the
gradient of the model's output along the way:

    IG_i(x) = (x_i - x'_i) * ∫_0^1 ∂f(x' + α (x - x')) / ∂x_i  dα

The integral becomes a weighted sum over ``steps`` points on the path (a
Riemann sum). Summing ``IG_i`` over a word's embedding dimensions gives that
word's score. *Completeness*: all scores add up to ``f(x) - f(x')``; what they
miss, the convergence delta, shows how good the sum is and shrinks as the
number of steps grows.

Every textclf model is ``forward(ids, mask) = classify(embedding(ids), mask)``,
so one function serves NBoW, LSTM/GRU, CNN and the transformers: it calls
``model.embedding`` and ``model.classify`` and nothing model-specific.

Three details:

- only real tokens are replaced in the baseline; at padding positions ``x == x'``,
  so their attribution is exactly zero;
- the model is put in ``eval()`` mode (no dropout: f must be a fixed function);
- cuDNN computes an RNN's backward pass only in training mode, so on a GPU the
  gradients are taken with cuDNN switched off (``torch.backends.cudnn.flags``).
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass

import torch
from torch import nn

MAX_STEPS = 10_000  # points on the path: beyond this the result no longer changes, only the time

RULES = ("trapezoid", "left", "right", "middle")
OUTPUTS = ("probability", "logit")


def riemann_points(steps: int, method: str = "trapezoid") -> tuple[torch.Tensor, torch.Tensor]:
    """``alphas`` (where on the path) and ``weights`` (how much each counts), both ``[steps]``, weights sum to 1.

    ``left``/``right``/``middle`` use ``steps`` equal slices of width 1/steps and
    sample each slice at its left end, right end or middle. ``trapezoid`` samples
    ``steps`` evenly spaced points from 0 to 1 inclusive and gives the two ends
    half weight. (Captum's ``riemann_trapezoid`` uses slice width 1/steps for
    these points, so its weights add up to 1 - 1/steps; ours add up to 1.)
    """
    if method not in RULES:
        raise ValueError(f"unknown Riemann rule {method!r}; expected one of: {', '.join(RULES)}")
    if not (2 if method == "trapezoid" else 1) <= steps <= MAX_STEPS:
        raise ValueError(f"steps must be from {2 if method == 'trapezoid' else 1} to {MAX_STEPS:,} for {method}, "
                         f"not {steps}")
    if method == "trapezoid":
        alphas = torch.linspace(0.0, 1.0, steps, dtype=torch.float64)
        weights = torch.full((steps,), 1.0 / (steps - 1), dtype=torch.float64)
        weights[0] = weights[-1] = 0.5 / (steps - 1)
        return alphas, weights
    offset = {"left": 0.0, "middle": 0.5, "right": 1.0}[method]
    alphas = (torch.arange(steps, dtype=torch.float64) + offset) / steps
    return alphas, torch.full((steps,), 1.0 / steps, dtype=torch.float64)


def interpolate(baseline: torch.Tensor, inputs: torch.Tensor, alphas: torch.Tensor) -> torch.Tensor:
    """Points on the straight line from ``baseline`` to ``inputs``: ``[steps, *inputs.shape]``.

    Point ``s`` is ``baseline + alphas[s] * (inputs - baseline)``.
    """
    alphas = alphas.to(inputs.device, inputs.dtype).view(-1, *([1] * inputs.dim()))  # [steps, 1, ..., 1]
    return baseline.unsqueeze(0) + alphas * (inputs - baseline).unsqueeze(0)  # [steps, *inputs.shape]


def average_gradient(gradients: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``Σ_s weights[s] * gradients[s]``: ``[steps, *shape]`` -> ``[*shape]``."""
    weights = weights.to(gradients.device, gradients.dtype).view(-1, *([1] * (gradients.dim() - 1)))  # [steps, 1...]
    return (weights * gradients).sum(dim=0)  # [*shape]


def riemann_sum(gradients: torch.Tensor, weights: torch.Tensor, inputs: torch.Tensor,
                baseline: torch.Tensor) -> torch.Tensor:
    """``(inputs - baseline) * Σ_s weights[s] * gradients[s]``: gradients ``[steps, *shape]`` -> ``[*shape]``."""
    return (inputs - baseline) * average_gradient(gradients, weights)


def completeness_delta(token_attributions: torch.Tensor, f_inputs: torch.Tensor,
                       f_baseline: torch.Tensor) -> torch.Tensor:
    """How far the attributions are from adding up to ``f(x) - f(x')``: ``[batch, seq_len]`` -> ``[batch]``."""
    return token_attributions.sum(dim=-1) - (f_inputs - f_baseline)


def baseline_ids(ids: torch.Tensor, mask: torch.Tensor, token_id: int) -> torch.Tensor:
    """``ids`` with every real token (``mask`` True) replaced by ``token_id``; padding kept: ``[batch, seq_len]``."""
    return torch.where(mask, torch.full_like(ids, token_id), ids)


def baseline_embeddings(model: nn.Module, ids: torch.Tensor, mask: torch.Tensor, kind: str = "pad",
                        unk_index: int | None = None) -> torch.Tensor:
    """The baseline ``x'`` in embedding space, ``[batch, seq_len, dim]``: real tokens become pad, unk or zeros."""
    embedded = model.embedding(ids)  # [batch, seq_len, dim]
    if kind == "zero":
        return torch.where(mask.unsqueeze(-1), torch.zeros_like(embedded), embedded)
    if kind not in ("pad", "unk"):
        raise ValueError(f"unknown baseline {kind!r}; expected pad, unk or zero")
    token_id = model.config.pad_index if kind == "pad" else unk_index
    if token_id is None:
        raise ValueError("the unk baseline needs unk_index (the vocabulary's <unk> id)")
    return model.embedding(baseline_ids(ids, mask, token_id))


@dataclass
class Attributions:
    """Integrated gradients for a batch of texts."""

    tokens: torch.Tensor     # [batch, seq_len] one score per token (summed over the embedding); 0 at padding
    delta: torch.Tensor      # [batch] completeness error: sum(tokens) - (f(x) - f(x'))
    f_inputs: torch.Tensor   # [batch] the explained output at the text
    f_baseline: torch.Tensor  # [batch] ... and at the baseline
    targets: torch.Tensor    # [batch] the class each row's output belongs to


def class_scores(model: nn.Module, embedded: torch.Tensor, mask: torch.Tensor,
                 output: str = "probability") -> torch.Tensor:
    """Every class's probability (or logit), ``[rows, n_classes]``."""
    logits = model.classify(embedded, mask)  # [rows, n_classes]
    return logits.softmax(dim=-1) if output == "probability" else logits


def model_output(model: nn.Module, embedded: torch.Tensor, mask: torch.Tensor, targets: torch.Tensor,
                 output: str = "probability") -> torch.Tensor:
    """The number being explained: the target class's probability (or logit) per row, ``[rows]``."""
    return class_scores(model, embedded, mask, output).gather(1, targets.view(-1, 1)).squeeze(1)  # [rows]


@torch.no_grad()
def endpoints(model: nn.Module, ids: torch.Tensor, mask: torch.Tensor, targets: torch.Tensor | None,
              baseline: str, unk_index: int | None, output: str
              ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The two ends of the path, ``x`` and ``x'`` ``[batch, seq_len, dim]``, and the targets ``[batch]``
    (the predicted classes unless given). Checks ``output`` and puts the model in eval mode."""
    if output not in OUTPUTS:
        raise ValueError(f"unknown output {output!r}; expected one of: {', '.join(OUTPUTS)}")
    model.eval()
    inputs = model.embedding(ids)  # [batch, seq_len, dim]
    reference = baseline_embeddings(model, ids, mask, baseline, unk_index)  # [batch, seq_len, dim]
    if targets is None:
        targets = model.classify(inputs, mask).argmax(dim=-1)  # [batch]
    return inputs, reference, targets


@torch.no_grad()
def attributions(model: nn.Module, per_dim: torch.Tensor, inputs: torch.Tensor, reference: torch.Tensor,
                 mask: torch.Tensor, targets: torch.Tensor, output: str) -> Attributions:
    """Per-dimension attributions ``[batch, seq_len, dim]`` -> token scores, with f(x), f(x') and the delta."""
    return token_attributions(model, per_dim.double().sum(dim=-1), inputs, reference, mask, targets, output)


@torch.no_grad()
def token_attributions(model: nn.Module, scores: torch.Tensor, inputs: torch.Tensor, reference: torch.Tensor,
                       mask: torch.Tensor, targets: torch.Tensor, output: str) -> Attributions:
    """Token scores ``[batch, seq_len]`` (any method's) -> ``Attributions``: zero at padding, with f(x), f(x')
    and the completeness gap ``sum(scores) - (f(x) - f(x'))``."""
    tokens = scores.double() * mask  # [batch, seq_len]
    f_inputs = model_output(model, inputs, mask, targets, output).double()  # [batch]
    f_baseline = model_output(model, reference, mask, targets, output).double()  # [batch]
    return Attributions(tokens, completeness_delta(tokens, f_inputs, f_baseline), f_inputs, f_baseline, targets)


def integrated_gradients(model: nn.Module, ids: torch.Tensor, mask: torch.Tensor, *,
                         targets: torch.Tensor | None = None, baseline: str = "pad", unk_index: int | None = None,
                         steps: int = 50, method: str = "trapezoid", output: str = "probability",
                         internal_batch_size: int = 64) -> Attributions:
    """Integrated gradients of ``model`` for ``ids``/``mask`` ``[batch, seq_len]``, on the model's device.

    ``targets`` (``[batch]`` class ids) default to the predicted classes. Path
    points are pushed through the model ``internal_batch_size`` texts' worth at
    a time, so memory stays bounded for long paths.
    """
    alphas, weights = riemann_points(steps, method)
    inputs, reference, targets = endpoints(model, ids, mask, targets, baseline, unk_index, output)
    total_gradient = torch.zeros_like(inputs, dtype=torch.float64)  # [batch, seq_len, dim]
    chunk = max(1, internal_batch_size // ids.shape[0])  # path points per forward pass
    with rnn_backward_allowed(inputs.device):
        for start in range(0, steps, chunk):
            points = interpolate(reference, inputs, alphas[start : start + chunk])  # [k, batch, seq_len, dim]
            k = points.shape[0]
            path = points.reshape(k * ids.shape[0], *inputs.shape[1:]).requires_grad_(True)  # [k*batch, seq, dim]
            scores = model_output(model, path, mask.repeat(k, 1), targets.repeat(k), output)  # [k*batch]
            (gradient,) = torch.autograd.grad(scores.sum(), path)
            gradient = gradient.view(k, *inputs.shape).double()  # [k, batch, seq_len, dim]
            total_gradient += average_gradient(gradient, weights[start : start + k])  # [batch, seq_len, dim]
    per_dim = (inputs - reference).double() * total_gradient  # [batch, seq_len, dim]
    return attributions(model, per_dim, inputs, reference, mask, targets, output)


def rnn_backward_allowed(device: torch.device):
    """A context in which an eval-mode RNN can be differentiated: cuDNN off on CUDA, nothing to do elsewhere."""
    return torch.backends.cudnn.flags(enabled=False) if device.type == "cuda" else nullcontext()

"""Lesson 5 exercises — reference solutions.
"""

from __future__ import annotations

import torch

# ----- worked example: where on the path, and how much each point counts ------------


def left_riemann_points(steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``alphas`` 0, 1/steps, ..., (steps-1)/steps and equal ``weights`` 1/steps, both ``[steps]``."""
    alphas = torch.arange(steps, dtype=torch.float32) / steps
    return alphas, torch.full((steps,), 1.0 / steps)


# ----- Exercise 5.1: points on the straight-line path -------------------------------


def interpolate(baseline: torch.Tensor, inputs: torch.Tensor, alphas: torch.Tensor) -> torch.Tensor:
    """The points ``baseline + alpha * (inputs - baseline)`` for every alpha (Exercise 5.1).

    ``baseline`` and ``inputs`` have the same shape, e.g. ``[seq_len, dim]``; ``alphas`` is ``[steps]``.
    Returns ``[steps, *inputs.shape]``: point 0 belongs to ``alphas[0]``. No Python loop is needed:
    give ``alphas`` trailing size-1 dimensions and let broadcasting do the work.
    """
    alphas = alphas.to(inputs.dtype).view(-1, *([1] * inputs.dim()))  # [steps, 1, ..., 1]
    return baseline.unsqueeze(0) + alphas * (inputs - baseline).unsqueeze(0)


# ----- Exercise 5.2: the Riemann sum -----------------------------------------------


def riemann_sum(gradients: torch.Tensor, weights: torch.Tensor, inputs: torch.Tensor,
                baseline: torch.Tensor) -> torch.Tensor:
    """Integrated gradients from the gradients at the path points (Exercise 5.2).

    ``gradients`` ``[steps, *shape]`` holds ∂f/∂x at each point, ``weights`` ``[steps]`` how much each
    point counts. Return ``(inputs - baseline) * Σ_s weights[s] * gradients[s]``, shape ``[*shape]``.
    """
    weights = weights.to(gradients.dtype).view(-1, *([1] * (gradients.dim() - 1)))  # [steps, 1, ..., 1]
    return (inputs - baseline) * (weights * gradients).sum(dim=0)


# ----- Exercise 5.3: the completeness check ----------------------------------------


def completeness_delta(token_attributions: torch.Tensor, f_inputs: torch.Tensor,
                       f_baseline: torch.Tensor) -> torch.Tensor:
    """How far the attributions are from adding up to ``f(x) - f(x')`` (Exercise 5.3).

    ``token_attributions`` ``[batch, seq_len]`` (zeros at padding), ``f_inputs`` and ``f_baseline``
    ``[batch]``. Return ``[batch]``: the sum of each row's attributions minus its ``f(x) - f(x')``.
    """
    return token_attributions.sum(dim=-1) - (f_inputs - f_baseline)

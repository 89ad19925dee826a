"""The same attributions through Captum, to check ours against a library everyone uses.

Captum's ``LayerIntegratedGradients`` hooks the embedding layer: it runs
``model(ids, mask)`` on the baseline ids and on the text's ids, and
interpolates between the two *outputs of that layer* — exactly our path in
embedding space. A zero-vector baseline has no ids, so for ``baseline="zero"``
we hand Captum's plain ``IntegratedGradients`` the embeddings and
``model.classify`` directly.

Captum names the Riemann rules ``riemann_left``, ``riemann_right``,
``riemann_middle`` and ``riemann_trapezoid``; its trapezoid weights add up to
``1 - 1/steps`` (see ``riemann_points``), so with that rule its attributions are
ours times ``(steps - 1) / steps``.
"""

from __future__ import annotations

from dataclasses import replace

import torch
from torch import nn

from textclf.explain.integrated_gradients import (
    Attributions,
    attributions,
    baseline_ids,
    class_scores,
    endpoints,
    riemann_points,
    rnn_backward_allowed,
)


def captum_integrated_gradients(model: nn.Module, ids: torch.Tensor, mask: torch.Tensor, *,
                                targets: torch.Tensor | None = None, baseline: str = "pad",
                                unk_index: int | None = None, steps: int = 50, method: str = "trapezoid",
                                output: str = "probability", internal_batch_size: int = 64) -> Attributions:
    """Same arguments and result as ``integrated_gradients``, computed by Captum."""
    from captum.attr import IntegratedGradients, LayerIntegratedGradients

    riemann_points(steps, method)  # the same argument checks as ours
    inputs, reference, targets = endpoints(model, ids, mask, targets, baseline, unk_index, output)

    def scores(embedded_or_ids: torch.Tensor, mask: torch.Tensor, from_ids: bool) -> torch.Tensor:
        embedded = model.embedding(embedded_or_ids) if from_ids else embedded_or_ids
        return class_scores(model, embedded, mask, output)  # [rows, n_classes]; Captum picks the target

    options = dict(target=targets, n_steps=steps, method=f"riemann_{method}",
                   internal_batch_size=internal_batch_size, return_convergence_delta=True)
    with rnn_backward_allowed(inputs.device):
        if baseline == "zero":
            ig = IntegratedGradients(lambda emb, mask: scores(emb, mask, from_ids=False))
            per_dim, delta = ig.attribute(inputs, baselines=reference, additional_forward_args=(mask,), **options)
        else:
            token_id = model.config.pad_index if baseline == "pad" else unk_index
            ig = LayerIntegratedGradients(lambda ids, mask: scores(ids, mask, from_ids=True), model.embedding)
            per_dim, delta = ig.attribute(ids, baselines=baseline_ids(ids, mask, token_id),
                                          additional_forward_args=(mask,), **options)
    result = attributions(model, per_dim, inputs, reference, mask, targets, output)
    return replace(result, delta=delta.double())  # Captum's own convergence delta (tested equal to ours)

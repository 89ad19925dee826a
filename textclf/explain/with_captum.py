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

import torch
from torch import nn

from textclf.explain.integrated_gradients import (
    OUTPUTS,
    Attributions,
    baseline_embeddings,
    baseline_ids,
    model_output,
    riemann_points,
    rnn_backward_allowed,
)


def captum_integrated_gradients(model: nn.Module, ids: torch.Tensor, mask: torch.Tensor, *,
                                targets: torch.Tensor | None = None, baseline: str = "pad",
                                unk_index: int | None = None, steps: int = 50, method: str = "trapezoid",
                                output: str = "probability", internal_batch_size: int = 64) -> Attributions:
    """Same arguments and result as ``integrated_gradients``, computed by Captum."""
    from captum.attr import IntegratedGradients, LayerIntegratedGradients

    if output not in OUTPUTS:
        raise ValueError(f"unknown output {output!r}; expected one of: {', '.join(OUTPUTS)}")
    riemann_points(steps, method)  # the same argument checks as ours
    model.eval()
    with torch.no_grad():
        inputs = model.embedding(ids)  # [batch, seq_len, dim]
        reference = baseline_embeddings(model, ids, mask, baseline, unk_index)  # [batch, seq_len, dim]
        if targets is None:
            targets = model.classify(inputs, mask).argmax(dim=-1)  # [batch]

    def scores(embedded_or_ids: torch.Tensor, mask: torch.Tensor, from_ids: bool) -> torch.Tensor:
        embedded = model.embedding(embedded_or_ids) if from_ids else embedded_or_ids
        logits = model.classify(embedded, mask)  # [rows, n_classes]
        return logits.softmax(dim=-1) if output == "probability" else logits

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
    tokens = per_dim.double().sum(dim=-1) * mask  # [batch, seq_len]
    with torch.no_grad():
        f_inputs = model_output(model, inputs, mask, targets, output).double()  # [batch]
        f_baseline = model_output(model, reference, mask, targets, output).double()  # [batch]
    return Attributions(tokens, delta.double(), f_inputs, f_baseline, targets)

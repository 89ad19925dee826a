"""Attention weights read as word scores — shown, and scored like the others, because it is *not* an attribution.

Many tutorials colour the words by the attention they get and call it an
explanation. Attention says where a layer *looked*, not what changed the
answer: a word can get much attention and be multiplied by a value vector
that does nothing (Jain & Wallace, 2019, "Attention is not explanation";
Wiegreffe & Pinter, 2019, for the other side). Lesson 12 measures this with
the same faithfulness metrics as the real attributions instead of asserting it.

Two readings, both averaged over heads:

- ``attention``: the last layer's weights, read the way the model pools
  (the [CLS] row for a [CLS] model, the mean of the real tokens' rows for a
  mean-pooling one);
- ``rollout`` (Abnar & Zuidema, 2020): attention through all layers, with the
  residual connection counted as half of each layer, ``Â = ½A + ½I`` (rows
  renormalised), multiplied from the first layer to the last.

Both are non-negative and ignore the explained class: they cannot say
"against".
"""

from __future__ import annotations

import torch
from torch import nn

from textclf.explain.integrated_gradients import Attributions, endpoints, token_attributions
from textclf.models.base import ClassifierNet


def attention_scores(model: nn.Module, ids: torch.Tensor, mask: torch.Tensor, *, targets: torch.Tensor | None = None,
                     baseline: str = "pad", unk_index: int | None = None, output: str = "probability",
                     rollout: bool = False) -> Attributions:
    """The attention each token of ``ids``/``mask`` ``[batch, seq_len]`` gets (last layer, or rolled out)."""
    if not (isinstance(model, ClassifierNet) and model.has_attention):
        raise ValueError(f"{type(model).__name__} has no attention layers; attention and rollout need a "
                         f"transformer or minilm model")
    inputs, reference, targets = endpoints(model, ids, mask, targets, baseline, unk_index, output)
    maps, readout = model.attention_maps(inputs, mask)  # L x [batch, heads, P, P], [batch, P]
    per_layer = [m.float().mean(dim=1) for m in maps]  # L x [batch, P, P], heads averaged
    flow = rolled_out(per_layer) if rollout else per_layer[-1]  # [batch, P, P]
    scores = (readout.unsqueeze(1) @ flow).squeeze(1)  # [batch, P]: attention the pooled output pays each position
    tokens = scores[:, -ids.shape[1]:]  # [batch, seq_len]: the text's own tokens (a [CLS] vector comes first)
    return token_attributions(model, tokens, inputs, reference, mask, targets, output)


def rolled_out(per_layer: list[torch.Tensor]) -> torch.Tensor:
    """``Â_L ... Â_1`` with ``Â = ½A + ½I``, rows renormalised: ``[batch, P, P]``."""
    eye = torch.eye(per_layer[0].shape[-1], device=per_layer[0].device)  # [P, P]
    flow = eye.expand_as(per_layer[0])
    for weights in per_layer:
        mixed = 0.5 * weights + 0.5 * eye  # [batch, P, P]
        flow = (mixed / mixed.sum(dim=-1, keepdim=True)) @ flow
    return flow

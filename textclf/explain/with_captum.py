"""Captum's attributions on our models: integrated gradients (to check ours), Shapley sampling, LIME, KernelSHAP.

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

The sampling methods (``captum_sampled``) perturb whole *words*: a feature
mask gives every embedding dimension of token ``j`` the feature id ``j``, and
a word "switched off" takes the baseline's vector (the baseline lesson 5
uses). Shapley value sampling averages each word's marginal contribution over
random orders of the words (``samples`` orders); LIME fits a weighted ridge
regression (alpha 1, as the LIME package does) to the model's answers on
``samples`` random subsets of the words; KernelSHAP is the same regression
with the Shapley kernel's weights. Each text is explained on its own (no
padding position is perturbed for nothing), ``internal_batch_size``
perturbed copies of it per forward pass.
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
    token_attributions,
)

SAMPLED = ("shapley", "lime", "kernelshap")
DEFAULT_SAMPLES = {"shapley": 20, "lime": 200, "kernelshap": 200}  # orders of words; perturbed texts


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



@torch.no_grad()
def captum_sampled(model: nn.Module, ids: torch.Tensor, mask: torch.Tensor, *, method: str = "shapley",
                   targets: torch.Tensor | None = None, baseline: str = "pad", unk_index: int | None = None,
                   output: str = "probability", samples: int | None = None, seed: int = 0,
                   internal_batch_size: int = 256) -> Attributions:
    """One score per token by Captum's ``ShapleyValueSampling``, ``Lime`` or ``KernelShap`` over the words
    (``method``), each word switched between its vector and the baseline's; seeded, so a rerun agrees."""
    from captum.attr import KernelShap, Lime, ShapleyValueSampling

    if method not in SAMPLED:
        raise ValueError(f"unknown sampling method {method!r}; expected one of: {', '.join(SAMPLED)}")
    samples = samples or DEFAULT_SAMPLES[method]
    inputs, reference, targets = endpoints(model, ids, mask, targets, baseline, unk_index, output)

    def scores(embedded: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return class_scores(model, embedded, mask, output)  # [rows, n_classes]; Captum picks the target

    words = torch.arange(ids.shape[1], device=ids.device).view(1, -1, 1).expand_as(inputs).contiguous()  # [b, seq, dim]
    per_word = torch.zeros(ids.shape, device=ids.device)  # [batch, seq_len]
    with torch.random.fork_rng(devices=[ids.device] if ids.device.type == "cuda" else []):
        torch.manual_seed(seed)
        explainer = {"shapley": lambda: ShapleyValueSampling(scores), "kernelshap": lambda: KernelShap(scores),
                     "lime": lambda: Lime(scores, interpretable_model=ridge())}[method]()
        for i, n in enumerate(mask.sum(dim=1).tolist()):  # one text per call, its padding cut off: no padding
            cut = (slice(i, i + 1), slice(0, n))           # position is ever perturbed, for nothing
            if n == 1 and method == "kernelshap":  # one word: the Shapley kernel is undefined, the value is known
                per_word[i, 0] = (class_scores(model, inputs[cut], mask[cut], output)
                                  - class_scores(model, reference[cut], mask[cut], output))[0, targets[i]]
                continue
            per_dim = explainer.attribute(inputs[cut], baselines=reference[cut], target=targets[i : i + 1],
                                          additional_forward_args=(mask[cut],), feature_mask=words[cut],
                                          n_samples=samples, perturbations_per_eval=internal_batch_size)
            per_word[i, :n] = per_dim[0, :, 0]  # every dimension of a word carries the word's score
    return token_attributions(model, per_word, inputs, reference, mask, targets, output)


def ridge():
    """LIME's own choice of explanation model: ridge regression with alpha 1."""
    from captum._utils.models.linear_model import SkLearnRidge

    return SkLearnRidge(alpha=1.0)

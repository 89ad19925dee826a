"""Every attribution method behind one call: same tokens, same target, same ``Attributions`` result.

=============  ==================================================================  =============
method         what a word's score is                                               cost per text
=============  ==================================================================  =============
ig             integrated gradients: gradients along the path from the baseline      ``steps`` passes
gradxinput     gradient x (input - baseline): integrated gradients with one point    1 pass
occlusion      f(text) - f(text without the word) (replaced by the baseline/deleted)  1 per word
shapley        the word's average marginal effect over random orders (Captum)         ``samples`` per word
lime           a weighted ridge regression on random subsets of the words (Captum)    ``samples``
kernelshap     the same regression with the Shapley kernel (Captum)                   ``samples``
attention      the last layer's attention (transformer, minilm): *not an attribution*  1 pass
rollout        attention through all layers (Abnar & Zuidema, 2020): *not one either* 1 pass
=============  ==================================================================  =============

``ExplainSettings`` holds one method's choices and checks them; ``attribute``
runs it. Every method explains the same number: the target class's
probability (or logit) for the text, and switches words off the same way (the
``baseline``: ``pad``, ``unk`` or ``zero`` vectors), so their scores can be
compared word by word (``textclf.explain.faithfulness``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from functools import partial

import torch
from torch import nn

from textclf.config import ConfigError, check_choice, check_int
from textclf.explain.attention import attention_scores
from textclf.explain.integrated_gradients import MAX_STEPS, OUTPUTS, RULES, Attributions, integrated_gradients
from textclf.explain.occlusion import MODES, occlusion
from textclf.explain.with_captum import captum_integrated_gradients, captum_sampled

BASELINES = ("pad", "unk", "zero")
ENGINES = {"textclf": integrated_gradients, "captum": captum_integrated_gradients}


@dataclass(frozen=True)
class Method:
    about: str
    options: tuple[str, ...] = ()  # the ExplainSettings fields it uses beyond baseline and output
    attribution: bool = True       # False: attention weights, shown and scored but not an attribution
    complete: bool = False         # its scores should add up to f(text) - f(baseline) (the delta says how far off)


METHODS = {
    "ig": Method("integrated gradients (Sundararajan et al., 2017)", ("steps", "rule", "engine"), complete=True),
    "gradxinput": Method("gradient x (input - baseline): integrated gradients with one point"),
    "occlusion": Method("the drop in f when the word alone is taken away", ("mode",)),
    "shapley": Method("Shapley value sampling over the words (Captum)", ("samples", "seed"), complete=True),
    "lime": Method("LIME: a ridge regression on random subsets of the words (Captum)", ("samples", "seed")),
    "kernelshap": Method("KernelSHAP: the Shapley-kernel regression (Captum)", ("samples", "seed"), complete=True),
    "attention": Method("the last layer's attention, averaged over heads", attribution=False),
    "rollout": Method("attention rolled out through every layer", attribution=False),
}
ATTENTION_METHODS = ("attention", "rollout")
OPTIONS = tuple(dict.fromkeys(o for m in METHODS.values() for o in m.options))  # every method-specific option
MAX_SAMPLES = 100_000  # random orders or perturbed texts per text


@dataclass
class ExplainSettings:
    """One attribution method and its choices (the fields a method does not use are left at their defaults)."""

    method: str = "ig"
    baseline: str = "pad"         # what a switched-off word becomes: <pad>'s vector, <unk>'s, or zeros
    output: str = "probability"   # explain the target's probability or its logit
    steps: int = 50               # ig: points on the path
    rule: str = "trapezoid"       # ig: the Riemann rule
    engine: str = "textclf"       # ig: ours or Captum's
    mode: str = "replace"         # occlusion: replace the word by the baseline, or delete it
    samples: int | None = None    # shapley: random orders (20); lime, kernelshap: perturbed texts (200)
    seed: int = 0                 # the sampling methods' random numbers

    def __post_init__(self) -> None:
        check_choice(self, "method", METHODS)
        check_choice(self, "baseline", BASELINES)
        check_choice(self, "output", OUTPUTS)
        check_int(self, "steps", 1, MAX_STEPS)
        check_choice(self, "rule", RULES)
        check_choice(self, "engine", ENGINES)
        check_choice(self, "mode", MODES)
        check_int(self, "samples", 1, MAX_SAMPLES, optional=True)
        check_int(self, "seed", 0)

    @classmethod
    def of(cls, method: str = "ig", **options) -> ExplainSettings:
        """Settings for ``method``; an option that ``method`` does not use is an error naming those it does."""
        if method not in METHODS:
            raise ConfigError(f"unknown explanation method {method!r}; expected one of: {', '.join(METHODS)}")
        usable = {"baseline", "output", *METHODS[method].options}
        unused = sorted(set(options) - usable)
        if unused:
            known = {f.name for f in fields(cls)}
            what = "unknown option" if set(unused) - known else f"option(s) that {method} does not use"
            raise ConfigError(f"{what}: {', '.join(unused)}; {method} takes: {', '.join(sorted(usable))}")
        return cls(method=method, **options)

    def as_dict(self) -> dict:
        """The settings that mattered for this method (what an ``Explanation`` records)."""
        used = ("method", "baseline", "output", *METHODS[self.method].options)
        return {name: getattr(self, name) for name in used}


def runner(settings: ExplainSettings) -> Callable[..., Attributions]:
    """The function behind ``settings.method``: ``(model, ids, mask, *, targets, baseline, unk_index, output)``."""
    s = settings
    return {
        "ig": partial(ENGINES[s.engine], steps=s.steps, method=s.rule),
        "gradxinput": partial(integrated_gradients, steps=1, method="right"),  # one point: the text itself
        "occlusion": partial(occlusion, mode=s.mode),
        "shapley": partial(captum_sampled, method="shapley", samples=s.samples, seed=s.seed),
        "lime": partial(captum_sampled, method="lime", samples=s.samples, seed=s.seed),
        "kernelshap": partial(captum_sampled, method="kernelshap", samples=s.samples, seed=s.seed),
        "attention": partial(attention_scores, rollout=False),
        "rollout": partial(attention_scores, rollout=True),
    }[s.method]


def attribute(model: nn.Module, ids: torch.Tensor, mask: torch.Tensor, settings: ExplainSettings, *,
              targets: torch.Tensor | None = None, unk_index: int | None = None) -> Attributions:
    """Token scores of ``settings.method`` for ``ids``/``mask`` ``[batch, seq_len]``, on the model's device."""
    return runner(settings)(model, ids, mask, targets=targets, baseline=settings.baseline, unk_index=unk_index,
                            output=settings.output)

"""Which explanation to trust: every method on the same texts, scored for faithfulness, sanity, agreement, cost.

``compare(bundle, texts)`` explains each text's predicted class with each
method and measures, against a random ranking of the same words:

- faithfulness (``textclf.explain.faithfulness``): deletion and insertion AUC,
  comprehensiveness and sufficiency at k in 1, 5, 10, 20, 50%;
- the **randomisation sanity check** (Adebayo et al., 2018): the same method
  on the same architecture with re-initialised weights, explaining the same
  class. A method whose word ranking barely changes (mean rank correlation at
  least ``SANITY_LIMIT``) explains the architecture or the text, not what the
  model learned: it fails;
- **agreement**: the rank correlation of two methods' word scores, per text;
- **cost**: seconds per text (wall clock, this process).

``Comparison.table()`` prints it, ``Comparison.figure()`` draws the deletion
and insertion curves and the agreement heat map; ``textclf explain DIR
--compare`` and ``benchmarks/faithfulness.py`` call these.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from textclf.explain.explainer import Explanation, explain
from textclf.explain.faithfulness import (
    Case,
    Faithfulness,
    averaged,
    faithfulness,
    random_ranking,
    rank_correlation,
    ranking,
)
from textclf.explain.methods import ATTENTION_METHODS, METHODS, ExplainSettings
from textclf.explain.perturb import fixed_positions
from textclf.text.tokenizer import framing

DEFAULT_METHODS = ("ig", "gradxinput", "occlusion", "shapley", "lime", "attention", "rollout")
SANITY_LIMIT = 0.5  # mean rank correlation with the randomised model at or above this: the check is failed
RANDOM = "random"
RANDOM_DRAWS = 5    # random rankings per text, averaged: the floor


@dataclass
class MethodScores:
    method: str
    faithfulness: Faithfulness
    seconds_per_text: float | None = None   # None for the random ranking
    sanity: float | None = None             # mean rank correlation, trained vs randomised model
    scores: list[list[float]] = field(default_factory=list)  # per text, per removable word

    @property
    def attribution(self) -> bool:
        return self.method == RANDOM or METHODS[self.method].attribution

    @property
    def passed_sanity(self) -> bool | None:
        return None if self.sanity is None or math.isnan(self.sanity) else self.sanity < SANITY_LIMIT


@dataclass
class Comparison:
    model: str
    n_texts: int
    rows: list[MethodScores]        # each method, then the random ranking
    agreement: torch.Tensor         # [methods, methods] mean rank correlation of their word scores
    settings: dict = field(default_factory=dict)

    @property
    def methods(self) -> list[str]:
        return [r.method for r in self.rows if r.method != RANDOM]

    def row(self, method: str) -> MethodScores:
        return next(r for r in self.rows if r.method == method)

    def ranked(self) -> list[str]:
        """The methods, most faithful first (highest mean comprehensiveness: deleting their top words hurts the
        model most)."""
        return sorted(self.methods, key=lambda m: -self.row(m).faithfulness.mean_comprehensiveness)

    def best(self) -> str:
        return self.ranked()[0]

    def table(self) -> str:
        """A markdown table: one row per method and the random floor."""
        ks = self.rows[0].faithfulness.ks
        head = (["method", "deletion AUC ↓", "insertion AUC ↑", "comp ↑", "suff ↓"]
                + [f"comp@{k}%" for k in ks] + ["sanity ρ ↓", "s/text"])
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in self.rows:
            f = r.faithfulness
            name = r.method + ("" if r.attribution else " (not an attribution)")
            cells = [name, f"{f.deletion_auc:.3f}", f"{f.insertion_auc:.3f}", f"{f.mean_comprehensiveness:.3f}",
                     f"{f.mean_sufficiency:.3f}", *(f"{v:.3f}" for v in f.comprehensiveness.mean(dim=0).tolist()),
                     sanity_cell(r), "-" if r.seconds_per_text is None else f"{r.seconds_per_text:.4f}"]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def verdict(self) -> str:
        """Which method wins and by how much against the random ranking and the runner-up (paired 95% intervals
        over texts: a winner within the runner-up's interval is a tie)."""
        ranked = self.ranked()
        best, floor = self.row(ranked[0]).faithfulness, self.row(RANDOM).faithfulness
        failed = [r.method for r in self.rows if r.passed_sanity is False]
        line = (f"{self.model}: most faithful {ranked[0]} — comprehensiveness {best.mean_comprehensiveness:.3f} vs "
                f"random {floor.mean_comprehensiveness:.3f} ({paired_gain(best, floor)}, {self.n_texts} texts); "
                f"deletion AUC {best.deletion_auc:.3f} vs {floor.deletion_auc:.3f}")
        if len(ranked) > 1:
            line += f"; vs the runner-up {ranked[1]}: {paired_gain(best, self.row(ranked[1]).faithfulness)}"
        return line + f". Randomisation check failed by: {', '.join(failed) or 'none'}."

    def agreement_table(self) -> str:
        names = self.methods
        lines = ["| | " + " | ".join(names) + " |", "|" + "---|" * (len(names) + 1)]
        for i, a in enumerate(names):
            lines.append(f"| {a} | " + " | ".join(f"{float(v):+.2f}" for v in self.agreement[i]) + " |")
        return "\n".join(lines)

    def as_dict(self) -> dict:
        return {"model": self.model, "texts": self.n_texts, "settings": self.settings,
                "methods": {r.method: {"deletion_auc": r.faithfulness.deletion_auc,
                                       "insertion_auc": r.faithfulness.insertion_auc,
                                       "comprehensiveness": r.faithfulness.mean_comprehensiveness,
                                       "sufficiency": r.faithfulness.mean_sufficiency,
                                       "comprehensiveness_at": dict(zip(map(str, r.faithfulness.ks),
                                                                        r.faithfulness.comprehensiveness.mean(0)
                                                                        .tolist())),
                                       "sufficiency_at": dict(zip(map(str, r.faithfulness.ks),
                                                                  r.faithfulness.sufficiency.mean(0).tolist())),
                                       "sanity_rank_correlation": r.sanity, "seconds_per_text": r.seconds_per_text,
                                       "attribution": r.attribution} for r in self.rows},
                "agreement": {"methods": self.methods, "rank_correlation": self.agreement.tolist()},
                "best": self.best()}


def paired_gain(a: Faithfulness, b: Faithfulness) -> str:
    """``a``'s comprehensiveness minus ``b``'s, per text: the mean ± a 95% interval."""
    gain = a.comprehensiveness.mean(dim=1) - b.comprehensiveness.mean(dim=1)  # [texts]
    half = 1.96 * float(gain.std()) / math.sqrt(len(gain)) if len(gain) > 1 else math.nan
    return f"{float(gain.mean()):+.3f} ± {half:.3f}"


def sanity_cell(r: MethodScores) -> str:
    if r.sanity is None:
        return "-"
    return f"{r.sanity:+.2f}" + (" FAIL" if r.passed_sanity is False else "")


def usable_methods(bundle, methods: Sequence[str] | None) -> list[str]:
    """The methods to compare: those asked for (checked), or every default one the model can run."""
    has_attention = bundle.model.has_attention
    if methods is None:
        return [m for m in DEFAULT_METHODS if has_attention or m not in ATTENTION_METHODS]
    for m in methods:
        ExplainSettings.of(m)  # an unknown method stops here, before any work
        if m in ATTENTION_METHODS and not has_attention:
            raise ValueError(f"{m} needs a model with attention layers (transformer, minilm); "
                             f"{bundle.model_name} has none")
    return list(dict.fromkeys(methods))


def randomised(bundle, seed: int = 0):
    """The same bundle around a copy of its network with every weight re-initialised (Adebayo et al.'s check)."""
    model = copy.deepcopy(bundle.model)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for module in model.modules():
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
                continue
            with torch.no_grad():  # free parameters (learned positions, a [CLS] vector): as they were initialised
                for p in module.parameters(recurse=False):
                    p.normal_(0.0, 0.02)
    return dataclasses.replace(bundle, model=model.eval(), forward=None)


def cases_of(bundle, explanations: Sequence[Explanation]) -> list[Case]:
    framed = framing(bundle.tokenizer) is not None
    return [Case(torch.tensor(bundle.vocab.encode(e.tokens), dtype=torch.long), fixed_positions(e.tokens, framed),
                 bundle.labels.index(e.target)) for e in explanations]


def word_scores(explanations: Sequence[Explanation], cases: Sequence[Case]) -> list[list[float]]:
    return [[e.scores[i] for i in c.words] for e, c in zip(explanations, cases)]


def mean_correlation(a: Sequence[Sequence[float]], b: Sequence[Sequence[float]]) -> float:
    """Mean rank correlation over texts (texts where either ranking is constant are left out)."""
    values = [rank_correlation(x, y) for x, y in zip(a, b)]
    values = [v for v in values if not math.isnan(v)]
    return sum(values) / len(values) if values else math.nan


def compare(bundle, texts: Sequence[str], *, methods: Sequence[str] | None = None, sanity: bool = True,
            seed: int = 0, options: dict[str, dict] | None = None,
            progress: Callable[[str], None] | None = None) -> Comparison:
    """Explain ``texts``' predicted classes with each method and score them (see the module's doc).
    ``options``: per-method settings, e.g. ``{"shapley": {"samples": 10}}``."""
    methods, options, say = usable_methods(bundle, methods), options or {}, progress or (lambda _: None)
    generator = torch.Generator().manual_seed(seed)
    model, pad, output = bundle.model, bundle.vocab.pad_index, "probability"
    rows, cases, targets = [], None, None
    control = randomised(bundle, seed) if sanity else None
    for method in methods:
        say(f"{method}: explaining {len(texts)} texts")
        started = time.perf_counter()
        explained = explain(bundle, texts, method=method, target=targets, **options.get(method, {}))
        seconds = (time.perf_counter() - started) / len(texts)
        if cases is None:
            cases, targets = cases_of(bundle, explained), [e.target for e in explained]
        orders = [ranking(e.scores, c.fixed, generator) for e, c in zip(explained, cases)]
        scores = word_scores(explained, cases)
        sanity_rho = None
        if control is not None:  # the same method on the randomised model, explaining the same classes
            again = explain(control, texts, method=method, target=targets, **options.get(method, {}))
            sanity_rho = mean_correlation(scores, word_scores(again, cases))
        rows.append(MethodScores(method, faithfulness(model, cases, orders, pad_index=pad, output=output), seconds,
                                 sanity_rho, scores))
    floors = [faithfulness(model, cases, [random_ranking(c.fixed, generator) for c in cases], pad_index=pad,
                           output=output) for _ in range(RANDOM_DRAWS)]
    rows.append(MethodScores(RANDOM, averaged(floors)))
    agreement = torch.tensor([[mean_correlation(a.scores, b.scores) for b in rows[:-1]] for a in rows[:-1]])
    return Comparison(bundle.model_name, len(texts), rows, agreement,
                      {"seed": seed, "sanity_limit": SANITY_LIMIT, "options": options, "output": output,
                       "random_draws": RANDOM_DRAWS})


def comparison_figure(comparison: Comparison):
    """Deletion and insertion curves (mean over texts, one line per method, random dashed) and the agreement
    heat map."""
    from textclf.figures import GREY, heatmap, new_figure  # matplotlib only when a figure is drawn

    fig, (deletion, insertion, heat) = new_figure(3, size=(16, 4.6))
    # at 100% deleted (0% kept) no word is left: every method meets at the empty text's score, which may be
    # higher than the curve before it (the model's prior for a text with nothing in it)
    for ax, curve, title, xlabel in (
            (deletion, "deletion", "deletion: top words removed (lower = more faithful)",
             "share of the words removed (at 1: none left, the empty text's score)"),
            (insertion, "insertion", "insertion: only top words kept (higher = more faithful)",
             "share of the words kept (at 0: none, the empty text's score)")):
        for r in comparison.rows:
            f = r.faithfulness
            style = dict(color=GREY, linestyle="--") if r.method == RANDOM else dict(marker=".")
            ax.plot(f.fractions, getattr(f, curve).mean(dim=0).tolist(), label=r.method, **style)
        ax.set(xlabel=xlabel, ylabel="probability of the explained class", ylim=(0, 1), title=title)
    deletion.legend(fontsize=8)
    names = comparison.methods
    heatmap(fig, heat, comparison.agreement, vmin=-1, vmax=1, cmap="RdBu", label="mean rank correlation",
            fontsize=7)
    heat.set(xticks=range(len(names)), yticks=range(len(names)), title="agreement: mean rank correlation")
    heat.set_xticklabels(names, rotation=45, ha="right")
    heat.set_yticklabels(names)
    fig.suptitle(f"{comparison.model}: mean over {comparison.n_texts} texts, each explaining its predicted class; "
                 f"random = mean of {comparison.settings.get('random_draws', 1)} random rankings per text")
    return fig

"""From a trained bundle and raw texts to per-word explanations.

``explain(bundle, texts, method="ig")`` tokenizes the texts the way the model
saw them, runs one attribution method (``textclf.explain.methods``: integrated
gradients by default, ours or Captum's with ``engine="captum"``) and returns
one ``Explanation`` per text: the tokens, a score per token, the predicted and
explained labels, the probabilities and the completeness delta.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from textclf.batching import Collator
from textclf.explain.methods import METHODS, ExplainSettings, attribute
from textclf.inference import logits
from textclf.text_checks import check_texts


@dataclass
class Explanation:
    text: str
    tokens: list[str]           # as the model saw them (cut to max_len)
    scores: list[float]         # one attribution per token; > 0 pushed towards `target`
    known: list[bool]           # False where the token was not in the vocabulary (seen as <unk>)
    target: str                 # the label whose output is explained
    predicted: str
    probabilities: dict[str, float]
    delta: float                # completeness gap: sum(scores) - (f(text) - f(baseline)) (0 for a complete method)
    f_text: float               # the explained output (probability or logit) at the text ...
    f_baseline: float           # ... and at the baseline
    true_label: str | None = None
    settings: dict = field(default_factory=dict)  # method, baseline, output and the method's own options

    @property
    def method(self) -> str:
        return self.settings.get("method", "ig")

    @property
    def complete(self) -> bool:
        """Whether the method's scores should add up to f(text) - f(baseline) (so ``delta`` is its error)."""
        return METHODS[self.method].complete

    @property
    def score(self) -> float:
        """The attribution score: all token scores together (≈ f(text) - f(baseline))."""
        return float(sum(self.scores))

    @property
    def correct(self) -> bool | None:
        return None if self.true_label is None else self.true_label == self.predicted

    def top(self, n: int = 3, sign: int = 1) -> list[tuple[str, float]]:
        """The ``n`` tokens that pushed hardest towards (``sign=1``) or against (``-1``) the target."""
        ranked = sorted(zip(self.tokens, self.scores), key=lambda pair: -sign * pair[1])
        return [(t, s) for t, s in ranked[:n] if s * sign > 0]


def explain(bundle, texts: Sequence[str], *, true_labels: Sequence[str] | None = None,
            target: str | Sequence[str] | None = None, method: str = "ig", batch_size: int = 8,
            **options) -> list[Explanation]:
    """Explain ``bundle``'s predictions for ``texts`` with ``method``. ``target``: a label to explain instead of
    the predicted one (or one label per text); ``options``: the method's ``ExplainSettings``, e.g. ``steps=100``
    or ``mode="delete"``."""
    texts = check_texts(texts)  # the rule predict and serve apply: no blank or invalid texts
    settings = ExplainSettings.of(method, **options)
    targets = [target] * len(texts) if target is None or isinstance(target, str) else list(target)
    unknown = sorted({t for t in targets if t is not None} - set(bundle.labels))
    if unknown:
        raise ValueError(f"unknown target label {unknown[0]!r}; the model's labels are: {', '.join(bundle.labels)}")
    for name, given in (("true labels", true_labels), ("target labels", targets)):
        if given is not None and len(given) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(given)} {name}")
    results = []
    for start in range(0, len(texts), batch_size):
        chunk = list(texts[start : start + batch_size])
        truth = true_labels[start : start + batch_size] if true_labels is not None else [None] * len(chunk)
        results += explain_batch(bundle, chunk, truth, targets[start : start + batch_size], settings)
    return results


def explain_batch(bundle, texts: list[str], true_labels: list[str | None], target_labels: list[str | None],
                  settings: ExplainSettings) -> list[Explanation]:
    model = bundle.model
    device = bundle.device
    tokens_of = [bundle.tokens(text) for text in texts]  # tokenized once: for the ids and for the display
    ids = [torch.tensor(bundle.vocab.encode(tokens), dtype=torch.long) for tokens in tokens_of]
    batch = Collator(bundle.vocab.pad_index)([(row, 0) for row in ids]).to(device)
    # what the bundle predicts (its forward and temperature, as Bundle.predict); the attributions are of the model
    scores = logits(model, ids, pad_index=bundle.vocab.pad_index, forward=bundle.forward)  # [batch, n_classes]
    probabilities = bundle.probabilities(scores)  # [batch, n_classes]
    predicted = probabilities.argmax(dim=-1)  # [batch]
    targets = torch.tensor([int(p) if t is None else bundle.labels.index(t) for p, t in zip(predicted, target_labels)])
    result = attribute(model, batch.ids, batch.mask, settings, targets=targets.to(device),
                       unk_index=bundle.vocab.unk_index)
    explanations = []
    for row, (text, tokens) in enumerate(zip(texts, tokens_of)):
        explanations.append(Explanation(
            text=text, tokens=tokens, scores=result.tokens[row, : len(tokens)].tolist(),
            known=[t in bundle.vocab for t in tokens], target=bundle.labels[int(targets[row])],
            predicted=bundle.labels[int(predicted[row])],
            probabilities=dict(zip(bundle.labels, probabilities[row].tolist())), delta=float(result.delta[row]),
            f_text=float(result.f_inputs[row]), f_baseline=float(result.f_baseline[row]),
            true_label=true_labels[row], settings=settings.as_dict()))
    return explanations


def dataset_texts(bundle, examples: Sequence, *, limit: int, wrong_only: bool = False
                  ) -> tuple[list[str], list[str]]:
    """Texts and true labels of up to ``limit`` labelled examples; ``wrong_only``: those ``bundle`` gets wrong.
    Labels the bundle does not have are refused (every text would read as wrong)."""
    bundle.check_labels(examples)
    if wrong_only:
        predictions = bundle.predict([ex.text for ex in examples])
        examples = [ex for ex, p in zip(examples, predictions) if max(p, key=p.get) != ex.label]
    examples = list(examples)[:limit]
    return [ex.text for ex in examples], [ex.label for ex in examples]

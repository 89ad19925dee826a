"""Counterfactual training texts (Kaushik et al. 2020): minimal edits that flip the label, added to training.

Kaushik et al. had people rewrite reviews so that the label flips with as few changes as possible; here the
edits come from a lexicon of sentiment words, applied to the training texts that contain one:

- **negation**: "a lovely film" (positive) -> "a not lovely film" (negative); "it is flat" (negative) ->
  "it is not flat" (positive);
- **antonym**: the word replaced by one of the other polarity, label flipped;
- **contrast**: two short training texts of opposite labels joined by ", but " — the label of the second.

Its words are not the sentiment suite's (``suites/sentiment.jsonl``): a fix trained on them is measured on
adjectives and templates it never saw.
"""

from __future__ import annotations

import random
import re

from textclf.data import Example, TextDataset

POSITIVE_WORDS = ("lovely", "fine", "solid", "impressive", "engaging", "compelling", "beautiful", "smart", "funny",
                  "fresh", "clever", "rich", "powerful", "satisfying", "gorgeous", "fun", "amusing", "remarkable",
                  "intelligent", "memorable")
NEGATIVE_WORDS = ("flat", "bland", "clumsy", "lifeless", "silly", "stupid", "ugly", "messy", "predictable",
                  "pointless", "tiresome", "shallow", "forgettable", "unfunny", "sloppy", "pretentious", "lame",
                  "annoying", "painful", "empty")
EDITS = ("negation", "antonym", "contrast")


def flipped(label: str) -> str:
    return {"positive": "negative", "negative": "positive"}[label]


def word_edits(example: Example, rng: random.Random, positive: tuple[str, ...] = POSITIVE_WORDS,
               negative: tuple[str, ...] = NEGATIVE_WORDS) -> list[Example]:
    """The negation and antonym edits of one text whose only lexicon word is one of its own label's polarity
    (another sentiment word left in would make the flipped label a guess); none for any other text."""
    own, other = (positive, negative) if example.label == "positive" else (negative, positive)
    found = list(re.finditer(r"\b(" + "|".join(own + other) + r")\b", example.text, re.IGNORECASE))
    if len(found) != 1 or found[0].group().lower() not in own or \
            example.text[max(0, found[0].start() - 4):found[0].start()].lower() == "not ":  # "not fine" is not "fine"
        return []
    hit = found[0]
    before, after, label = example.text[:hit.start()], example.text[hit.end():], flipped(example.label)
    return [Example(f"{before}not {hit.group()}{after}", label),
            Example(f"{before}{rng.choice(other)}{after}", label)]


def contrast_edits(examples: list[Example], n: int, rng: random.Random, max_words: int = 15) -> list[Example]:
    """``n`` pairs of short texts with opposite labels, "A, but B": B's label."""
    short = {y: [ex for ex in examples if ex.label == y and len(ex.text.split()) <= max_words]
             for y in ("positive", "negative")}
    if not short["positive"] or not short["negative"]:
        return []
    made = []
    for _ in range(n):
        first = rng.choice(short[rng.choice(("positive", "negative"))])
        second = rng.choice(short[flipped(first.label)])
        made.append(Example(f"{first.text.rstrip(' .!')}, but {second.text}", second.label))
    return made


def counterfactuals(examples: list[Example], edits: tuple[str, ...] = EDITS, contrast_share: float = 0.1,
                    seed: int = 0) -> list[Example]:
    """The counterfactual texts made from ``examples`` (a sentiment training split: labels negative and
    positive): the word edits of the texts with one sentiment word — as many from positive texts as from
    negative ones (a seeded sample of the commoner side) — and ``contrast_share`` of the split's size in
    contrast pairs. Seeded: the same texts on every run."""
    unknown = sorted(set(edits) - set(EDITS))
    if unknown:
        raise ValueError(f"unknown edit {unknown[0]!r}; expected some of {', '.join(EDITS)}")
    labels = {ex.label for ex in examples}
    if not labels <= {"negative", "positive"}:
        raise ValueError(f"counterfactual edits are for sentiment labels (negative, positive), not {sorted(labels)}")
    rng, flips = random.Random(seed), {"positive": [], "negative": []}
    for example in examples:
        pair = word_edits(example, rng)
        flips[example.label] += [edit for edit, kind in zip(pair, ("negation", "antonym")) if kind in edits]
    # As many flips each way: praise is commoner, and with every flip kept "not" would simply mean "negative".
    fewer = min(len(flips["positive"]), len(flips["negative"]))
    made = [edit for label in ("positive", "negative")
            for edit in (flips[label] if len(flips[label]) == fewer else rng.sample(flips[label], fewer))]
    if "contrast" in edits:
        made += contrast_edits(examples, round(contrast_share * len(examples)), rng)
    return made


def with_counterfactuals(ds: TextDataset, edits: tuple[str, ...] = EDITS, contrast_share: float = 0.1,
                         seed: int = 0) -> TextDataset:
    """``ds`` with the counterfactuals of its training split added to that split (validation and test
    untouched: the model is still chosen and scored on real texts)."""
    extra = counterfactuals(ds.train, edits, contrast_share, seed)
    return TextDataset(f"{ds.name}+counterfactual", list(ds.labels), ds.train + extra, list(ds.valid),
                       list(ds.test))

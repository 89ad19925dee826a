"""Minimum functionality tests (MFT): templates with lexicons, expanded into labelled texts.

``"The {noun} was {pos_adj}."`` with ``{"noun": ["film", "plot"], "pos_adj": ["good", "great"]}`` gives four
texts, each with the test's label. A placeholder names a lexicon; one placeholder appearing twice takes the
same word both times. Every combination, in order, unless there are more than ``max_cases``: then a seeded
sample of them (the same sample on every run).
"""

from __future__ import annotations

import random
import re
import string
from dataclasses import dataclass

PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Case:
    """One text a behavioural test asks about; ``source`` is the text it was made from (INV and DIR tests)."""

    text: str
    label: str | None = None   # MFT: the label the text must get
    source: str | None = None  # INV/DIR: the unedited text


def placeholders(template: str) -> list[str]:
    """The lexicons a template names, in order of first appearance: ``"{a} and {b}, {a}"`` -> ``["a", "b"]``."""
    return list(dict.fromkeys(PLACEHOLDER.findall(template)))


def expand(template: str, lexicons: dict[str, list[str]], label: str, max_cases: int | None = None,
           seed: int = 0) -> list[Case]:
    """Every filling of ``template`` from ``lexicons`` as a ``Case`` labelled ``label`` (in the order of a
    nested loop over the placeholders, the first outermost); more than ``max_cases`` fillings: a seeded
    sample of them, kept in that order."""
    names = placeholders(template)
    missing = [name for name in names if name not in lexicons]
    if missing:
        raise KeyError(f"no lexicon named {missing[0]!r} (the template {template!r} uses it)")
    sizes = [len(lexicons[name]) for name in names]
    total = 1
    for size in sizes:
        total *= size
    chosen = range(total)
    if max_cases is not None and total > max_cases:
        chosen = sorted(random.Random(seed).sample(range(total), max_cases))
    cases = []
    for number in chosen:  # number -> one word per placeholder, the last placeholder fastest
        words = {}
        for name, size in zip(reversed(names), reversed(sizes)):
            number, index = divmod(number, size)
            words[name] = lexicons[name][index]
        cases.append(Case(string.Formatter().vformat(template, (), words), label))
    return cases

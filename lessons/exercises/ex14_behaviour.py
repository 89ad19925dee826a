"""Lesson 14 exercises — your file.

Replace each ``raise NotImplementedError("Exercise N.k")`` with your code, then grade it:

    textclf check 14.1      # one exercise
    textclf check 14        # every exercise of lesson 14

The worked examples next to the stubs are complete: read them, use them.
"""

from __future__ import annotations

import math
import random
import re

# ----- worked example: a placeholder's lexicon names, in order --------------------------


def placeholders(template: str) -> list[str]:
    """The lexicons a template names, in order of first appearance: ``"{a} and {b}, {a}"`` -> ``["a", "b"]``."""
    return list(dict.fromkeys(re.findall(r"\{(\w+)\}", template)))


# ----- Exercise 14.1: a template expanded into labelled cases --------------------------


def expand_template(template: str, lexicons: dict[str, list[str]], label: str) -> list[tuple[str, str]]:
    """Every filling of ``template`` as a ``(text, label)`` pair (Exercise 14.1). Each placeholder ``{name}``
    takes each word of ``lexicons[name]`` in turn; one placeholder appearing twice takes the same word both
    times. Order: a nested loop over ``placeholders(template)``, the first placeholder outermost. A template
    without placeholders is one case."""
    raise NotImplementedError("Exercise 14.1")


# ----- Exercise 14.2: an invariance edit that keeps the label ----------------------------


def swap_name(text: str, names: list[str], rng: random.Random) -> str | None:
    """Replace one occurrence of a name from ``names`` in ``text`` by another name from ``names``
    (Exercise 14.2): a whole word, written exactly as in ``names`` ("Mark" is a name, "mark" and "Marks" are
    not). Pick the occurrence with ``rng.choice`` over the occurrences found (left to right) and the new name
    with ``rng.choice`` over the other names (in their order in ``names``). Everything else in the text stays
    as it was. Return None when the text holds no name."""
    raise NotImplementedError("Exercise 14.2")


# ----- Exercise 14.3: a failure rate with its confidence interval ------------------------


def wilson_interval(failures: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of the failure rate ``failures / n`` (Exercise 14.3), for ``n >= 1``:
    with ``p = failures / n``, the centre is ``(p + z²/2n) / (1 + z²/n)`` and the half-width is
    ``z · sqrt(p(1 - p)/n + z²/4n²) / (1 + z²/n)``. Return ``(centre - half, centre + half)``, clipped to
    ``[0, 1]``."""
    raise NotImplementedError("Exercise 14.3")

"""Grading tests for lesson 14, checked against textclf.behaviour (expand, wilson) and the properties an
invariance edit must keep."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from textclf.behaviour import expand, wilson

# What to look at when an exercise's tests fail (textclf check prints it under "not yet"): a direction,
# never the answer.
HINTS = {
    "14.1": ("Grow the list of fillings one placeholder at a time (each old filling times each word of the new "
             "lexicon), then format each; str.format fills every occurrence of a name with the same word."),
    "14.2": ("Find the occurrences with a regular expression of whole words (\\b on both sides); choose the "
             "occurrence first, then the new name among the others; rebuild the text around the match's span."),
    "14.3": ("Compute p, the centre and the half-width exactly as the docstring writes them; clip the ends to [0, "
             "1]. Check wilson_interval(0, 10) is about (0, 0.2775)."),
}

words = st.lists(st.sampled_from(["film", "plot", "good", "dull", "cast", "x y"]), min_size=1, max_size=3,
                 unique=True)


@pytest.mark.ex14_1
@settings(max_examples=40, deadline=None)
@given(words, words, st.sampled_from(["The {noun} was {adj}.", "{adj} {adj} {noun}", "{noun}", "no blanks",
                                      "{adj}, then {noun}, then {adj}"]))
def test_expand_matches_textclf(exercise, nouns, adjectives, template):
    lexicons = {"noun": nouns, "adj": adjectives}
    expected = [(case.text, case.label) for case in expand(template, lexicons, "positive")]
    assert exercise.expand_template(template, lexicons, "positive") == expected


@pytest.mark.ex14_1
def test_expand_by_hand(exercise):
    got = exercise.expand_template("{a}{b}{a}", {"a": ["1", "2"], "b": ["x", "y"]}, "L")
    assert got == [("1x1", "L"), ("1y1", "L"), ("2x2", "L"), ("2y2", "L")]


NAMES = ["John", "Mary", "Mark"]
texts = st.lists(st.sampled_from(["John", "Mary", "Mark", "mark", "Marks", "saw", "the", "film", ",", "JohnMary"]),
                 min_size=1, max_size=8).map(" ".join)


@pytest.mark.ex14_2
@settings(max_examples=80, deadline=None)
@given(texts, st.integers(0, 10**6))
def test_a_swap_changes_one_name_and_nothing_else(exercise, text, seed):
    edited = exercise.swap_name(text, NAMES, random.Random(seed))
    before = text.split(" ")
    if not any(word in NAMES for word in before):
        assert edited is None
        return
    after = edited.split(" ")
    changed = [i for i, (a, b) in enumerate(zip(before, after)) if a != b]
    assert len(after) == len(before) and len(changed) == 1, (text, edited)
    i = changed[0]
    assert before[i] in NAMES and after[i] in NAMES and after[i] != before[i]


@pytest.mark.ex14_2
def test_a_swap_chooses_with_the_generator_as_written(exercise):
    for seed in range(20):
        rng = random.Random(seed)
        found = [m for m in re.finditer(r"\b(John|Mary|Mark)\b", "John met Mary")]
        hit = rng.choice(found)
        other = rng.choice([n for n in NAMES if n != hit.group()])
        expected = "John met Mary"[:hit.start()] + other + "John met Mary"[hit.end():]
        assert exercise.swap_name("John met Mary", NAMES, random.Random(seed)) == expected


@pytest.mark.ex14_3
@settings(max_examples=100, deadline=None)
@given(st.integers(1, 5000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
       st.sampled_from([1.0, 1.645, 1.96, 2.576]))
def test_wilson_matches_textclf(exercise, pair, z):
    failures, n = pair
    assert exercise.wilson_interval(failures, n, z) == pytest.approx(wilson(failures, n, z), abs=1e-9)


@pytest.mark.ex14_3
def test_wilson_published_values(exercise):
    assert exercise.wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert exercise.wilson_interval(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)

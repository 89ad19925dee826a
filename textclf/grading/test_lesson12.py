"""Grading tests for lesson 12, checked against textclf.explain (occlusion, faithfulness, rank_correlation)."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from textclf.explain import Case, ExplainSettings, attribute, faithfulness, rank_correlation
from textclf.models import build_model

# What to look at when an exercise's tests fail (textclf check prints it under "not yet"): a direction,
# never the answer.
HINTS = {
    "12.1": ("Copy ids for every position and replace only that one token by pad_index; the length stays the "
             "same. Score = probability of target before minus after."),
    "12.2": ("Use math.ceil for the number to delete, at least one; deleting shortens the text (no padding left "
             "in); a text with nothing left is one pad_index token."),
    "12.3": ("Rank with ties sharing the mean of the ranks they occupy; then the Pearson correlation of the two "
             "rank lists; a constant list has no correlation (return math.nan)."),
}


NAMES = ["nbow", "cnn", "gru", "transformer"]


def model_of(name: str, seed: int = 0):
    torch.manual_seed(seed)
    options = dict(vocab_size=30, n_classes=3, embed_dim=8)
    options.update({"cnn": dict(n_filters=4), "gru": dict(hidden_dim=6),
                    "transformer": dict(model_dim=8, n_heads=2, ff_dim=16)}.get(name, {}))
    return build_model(name, **options)[0].eval()


@pytest.mark.ex12_1
@pytest.mark.parametrize("name", NAMES)
def test_occlusion_matches_textclf(exercise, name):
    model = model_of(name)
    ids = torch.tensor([5, 9, 2, 17, 11, 4])
    ours = attribute(model, ids.view(1, -1), torch.ones(1, 6, dtype=torch.bool), ExplainSettings.of("occlusion"),
                     targets=torch.tensor([1]))
    theirs = exercise.occlusion_scores(model, ids, 1, 0)
    assert len(theirs) == 6
    assert theirs == pytest.approx(ours.tokens[0].tolist(), abs=1e-5)


@pytest.mark.ex12_1
def test_occlusion_of_one_word_is_the_whole_drop(exercise):
    model = model_of("nbow", 3)
    ids = torch.tensor([7])
    with torch.no_grad():
        p = lambda i: float(model(torch.tensor([[i]]), torch.ones(1, 1, dtype=torch.bool)).softmax(-1)[0, 2])  # noqa
    assert exercise.occlusion_scores(model, ids, 2, 0) == pytest.approx([p(7) - p(0)], abs=1e-6)


@pytest.mark.ex12_2
@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 25), k=st.sampled_from([1, 5, 10, 20, 50, 100]), seed=st.integers(0, 500))
def test_comprehensiveness_matches_textclf(exercise, n, k, seed):
    generator = torch.Generator().manual_seed(seed)
    model = model_of("gru", seed % 3)
    ids = torch.randint(2, 30, (n,), generator=generator)
    scores = torch.randperm(n, generator=generator).float().tolist()  # distinct: one ranking
    order = sorted(range(n), key=lambda i: -scores[i])
    expected = faithfulness(model, [Case(ids, [False] * n, 1)], [order], pad_index=0, fractions=(0.0,), ks=(k,))
    got = exercise.comprehensiveness(model, ids, scores, 1, k, 0)
    assert got == pytest.approx(float(expected.comprehensiveness[0, 0]), abs=1e-5)


@pytest.mark.ex12_2
def test_comprehensiveness_deletes_at_least_one_word(exercise):
    model = model_of("nbow", 1)
    ids = torch.tensor([3, 4, 5, 6])
    one = exercise.comprehensiveness(model, ids, [0.1, 0.9, 0.2, 0.3], 0, 1, 0)
    p = lambda seq: float(model(torch.tensor([seq]), torch.ones(1, len(seq), dtype=torch.bool)).softmax(-1)[0, 0])  # noqa
    with torch.no_grad():
        assert one == pytest.approx(p([3, 4, 5, 6]) - p([3, 5, 6]), abs=1e-6)


@pytest.mark.ex12_3
@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(-4, 4), st.floats(-3, 3, allow_nan=False)), min_size=0, max_size=30))
def test_spearman_matches_textclf(exercise, pairs):
    a, b = [float(p[0]) for p in pairs], [p[1] for p in pairs]
    ours, theirs = rank_correlation(a, b), exercise.spearman(a, b)
    assert (math.isnan(ours) and math.isnan(theirs)) or theirs == pytest.approx(ours, abs=1e-9)


@pytest.mark.ex12_3
def test_spearman_examples(exercise):
    assert exercise.spearman([1, 2, 3], [10, 20, 30]) == pytest.approx(1.0)
    assert exercise.spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert exercise.spearman([1, 1, 2], [1, 2, 3]) == pytest.approx(math.sqrt(3) / 2)
    assert math.isnan(exercise.spearman([1, 1, 1], [1, 2, 3]))
    assert exercise.passes_randomisation([[1, 2, 3], [3, 1, 2]], [[3, 2, 1], [1, 3, 2]])
    assert not exercise.passes_randomisation([[1, 2, 3]], [[1, 2, 3.5]])

"""Grading tests for lesson 9, checked against textclf.serving, textclf.graphs.write and textclf.model_card."""

from __future__ import annotations

import copy
import json

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from textclf.graphs.write import max_logit_difference
from textclf.model_card import metrics_table
from textclf.models import build_model
from textclf.serving import Limits, RequestError, parse_texts

# What to look at when an exercise's tests fail (textclf check prints it under "not yet"): a direction,
# never the answer.
HINTS = {
    "9.1": ("Check in exactly the docstring's order and stop at the first problem; too many texts and too long a "
            "text are 413, everything else 422. A missing 'texts' key and an extra key are both problems."),
    "9.2": ("NaN compares false with everything: a plain max of differences can hide it. Check for NaN explicitly"
            " (torch.isnan) before comparing with the tolerance."),
    "9.3": ("Build the lines one by one and join with a newline; format the numbers exactly as the docstring "
            "shows; the baseline row only when a baseline is given."),
}


# JSON bodies a client might send: mostly {"texts": [...]}, with every kind of mistake mixed in
TEXT = st.one_of(st.text(max_size=12), st.just("   "), st.integers(), st.none(), st.booleans(),
                 st.lists(st.text(max_size=3), max_size=2))
BODY = st.one_of(
    st.fixed_dictionaries({"texts": st.lists(TEXT, max_size=8)}),
    st.fixed_dictionaries({"texts": st.lists(st.text(min_size=1, max_size=12).filter(str.strip), max_size=8)}),
    st.dictionaries(st.sampled_from(["texts", "text", "limit"]), st.lists(TEXT, max_size=3), max_size=2),
    st.lists(st.text(max_size=5), max_size=3), st.text(max_size=10), st.integers(), st.none(),
    st.fixed_dictionaries({"texts": st.one_of(st.text(max_size=5), st.integers(), st.none())}),
)


@pytest.mark.ex9_1
@settings(max_examples=300, deadline=None)
@given(body=BODY, max_texts=st.integers(1, 6), max_chars=st.integers(1, 10))
def test_check_request_agrees_with_the_server(exercise, body, max_texts, max_chars):
    limits = Limits(max_texts=max_texts, max_chars=max_chars)
    try:
        expected, status = parse_texts(json.dumps(body).encode(), limits), None
    except RequestError as err:
        expected, status = None, err.status
    if status is None:
        assert exercise.check_request(body, max_texts, max_chars) == expected
    else:
        with pytest.raises(exercise.BadRequest) as raised:
            exercise.check_request(body, max_texts, max_chars)
        assert raised.value.status == status, f"{body!r}: expected status {status}"


@pytest.mark.ex9_1
def test_check_request_examples(exercise):
    assert exercise.check_request({"texts": ["a fine film"]}) == ["a fine film"]
    for body, status in [([], 422), ({"texts": []}, 422), ({"texts": "a"}, 422), ({"texts": [1]}, 422),
                         ({"texts": [" "]}, 422), ({"texts": ["a"], "x": 1}, 422), ({"text": ["a"]}, 422),
                         ({"texts": ["a"] * 65}, 413), ({"texts": ["a" * 5001]}, 413), ({"texts": [1] * 65}, 413)]:
        with pytest.raises(exercise.BadRequest) as raised:
            exercise.check_request(body)
        assert raised.value.status == status, body


def batches_of(model, seed: int, n: int = 3):
    generator = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        length = int(torch.randint(1, 9, (1,), generator=generator))
        ids = torch.randint(1, 40, (3, length), generator=generator)
        out.append((ids, torch.ones_like(ids, dtype=torch.bool)))
    return out


@pytest.mark.ex9_2
@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 1000), noise=st.sampled_from([0.0, 1e-6, 1e-3, 0.5]))
def test_parity_against_a_perturbed_copy(exercise, seed, noise):
    torch.manual_seed(seed)
    model, _ = build_model("nbow", vocab_size=40, n_classes=3, embed_dim=8)
    model.eval()
    other = copy.deepcopy(model)
    with torch.no_grad():
        other.out.bias.add_(noise)  # every logit moves by exactly `noise`
    batches = batches_of(model, seed)
    difference, ok = exercise.parity(model, other, batches, tolerance=1e-4)
    expected = max(max_logit_difference(model(*b), other(*b)) for b in batches)
    assert difference == pytest.approx(expected, abs=1e-7) and ok == (expected <= 1e-4)


@pytest.mark.ex9_2
def test_parity_edge_cases(exercise):
    model, _ = build_model("nbow", vocab_size=40, n_classes=2, embed_dim=8)
    model.eval()
    batches = batches_of(model, 0)
    assert exercise.parity(model, model, []) == (0.0, True)
    assert exercise.parity(model, model, batches) == (0.0, True)
    nan = exercise.parity(model, lambda ids, mask: model(ids, mask) * float("nan"), batches)
    assert nan[1] is False
    grads = []
    exercise.parity(lambda ids, mask: grads.append(torch.is_grad_enabled()) or model(ids, mask), model, batches)
    assert grads and not any(grads), "run the forwards without tracking gradients"


@pytest.mark.ex9_3
@settings(max_examples=100, deadline=None)
@given(accuracy=st.floats(0, 1), f1=st.floats(0, 1), base_accuracy=st.floats(0, 1), base_f1=st.floats(0, 1),
       with_baseline=st.booleans(), model=st.sampled_from(["cnn", "gru+ngrams", "minilm"]))
def test_evaluation_table_matches_the_model_card(exercise, accuracy, f1, base_accuracy, base_f1, with_baseline,
                                                 model):
    metrics = {"model": model, "test_accuracy": accuracy, "test_f1": f1}
    baseline = {"accuracy": base_accuracy, "f1": base_f1} if with_baseline else None
    assert exercise.evaluation_table(metrics, baseline) == metrics_table(metrics, baseline)

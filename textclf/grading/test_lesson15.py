"""Grading tests for lesson 15, checked against textclf.models.lora (LoRALinear, add_lora) and the peft-tested
properties: B = 0 is the base layer, merging changes no output."""

from __future__ import annotations

import copy

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from textclf.finetune import count_parameters
from textclf.models import build_model
from textclf.models.lora import LoRALinear, add_lora

# What to look at when an exercise's tests fail (textclf check prints it under "not yet"): a direction,
# never the answer.
HINTS = {
    "15.1": ("Three terms: the frozen layer, then x through A (to r numbers) and through B (back to out), scaled "
             "by alpha over the rank; the rank is A's first dimension. Transposes: x @ A.T, not A @ x."),
    "15.2": ("B A has W's shape [out, in]; scale it as the forward does and add it to a new tensor (no += on "
             "the weight you were given)."),
    "15.3": ("Walk model.named_modules(); a layer counts when it is an nn.Linear, is not the head, and the last "
             "part of its dotted name is a target; A and B together hold rank x (in + out) numbers."),
}

shapes = st.tuples(st.integers(1, 6), st.integers(1, 6), st.integers(1, 4), st.integers(0, 10**6))


def adapter(n_in: int, n_out: int, rank: int, seed: int) -> tuple[LoRALinear, torch.Tensor]:
    torch.manual_seed(seed)
    layer = LoRALinear(nn.Linear(n_in, n_out), rank=rank, alpha=2.0 * rank + 1)
    with torch.no_grad():
        layer.lora_B.normal_()  # a trained adapter: B is no longer zero
    return layer, torch.randn(3, 2, n_in)


@pytest.mark.ex15_1
@settings(max_examples=40, deadline=None)
@given(shapes)
def test_the_forward_matches_textclfs_lora_linear(exercise, shape):
    n_in, n_out, rank, seed = shape
    layer, x = adapter(n_in, n_out, rank, seed)
    got = exercise.lora_forward(x, layer.base.weight, layer.base.bias, layer.lora_A, layer.lora_B, layer.alpha)
    assert got.shape == (3, 2, n_out)
    assert torch.allclose(got, layer(x), atol=1e-5)


@pytest.mark.ex15_1
def test_b_zero_is_the_frozen_layer(exercise):
    torch.manual_seed(0)
    base, x = nn.Linear(5, 4), torch.randn(7, 5)
    got = exercise.lora_forward(x, base.weight, base.bias, torch.randn(2, 5), torch.zeros(4, 2), 16.0)
    assert torch.allclose(got, base(x))


@pytest.mark.ex15_2
@settings(max_examples=40, deadline=None)
@given(shapes)
def test_the_merged_weight_gives_the_same_outputs(exercise, shape):
    n_in, n_out, rank, seed = shape
    layer, x = adapter(n_in, n_out, rank, seed)
    weight = layer.base.weight.detach().clone()
    merged = exercise.merge(weight, layer.lora_A.detach(), layer.lora_B.detach(), layer.alpha)
    assert torch.equal(weight, layer.base.weight)  # not changed in place
    assert torch.allclose(merged, layer.merged().weight, atol=1e-5)
    assert torch.allclose(x @ merged.T + layer.base.bias, layer(x), atol=1e-4)


@pytest.mark.ex15_3
@pytest.mark.parametrize("name, targets, rank", [("transformer", ["qkv"], 4), ("transformer", ["qkv", "proj"], 2),
                                                 ("bert", ["query", "value"], 8), ("bert", ["ff_in"], 1)])
def test_the_count_is_what_add_lora_leaves_trainable(exercise, name, targets, rank):
    model = small(name)
    before = copy.deepcopy(model.state_dict())
    got = exercise.lora_trainable(model, targets, rank)
    assert all(torch.equal(a, b) for a, b in zip(before.values(), model.state_dict().values()))
    add_lora(model, targets, rank=rank, alpha=16)
    assert got == count_parameters(model).trainable


def small(name: str) -> nn.Module:
    torch.manual_seed(0)
    if name == "bert":
        from textclf.models.bert import BertClassifier, BertConfig

        return BertClassifier(BertConfig(vocab_size=40, n_classes=3, embed_dim=16, n_heads=2, num_layers=2,
                                         ff_dim=24, max_positions=16))
    return build_model("transformer", vocab_size=40, n_classes=3, embed_dim=16, model_dim=16, n_heads=2,
                       num_layers=2, ff_dim=24)[0]

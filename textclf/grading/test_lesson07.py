"""Grading tests for lesson 7, checked against textclf's WordPiece, weight-name mapping and pooling."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from textclf.models import BertClassifier, BertConfig
from textclf.models.bert import hf_to_textclf, mean_pool
from textclf.text.wordpiece import greedy_wordpiece

# What to look at when an exercise's tests fail (textclf check prints it under "not yet"): a direction,
# never the answer.
HINTS = {
    "7.1": ("Try the longest piece first and shorten it one character at a time; pieces after the first get the "
            "## prefix. If no piece matches at some position (or the word is too long), the whole word becomes "
            "[unk]."),
    "7.2": ("Handle the embeddings names and the encoder.layer.N names separately; each rule replaces a prefix "
            "and keeps the rest (weight/bias). A name no rule covers returns None."),
    "7.3": ("Turn the mask into the hidden states' dtype with a trailing dimension of 1, multiply, sum over the "
            "sequence, and divide by the number of real tokens."),
}


VOCAB = {"un", "##aff", "##able", "runn", "run", "##ing", "##n", "a", "##a", "##b", "b", "##ab"}


@pytest.mark.ex7_1
def test_wordpiece_examples(exercise):
    assert exercise.wordpiece("unaffable", VOCAB) == ["un", "##aff", "##able"]
    assert exercise.wordpiece("running", VOCAB) == ["runn", "##ing"]
    assert exercise.wordpiece("unx", VOCAB) == ["[UNK]"]
    assert exercise.wordpiece("a" * 101, VOCAB) == ["[UNK]"]


@pytest.mark.ex7_1
@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="abnru", min_size=1, max_size=12))
def test_wordpiece_matches_textclf(exercise, word):
    assert exercise.wordpiece(word, VOCAB) == greedy_wordpiece(word, VOCAB)


def bert_names(layers: int = 2) -> list[str]:
    names = ["embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
             "embeddings.token_type_embeddings.weight", "embeddings.LayerNorm.weight", "embeddings.LayerNorm.bias",
             "embeddings.position_ids", "pooler.dense.weight", "pooler.dense.bias"]
    parts = ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
             "attention.output.LayerNorm", "intermediate.dense", "output.dense", "output.LayerNorm"]
    return names + [f"encoder.layer.{n}.{p}.{k}" for n in range(layers) for p in parts for k in ("weight", "bias")]


@pytest.mark.ex7_2
def test_mapping_matches_textclf(exercise):
    for name in bert_names(12):
        assert exercise.map_name(name) == hf_to_textclf(name), name


@pytest.mark.ex7_2
def test_mapping_covers_the_model(exercise):
    ours = BertClassifier(BertConfig(vocab_size=10, embed_dim=4, num_layers=2, n_heads=2, ff_dim=8)).state_dict()
    mapped = {exercise.map_name(n) for n in bert_names(2)} - {None}
    assert mapped == {k for k in ours if not k.startswith("out.")}


@pytest.mark.ex7_3
@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 6), min_size=1, max_size=4), st.integers(0, 3))
def test_mean_pool_matches_textclf(exercise, lengths, extra):
    torch.manual_seed(sum(lengths))
    width = max(lengths) + extra
    hidden = torch.randn(len(lengths), width, 5)
    mask = torch.arange(width)[None, :] < torch.tensor(lengths)[:, None]
    torch.testing.assert_close(exercise.mean_pool(hidden, mask), mean_pool(hidden, mask))


@pytest.mark.ex7_3
def test_mean_pool_ignores_padding(exercise):
    hidden = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [1e6, -1e6]]])
    assert exercise.mean_pool(hidden, torch.tensor([[True, True, False]])).tolist() == [[2.0, 3.0]]

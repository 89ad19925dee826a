"""Grading tests for lesson 1, checked against textclf's own implementation."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from textclf.batching import Collator, padding_fraction, random_batches
from textclf.data import load_dataset
from textclf.text import Vocab, tokenize

# What to look at when an exercise's tests fail (textclf check prints it under "not yet"): a direction,
# never the answer.
HINTS = {
    "1.1": ("Sort the counted tokens with one key that puts higher counts first and breaks ties by the token "
            "itself; filter by min_freq before sorting, and keep the specials out of the counted part (they come "
            "first, once)."),
    "1.2": ("The width is the longest sequence in the batch; build the tensor full of pad_index first, then copy "
            "each sequence into its row. The mask is where a position is before that row's length."),
    "1.3": ("Shuffle with the seeded generator, cut the shuffled indices into large chunks, sort each chunk by "
            "length, then cut it into batches; check every index is used exactly once."),
}


words = st.lists(st.lists(st.sampled_from("a b c d e f g the film is good bad".split()), max_size=8), max_size=12)
sequences = st.lists(st.lists(st.integers(2, 50), min_size=1, max_size=12), min_size=1, max_size=8)


@pytest.fixture(scope="module")
def rt_lengths():
    ds = load_dataset("rotten_tomatoes")
    return [len(tokenize(ex.text)) for ex in ds.train]


@pytest.mark.ex1_1
def test_itos_matches_vocab_on_real_reviews(exercise):
    tokens = [tokenize(ex.text) for ex in load_dataset("rotten_tomatoes").train[:500]]
    for min_freq in (1, 2, 5):
        assert exercise.build_itos(tokens, min_freq=min_freq) == Vocab.build(tokens, min_freq=min_freq).itos


@pytest.mark.ex1_1
@settings(max_examples=50, deadline=None)
@given(words, st.integers(1, 3))
def test_itos_matches_vocab_property(exercise, token_lists, min_freq):
    assert exercise.build_itos(token_lists, min_freq=min_freq) == Vocab.build(token_lists, min_freq=min_freq).itos


@pytest.mark.ex1_1
def test_itos_keeps_specials_first_and_once(exercise):
    itos = exercise.build_itos([["<unk>", "x", "x"], ["y"]], specials=("<pad>", "<unk>", "<cls>"))
    assert itos == ["<pad>", "<unk>", "<cls>", "x", "y"]


@pytest.mark.ex1_2
@settings(max_examples=50, deadline=None)
@given(sequences, st.sampled_from([0, 1]))
def test_pad_and_mask_matches_collator(exercise, seqs, pad_index):
    ids, lengths, mask = exercise.pad_and_mask(seqs, pad_index)
    expected = Collator(pad_index)([(torch.tensor(s), 0) for s in seqs])
    assert ids.dtype == torch.long and lengths.dtype == torch.long and mask.dtype == torch.bool
    assert torch.equal(ids, expected.ids)  # [batch, seq_len]
    assert torch.equal(lengths, expected.lengths)  # [batch]
    assert torch.equal(mask, expected.mask)  # [batch, seq_len]


@pytest.mark.ex1_2
def test_pad_and_mask_batch_of_one(exercise):
    ids, lengths, mask = exercise.pad_and_mask([[5, 6, 7]], pad_index=0)
    assert ids.tolist() == [[5, 6, 7]] and lengths.tolist() == [3] and mask.all()


@pytest.mark.ex1_3
@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(1, 60), min_size=1, max_size=300), st.integers(1, 32), st.integers(0, 5))
def test_buckets_cover_every_index_once(exercise, lengths, batch_size, seed):
    batches = exercise.bucket_batches(lengths, batch_size, seed=seed)
    flat = sorted(i for b in batches for i in b)
    assert flat == list(range(len(lengths)))
    assert all(1 <= len(b) <= batch_size for b in batches)


@pytest.mark.ex1_3
def test_buckets_cut_padding_on_real_reviews(exercise, rt_lengths):
    bucketed = padding_fraction(rt_lengths, exercise.bucket_batches(rt_lengths, 32, seed=0))
    plain = padding_fraction(rt_lengths, random_batches(len(rt_lengths), 32, seed=0))
    assert bucketed < plain / 4, f"bucketed padding {bucketed:.1%} vs {plain:.1%} for random batches"


@pytest.mark.ex1_3
def test_buckets_are_seeded_and_shuffled(exercise, rt_lengths):
    first = exercise.bucket_batches(rt_lengths, 32, seed=0)
    assert first == exercise.bucket_batches(rt_lengths, 32, seed=0)
    assert first != exercise.bucket_batches(rt_lengths, 32, seed=1)
    longest = [max(rt_lengths[i] for i in b) for b in first]
    assert longest != sorted(longest), "batches should come in shuffled order, not shortest first"

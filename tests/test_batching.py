"""Collate and bucketing: shapes, mask/length agreement, every index exactly once."""

import torch
from hypothesis import given
from hypothesis import strategies as st

from textclf.batching import (
    BucketBatchSampler,
    Collator,
    EncodedDataset,
    make_loader,
    padding_fraction,
    random_batches,
)
from textclf.data import Example
from textclf.text import Vocab

sequences = st.lists(st.lists(st.integers(1, 99), min_size=1, max_size=20), min_size=1, max_size=16)


@given(sequences, st.integers(0, 3))
def test_collate_shapes_and_mask_agree_with_lengths(seqs, pad_index):
    batch = Collator(pad_index)([(torch.tensor(s), i % 3) for i, s in enumerate(seqs)])
    assert batch.ids.shape == (len(seqs), max(map(len, seqs))) == batch.mask.shape
    assert batch.lengths.tolist() == [len(s) for s in seqs]
    assert batch.mask.sum(1).tolist() == batch.lengths.tolist()
    for row, s in enumerate(seqs):
        assert batch.ids[row, : len(s)].tolist() == s
        assert (batch.ids[row, len(s):] == pad_index).all()
    assert batch.labels.tolist() == [i % 3 for i in range(len(seqs))]


@given(st.lists(st.integers(1, 80), max_size=400), st.integers(1, 40), st.integers(0, 9), st.booleans())
def test_bucketing_yields_every_index_once(lengths, batch_size, seed, shuffle):
    sampler = BucketBatchSampler(lengths, batch_size, seed=seed, shuffle=shuffle, pool_batches=3)
    batches = list(sampler)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert all(1 <= len(b) <= batch_size for b in batches) and len(batches) == len(sampler)


def test_bucketing_is_seeded_and_changes_with_epoch():
    lengths = list(range(1, 500))
    sampler = BucketBatchSampler(lengths, 16, seed=1)
    first = list(sampler)
    assert first == list(BucketBatchSampler(lengths, 16, seed=1))
    sampler.set_epoch(1)
    assert list(sampler) != first


def test_drop_last():
    sampler = BucketBatchSampler([3] * 10, 4, drop_last=True)
    assert len(sampler) == 2 and all(len(b) == 4 for b in sampler)


def test_padding_fraction_reference_values():
    assert padding_fraction([2, 4], [[0, 1]]) == 0.25
    assert padding_fraction([2, 4, 4], [[0], [1, 2]]) == 0.0
    lengths = [1, 10] * 50
    assert padding_fraction(lengths, list(BucketBatchSampler(lengths, 10))) < padding_fraction(
        lengths, random_batches(len(lengths), 10))


def test_encoded_dataset_and_loader():
    vocab = Vocab.build([["good", "film"]])
    examples = [Example("Good film!", "pos"), Example("...", "neg"), Example("", "neg")]
    data = EncodedDataset.from_examples(examples, vocab, ["neg", "pos"], max_len=2)
    assert data.lengths == [2, 2, 1]  # "..." is three tokens, cut to two
    assert data[0][0].tolist() == [vocab["good"], vocab["film"]] and data[0][1] == 1
    assert data[2][0].tolist() == [vocab.unk_index]  # no tokens -> one <unk>
    batches = list(make_loader(data, 2, pad_index=vocab.pad_index))
    assert sum(len(b) for b in batches) == 3
    assert batches[0].to("cpu").ids.device.type == "cpu"

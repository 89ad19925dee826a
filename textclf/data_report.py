"""``describe``: what the text-to-tensors pipeline makes of a dataset (the ``textclf data`` report)."""

from __future__ import annotations

import numpy as np

from textclf.batching import BucketBatchSampler, EncodedDataset, padding_fraction, random_batches
from textclf.data import TextDataset
from textclf.printable import printable
from textclf.text import Vocab, tokenize


def describe(ds: TextDataset, batch_size: int = 64, glove: str | None = "bundled", min_freq: int = 2) -> str:
    if not ds.train:  # e.g. a file whose split column says "test" on every row
        return "\n".join([f"dataset: {printable(ds.name)}  ({len(ds.labels)} labels: "
                          f"{', '.join(map(printable, ds.labels))})", ds.summary(), "",
                          "the training split is empty: no vocabulary, tokens or batches to show (a model needs "
                          "training texts; give rows with split 'train' or an empty split to let textclf split)"])
    train_tokens = [tokenize(ex.text) for ex in ds.train]
    vocab = Vocab.build(train_tokens, min_freq=min_freq)
    lengths = np.array([len(t) for t in train_tokens])
    first = ds.train[0]
    lines = [
        f"dataset: {printable(ds.name)}  ({len(ds.labels)} labels: {', '.join(map(printable, ds.labels))})",
        ds.summary(),
        "",
        f"example [{printable(first.label)}]: {first.text[:160]!r}",
        f"tokens: {tokenize(first.text)[:24]}",
        f"ids:    {vocab.encode(tokenize(first.text)[:24])}",
        "",
        f"train tokens per text: mean {lengths.mean():.1f}, median {np.median(lengths):.0f}, "
        f"95th pct {np.percentile(lengths, 95):.0f}, max {lengths.max()}",
        f"vocabulary (min_freq={min_freq}): {len(vocab):,} tokens; "
        f"valid tokens unknown: {unknown_share(ds, vocab):.1%}",
    ]
    if glove and glove != "none":
        from textclf.glove import embedding_matrix, load_glove

        _, coverage = embedding_matrix(vocab, load_glove(glove))
        lines.append(f"GloVe ({glove}): {coverage}")
    encoded = EncodedDataset.from_examples(ds.train, vocab, ds.labels)
    bucketed = BucketBatchSampler(encoded.lengths, batch_size, seed=0).batches()
    plain = random_batches(len(encoded), batch_size, seed=0)
    lines.append(f"padding at batch size {batch_size}: {padding_fraction(encoded.lengths, plain):.1%} with random "
                 f"batches, {padding_fraction(encoded.lengths, bucketed):.1%} with length bucketing")
    if ds.skipped:
        lines.append(f"skipped rows: {len(ds.skipped)} (first: {ds.skipped[0]})")
    return "\n".join(lines)


def unknown_share(ds: TextDataset, vocab: Vocab) -> float:
    ids = [i for ex in ds.valid for i in vocab.encode(tokenize(ex.text))]
    return sum(i == vocab.unk_index for i in ids) / max(1, len(ids))

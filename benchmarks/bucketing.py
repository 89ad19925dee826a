"""Padding and batch time with and without length bucketing, on the bundled data.

    python benchmarks/bucketing.py [--batch-size 64]

For each dataset: the share of padding in the batches, and the time of one
epoch of collate + forward + backward through a small packed bi-LSTM
(embedding 64, hidden 64; BBC texts cut to 400 tokens), random batches vs
length-bucketed batches (same data, same model, same seed).
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from textclf.batching import EncodedDataset, make_loader, padding_fraction
from textclf.data import load_dataset
from textclf.text import Vocab, tokenize


class TinyLSTM(nn.Module):
    def __init__(self, vocab_size: int, n_classes: int):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, 64, padding_idx=0)
        self.lstm = nn.LSTM(64, 64, batch_first=True, bidirectional=True)
        self.out = nn.Linear(128, n_classes)

    def forward(self, ids, lengths):
        packed = pack_padded_sequence(self.embedding(ids), lengths, batch_first=True, enforce_sorted=False)
        _, (h, _) = self.lstm(packed)  # h: [2, batch, 64]
        return self.out(torch.cat([h[0], h[1]], dim=1))  # [batch, n_classes]


def epoch_time(data: EncodedDataset, vocab_size: int, n_classes: int, batch_size: int, bucket: bool) -> tuple:
    """Seconds for one training epoch (collate included) and the number of tensor cells it processed."""
    torch.manual_seed(0)
    model = TinyLSTM(vocab_size, n_classes)
    optimizer = torch.optim.Adam(model.parameters())
    cells = 0
    start = time.perf_counter()
    for batch in make_loader(data, batch_size, bucket=bucket, seed=0):
        cells += batch.ids.numel()
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(batch.ids, batch.lengths), batch.labels)
        loss.backward()
        optimizer.step()
    return time.perf_counter() - start, cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, batch size {args.batch_size}\n")
    print("| dataset | batching | padding | tensor cells | epoch time (s) | speed-up |")
    print("|---|---|---:|---:|---:|---:|")
    for name, max_len in (("rotten_tomatoes", None), ("bbc_news", 400)):
        ds = load_dataset(name)
        vocab = Vocab.build((tokenize(ex.text) for ex in ds.train), min_freq=2)
        data = EncodedDataset.from_examples(ds.train, vocab, ds.labels, max_len=max_len)
        results = {}
        for bucket in (False, True):
            loader = make_loader(data, args.batch_size, bucket=bucket, seed=0)
            pad = padding_fraction(data.lengths, list(loader.batch_sampler))
            seconds, cells = epoch_time(data, len(vocab), len(ds.labels), args.batch_size, bucket)
            results[bucket] = seconds
            label = "length-bucketed" if bucket else "random"
            speedup = f"{results[False] / seconds:.2f}x" if bucket else "1.00x"
            print(f"| {name} | {label} | {pad:.1%} | {cells:,} | {seconds:.2f} | {speedup} |")


if __name__ == "__main__":
    main()

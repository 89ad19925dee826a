"""From examples to padded tensors: encoding, collate functions and length bucketing.

A batch of texts of different lengths becomes one ``[batch, seq_len]`` tensor by
padding every text to the longest one. ``Batch.mask`` marks the real tokens
and ``Batch.lengths`` counts them, so models can ignore the padding (packing
for RNNs, masking for CNN/NBoW/attention).

Padding is wasted work. ``BucketBatchSampler`` groups texts of similar length
into the same batch, so little padding is needed, while keeping batches
shuffled from epoch to epoch. ``padding_fraction`` measures the waste;
``benchmarks/bucketing.py`` compares both ways on the bundled data.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, Sampler

from textclf.data.readers import Example
from textclf.text.tokenizer import framing, tokenize
from textclf.text.vocab import Vocab


@dataclass
class Batch:
    ids: torch.Tensor      # [batch, seq_len] token ids, pad_index after each text's end
    lengths: torch.Tensor  # [batch] number of real tokens in each text
    mask: torch.Tensor     # [batch, seq_len] True at real tokens
    labels: torch.Tensor   # [batch] class ids
    teacher: torch.Tensor | None = None  # [batch, n_classes] a teacher's logits (distillation), else None

    def to(self, device: torch.device | str) -> Batch:
        """Move to ``device``; ``lengths`` stays on the CPU, where ``pack_padded_sequence`` wants it."""
        teacher = None if self.teacher is None else self.teacher.to(device)
        return Batch(self.ids.to(device), self.lengths, self.mask.to(device), self.labels.to(device), teacher)

    def __len__(self) -> int:
        return self.ids.shape[0]


def text_tokens(text: str, vocab: Vocab, tokenizer: Callable[[str], list[str]] = tokenize,
                max_len: int | None = None) -> list[str]:
    """The tokens the model sees: cut to ``max_len``; a text with no tokens becomes ``[<unk>]``.

    A ``FramingTokenizer`` (WordPiece: ``[CLS] ... [SEP]``) frames and cuts the tokens itself.
    """
    framed = framing(tokenizer)
    if framed is not None:
        return framed(text, max_len)
    return tokenizer(text)[:max_len] or [vocab.unk_token]


def encode_text(text: str, vocab: Vocab, tokenizer: Callable[[str], list[str]] = tokenize,
                max_len: int | None = None) -> torch.Tensor:
    """One text as a ``[n_tokens]`` id tensor (``text_tokens``, then the vocabulary's ids)."""
    return torch.tensor(vocab.encode(text_tokens(text, vocab, tokenizer, max_len)), dtype=torch.long)


class EncodedDataset(Dataset):
    """Texts as id tensors, with their class ids; ``lengths[i]`` is the length of text ``i``.

    ``teacher``: a ``[n_texts, n_classes]`` tensor of a teacher's logits for distillation (``textclf.distill``);
    each item then carries its row, and a batch its ``teacher`` logits."""

    def __init__(self, ids: Sequence[torch.Tensor], labels: Sequence[int], teacher: torch.Tensor | None = None):
        if len(ids) != len(labels):
            raise ValueError(f"{len(ids)} texts but {len(labels)} labels")
        if teacher is not None and (teacher.dim() != 2 or teacher.shape[0] != len(ids)):
            raise ValueError(f"teacher logits of shape {tuple(teacher.shape)}; expected [{len(ids)}, n_classes]")
        self.ids, self.labels = list(ids), list(labels)
        self.lengths = [len(x) for x in self.ids]
        self.teacher = None if teacher is None else teacher.float()

    @classmethod
    def from_examples(
        cls, examples: Sequence[Example], vocab: Vocab, label_names: Sequence[str],
        tokenizer: Callable[[str], list[str]] = tokenize, max_len: int | None = None,
    ) -> EncodedDataset:
        """Tokenize, cut to ``max_len`` tokens, map to ids. A text with no tokens becomes ``[<unk>]``."""
        index = {y: i for i, y in enumerate(label_names)}
        ids = [encode_text(ex.text, vocab, tokenizer, max_len) for ex in examples]
        return cls(ids, [index[ex.label] for ex in examples])

    def fingerprint(self) -> str:
        """A sha256 of every text's ids and its label: equal only for the same encoded data."""
        digest = hashlib.sha256(np.asarray(self.labels, dtype=np.int64).tobytes())
        digest.update(np.asarray(self.lengths, dtype=np.int64).tobytes())
        if self.ids:
            digest.update(torch.cat(self.ids).numpy().astype(np.int64).tobytes())
        if self.teacher is not None:  # another teacher, another training set
            digest.update(self.teacher.numpy().astype(np.float32).tobytes())
        return digest.hexdigest()[:16]

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int] | tuple[torch.Tensor, int, torch.Tensor]:
        if self.teacher is not None:
            return self.ids[i], self.labels[i], self.teacher[i]
        return self.ids[i], self.labels[i]


def encode_splits(dataset, vocab: Vocab, max_len: int | None = None,
                  tokenizer: Callable[[str], list[str]] = tokenize) -> dict[str, EncodedDataset]:
    """``{"train": ..., "valid": ..., "test": ...}`` of a ``TextDataset``, encoded with ``vocab``."""
    return {s: EncodedDataset.from_examples(dataset.split(s), vocab, dataset.labels, tokenizer, max_len)
            for s in ("train", "valid", "test")}


class Collator:
    """Collate ``(ids, label)`` pairs into a padded ``Batch`` (a class, so DataLoader workers can pickle it);
    ``(ids, label, teacher_logits)`` triples (a distillation set) also stack the teacher's logits."""

    def __init__(self, pad_index: int = 0):
        self.pad_index = pad_index

    def __call__(self, items: Sequence[tuple[torch.Tensor, int]]) -> Batch:
        lengths = torch.tensor([len(item[0]) for item in items], dtype=torch.long)  # [batch]
        if (lengths < 1).any():
            raise ValueError("every text needs at least one token id to be batched")
        ids = torch.full((len(items), int(lengths.max())), self.pad_index, dtype=torch.long)  # [batch, seq_len]
        for row, item in enumerate(items):
            ids[row, : len(item[0])] = item[0]
        mask = torch.arange(ids.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)  # [batch, seq_len]
        labels = torch.tensor([item[1] for item in items], dtype=torch.long)  # [batch]
        teacher = torch.stack([item[2] for item in items]) if len(items[0]) > 2 else None  # [batch, n_classes]
        return Batch(ids, lengths, mask, labels, teacher)


def collate_batch(items: Sequence[tuple[torch.Tensor, int]], pad_index: int = 0) -> Batch:
    """Functional form of ``Collator``."""
    return Collator(pad_index)(items)


class BucketBatchSampler(Sampler[list[int]]):
    """Batches of similar-length texts, shuffled and seeded.

    Each epoch: shuffle all indices, cut them into pools of ``batch_size * pool_batches``,
    sort each pool by length, cut pools into batches, shuffle the batch order.
    Every index appears exactly once per epoch. Call ``set_epoch(e)`` for a new
    (still reproducible) order each epoch.
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, *, shuffle: bool = True, seed: int = 0,
                 pool_batches: int = 50, drop_last: bool = False):
        if batch_size < 1 or pool_batches < 1:
            raise ValueError("batch_size and pool_batches must be at least 1")
        self.lengths = np.asarray(lengths)
        self.batch_size, self.shuffle, self.seed = batch_size, shuffle, seed
        self.pool_size, self.drop_last, self.epoch = batch_size * pool_batches, drop_last, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def batches(self) -> list[list[int]]:
        rng = np.random.default_rng([self.seed, self.epoch])
        order = rng.permutation(len(self.lengths)) if self.shuffle else np.arange(len(self.lengths))
        batches = []
        for start in range(0, len(order), self.pool_size):
            pool = order[start : start + self.pool_size]
            pool = pool[np.argsort(self.lengths[pool], kind="stable")]
            batches += [pool[i : i + self.batch_size].tolist() for i in range(0, len(pool), self.batch_size)]
        if self.drop_last:
            batches = [b for b in batches if len(b) == self.batch_size]
        if self.shuffle:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        return batches

    def __iter__(self) -> Iterator[list[int]]:
        return iter(self.batches())

    def __len__(self) -> int:
        return len(self.batches()) if self.drop_last else -(-len(self.lengths) // self.batch_size)


def random_batches(n: int, batch_size: int, seed: int = 0) -> list[list[int]]:
    """Plain shuffled batches (no bucketing), for comparison."""
    sampler = RandomSampler(range(n), generator=torch.Generator().manual_seed(seed))
    return list(BatchSampler(sampler, batch_size, drop_last=False))


def padding_fraction(lengths: Sequence[int], batches: Sequence[Sequence[int]]) -> float:
    """Share of the padded tensor cells that are padding: ``1 - real tokens / (batch * seq_len)``."""
    lengths = np.asarray(lengths)
    real = sum(int(lengths[b].sum()) for b in batches)
    cells = sum(len(b) * int(lengths[b].max()) for b in batches)
    return 1.0 - real / cells if cells else 0.0


def make_loader(dataset: EncodedDataset, batch_size: int, *, pad_index: int = 0, bucket: bool = True,
                shuffle: bool = True, seed: int = 0) -> DataLoader:
    """A DataLoader of ``Batch`` es, length-bucketed unless ``bucket=False``."""
    if bucket:
        sampler = BucketBatchSampler(dataset.lengths, batch_size, shuffle=shuffle, seed=seed)
        return DataLoader(dataset, batch_sampler=sampler, collate_fn=Collator(pad_index))
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator,
                      collate_fn=Collator(pad_index))

"""The transfer set: the texts a student learns from, each with the teacher's logits.

The training split's texts keep their gold labels; an augmented text has none, so its "gold" label is the
teacher's argmax (the hard part of the loss then agrees with the soft part). ``encoded`` turns it into the
student's ``EncodedDataset`` (its vocabulary and tokenizer) with the logits attached, which is all the training
loop needs: its batches then carry ``teacher`` and the student's ``loss`` does the rest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import torch

from textclf.batching import EncodedDataset, encode_text
from textclf.models.losses import Distillation
from textclf.text import Vocab


@dataclass
class TransferSet:
    texts: list[str]
    labels: list[int]             # gold class ids for the first ``n_gold`` texts, the teacher's argmax after
    logits: torch.Tensor          # [len(texts), n_classes] the teacher's logits
    n_gold: int                   # how many texts are the training split's (the rest are augmented)
    loss: Distillation            # alpha and T
    record: dict                  # what the bundle records: teacher, alpha, T, sizes, source, fingerprints

    def __post_init__(self) -> None:
        if not (len(self.texts) == len(self.labels) == self.logits.shape[0]):
            raise ValueError(f"{len(self.texts)} texts, {len(self.labels)} labels and {self.logits.shape[0]} rows of "
                             "teacher logits: expected one of each per text")
        if not 0 <= self.n_gold <= len(self.texts):
            raise ValueError(f"n_gold = {self.n_gold}: expected 0 to {len(self.texts)}")

    def identity(self) -> dict:
        """What a resumed run must share with its checkpoint: the record without where the teacher was read
        from (the same teacher from another path is the same teacher: its fingerprint says so)."""
        return {k: v for k, v in self.record.items() if k not in ("teacher", "teacher_test_accuracy")}

    def encoded(self, vocab: Vocab, max_len: int | None, tokenizer: Callable[[str], list[str]]) -> EncodedDataset:
        """The student's view: its token ids for every text, the labels, the teacher's logits."""
        ids = [encode_text(t, vocab, tokenizer, max_len) for t in self.texts]
        return EncodedDataset(ids, self.labels, self.logits)


def texts_fingerprint(texts: list[str]) -> str:
    """A sha256 of the texts in order (each one's UTF-8 bytes and length): equal only for the same texts."""
    digest = hashlib.sha256()
    for text in texts:
        raw = text.encode("utf-8", "surrogatepass")
        digest.update(len(raw).to_bytes(8, "little"))
        digest.update(raw)
    return digest.hexdigest()[:16]

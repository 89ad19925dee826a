"""The distillation set: the texts a student learns from, each with the teacher's logits.

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
class DistillationSet:
    texts: list[str]
    labels: list[int]             # gold class ids for the first ``n_gold`` texts, the teacher's argmax after
    logits: torch.Tensor          # [len(texts), n_classes] the teacher's logits
    n_gold: int                   # how many texts are the training split's (the rest are augmented)
    loss: Distillation            # alpha and T
    record: dict                  # what the bundle records: teacher, alpha, T, sizes, source, fingerprints
    origin: list[int] | None = None  # per text, the training text it was made from (None: each is its own)

    def __post_init__(self) -> None:
        if not (len(self.texts) == len(self.labels) == self.logits.shape[0]):
            raise ValueError(f"{len(self.texts)} texts, {len(self.labels)} labels and {self.logits.shape[0]} rows of "
                             "teacher logits: expected one of each per text")
        if not 0 <= self.n_gold <= len(self.texts):
            raise ValueError(f"n_gold = {self.n_gold}: expected 0 to {len(self.texts)}")
        if self.origin is None:
            self.origin = list(range(len(self.texts)))
        if len(self.origin) != len(self.texts) or any(not 0 <= i < max(self.n_gold, 1) for i in self.origin):
            raise ValueError("origin: expected, per text, the index of the training text it was made from")

    def subset(self, gold: list[int], *, augmented: bool = True, loss: Distillation | None = None) -> DistillationSet:
        """The distillation set of some training texts (indices into the first ``n_gold``): those texts, then — with
        ``augmented`` — the augmented texts made from them (a learning curve's smaller training split);
        ``loss``: another alpha and T for the same texts and logits."""
        chosen = set(gold)
        rows = list(gold) + ([i for i in range(self.n_gold, len(self.texts)) if self.origin[i] in chosen]
                             if augmented else [])
        renumber = {old: new for new, old in enumerate(gold)}
        extra = len(rows) - len(gold)
        made = self.record.get("distillation_set", {})
        record = {**self.record, "alpha": (loss or self.loss).alpha, "temperature": (loss or self.loss).temperature,
                  "distillation_set": {**made, "texts": len(rows), "gold": len(gold), "augmented": extra,
                                       "copies": made.get("copies", 0) if augmented else 0}}
        if len(gold) < self.n_gold:
            record["distillation_set"]["source"] = (f"{len(gold):,} of the training split's {self.n_gold:,} texts"
                                                + (f" + {extra:,} augmented texts made from them" if extra else ""))
        elif not augmented:
            record["distillation_set"]["source"] = "the training split"
        return DistillationSet([self.texts[i] for i in rows], [self.labels[i] for i in rows], self.logits[rows],
                           len(gold), loss or self.loss, record, [renumber[self.origin[i]] for i in rows])

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

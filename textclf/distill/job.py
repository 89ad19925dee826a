"""``distill_job``: a student trained on the gold labels and a teacher's soft labels — the steps of the
ordinary training job (``textclf.pipeline``: ``prepare``, then ``finish``) with a distillation set in place of
the training split and the distillation loss as the criterion.

    teacher bundle ──logits (cached)──┐
    training texts (+ augmented) ─────┴─> DistillationSet ─> prepare, train = the set, criterion = its loss,
                                                         finish ─> an ordinary Bundle

The student is built, trained (same loop, same early stopping on the validation split's gold labels),
tested and bundled exactly as ``textclf train`` does; only its loss differs (``textclf.models.losses``). What it
learnt from — the teacher, alpha, T, the distillation set's size and source — is in ``metrics.json`` under
``distillation`` and in the model card; predict, serve, export and explain treat it like any bundle.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from textclf.bundle import Bundle
from textclf.config import check_float, check_int
from textclf.data import TextDataset
from textclf.distill.augment import augment_texts
from textclf.distill.distillation_set import DistillationSet
from textclf.distill.teacher import CACHE_NAME, teacher_logits
from textclf.models.losses import Distillation
from textclf.pipeline import JobConfig, Runtime, finish, prepare
from textclf.printable import printable
from textclf.training import Hooks


@dataclass
class DistillConfig:
    """What a student learns from: the loss (``alpha``, ``temperature``) and the distillation set (the training
    split, plus ``copies`` augmented texts per training text, Tang et al.'s n-gram sampling / word dropout)."""

    alpha: float = 0.5        # weight of the soft loss; 1 - alpha goes to the gold labels' cross-entropy
    temperature: float = 2.0  # softens both distributions in the soft loss
    copies: int = 0           # augmented texts per training text, labelled by the teacher (0: none)
    p_ngram: float = 0.25     # chance that an augmented text is an n-gram sample (else word dropout)
    p_drop: float = 0.1       # word dropout's chance per word
    seed: int = 0             # the augmentation's random draws

    def __post_init__(self) -> None:
        Distillation(self.alpha, self.temperature)  # checks alpha and the temperature
        check_int(self, "copies", 0, 100)
        check_float(self, "p_ngram", 0.0, 1.0)
        check_float(self, "p_drop", 0.0, 1.0, high_open=True)
        check_int(self, "seed", 0, 2**63 - 1)

    @property
    def loss(self) -> Distillation:
        return Distillation(self.alpha, self.temperature)


def check_teacher(teacher: Bundle, ds: TextDataset, log: Callable[[str], None]) -> None:
    """The teacher must have the dataset's labels, in the same order (its logits are read column by column)."""
    if list(teacher.labels) != list(ds.labels):
        raise ValueError(f"the teacher {teacher.path or ''} has the labels {', '.join(map(printable, teacher.labels))}"
                         f"; the dataset {printable(ds.name)} has {', '.join(map(printable, ds.labels))}: expected the "
                         "same labels in the same order")
    record = teacher.config.data
    if record is not None and record.fingerprints.get("test") not in (None, ds.fingerprints().get("test")):
        log(f"warning: the teacher was trained on other splits than {printable(ds.name)}'s; if it saw this test "
            "split while training, the student's test score is not a fair one")


def make_distillation_set(ds: TextDataset, teacher: Bundle, config: DistillConfig, cache: str | Path | None = None,
                 log: Callable[[str], None] = print) -> DistillationSet:
    """The training split (gold labels) and its augmented texts (the teacher's argmax), with the teacher's logits."""
    check_teacher(teacher, ds, log)
    index = {y: i for i, y in enumerate(ds.labels)}
    texts = [ex.text for ex in ds.train]
    gold = [index[ex.label] for ex in ds.train]
    made = augment_texts(texts, config.copies, p_ngram=config.p_ngram, p_drop=config.p_drop, seed=config.seed)
    extra = [text for _, text in made]
    if config.copies:
        log(f"augmentation: {len(extra):,} new texts ({config.copies} per training text asked; n-gram sampling "
            f"p={config.p_ngram}, word dropout p={config.p_drop}, seed {config.seed})")
    logits, facts = teacher_logits(teacher, texts + extra, cache, log=log)  # [n_texts, n_classes]
    agreement = (logits[: len(texts)].argmax(-1) == torch.tensor(gold)).float().mean().item() if texts else 0.0
    log(f"teacher: agrees with {100 * agreement:.1f}% of the training split's gold labels")
    source = "the training split" + (f" + {len(extra):,} augmented texts (Tang et al. 2019: n-gram sampling "
                                     f"p={config.p_ngram}, word dropout p={config.p_drop}, seed {config.seed})"
                                     if extra else "")
    record = {"teacher": str(teacher.path or "a bundle in memory"), "teacher_model": teacher.model_name,
              "teacher_test_accuracy": (teacher.metrics or {}).get("test_accuracy"),
              "alpha": config.alpha, "temperature": config.temperature,
              "distillation_set": {"texts": len(texts) + len(extra), "gold": len(texts), "augmented": len(extra),
                               "copies": config.copies, "source": source},
              "teacher_train_agreement": agreement, "teacher_fingerprint": facts["teacher_fingerprint"],
              "texts_fingerprint": facts["texts_fingerprint"]}
    labels = gold + logits[len(texts):].argmax(-1).tolist()
    origin = list(range(len(texts))) + [i for i, _ in made]
    return DistillationSet(texts + extra, labels, logits, len(texts), config.loss, record, origin)


def distill_job(ds: TextDataset, teacher: Bundle | None, job: JobConfig, config: DistillConfig | None = None,
                out: str | Path | None = None, *, resume: bool = False, log: Callable[[str], None] = print,
                hooks: Hooks | None = None, device: torch.device | None = None,
                distillation_set: DistillationSet | None = None) -> Bundle:
    """Train ``job``'s student on ``ds`` with ``teacher``'s soft labels; return the student's ``Bundle``.

    ``out``: the student's folder (the checkpoint, and the teacher's logits cached as ``teacher_logits
    .safetensors``, kept there for the next run). ``distillation_set``: one made already (``make_distillation_set``;
    the benchmark trains several students on one).
    """
    config = config or DistillConfig()
    out = Path(out) if out is not None else None
    if distillation_set is None:
        if teacher is None:
            raise ValueError("distill_job: expected a teacher bundle or a distillation set made with one")
        distillation_set = make_distillation_set(ds, teacher, config, out / CACHE_NAME if out else None, log)
    elif distillation_set.texts[:distillation_set.n_gold] != [ex.text for ex in ds.train]:
        raise ValueError(f"the distillation set's {distillation_set.n_gold:,} gold texts are not "
                         f"{printable(ds.name)}'s "
                         f"{len(ds.train):,} training texts: expected one made from this dataset's training split")
    loss, name = distillation_set.loss, distillation_set.record.get("teacher_model", "the teacher")
    log(f"distilling {name} into {job.model}: alpha {loss.alpha}, T {loss.temperature}, "
        f"{len(distillation_set.texts):,} texts ({distillation_set.n_gold:,} with gold labels)")
    work = prepare(ds, job, out, Runtime(resume=resume, hooks=hooks or Hooks(), device=device), log)
    # the same loop: batches carry the teacher's logits, the criterion uses them
    work.train = distillation_set.encoded(work.vocab, work.job.max_len, work.tokenizer)
    work.criterion = loss
    work.identity["distillation"] = distillation_set.identity()  # a checkpoint refuses another teacher or alpha/T
    bundle = finish(work, log)
    bundle.metrics["distillation"] = distillation_set.record
    return bundle

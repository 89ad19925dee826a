"""``distill_choosing``: what ``textclf distill`` runs — its settings chosen on the validation split, and
never a student worse than the same model trained on the gold labels alone, handed back in silence.

1. **The figure to beat**: the gold-only student (``textclf train``'s job on the same data).
2. **alpha and T** (unless given): one student per pair of ``GRID``, on the training texts; the best
   validation accuracy chooses.
3. **Augmentation** (unless ``--copies`` is given): with that alpha and T, one student on the training texts
   plus ``COPIES`` augmented texts per text (the teacher labels them); kept if validation says so.
4. **The answer**: the best distilled student if it beats the gold-only one on validation, else the gold-only
   one, said in one line with both figures and the likely cause (a teacher that agrees with too few training
   labels, or soft labels near uniform); ``keep_distilled`` keeps the distilled one anyway.

The test split is never looked at (each student's early stopping and every choice read the validation
split). Cost: up to 6 students and the teacher's pass over the augmented texts (cached); each line says its
seconds. Given alpha, T and copies, only the distilled student and the gold-only one train.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import torch

from textclf.baseline import NAME as BASELINE
from textclf.baseline import linear_baseline
from textclf.bundle import Bundle
from textclf.data import TextDataset
from textclf.distill.distillation_set import DistillationSet
from textclf.distill.job import DistillConfig, distill_job, make_distillation_set
from textclf.distill.teacher import CACHE_NAME
from textclf.models.losses import Distillation, soft_labels
from textclf.pipeline import JobConfig, Runtime, job_json, train_job

GRID = ((0.5, 2.0), (0.9, 2.0), (0.5, 4.0), (0.9, 4.0))  # alpha, T: lesson 13's benchmark's grid
COPIES = 4            # augmented texts per training text, tried when --copies is not given
CLOSE_TEACHER = 0.05  # a teacher whose training-label agreement is within this of the student's own accuracy
NEAR_UNIFORM = 0.1    # soft labels whose mean top probability is within this of 1 / n_classes


def quiet(line: str) -> None:
    pass


def distill_choosing(ds: TextDataset, teacher: Bundle, job: JobConfig, *, alpha: float | None = None,
                     temperature: float | None = None, copies: int | None = None,
                     augment: DistillConfig | None = None, keep_distilled: bool = False,
                     out: str | Path | None = None, resume: bool = False, log: Callable[[str], None] = print,
                     device: torch.device | None = None) -> Bundle:
    """The student ``textclf distill`` hands back. ``alpha``, ``temperature``, ``copies``: given, or None to
    choose on validation (alpha and T from ``GRID``'s values, copies 0 or ``COPIES``); ``augment``: how
    augmented texts are made (its ``p_ngram``, ``p_drop``, ``seed``). The bundle's ``metrics["distillation"]``
    records every student tried, the gold-only figure and which one was kept."""
    augment = augment or DistillConfig()
    choosing = [name for name, value in (("alpha", alpha), ("T", temperature), ("copies", copies)) if value is None]
    if resume and choosing:
        raise ValueError("--resume continues one training run, and this one chooses its settings by training "
                         "several: pass --alpha, --temperature and --copies (the log names the ones chosen)")
    out = Path(out) if out is not None else None
    cache = out / CACHE_NAME if out else None
    tried: list[dict] = []

    def train(name: str, make: Callable[[], Bundle]) -> Bundle:
        start = time.perf_counter()
        bundle = make()
        tried.append({"student": name, "valid_accuracy": bundle.metrics["valid_accuracy"],
                      "seconds": round(time.perf_counter() - start, 1)})
        log(f"  [{len(tried)}] {name}: valid accuracy {bundle.metrics['valid_accuracy']:.4f} "
            f"({tried[-1]['seconds']:.0f} s)")
        return bundle

    def distilled(dset: DistillationSet, loss: Distillation) -> Bundle:
        chosen = dset.subset(list(range(dset.n_gold)), loss=loss)
        name = (f"distilled, alpha {loss.alpha:g}, T {loss.temperature:g}"
                + (f", {len(dset.texts) - dset.n_gold:,} augmented texts" if len(dset.texts) > dset.n_gold else ""))
        # only a run that chooses nothing keeps a checkpoint in --out (it is the one --resume continues)
        return train(name, lambda: distill_job(ds, None, replace(job, baseline=False),
                                               out=None if choosing else out, resume=resume, log=quiet,
                                               device=device, distillation_set=chosen))

    candidates = [(a, t) for a in ([alpha] if alpha is not None else sorted({a for a, _ in GRID}))
                  for t in ([temperature] if temperature is not None else sorted({t for _, t in GRID}))]
    steps = [*([f"alpha, T from {', '.join(f'({a:g}, {t:g})' for a, t in candidates)}"] if len(candidates) > 1 else []),
             *([f"0 or {COPIES} augmented copies per text"] if copies is None else [])]
    log("choosing on the validation split: " + ("; ".join(steps) if steps else "nothing (all given)")
        + "; and the student on the gold labels alone, to beat")
    gold = train("gold labels only (textclf train)",
                 lambda: train_job(ds, replace(job, baseline=False), log=quiet, run=Runtime(device=device)))
    # the teacher labels every text once (cached): when copies are chosen, the augmented set, whose training
    # texts alone are the set without augmentation
    whole = make_distillation_set(ds, teacher, replace(augment, copies=COPIES if copies is None else copies),
                                  cache, log)
    dset = whole.subset(list(range(whole.n_gold)), augmented=False) if copies is None else whole
    students = [distilled(dset, Distillation(a, t)) for a, t in candidates]
    best = max(students, key=lambda b: b.metrics["valid_accuracy"])  # the first of equals: the candidates' order
    loss = Distillation(best.metrics["distillation"]["alpha"], best.metrics["distillation"]["temperature"])
    if len(candidates) > 1:
        log(f"chosen: alpha {loss.alpha:g}, T {loss.temperature:g} (validation)")
    if copies is None:
        with_copies = distilled(whole, loss)
        if with_copies.metrics["valid_accuracy"] > best.metrics["valid_accuracy"]:
            best = with_copies
        log(f"chosen: {best.metrics['distillation']['distillation_set']['copies']} copies per text (validation)")
    chosen = kept(best, gold, dset, loss, tried, keep_distilled, log)
    if job.baseline and ds.test:  # once, for the bundle that is kept (the candidates skip it)
        chosen.metrics["baseline"] = {"name": BASELINE, **linear_baseline(ds)}
    chosen.files["job.json"] = job_json(job)  # the job as asked (its candidates ran without the baseline)
    return chosen


def kept(best: Bundle, gold: Bundle, dset: DistillationSet, loss: Distillation, tried: list[dict],
         keep_distilled: bool, log: Callable[[str], None]) -> Bundle:
    """The better of the best distilled student and the gold-only one on validation (ties: gold-only, the
    simpler recipe), said in one line with both figures; the likely cause named when distillation lost."""
    distilled_valid, gold_valid = best.metrics["valid_accuracy"], gold.metrics["valid_accuracy"]
    wins = distilled_valid > gold_valid
    chosen = best if wins or keep_distilled else gold
    record = dict(best.metrics["distillation"])
    record.update(kept="distilled" if chosen is best else "gold-only", tried=tried,
                  distilled_valid_accuracy=distilled_valid, gold_only_valid_accuracy=gold_valid)
    if wins:
        log(f"kept the distilled student: valid accuracy {distilled_valid:.4f} against {gold_valid:.4f} on the gold "
            "labels alone")
    else:
        causes = likely_causes(dset, loss, gold_valid)
        record["likely_causes"] = causes
        log(f"distillation did not beat the gold labels alone on validation ({distilled_valid:.4f} against "
            f"{gold_valid:.4f}): " + ("kept the distilled student (--keep-distilled)" if keep_distilled else
                                     "kept the gold-only student (--keep-distilled keeps the other)")
            + (f"; likely cause: {'; '.join(causes)}" if causes else ""))
    chosen.metrics["distillation"] = record
    return chosen


def likely_causes(dset: DistillationSet, loss: Distillation, gold_valid: float) -> list[str]:
    """Why a teacher may not help: it agrees with few more training labels than the student gets right on its
    own, or its soft labels at T are near uniform (they say little)."""
    causes = []
    agreement = dset.record["teacher_train_agreement"]
    if agreement < gold_valid + CLOSE_TEACHER:
        causes.append(f"the teacher agrees with only {100 * agreement:.1f}% of the training split's labels, close to "
                      f"the {100 * gold_valid:.1f}% the student reaches alone (a teacher trained longer fits its "
                      "training texts better)")
    n_classes = dset.logits.shape[1]
    top = soft_labels(dset.logits[: dset.n_gold], loss.temperature).max(dim=-1).values.mean().item()
    if top < 1 / n_classes + NEAR_UNIFORM:
        causes.append(f"its soft labels at T {loss.temperature:g} are near uniform (mean top probability "
                      f"{top:.3f}; uniform is {1 / n_classes:.3f})")
    return causes

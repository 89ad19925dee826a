"""``textclf distill``: a student trained on a teacher bundle's soft labels (``textclf.distill.job``)."""

from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path

from textclf.cli.inputs import add_dataset_options, load_from_args, whole_number
from textclf.cli.train import add_job_options, job_from_args, write_bundle
from textclf.distill.choose import COPIES, GRID
from textclf.distill.job import DistillConfig
from textclf.models import MODELS
from textclf.models.losses import Distillation
from textclf.pipeline import DEFAULT_MODEL
from textclf.printable import printable


def add_distill(commands) -> None:
    distill = commands.add_parser(
        "distill", help="train a small student on a teacher bundle's soft labels and write the student's bundle",
        description="Train --student on the gold labels and the --teacher bundle's temperature-softened predictions "
                    "(lesson 13). Without --dataset, the data the teacher was trained on (checked against its "
                    "fingerprint). alpha, T and the augmentation are chosen on the validation split unless given, "
                    "and the student is compared there with the same model trained on the gold labels alone: the "
                    "better one is kept, and the run says which. The teacher's logits are cached in "
                    "OUT/teacher_logits.safetensors.")
    distill.add_argument("--teacher", type=Path, required=True, help="the teacher's bundle directory (e.g. MiniLM's)")
    distill.add_argument("--student", dest="model", default=DEFAULT_MODEL, choices=list(MODELS),
                         help=f"the student's model (default {DEFAULT_MODEL})")
    add_dataset_options(distill, positional=False, default=None)
    soft = distill.add_argument_group(
        "distillation", "What is not given is chosen on the validation split, and the student trained on the gold "
        "labels alone is trained too: the better of the two on validation is kept (textclf.distill.choose).")
    soft.add_argument("--alpha", type=float, help="weight of the soft loss (the teacher); 1 - alpha goes to the gold "
                      f"labels (default: chosen from {', '.join(f'{a:g}' for a in sorted({a for a, _ in GRID}))})")
    temperatures = ", ".join(f"{t:g}" for t in sorted({t for _, t in GRID}))
    soft.add_argument("--temperature", type=float, help="softens the teacher's and the student's distributions in "
                      f"the soft loss (default: chosen from {temperatures})")
    soft.add_argument("--copies", type=whole_number(0, 100), help="augmented texts per training text, labelled by the "
                      f"teacher (default: 0 or {COPIES}, chosen on validation)")
    soft.add_argument("--keep-distilled", action="store_true",
                      help="keep the distilled student even where the gold-only one is better on validation")
    soft.add_argument("--p-ngram", type=float, default=field_default("p_ngram"),
                      help=f"chance an augmented text is an n-gram sample (default {field_default('p_ngram')})")
    soft.add_argument("--p-drop", type=float, default=field_default("p_drop"),
                      help=f"word dropout's chance per word (default {field_default('p_drop')})")
    soft.add_argument("--augment-seed", type=int, default=field_default("seed"),
                      help=f"the augmentation's random draws (default {field_default('seed')})")
    add_job_options(distill, default_out="runs/student")
    distill.set_defaults(run=cmd_distill)


def field_default(name: str):
    """A ``DistillConfig`` field's default: the one place it is written."""
    return next(f.default for f in fields(DistillConfig) if f.name == name)


def cmd_distill(args: argparse.Namespace) -> int:
    from textclf.bundle import load_bundle
    from textclf.devices import pick_device
    from textclf.distill.choose import distill_choosing
    from textclf.distributed import launched_by_torchrun

    if launched_by_torchrun():
        raise ValueError("textclf distill runs in one process; start it without torchrun")
    augment = DistillConfig(p_ngram=args.p_ngram, p_drop=args.p_drop, seed=args.augment_seed)
    Distillation(**{k: v for k, v in (("alpha", args.alpha), ("temperature", args.temperature)) if v is not None})
    # (checked before any work: a bad alpha or T exits 2)
    job = job_from_args(args)
    device = pick_device(job.train.device)
    teacher = load_bundle(args.teacher, device, job.train.precision)  # it labels in the precision the student trains in
    ds = load_from_args(args) if args.dataset else teacher.recorded_dataset("test")
    print(f"distilling {args.teacher} ({teacher.model_name}) into {args.model} on {printable(ds.name)} -> {args.out}")
    return write_bundle(args, lambda: distill_choosing(
        ds, teacher, job, alpha=args.alpha, temperature=args.temperature, copies=args.copies, augment=augment,
        keep_distilled=args.keep_distilled, out=args.out, resume=args.resume, device=device), reads=[args.teacher])

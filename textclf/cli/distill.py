"""``textclf distill``: a student trained on a teacher bundle's soft labels (``textclf.distill.job``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from textclf.cli.inputs import add_dataset_options, load_from_args, whole_number
from textclf.cli.train import add_job_options, job_from_args, write_bundle
from textclf.models import MODELS
from textclf.pipeline import DEFAULT_MODEL
from textclf.printable import printable


def add_distill(commands) -> None:
    distill = commands.add_parser(
        "distill", help="train a small student on a teacher bundle's soft labels and write the student's bundle",
        description="Train --student on the gold labels and the --teacher bundle's temperature-softened predictions "
                    "(lesson 13). Without --dataset, the data the teacher was trained on (checked against its "
                    "fingerprint). The teacher's logits are cached in OUT/teacher_logits.safetensors.")
    distill.add_argument("--teacher", type=Path, required=True, help="the teacher's bundle directory (e.g. MiniLM's)")
    distill.add_argument("--student", dest="model", default=DEFAULT_MODEL, choices=list(MODELS),
                         help=f"the student's model (default {DEFAULT_MODEL})")
    add_dataset_options(distill, positional=False, default=None)
    soft = distill.add_argument_group("distillation")
    soft.add_argument("--alpha", type=float, default=0.5,
                      help="weight of the soft loss (the teacher); 1 - alpha goes to the gold labels (default 0.5)")
    soft.add_argument("--temperature", type=float, default=2.0,
                      help="softens the teacher's and the student's distributions in the soft loss (default 2)")
    soft.add_argument("--copies", type=whole_number(0, 100), default=0,
                      help="augmented texts per training text, labelled by the teacher (default 0: none)")
    soft.add_argument("--p-ngram", type=float, default=0.25, help="chance an augmented text is an n-gram sample")
    soft.add_argument("--p-drop", type=float, default=0.1, help="word dropout's chance per word")
    soft.add_argument("--augment-seed", type=int, default=0, help="the augmentation's random draws (default 0)")
    add_job_options(distill, default_out="runs/student")
    distill.set_defaults(run=cmd_distill)


def cmd_distill(args: argparse.Namespace) -> int:
    from textclf.bundle import load_bundle
    from textclf.devices import pick_device
    from textclf.distill.job import DistillConfig, distill_job
    from textclf.distributed import launched_by_torchrun

    if launched_by_torchrun():
        raise ValueError("textclf distill runs in one process; start it without torchrun")
    config = DistillConfig(args.alpha, args.temperature, args.copies, args.p_ngram, args.p_drop, args.augment_seed)
    job = job_from_args(args)
    device = pick_device(job.train.device)
    teacher = load_bundle(args.teacher, device, job.train.precision)  # it labels in the precision the student trains in
    ds = load_from_args(args) if args.dataset else teacher.recorded_dataset("test")
    print(f"distilling {args.teacher} ({teacher.model_name}) into {args.model} on {printable(ds.name)} -> {args.out}")
    return write_bundle(args, lambda: distill_job(ds, teacher, job, config, args.out, resume=args.resume,
                                                  device=device), reads=[args.teacher])

"""Run under torchrun (2 processes) by the grading of Exercise 10.2: each process gives a small model
rank-dependent gradients, calls the learner's ``average_gradients`` and rank 0 writes what it got."""

from __future__ import annotations

import importlib.util
import json
import os
import sys

import torch
import torch.distributed as dist
from torch import nn


def main(out_path: str) -> None:
    spec = importlib.util.spec_from_file_location("learner", os.environ["TEXTCLF_EXERCISE_FILE"])
    learner = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(learner)
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    model[2].bias.requires_grad_(False)  # a parameter without a gradient must be left alone
    for i, p in enumerate(model.parameters()):
        if p.requires_grad:
            p.grad = torch.full_like(p, float(rank * 10 + i))
    try:
        learner.average_gradients(model)
        grads = {str(i): (p.grad.tolist() if p.grad is not None else None) for i, p in enumerate(model.parameters())}
        error = None
    except Exception as err:  # reported to the grader, not a hang
        grads, error = None, f"{type(err).__name__}: {err}"
    if rank == 0:
        with open(out_path, "w") as f:
            json.dump({"grads": grads, "error": error}, f)
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1])

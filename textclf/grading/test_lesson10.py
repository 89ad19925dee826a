"""Grading tests for lesson 10, checked against textclf's ShardedBatches, a real 2-process all-reduce, and
the full-batch gradient."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from textclf.distributed import ShardedBatches

# What to look at when an exercise's tests fail (textclf check prints it under "not yet"): a direction,
# never the answer.
HINTS = {
    "10.1": ("Use divmod(len(batch), world_size): the first `extra` ranks take one more; the start of rank r's "
             "slice is the sum of the sizes before it."),
    "10.2": ("all_reduce sums in place; divide by the world size afterwards; skip parameters whose .grad is None."),
    "10.3": ("Each slice gets the gradient of its own mean loss; averaging the slices' gradients equals the full "
             "batch's gradient when the slices are equal in size."),
}


BATCHES = st.lists(st.lists(st.integers(0, 999), max_size=12), max_size=8)


@pytest.mark.ex10_1
def test_shard_examples(exercise):
    batches = [[0, 1, 2, 3, 4], [5, 6], [7]]
    assert exercise.shard(batches, 2, 0) == [[0, 1, 2], [5], [7]]
    assert exercise.shard(batches, 2, 1) == [[3, 4], [6], [7]]  # [7]: a stand-in, at weight 0 in textclf
    assert exercise.shard(batches, 1, 0) == batches


@pytest.mark.ex10_1
@settings(max_examples=150, deadline=None)
@given(batches=BATCHES, world=st.integers(1, 4))
def test_shard_gives_every_rank_its_share_of_each_batch(exercise, batches, world):
    """Every rank one slice per batch; the real slices are the whole batch, in order, sizes within one."""
    per_rank = [exercise.shard(batches, world, rank) for rank in range(world)]
    assert all(len(slices) == len(batches) for slices in per_rank)
    for step, batch in zip(zip(*per_rank), batches):
        real = step[: min(world, len(batch))] if len(batch) < world else step
        assert sum(real, []) == batch
        if real:
            assert max(map(len, real)) - min(map(len, real)) <= 1
        assert all(piece == batch[:1] for piece in step[len(real):])  # the stand-ins


@pytest.mark.ex10_1
@settings(max_examples=50, deadline=None)
@given(lengths=st.lists(st.integers(1, 30), min_size=1, max_size=200), batch=st.integers(1, 6),
       world=st.integers(1, 3), rank=st.integers(0, 2), seed=st.integers(0, 3))
def test_shard_matches_textclf(exercise, lengths, batch, world, rank, seed):
    rank = rank % world
    sampler = ShardedBatches(lengths, batch, world, rank, seed)
    assert exercise.shard(sampler.sampler.batches(), world, rank) == list(sampler)


@pytest.mark.ex10_2
def test_average_gradients_in_two_real_processes(exercise, tmp_path):
    out = tmp_path / "grads.json"
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               "-m", "textclf.grading.average_gradients_worker", str(out)]
    env = {**os.environ, "TEXTCLF_EXERCISE_FILE": exercise.__file__, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, text=True, timeout=180, env=env)
    assert out.exists(), "the two processes did not finish: " + result.stderr[-800:]
    report = json.loads(out.read_text())
    assert report["error"] is None, report["error"]
    grads = report["grads"]
    # parameter i has gradient rank * 10 + i on each rank: the mean over ranks 0 and 1 is 5 + i
    for i in ("0", "1", "2"):
        assert torch.allclose(torch.tensor(grads[i]), torch.full_like(torch.tensor(grads[i]), 5.0 + int(i)))
    assert grads["3"] is None, "a parameter without a gradient must keep none"


@pytest.mark.ex10_3
@settings(max_examples=40, deadline=None)
@given(world=st.integers(1, 4), per_rank=st.integers(1, 5), seed=st.integers(0, 100))
def test_slices_give_the_full_batch_gradient(exercise, world, per_rank, seed):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3))
    inputs, labels = torch.randn(world * per_rank, 5), torch.randint(0, 3, (world * per_rank,))
    got = exercise.sliced_gradient(model, inputs, labels, world)
    model.zero_grad()
    nn.functional.cross_entropy(model(inputs), labels).backward()
    for name, p in model.named_parameters():
        assert torch.allclose(got[name], p.grad, atol=1e-6), name


@pytest.mark.ex10_3
def test_sliced_gradient_leaves_no_gradient_behind(exercise):
    model = nn.Linear(4, 2)
    exercise.sliced_gradient(model, torch.randn(6, 4), torch.tensor([0, 1, 0, 1, 1, 0]), 3)
    assert all(p.grad is None or not p.grad.any() for p in model.parameters())

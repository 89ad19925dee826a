# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     name: python3
# ---

# %% [markdown]
# # Lesson 10 — Scale out: data parallelism with torch.distributed
#
# One process trains on one batch at a time. With N processes (N GPUs, or N
# machines) each can take a different part of the batch, if they agree on the
# result. That agreement is one operation, the **all-reduce**: every process
# contributes its gradient and every process gets back their mean. This lesson
# builds it up from the bottom:
#
# 1. an all-reduce by hand, in two real processes started with `torchrun`;
# 2. why N processes x batch b train *exactly* what 1 process x batch N*b trains;
# 3. the sharded bucket sampler: the same global batches on every process;
# 4. DistributedDataParallel, and what only rank 0 may do;
# 5. `textclf train` under `torchrun`, checked against one process;
# 6. restarts after a failure, and going past one machine.
#
# Exercises: `lessons/exercises/ex10_scale_out.py` (10.1 shard the global batches,
# 10.2 average gradients with `all_reduce`, 10.3 the 1-vs-N equivalence).
# Grade with `textclf check 10`.

# %%
import inspect
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import nn

from textclf import distributed
from textclf.batching import BucketBatchSampler
from textclf.data import load_dataset
from textclf.demos import all_reduce
from textclf.distributed import ShardedBatches
from textclf.figures import BLUE, ORANGE, new_figure, show
from textclf.lesson_utils import smoke_mode, versions
from textclf.training import Hooks

print(versions())
SMOKE = smoke_mode("10")
FIGURES = "figures/10_scale_out"  # where figures go when run as a script (notebooks: inline)
print(f"{distributed.cpu_cores()} CPU cores here; CUDA: {torch.cuda.is_available()}")


def torchrun(*args: str, nproc: int = 2) -> subprocess.CompletedProcess:
    """Start ``nproc`` processes with torchrun (single node) and return what they printed."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


# %% [markdown]
# ## 1. All-reduce by hand
#
# `torchrun --nproc_per_node=2 -m textclf.demos.all_reduce` starts two Python
# processes. torchrun tells each its **rank** (0 or 1) and the **world size** (2)
# through environment variables; `init_process_group("gloo")` connects them
# (gloo is the CPU backend; on GPUs it is NCCL). Each holds its own "gradient".
# The hand-made version sends everything to rank 0, which adds and sends the sum
# back: correct, but rank 0 does N times the work. `dist.all_reduce` gives the
# same sum with a ring: every process sends and receives about two tensors'
# worth of data whatever N is.

# %%
print(inspect.getsource(all_reduce.all_reduce_by_hand))
result = torchrun("-m", "textclf.demos.all_reduce")
print("\n".join(line for line in result.stdout.splitlines() if line.startswith("rank")))
assert result.returncode == 0, result.stderr[-2000:]

# %% [markdown]
# ## 2. Why N x b is the same as 1 x N*b
#
# The loss of a batch is the *mean* over its texts, so its gradient is the mean
# of the per-text gradients. Cut a batch of N*b texts into N slices of b: the
# mean of the N slice-means is the mean over all N*b texts. So if each process
# takes one slice and the processes average their gradients (all-reduce, then
# divide by N), every process holds the full batch's gradient and takes the same
# optimizer step. Checked here in one process (Exercise 10.3 asks you to write it):

# %%
_ = torch.manual_seed(0)  # returns the generator: "_ =" keeps a notebook from printing it
toy = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 2))
inputs, labels = torch.randn(8, 6), torch.randint(0, 2, (8,))
nn.functional.cross_entropy(toy(inputs), labels).backward()
full = toy[0].weight.grad.clone()
slices = []
for rank in range(2):  # what two processes would each compute
    toy.zero_grad()
    nn.functional.cross_entropy(toy(inputs[rank * 4 : rank * 4 + 4]), labels[rank * 4 : rank * 4 + 4]).backward()
    slices.append(toy[0].weight.grad.clone())
print("max |full - mean of slices|:", float((full - (slices[0] + slices[1]) / 2).abs().max()))

# %% [markdown]
# The two conditions that make it exact: every process sees a slice of the **same
# global batch**, and each slice's mean counts by its **share** of the batch. With
# equal slices the plain average is right; a batch of 37 texts on 2 processes
# splits 19 + 18, so textclf multiplies each process's mean loss by
# `len(slice) * N / len(batch)` (`Slice.weight`) and no text is dropped. Dropout
# must also be off for a bit-for-bit comparison (each process draws its own
# dropout masks, seeded by seed, epoch and rank).
#
# ## 3. The sharded bucket sampler
#
# textclf batches texts of similar length together (lesson 1). Every process
# builds the same list of global batches from `(seed, epoch)` — no
# communication needed — each holding N x batch-size texts, and takes its slice.
# A short batch is split as evenly as it goes (sizes differ by one at most); a
# batch with fewer texts than processes gives the left-over processes one text at
# weight 0, so every process takes the same number of steps: a process that ran
# out of batches while another waits in an all-reduce would hang the job.

# %%
lengths = [5, 3, 9, 1, 7, 2, 8, 4, 6, 10, 11]
for rank in range(2):
    sampler = ShardedBatches(lengths, batch_size=2, world_size=2, rank=rank, seed=0)
    print(f"rank {rank}:", [[lengths[i] for i in b] for b in sampler])
print("global (1 process, batch 4):", [[lengths[i] for i in b] for b in BucketBatchSampler(lengths, 4, seed=0)])
print(inspect.getsource(ShardedBatches.slice_of))

# %% [markdown]
# ## 4. DistributedDataParallel, and what only rank 0 may do
#
# `DistributedDataParallel(model)` copies rank 0's weights to every process when
# it wraps the model, then all-reduces the gradients *during* `backward` (bucket
# by bucket, overlapping with the computation). textclf's `fit` stays the same
# loop; a few hooks change what scaling out needs:

# %%
print(inspect.getsource(Hooks))
print(inspect.getsource(distributed.ddp_hooks))

# %% [markdown]
# * **batches**: this rank's slice of each global batch (`ShardedBatches`);
# * **wrap**: DDP around the model for the training steps; checkpoints and the
#   bundle are written from the unwrapped model, so their keys carry no `module.`;
# * **is_writer / barrier**: only rank 0 writes checkpoints, the vocabulary and the
#   bundle, and logs; the others wait until the file is complete. Two processes
#   writing one file would corrupt it;
# * **sum_across**: the epoch's training loss is summed over the processes, so
#   the printed loss is the whole epoch's.
#
# Validation and test are scored by every process on the whole split: each text
# is counted exactly once (PyTorch's `DistributedSampler` pads the last batch
# with repeated texts, which would count some twice).
#
# ## 5. `textclf train` under torchrun
#
# The same command, started by torchrun, trains with DDP; `--batch-size` is per
# process. Two processes with batch 16 against one with batch 32, dropout off:

# %%
ds = load_dataset("rotten_tomatoes")
ds = ds.subsample(128 if SMOKE else 2000, seed=0)
work = Path(tempfile.mkdtemp(prefix="lesson10-"))
rows = [{"text": ex.text, "label": ex.label, "split": split} for split in ("train", "valid", "test")
        for ex in ds.split(split)]
(work / "reviews.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
epochs = "1" if SMOKE else "3"
common = ["train", "--dataset", str(work / "reviews.jsonl"), "--model", "cnn", "--dropout", "0",
          "--embeddings", "glove", "--epochs", epochs, "--patience", epochs, "--quiet"]

start = time.perf_counter()
two = torchrun("-m", "textclf", *common, "--batch-size", "16", "--out", str(work / "two"))
two_seconds = time.perf_counter() - start
print("\n".join(two.stdout.splitlines()[:3]))
assert two.returncode == 0, two.stderr[-2000:]
start = time.perf_counter()
one = subprocess.run([sys.executable, "-m", "textclf", *common, "--batch-size", "32", "--out", str(work / "one")],
                     capture_output=True, text=True, timeout=600)
one_seconds = time.perf_counter() - start
assert one.returncode == 0, one.stderr[-2000:]
a, b = load_file(str(work / "two" / "model.safetensors")), load_file(str(work / "one" / "model.safetensors"))
print(f"largest weight difference, 2 x 16 vs 1 x 32: {max(float((a[k] - b[k]).abs().max()) for k in a):.2e}")
print(f"wall time (process start, data, training, testing): 2 processes {two_seconds:.1f}s, "
      f"1 process {one_seconds:.1f}s")
fit_seconds = {n: json.loads((work / d / "metrics.json").read_text())["train_seconds"]
               for n, d in (("1 process x 32", "one"), ("2 processes x 16", "two"))}
fig, ax = new_figure(size=(6, 3))
ax.barh(list(fit_seconds), list(fit_seconds.values()), color=[BLUE, ORANGE])
ax.set_xlabel("training time (s), the same global batches")
ax.set_title(f"scaling on {distributed.cpu_cores()} CPU cores")
show(fig, "scaling", FIGURES)

# %% [markdown]
# The weights agree to float rounding. On a 2-core machine two processes are
# not faster: each gets one of the cores (textclf gives every process cores /
# processes threads, where torchrun alone would set one thread each), so the
# arithmetic is the same, and the all-reduce and the start-up come on top.
# `benchmarks/distributed.py` measures it. Data parallelism pays when each
# process has its own GPU, or its own machine.
#
# ## 6. Failures, restarts, and more than one machine
#
# * `torchrun --max-restarts=1 ...`: if a worker dies (a crash, an out-of-memory
#   kill), torchrun stops the others and starts them all again; textclf sees the
#   restart (`TORCHELASTIC_RESTART_COUNT`) and resumes from the last epoch's
#   checkpoint (tested: a worker killed in the middle of epoch 2 gives the same
#   final weights as a run without failure).
# * Ctrl-C or SIGTERM stops every process and leaves the checkpoint of the last
#   complete epoch; add `--resume` to go on.
# * More machines: run the same command on each, naming one rendezvous point
#   (any machine's address and a free port) and the number of machines:
#
#   ```bash
#   torchrun --nnodes=2 --nproc_per_node=4 --rdzv-backend=c10d \
#            --rdzv-endpoint=HOST:29500 --rdzv-id=myjob -m textclf train --out runs/big ...
#   ```
#
#   The bundle is written by global rank 0, on whichever machine that is: give
#   `--out` a shared folder, or collect it from there.

# %%
print("files written by rank 0:", sorted(p.name for p in (work / "two").iterdir()))
print("the one-process run printed the same table:", one.stdout.splitlines()[-1])

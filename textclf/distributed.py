"""Scale out with torch.distributed: the same training on N processes, each with its slice of every batch.

``torchrun --nproc_per_node=N -m textclf train ...`` starts N copies of ``textclf train``;
torchrun tells each its place through the environment (``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``LOCAL_WORLD_SIZE``, ``MASTER_ADDR``/``MASTER_PORT``). ``setup``
reads it and joins the process group: gloo on the CPU, NCCL on CUDA (one GPU per
process). Without torchrun there is nothing to set up and training runs in one
process, as always.

Data parallelism, the whole idea:

1. every process holds the same model (DistributedDataParallel copies rank 0's
   weights to the others when it wraps the model);
2. ``ShardedBatches`` builds the *same* global list of length-bucketed batches on
   every rank from ``(seed, epoch)``, each global batch holding N x batch-size texts,
   and gives rank r the r-th equal slice of each;
3. each process computes the gradient of the mean loss over its slice; DDP
   averages the gradients of all processes (an all-reduce) during ``backward``;
4. every process takes the same optimizer step, so the models stay identical.

Each rank's mean loss is weighted by its share of the global batch (``Slice.weight``:
slices may differ by one text, and none is dropped), so the averaged gradient is the
gradient of the mean over the whole global batch: N processes x batch b train exactly
what 1 process x batch N*b trains (``tests/test_distributed.py`` checks the weights
agree, on small data and on the bundled reviews with GloVe).

Dropout: each rank draws its own masks, seeded by ``(seed, epoch, rank)`` (rank 0 as
one process would): the same masks on every rank would repeat one pattern N times.

What only rank 0 does: write checkpoints, the vocabulary and the bundle, and log.
The others wait at a barrier after each write, so a resumed or restarted run
reads complete files. Validation and test are scored on every rank over the
whole split (each text counted exactly once; no padding samples).
"""

from __future__ import annotations

import datetime
import gc
import os
import signal
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from textclf.batching import BucketBatchSampler, EncodedDataset
from textclf.devices import cpu_cores, pick_device
from textclf.training import Hooks, TrainConfig


@dataclass(frozen=True)
class Cluster:
    """This process's place among the training processes."""

    rank: int
    world_size: int
    local_rank: int
    local_world_size: int
    backend: str
    device: torch.device
    threads: int

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def describe(self) -> str:
        return (f"{self.world_size} processes ({self.local_world_size} on this node), backend {self.backend}, "
                f"device {self.device}, {self.threads} CPU threads each")


def env_int(name: str, default: int | None = None, low: int = 0) -> int:
    """A whole number from the environment torchrun sets; a missing or bad one is a ``ValueError`` naming it."""
    value = os.environ.get(name)
    if value is None:
        if default is None:
            raise ValueError(f"WORLD_SIZE={os.environ.get('WORLD_SIZE')} but {name} is not set; start the processes "
                             "with torchrun (it sets RANK, LOCAL_RANK, MASTER_ADDR, ...), or unset WORLD_SIZE")
        return default
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or number < low:
        raise ValueError(f"environment variable {name}={value!r}: expected a whole number >= {low} (torchrun "
                         "sets it)") from None
    return number


def launched_by_torchrun() -> bool:
    return "TORCHELASTIC_RUN_ID" in os.environ or env_int("WORLD_SIZE", 1, low=1) > 1


def is_quiet_rank() -> bool:
    """A worker torchrun started, other than rank 0: it does not print errors every rank would print alike
    (rank 0 does). A process started by hand with RANK=1 is not quiet: nobody else would tell."""
    return "TORCHELASTIC_RUN_ID" in os.environ and os.environ.get("RANK", "0") != "0"


def restart_count() -> int:
    """How often torchrun has restarted the workers (``--max-restarts``): after a failure, resume."""
    return env_int("TORCHELASTIC_RESTART_COUNT", 0)


# Seconds every process waits for the others to join (TEXTCLF_RENDEZVOUS_SECONDS): a missing peer is an
# error after this long, not a wait forever.
RENDEZVOUS_SECONDS = 120


def setup(device: str = "auto", threads: int | None = None) -> Cluster | None:
    """Join the process group torchrun describes (None for a process not started by torchrun: nothing to do).
    torchrun with one process joins a group of one, so its backend (NCCL on a GPU) is the one N processes use.

    Device: each process on a GPU of its own (``cuda:LOCAL_RANK``); ``auto`` uses the CPU (gloo) where this node
    has fewer GPUs than processes, and ``cuda`` asked for there is an error.

    Threads: torchrun sets ``OMP_NUM_THREADS=1`` when a node runs more than one process; each process
    gets cores / local processes threads instead (or ``threads``, ``--threads``), so the cores are shared
    out, not left idle.
    """
    world_size = env_int("WORLD_SIZE", 1, low=1)
    if not launched_by_torchrun():
        return None
    rank, local_rank = env_int("RANK"), env_int("LOCAL_RANK", 0)
    if rank >= world_size:
        raise ValueError(f"RANK={rank} is not below WORLD_SIZE={world_size}; expected ranks 0..{world_size - 1}")
    local_world_size = env_int("LOCAL_WORLD_SIZE", world_size, low=1)
    chosen = pick_device(device)
    if chosen.type == "cuda" and torch.cuda.device_count() < local_world_size:
        if device != "auto":
            raise ValueError(f"--device {device}: {local_world_size} processes on this node but "
                             f"{torch.cuda.device_count()} GPU(s); expected one GPU per process (or --device cpu)")
        chosen = torch.device("cpu")  # auto: more processes than GPUs here, so they share the CPU cores instead
    if chosen.type == "cuda":
        chosen = torch.device("cuda", local_rank)
        torch.cuda.set_device(chosen)
    backend = "nccl" if chosen.type == "cuda" else "gloo"
    threads = threads or max(1, cpu_cores() // local_world_size)
    torch.set_num_threads(threads)
    if not dist.is_initialized():
        join_group(backend, rank, world_size)
    signal.signal(signal.SIGTERM, interrupt)  # torchrun stops workers with SIGTERM: end like Ctrl-C
    return Cluster(rank, world_size, local_rank, local_world_size, backend, chosen, threads)


def join_group(backend: str, rank: int, world_size: int) -> None:
    """``init_process_group`` through the store torchrun names, under a key prefix per restart attempt: after
    ``--max-restarts`` restarts the workers, the store still holds the dead workers' addresses, and a new
    group reading them would try to connect to processes that are gone (pytorch/pytorch#167288)."""
    seconds = env_int("TEXTCLF_RENDEZVOUS_SECONDS", RENDEZVOUS_SECONDS, low=1)
    timeout = datetime.timedelta(seconds=seconds)
    try:
        store, _, _ = next(dist.rendezvous("env://", rank, world_size, timeout=timeout))
        prefixed = dist.PrefixStore(f"textclf/attempt-{restart_count()}", store)
        dist.init_process_group(backend, store=prefixed, rank=rank, world_size=world_size, timeout=timeout)
    except (RuntimeError, ValueError) as err:  # torch's DistStoreError, DistNetworkError, a missing MASTER_ADDR
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        where = f"{os.environ.get('MASTER_ADDR', '?')}:{os.environ.get('MASTER_PORT', '?')}"
        raise RuntimeError(f"rank {rank} of {world_size} could not join the others at {where} within {seconds} s "
                           f"({first[:200]}); start every process (torchrun does), or raise "
                           "TEXTCLF_RENDEZVOUS_SECONDS") from None


def interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def teardown() -> None:
    """Leave the process group cleanly. The DDP wrapper's reducer holds gloo work objects in reference cycles;
    left to the interpreter's final clean-up they could be destroyed after the group is gone, and a process
    that had finished its work would abort ("terminate called without an active exception"). So: collect
    them now, wait for every rank, then destroy the group."""
    if dist.is_initialized():
        gc.collect()
        dist.barrier()
        dist.destroy_process_group()


class Slice(list):
    """One rank's share of a global batch (a list of text indices) and how its loss is weighted.

    ``weight = len(slice) * world_size / len(global batch)``: DDP averages the ranks' gradients, so a rank's
    mean loss times this weight makes the average exactly the gradient of the mean over the whole global
    batch, even when the slices differ in size. ``counted``: the texts that count in the reported loss (0 for
    the stand-in a rank gets when a global batch has fewer texts than ranks: one text at weight 0, so that
    the rank still joins the all-reduce)."""

    def __init__(self, indices: list[int], weight: float, counted: int):
        super().__init__(indices)
        self.weight, self.counted = weight, counted


class ShardedBatches:
    """Rank ``rank``'s slice of every global batch; the global batches are the same on every rank.

    The global batches come from ``BucketBatchSampler(lengths, batch_size * world_size, seed)`` for the
    epoch set with ``set_epoch`` — exactly the batches one process with ``batch_size * world_size`` trains
    on. Each is cut into ``world_size`` slices as equal as they can be (sizes differ by at most one text)
    and no text is dropped; each slice carries its loss weight (``Slice``), so N processes x batch b take
    exactly the steps of 1 process x batch N*b. Every rank takes the same number of steps: none waits
    forever in an all-reduce the others never join.
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, world_size: int, rank: int, seed: int = 0):
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not in 0..{world_size - 1}")
        self.world_size, self.rank = world_size, rank
        self.sampler = BucketBatchSampler(lengths, batch_size * world_size, seed=seed)

    def set_epoch(self, epoch: int) -> None:
        self.sampler.set_epoch(epoch)

    def global_batches(self) -> list[list[int]]:
        """The batches of all ranks together: the single-process batches of ``batch_size * world_size``."""
        return self.sampler.batches()

    def slice_of(self, batch: list[int], rank: int) -> Slice:
        """Rank ``rank``'s share of ``batch``: the first ``len % world_size`` ranks take one text more."""
        share, extra = divmod(len(batch), self.world_size)
        start = rank * share + min(rank, extra)
        indices = batch[start : start + share + (rank < extra)]
        if not indices:  # fewer texts than ranks: a stand-in that adds nothing to the gradient
            return Slice(batch[:1], 0.0, 0)
        return Slice(indices, len(indices) * self.world_size / len(batch), len(indices))

    def __iter__(self) -> Iterator[Slice]:
        for batch in self.global_batches():
            yield self.slice_of(batch, self.rank)

    def __len__(self) -> int:
        return len(self.sampler)


def ddp_hooks(cluster: Cluster) -> Hooks:
    """``fit``'s hooks for DistributedDataParallel on ``cluster``."""
    def batches(train: EncodedDataset, config: TrainConfig) -> ShardedBatches:
        return ShardedBatches(train.lengths, config.batch_size, cluster.world_size, cluster.rank, config.seed)

    def wrap(module: nn.Module) -> nn.Module:  # the model's TrainingLoss: DDP sees the whole training step
        ids = [cluster.device.index] if cluster.device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(module, device_ids=ids)

    def sum_across(tensor: torch.Tensor) -> torch.Tensor:
        tensor = tensor.clone()
        dist.all_reduce(tensor)
        return tensor

    return Hooks(batches=batches, wrap=wrap, is_writer=cluster.is_main, barrier=dist.barrier, sum_across=sum_across,
                 rank=cluster.rank, weight=lambda part: part.weight, counted=lambda part: part.counted)

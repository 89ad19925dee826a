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

Averaging N equal-sized slices' mean gradients is the gradient of the mean over
the whole global batch: N processes x batch b train exactly what 1 process x batch
N*b trains (``tests/test_distributed.py`` checks the weights agree).

What only rank 0 does: write checkpoints, the vocabulary and the bundle, and log.
The others wait at a barrier after each write, so a resumed or restarted run
reads complete files. Validation and test are scored on every rank over the
whole split (each text counted exactly once; no padding samples).
"""

from __future__ import annotations

import gc
import os
import signal
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from textclf.batching import BucketBatchSampler, EncodedDataset
from textclf.devices import pick_device
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


def launched_by_torchrun() -> bool:
    return "TORCHELASTIC_RUN_ID" in os.environ or int(os.environ.get("WORLD_SIZE", "1")) > 1


def restart_count() -> int:
    """How often torchrun has restarted the workers (``--max-restarts``): after a failure, resume."""
    return int(os.environ.get("TORCHELASTIC_RESTART_COUNT", "0"))


def cpu_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def setup(device: str = "auto") -> Cluster | None:
    """Join the process group torchrun describes (None when there is one process: nothing to do).

    Threads: torchrun sets ``OMP_NUM_THREADS=1`` when a node runs more than one process; each process
    gets cores / local processes threads instead, so the cores are shared out, not left idle.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return None
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    local_world_size = int(os.environ.get("LOCAL_WORLD_SIZE", str(world_size)))
    chosen = pick_device(device)
    if chosen.type == "cuda":
        chosen = torch.device("cuda", local_rank)
        torch.cuda.set_device(chosen)
    backend = "nccl" if chosen.type == "cuda" else "gloo"
    threads = max(1, cpu_cores() // local_world_size)
    torch.set_num_threads(threads)
    if not dist.is_initialized():
        join_group(backend, rank, world_size)
    signal.signal(signal.SIGTERM, interrupt)  # torchrun stops workers with SIGTERM: end like Ctrl-C
    return Cluster(rank, world_size, local_rank, local_world_size, backend, chosen, threads)


def join_group(backend: str, rank: int, world_size: int) -> None:
    """``init_process_group`` through the store torchrun names, under a key prefix per restart attempt: after
    ``--max-restarts`` restarts the workers, the store still holds the dead workers' addresses, and a new
    group reading them would try to connect to processes that are gone (pytorch/pytorch#167288)."""
    store, _, _ = next(dist.rendezvous("env://", rank, world_size))
    prefixed = dist.PrefixStore(f"textclf/attempt-{restart_count()}", store)
    dist.init_process_group(backend, store=prefixed, rank=rank, world_size=world_size)


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


class ShardedBatches:
    """Rank ``rank``'s slice of every global batch; the global batches are the same on every rank.

    The global batches come from ``BucketBatchSampler(lengths, batch_size * world_size, seed)`` for the
    epoch set with ``set_epoch``. Each is cut into ``world_size`` equal slices of ``len // world_size``
    texts (a last, short global batch loses at most ``world_size - 1`` texts that epoch; one with fewer
    texts than processes is skipped), so every rank takes the same number of steps: none waits forever
    in an all-reduce the others never join.
    """

    def __init__(self, lengths: Sequence[int], batch_size: int, world_size: int, rank: int, seed: int = 0):
        if not 0 <= rank < world_size:
            raise ValueError(f"rank {rank} is not in 0..{world_size - 1}")
        self.world_size, self.rank = world_size, rank
        self.sampler = BucketBatchSampler(lengths, batch_size * world_size, seed=seed)

    def set_epoch(self, epoch: int) -> None:
        self.sampler.set_epoch(epoch)

    def global_batches(self) -> list[list[int]]:
        """The batches of all ranks together, each trimmed to a multiple of ``world_size``."""
        batches = self.sampler.batches()
        return [b[: len(b) // self.world_size * self.world_size] for b in batches if len(b) >= self.world_size]

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self.global_batches():
            share = len(batch) // self.world_size
            yield batch[self.rank * share : (self.rank + 1) * share]

    def __len__(self) -> int:
        return len(self.global_batches())


def ddp_hooks(cluster: Cluster) -> Hooks:
    """``fit``'s hooks for DistributedDataParallel on ``cluster``."""
    def batches(train: EncodedDataset, config: TrainConfig) -> ShardedBatches:
        return ShardedBatches(train.lengths, config.batch_size, cluster.world_size, cluster.rank, config.seed)

    def wrap(model: nn.Module) -> nn.Module:
        ids = [cluster.device.index] if cluster.device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(model, device_ids=ids)

    def sum_across(tensor: torch.Tensor) -> torch.Tensor:
        tensor = tensor.clone()
        dist.all_reduce(tensor)
        return tensor

    return Hooks(batches=batches, wrap=wrap, is_writer=cluster.is_main, barrier=dist.barrier, sum_across=sum_across)

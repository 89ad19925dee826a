"""All-reduce by hand, then torch.distributed's: run with ``torchrun --nproc_per_node=2 -m textclf.demos.all_reduce``.

Each process holds its own "gradient" (here a small tensor that depends on its rank). Data
parallelism needs every process to end with the *sum* (then the mean) of all of them.

``all_reduce_by_hand`` does it with point-to-point messages only: every rank sends its tensor
to rank 0, rank 0 adds them up and sends the sum back to everyone. It is correct, but rank 0
does all the work and receives N tensors: the time grows with N. ``dist.all_reduce`` gives the
same result with a ring (or tree) algorithm in which every process sends and receives about
two tensors' worth of data, whatever N is: that is why DDP uses it.
"""

from __future__ import annotations

import torch
import torch.distributed as dist


def all_reduce_by_hand(tensor: torch.Tensor) -> torch.Tensor:
    """The sum of ``tensor`` over all processes, on every process, with send/recv only."""
    rank, world = dist.get_rank(), dist.get_world_size()
    if rank == 0:
        total = tensor.clone()
        for other in range(1, world):
            incoming = torch.empty_like(tensor)
            dist.recv(incoming, src=other)  # wait for rank `other`'s tensor
            total += incoming
        for other in range(1, world):
            dist.send(total, dst=other)
        return total
    dist.send(tensor, dst=0)
    total = torch.empty_like(tensor)
    dist.recv(total, src=0)
    return total


def main() -> None:
    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    gradient = torch.arange(4, dtype=torch.float32) + 10 * rank  # this process's own "gradient"
    by_hand = all_reduce_by_hand(gradient)
    built_in = gradient.clone()
    dist.all_reduce(built_in)  # in place: the sum over all processes
    print(f"rank {rank}/{world}: mine {gradient.tolist()} -> by hand {by_hand.tolist()}, "
          f"dist.all_reduce {built_in.tolist()}, mean {(built_in / world).tolist()}", flush=True)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()

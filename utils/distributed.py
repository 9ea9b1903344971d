"""torchrun / DistributedDataParallel, detected from the environment torchrun sets.

One process per device (``torchrun --standalone --nproc_per_node=N run.py ...``): gloo on CPU,
nccl on CUDA. Every rank trains on its shard of each epoch's shuffled order; validation and test
windows are split across ranks and their logits gathered back in order, so every rank computes
the same metrics and takes the same early-stopping decision, and the test set is scored once,
whole. Only rank 0 prints and writes files.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist


@dataclass
class DistState:
    enabled: bool = False
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0


STATE = DistState()


def init_from_env(use_gpu: bool, requested: bool = False) -> DistState:
    """Join the process group torchrun describes (WORLD_SIZE, RANK, LOCAL_RANK, MASTER_ADDR/PORT)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1 and not requested:
        return STATE
    if "RANK" not in os.environ:
        from utils.errors import UserError

        raise UserError("--ddp: start the run with torchrun, e.g. torchrun --standalone --nproc_per_node=2 run.py ...")
    cuda = use_gpu and torch.cuda.is_available()
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if cuda:
        torch.cuda.set_device(local_rank)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if cuda else "gloo")
    # mutate the shared object: modules hold references to it from their imports
    STATE.enabled, STATE.rank, STATE.world, STATE.local_rank = True, dist.get_rank(), dist.get_world_size(), local_rank
    return STATE


def shutdown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def barrier() -> None:
    if STATE.enabled:
        dist.barrier()


def shard(order: torch.Tensor, pad: bool) -> torch.Tensor:
    """This rank's part of ``order``. ``pad`` (training) repeats the start so every rank gets the
    same number of windows, as DistributedSampler does; inference shards are not padded."""
    if not STATE.enabled:
        return order
    if pad:
        per_rank = -(-len(order) // STATE.world)
        order = torch.cat([order, order[: per_rank * STATE.world - len(order)]])
    return order[STATE.rank::STATE.world]


def gather_rows(positions: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Put every rank's ``values`` (rows for ``positions``) back together into [n, ...] in order."""
    if not STATE.enabled:
        return values
    parts = [None] * STATE.world
    dist.all_gather_object(parts, (positions, values))
    filled = [vals for pos, vals in parts if len(pos)]
    out = np.empty((n,) + filled[0].shape[1:], dtype=filled[0].dtype)
    for pos, vals in parts:
        if len(pos):
            out[pos] = vals
    return out


def sum_all(*numbers: float) -> list[float]:
    if not STATE.enabled:
        return list(numbers)
    t = torch.tensor(numbers, dtype=torch.float64)
    dist.all_reduce(t)
    return t.tolist()


def all_objects(obj) -> list:
    if not STATE.enabled:
        return [obj]
    parts = [None] * STATE.world
    dist.all_gather_object(parts, obj)
    return parts

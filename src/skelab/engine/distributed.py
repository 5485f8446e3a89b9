"""Distributed runs under `torchrun`: rank and world size from the environment.

`torchrun --nproc-per-node 2 "$(command -v skelab)" train ...` sets RANK, WORLD_SIZE and
LOCAL_RANK; the trainer then joins a process group (NCCL on CUDA, gloo on CPU), wraps the model
in DistributedDataParallel, gives each rank its shard of the data (`BatchLoader(rank=,
world_size=)`), and lets only rank 0 write files or log progress. `train.batch_size` is the
global batch: each rank takes batch_size / world_size samples per step.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from skelab.engine.bnstats import batchnorm_layers
from skelab.errors import SkelabError


@dataclass(frozen=True)
class DistInfo:
    """This process's place in the run; (0, 1, 0) for a plain single-process run."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def dist_from_env() -> DistInfo:
    """Read RANK / WORLD_SIZE / LOCAL_RANK as torchrun sets them."""
    try:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", str(rank)))
    except ValueError as exc:
        raise SkelabError(
            f"bad distributed environment ({exc})",
            fix="launch with torchrun, which sets RANK, WORLD_SIZE and LOCAL_RANK",
        ) from None
    return DistInfo(rank=rank, world_size=world, local_rank=local)


def init_distributed(info: DistInfo, device: torch.device) -> None:
    """Join the process group once (no-op for a single process or when already joined)."""
    if not info.enabled or dist.is_initialized():
        return
    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend=backend, rank=info.rank, world_size=info.world_size)


def barrier(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.barrier()


def all_gather_objects(obj: Any, info: DistInfo) -> list[Any]:
    """Every rank's `obj` (in-memory only; nothing is written to disk)."""
    if not info.enabled:
        return [obj]
    out: list[Any] = [None] * info.world_size
    dist.all_gather_object(out, obj)
    return out


def all_reduce_sum(values: torch.Tensor, info: DistInfo) -> torch.Tensor:
    if info.enabled:
        dist.all_reduce(values, op=dist.ReduceOp.SUM)
    return values


def mean_over_ranks(
    sums: dict[str, Any], count: float, info: DistInfo, *, device: torch.device
) -> tuple[dict[str, float], float]:
    """({name: total over ranks / total count}, total count) from per-rank sums and counts,
    in one float64 all-reduce."""
    names = sorted(sums)
    totals = torch.stack(
        [torch.as_tensor(sums[k], dtype=torch.float64).to("cpu") for k in names]
        + [torch.tensor(float(count), dtype=torch.float64)]
    )
    totals = all_reduce_sum(totals.to(device), info).cpu()
    total = float(totals[-1])
    means = {k: float(v) / total for k, v in zip(names, totals[:-1].tolist(), strict=True)}
    return means, total


def average_batchnorm_over_ranks(model: nn.Module, info: DistInfo) -> None:
    """Every BatchNorm's running mean and variance set to their average over the processes
    (recomputed statistics differ per rank, each from its own shard), in one all-reduce."""
    if not info.enabled:
        return
    stats = [t for m in batchnorm_layers(model) for t in (m.running_mean, m.running_var)]
    if not stats:
        return
    flat = all_reduce_sum(torch.cat([t.reshape(-1).double() for t in stats]), info)
    flat /= info.world_size
    for t, part in zip(stats, flat.split([t.numel() for t in stats]), strict=True):
        t.copy_(part.view_as(t))


def sync_batchnorm(model: nn.Module, info: DistInfo, device: torch.device) -> nn.Module:
    """`model` with every BatchNorm turned into `torch.nn.SyncBatchNorm` (`train.sync_bn`), so a
    DDP run normalises with the statistics of the global batch, as one process would. Without
    DDP there is nothing to synchronise and the model is returned as it is."""
    if not info.enabled:
        return model
    if device.type != "cuda":
        raise SkelabError(
            f"train.sync_bn needs CUDA devices; this run uses {device.type} "
            "(torch's SyncBatchNorm runs on GPUs only)",
            fix="--set train.sync_bn=false, or run on GPUs (--set train.device=cuda)",
        )
    return nn.SyncBatchNorm.convert_sync_batchnorm(model)

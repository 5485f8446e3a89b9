"""`BatchLoader`: batches from a `SkeletonDataset`, read frame by frame and transformed on device.

Per batch: the transform's `plan()` turns the batch's valid lengths into the source frames it
needs (two per output frame, plus SkateFormer's AdaIN reference frames); only those frames are
read from the memmap (600 contiguous bytes each in a prepared folder), then moved to the
device and turned into the window there by `apply()`.

Prefetching (`prefetch` batches ahead): background threads plan and read the next batches
while the current one is used, and `apply()` runs on the device in the calling thread. The
default is 2 on an accelerator and 0 on the CPU: there the data work (about 2.4 ms per batch of
64) is small beside a model step, and a background thread only competes with torch's threads
for the cores; on the idle 2-core benchmark machine `prefetch=0` gave 30,300 samples/s against
16,900 with 2 (benchmarks/results/loader_ntu.md). With `prefetch > 0` on a CPU device the
threads run `apply()` too. `workers` sets how many threads run (default 1). No worker
process exists, so nothing ever copies the array.

Order and randomness depend only on (seed, epoch, rank, world_size): the shuffle is a
permutation seeded by (seed, epoch), and batch k's transform draws come from a
`torch.Generator` seeded by (seed, epoch, rank, k), so a run resumed at epoch e sees exactly the
batches an uninterrupted run sees. (The contract names (seed, epoch, batch); the rank is mixed
in too so that DDP ranks do not share crop and rotation draws.)

DDP sharding: training (shuffle + drop_last) cuts the permutation to a multiple of world_size
and gives rank r every world_size-th sample from r, so all ranks run the same number of
batches. Evaluation (no shuffle) gives rank r samples r, r + world_size, ... with no padding,
so every sample is scored exactly once across ranks (counts may differ by one batch).
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from skelab.data.dataset import SkeletonDataset
from skelab.data.transforms import BatchTransform, SamplePlan
from skelab.errors import ConfigError


@dataclass
class Batch:
    x: Tensor  # (B, 3, W, V, 2) float32 on the loader's device
    y: Tensor  # (B,) int64
    index: Tensor  # (B,) int64 sample positions in the split
    index_t: Tensor | None  # (B, W) float32 (skateformer style), else None
    joint: Tensor | None = None  # (B, 3, W, V, 2) raw joints (blockgcn style), else None


@dataclass
class _Staged:
    """A batch read on the CPU by the background thread, waiting for `apply` on the device."""

    index: np.ndarray
    frames: Tensor  # (B, S, C, V, M) the plan's source frames, or (B, 3, T, V, M) without plan
    plan: SamplePlan | None
    generator: torch.Generator
    done: Batch | None = None  # already transformed (CPU device)


def _seed(*parts: int) -> int:
    """A 63-bit seed hashed from integers (BLAKE2b: well mixed, a few microseconds, where
    NumPy's SeedSequence took about 30 us per batch)."""
    data = b"".join(int(p).to_bytes(16, "little", signed=True) for p in parts)
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little") >> 1


class BatchLoader:
    """Iterate `Batch`es of a dataset split; see the module docstring for order and sharding."""

    def __init__(
        self,
        dataset: SkeletonDataset,
        *,
        batch_size: int,
        train: bool,
        transform: BatchTransform | None = None,
        device: str | torch.device = "cpu",
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
        shuffle: bool | None = None,
        drop_last: bool | None = None,
        prefetch: int | None = None,
        pin_memory: bool | None = None,
        workers: int = 1,
    ) -> None:
        if batch_size < 1:
            raise ConfigError(
                "batch_size",
                f"must be >= 1, got {batch_size}",
                fix=(
                    "--set train.batch_size=64 (under DDP at least one sample per process)"
                    if train
                    else "--set train.test_batch_size=64"
                )
                + " (from Python: BatchLoader(..., batch_size=64))",
            )
        if not 0 <= rank < world_size:
            raise ConfigError(
                "rank",
                f"needs 0 <= rank < world_size, got {rank}/{world_size}",
                fix="pass rank=torch.distributed.get_rank() and "
                "world_size=torch.distributed.get_world_size(), or leave both out",
            )
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.train = train
        self.transform = transform
        self.device = torch.device(device)
        self.seed, self.rank, self.world_size = int(seed), int(rank), int(world_size)
        self.shuffle = train if shuffle is None else shuffle
        self.drop_last = train if drop_last is None else drop_last
        if prefetch is None:
            prefetch = 0 if self.device.type == "cpu" else 2
        self.prefetch = max(0, int(prefetch))
        if workers < 1:
            raise ConfigError(
                "workers",
                f"must be >= 1, got {workers}",
                fix="BatchLoader(..., workers=1): 1 (the default) or more prefetch threads",
            )
        self.workers = int(workers)
        self.pin_memory = self.device.type == "cuda" if pin_memory is None else pin_memory
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def _shard(self) -> np.ndarray:
        n = len(self.dataset)
        if self.shuffle:
            order = np.random.default_rng([self.seed, self.epoch]).permutation(n)
        else:
            order = np.arange(n)
        if self.world_size > 1:
            if self.drop_last:
                order = order[: n // self.world_size * self.world_size]
            order = order[self.rank :: self.world_size]
        return order

    def batches(self) -> list[np.ndarray]:
        """This rank's sample indices, batch by batch, for the current epoch."""
        order = self._shard()
        stop = len(order) - len(order) % self.batch_size if self.drop_last else len(order)
        return [order[i : i + self.batch_size] for i in range(0, stop, self.batch_size)]

    def __len__(self) -> int:
        n = len(self._shard())
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    # ---------------------------------------------------------------------------------------

    def _stage(self, k: int, index: np.ndarray) -> _Staged:
        """Plan and read batch k on the CPU, and transform it there when the device is the CPU
        (runs in a background thread)."""
        ds = self.dataset
        g = torch.Generator().manual_seed(_seed(self.seed, self.epoch, self.rank, k))
        if self.transform is None:
            order = np.argsort(index)
            x = np.empty((len(index), *ds.x.shape[1:]), np.float32)
            x[order] = ds.x[index[order]]
            frames = torch.from_numpy(x)
            return _Staged(index, self._pin(frames), None, g)
        plan = self.transform.plan(ds.lengths[index], g, ds.y[index])
        t = ds.num_frames
        samples = index[plan.rows.numpy()]  # (B, S) sample positions in the split
        frames = plan.frames.numpy()
        if frames.max(initial=0) < t:
            buf = ds.read_frames(samples, frames)  # (B*S, C, V, M)
        else:  # SkateFormer's test crop can reach one frame past the valid ones: read zeros
            buf = ds.read_frames(samples, np.minimum(frames, t - 1))
            buf[(frames >= t).ravel()] = 0
        src = torch.from_numpy(buf).view(*frames.shape, *buf.shape[1:])
        staged = _Staged(index, self._pin(src), plan, g)
        if self.device.type == "cpu":
            staged.done = self._finish(staged)
        return staged

    def _pin(self, t: Tensor) -> Tensor:
        return t.pin_memory() if self.pin_memory else t

    def _finish(self, s: _Staged) -> Batch:
        """Move a staged batch to the device and transform it there."""
        if s.done is not None:
            return s.done
        dev, ds = self.device, self.dataset
        nb = self.pin_memory
        y = torch.from_numpy(ds.y[s.index]).to(dev, non_blocking=nb)
        index = torch.from_numpy(np.asarray(s.index, dtype=np.int64)).to(dev, non_blocking=nb)
        frames = s.frames.to(dev, non_blocking=nb)
        if s.plan is None:
            return Batch(frames, y, index, None)
        out = self.transform.apply(frames, s.plan, s.generator)
        return Batch(out.x, y, index, out.index_t, out.joint)

    def __iter__(self) -> Iterator[Batch]:
        batches = self.batches()
        if self.prefetch == 0:
            for k, index in enumerate(batches):
                yield self._finish(self._stage(k, index))
            return
        pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="skelab-prefetch")
        pending: deque[Future] = deque()
        try:
            for k, index in enumerate(batches):
                pending.append(pool.submit(self._stage, k, index))
                if len(pending) > self.prefetch:
                    yield self._finish(pending.popleft().result())
            while pending:
                yield self._finish(pending.popleft().result())
        finally:
            for f in pending:
                f.cancel()
            pool.shutdown(wait=True, cancel_futures=True)

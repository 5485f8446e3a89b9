"""Tiny in-test data, loaders and models for the engine tests (no test functions here).

`TinyLoader` follows `skelab.data.BatchLoader`'s contract: batches of (x, y, index, index_t),
an order that depends only on (seed, epoch), `set_epoch`, `len`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from skelab.engine.config import Config
from skelab.engine.configfile import from_dict


@dataclass
class TinyBatch:
    x: Tensor
    y: Tensor
    index: Tensor
    index_t: Tensor | None = None


class TinyLoader:
    """Shuffled, drop-last batches for training; ordered, complete batches for testing."""

    def __init__(
        self,
        x: Tensor,
        y: Tensor,
        *,
        batch_size: int,
        train: bool,
        seed: int = 0,
        with_index_t: bool = False,
    ) -> None:
        self.x, self.y, self.batch_size, self.train, self.seed = x, y, batch_size, train, seed
        self.with_index_t = with_index_t
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        n = len(self.y)
        return n // self.batch_size if self.train else -(-n // self.batch_size)

    def __iter__(self):
        n = len(self.y)
        if self.train:
            g = torch.Generator().manual_seed(self.seed * 1000 + self.epoch)
            order = torch.randperm(n, generator=g)
        else:
            order = torch.arange(n)
        for b in range(len(self)):
            idx = order[b * self.batch_size : (b + 1) * self.batch_size]
            t = self.x.shape[2]
            index_t = torch.arange(t, dtype=torch.float32).expand(len(idx), t).clone()
            yield TinyBatch(self.x[idx], self.y[idx], idx, index_t if self.with_index_t else None)


def tiny_data(
    n: int = 48, classes: int = 4, frames: int = 8, seed: int = 0
) -> tuple[Tensor, Tensor]:
    """Separable NTU-shaped clips (N, 3, T, 25, 2): each class shifts one coordinate."""
    g = torch.Generator().manual_seed(seed)
    y = torch.arange(n) % classes
    x = 0.3 * torch.randn(n, 3, frames, 25, 2, generator=g)
    x[:, 0] += (y.float() - classes / 2)[:, None, None, None]
    return x, y


class PoolNet(nn.Module):
    """A model with no batch statistics: pooled joints -> linear (dropout optional)."""

    def __init__(self, num_classes: int = 4, dropout: float = 0.0) -> None:
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.fc = nn.Linear(3 * 25, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        n = x.shape[0]
        return self.fc(self.drop(x.mean(dim=(2, 4)).reshape(n, -1)))  # (N, C·V) -> (N, K)


class AuxNet(PoolNet):
    """Like PoolNet, plus an auxiliary loss (weight norm), as Hyper-GCN exposes one."""

    def forward(self, x: Tensor) -> Tensor:
        out = super().forward(x)
        self._aux = 0.01 * self.fc.weight.pow(2).sum()
        return out

    def auxiliary_losses(self) -> dict[str, Tensor]:
        return {"weight_norm": self._aux}


class IndexTNet(PoolNet):
    """Needs frame positions: records the index_t it was given."""

    def forward(self, x: Tensor, index_t: Tensor | None = None) -> Tensor:
        assert index_t is not None and index_t.shape == x.shape[:1] + x.shape[2:3]
        return super().forward(x) + 0.0 * index_t.sum()


def tiny_config(**sections: dict) -> Config:
    """A CPU config for tiny runs; `sections` override, e.g. train={"epochs": 3}."""
    raw = {
        "name": "tiny",
        "model": {"name": "mlp", "options": {"segments": 2, "hidden": [16], "dropout": 0.3}},
        "data": {"num_classes": 4, "window": 8},
        "train": {"epochs": 3, "batch_size": 8, "test_batch_size": 16, "device": "cpu", "seed": 3},
        "optim": {"lr": 0.05, "weight_decay": 1e-4},
        "sched": {"name": "step", "warmup_epochs": 1, "milestones": [2]},
    }
    for key, value in sections.items():
        raw[key] = {**raw.get(key, {}), **value}
    return from_dict(raw)


def tiny_loaders(cfg: Config, *, n_train: int = 48, n_test: int = 20, with_index_t: bool = False):
    x, y = tiny_data(n_train, cfg.data.num_classes, cfg.data.window, seed=0)
    xt, yt = tiny_data(n_test, cfg.data.num_classes, cfg.data.window, seed=1)
    train = TinyLoader(
        x,
        y,
        batch_size=cfg.train.batch_size,
        train=True,
        seed=cfg.train.seed,
        with_index_t=with_index_t,
    )
    test = TinyLoader(
        xt, yt, batch_size=cfg.train.test_batch_size, train=False, with_index_t=with_index_t
    )
    return train, test

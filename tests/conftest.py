"""Shared test fixtures; plain helpers live in `shared_refs.py`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from shared_refs import GOLDEN, REAL_DATA, require


@pytest.fixture
def golden_dir() -> Path:
    return require(GOLDEN)


@pytest.fixture
def real_data_dir() -> Path:
    return require(REAL_DATA)


@pytest.fixture(autouse=True)
def _deterministic_torch():
    torch.manual_seed(0)
    yield


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory) -> Path:
    """5-D layout NPZ: 4 separable classes, 48 train and 16 test clips of 12 frames."""
    path = tmp_path_factory.mktemp("tiny_data") / "tiny.npz"
    rng = np.random.default_rng(0)

    def split(n):
        y = np.arange(n) % 4
        x = 0.2 * rng.standard_normal((n, 3, 12, 25, 2)).astype(np.float32)
        x[:, 0] += (y - 1.5)[:, None, None, None]
        return x, y.astype(np.int64)

    (xtr, ytr), (xte, yte) = split(48), split(16)
    np.savez(path, x_train=xtr, y_train=ytr, x_test=xte, y_test=yte, num_classes=np.int64(4))
    return path


@pytest.fixture(scope="session")
def tiny_config(tiny_data):
    """`tiny_config(*overrides)`: ntu60-xsub/mlp-joint cut down to tiny_data (2 epochs of 5
    steps, data.holdout 0.25, CPU), then `overrides` (`key=value` strings)."""
    from skelab.engine.presets import load_config

    base = [
        f"data.path={tiny_data}",
        "data.num_classes=4",
        "data.window=8",
        "data.holdout=0.25",
        "model.options={segments: 2, hidden: [16]}",
        "train.epochs=2",
        "train.batch_size=8",
        "train.test_batch_size=8",
        "train.device=cpu",
    ]
    return lambda *overrides: load_config("ntu60-xsub/mlp-joint", [*base, *overrides])


@pytest.fixture(scope="session")
def trained_runs(tmp_path_factory, tiny_config) -> tuple[Path, Path]:
    """Two tiny trained run folders (mlp, 2 epochs, data.holdout 0.25, seeds 1 and 2) on the
    same data: for the commands that take a trained model (eval, predict, export, viz run,
    ensemble). Tests must not write into them; copy one first."""
    from skelab.engine.trainer import Trainer

    root = tmp_path_factory.mktemp("trained")
    runs = []
    for seed in (1, 2):
        run = root / f"run{seed}"
        Trainer(tiny_config(f"train.seed={seed}"), work_dir=run, progress=False).fit()
        runs.append(run)
    return runs[0], runs[1]

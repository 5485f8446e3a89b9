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


def _tiny_npz(path: Path) -> Path:
    """5-D layout NPZ: 4 separable classes, 48 train and 16 test clips of 12 frames."""
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
def trained_runs(tmp_path_factory) -> tuple[Path, Path]:
    """Two tiny trained run folders (mlp, 2 epochs, data.holdout 0.25, seeds 1 and 2) on the
    same data: for the commands that take a trained model (eval, predict, export, viz run,
    ensemble). Tests must not write into them; copy one first."""
    from skelab.engine.presets import load_config
    from skelab.engine.trainer import Trainer

    root = tmp_path_factory.mktemp("trained")
    data = _tiny_npz(root / "tiny.npz")
    runs = []
    for seed in (1, 2):
        cfg = load_config(
            "ntu60-xsub/mlp-joint",
            [
                f"data.path={data}",
                "data.num_classes=4",
                "data.window=8",
                "data.holdout=0.25",
                "model.options={segments: 2, hidden: [16]}",
                "train.epochs=2",
                "train.batch_size=8",
                "train.test_batch_size=8",
                "train.device=cpu",
                f"train.seed={seed}",
            ],
        )
        run = root / f"run{seed}"
        Trainer(cfg, work_dir=run, progress=False).fit()
        runs.append(run)
    return runs[0], runs[1]

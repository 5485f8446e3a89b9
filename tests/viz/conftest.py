"""A tiny run folder made by hand: config.yaml, metrics.jsonl, two scores files, 5-class data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

NUM_CLASSES = 5


def write_tiny_data(path: Path, *, frames: int = 12, per_split: int = 10) -> Path:
    """An NPZ of random-walk skeletons, two persons, labels 0..4 twice per split."""
    rng = np.random.default_rng(0)
    n = 2 * per_split
    walk = rng.standard_normal((n, 3, frames, 25, 2)).astype(np.float32).cumsum(axis=2) * 0.05
    body = rng.standard_normal((1, 3, 1, 25, 1)).astype(np.float32)
    x = body + walk
    y = np.arange(n) % NUM_CLASSES
    np.savez(
        path,
        x_train=x[:per_split],
        y_train=y[:per_split],
        x_test=x[per_split:],
        y_test=y[per_split:],
        num_classes=np.int64(NUM_CLASSES),
    )
    return path


def tiny_scores(seed: int, labels: np.ndarray) -> np.ndarray:
    """Logits that get most clips right and confuse class 1 with class 3 twice."""
    rng = np.random.default_rng(seed)
    scores = rng.standard_normal((len(labels), NUM_CLASSES)).astype(np.float32)
    scores[np.arange(len(labels)), labels] += 4.0
    for i in np.nonzero(labels == 1)[0]:
        scores[i, 3] += 8.0
    return scores


@pytest.fixture
def tiny_data(tmp_path: Path) -> Path:
    return write_tiny_data(tmp_path / "tiny.npz")


@pytest.fixture
def tiny_run(tmp_path: Path) -> Path:
    from skelab.engine.metrics import save_scores
    from skelab.engine.presets import load_config

    data = write_tiny_data(tmp_path / "tiny.npz")
    run = tmp_path / "run"
    run.mkdir()
    cfg = load_config(
        "ntu60-xsub/mlp-joint",
        [f"data.path={data}", f"data.num_classes={NUM_CLASSES}", "data.window=8"],
    )
    (run / "config.yaml").write_text(cfg.to_yaml())
    records = [
        {"epoch": e, "train_loss": 2.0 / e, "train_top1": 0.2 * e, "lr": 0.1}
        | ({"test_top1": t, "test_top5": 1.0, "test_loss": 1.5 / e} if t is not None else {})
        for e, t in ((1, 0.5), (2, 0.8), (3, 0.7))
    ]
    (run / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    labels = np.arange(10) % NUM_CLASSES
    for epoch in (1, 2, 3):
        save_scores(
            run / "scores" / f"epoch_{epoch}_test.npz",
            tiny_scores(epoch, labels),
            labels,
            np.arange(10),
        )
    return run

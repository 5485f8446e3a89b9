"""Run metrics: top-k accuracy, scores files, `metrics.jsonl` and (optional) TensorBoard."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np

from skelab.engine.rundir import RunDir
from skelab.files import atomic_write

log = logging.getLogger(__name__)


def topk_accuracy(scores: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Share (0..1) of rows whose label is among the k highest scores."""
    if len(labels) == 0:
        return math.nan
    k = min(k, scores.shape[1])
    top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    return float((top == labels[:, None]).any(axis=1).mean())


def save_scores(
    path: str | Path, scores: np.ndarray, labels: np.ndarray, index: np.ndarray
) -> Path:
    """Write a scores file atomically: `scores` (N, C) float32 logits, `labels`, `index` int64."""
    arrays = {
        "scores": np.asarray(scores, np.float32),
        "labels": np.asarray(labels, np.int64),
        "index": np.asarray(index, np.int64),
    }
    return atomic_write(path, lambda fh: np.savez(fh, **arrays))


def load_scores(path: str | Path) -> dict[str, np.ndarray]:
    """Read a scores file (no pickle)."""
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in ("scores", "labels", "index")}


def _finite_or_null(record: dict[str, Any]) -> dict[str, Any]:
    """NaN and infinities as JSON null: strict JSON readers (jq, JavaScript) reject `NaN`."""
    return {
        k: None if isinstance(v, float) and not math.isfinite(v) else v for k, v in record.items()
    }


class MetricsWriter:
    """Appends one JSON object per line to `metrics.jsonl`, mirrors numbers to TensorBoard."""

    def __init__(self, path: Path, *, tensorboard_dir: Path | None = None) -> None:
        self.path = path
        self._tb: Any = None
        if tensorboard_dir is not None:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                log.info(
                    "tensorboard is not installed; metrics go to metrics.jsonl only "
                    "(pip install 'skelab[tensorboard]' to get event files)"
                )
            else:
                self._tb = SummaryWriter(log_dir=str(tensorboard_dir))

    def write(self, record: dict[str, Any], *, step: int) -> None:
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(_finite_or_null(record), allow_nan=False) + "\n")
        if self._tb is not None:
            for key, value in record.items():
                if (
                    isinstance(value, (int, float))
                    and not isinstance(value, bool)
                    and key not in ("epoch", "step")
                ):
                    self._tb.add_scalar(key.replace("_", "/", 1), value, global_step=step)
            self._tb.flush()

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
            self._tb = None


def read_metrics(work_dir: str | Path) -> list[dict[str, Any]]:
    """The records of a run's `metrics.jsonl`, in order."""
    return RunDir(work_dir).records()

"""Checks of the numpy inputs of the zero-shot methods: shapes, widths, label range, NaN.

Each raises a `DataFormatError` naming the argument (callers that know the file pass it as
`name`) and a fix, instead of a numpy or torch traceback deep inside training.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from skelab.errors import DataFormatError


def check_features(feats: Any, *, dim: int | None, name: str) -> np.ndarray:
    """(N, D) finite float32 features; `dim` is the width the model expects (None: any)."""
    x = np.asarray(feats)
    if x.ndim != 2:
        raise DataFormatError(
            name,
            f"features must be 2-D (N, D), got shape {x.shape}",
            fix="pass pooled features, one row per sample (upstream train.npy / ztest.npy)",
        )
    if dim is not None and x.shape[1] != dim:
        raise DataFormatError(
            name,
            f"features are {x.shape[1]}-d, the model expects {dim}-d",
            fix="use features from the backbone the model was trained on",
        )
    if not np.issubdtype(x.dtype, np.number) or not np.isfinite(x).all():
        raise DataFormatError(
            name,
            "features hold NaN, inf or non-numbers",
            fix="re-extract the features (a diverged backbone writes NaN)",
        )
    return np.ascontiguousarray(x, dtype=np.float32)


def check_labels(labels: Any, *, n: int, num_classes: int | None, name: str) -> np.ndarray:
    """(n,) int64 global class ids in [0, num_classes)."""
    y = np.asarray(labels)
    if y.ndim != 1 or len(y) != n:
        raise DataFormatError(
            name,
            f"labels have shape {y.shape}, expected ({n},), one per feature row",
            fix="pass the label file that belongs to the features",
        )
    if y.size and not np.issubdtype(y.dtype, np.integer):
        if not np.issubdtype(y.dtype, np.number) or not np.all(np.mod(y, 1) == 0):
            raise DataFormatError(
                name, f"labels are not integers (dtype {y.dtype})", fix="pass class indices"
            )
    y = y.astype(np.int64)
    hi = num_classes if num_classes is not None else np.iinfo(np.int64).max
    if y.size and (y.min() < 0 or y.max() >= hi):
        allowed = f"0..{num_classes - 1}" if num_classes is not None else "0 and above"
        raise DataFormatError(
            name,
            f"labels span {y.min()}..{y.max()}, outside {allowed}",
            fix="labels are 0-based global class ids, one text row per class",
        )
    return y


def check_text(text: Any, *, name: str = "text") -> np.ndarray:
    """(C, Dt) finite float32 class-text table."""
    t = np.asarray(text)
    if t.ndim != 2 or not np.issubdtype(t.dtype, np.number) or not np.isfinite(t).all():
        raise DataFormatError(
            name,
            f"the class-text table must be finite (C, Dt) numbers, got shape {t.shape}",
            fix="build it with skelab.zeroshot.texts (one normalised row per class)",
        )
    return np.ascontiguousarray(t, dtype=np.float32)


def check_unseen(unseen: Any, *, num_classes: int, name: str = "unseen") -> np.ndarray:
    """Sorted unique global ids of the unseen classes."""
    u = np.asarray(unseen).astype(np.int64).ravel()
    if u.size == 0 or len(np.unique(u)) != len(u) or u.min() < 0 or u.max() >= num_classes:
        raise DataFormatError(
            name,
            f"unseen classes must be distinct ids in 0..{num_classes - 1}, got {u.tolist()[:12]}",
            fix="pass the split's unseen class list (e.g. skelab.zeroshot.splits)",
        )
    return np.sort(u)

"""A held-out part of the training split, for choosing ensemble weights without the test split.

With `data.holdout = f > 0`, round(f * N) samples of the N-sample training split are kept out
of training and scored whenever the test split is, into `scores/epoch_<N>_holdout.npz` (same
format as the test scores; `index` holds positions in the training split). `skelab ensemble
--search` picks fusion weights on these files only.

The held-out samples depend only on N and f (a fixed-seed permutation, not `train.seed`), so the
four streams of a model trained with different seeds still hold out the same samples and their
scores can be fused. The default is 0: the published recipes train on the whole split.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from skelab.data.subset import Subset

_HOLDOUT_SEED = 20_240_601  # fixed: every run of the same split holds out the same samples


def holdout_positions(n: int, fraction: float) -> np.ndarray:
    """Sorted positions (int64) of the round(fraction * n) held-out samples of an n-sample split."""
    k = int(round(fraction * n))
    if k == 0:
        return np.zeros(0, np.int64)
    order = np.random.default_rng(_HOLDOUT_SEED).permutation(n)
    return np.sort(order[:k]).astype(np.int64)


def split_train(dataset: Any, fraction: float) -> tuple[Any, Subset | None]:
    """(the part to train on, the held-out part or None when `fraction` holds out nothing);
    the held-out part's `positions` are its samples' positions in `dataset`."""
    held = holdout_positions(len(dataset), fraction)
    if len(held) == 0:
        return dataset, None
    keep = np.setdiff1d(np.arange(len(dataset), dtype=np.int64), held, assume_unique=True)
    return Subset(dataset, keep), Subset(dataset, held)

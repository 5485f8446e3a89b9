"""The public generator: chunks of samples, whole splits, NPZ files and single sequences."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from skelab.errors import ConfigError
from skelab.synth.draws import MASK64, balanced_labels, noise_bank
from skelab.synth.poses import MAX_CLASSES, MIN_FRAMES
from skelab.synth.render import draw_actors, render_actors

_SPLITS = {"train": 0, "test": 1}
_SEQUENCE_SPLIT = 2  # random streams of `synth_sequence`, apart from both splits
_GROUP = 64  # actors rendered together, sorted by length so that little padding is computed


def _check(num_classes: int, frames: int, seed: int, **counts: int) -> None:
    if not 1 <= num_classes <= MAX_CLASSES:
        raise ConfigError(
            "num_classes",
            f"must be in 1..{MAX_CLASSES}, got {num_classes}",
            fix="use 60 for NTU60-like data or 120 for NTU120-like data",
        )
    if frames < MIN_FRAMES:
        raise ConfigError(
            "frames",
            f"must be >= {MIN_FRAMES}, got {frames}",
            fix="use 300, the NTU NPZ length, or a shorter window such as 64",
        )
    if not 0 <= seed <= MASK64:
        raise ConfigError("seed", f"must be in 0..2**64-1, got {seed}", fix="use e.g. 0")
    for key, value in counts.items():
        if value < 0:
            raise ConfigError(key, f"must be >= 0, got {value}", fix="use a count such as 500")


def synth_samples(start: int, stop: int, *, split: str = "train", num_classes: int = 60,
                  seed: int = 0, frames: int = 300,
                  out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Samples start..stop-1 of a split: x (n, frames, 2, 25, 3) float32 and labels (n,) int64.

    Sample i depends only on (seed, split, i, num_classes, frames), so any chunking of a split
    gives the same arrays. x is centred like the Kaggle NPZ (actor 1's joint 2 in frame 0 is the
    origin), zero after each sample's valid frames, and person 2 is zero unless the class is
    mutual. `out`, if given, must be zeros of that shape; it is filled and returned.
    """
    _check(num_classes, frames, seed, start=start, count=stop - start)
    if split not in _SPLITS:
        raise ConfigError("split", f"unknown split {split!r}", fix="use 'train' or 'test'")
    n = stop - start
    if out is None:
        out = np.zeros((n, frames, 2, 25, 3), dtype=np.float32)
    index = np.arange(start, stop, dtype=np.int64)
    labels = balanced_labels(seed, _SPLITS[split], index, num_classes)
    if n == 0:
        return out, labels
    bank_size = max(1 << 20, 4 * frames * 75)
    bank = noise_bank(seed, bank_size)
    actors = draw_actors(seed, _SPLITS[split], index, labels, frames, bank_size)
    # Person 1 of every sample is rendered before any person 2, so the origin (actor 1's
    # joint 2 in frame 0, noise included, as upstream takes it) is known when person 2 is.
    origin = np.empty((n, 3), dtype=np.float32)
    order = np.lexsort((actors.length, actors.person))
    for g0 in range(0, len(order), _GROUP):
        rows = order[g0 : g0 + _GROUP]
        t_len = int(actors.length[rows].max())
        x = render_actors(actors, rows, t_len, bank)
        first = actors.person[rows] == 0
        origin[actors.sample[rows[first]]] = x[first, 0, 1]
        x -= origin[actors.sample[rows], None, None]
        x[np.arange(t_len)[None, :] >= actors.length[rows, None]] = 0.0  # zero padding
        out[actors.sample[rows], :t_len, actors.person[rows]] = x
    return out, labels


def make_ntu_like(*, num_classes: int = 60, n_train: int, n_test: int, seed: int = 0,
                  frames: int = 300) -> dict[str, np.ndarray]:  # fmt: skip
    """NTU-like data in the Kaggle NPZ layout: x_train, y_train, x_test, y_test.

    x_* is (N, frames, 150) float32 and reshapes to (N, frames, 2, 25, 3); y_* is one-hot
    float32 (N, num_classes). Memory: N * frames * 600 bytes (180 kB a sample at 300 frames).
    """
    _check(num_classes, frames, seed, n_train=n_train, n_test=n_test)
    data: dict[str, np.ndarray] = {}
    for split, n in (("train", n_train), ("test", n_test)):
        x = np.zeros((n, frames, 150), dtype=np.float32)
        labels = np.empty(n, dtype=np.int64)
        view = x.reshape(n, frames, 2, 25, 3)
        for start in range(0, n, 512):
            stop = min(n, start + 512)
            _, labels[start:stop] = synth_samples(
                start, stop, split=split, num_classes=num_classes, seed=seed, frames=frames,
                out=view[start:stop],
            )  # fmt: skip
        data[f"x_{split}"] = x
        data[f"y_{split}"] = np.eye(num_classes, dtype=np.float32)[labels]
    return data


def write_ntu_like(path: str | Path, *, num_classes: int = 60, n_train: int, n_test: int,
                   seed: int = 0, frames: int = 300) -> Path:  # fmt: skip
    """Write `make_ntu_like(...)` to `path` as an uncompressed Kaggle NPZ and return the path.

    Written by `skelab.data.npzwrite.save_kaggle_npz`: a temporary file in the same folder,
    renamed over `path` only once complete, so a reader never sees a partial file.
    """
    from skelab.data.npzwrite import save_kaggle_npz

    data = make_ntu_like(num_classes=num_classes, n_train=n_train, n_test=n_test, seed=seed,
                         frames=frames)  # fmt: skip
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return Path(save_kaggle_npz(path, **data, num_classes=num_classes))


def synth_sequence(label: int, *, seed: int = 0, frames: int = 300,
                   centred: bool = True) -> np.ndarray:  # fmt: skip
    """One sequence of class `label` (0-based, 0..119) for visual checks: (frames, 2, 25, 3).

    With `centred=False` the joints stay in camera space (metres, y up, z the depth), as a
    Kinect records them. Frames after the sequence's length and an absent person are zero.
    """
    if not 0 <= label < MAX_CLASSES:
        raise ConfigError(
            "label",
            f"must be in 0..{MAX_CLASSES - 1}, got {label}",
            fix="use a 0-based class index, e.g. 22 for 'hand waving'",
        )
    _check(MAX_CLASSES, frames, seed)
    bank_size = max(1 << 20, 4 * frames * 75)
    actors = draw_actors(seed, _SEQUENCE_SPLIT, np.array([0]), np.array([label]), frames, bank_size)
    rows = np.arange(len(actors.sample))
    t_len = int(actors.length[0])
    x = render_actors(actors, rows, t_len, noise_bank(seed, bank_size))
    if centred:
        x -= x[0, 0, 1]
    out = np.zeros((frames, 2, 25, 3), dtype=np.float32)
    out[:t_len, actors.person] = x.transpose(1, 0, 2, 3)
    return out

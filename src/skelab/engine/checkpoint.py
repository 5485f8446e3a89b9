"""Checkpoint files: atomic writes, safe reads, RNG state as plain values.

A checkpoint is written with `skelab.files.atomic_save` (temp file, fsync, rename), so a write
killed half-way leaves the previous file intact. Reading goes through `skelab.files.load_torch`
(`weights_only=True`): checkpoints hold tensors, numbers, strings, lists and dicts
only, never pickled objects: RNG states are stored as tensors and numbers
(`capture_rng_state`), configs as plain dicts.

What a training checkpoint holds (its keys and format version) is
`skelab.engine.rundir.Checkpoint`. Commands that take a trained model also read a bare state
dict or `{"model": state_dict}` as written by `skelab models import` (`model_state_from`).
"""

from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from skelab.errors import CheckpointError
from skelab.files import atomic_copy, atomic_save, load_torch

__all__ = [
    "atomic_copy",
    "atomic_save",
    "capture_rng_state",
    "load_checkpoint",
    "model_state_from",
    "restore_rng_state",
]

log = logging.getLogger(__name__)


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a skelab checkpoint safely; a truncated or foreign file is a clear error."""
    obj = load_torch(
        path,
        map_location=map_location,
        fix="the file may be truncated; use checkpoints/last.pt or best.pt from the run",
    )
    if not isinstance(obj, dict):
        raise CheckpointError(f"holds a {type(obj).__name__}, expected a dict", where=path)
    return obj


def capture_rng_state() -> dict[str, Any]:
    """Every RNG the training loop touches, as tensors and plain numbers (weights_only-safe)."""
    py_version, py_words, py_gauss = random.getstate()
    np_kind, np_words, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    state: dict[str, Any] = {
        "python_version": int(py_version),
        "python_words": torch.tensor(py_words, dtype=torch.int64),
        "python_gauss": py_gauss,
        "numpy_kind": str(np_kind),
        "numpy_words": torch.from_numpy(np.asarray(np_words, dtype=np.int64)),
        "numpy_pos": int(np_pos),
        "numpy_has_gauss": int(np_has_gauss),
        "numpy_gauss": float(np_gauss),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = list(torch.cuda.get_rng_state_all())
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Inverse of `capture_rng_state`; CUDA states are restored when CUDA is in use."""
    random.setstate(
        (
            state["python_version"],
            tuple(int(w) for w in state["python_words"].tolist()),
            state["python_gauss"],
        )
    )
    np.random.set_state(
        (
            state["numpy_kind"],
            state["numpy_words"].numpy().astype(np.uint32),
            state["numpy_pos"],
            state["numpy_has_gauss"],
            state["numpy_gauss"],
        )
    )
    torch.set_rng_state(state["torch"].cpu())
    cuda = state.get("cuda")
    if cuda and torch.cuda.is_available():
        if len(cuda) != torch.cuda.device_count():
            log.warning(
                "checkpoint holds %d CUDA RNG states, this machine has %d devices; "
                "CUDA random streams are not restored",
                len(cuda),
                torch.cuda.device_count(),
            )
        else:
            torch.cuda.set_rng_state_all([s.cpu() for s in cuda])


def model_state_from(obj: dict[str, Any], *, where: str | Path) -> dict[str, torch.Tensor]:
    """The model weights inside a skelab training checkpoint or an imported state dict."""
    state = obj.get("model", obj)
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(
            "holds no model weights (no tensor dict at the top or under 'model')",
            where=where,
            fix="pass checkpoints/best.pt or last.pt of a run, or a file written by "
            "`skelab models import`",
        )
    return state

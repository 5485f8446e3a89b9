"""Checkpoints: atomic writes and safe reads.

A checkpoint is written to a temporary file in the same folder, flushed and fsynced, then renamed
over the target, so a write killed half-way leaves the previous file intact. Reading always uses
`torch.load(..., weights_only=True)`: checkpoints hold tensors, numbers, strings, lists and dicts
only, never pickled objects.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from skelab.errors import CheckpointError


def atomic_save(obj: Any, path: str | Path) -> Path:
    """`torch.save` to `path` atomically: temp file, flush, fsync, rename, fsync the folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            torch.save(obj, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a skelab checkpoint safely; a truncated or foreign file is a clear error."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no such file: {path}", fix="check the --weights / work-dir path")
    try:
        obj = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:
        raise CheckpointError(
            f"cannot read checkpoint ({type(exc).__name__}: {str(exc).splitlines()[0]})",
            where=path,
            fix="the file may be truncated; use checkpoints/last.pt or best.pt from the run",
        ) from exc
    if not isinstance(obj, dict):
        raise CheckpointError(f"holds a {type(obj).__name__}, expected a dict", where=path)
    return obj

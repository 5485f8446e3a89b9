"""Strict weight loading: every key and shape must match, or nothing is loaded.

One report for every place skelab puts weights into a model (skelab checkpoints, upstream
imports, fine-tuning): it lists the missing keys, the unexpected keys and the shape mismatches,
each with a count and the first few names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import torch
from torch import nn

from skelab.errors import CheckpointError

_SHOWN = 10  # names listed per kind of mismatch


def mismatch_report(
    expected: Mapping[str, torch.Tensor],
    given: Mapping[str, torch.Tensor],
    *,
    ignored: Iterable[str] = (),
) -> str:
    """'' when `given` fits `expected` key for key and shape for shape, else what differs."""
    skip = set(ignored)
    missing = [k for k in expected if k not in given and k not in skip]
    unexpected = [k for k in given if k not in expected]
    shapes = [
        f"{k}: checkpoint {tuple(v.shape)} vs model {tuple(expected[k].shape)}"
        for k, v in given.items()
        if k in expected and tuple(v.shape) != tuple(expected[k].shape)
    ]
    parts = []
    for label, items, sep in (
        ("missing", missing, ", "),
        ("unexpected", unexpected, ", "),
        ("shape mismatches", shapes, "; "),
    ):
        if items:
            more = f" (+{len(items) - _SHOWN} more)" if len(items) > _SHOWN else ""
            parts.append(f"{len(items)} {label}: {sep.join(items[:_SHOWN])}{more}")
    return " | ".join(parts)


def check_state_dict(
    model: nn.Module,
    state: Mapping[str, torch.Tensor],
    *,
    where: str | Path,
    fix: str,
    ignored: Iterable[str] = (),
) -> None:
    """Raise `CheckpointError` unless `state` has exactly `model`'s keys and shapes."""
    report = mismatch_report(model.state_dict(), state, ignored=ignored)
    if report:
        raise CheckpointError(f"does not match the model ({report})", where=where, fix=fix)


def load_strict(
    model: nn.Module, state: Mapping[str, torch.Tensor], *, where: str | Path, fix: str
) -> None:
    """Check `state` against `model` (`check_state_dict`), then load it; all or nothing."""
    check_state_dict(model, state, where=where, fix=fix)
    model.load_state_dict(dict(state), strict=True)

"""Load state dicts saved by upstream repositories into skelab models.

Upstream checkpoints are plain `OrderedDict`s of tensors, sometimes under a `module.` prefix
(DataParallel) or wrapped in a dict with a `state_dict` / `model` / `weights` entry. A skelab
model may rename keys; it says how through a class attribute or method:

* `upstream_key_map(self, key) -> str | None`: map an upstream key to a skelab key, or None to
  drop a key that upstream saves but never uses (say so in the model's docstring);
* `upstream_ignored_keys: tuple[str, ...]`: skelab keys upstream never saves (e.g. buffers
  skelab derives); they keep the values the model computed.

Loading is strict: any key left over on either side, or any shape that differs, is an error
listing every offending key. Nothing is loaded unless everything matches.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from skelab.errors import CheckpointError
from skelab.files import load_torch
from skelab.models.weights import mismatch_report

_WRAPPERS = ("state_dict", "model_state_dict", "model", "weights", "net")


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a checkpoint safely (`weights_only=True`) and unwrap it to a flat tensor dict."""
    obj = load_torch(
        path, fix="is the file complete? re-download it, or re-save it with torch.save(state_dict)"
    )
    return unwrap_state_dict(obj, where=path)


def unwrap_state_dict(obj: object, *, where: str | Path = "checkpoint") -> dict[str, torch.Tensor]:
    """Find the tensor dict inside a checkpoint object and strip any `module.` prefix."""
    if isinstance(obj, Mapping) and not all(isinstance(v, torch.Tensor) for v in obj.values()):
        for key in _WRAPPERS:
            if key in obj and isinstance(obj[key], Mapping):
                return unwrap_state_dict(obj[key], where=where)
        raise CheckpointError(
            "holds no state dict (no tensor dict at the top or under "
            f"{', '.join(_WRAPPERS)}); top-level keys: {sorted(map(str, obj))[:8]}",
            where=where,
            fix="pass the file that upstream's training script saved (e.g. runs-65-xxx.pt)",
        )
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"holds a {type(obj).__name__}, not a state dict", where=where)
    out = {}
    for key, value in obj.items():
        out[re.sub(r"^(module\.)+", "", str(key))] = value
    return out


def convert_upstream_state_dict(
    model: nn.Module, upstream: Mapping[str, torch.Tensor], *, where: str | Path = "checkpoint"
) -> dict[str, torch.Tensor]:
    """Rename an upstream state dict into `model`'s keys and check every key and shape."""
    key_map = getattr(model, "upstream_key_map", None)
    ignored = set(getattr(model, "upstream_ignored_keys", ()))
    expected = model.state_dict()
    converted: dict[str, torch.Tensor] = {}
    unexpected: dict[str, torch.Tensor] = {}  # under their upstream names, for the report
    for key, value in upstream.items():
        key = re.sub(r"^(module\.)+", "", key)
        target = key_map(key) if key_map is not None else key
        if target is None:
            continue
        if target not in expected:
            unexpected[key] = value
            continue
        converted[target] = value
    report = mismatch_report(expected, {**converted, **unexpected}, ignored=ignored)
    if report:
        raise CheckpointError(
            f"does not match the model ({report})",
            where=where,
            fix="build the model with the options the checkpoint was trained with "
            "(num_classes, in_channels, variant) or pick the matching model name",
        )
    for key in ignored:
        converted.setdefault(key, expected[key])
    return converted


def load_upstream_checkpoint(
    model: nn.Module, source: str | Path | Mapping[str, torch.Tensor]
) -> nn.Module:
    """Load an upstream checkpoint (file or state dict) into `model`, strictly; returns it."""
    where = source if isinstance(source, (str, Path)) else "state dict"
    state = (
        read_state_dict(source) if isinstance(source, (str, Path)) else unwrap_state_dict(source)
    )
    converted = convert_upstream_state_dict(model, state, where=where)
    model.load_state_dict(converted, strict=True)
    return model

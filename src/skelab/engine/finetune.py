"""Starting a run from weights (`train.weights`, `skelab train --weights`): the lab's `--weights`.

The source is a run folder (its best checkpoint), a skelab checkpoint, a `skelab models import`
file, or an upstream checkpoint whose keys the model renames itself (`upstream_key_map`, as
`skelab.models.upstream` does). Loading is strict: every key and shape must fit, with one
exception the user asks for: with `train.drop_head`, the classifier's keys whose shape differs
(another class count) are skipped and keep their fresh initialisation. The skipped keys are
returned, logged, and written at the top of the run's config.yaml.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import torch
from torch import nn

from skelab.errors import CheckpointError

log = logging.getLogger(__name__)


def head_keys(model: nn.Module) -> list[str]:
    """State-dict keys of the classifier: the last `nn.Linear` in the model."""
    last = None
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            last = name
    if last is None:
        return []
    prefix = f"{last}." if last else ""
    return [k for k in model.state_dict() if k.startswith(prefix) and "." not in k[len(prefix) :]]


def _renamed(model: nn.Module, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """`state` under the model's key names (upstream names go through `upstream_key_map`)."""
    expected = model.state_dict()
    key_map = getattr(model, "upstream_key_map", None)
    if key_map is None or all(k in expected for k in state):
        return state
    out = {}
    for key, value in state.items():
        target = key_map(re.sub(r"^(module\.)+", "", key))
        if target is not None:
            out[target] = value
    return out


def load_initial_weights(model: nn.Module, path: str | Path, *, drop_head: bool) -> list[str]:
    """Load `path` into `model` strictly (see the module docstring); returns the skipped keys."""
    from skelab.engine.rundir import find_checkpoint
    from skelab.models.upstream import read_state_dict
    from skelab.models.weights import check_state_dict

    path = find_checkpoint(path)  # a run folder names its best checkpoint
    state = _renamed(model, read_state_dict(path))
    expected = model.state_dict()
    head = head_keys(model)
    differs = [k for k in head if k in state and state[k].shape != expected[k].shape]
    if differs and not drop_head:
        shapes = "; ".join(
            f"{k}: file {tuple(state[k].shape)} vs model {tuple(expected[k].shape)}"
            for k in differs
        )
        raise CheckpointError(
            f"the classifier does not fit this run's class count ({shapes})",
            where=path,
            fix="--set train.drop_head=true (or --drop-head) to start the classifier afresh "
            "and load everything else",
        )
    kept = {k: v for k, v in state.items() if k not in differs}
    ignored = [*differs, *getattr(model, "upstream_ignored_keys", ())]
    check_state_dict(
        model,
        kept,
        where=path,
        ignored=ignored,
        fix="start from weights of the same model and options (model.name, model.options); "
        "only the classifier may differ, with train.drop_head",
    )
    model.load_state_dict({**expected, **kept}, strict=True)
    if differs:
        log.info("started from %s; classifier keys skipped: %s", path, ", ".join(differs))
    else:
        log.info("started from %s (every key loaded)", path)
    return differs


def started_from_note(started_from: dict[str, object]) -> str:
    """The comment line config.yaml starts with when a run started from weights ('' if not)."""
    if not started_from:
        return ""
    skipped = ", ".join(str(k) for k in started_from.get("skipped", ())) or "none"
    return f"# started from {started_from['weights']}; keys skipped: {skipped}\n"

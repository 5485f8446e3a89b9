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


def head_keys(model: nn.Module, head: str) -> list[str]:
    """State-dict keys of the classifier: everything under the module path `head` (the model
    card's `head`; a part `-1` is the last child, e.g. "net.-1")."""
    module, names = model, []
    for part in head.split("."):
        children = dict(module.named_children())
        name = list(children)[-1] if part == "-1" and children else part
        if name not in children:
            raise CheckpointError(
                f"the model has no classifier module {head!r} (its card's head)",
                fix="please report it: the model card names the wrong head",
            )
        module = children[name]
        names.append(name)
    prefix = ".".join(names) + "."
    return [k for k in model.state_dict() if k.startswith(prefix)]


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


def load_initial_weights(
    model: nn.Module, path: str | Path, *, drop_head: bool, head: str
) -> list[str]:
    """Load `path` into `model` strictly (see the module docstring); returns the skipped keys.
    `head` is the classifier's module path (the model card's `head`)."""
    from skelab.engine.rundir import find_checkpoint
    from skelab.models.upstream import read_state_dict
    from skelab.models.weights import check_state_dict

    path = find_checkpoint(path)  # a run folder names its best checkpoint
    state = _renamed(model, read_state_dict(path))
    expected = model.state_dict()
    head_names = head_keys(model, head)
    differs = [k for k in head_names if k in state and state[k].shape != expected[k].shape]
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

"""The loss hook: cross-entropy (optionally label-smoothed) plus a model's auxiliary losses.

Hyper-GCN (and any model like it) keeps what it needs from its last forward pass and exposes
`auxiliary_losses() -> dict[str, Tensor]`, already weighted; they are added to the main loss.
Every term is returned by name so the trainer can log each one. A hook that needs the batch's
logits or labels (ProtoGCN's class-specific contrastive loss) names them as keyword parameters,
`auxiliary_losses(*, logits, labels)`, and receives them.

A model whose prediction is the sum of several streams' logits (DeGCN) keeps each stream's logits
from its last forward and returns them from `stream_logits() -> list[Tensor]`; the cross-entropy
is then taken per stream and summed, as such repositories train: one term per stream
("ce_stream0", "ce_stream1", ...) replaces "ce".
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from skelab.errors import SkelabError


def compute_loss(
    model: nn.Module, logits: Tensor, labels: Tensor, *, label_smoothing: float = 0.0
) -> tuple[Tensor, dict[str, Tensor]]:
    """(total loss, {"ce": ..., "<aux name>": ...}) for one forward pass; each term is a mean."""
    streams_fn = getattr(model, "stream_logits", None)
    streams = streams_fn() if streams_fn is not None else [logits]
    if len(streams) == 1:
        terms = {"ce": F.cross_entropy(logits.float(), labels, label_smoothing=label_smoothing)}
    else:
        terms = {
            f"ce_stream{i}": F.cross_entropy(z.float(), labels, label_smoothing=label_smoothing)
            for i, z in enumerate(streams)
        }
    aux_fn = getattr(model, "auxiliary_losses", None)
    if aux_fn is not None:
        for name, value in aux_fn(**auxiliary_inputs(aux_fn, logits, labels)).items():
            if name in terms:
                raise SkelabError(
                    f"{type(model).__name__}.auxiliary_losses() returned a term named {name!r}, "
                    "which clashes with the cross-entropy term",
                    fix="rename the auxiliary loss",
                )
            terms[name] = value.float()
    total = torch.stack(list(terms.values())).sum()
    return total, terms


def auxiliary_inputs(
    aux_fn: Callable[..., dict[str, Tensor]], logits: Tensor, labels: Tensor
) -> dict[str, Tensor]:
    """The keyword arguments `aux_fn` takes among `logits` and `labels`."""
    params = inspect.signature(aux_fn).parameters
    return {k: v for k, v in (("logits", logits), ("labels", labels)) if k in params}

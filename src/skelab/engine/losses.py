"""The loss hook: cross-entropy (optionally label-smoothed) plus a model's auxiliary losses.

Hyper-GCN (and any model like it) keeps what it needs from its last forward pass and exposes
`auxiliary_losses() -> dict[str, Tensor]`, already weighted; they are added to the main loss.
Every term is returned by name so the trainer can log each one.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from skelab.errors import SkelabError


def compute_loss(
    model: nn.Module, logits: Tensor, labels: Tensor, *, label_smoothing: float = 0.0
) -> tuple[Tensor, dict[str, Tensor]]:
    """(total loss, {"ce": ..., "<aux name>": ...}) for one forward pass; each term is a mean."""
    terms = {"ce": F.cross_entropy(logits.float(), labels, label_smoothing=label_smoothing)}
    aux_fn = getattr(model, "auxiliary_losses", None)
    if aux_fn is not None:
        for name, value in aux_fn().items():
            if name in terms:
                raise SkelabError(
                    f"{type(model).__name__}.auxiliary_losses() returned a term named {name!r}, "
                    "which clashes with the cross-entropy term",
                    fix="rename the auxiliary loss",
                )
            terms[name] = value.float()
    total = torch.stack(list(terms.values())).sum()
    return total, terms

"""Tensors a module lends to its written autograd Functions from one training step to the next.

A large tensor allocated fresh in every step is mapped by the allocator and page-faulted in
again each time; on this CPU the products writing such tensors ran at 11-40 GFLOP/s where the
same products into a reused buffer ran at 38-80. A Function that saves a large intermediate
for its backward therefore borrows it from its module's `spares` dict in forward (`lend`) and
hands it back once its backward has read it (`give_back`). Until then the dict does not hold
it, so a second forward before the first backward (two graphs alive at once) allocates its
own, and no two live graphs share a buffer. Writing a lent tensor bumps its version counter,
so a graph kept with `retain_graph` whose buffer a later step reused fails autograd's
saved-tensor check instead of reading overwritten values.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def lend(
    spares: dict[str, Tensor] | None, name: str, shape: tuple[int, ...], like: Tensor
) -> Tensor:
    """The spare tensor `name` if `spares` holds one of this shape, dtype and device (taken
    out of the dict until `give_back`), else a new uninitialised one like `like`."""
    spare = spares.pop(name, None) if spares is not None else None
    if (
        spare is None
        or spare.shape != shape
        or spare.dtype != like.dtype
        or spare.device != like.device
    ):
        return like.new_empty(shape)
    return spare


def give_back(spares: dict[str, Tensor] | None, name: str, tensor: Tensor | None) -> None:
    """Return `tensor` to `spares` under `name` for the next step (nothing without a dict)."""
    if spares is not None and tensor is not None:
        spares[name] = tensor


class LendingModule(nn.Module):
    """A module whose written Functions borrow spares between its training steps. `spares()`
    is the dict to lend from while it trains with autograd recording (a Function whose backward
    never runs would not give its tensor back), else None; `eval()` drops what it holds."""

    def __init__(self) -> None:
        super().__init__()
        self._spares: dict[str, Tensor] = {}  # not state: no state-dict keys

    def spares(self) -> dict[str, Tensor] | None:
        return self._spares if self.training and torch.is_grad_enabled() else None

    def train(self, mode: bool = True) -> LendingModule:
        if not mode:
            self._spares.clear()
        return super().train(mode)

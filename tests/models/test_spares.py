"""Spare tensors lent by a module to its written Functions between training steps."""

from __future__ import annotations

import pytest
import torch

from skelab.models import ctrgcn as ctrgcn_module
from skelab.models.ctrgcn import CTRGraphConv
from skelab.models.layers.spares import LendingModule, give_back, lend
from skelab.skeletons import NTU25


def test_lend_reuses_a_matching_spare_and_takes_it_out_until_given_back():
    like = torch.zeros(2)
    spares: dict[str, torch.Tensor] = {}
    first = lend(spares, "buf", (3, 4), like)
    give_back(spares, "buf", first)
    again = lend(spares, "buf", (3, 4), like)
    assert again is first and spares == {}  # out on loan
    assert lend(spares, "buf", (3, 4), like) is not first  # a second borrower gets its own
    give_back(spares, "buf", again)
    assert lend(spares, "buf", (4, 3), like) is not first  # another shape: a new tensor
    assert lend(spares, "buf", (3, 4), like.double()).dtype == torch.float64
    assert lend(None, "buf", (3, 4), like).shape == (3, 4)
    give_back(None, "buf", first)  # no dict: nothing to keep


def test_lending_module_lends_only_while_it_trains_with_autograd():
    module = LendingModule()
    assert module.spares() is module._spares
    with torch.no_grad():
        assert module.spares() is None
    module._spares["buf"] = torch.zeros(3)
    module.eval()
    assert module.spares() is None and module._spares == {}
    assert module.state_dict() == {}


def test_a_retained_graph_whose_spares_a_later_step_reused_fails_loudly(monkeypatch):
    """Its second backward would read overwritten values: autograd's version check stops it."""
    torch.manual_seed(0)
    gcn = CTRGraphConv(8, 8, torch.from_numpy(NTU25.spatial)).double()
    with torch.no_grad():
        gcn.alpha.fill_(0.5)
    monkeypatch.setattr(ctrgcn_module, "eager_cpu", lambda t: True)  # float64: force it
    x = torch.randn(2, 8, 4, 25, dtype=torch.float64, requires_grad=True)
    loss = gcn(x).square().sum()
    loss.backward(retain_graph=True)  # gives its spares back, keeps the graph
    gcn(torch.randn_like(x)).sum().backward()  # the next step writes into them
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()

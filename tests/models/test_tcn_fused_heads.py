"""The multi-scale TCN's stacked opening convolutions compute what its branch loop computes."""

from __future__ import annotations

import copy

import pytest
import torch

from skelab.models.layers import tcn
from skelab.models.layers.tcn import MultiScaleTemporalConv, ctrgcn_temporal


def _loop(module: MultiScaleTemporalConv, x: torch.Tensor) -> torch.Tensor:
    """The reference: every branch on its own, as upstream runs them."""
    out = torch.cat([branch(x) for branch in module.branches], dim=1)
    if module.residual is not None:
        out = out + module.residual(x)
    return module.act(out)


@pytest.mark.parametrize(
    "make",
    [
        lambda: ctrgcn_temporal(8, stride=1),
        lambda: ctrgcn_temporal(8, stride=2, padding_mode="replicate"),
        lambda: MultiScaleTemporalConv(4, 12, stride=2),
    ],
)
def test_fused_heads_match_branch_loop_in_train_and_eval(make):
    torch.manual_seed(0)
    fused = make().train()
    loop = copy.deepcopy(fused)
    x = torch.randn(2, fused.branches[0][0].in_channels, 8, 3)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()

    ya, yb = fused(xa), _loop(loop, xb)
    ya.square().sum().backward()
    yb.square().sum().backward()

    assert torch.allclose(ya, yb, atol=1e-6)
    assert torch.allclose(xa.grad, xb.grad, atol=1e-5)
    for (name, pa), pb in zip(fused.named_parameters(), loop.parameters(), strict=True):
        assert torch.allclose(pa.grad, pb.grad, atol=1e-4), name
    for (name, a), b in zip(fused.state_dict().items(), loop.state_dict().values(), strict=True):
        if a.is_floating_point():  # running statistics: the reduction order follows the threads
            assert torch.allclose(a, b, rtol=1e-6, atol=1e-7), name
        else:
            assert torch.equal(a, b), name  # batch counters
    fused.eval()
    loop.eval()
    with torch.no_grad():
        assert torch.allclose(fused(x), _loop(loop, x), atol=1e-6)


def test_batch_norms_with_different_settings_are_not_stacked():
    module = ctrgcn_temporal(8)
    bns = [branch[1] for branch in module.branches]
    bns[1].momentum = None

    assert tcn.fusable_batch_norms(bns) is False


def test_in_evaluation_cumulative_batch_norms_stack_whatever_their_batch_counts():
    # the counter weighs a cumulative average's update, which only training makes; reading it
    # in evaluation made torch.export (ONNX) trace a tensor's value
    module = ctrgcn_temporal(8)
    bns = [branch[1] for branch in module.branches]
    for i, bn in enumerate(bns):
        bn.momentum = None
        bn.num_batches_tracked.fill_(i)

    assert tcn.fusable_batch_norms(bns) is False  # training: counts differ, not stackable
    module.eval()
    assert tcn.fusable_batch_norms(bns) is True

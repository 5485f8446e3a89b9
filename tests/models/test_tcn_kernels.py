"""The TCN's CPU kernels (`frame_conv`, `frame_max_pool`) compute what the layers they stand in
for compute, forward and backward."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from skelab.models.layers import tcn


@pytest.mark.parametrize("replicate", [False, True])
@pytest.mark.parametrize(
    ("kernel", "stride", "dilation"), [(5, 1, 1), (5, 2, 2), (3, 2, 1), (5, 3, 1)]
)
def test_frame_conv_matches_conv2d(kernel, stride, dilation, replicate):
    torch.manual_seed(0)
    pad = (kernel + (kernel - 1) * (dilation - 1) - 1) // 2
    x = torch.randn(2, 3, 11, 4, dtype=torch.double, requires_grad=True)
    w = torch.randn(5, 3, kernel, 1, dtype=torch.double, requires_grad=True)
    b = torch.randn(5, dtype=torch.double, requires_grad=True)
    if replicate:
        padded = F.pad(x, (0, 0, pad, pad), mode="replicate")
        ref = F.conv2d(padded, w, b, (stride, 1), 0, (dilation, 1))
    else:
        ref = F.conv2d(x, w, b, (stride, 1), (pad, 0), (dilation, 1))
    out = tcn._FrameConv.apply(x, w, b, stride, dilation, pad, replicate)
    grad = torch.randn_like(ref)
    assert out.shape == ref.shape
    assert torch.allclose(out, ref, atol=1e-12)
    got = torch.autograd.grad(out, (x, w, b), grad)
    for a, r in zip(got, torch.autograd.grad(ref, (x, w, b), grad), strict=True):
        assert torch.allclose(a, r, atol=1e-12)


@pytest.mark.parametrize("stride", [1, 2, 3])
@pytest.mark.parametrize("frames", [7, 8])
def test_frame_max_pool_matches_max_pool2d_with_ties(stride, frames):
    torch.manual_seed(0)
    # small integers: many windows hold their maximum twice or three times
    x = torch.randint(0, 3, (2, 3, frames, 4)).double().requires_grad_()
    pool = nn.MaxPool2d((3, 1), stride=(stride, 1), padding=(1, 0))
    ref = pool(x)
    out = tcn._FrameMaxPool.apply(x, stride)
    grad = torch.randn_like(ref)
    assert torch.equal(out, ref)
    # the same routing; a frame taken by several windows sums their gradients in another order
    gx, gr = torch.autograd.grad(out, x, grad)[0], torch.autograd.grad(ref, x, grad)[0]
    assert torch.allclose(gx, gr, rtol=0, atol=1e-12)


def test_kernels_stand_aside_off_the_eager_cpu_path():
    conv = nn.Conv2d(4, 4, (5, 1), padding=(2, 0), padding_mode="replicate")
    pool = nn.MaxPool2d((3, 1), stride=(1, 1), padding=(1, 0))
    x = torch.randn(1, 4, 6, 3)
    assert tcn.frame_conv(conv, x).grad_fn.name() == "_FrameConvBackward"
    assert tcn.frame_max_pool(pool, x.requires_grad_()).grad_fn.name() == "_FrameMaxPoolBackward"
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert tcn.frame_conv(conv, x).grad_fn.name() != "_FrameConvBackward"
        assert tcn.frame_max_pool(pool, x).grad_fn.name() != "_FrameMaxPoolBackward"
    meta = torch.randn(1, 4, 6, 3, device="meta")
    assert tcn.frame_conv(conv.to("meta"), meta).shape == (1, 4, 6, 3)

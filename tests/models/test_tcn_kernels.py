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


def _tcn_step(module, x, grad):
    x = x.clone().requires_grad_()
    out = module(x)
    grads = torch.autograd.grad(out, [x, *module.parameters()], grad)
    return out, grads, [b.clone() for b in module.buffers()]


@pytest.mark.parametrize(
    ("channels", "stride", "padding", "kernel", "dilations", "frames"),
    [
        (16, 1, "zeros", 5, (1, 2), 8),  # CTR-GCN, BlockGCN: dilation 2 as phases side by side
        (16, 2, "zeros", 5, (1, 2), 9),  # stride 2 = dilation 2: the even phase; odd T
        (16, 1, "replicate", 5, (1, 2), 8),  # Hyper-GCN: oneDNN on the padded copy, phases
        (16, 1, "replicate", 5, (1, 2), 7),  # odd T + 8 padded frames: dilation 2 as it is
        (16, 2, "replicate", 5, (1, 2), 9),  # stride 2 = dilation 2: the even phase; odd T
        (16, 2, "replicate", 5, (1, 2), 8),
        (12, 1, "zeros", 3, (1, 2, 3, 4), 7),  # MS-G3D: dilations 3 and 4 run as they are
        (24, 2, "zeros", 3, (1, 2, 3, 4), 10),
    ],
)
def test_written_multiscale_matches_the_module_path(
    monkeypatch, channels, stride, padding, kernel, dilations, frames
):
    """`_MultiScale` (training, eager CPU) against the branch-by-branch module path in float64:
    output, the gradients of the input and every parameter, the running statistics."""
    import copy

    torch.manual_seed(0)
    module = tcn.MultiScaleTemporalConv(
        channels, channels, kernel, stride, dilations, residual=False, activation=False,
        padding_mode=padding,
    ).double()  # fmt: skip
    for p in module.parameters():
        nn.init.normal_(p, 0.0, 0.5)
    t_out = (frames - 1) // stride + 1
    # two steps: the second runs on the spares (layers.spares) the first one gave back
    batches = [
        (torch.randn(3, channels, frames, 4, dtype=torch.double),
         torch.randn(3, channels, t_out, 4, dtype=torch.double))
        for _ in range(2)
    ]  # fmt: skip
    plain = copy.deepcopy(module)
    monkeypatch.setattr(tcn, "eager_cpu", lambda t: t.device.type == "cpu")  # float64 too
    steps = [_tcn_step(module, x, grad) for x, grad in batches]
    assert all(out.grad_fn.name() == "_MultiScaleBackward" for out, _, _ in steps)
    assert module._spares  # kept for the next step
    monkeypatch.setattr(tcn.MultiScaleTemporalConv, "_written", lambda self, t: False)
    for (out, grads, _), (x, grad) in zip(steps, batches, strict=True):
        ref, ref_grads, ref_buffers = _tcn_step(plain, x, grad)
        assert torch.allclose(out, ref, rtol=0, atol=1e-12)
        for got, want in zip(grads, ref_grads, strict=True):
            scale = max(1.0, want.abs().max().item())
            assert torch.allclose(got, want, rtol=0, atol=1e-10 * scale)
    for got, want in zip(steps[-1][2], ref_buffers, strict=True):  # after both steps
        assert torch.equal(got, want) or torch.allclose(got, want, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("stride", "padding", "with_res", "relu"),
    [
        (1, "replicate", True, True),  # Hyper-GCN's block ending
        (2, "replicate", True, True),
        (1, "zeros", True, True),  # CTR-GCN's
        (2, "zeros", True, False),
        (1, "zeros", False, True),
    ],
)
def test_written_multiscale_residual_relu_matches_the_plain_ops(
    monkeypatch, stride, padding, with_res, relu
):
    """relu?(tcn(x) + res) with the sum and ReLU in `_MultiScale`'s last batch norm against the
    module path followed by the plain sum and ReLU, in float64: output, the gradients of x, res
    and every parameter, two steps (the second on the spares)."""
    import copy

    torch.manual_seed(1)
    module = tcn.ctrgcn_temporal(16, stride, padding_mode=padding).double()
    for p in module.parameters():
        nn.init.normal_(p, 0.0, 0.5)
    plain = copy.deepcopy(module)
    t_out = (8 - 1) // stride + 1

    def step(mod, x, res, grad):
        x = x.clone().requires_grad_()
        res = res.clone().requires_grad_() if with_res else None
        out = mod(x, res, relu=relu)
        inputs = [x, *([res] if with_res else []), *mod.parameters()]
        return out, torch.autograd.grad(out, inputs, grad)

    batches = [
        (torch.randn(3, 16, 8, 4, dtype=torch.double),
         torch.randn(3, 16, t_out, 4, dtype=torch.double),
         torch.randn(3, 16, t_out, 4, dtype=torch.double))
        for _ in range(2)
    ]  # fmt: skip
    monkeypatch.setattr(tcn, "eager_cpu", lambda t: t.device.type == "cpu")  # float64 too
    steps = [step(module, *batch) for batch in batches]
    assert all(out.grad_fn.name() == "_MultiScaleBackward" for out, _ in steps)
    monkeypatch.setattr(tcn.MultiScaleTemporalConv, "_written", lambda self, t: False)
    for (out, grads), batch in zip(steps, batches, strict=True):
        ref, ref_grads = step(plain, *batch)
        assert ref.grad_fn.name() != "_MultiScaleBackward"
        assert torch.allclose(out, ref, rtol=0, atol=1e-12)
        if relu:
            assert (out == 0).any() and (out > 0).any()  # the ReLU's mask matters
        for got, want in zip(grads, ref_grads, strict=True):
            scale = max(1.0, want.abs().max().item())
            assert torch.allclose(got, want, rtol=0, atol=1e-10 * scale)


def test_written_multiscale_stands_aside_in_eval_and_off_float32():
    module = tcn.ctrgcn_temporal(8)
    x = torch.randn(2, 8, 6, 3, requires_grad=True)
    assert module(x).grad_fn.name() == "_MultiScaleBackward"
    assert module.double()(x.double()).grad_fn.name() != "_MultiScaleBackward"
    assert module.float().eval()(x).grad_fn.name() != "_MultiScaleBackward"


def test_frame_mean_gradient_is_the_means(monkeypatch):
    """`frame_mean` (gradient a broadcast view) against x.mean(2, keepdim=True) in float64, with
    x also used elsewhere so that autograd adds the view to another gradient."""
    x = torch.randn(3, 4, 5, 6, dtype=torch.double, requires_grad=True)
    g_mean = torch.randn(3, 4, 1, 6, dtype=torch.double)
    g_x = torch.randn(3, 4, 5, 6, dtype=torch.double)
    ref = torch.autograd.grad((x.mean(2, keepdim=True), x * 2), x, (g_mean, g_x))[0]
    monkeypatch.setattr(tcn, "eager_cpu", lambda t: t.device.type == "cpu")  # float64 too
    out = tcn.frame_mean(x)
    assert out.grad_fn.name() == "_FrameMeanBackward"
    assert torch.allclose(out, x.mean(2, keepdim=True), rtol=0, atol=1e-15)
    got = torch.autograd.grad((out, x * 2), x, (g_mean, g_x))[0]
    assert torch.allclose(got, ref, rtol=0, atol=1e-14)

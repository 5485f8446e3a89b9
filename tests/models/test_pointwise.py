"""layers.pointwise: conv1x1 is F.conv2d with a 1x1 kernel, joint_embedding the Linear then the
permute into data_bn's layout: values and gradients."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import skelab.models.layers.pointwise as pointwise_module
from skelab.models.layers.pointwise import conv1x1, joint_embedding, pointwise


@pytest.mark.parametrize("bias", [True, False])
def test_conv1x1_matches_conv2d_forward_and_backward(bias):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 5, 4, 7, generator=g, requires_grad=True)
    w = torch.randn(6, 5, 1, 1, generator=g, requires_grad=True)
    b = torch.randn(6, generator=g, requires_grad=True) if bias else None
    grad = torch.randn(3, 6, 4, 7, generator=g)
    ours = conv1x1(x, w, b)
    assert ours.shape == (3, 6, 4, 7) and ours.is_contiguous()
    got = torch.autograd.grad(ours, [x, w] + ([b] if bias else []), grad)
    ref = F.conv2d(x, w, b)
    want = torch.autograd.grad(ref, [x, w] + ([b] if bias else []), grad)
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-5)
    for a, e in zip(got, want, strict=True):
        torch.testing.assert_close(a, e, rtol=1e-5, atol=1e-5)


def test_conv1x1_takes_a_2d_weight_and_a_strided_input():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 4, 6, 3, generator=g)[:, :, ::2]  # a frame-strided view
    w = torch.randn(5, 4, generator=g)
    torch.testing.assert_close(conv1x1(x, w, None), F.conv2d(x, w[:, :, None, None]))


@pytest.mark.parametrize("groups, stride", [(1, 2), (3, 1), (3, 2)])
def test_pointwise_is_the_grouped_strided_conv_forward_and_backward(groups, stride):
    torch.manual_seed(2)
    conv = torch.nn.Conv2d(6, 9, 1, stride=(stride, 1), groups=groups)
    x = torch.randn(2, 6, 7, 5, requires_grad=True)
    grad = torch.randn_like(conv(x))
    ours = pointwise(conv, x)
    got = torch.autograd.grad(ours, [x, conv.weight, conv.bias], grad)
    ref = conv(x)
    want = torch.autograd.grad(ref, [x, conv.weight, conv.bias], grad)
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-5)
    for a, e in zip(got, want, strict=True):
        torch.testing.assert_close(a, e, rtol=1e-5, atol=1e-5)


def test_conv1x1_takes_any_trailing_axes():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(2, 4, 3, 5, 6, generator=g)  # (N, C, T, windows, joints)
    w = torch.randn(7, 4, generator=g)
    want = F.conv3d(x, w[:, :, None, None, None])
    torch.testing.assert_close(conv1x1(x, w), want, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(conv1x1(x[..., 0, 0], w), want[..., 0, 0], rtol=1e-5, atol=1e-5)


def test_pointwise_refuses_a_conv_that_is_not_1x1():
    with pytest.raises(ValueError, match="1x1"):
        pointwise(torch.nn.Conv2d(2, 2, (3, 1)), torch.randn(1, 2, 4, 3))


def test_off_the_cpu_conv1x1_is_the_convolution_itself():
    # meta stands in for CUDA here: the memory model traces a GPU step on it, and a GPU runs
    # cuDNN's 1x1 convolution, not the CPU's batched products
    x = torch.randn(2, 6, 7, 5, 3, device="meta")
    w = torch.randn(9, 2, 1, 1, device="meta")
    out = conv1x1(x, w, torch.randn(9, device="meta"), stride=2, groups=3)
    assert out.shape == (2, 9, 4, 5, 3) and out.device.type == "meta"

    seen = []
    from torch.utils._python_dispatch import TorchDispatchMode

    class Ops(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            seen.append(func.overloadpacket.__name__)
            return func(*args, **(kwargs or {}))

    with Ops():
        conv1x1(torch.randn(2, 4, 3, 5, device="meta"), torch.randn(6, 4, device="meta"))
    assert "convolution" in seen and "bmm" not in seen and "baddbmm" not in seen


@pytest.mark.parametrize("persons", [1, 2])
def test_joint_embedding_written_in_data_bn_layout_matches_the_linear_and_its_gradients(
    monkeypatch, persons
):
    """The CPU form (one product per sample, person and joint, bias + pos as its added term)
    against the Linear over (N, M, T, V, C) rows and the permute, in float64 (where the CPU
    form is off unless forced): output and the gradients of x, weight, bias and pos."""
    g = torch.Generator().manual_seed(0)
    linear = nn.Linear(3, 16).double()
    pos = torch.randn(1, 5, 16, generator=g, dtype=torch.float64, requires_grad=True)
    x = torch.randn(2, 3, 4, 5, persons, generator=g, dtype=torch.float64, requires_grad=True)
    params = [x, linear.weight, linear.bias, pos]
    results = []
    for written in (True, False):
        monkeypatch.setattr(pointwise_module, "eager_cpu", lambda t, on=written: on)
        out = joint_embedding(linear, pos, x)
        assert out.shape == (2, persons * 5 * 16, 4)
        results.append((out, *torch.autograd.grad(out.sin().sum(), params)))
    want = (linear(x.permute(0, 4, 2, 3, 1)) + pos).permute(0, 1, 3, 4, 2).reshape(2, -1, 4)
    assert torch.equal(results[1][0], want)
    for got, ref in zip(*results, strict=True):
        assert torch.allclose(got, ref, rtol=1e-12, atol=1e-12)

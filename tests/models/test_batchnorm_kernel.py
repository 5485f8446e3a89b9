"""The CPU training-mode BatchNorm (`layers.batchnorm`) computes what BatchNorm + residual +
ReLU compute: outputs, saved statistics, running statistics and every gradient."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from shared_refs import compiled_kernels
from skelab.models.layers import batchnorm


@pytest.mark.parametrize("shape", [(3, 4, 5, 6), (2, 5, 7), (40, 2, 3, 2)])
@pytest.mark.parametrize(("with_res", "relu"), [(False, False), (True, True), (False, True)])
def test_batch_norm_train_matches_native(shape, with_res, relu):
    torch.manual_seed(0)
    y = torch.randn(*shape, dtype=torch.double) * 3 + 2
    c = shape[1]
    w, b = torch.rand(c, dtype=torch.double) + 0.5, torch.randn(c, dtype=torch.double)
    res = torch.randn(*shape, dtype=torch.double) if with_res else None
    rm, rv = torch.randn(c, dtype=torch.double), torch.rand(c, dtype=torch.double) + 1
    rm_ref, rv_ref = rm.clone(), rv.clone()
    ref, mean_ref, invstd_ref = torch.native_batch_norm(y, w, b, rm_ref, rv_ref, True, 0.3, 1e-5)
    if res is not None:
        ref = ref + res
    if relu:
        ref = ref.relu()
    out, mean, invstd = batchnorm.batch_norm_train(y, w, b, rm, rv, 0.3, 1e-5, res=res, relu=relu)
    pairs = ((out, ref), (mean, mean_ref), (invstd, invstd_ref), (rm, rm_ref), (rv, rv_ref))
    for got, want in pairs:
        assert torch.allclose(got, want, rtol=1e-12, atol=1e-12)


def test_batch_norm_train_writes_into_a_channel_slice():
    torch.manual_seed(1)
    y = torch.randn(3, 4, 5, 2, dtype=torch.double)
    buffer = torch.full((3, 10, 5, 2), 7.0, dtype=torch.double)
    out, _, _ = batchnorm.batch_norm_train(
        y, None, None, None, None, 0.0, 1e-5, out=buffer.narrow(1, 3, 4)
    )
    ref = torch.native_batch_norm(y, None, None, None, None, True, 0.0, 1e-5)[0]
    assert torch.allclose(buffer[:, 3:7], ref, atol=1e-12)
    assert (buffer[:, :3] == 7).all() and (buffer[:, 7:] == 7).all()
    assert out.data_ptr() == buffer[:, 3:7].data_ptr()


@pytest.mark.parametrize("relu", [False, True])
def test_batch_norm_act_gradients_match_the_plain_layers(relu):
    torch.manual_seed(2)
    y = torch.randn(4, 3, 6, 5, dtype=torch.double, requires_grad=True)
    res = torch.randn(4, 3, 6, 5, dtype=torch.double, requires_grad=True)
    w = (torch.rand(3, dtype=torch.double) + 0.5).requires_grad_()
    b = torch.randn(3, dtype=torch.double, requires_grad=True)
    out = batchnorm._BatchNormAct.apply(y, w, b, None, None, 0.0, 1e-5, res, relu)
    ref = nn.functional.batch_norm(y, None, None, w, b, True, 0.0, 1e-5) + res
    ref = ref.relu() if relu else ref
    assert torch.allclose(out, ref, atol=1e-12)
    grad = torch.randn_like(ref)
    got = torch.autograd.grad(out, (y, res, w, b), grad)
    want = torch.autograd.grad(ref, (y, res, w, b), grad)
    for a, r in zip(got, want, strict=True):
        assert torch.allclose(a, r, atol=1e-10)

    def written(y, w, b, res):
        return batchnorm._BatchNormAct.apply(y, w, b, None, None, 0.0, 1e-5, res, relu)

    small = [t.detach()[:2, :2, :3, :2].clone().requires_grad_() for t in (y, res)]
    w2, b2 = (t.detach()[:2].clone().requires_grad_() for t in (w, b))
    assert torch.autograd.gradcheck(written, (small[0], w2, b2, small[1]))


@pytest.mark.parametrize("momentum", [0.1, None])
def test_batch_norm_act_on_a_module_moves_its_state_as_the_module_does(momentum, monkeypatch):
    monkeypatch.setattr(batchnorm, "MIN_VALUES", 0)  # the written path on a tiny tensor
    torch.manual_seed(3)
    bn = nn.BatchNorm2d(6, momentum=momentum)
    with torch.no_grad():
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.normal_()
    ref_bn = nn.BatchNorm2d(6, momentum=momentum)
    ref_bn.load_state_dict(bn.state_dict())
    res = torch.randn(4, 6, 8, 5)
    for _ in range(3):
        y = torch.randn(4, 6, 8, 5) * 2 + 1
        out = batchnorm.batch_norm_act(bn, y, res, relu=True)
        ref = (ref_bn(y) + res).relu()
        assert torch.allclose(out, ref, atol=1e-5)
    for key, value in ref_bn.state_dict().items():
        assert torch.allclose(bn.state_dict()[key].double(), value.double(), atol=1e-6), key


def test_batch_norm_act_uses_the_module_where_the_written_path_stands_aside(monkeypatch):
    calls = []
    real = batchnorm.batch_norm_train
    monkeypatch.setattr(
        batchnorm, "batch_norm_train", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    small = torch.randn(8, 150, 64)  # under MIN_VALUES: ATen's kernel is faster
    bn1 = nn.BatchNorm1d(150)
    assert torch.allclose(batchnorm.batch_norm_act(bn1, small), bn1(small))
    assert not calls
    bn = nn.BatchNorm2d(3)
    bn.running_mean.fill_(0.5)
    bn.eval()  # running statistics: the plain module
    y = torch.randn(2, 3, 4, 5)
    assert torch.allclose(batchnorm.batch_norm_act(bn, y, relu=True), bn(y).relu())
    bn.train()
    meta = torch.empty(2, 3, 4, 5, device="meta")
    assert batchnorm.batch_norm_act(bn.to("meta"), meta, relu=True).device.type == "meta"


def _step(model, x, y):
    model.zero_grad(set_to_none=True)
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    return loss.detach(), {k: p.grad.clone() for k, p in model.named_parameters()}


@pytest.mark.parametrize("name", ["stgcn", pytest.param("msg3d", marks=pytest.mark.slow)])
def test_whole_model_step_with_the_written_batch_norm_matches_the_modules(name, monkeypatch):
    """In float64 (the written path let through), so no ReLU input near 0 flips sign."""
    from skelab.models import build

    torch.manual_seed(0)
    options = {"dropout": 0.0} if name == "stgcn" else {}
    model = build(name, num_classes=5, **options).double()
    x = torch.randn(2, 3, 8, 25, 2, dtype=torch.float64)
    y = torch.tensor([3, 1])
    calls = []
    real = batchnorm.batch_norm_train
    monkeypatch.setattr(
        batchnorm, "batch_norm_train", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    monkeypatch.setattr(batchnorm, "eager_cpu", lambda t: True)
    monkeypatch.setattr(batchnorm, "MIN_VALUES", 0)
    loss, got = _step(model, x, y)
    assert calls
    monkeypatch.setattr(batchnorm, "eager_cpu", lambda t: False)
    seen = len(calls)
    ref_loss, want = _step(model, x, y)
    assert len(calls) == seen  # the modules ran
    torch.testing.assert_close(loss, ref_loss, rtol=1e-10, atol=1e-12)
    for key, grad in want.items():
        torch.testing.assert_close(got[key], grad, rtol=1e-8, atol=1e-12)


def test_stacked_batch_norm_takes_the_written_path_and_keeps_the_function(monkeypatch):
    from skelab.models.layers import tcn

    torch.manual_seed(4)
    bns = [nn.BatchNorm2d(c).double() for c in (2, 3)]
    plain = [nn.BatchNorm2d(c).double() for c in (2, 3)]
    for bn, ref in zip(bns, plain, strict=True):
        with torch.no_grad():
            bn.weight.uniform_(0.5, 1.5)
            bn.bias.normal_()
        ref.load_state_dict(bn.state_dict())
    x = torch.randn(3, 5, 4, 2, dtype=torch.double, requires_grad=True)
    calls = []
    real = batchnorm._BatchNormAct.apply
    monkeypatch.setattr(batchnorm, "eager_cpu", lambda t: True)
    monkeypatch.setattr(batchnorm, "MIN_VALUES", 0)
    monkeypatch.setattr(batchnorm._BatchNormAct, "apply", lambda *a: calls.append(1) or real(*a))
    out = tcn.stacked_batch_norm(x, bns, relu=True)
    assert calls
    ref = torch.cat([bn(part) for bn, part in zip(plain, x.split([2, 3], 1), strict=True)], 1)
    ref = ref.relu()
    assert torch.allclose(out, ref, atol=1e-12)
    grad = torch.randn_like(ref)
    params = [p for bn in bns for p in bn.parameters()]
    ref_params = [p for bn in plain for p in bn.parameters()]
    got = torch.autograd.grad(out, [x, *params], grad)
    want = torch.autograd.grad(ref, [x, *ref_params], grad)
    for a, b in zip(got, want, strict=True):
        assert torch.allclose(a, b, atol=1e-10)
    for bn, ref_bn in zip(bns, plain, strict=True):
        for key, value in ref_bn.state_dict().items():
            assert torch.allclose(bn.state_dict()[key].double(), value.double(), atol=1e-12)


@compiled_kernels
@pytest.mark.parametrize("shape", [(3, 4, 5, 6), (2, 5, 7), (4, 3, 64, 25)])  # 30, 7: tails
@pytest.mark.parametrize(("with_res", "relu"), [(False, False), (True, True), (False, True)])
def test_compiled_batch_norm_train_matches_float64(shape, with_res, relu):
    torch.manual_seed(3)
    y = torch.randn(*shape) * 3 + 2
    c = shape[1]
    w, b = torch.rand(c) + 0.5, torch.randn(c)
    res = torch.randn(*shape) if with_res else None
    rm, rv = torch.randn(c), torch.rand(c) + 1
    rm64, rv64 = rm.double(), rv.double()
    ref, mean_ref, invstd_ref = torch.native_batch_norm(
        y.double(), w.double(), b.double(), rm64, rv64, True, 0.3, 1e-5
    )
    if res is not None:
        ref = ref + res.double()
    if relu:
        ref = ref.relu()
    out, mean, invstd = batchnorm.batch_norm_train(y, w, b, rm, rv, 0.3, 1e-5, res=res, relu=relu)
    assert out.dtype == torch.float32
    for got, want in ((out, ref), (mean, mean_ref), (invstd, invstd_ref), (rm, rm64), (rv, rv64)):
        assert torch.allclose(got.double(), want, rtol=1e-5, atol=1e-5)


@compiled_kernels
def test_compiled_batch_norm_writes_into_a_channel_slice():
    y = torch.randn(3, 4, 5, 2)
    buffer = torch.full((3, 10, 5, 2), 7.0)
    batchnorm.batch_norm_train(y, None, None, None, None, 0.0, 1e-5, out=buffer.narrow(1, 3, 4))
    ref = torch.native_batch_norm(y.double(), None, None, None, None, True, 0.0, 1e-5)[0]
    assert torch.allclose(buffer[:, 3:7].double(), ref, atol=1e-5)
    assert (buffer[:, :3] == 7).all() and (buffer[:, 7:] == 7).all()


@compiled_kernels
@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("affine", [True, False])
def test_compiled_batch_norm_act_gradients_match_float64(relu, affine):
    torch.manual_seed(4)
    y = torch.randn(4, 3, 6, 5, requires_grad=True)
    res = torch.randn(4, 3, 6, 5, requires_grad=True)
    w = (torch.rand(3) + 0.5).requires_grad_() if affine else None
    b = torch.randn(3, requires_grad=True) if affine else None
    out = batchnorm._BatchNormAct.apply(y, w, b, None, None, 0.0, 1e-5, res, relu)
    inputs = [y, res] + ([w, b] if affine else [])
    grad = torch.randn_like(out)
    got = torch.autograd.grad(out, inputs, grad)
    ref_inputs = [t.detach().double().requires_grad_() for t in inputs]
    y64, res64 = ref_inputs[:2]
    w64, b64 = ref_inputs[2:] if affine else (None, None)
    ref = nn.functional.batch_norm(y64, None, None, w64, b64, True, 0.0, 1e-5) + res64
    ref = ref.relu() if relu else ref
    want = torch.autograd.grad(ref, ref_inputs, grad.double())
    assert torch.allclose(out.double(), ref, atol=1e-5)
    for a, r in zip(got, want, strict=True):
        assert torch.allclose(a.double(), r, rtol=1e-4, atol=1e-5 * r.abs().max().item())


@compiled_kernels
def test_compiled_and_torch_batch_norm_agree_and_a_nan_stays_nan(monkeypatch):
    y = torch.randn(2, 3, 40, requires_grad=True)
    runs = []
    for on in (True, False):
        if not on:
            monkeypatch.setattr(batchnorm.native, "_LIBRARIES", {"batch_norm": None})
        out = batchnorm._BatchNormAct.apply(y, None, None, None, None, 0.0, 1e-5, None, True)
        runs.append((out, *torch.autograd.grad(out, [y], torch.ones_like(out))))
    for a, b in zip(*runs, strict=True):
        assert torch.allclose(a, b, atol=1e-6)
    monkeypatch.undo()
    bad = y.detach().clone()
    bad[1, 2, 5] = float("nan")
    out = batchnorm._BatchNormAct.apply(bad, None, None, None, None, 0.0, 1e-5, None, True)
    assert torch.isnan(out[:, 2]).all()  # the channel's statistics are NaN, and so is the ReLU
    assert torch.isfinite(out[:, :2]).all()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])  # compiled / ATen
def test_batch_norm_backward_in_place_and_masked_matches_autograd(dtype):
    torch.manual_seed(5)
    y = torch.randn(3, 4, 30, dtype=dtype)
    w = torch.rand(4, dtype=dtype) + 0.5
    out, mean, invstd = batchnorm.batch_norm_train(y, w, None, None, None, 0.0, 1e-5, relu=True)
    g = torch.randn_like(y)
    y64, w64 = y.double().requires_grad_(), w.double().requires_grad_()
    ref = nn.functional.batch_norm(y64, None, None, w64, None, True, 0.0, 1e-5).relu()
    want_y, want_w = torch.autograd.grad(ref, [y64, w64], g.double())
    masked_ref = torch.where(ref > 0, g.double(), 0.0)

    buffer = g.clone()  # dy written over the incoming gradient
    g_y, g_w, g_b, g_masked = batchnorm.batch_norm_backward(
        buffer, y, w, mean, invstd, 1e-5, relu_out=out, out=buffer, masked=True
    )
    assert g_y.data_ptr() == buffer.data_ptr()
    tol = 1e-4 if dtype == torch.float32 else 1e-10
    assert torch.allclose(g_y.double(), want_y, rtol=tol, atol=tol * want_y.abs().max().item())
    assert torch.allclose(g_w.double(), want_w, rtol=tol, atol=tol)
    assert torch.allclose(g_b.double(), masked_ref.sum((0, 2)), rtol=tol, atol=tol)
    assert torch.allclose(g_masked.double(), masked_ref)

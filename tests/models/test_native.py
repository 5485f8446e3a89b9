"""skelab's compiled CPU kernels: building, caching, switching off, and the window attention's
values and gradients against a float64 reference."""

from __future__ import annotations

import warnings

import pytest
import torch

from shared_refs import compiled_kernels, on_threads
from skelab.models import skateformer
from skelab.models.layers import native
from skelab.models.skateformer import window_attention


@pytest.fixture
def fresh(monkeypatch, tmp_path):
    """An empty build cache and no loaded kernels, for the duration of one test."""
    monkeypatch.setenv("SKELAB_CACHE", str(tmp_path))
    monkeypatch.setattr(native, "_LIBRARIES", {})
    return tmp_path


def _reference(qkv: torch.Tensor, bias: torch.Tensor | None, scale: float) -> torch.Tensor:
    """softmax((q * scale) k^T + bias) v per window and head, in float64, (B, H, d, N)."""
    q, k, v = qkv.double().transpose(-2, -1).unbind(0)  # (B, H, N, d)
    s = (q * scale) @ k.transpose(-2, -1)
    if bias is not None:
        s = s + bias.double()
    return (s.softmax(-1) @ v).transpose(-2, -1)


def _compiled(qkv, bias):
    return skateformer._compiled_fits(qkv, bias, 0.0)


@compiled_kernels
@pytest.mark.parametrize(
    ("windows", "heads", "width", "tokens"), [(5, 4, 3, 96), (3, 2, 6, 64), (4, 1, 5, 8)]
)
@pytest.mark.parametrize("with_bias", [True, False])
def test_compiled_attention_matches_float64_values_and_gradients(
    windows, heads, width, tokens, with_bias
):
    qkv = torch.randn(3, windows, heads, width, tokens, requires_grad=True)
    bias = torch.randn(heads, tokens, tokens, requires_grad=True) if with_bias else None
    gy = torch.randn(windows, heads, width, tokens)
    assert _compiled(qkv, bias)

    out = window_attention(qkv, bias, 0.7)
    grads = torch.autograd.grad(out, [qkv] + ([bias] if with_bias else []), gy)

    q64 = qkv.detach().double().requires_grad_()
    b64 = bias.detach().double().requires_grad_() if with_bias else None
    expected = _reference(q64, b64, 0.7)
    wanted = torch.autograd.grad(expected, [q64] + ([b64] if with_bias else []), gy.double())
    assert out.dtype == torch.float32
    assert torch.allclose(out.double(), expected, rtol=1e-5, atol=1e-6)
    for got, want in zip(grads, wanted, strict=True):
        assert torch.allclose(got.double(), want, rtol=1e-4, atol=1e-5 * want.abs().max().item())


@compiled_kernels
def test_compiled_attention_splits_windows_over_threads_with_the_same_result():
    qkv = torch.randn(3, 40, 2, 3, 16, requires_grad=True)
    bias = torch.randn(2, 16, 16, requires_grad=True)
    gy = torch.randn(40, 2, 3, 16)

    def run(threads):
        assert len(native.split(40)) == threads
        out = window_attention(qkv, bias, 0.5)
        return (out, *torch.autograd.grad(out, [qkv, bias], gy))

    for a, b in zip(*on_threads(run), strict=True):
        assert torch.allclose(a, b, atol=1e-6)


@compiled_kernels
def test_compiled_attention_propagates_nan_like_the_torch_form():
    qkv = torch.randn(3, 2, 1, 3, 8)
    qkv[0, 1, 0, 0, 3] = float("nan")  # one query of the second window
    bias = torch.randn(1, 8, 8)
    out = window_attention(qkv, bias, 0.5)
    assert torch.isfinite(out[0]).all()
    assert torch.isnan(out[1, 0, :, 3]).all()
    assert torch.isfinite(out[1, 0, :, :3]).all()


@compiled_kernels
def test_compiled_kernels_match_the_torch_forms_inside_a_skateformer_block():
    torch.manual_seed(1)
    block = skateformer.SkateFormerBlock(32, 12, 8, ((2, 4), (2, 4), (2, 4), (2, 4)))
    with torch.no_grad():
        for msa in block.attention:
            msa.relative_position_bias_table.normal_()
    x = torch.randn(2, 4, 12, 32, requires_grad=True)
    gy = torch.randn(2, 4, 12, 32)
    params = [x, *block.parameters()]
    runs = []
    for on in (True, False):
        with pytest.MonkeyPatch.context() as mp:
            if not on:  # attention, T-Conv and GELU all in their torch forms
                off = dict.fromkeys(["window_attention", "grouped_frame_conv", "gelu"])
                mp.setattr(native, "_LIBRARIES", off)
            assert _compiled(torch.empty(3, 1, 1, 1, 8), None) is on
            assert (skateformer._frame_conv_kernel(block.tconv, x) is not None) is on
            y = block(x)
            runs.append((y, torch.autograd.grad(y, params, gy)))
            # the compiled form keeps no N x N probabilities between steps; the torch form does
            assert any(msa._spares for msa in block.attention) is not on
    (y1, g1), (y0, g0) = runs
    assert torch.allclose(y1, y0, atol=2e-6)
    for a, b in zip(g1, g0, strict=True):
        assert torch.allclose(a, b, rtol=1e-4, atol=2e-6 * b.abs().max().item())


def test_attention_takes_the_torch_form_where_the_kernel_does_not_fit():
    bias = torch.randn(2, 8, 8)
    assert not _compiled(torch.randn(3, 1, 2, 3, 6), None)  # tokens not a multiple of 8
    assert not _compiled(torch.randn(3, 1, 2, 3, 8, dtype=torch.float64), None)
    assert not _compiled(torch.randn(3, 1, 2, 40, 8), None)  # head width over 32
    assert not _compiled(torch.randn(3, 1, 2, 3, 8), bias.double())
    assert not skateformer._compiled_fits(torch.randn(3, 1, 2, 3, 8), bias, 0.1)  # dropout


def test_switched_off_kernels_are_never_built(fresh, monkeypatch):
    monkeypatch.setenv("SKELAB_NATIVE", "0")
    assert native.library("window_attention", skateformer._ATTENTION) is None
    assert not list(fresh.rglob("*.so"))
    qkv = torch.randn(3, 2, 1, 3, 8)
    assert not _compiled(qkv, None)
    assert torch.allclose(window_attention(qkv, None, 0.5).double(), _reference(qkv, None, 0.5))


@compiled_kernels
def test_a_kernel_is_built_once_into_the_cache_and_reused(fresh, monkeypatch):
    lib = native.library("window_attention", skateformer._ATTENTION)
    assert lib is not None
    built = list((fresh / "native").glob("window_attention-*.so"))
    assert len(built) == 1
    stamp = built[0].stat().st_mtime_ns

    monkeypatch.setattr(native, "_LIBRARIES", {})  # a new process: found, not compiled again
    monkeypatch.setattr(native.subprocess, "run", lambda *a, **k: pytest.fail("rebuilt"))
    assert native.library("window_attention", skateformer._ATTENTION) is not None
    assert built[0].stat().st_mtime_ns == stamp
    assert not list((fresh / "native").glob(".*"))  # no temporary file left behind


def test_a_failing_compiler_warns_once_and_the_torch_form_runs(fresh, monkeypatch):
    monkeypatch.setenv("SKELAB_NATIVE", "1")  # kernels wanted, whatever this run's setting
    monkeypatch.setenv("CC", "false")  # exits 1 without output
    with pytest.warns(RuntimeWarning, match="torch-operation form runs instead.*false"):
        assert native.library("window_attention", skateformer._ATTENTION) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no second warning
        assert native.library("window_attention", skateformer._ATTENTION) is None
    qkv = torch.randn(3, 2, 1, 3, 8)
    assert not _compiled(qkv, None)
    assert not list((fresh / "native").iterdir())  # the failed build left nothing


def test_no_compiler_names_the_fix(fresh, monkeypatch):
    monkeypatch.delenv("CC", raising=False)
    monkeypatch.setattr(native.shutil, "which", lambda name: None)
    with pytest.raises(native.NativeBuildError, match="apt install gcc.*SKELAB_NATIVE=0"):
        native.build("window_attention")


def test_an_unwritable_cache_names_skelab_cache(fresh, monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("SKELAB_CACHE", str(blocker))
    with pytest.raises(native.NativeBuildError, match="SKELAB_CACHE"):
        native.build("window_attention")


@compiled_kernels
def test_compiled_gelu_and_its_derivative_match_float64():
    lib = skateformer._gelu_kernel(torch.empty(1), 8)
    assert lib is not None
    x = torch.linspace(-10, 10, 4000).view(500, 8)
    h, a = x.clone(), torch.empty_like(x)
    bias = torch.linspace(-1, 1, 8)
    skateformer._bias_gelu(lib, h, bias, a)
    x64 = (x.double() + bias.double()).requires_grad_()
    expected = torch.nn.functional.gelu(x64)
    assert torch.equal(h, x + bias)  # the bias is added in place
    assert (a.double() - expected).abs().max() < 1e-6
    g = torch.randn(500, 8)
    (slope,) = torch.autograd.grad(expected, x64, g.double())
    skateformer._gelu_backward_(lib, g, h)
    assert (g.double() - slope).abs().max() < 1e-6 * slope.abs().max()


@compiled_kernels
@pytest.mark.parametrize(("dim", "hidden"), [(16, 64), (3, 12)])  # 12: not a multiple of 8
def test_mlp_with_the_compiled_gelu_matches_the_torch_form(dim, hidden):
    assert (skateformer._gelu_kernel(torch.empty(1), hidden) is not None) is (hidden % 8 == 0)
    mlp = skateformer.Mlp(dim, hidden)
    x = torch.randn(50, dim, requires_grad=True)
    residual = torch.randn(50, dim, requires_grad=True)
    gy = torch.randn(50, dim)
    inputs = [x, residual, *mlp.parameters()]
    runs = []
    for on in (True, False):
        with pytest.MonkeyPatch.context() as mp:
            if not on:
                mp.setattr(native, "_LIBRARIES", {"gelu": None})
            out = mlp(x, residual=residual)
            runs.append((out, *torch.autograd.grad(out, inputs, gy)))
    for a, b in zip(*runs, strict=True):
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-6 * b.abs().max().item())


@compiled_kernels
@pytest.mark.parametrize(("channels", "groups", "kernel"), [(24, 8, 7), (12, 2, 3), (8, 8, 5)])
def test_compiled_grouped_frame_conv_matches_float64_values_and_gradients(channels, groups, kernel):
    conv = torch.nn.Conv2d(
        channels, channels, (kernel, 1), padding=((kernel - 1) // 2, 0), groups=groups
    )
    x = torch.randn(3, 10, 5, channels, requires_grad=True)  # (N, T, V, C), channels-last
    lib = skateformer._frame_conv_kernel(conv, x)
    assert lib is not None
    y = skateformer._GroupedFrameConv.apply(x, conv.weight, conv.bias, groups, lib)
    gy = torch.randn_like(y)
    grads = torch.autograd.grad(y, [x, conv.weight, conv.bias], gy)

    conv64 = conv.double()
    x64 = x.detach().double().requires_grad_()
    expected = conv64(x64.permute(0, 3, 1, 2))
    wanted = torch.autograd.grad(expected, [x64, conv64.weight, conv64.bias], gy.double())
    assert y.shape == expected.shape and y.is_contiguous()
    assert torch.allclose(y.double(), expected, atol=1e-5)
    for got, want in zip(grads, wanted, strict=True):
        assert torch.allclose(got.double(), want, rtol=1e-5, atol=1e-5 * want.abs().max().item())


def test_grouped_frame_conv_kernel_takes_only_same_size_zero_padded_convs():
    x = torch.randn(1, 4, 3, 8)
    same = torch.nn.Conv2d(8, 8, (7, 1), padding=(3, 0), groups=8)
    assert skateformer._frame_conv_kernel(same, x.double()) is None
    for conv in (
        torch.nn.Conv2d(8, 8, (7, 1), padding=(2, 0), groups=8),
        torch.nn.Conv2d(8, 8, (7, 1), padding=(3, 0), stride=(2, 1), groups=8),
        torch.nn.Conv2d(8, 8, (7, 1), padding=(3, 0), groups=8, padding_mode="replicate"),
        torch.nn.Conv2d(8, 8, (7, 3), padding=(3, 1), groups=8),
    ):
        assert skateformer._frame_conv_kernel(conv, x) is None

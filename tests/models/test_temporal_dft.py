"""layers.temporal: the DFT-form (K, 1) convolution is F.conv2d, values and gradients."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from skelab.models.layers import temporal
from skelab.models.layers.temporal import dft_conv, dft_length, temporal_conv

CASES = [
    # (N, C_in, C_out, T, V, K, stride, padding, dilation, bias)
    (2, 3, 4, 10, 5, 9, 1, 4, 1, True),  # ST-GCN's (9, 1) "same" conv
    (1, 3, 4, 11, 5, 9, 2, 4, 1, False),  # stride 2, odd T, batch 1, no bias
    (2, 3, 5, 7, 3, 3, 1, 2, 2, True),  # dilation 2, odd T
    (2, 3, 5, 13, 3, 5, 2, 0, 1, True),  # no padding, stride 2
    (2, 3, 5, 6, 3, 9, 1, 4, 1, True),  # kernel longer than the clip
    (1, 2, 3, 9, 2, 3, 3, 1, 1, False),  # stride 3
    (2, 4, 2, 8, 3, 5, 1, 3, 2, True),  # padding under half the span: fewer frames out
]


@pytest.mark.parametrize("gauss", [False, True])
@pytest.mark.parametrize("case", CASES)
def test_dft_conv_is_conv2d_values_and_gradients(case, gauss):
    n, c, o, t, v, k, s, p, d, bias = case
    g = torch.Generator().manual_seed(sum(case[:-1]))
    x = torch.randn(n, c, t, v, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(o, c, k, 1, generator=g, dtype=torch.float64, requires_grad=True)
    b = torch.randn(o, generator=g, dtype=torch.float64, requires_grad=True) if bias else None
    inputs = [x, w] + ([b] if bias else [])
    ref = F.conv2d(x, w, b, stride=(s, 1), padding=(p, 0), dilation=(d, 1))
    ours = dft_conv(x, w, b, stride=s, padding=p, dilation=d, gauss=gauss)
    assert ours.shape == ref.shape
    grad = torch.randn(ref.shape, generator=g, dtype=torch.float64)
    want = torch.autograd.grad(ref, inputs, grad)
    got = torch.autograd.grad(ours, inputs, grad)
    torch.testing.assert_close(ours, ref, rtol=1e-10, atol=1e-10)
    for a, e in zip(got, want, strict=True):
        torch.testing.assert_close(a, e, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("gauss", [False, True])
def test_dft_conv_float32_error_at_stgcn_width(gauss):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2, 64, 64, 5, generator=g, requires_grad=True)
    w = (torch.randn(64, 64, 9, 1, generator=g) * 0.05).requires_grad_()
    b = torch.randn(64, generator=g, requires_grad=True)
    ref = F.conv2d(x, w, b, padding=(4, 0))
    ours = dft_conv(x, w, b, padding=4, gauss=gauss)
    grad = torch.randn(ref.shape, generator=g)
    want = torch.autograd.grad(ref, (x, w, b), grad)
    got = torch.autograd.grad(ours, (x, w, b), grad)
    assert (ours - ref).abs().max() < 1e-5 * ref.abs().max()
    for a, e in zip(got, want, strict=True):
        assert (a - e).abs().max() < 1e-5 * e.abs().max()


def test_dft_length_covers_the_kept_outputs():
    assert dft_length(64, 9, 4, 1) == (68, 64)  # T + padding, not T + span - 1
    assert dft_length(64, 9, 4, 2) == (68, 32)
    assert dft_length(11, 9, 4, 2) == (16, 6)  # rounded up to even


def _calls(monkeypatch):
    seen = []
    real = temporal.dft_conv
    monkeypatch.setattr(temporal, "dft_conv", lambda *a, **k: seen.append(1) or real(*a, **k))
    return seen


def test_temporal_conv_takes_the_dft_form_on_the_cpu_only_where_it_wins(monkeypatch):
    seen = _calls(monkeypatch)
    wide = torch.nn.Conv2d(64, 64, (9, 1), padding=(4, 0))
    strided = torch.nn.Conv2d(64, 64, (9, 1), stride=(2, 1), padding=(4, 0))
    small, big = torch.randn(1, 64, 32, 2), torch.randn(4, 64, 32, 25)  # 2 and 100 columns
    with torch.no_grad():  # forward only: stride 1 at any batch, stride 2 never
        torch.testing.assert_close(temporal_conv(wide, small), wide(small), rtol=1e-4, atol=1e-4)
        assert len(seen) == 1
        temporal_conv(strided, big)
        assert len(seen) == 1
    temporal_conv(wide, small)  # training on 2 columns: the weight blocks would dominate
    assert len(seen) == 1
    torch.testing.assert_close(temporal_conv(wide, big), wide(big), rtol=1e-4, atol=1e-4)
    assert len(seen) == 2
    temporal_conv(strided, big)  # strided layers from 400 columns
    assert len(seen) == 2
    temporal_conv(strided, torch.randn(16, 64, 32, 25))
    assert len(seen) == 3
    narrow = torch.nn.Conv2d(32, 32, (9, 1), padding=(4, 0))  # under MIN_CHANNELS
    temporal_conv(narrow, torch.randn(16, 32, 64, 25))
    assert len(seen) == 3
    five = torch.nn.Conv2d(64, 64, (5, 1), padding=(2, 0))  # under MIN_TAPS (ratio 1.76)
    temporal_conv(five, torch.randn(16, 64, 32, 25))
    assert len(seen) == 3


class _Wrap(torch.nn.Module):
    def __init__(self, conv):
        super().__init__()
        self.conv = conv

    def forward(self, x):
        return temporal_conv(self.conv, x)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize(
    "where",
    ["eager", "float64", "meta", "autocast", "compiling", "tracing"],
)
@torch.no_grad()  # where the DFT form is otherwise taken at any batch
def test_temporal_conv_stands_aside(monkeypatch, where):
    seen = _calls(monkeypatch)
    conv = torch.nn.Conv2d(64, 64, (9, 1), padding=(4, 0))
    x = torch.randn(1, 64, 32, 2)
    if where == "float64":
        conv, x = conv.double(), x.double()
        temporal_conv(conv, x)
    elif where == "meta":
        out = temporal_conv(conv.to("meta"), x.to("meta"))
        assert out.device.type == "meta"
    elif where == "autocast":
        with torch.autocast("cpu", dtype=torch.bfloat16):
            temporal_conv(conv, x)
    elif where == "compiling":
        monkeypatch.setattr(torch.compiler, "is_compiling", lambda: True)
        temporal_conv(conv, x)
    elif where == "tracing":
        torch.jit.trace(_Wrap(conv), x, check_trace=False)
    else:
        temporal_conv(conv, x)
    assert seen == ([1] if where == "eager" else [])

"""ST-GCN's CPU fast paths (DFT temporal convs, uniform-draw dropout) keep the function."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from skelab.models import build
from skelab.models.layers import tcn, temporal
from skelab.models.stgcn import _dropout


def _grads(model, x, y):
    model.zero_grad(set_to_none=True)
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    return loss.detach(), {k: p.grad.clone() for k, p in model.named_parameters()}


@pytest.mark.slow
def test_stgcn_step_with_dft_convs_matches_the_plain_convs(monkeypatch):
    """In float64 (the DFT form let through), so that no ReLU input near 0 flips sign between
    the two float32 roundings (one flip moves a gradient by ~1e-3: seen at batch 2)."""
    torch.manual_seed(0)
    model = build("stgcn", num_classes=5, dropout=0.0).double()
    x = torch.randn(1, 3, 16, 25, 1, dtype=torch.float64)
    y = torch.tensor([3])
    seen = []
    real = temporal.dft_conv
    monkeypatch.setattr(temporal, "dft_conv", lambda *a, **k: seen.append(1) or real(*a, **k))
    for module in (temporal, tcn):  # frame_conv, then temporal_conv, let float64 through
        monkeypatch.setattr(module, "eager_cpu", lambda t: t.device.type == "cpu")
    monkeypatch.setattr(temporal, "MIN_COLUMNS_TRAIN", 0)  # every block, on a tiny batch
    monkeypatch.setattr(temporal, "MIN_COLUMNS_STRIDED", 0)
    loss, got = _grads(model, x, y)
    calls = len(seen)
    assert calls == 9  # all but the strided 256-channel conv (ratio 1.48 at 8 frames)
    monkeypatch.setattr(temporal, "MIN_RATIO", float("inf"))
    ref_loss, want = _grads(model, x, y)
    assert len(seen) == calls  # the plain convs ran
    torch.testing.assert_close(loss, ref_loss, rtol=1e-10, atol=1e-12)
    for k, g in want.items():
        torch.testing.assert_close(got[k], g, rtol=1e-8, atol=1e-12)


def test_stgcn_float32_logits_with_dft_convs_match_the_plain_convs(monkeypatch):
    torch.manual_seed(0)
    model = build("stgcn", num_classes=5, dropout=0.0)
    x = torch.randn(2, 3, 24, 25, 2)
    got = model(x)
    monkeypatch.setattr(temporal, "MIN_RATIO", float("inf"))
    want = model(x)
    assert (got - want).abs().max() < 1e-5 * want.abs().max()


def test_dropout_keeps_half_scaled_by_two_and_passes_the_mask_back():
    drop = torch.nn.Dropout(0.5, inplace=True).train()
    torch.manual_seed(0)
    x = torch.ones(200_000, requires_grad=True)
    y = _dropout(drop, x * 1.0)
    assert set(y.unique().tolist()) == {0.0, 2.0}
    assert abs((y > 0).float().mean().item() - 0.5) < 0.01
    y.backward(torch.ones_like(y))
    torch.testing.assert_close(x.grad, y.detach())
    assert _dropout(drop.eval(), x) is x

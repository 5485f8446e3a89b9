"""DeGCN's pieces on tiny shapes: deformable temporal sampling against a direct reading of
upstream's DeTGC, the window checks, upstream's keywords and the summed per-stream loss."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from skelab.engine.losses import compute_loss
from skelab.errors import ModelConfigError, SkelabError
from skelab.models import build, degcn
from skelab.models.degcn import DeformableTemporalConv, GroupedCTRGraphConv, _FrameTaps


def _detgc_reference(layer: DeformableTemporalConv, x: torch.Tensor) -> torch.Tensor:
    """DeTGC as upstream computes it: gather the floor/ceil frames with indices expanded over
    (N, C, eta*T', V), weight them by (ceil - t) and (1 - (ceil - t)), Conv3d over the taps."""
    n, c, t, v = x.shape
    eta, s = layer.tr.shape[0], layer.stride
    pos = (torch.arange(0, t, s, dtype=x.dtype).view(1, -1) + layer.tr.view(-1, 1)).view(
        1, 1, -1, 1
    )
    down = pos.detach().floor()
    up = down + 1
    i1 = down.clamp(0, layer.frames - 1).long().expand(n, c, -1, v)
    i2 = up.clamp(0, layer.frames - 1).long().expand(n, c, -1, v)
    w = up - pos
    y = (x.gather(2, i1) * w + x.gather(2, i2) * (1 - w)).view(n, c, eta, t // s, v)
    y = F.conv3d(y, layer.conv.weight, layer.conv.bias).squeeze(2)
    return layer.bn(y)


@pytest.mark.parametrize("cpu_path", [True, False])
@pytest.mark.parametrize("stride", [1, 2])
def test_deformable_temporal_conv_equals_upstream_sampling_with_gradients(
    monkeypatch, stride, cpu_path
):
    monkeypatch.setattr(degcn, "eager_cpu", lambda _x: cpu_path)  # both paths, in float64
    torch.manual_seed(0)
    layer = DeformableTemporalConv(4, eta=4, kernel=5, dilation=2, stride=stride, frames=8)
    layer = layer.double()  # float64, so that only a different function can fail the check
    with torch.no_grad():
        layer.tr.copy_(torch.tensor([-4.0, -1.3, 0.6, 9.2]))  # an integer and an out-of-clip tap
    x = torch.randn(2, 4, 8, 3, dtype=torch.float64, requires_grad=True)

    ours = layer(x)
    ours.square().sum().backward()
    grads = x.grad.clone(), layer.tr.grad.clone(), layer.conv.weight.grad.clone()
    x.grad = layer.tr.grad = layer.conv.weight.grad = None
    ref = _detgc_reference(layer, x)
    ref.square().sum().backward()

    assert ours.shape == (2, 4, 8 // stride, 3)
    torch.testing.assert_close(ours, ref)
    for got, want in zip(grads, (x.grad, layer.tr.grad, layer.conv.weight.grad), strict=True):
        torch.testing.assert_close(got, want)


def test_degcn_refuses_any_window_but_64_when_built():
    with pytest.raises(ModelConfigError, match=r"(?s)48 frames.*data\.window=64"):
        build("degcn", window=48)


def test_degcn_refuses_any_clip_length_but_64_when_called():
    model = build("degcn", num_classes=3, num_stream=1)

    with pytest.raises(ModelConfigError, match=r"(?s)input has 80 frames.*frame 63"):
        model(torch.zeros(1, 3, 80, 25, 2))


def test_degcn_takes_upstream_model_args_including_unused_k():
    model = build(
        "degcn",
        num_class=120,
        num_point=25,
        num_person=2,
        k=8,
        eta=4,
        num_stream=3,
        graph="graph.ntu_rgb_d.Graph",
        graph_args={"labeling_mode": "spatial"},
    )

    assert len(model.fc) == 3 and model.fc[0].out_features == 120


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"in_channels": 2}, "in_channels=2"),
        ({"graph_args": {"labeling_mode": "uniform"}}, "graph_args"),
        ({"num_stream": 0}, "num_stream=0"),
    ],
)
def test_degcn_rejects_what_upstream_cannot_build(options, words):
    with pytest.raises(ModelConfigError, match=words):
        build("degcn", **options)


def test_degcn_stream_logits_before_a_forward_is_an_error():
    with pytest.raises(SkelabError, match="forward pass first"):
        build("degcn").stream_logits()


@pytest.mark.slow
def test_degcn_loss_is_the_sum_of_label_smoothed_stream_losses_as_upstream_main():
    torch.manual_seed(0)
    model = build("degcn", num_classes=5, num_persons=1).eval()
    x, y = torch.randn(1, 3, 64, 25, 1), torch.tensor([4])

    logits = model(x)
    loss, terms = compute_loss(model, logits, y, label_smoothing=0.1)

    expected = 0.0
    for z in model.stream_logits():  # upstream main.py's LabelSmoothingCrossEntropy, eps 0.1
        logp = z.log_softmax(-1)
        expected = expected + 0.1 / 5 * (-logp.sum(-1)).mean() + 0.9 * F.nll_loss(logp, y)
    assert set(terms) == {"ce_stream0", "ce_stream1"}
    assert math.isclose(loss.item(), float(expected.detach()), rel_tol=1e-5)
    torch.testing.assert_close(logits, sum(model.stream_logits()))


def test_frame_taps_backward_passes_gradcheck_with_taps_beyond_the_clip():
    x = torch.randn(1, 2, 8, 3, dtype=torch.float64, requires_grad=True)
    frac = torch.rand(4, 4, dtype=torch.float64, requires_grad=True)
    offsets = [-3, -1, 0, 9]  # frames read before the first and after the last are clamped

    def taps(x: torch.Tensor, frac: torch.Tensor) -> torch.Tensor:
        return _FrameTaps.apply(x, frac, offsets, 2)

    assert torch.autograd.gradcheck(taps, (x, frac))


@pytest.mark.parametrize(("in_channels", "chunk"), [(64, 1 << 22), (128, 1 << 22), (64, 1)])
def test_ctr_graph_conv_cpu_path_equals_the_plain_path_with_gradients(
    monkeypatch, in_channels, chunk
):
    torch.manual_seed(0)
    monkeypatch.setattr(degcn, "_CHUNK_VALUES", chunk)  # 1: one sample per chunk
    graph = torch.rand(3, 5, 5)
    layer = GroupedCTRGraphConv(in_channels, 64, graph, groups=4).double()
    with torch.no_grad():
        layer.alpha.fill_(0.7)  # upstream starts at 0, which hides conv4's term
    x = torch.randn(3, in_channels, 6, 5, dtype=torch.float64, requires_grad=True)
    results = []
    for cpu_path in (True, False):
        monkeypatch.setattr(degcn, "eager_cpu", lambda _x, on=cpu_path: on)
        out = layer(x)
        params = [x, layer.A, layer.alpha, layer.conv3.weight, layer.conv4.weight]
        params += [layer.conv4.bias, layer.conv1.weight, layer.conv2.weight]
        results.append((out, *torch.autograd.grad(out.square().sum(), params)))
    for got, want in zip(*results, strict=True):
        torch.testing.assert_close(got, want)

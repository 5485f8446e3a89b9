"""MS-G3D graphs, window geometry, variants (NTU120, one person, other windows), loading."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from skelab.errors import CheckpointError, ModelConfigError
from skelab.models import build, count_parameters, get_card, load_upstream_checkpoint
from skelab.models.layers.tcn import MultiScaleTemporalConv
from skelab.models.msg3d import (
    GraphConv,
    MultiWindowG3D,
    WindowCollapse,
    disentangled_scales,
    k_hop_adjacency,
    window_graph,
)
from skelab.skeletons import NTU25

# --------------------------------------------------------------------------------------------
# Graphs


def test_k_hop_scales_partition_every_joint_pair_of_the_ntu_skeleton():
    a = NTU25.binary_adjacency

    hops = [k_hop_adjacency(a, k) - (k > 0) * np.eye(25, dtype=np.int64) for k in range(13)]

    assert [int(h.sum()) for h in hops[1:]] == [48, 54, 60, 66, 72, 72, 72, 56, 40, 30, 20, 10]
    assert np.array_equal(sum(hops), np.ones((25, 25)))  # each pair exactly once (diameter 12)


def test_disentangled_scales_are_symmetrically_normalised_with_identity_first():
    scales = disentangled_scales(NTU25.binary_adjacency, 13)

    assert scales.shape == (13, 25, 25) and scales.dtype == np.float32
    assert np.array_equal(scales[0], np.eye(25, dtype=np.float32))
    assert np.allclose(scales, scales.transpose(0, 2, 1))
    deg = (scales[1] > 0).sum(axis=1)
    assert np.isclose(scales[1][20, 1], 1 / np.sqrt(deg[20] * deg[1]))  # spine shoulder - spine


@pytest.mark.parametrize(
    ("window", "nnz"),
    [(3, [75, 657, 561, 615, 669, 723]), (5, [125, 1825, 1475, 1625, 1775, 1925])],
)
def test_g3d_window_graph_scales_have_upstream_sparsity(window, nnz):
    scales = disentangled_scales(window_graph(NTU25.binary_adjacency, window), 6)

    assert scales.shape == (6, 25 * window, 25 * window)
    assert [int((s != 0).sum()) for s in scales] == nnz


# --------------------------------------------------------------------------------------------
# Window geometry against an explicit unfold (upstream's formulation)


def _unfold_reference(layer: GraphConv, x_tv: torch.Tensor) -> torch.Tensor:
    """Upstream's order: unfold windows (frame-major nodes), einsum, scale-major 1x1, BN, ReLU."""
    n, c, _, v = x_tv.shape
    tau, d = layer.window, layer.dilation
    cols = F.unfold(
        x_tv, (tau, 1), dilation=(d, 1), stride=(layer.stride, 1), padding=(layer.padding, 0)
    )
    xw = cols.view(n, c, tau, -1, v).permute(0, 1, 3, 2, 4).reshape(n, c, -1, tau * v)
    a = layer.A_scales.reshape(-1, tau * v) + layer.A_res
    agg = torch.einsum("ji,ncti->nctj", a, xw)
    agg = agg.view(n, c, agg.shape[2], layer.num_scales, tau * v).permute(0, 3, 1, 2, 4)
    conv, bn = layer.mlp.layers
    z = bn(conv(agg.reshape(n, -1, agg.shape[3], tau * v)))  # (N, C_out, T_w, tau * V)
    return torch.relu(z)


@pytest.mark.parametrize("frames", [7, 32, 48])
@pytest.mark.parametrize(("window", "stride", "dilation"), [(3, 1, 1), (5, 2, 1), (3, 2, 2)])
@pytest.mark.parametrize(("c_in", "c_out"), [(3, 8), (6, 6)])  # aggregate-first, mix-first
def test_window_graph_conv_equals_explicit_unfold(frames, window, stride, dilation, c_in, c_out):
    graph = window_graph(NTU25.binary_adjacency, window)
    layer = GraphConv(c_in, c_out, graph, 2, window=window, stride=stride, dilation=dilation)
    with torch.no_grad():
        layer.A_res.normal_(0, 0.1)
    x = torch.randn(2, c_in, frames, 25)  # (N, C, T, V)

    out = layer(x.transpose(2, 3).contiguous())
    ref = _unfold_reference(layer, x)

    assert out.shape == ref.shape == (2, c_out, (frames - 1) // stride + 1, window * 25)
    assert torch.allclose(out, ref, atol=1e-5)


def test_window_graph_conv_runs_both_orders_exactly():
    wide = GraphConv(3, 96, window_graph(NTU25.binary_adjacency, 3), 6, window=3)
    flat = GraphConv(96, 96, window_graph(NTU25.binary_adjacency, 5), 6, window=5, stride=2)

    assert not wide.mix_first  # raw coordinates: aggregate 3 channels, then widen (upstream)
    assert flat.mix_first  # same width: mix the frames first, tau / stride times fewer FLOPs


@pytest.mark.parametrize("frames_last", [True, False])
def test_window_collapse_is_upstreams_conv3d_for_either_memory_layout(frames_last):
    torch.manual_seed(0)
    collapse = WindowCollapse(4, 6, window=3)
    z = torch.randn(2, 4, 3 * 25, 7).transpose(2, 3) if frames_last else torch.randn(2, 4, 7, 75)
    want = F.conv3d(z.reshape(2, 4, 7, 3, 25), collapse.weight, collapse.bias).squeeze(3)

    out = collapse(z)

    assert out.shape == (2, 6, 7, 25)
    torch.testing.assert_close(out, want, rtol=1e-5, atol=1e-5)


# --------------------------------------------------------------------------------------------
# Variants


def test_msg3d_ntu120_has_upstream_parameter_count_and_head_shape():
    model = build("msg3d", num_classes=120)

    assert count_parameters(model) == 3_217_695
    assert model.state_dict()["fc.weight"].shape == (120, 384)


def test_msg3d_single_person_uses_a_75_channel_data_bn():
    model = build("msg3d", num_persons=1)

    assert model.state_dict()["data_bn.running_mean"].shape == (75,)
    assert count_parameters(model) == 3_194_595 - 150


@pytest.mark.parametrize(
    ("persons", "frames"), [(1, 9), pytest.param(2, 12, marks=pytest.mark.slow)]
)
def test_msg3d_forward_and_backward_on_tiny_clips(persons, frames):
    model = build("msg3d", num_classes=120, num_persons=persons, window=frames)
    x = torch.randn(1, 3, frames, 25, persons)  # (N, C, T, V, M)

    logits = model(x)
    logits.sum().backward()

    assert logits.shape == (1, 120)
    assert model.gcn3d1.gcn3d[1].gcn3d[1].A_res.grad.abs().sum() > 0
    assert model.sgcn3[0].A_res.grad.abs().sum() > 0


@pytest.mark.parametrize("frames", [32, 48, 75, 300])
def test_g3d_and_factorised_pathways_agree_on_strided_frame_counts(frames):
    a = NTU25.binary_adjacency
    g3d = MultiWindowG3D(6, 6, 12, a, 2, stride=2).eval()
    tcn = MultiScaleTemporalConv(6, 12, stride=2).eval()
    x = torch.randn(1, 6, frames, 25)  # (N, C, T, V)

    with torch.no_grad():
        unified = g3d(x.transpose(2, 3).contiguous())  # (N, C, V, T) in, (N, C, T, V) out
        factorised = tcn(x)

    assert unified.shape == factorised.shape == (1, 12, (frames + 1) // 2, 25)


def test_msg3d_card_reports_upstream_facts():
    card = get_card("msg3d")

    assert card.params_ntu60 == 3_194_595
    assert card.default_window == 300
    assert card.streams == ("joint", "bone")
    assert card.reported_top1["ensemble"] == 91.5


# --------------------------------------------------------------------------------------------
# Options and checkpoints


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"graph": "graph.kinetics.AdjMatrixGraph"}, "graph"),
        ({"num_joints": 18}, "num_joints"),
        ({"dropout": 0.5}, "dropout"),
        ({"num_gcn_scales": 0}, "num_gcn_scales"),
    ],
)
def test_msg3d_rejects_invalid_options_with_a_fix(options, message):
    with pytest.raises(ModelConfigError, match=rf"(?s){message}.*fix:"):
        build("msg3d", **options)


def test_msg3d_accepts_every_upstream_constructor_keyword():
    model = build(
        "msg3d",
        num_class=60,
        num_point=25,
        num_person=2,
        num_gcn_scales=13,
        num_g3d_scales=6,
        graph="graph.ntu_rgb_d.AdjMatrixGraph",
        in_channels=3,
    )

    assert count_parameters(model) == 3_194_595


@pytest.fixture(scope="module")
def ntu60_state() -> dict[str, torch.Tensor]:
    return build("msg3d").state_dict()


def test_msg3d_checkpoint_missing_a_key_fails_naming_it(ntu60_state):
    state = dict(ntu60_state)
    del state["gcn3d2.gcn3d.1.gcn3d.1.A_res"]

    with pytest.raises(CheckpointError, match=r"missing: gcn3d2\.gcn3d\.1\.gcn3d\.1\.A_res"):
        load_upstream_checkpoint(build("msg3d"), state)


def test_msg3d_checkpoint_with_a_wrong_shape_fails_naming_it(ntu60_state):
    state = dict(ntu60_state)
    state["sgcn1.0.A_res"] = torch.zeros(300, 25)

    with pytest.raises(CheckpointError, match=r"sgcn1\.0\.A_res: checkpoint \(300, 25\)"):
        load_upstream_checkpoint(build("msg3d"), state)

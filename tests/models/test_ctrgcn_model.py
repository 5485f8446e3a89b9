"""CTR-GCN: sizes, variants upstream would build, option checks, checkpoint errors, exactness."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

import skelab.models.ctrgcn as ctrgcn_module
from skelab.errors import CheckpointError, ModelConfigError
from skelab.models import build, count_parameters, get_card, load_upstream_checkpoint
from skelab.models.ctrgcn import CTRGraphConv, rel_channels
from skelab.skeletons import NTU25


def _per_subset_reference(gcn: CTRGraphConv, x: torch.Tensor) -> torch.Tensor:
    """Upstream's order of operations for unit_gcn: loop over subsets, convs at full T."""
    y = 0
    for i, m in enumerate(gcn.convs):
        q, k = m.conv1(x).mean(-2), m.conv2(x).mean(-2)
        theta = m.conv4(torch.tanh(q.unsqueeze(-1) - k.unsqueeze(-2))) * gcn.alpha + gcn.PA[i]
        y = y + torch.einsum("ncuv,nctv->nctu", theta, m.conv3(x))
    return F.relu(gcn.bn(y) + gcn.down(x))


@pytest.mark.parametrize(("num_classes", "expected"), [(60, 1_446_672), (120, 1_462_092)])
def test_ctrgcn_parameter_count_matches_upstream(num_classes, expected):
    model = build("ctrgcn", num_classes=num_classes)

    assert count_parameters(model) == expected
    assert get_card("ctrgcn").params_ntu60 == 1_446_672


def test_ctrgcn_ntu120_changes_only_the_classifier_shapes():
    ntu60 = {k: v.shape for k, v in build("ctrgcn", num_classes=60).state_dict().items()}

    ntu120 = {k: v.shape for k, v in build("ctrgcn", num_class=120).state_dict().items()}

    differ = {k for k in ntu60 if ntu60[k] != ntu120[k]}
    assert differ == {"fc.weight", "fc.bias"}
    assert ntu120["fc.weight"] == (120, 256)


def test_ctrgcn_single_person_has_75_wide_data_bn():
    model = build("ctrgcn", num_persons=1)
    x = torch.randn(2, 3, 16, 25, 1)  # (N, C, T, V, M)

    out = model(x)

    assert model.state_dict()["data_bn.weight"].shape == (75,)
    assert out.shape == (2, 60)


@pytest.mark.parametrize("window", [32, 48, pytest.param(300, marks=pytest.mark.slow)])
def test_ctrgcn_runs_forward_and_backward_at_other_windows(window):
    model = build("ctrgcn", window=window)
    x = torch.randn(1, 3, window, 25, 2)

    out = model(x)
    out.sum().backward()

    assert out.shape == (1, 60)
    assert model.l1.gcn1.convs[0].conv3.weight.grad is not None


def test_ctrgcn_rel_channels_follow_input_width():
    model = build("ctrgcn")

    widths = [getattr(model, f"l{i}").gcn1.convs[0].conv1.out_channels for i in range(1, 11)]

    assert widths == [8, 8, 8, 8, 8, 16, 16, 16, 32, 32]
    assert rel_channels(9) == 8


def test_ctrgcn_initialises_like_upstream():
    model = build("ctrgcn")

    gcn = model.l2.gcn1

    assert torch.equal(gcn.PA.detach(), torch.from_numpy(NTU25.spatial))
    assert gcn.alpha.item() == 0.0
    assert torch.all(gcn.bn.weight == 1e-6)
    assert gcn.PA.requires_grad


def test_ctrgcn_fused_graph_conv_equals_per_subset_loop_with_refinement_active():
    torch.manual_seed(0)
    gcn = CTRGraphConv(8, 16, torch.from_numpy(NTU25.spatial))
    with torch.no_grad():
        gcn.alpha.fill_(0.7)
        gcn.bn.weight.fill_(1.0)
        gcn.PA.add_(0.1 * torch.randn_like(gcn.PA))
    ref_gcn = copy.deepcopy(gcn)
    x = torch.randn(2, 8, 6, 25, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_(True)

    out = gcn(x)
    ref = _per_subset_reference(ref_gcn, x_ref)
    out.square().sum().backward()
    ref.square().sum().backward()

    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(x.grad, x_ref.grad, rtol=1e-4, atol=1e-5)
    for (name, p), (_, p_ref) in zip(
        gcn.named_parameters(), ref_gcn.named_parameters(), strict=True
    ):
        # atol: a bias feeding a BatchNorm has a true gradient of 0, so only rounding is left.
        torch.testing.assert_close(p.grad, p_ref.grad, rtol=1e-4, atol=1e-4, msg=name)


@pytest.mark.parametrize(
    ("c_in", "c_out", "adaptive"), [(3, 8, True), (8, 8, True), (8, 16, False)]
)
def test_ctrgcn_fast_graph_conv_equals_plain_path_in_float64(monkeypatch, c_in, c_out, adaptive):
    torch.manual_seed(0)
    fast = CTRGraphConv(c_in, c_out, torch.from_numpy(NTU25.spatial), adaptive).double()
    for p in fast.parameters():
        p.data.normal_()  # alpha, bn gamma and PA away from their initial values
    plain = copy.deepcopy(fast)
    x = torch.randn(3, c_in, 5, 25, dtype=torch.float64, requires_grad=True)
    grad_out = torch.randn(3, c_out, 5, 25, dtype=torch.float64)
    params = [p for p in fast.parameters() if p.requires_grad]
    plain_params = [p for p in plain.parameters() if p.requires_grad]

    for _ in range(2):  # the second step runs on the spares the first one kept
        monkeypatch.setattr(ctrgcn_module, "eager_cpu", lambda t: True)  # float64: force it
        out = fast(x)
        got = torch.autograd.grad(out, [x, *params], grad_out)
        monkeypatch.setattr(ctrgcn_module, "eager_cpu", lambda t: False)
        ref = plain(x)
        want = torch.autograd.grad(ref, [x, *plain_params], grad_out)

        assert torch.allclose(out, ref, rtol=1e-12, atol=1e-12)
        for a, b in zip(got, want, strict=True):
            assert torch.allclose(a, b, rtol=1e-10, atol=1e-12)
    assert set(fast._spares) == {"vals", "theta"}


def test_ctrgcn_fast_graph_conv_keeps_two_pending_graphs_apart(monkeypatch):
    torch.manual_seed(0)
    gcn = CTRGraphConv(8, 8, torch.from_numpy(NTU25.spatial)).double()
    with torch.no_grad():
        gcn.alpha.fill_(0.5)
    monkeypatch.setattr(ctrgcn_module, "eager_cpu", lambda t: True)
    gcn(torch.randn(2, 8, 4, 25, dtype=torch.float64)).sum().backward()  # spares kept
    x1, x2 = (torch.randn(2, 8, 4, 25, dtype=torch.float64, requires_grad=True) for _ in "12")
    out1 = gcn(x1)  # takes the spares
    out2 = gcn(x2)  # finds none: its own tensors
    (g1,) = torch.autograd.grad(out1.square().sum(), [x1])
    (g2,) = torch.autograd.grad(out2.square().sum(), [x2])
    monkeypatch.setattr(ctrgcn_module, "eager_cpu", lambda t: False)
    want1 = torch.autograd.grad(gcn(x1).square().sum(), [x1])[0]
    want2 = torch.autograd.grad(gcn(x2).square().sum(), [x2])[0]

    assert torch.allclose(g1, want1, rtol=1e-12, atol=1e-12)
    assert torch.allclose(g2, want2, rtol=1e-12, atol=1e-12)
    gcn.eval()
    assert gcn._spares == {}


def test_ctrgcn_non_adaptive_graph_is_a_fixed_unsaved_buffer():
    model = build("ctrgcn", adaptive=False)

    keys = model.state_dict().keys()

    assert not any(k.endswith("PA") or k.endswith(".A") for k in keys)
    assert count_parameters(model) == 1_446_672 - 10 * 3 * 25 * 25
    assert model(torch.randn(1, 3, 8, 25, 2)).shape == (1, 60)


@pytest.mark.parametrize(
    "options",
    [
        {"graph": "graph.kinetics.Graph"},
        {"graph_args": {"labeling_mode": "uniform"}},
        {"num_joints": 17},
        {"in_channels": 6},
        {"dropout": 1.5},
        {"num_classes": 0},
    ],
)
def test_ctrgcn_rejects_invalid_options_with_a_fix(options):
    with pytest.raises(ModelConfigError, match=r"(?s)ctrgcn.*fix:"):
        build("ctrgcn", **options)


def test_ctrgcn_rejects_input_of_wrong_person_count():
    model = build("ctrgcn", num_persons=2)

    with pytest.raises(ModelConfigError, match=r"expected \(N, 3, T, 25, 2\)"):
        model(torch.randn(1, 3, 8, 25, 1))


def test_ctrgcn_checkpoint_missing_a_key_fails_naming_it():
    model = build("ctrgcn")
    state = build("ctrgcn").state_dict()
    del state["l3.gcn1.convs.1.conv3.weight"]

    with pytest.raises(CheckpointError, match=r"l3\.gcn1\.convs\.1\.conv3\.weight"):
        load_upstream_checkpoint(model, state)


def test_ctrgcn_checkpoint_with_wrong_shape_fails_naming_it():
    model = build("ctrgcn")
    state = build("ctrgcn", num_classes=120).state_dict()

    with pytest.raises(CheckpointError, match=r"fc\.weight: checkpoint \(120, 256\)"):
        load_upstream_checkpoint(model, state)

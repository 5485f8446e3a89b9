"""ProtoGCN on tiny inputs: layouts, the PYSKL model dict, the contrastive loss and its memory."""

from __future__ import annotations

import pytest
import torch

from skelab.errors import ModelConfigError, SkelabError
from skelab.models import build, protogcn
from skelab.models.protogcn import (
    MultiScaleTCN,
    ProtoGraphConv,
    _GlobalJoint,
    _GlobalJointMix,
    _RefinedGraph,
)


def _tiny(**opts):
    torch.manual_seed(0)
    return build("protogcn", num_classes=5, num_prototype=8, **opts)


def test_protogcn_takes_a_coco_layout_and_sizes_the_contrast_head_v_squared():
    model = _tiny(skeleton="coco17").train()
    x = torch.randn(2, 3, 8, 17, 2)  # (N, C, T, V, M)

    logits = model(x)
    terms = model.auxiliary_losses(logits=logits, labels=torch.tensor([0, 1]))

    assert logits.shape == (2, 5)
    assert model.cls_head.csc_loss.cl_fc.in_features == 17 * 17
    assert set(terms) == {"csc"} and torch.isfinite(terms["csc"])


def test_protogcn_eval_forward_skips_the_prototype_branch():
    model = _tiny().eval()

    with torch.no_grad():
        logits = model(torch.randn(1, 3, 8, 25, 2))

    assert logits.shape == (1, 5)
    with pytest.raises(SkelabError, match="training-mode forward"):
        model.auxiliary_losses(logits=logits, labels=torch.tensor([0]))


def test_protogcn_memory_moves_only_for_correctly_predicted_classes():
    model = _tiny().train()
    logits = model(torch.randn(2, 3, 8, 25, 2))
    pred = int(logits.argmax(1)[0])
    other = (pred + 1) % 5
    labels = torch.tensor([pred, other])  # sample 0 correct; sample 1 wrong unless pred[1]==other
    before = model.cls_head.csc_loss.avg_f.clone()

    model.auxiliary_losses(logits=logits, labels=labels)

    moved = (model.cls_head.csc_loss.avg_f - before).abs().sum(0) > 0
    correct = set(int(c) for c, p in zip(labels, logits.argmax(1), strict=True) if c == p)
    assert set(torch.nonzero(moved).flatten().tolist()) == correct


def test_protogcn_contrastive_loss_trains_the_prototypes_and_dead_alpha_entries_stay_idle():
    model = _tiny().train()
    with torch.no_grad():  # alpha and beta start at 0, which makes the refinement graph 0
        model.backbone.gcn[9].gcn.alpha.fill_(0.5)
        model.backbone.gcn[9].gcn.beta.fill_(0.5)
    logits = model(torch.randn(2, 3, 8, 25, 2))

    model.auxiliary_losses(logits=logits, labels=torch.tensor([0, 1]))["csc"].backward()

    assert model.backbone.prn.query_matrix.weight.grad.abs().sum() > 0
    assert model.cls_head.csc_loss.cl_fc.weight.grad.abs().sum() > 0
    assert model.cls_head.fc_cls.weight.grad is None  # the loss sees detached logits
    alpha_grad = model.backbone.gcn[9].gcn.alpha.grad
    assert alpha_grad is not None and torch.all(alpha_grad[1:] == 0)


def test_protogcn_memory_is_saved_with_the_model():
    model = _tiny()

    assert model.state_dict()["cls_head.csc_loss.avg_f"].shape == (256, 5)


def test_protogcn_accepts_pyskl_model_dict_with_python_tuples():
    cfg = {
        "type": "RecognizerGCN",
        "backbone": {
            "type": "ProtoGCN",
            "num_prototype": 100,
            "tcn_ms_cfg": [(3, 1), (3, 2), (3, 3), (3, 4), ("max", 3), "1x1"],
            "graph_cfg": {"layout": "coco_new", "mode": "random", "num_filter": 8},
        },
        "cls_head": {"type": "SimpleHead", "joint_cfg": "coco_new", "num_classes": 9,
                     "in_channels": 384, "weight": 0.3},
    }  # fmt: skip

    model = build("protogcn", **cfg)

    assert model.backbone.prn.query_matrix.out_features == 100
    assert model.cls_head.weight == 0.3
    assert model.cls_head.fc_cls.out_features == 9
    assert model.backbone.gcn[0].gcn.A.shape == (8, 20, 20)


@pytest.mark.parametrize(
    ("cfg", "match"),
    [
        ({"backbone": {"base_channels": 64}}, "base_channels=64"),
        ({"backbone": {"graph_cfg": {"mode": "spatial"}}}, "mode='spatial'"),
        ({"cls_head": {"joint_cfg": "coco"}}, "does not match layout"),
        ({"type": "RecognizerGCN3D"}, "not ProtoGCN's recognizer"),
    ],
)
def test_protogcn_rejects_pyskl_options_it_cannot_build(cfg, match):
    with pytest.raises(ModelConfigError, match=match):
        build("protogcn", **cfg)


def test_protogcn_num_joints_must_match_the_layout():
    with pytest.raises(ModelConfigError, match="num_joints=17"):
        build("protogcn", num_joints=17)


def test_refined_graph_backward_passes_gradcheck():
    q = torch.randn(2, 2, 3, 4, dtype=torch.float64, requires_grad=True)
    p = torch.randn(2, 2, 3, 4, dtype=torch.float64, requires_grad=True)
    base = torch.randn(2, 2, 1, 4, 4, dtype=torch.float64, requires_grad=True)
    alpha = torch.tensor(0.7, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(_RefinedGraph.apply, (q, p, base, alpha))
    intra = torch.randn(2, 2, 1, 4, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(_RefinedGraph.apply, (q, p, base, alpha, intra))


@pytest.mark.parametrize("want_graph", [False, True])
def test_graph_conv_cpu_path_equals_the_plain_path_with_gradients(monkeypatch, want_graph):
    torch.manual_seed(0)
    layer = ProtoGraphConv(16, 16, num_joints=5).double()
    with torch.no_grad():  # upstream starts alpha and beta at 0, which hides the refinement
        layer.alpha.fill_(0.6)
        layer.beta.fill_(-0.4)
    x = torch.randn(2, 16, 6, 5, dtype=torch.float64, requires_grad=True)
    results = []
    for cpu_path in (True, False):
        monkeypatch.setattr(protogcn, "eager_cpu", lambda _x, on=cpu_path: on)
        out, graph = layer(x, want_graph)
        loss = out.square().sum() + (graph.sin().sum() if want_graph else 0)
        params = [x, layer.A, layer.alpha, layer.beta, layer.conv1.weight, layer.conv2.weight]
        results.append((out, graph, *torch.autograd.grad(loss, params)))
    for got, want in zip(*results, strict=True):
        torch.testing.assert_close(got, want)


def test_global_joint_equals_the_concatenated_mean_and_passes_gradcheck():
    x = torch.randn(2, 3, 4, 5, dtype=torch.float64, requires_grad=True)
    want = torch.cat([x, x.mean(-1, keepdim=True)], dim=-1)
    grad = torch.randn_like(want)
    assert torch.equal(_GlobalJoint.apply(x), want)
    got = torch.autograd.grad(_GlobalJoint.apply(x), x, grad)[0]
    assert torch.allclose(got, torch.autograd.grad(want, x, grad)[0], rtol=1e-15, atol=0)
    assert torch.autograd.gradcheck(_GlobalJoint.apply, (x,))


def test_global_joint_mix_backward_passes_gradcheck():
    coeff = torch.randn(4, dtype=torch.float64, requires_grad=True)
    branches = [torch.randn(2, c, 3, 5, dtype=torch.float64, requires_grad=True) for c in (3, 2)]
    assert torch.autograd.gradcheck(_GlobalJointMix.apply, (coeff, *branches))


def test_multiscale_tcn_cpu_path_equals_the_plain_path_with_gradients(monkeypatch):
    torch.manual_seed(0)
    layer = MultiScaleTCN(12, 12, stride=2, num_joints=5).double()
    with torch.no_grad():  # upstream starts the global joint's weights at 0
        layer.add_coeff.normal_()
    x = torch.randn(2, 12, 8, 5, dtype=torch.float64, requires_grad=True)
    results = []
    for cpu_path in (True, False):
        monkeypatch.setattr(protogcn, "eager_cpu", lambda _x, on=cpu_path: on)
        out = layer(x)
        params = [x, layer.add_coeff, layer.branches[0][0].weight, layer.branches[5].weight]
        results.append((out, *torch.autograd.grad(out.square().sum(), params)))
    for got, want in zip(*results, strict=True):
        torch.testing.assert_close(got, want)

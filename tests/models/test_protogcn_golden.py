"""ProtoGCN against upstream outputs (golden fixture protogcn_ntu60, PYSKL's RecognizerGCN)."""

from __future__ import annotations

import pytest
import torch

from shared_refs import load_golden, rel_err
from skelab.engine.losses import compute_loss
from skelab.models import build, load_upstream_checkpoint

FIXTURE = "protogcn_ntu60"


@pytest.fixture(scope="module")
def golden():
    return load_golden(FIXTURE)


@pytest.fixture(scope="module")
def model(golden):
    _, state, _ = golden
    model = build("protogcn", num_classes=60, num_prototype=400, loss_weight=0.2, window=64)
    load_upstream_checkpoint(model, state)
    return model


@pytest.mark.golden
def test_protogcn_eval_logits_and_graph_match_upstream(golden, model):
    _, _, case = golden
    model.eval()

    with torch.no_grad():
        logits, graph = model.forward_with_graph(case["input_nctvm"])
        plain = model(case["input_nctvm"])

    assert rel_err(logits, case["eval_output"]) < 1e-4
    assert rel_err(plain, case["eval_output"]) < 1e-4
    assert rel_err(torch.softmax(logits, 1), case["eval_prob"]) < 1e-4
    assert rel_err(graph, case["eval_reconstructed_graph"]) < 1e-4


@pytest.mark.golden
def test_protogcn_train_step_matches_upstream_losses_graph_and_memory(golden, model):
    _, _, case = golden
    model.train()
    model.backbone.prn.dropout.p = 0.0  # the fixture ran with the PRN dropout off
    memory = model.cls_head.csc_loss.avg_f
    memory.copy_(case["csc_memory_before"])

    logits = model(case["input_nctvm"])
    graph = model._graph
    total, terms = compute_loss(model, logits, case["label"])

    assert rel_err(logits.detach(), case["train_output"]) < 1e-4
    assert rel_err(graph.detach(), case["train_reconstructed_graph"]) < 1e-4
    assert rel_err(terms["ce"].detach(), case["loss_ce"]) < 1e-4
    assert rel_err(terms["csc"].detach(), 0.2 * case["loss_csc"]) < 1e-4
    assert rel_err(total.detach(), case["loss_cls"]) < 1e-4
    assert rel_err(memory, case["csc_memory_after"]) < 1e-4
    assert rel_err(case["csc_memory_before"], case["csc_memory_after"]) > 1e-3  # it moved


@pytest.mark.golden
def test_protogcn_from_pyskl_model_dict_has_upstream_layout_and_count(golden):
    meta, state, _ = golden

    model = build("protogcn", **meta["upstream_constructor"])
    ours = model.state_dict()

    assert sum(p.numel() for p in model.parameters()) == meta["num_parameters"]
    assert [k for k in ours if k not in state] == ["cls_head.csc_loss.avg_f"]
    assert list(state) == [k for k in ours if k in state]
    assert all(ours[k].shape == v.shape for k, v in state.items())
    assert model.cls_head.weight == 0.2


@pytest.mark.golden
def test_protogcn_loads_mmcv_runner_checkpoint_file(golden, tmp_path):
    _, state, case = golden
    path = tmp_path / "epoch_150.pth"
    meta = {"epoch": 150, "iter": 1000, "mmcv_version": "1.7.0", "config": "model = dict()"}
    torch.save({"meta": meta, "state_dict": state, "optimizer": {"state": {}}}, path)
    model = build("protogcn", window=64)

    load_upstream_checkpoint(model, path)
    model.eval()
    with torch.no_grad():
        logits = model(case["input_nctvm"])

    assert rel_err(logits, case["eval_output"]) < 1e-4

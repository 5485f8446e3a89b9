"""DeGCN against upstream outputs (golden fixture degcn_ntu60): summed and per-stream logits,
in eval and train mode, parameter count, and the summed per-stream training loss."""

from __future__ import annotations

import pytest
import torch

from shared_refs import load_golden, rel_err
from skelab.engine.losses import compute_loss
from skelab.models import build, load_upstream_checkpoint

FIXTURE = "degcn_ntu60"


def _loaded(**options: object) -> tuple[dict, dict, torch.nn.Module]:
    meta, state, case = load_golden(FIXTURE)
    model = build("degcn", **(options or meta["upstream_constructor"]))
    load_upstream_checkpoint(model, state)
    return meta, case, model


@pytest.mark.golden
def test_degcn_from_skelab_options_matches_upstream_eval_and_train_outputs():
    meta, case, model = _loaded(num_classes=60, num_joints=25, num_persons=2, window=64)

    model.eval()
    with torch.no_grad():
        eval_out = model(case["input"])
        eval_streams = torch.stack(model.stream_logits())
    model.train()
    with torch.no_grad():
        train_out = model(case["input"])
        train_streams = torch.stack(model.stream_logits())

    assert meta["num_parameters"] == sum(p.numel() for p in model.parameters())
    assert rel_err(eval_out, case["eval_output"]) < 1e-4
    assert rel_err(train_out, case["train_output"]) < 1e-4
    for s in range(2):
        assert rel_err(eval_streams[s], case["eval_output_streams"][s]) < 1e-4
        assert rel_err(train_streams[s], case["train_output_streams"][s]) < 1e-4


@pytest.mark.golden
def test_degcn_from_upstream_model_args_matches_upstream_and_its_loss():
    meta, case, model = _loaded()
    model.train()

    logits = model(case["input"])
    loss, terms = compute_loss(model, logits, case["label"], label_smoothing=0.1)

    assert len(model.state_dict()) == meta["num_state_dict_entries"]
    assert rel_err(logits.detach(), case["train_output"]) < 1e-4
    assert rel_err(loss.detach(), case["train_loss"]) < 1e-4
    got = torch.stack([terms["ce_stream0"], terms["ce_stream1"]]).detach()
    assert rel_err(got, case["train_loss_streams"]) < 1e-4

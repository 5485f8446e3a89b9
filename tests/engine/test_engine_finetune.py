"""Starting a run from weights: head dropped on request, everything else loaded exactly."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_engine_support import tiny_config, tiny_loaders

from shared_refs import GOLDEN, require
from skelab.engine.build import build_model
from skelab.engine.checkpoint import load_checkpoint
from skelab.engine.finetune import head_keys, load_initial_weights
from skelab.engine.metrics import load_scores
from skelab.engine.trainer import Trainer
from skelab.errors import CheckpointError
from skelab.models import get_card

HEAD = get_card("mlp").head


def _mlp(num_classes):
    return build_model(tiny_config(data={"num_classes": num_classes}))


def test_60_class_weights_load_into_a_10_class_model_with_the_head_dropped(tmp_path):
    torch.manual_seed(0)
    source = _mlp(60)
    torch.save({"model": source.state_dict()}, tmp_path / "w60.pt")
    target = _mlp(10)
    head = head_keys(target, HEAD)
    fresh_head = {k: v.clone() for k, v in target.state_dict().items() if k in head}

    skipped = load_initial_weights(target, tmp_path / "w60.pt", drop_head=True, head=HEAD)

    assert sorted(skipped) == sorted(fresh_head) and len(skipped) == 2
    for key, value in target.state_dict().items():
        expected = fresh_head[key] if key in fresh_head else source.state_dict()[key]
        assert torch.equal(value, expected), key


def test_a_different_head_without_drop_head_offers_the_flag(tmp_path):
    torch.save(_mlp(60).state_dict(), tmp_path / "w60.pt")

    with pytest.raises(CheckpointError, match=r"(?s)classifier does not fit.*train\.drop_head"):
        load_initial_weights(_mlp(10), tmp_path / "w60.pt", drop_head=False, head=HEAD)


def test_drop_head_never_skips_keys_outside_the_classifier(tmp_path):
    state = _mlp(10).state_dict()
    first = next(k for k in state if k not in head_keys(_mlp(10), HEAD))
    state[first] = torch.zeros(3, 3)
    torch.save(state, tmp_path / "bad.pt")

    with pytest.raises(CheckpointError, match=rf"(?s)shape mismatches: {first}"):
        load_initial_weights(_mlp(10), tmp_path / "bad.pt", drop_head=True, head=HEAD)


def test_a_run_started_from_weights_records_them_in_config_and_checkpoint(tmp_path, caplog):
    torch.save({"model": _mlp(60).state_dict()}, tmp_path / "w60.pt")
    cfg = tiny_config(
        data={"num_classes": 4},
        train={"epochs": 1, "weights": str(tmp_path / "w60.pt"), "drop_head": True},
    )
    train, test = tiny_loaders(cfg)
    trainer = Trainer(
        cfg, work_dir=tmp_path / "run", train_loader=train, test_loader=test, progress=False
    )

    with caplog.at_level("INFO", logger="skelab"):
        trainer.fit()

    header = (tmp_path / "run/config.yaml").read_text().splitlines()[1]
    assert header.startswith(f"# started from {tmp_path / 'w60.pt'}; keys skipped: ")
    assert "classifier keys skipped" in caplog.text
    ckpt = load_checkpoint(tmp_path / "run/checkpoints/last.pt")
    assert ckpt["started_from"]["skipped"] == trainer.started_from["skipped"] != []


def test_holdout_samples_are_kept_out_of_training_and_scored(tmp_path):
    x = np.random.default_rng(0).standard_normal((40, 3, 8, 25, 2)).astype(np.float32)
    y = np.arange(40) % 4
    path = tmp_path / "d.npz"
    np.savez(path, x_train=x, y_train=y, x_test=x[:8], y_test=y[:8], num_classes=np.int64(4))
    cfg = tiny_config(data={"path": str(path), "holdout": 0.1}, train={"epochs": 1})

    trainer = Trainer(cfg, work_dir=tmp_path / "run", progress=False)
    trainer.fit()

    held = load_scores(tmp_path / "run/scores/epoch_1_holdout.npz")
    assert list(held["index"]) == list(trainer.holdout_positions) and len(held["index"]) == 4
    np.testing.assert_array_equal(held["labels"], y[held["index"]])
    assert len(trainer.train_loader.dataset) == 36
    assert not set(trainer.train_loader.dataset.positions) & set(held["index"])


CTRGCN_WEIGHTS = GOLDEN / "ctrgcn_ntu60.state_dict.pt"


def test_an_upstream_ctrgcn_checkpoint_starts_a_10_class_run_without_its_head():
    require(CTRGCN_WEIGHTS)
    from skelab.models import build

    upstream = torch.load(CTRGCN_WEIGHTS, weights_only=True)
    model = build("ctrgcn", num_classes=10)

    skipped = load_initial_weights(model, CTRGCN_WEIGHTS, drop_head=True, head="fc")

    assert sorted(skipped) == ["fc.bias", "fc.weight"]
    for key, value in model.state_dict().items():
        if key not in skipped and key in upstream:
            assert torch.equal(value, upstream[key]), key

"""Trainer behaviour on tiny models and tiny in-test data (CPU, a second or two each)."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch
from test_engine_support import AuxNet, IndexTNet, PoolNet, tiny_config, tiny_loaders

from skelab.engine.build import load_weights
from skelab.engine.checkpoint import load_checkpoint
from skelab.engine.metrics import load_scores, read_metrics
from skelab.engine.trainer import Trainer
from skelab.errors import ConfigError, SkelabError


def _trainer(cfg, work_dir, model=None, **kw):
    train, test = tiny_loaders(cfg, **kw)
    return Trainer(
        cfg, work_dir=work_dir, model=model, train_loader=train, test_loader=test, progress=False
    )


def test_resumed_run_ends_with_the_weights_of_an_uninterrupted_run(tmp_path):
    cfg = tiny_config(train={"epochs": 3})  # mlp with BatchNorm and dropout: RNG matters
    whole = _trainer(cfg, tmp_path / "whole").fit()
    _trainer(cfg, tmp_path / "split").fit(stop_after=1)

    resumed = _trainer(cfg, tmp_path / "split").fit(resume=True)

    a = load_checkpoint(tmp_path / "whole/checkpoints/last.pt")
    b = load_checkpoint(tmp_path / "split/checkpoints/last.pt")
    assert resumed.epochs_done == whole.epochs_done == 3
    assert a["step"] == b["step"]
    for key, value in a["model"].items():
        assert torch.equal(value, b["model"][key]), key
    assert len(read_metrics(tmp_path / "split")) == 3


def test_resume_refuses_a_changed_recipe(tmp_path):
    cfg = tiny_config()
    _trainer(cfg, tmp_path).fit(stop_after=1)
    changed = tiny_config(optim={"lr": 0.5})

    with pytest.raises(ConfigError, match=r"(?s)optim\.lr.*fix:"):
        _trainer(changed, tmp_path).fit(resume=True)


def test_a_second_run_in_the_same_work_dir_needs_resume(tmp_path):
    cfg = tiny_config(train={"epochs": 1})
    _trainer(cfg, tmp_path).fit()

    with pytest.raises(SkelabError, match=r"(?s)already holds a run.*--resume"):
        _trainer(cfg, tmp_path).fit()


@pytest.mark.parametrize("forward_batch_size", [2, 3])
def test_gradient_accumulation_gives_the_full_batch_update(forward_batch_size):
    cfg_full = tiny_config(train={"batch_size": 8}, optim={"momentum": 0.9})
    cfg_acc = tiny_config(
        train={"batch_size": 8, "forward_batch_size": forward_batch_size}, optim={"momentum": 0.9}
    )
    torch.manual_seed(0)
    model = PoolNet()
    full = _trainer(cfg_full, None, model=copy.deepcopy(model))
    acc = _trainer(cfg_acc, None, model=copy.deepcopy(model))
    batch = next(iter(full.train_loader))

    for t in (full, acc):
        t.set_lr(0, 0, 1)
        for _ in range(2):  # two steps, so momentum buffers are compared too
            t.train_step(batch)

    for (name, p), q in zip(full.model.named_parameters(), acc.model.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-6, atol=1e-7, msg=name)


def test_gradient_accumulation_takes_batchnorm_statistics_per_chunk():
    cfg = tiny_config(train={"batch_size": 8, "forward_batch_size": 4})
    trainer = _trainer(cfg, None)
    batch = next(iter(trainer.train_loader))
    bn = next(m for m in trainer.model.modules() if isinstance(m, torch.nn.BatchNorm1d))

    trainer.set_lr(0, 0, 1)
    trainer.train_step(batch)

    assert int(bn.num_batches_tracked) == 2  # one update per forward chunk, as MS-G3D upstream


def test_auxiliary_losses_are_added_and_logged(tmp_path):
    cfg = tiny_config(train={"epochs": 1}, loss={"label_smoothing": 0.1})
    result = _trainer(cfg, tmp_path, model=AuxNet()).fit()

    record = result.history[0]
    assert record["train_weight_norm"] > 0
    assert record["train_loss"] == pytest.approx(record["train_ce"] + record["train_weight_norm"])
    assert json.loads((tmp_path / "metrics.jsonl").read_text().splitlines()[0])[
        "train_weight_norm"
    ] == pytest.approx(record["train_weight_norm"])


def test_models_that_need_index_t_receive_it():
    cfg = tiny_config(train={"epochs": 1})
    trainer = _trainer(cfg, None, model=IndexTNet(), with_index_t=True)

    result = trainer.fit()

    assert result.epochs_done == 1 and trainer.needs_index_t


def test_run_folder_holds_config_metrics_checkpoints_and_scores(tmp_path):
    cfg = tiny_config(train={"epochs": 2, "eval_every": 2})
    _trainer(cfg, tmp_path).fit()

    lines = (tmp_path / "config.yaml").read_text().splitlines()
    assert sum(line.startswith("model:") for line in lines) == 1  # one top-level model section
    assert (tmp_path / "checkpoints/last.pt").is_file()
    assert (tmp_path / "checkpoints/best.pt").is_file()
    assert not (tmp_path / "scores/epoch_1_test.npz").exists()  # eval_every 2
    scores = load_scores(tmp_path / "scores/epoch_2_test.npz")
    assert scores["scores"].shape == (20, 4) and scores["scores"].dtype == np.float32
    assert scores["labels"].dtype == np.int64 and list(scores["index"]) == list(range(20))
    records = read_metrics(tmp_path)
    assert [r["epoch"] for r in records] == [1, 2] and "test_top5" in records[1]
    assert any((tmp_path / "tensorboard").iterdir())


def test_a_saved_checkpoint_reproduces_the_scores_saved_in_training(tmp_path):
    cfg = tiny_config(train={"epochs": 2})
    _trainer(cfg, tmp_path).fit()
    saved = load_scores(tmp_path / "scores/epoch_2_test.npz")
    fresh = _trainer(cfg, None)

    load_weights(fresh.model, tmp_path / "checkpoints/last.pt")
    result = fresh.evaluate()

    np.testing.assert_array_equal(result.scores, saved["scores"])
    np.testing.assert_array_equal(result.labels, saved["labels"])


def test_tiny_run_learns_separable_classes(tmp_path):
    cfg = tiny_config(train={"epochs": 4}, optim={"lr": 0.5}, sched={"milestones": []})
    result = _trainer(cfg, None, model=PoolNet()).fit()

    assert result.last_eval is not None and result.last_eval.top1 > 0.9
    assert result.last_eval.top5 == 1.0  # 4 classes: top-5 is every class


class _OutOfMemoryNet(PoolNet):
    def forward(self, x):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")


def test_out_of_memory_stops_with_presets_and_flags_that_fit():
    cfg = tiny_config(train={"batch_size": 16, "forward_batch_size": 8}, data={"window": 64})
    trainer = _trainer(cfg, None, model=_OutOfMemoryNet())

    with pytest.raises(
        SkelabError,
        match=r"(?s)ran out of memory.*fix: try .*"
        r"train\.forward_batch_size=4.*train\.batch_size=8.*data\.window=48",
    ):
        trainer.fit()


def test_amp_is_ignored_on_the_cpu_with_a_warning(caplog):
    cfg = tiny_config(train={"amp": "bf16", "epochs": 1})

    trainer = _trainer(cfg, None)

    assert trainer.amp_dtype is None and "CUDA only" in caplog.text


def test_a_diverged_loss_stops_the_run_with_a_fix_and_keeps_the_last_good_checkpoint(tmp_path):
    cfg = tiny_config(train={"epochs": 3}, optim={"lr": 1e4})  # finite in epoch 1, then NaN
    trainer = _trainer(cfg, tmp_path)

    with pytest.raises(
        SkelabError, match=r"(?s)diverged in epoch 2.*last\.pt still holds epoch 1.*optim\.lr=1000"
    ):
        trainer.fit()

    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    records = [json.loads(line, parse_constant=pytest.fail) for line in lines]  # strict JSON
    assert records[-1]["diverged"] is True and records[-1]["train_loss"] is None
    assert all(not r.get("diverged") for r in records[:-1])
    # the checkpoint holds the last finite epoch, not the diverged one
    assert load_checkpoint(tmp_path / "checkpoints/last.pt")["epoch"] == 1


def test_batchnorm_statistics_are_recomputed_in_a_short_run_unless_turned_off(tmp_path):
    runs = {}
    for steps in (500, 0):
        cfg = tiny_config(train={"epochs": 1, "bn_recompute_steps": steps})
        _trainer(cfg, tmp_path / str(steps)).fit()
        runs[steps] = load_checkpoint(tmp_path / str(steps) / "checkpoints/last.pt")["model"]
    keys = [k for k in runs[0] if k.endswith("running_var")]
    assert keys, "the tiny model has a BatchNorm"
    # same weights either way; only the evaluation statistics differ
    weights = [k for k in runs[0] if "running" not in k and "num_batches" not in k]
    assert all(torch.equal(runs[0][k], runs[500][k]) for k in weights)
    assert not all(torch.equal(runs[0][k], runs[500][k]) for k in keys)

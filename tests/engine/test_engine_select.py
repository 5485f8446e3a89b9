"""`train.select`: which epoch checkpoints/best.pt keeps, and when the test split is read."""

from __future__ import annotations

import pytest
import torch

from skelab.engine.rundir import Checkpoint, RunDir
from skelab.engine.summary import fit_summary
from skelab.engine.trainer import Trainer
from skelab.errors import ConfigError
from skelab.files import load_torch


class LabelReads:
    """Wraps a loader; records the trainer's (epochs done, steps) whenever its batches, and so
    its labels, are read."""

    def __init__(self, loader, trainer):
        self.loader, self.trainer, self.reads = loader, trainer, []

    def __iter__(self):
        self.reads.append((self.trainer.epoch, self.trainer.step))
        return iter(self.loader)

    def __len__(self):
        return len(self.loader)

    def set_epoch(self, epoch):
        self.loader.set_epoch(epoch)


def _fit(cfg, run):
    trainer = Trainer(cfg, work_dir=run, progress=False)
    trainer.test_loader = LabelReads(trainer.test_loader, trainer)
    result = trainer.fit()
    return trainer, result


def test_holdout_run_reads_test_labels_once_after_its_last_epoch(tiny_config, tmp_path):
    cfg = tiny_config("train.select=holdout", "train.epochs=3")

    trainer, result = _fit(cfg, tmp_path)

    last_step = trainer.step
    assert trainer.test_loader.reads == [(3, last_step)]  # once, after all training steps
    run = RunDir(tmp_path)
    records = run.records()
    held = [r["holdout_top1"] for r in records if not r.get("final")]
    assert result.best_epoch == held.index(max(held)) + 1  # chosen on the held-out part only
    assert all("test_top1" not in r for r in records if not r.get("final"))
    final = records[-1]
    assert final["final"] and final["select"] == "holdout" and final["epoch"] == result.best_epoch
    assert final["test_top1"] == pytest.approx(result.final_eval.top1)
    assert run.epoch_scores(result.best_epoch).is_file()
    assert run.chosen_epoch() == result.best_epoch
    assert "held-out" in fit_summary("tiny", result) and "select=holdout" in fit_summary(
        "tiny", result
    )


def test_holdout_run_evaluates_the_chosen_weights_not_the_last(tiny_config, tmp_path):
    cfg = tiny_config("train.select=holdout", "train.epochs=3")
    _, result = _fit(cfg, tmp_path)
    run = RunDir(tmp_path)
    best = Checkpoint.from_dict(load_torch(run.best), where=run.best)

    model = Trainer(cfg, work_dir=None, progress=False)
    model.model.load_state_dict(best.model)
    again = model.evaluate()

    assert best.select == "holdout" and best.epoch == result.best_epoch
    assert again.top1 == pytest.approx(result.final_eval.top1)


def test_test_rule_reads_test_labels_every_evaluated_epoch(tiny_config, tmp_path):
    trainer, result = _fit(tiny_config(), tmp_path)  # the default, upstream's rule

    assert [epoch for epoch, _ in trainer.test_loader.reads] == [1, 2]
    assert result.select == "test" and "upstream's rule" in fit_summary("tiny", result)
    assert all(r["select"] == "test" for r in RunDir(tmp_path).records())


def test_last_rule_keeps_the_last_epoch(tiny_config, tmp_path):
    _, result = _fit(tiny_config("train.select=last"), tmp_path)
    run = RunDir(tmp_path)

    best, last = load_torch(run.best), load_torch(run.last)

    assert result.best_epoch == 2 and best["epoch"] == 2
    assert all(torch.equal(best["model"][k], v) for k, v in last["model"].items())


def test_holdout_rule_needs_a_held_out_part(tiny_config):
    with pytest.raises(ConfigError, match=r"(?s)train\.select.*data\.holdout=0\.05"):
        tiny_config("train.select=holdout", "data.holdout=0")

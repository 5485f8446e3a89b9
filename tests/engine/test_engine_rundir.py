"""The run module: run-folder paths, the versioned checkpoint format, `resolve_trained`."""

from __future__ import annotations

import logging
import shutil

import pytest
import torch

from skelab.engine.checkpoint import load_checkpoint
from skelab.engine.rundir import (
    CHECKPOINT_FORMAT,
    Checkpoint,
    RunDir,
    checkpoint_version,
    resolve_trained,
)
from skelab.errors import CheckpointError, SkelabError


def test_run_dir_names_every_file_of_a_run(tmp_path):
    run = RunDir(tmp_path)

    assert run.config == tmp_path / "config.yaml"
    assert run.metrics == tmp_path / "metrics.jsonl"
    assert run.log == tmp_path / "train.log"
    assert (run.last, run.best) == (
        tmp_path / "checkpoints" / "last.pt",
        tmp_path / "checkpoints" / "best.pt",
    )
    assert run.epoch_scores(3, "holdout") == tmp_path / "scores" / "epoch_3_holdout.npz"
    assert run.eval_scores("x/best.pt") == tmp_path / "scores" / "eval_best_test.npz"
    assert run.report == tmp_path / "viz" / "report.html"
    assert RunDir.of_checkpoint(run.best).path == tmp_path.resolve()


def test_checkpoint_round_trips_through_a_plain_dict():
    ckpt = Checkpoint(model={"w": torch.ones(2)}, config={"name": "x"}, epoch=3, select="holdout")

    obj = ckpt.to_dict()
    back = Checkpoint.from_dict(obj, where="x.pt")

    assert obj["format"] == CHECKPOINT_FORMAT and "version" not in obj
    assert back.epoch == 3 and back.select == "holdout" and back.version == ckpt.version
    assert torch.equal(back.model["w"], torch.ones(2))


def test_a_version_1_checkpoint_loads_as_chosen_by_test_top1():
    old = {"format": "skelab-train-1", "model": {}, "config": {}, "epoch": 2, "best_top1": 0.5}

    ckpt = Checkpoint.from_dict(old, where="old.pt")

    assert ckpt.version == 1 and ckpt.select == "test" and ckpt.best_top1 == 0.5


@pytest.mark.parametrize(
    "obj", [{"w": torch.ones(1)}, {"format": "skelab-train-99", "model": {}, "config": {}}]
)
def test_anything_but_a_known_training_checkpoint_is_refused(obj):
    assert checkpoint_version(obj) is None
    with pytest.raises(CheckpointError, match="not a skelab training checkpoint"):
        Checkpoint.from_dict(obj, where="f.pt")


def test_a_trained_run_writes_the_current_format(trained_runs):
    obj = load_checkpoint(RunDir(trained_runs[0]).last)

    assert obj["format"] == CHECKPOINT_FORMAT and obj["select"] == "test"


def test_resolve_trained_takes_a_run_folder_and_logs_the_checkpoint(trained_runs, caplog):
    run = RunDir(trained_runs[0])

    with caplog.at_level(logging.INFO, logger="skelab"):
        cfg, best = resolve_trained(run.path)
        _, last = resolve_trained(run.path, checkpoint="last")

    assert (best, last) == (run.best, run.last)
    assert cfg.data.num_classes == 4
    assert f"using checkpoint {run.best}" in caplog.text


def test_resolve_trained_takes_a_checkpoint_file_and_applies_overrides(trained_runs):
    cfg, weights = resolve_trained(RunDir(trained_runs[0]).last, overrides=["train.seed=7"])

    assert weights == RunDir(trained_runs[0]).last and cfg.train.seed == 7


def test_resolve_trained_falls_back_to_last_when_no_epoch_was_chosen(trained_runs, tmp_path):
    run = RunDir(shutil.copytree(trained_runs[0], tmp_path / "run"))
    run.best.unlink()

    _, weights = resolve_trained(run.path)

    assert weights == run.last


def test_resolve_trained_refuses_a_missing_path_and_weights_without_config(tmp_path):
    bare = tmp_path / "bare.pt"
    torch.save({"w": torch.ones(1)}, bare)

    with pytest.raises(SkelabError, match="does not exist"):
        resolve_trained(tmp_path / "nope")
    with pytest.raises(SkelabError, match=r"(?s)carries no config.*--config"):
        resolve_trained(bare)
    with pytest.raises(SkelabError, match="holds no checkpoints/last.pt"):
        resolve_trained(tmp_path, checkpoint="last")
    with pytest.raises(SkelabError, match="--checkpoint 'first'"):
        resolve_trained(tmp_path, checkpoint="first")


def test_a_run_folder_names_its_recipe_wherever_a_config_is_taken(trained_runs):
    from skelab.engine.presets import load_config

    run = RunDir(trained_runs[0])

    assert load_config(run.path).to_dict() == load_config(run.config).to_dict()

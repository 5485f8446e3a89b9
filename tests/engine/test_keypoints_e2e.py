"""End to end: COCO-format keypoint JSON -> import-keypoints -> `skelab train` with the NTU
preset and nothing but data.path and a small budget: layout, persons and classes come from the
folder, and the model learns the two motions in evaluation mode too.

At the presets' own windows (stgcn-lite 32, ctrgcn 64; the clips have 40 frames) and lr,
32 steps left BatchNorm's moving averages far from the weights' statistics (train-mode 100%,
eval-mode one class); the trainer now recomputes them in short runs (`skelab.engine.bnstats`),
which this test guards. CTR-GCN keeps its recipe's lr 0.1 at batch 8."""

from __future__ import annotations

import json

import pytest

from keypoint_clips import learnable_set
from skelab.cli.main import main
from skelab.engine.presets import load_config


@pytest.mark.slow
@pytest.mark.parametrize(
    "preset, epochs",
    [
        ("ntu60-xsub/stgcn-lite-joint", 8),  # 32 steps, window 32
        ("ntu60-xsub/ctrgcn-joint", 4),  # 16 steps at window 64: ~2 s of CPU each
    ],
)
def test_preset_trains_on_an_imported_coco17_folder_and_beats_chance(tmp_path, preset, epochs):
    labels = learnable_set(
        tmp_path / "src", per_class=16, test_per_class=8, frames=40, vary_scores=True
    )
    assert main(["data", "import-keypoints", str(tmp_path / "src"), str(tmp_path / "data"),
                 "--format", "coco-json", "--labels", str(labels)]) == 0  # fmt: skip

    code = main(["train", preset, "--set", f"data.path={tmp_path / 'data'}",
                 "--set", f"train.epochs={epochs}", "--set", "train.batch_size=8",
                 "--set", "sched.warmup_epochs=0",  # 32 steps in all: no room for a warm-up
                 "--set", "train.device=cpu", "--set", "train.num_threads=1", "--no-progress",
                 "--out", str(tmp_path / "run")])  # fmt: skip

    assert code == 0
    config = (tmp_path / "run" / "config.yaml").read_text()
    assert "coco17" in config and "num_classes: 2" in config
    assert f"window: {load_config(preset).data.window}\n" in config  # the preset's own window
    epochs = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").open()]
    assert epochs[-1]["test_top1"] >= 0.8  # 16 test clips, chance 0.5; the last epoch's model

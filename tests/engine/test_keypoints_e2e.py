"""End to end: COCO-format keypoint JSON -> import-keypoints -> `skelab train` with the NTU
preset and nothing but data.path: layout, persons and classes come from the folder, and the
model learns the two motions."""

from __future__ import annotations

import json

import pytest

from keypoint_clips import learnable_set
from skelab.cli.main import main


@pytest.mark.slow
@pytest.mark.parametrize(
    "preset, batch, lr",
    [
        ("ntu60-xsub/stgcn-lite-joint", 8, None),
        # CTR-GCN's recipe lr (0.1 at batch 64) diverges on 32 clips; a smaller batch and lr
        # as the linear scaling rule would give
        ("ntu60-xsub/ctrgcn-joint", 4, 0.02),
    ],
)
def test_preset_trains_on_an_imported_coco17_folder_and_beats_chance(tmp_path, preset, batch, lr):
    labels = learnable_set(
        tmp_path / "src", per_class=16, test_per_class=8, frames=40, vary_scores=True
    )
    assert main(["data", "import-keypoints", str(tmp_path / "src"), str(tmp_path / "data"),
                 "--format", "coco-json", "--labels", str(labels)]) == 0  # fmt: skip

    code = main(["train", preset, "--set", f"data.path={tmp_path / 'data'}",
                 "--set", "train.epochs=8", "--set", f"train.batch_size={batch}",
                 *(["--set", f"optim.lr={lr}"] if lr else []),
                 "--set", "sched.warmup_epochs=0",  # 32 steps in all: no room for a warm-up
                 # 40-frame clips; at the preset's 32 frames 24 steps left the eval-mode
                 # BatchNorm statistics behind (train-mode 100%, eval-mode one class)
                 "--set", "data.window=16",
                 "--set", "train.device=cpu", "--no-progress",
                 "--out", str(tmp_path / "run")])  # fmt: skip

    assert code == 0
    config = (tmp_path / "run" / "config.yaml").read_text()
    assert "coco17" in config and "num_classes: 2" in config
    epochs = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").open()]
    best = max(e["test_top1"] for e in epochs if "test_top1" in e)
    assert best >= 0.8  # 16 test clips, chance 0.5

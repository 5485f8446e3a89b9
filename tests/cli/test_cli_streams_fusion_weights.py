"""`train --streams all` fuses with the presets' own upstream weights when they have them."""

from __future__ import annotations

import numpy as np
import pytest

from skelab.cli.main import main


@pytest.fixture
def tiny_npz(tmp_path):
    """4 classes, 16 train and 8 test clips of 12 frames."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((24, 3, 12, 25, 2)).astype(np.float32)
    y = np.arange(24) % 4
    path = tmp_path / "tiny.npz"
    np.savez(path, x_train=x[:16], y_train=y[:16], x_test=x[16:], y_test=y[16:], num_classes=4)
    return path


@pytest.mark.slow  # four tiny trainings, about 15 s on 2 cores
def test_streams_all_fuses_with_the_presets_fusion_weights_and_holds_nothing_out(
    tmp_path, tiny_npz, capsys
):
    sets = [
        f"data.path={tiny_npz}",
        "data.num_classes=4",
        "data.window=8",
        "model.options={segments: 2, hidden: [16]}",
        "train.epochs=1",
        "train.batch_size=8",
        "train.test_batch_size=8",
        "train.device=cpu",
        "info.fusion_weight=0.5",
    ]
    runs = tmp_path / "runs"
    args = ["train", "ntu60-xsub/mlp-joint", "--streams", "all", "--out", str(runs)]

    assert main([*args, *[a for s in sets for a in ("--set", s)], "--no-progress"]) == 0

    out = capsys.readouterr().out
    for stream in ["joint", "bone", "joint-motion", "bone-motion"]:
        assert "(weight 0.5)" in out
        assert not (runs / stream / "scores/epoch_1_holdout.npz").exists()
        assert (runs / stream / "scores/epoch_1_test.npz").is_file()
    assert "upstream repo's own fusion weights" in out
    assert "--fusion-weights 0.5,0.5,0.5,0.5" in out

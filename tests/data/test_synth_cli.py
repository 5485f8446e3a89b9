"""`skelab data synth`, run in-process."""

from __future__ import annotations

import numpy as np

from skelab.cli.main import main
from skelab.synth import make_ntu_like


def test_synth_writes_an_npz_that_numpy_loads(tmp_path, capsys):
    out = tmp_path / "sub" / "ntu_like.npz"

    code = main(["data", "synth", "--out", str(out), "--classes", "12", "--train", "6",
                 "--test", "3", "--seed", "2", "--frames", "40"])  # fmt: skip

    assert code == 0
    assert "wrote" in capsys.readouterr().out
    with np.load(out) as f:
        assert f["x_train"].shape == (6, 40, 150) and f["y_test"].shape == (3, 12)
        ref = make_ntu_like(num_classes=12, n_train=6, n_test=3, seed=2, frames=40)
        assert all(np.array_equal(f[k], ref[k]) for k in ref)
    assert [p.name for p in out.parent.iterdir()] == ["ntu_like.npz"]  # no temporary left


def test_synth_rejects_out_of_range_classes_with_exit_code_2(tmp_path, capsys):
    code = main(["data", "synth", "--out", str(tmp_path / "x.npz"), "--classes", "121"])

    assert code == 2
    assert "--classes: must be between 1 and 120, got 121" in capsys.readouterr().err
    assert not (tmp_path / "x.npz").exists()

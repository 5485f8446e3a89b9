"""`skelab viz sample`: a clip of a dataset as a 3-D animation."""

from __future__ import annotations

import numpy as np

import skelab.data as sd
from skelab.cli.main import main
from skelab.viz.skeleton import sample_clip


def test_sample_clip_keeps_valid_frames_and_present_persons(tmp_path):
    x = np.zeros((2, 3, 20, 25, 2), np.float32)
    x[:, :, :15, :, 0] = 1.0  # 15 valid frames, one person
    path = tmp_path / "one.npz"
    np.savez(path, x_train=x, y_train=[0, 1], x_test=x, y_test=[2, 4], num_classes=np.int64(5))

    clip = sample_clip(sd.load(path, split="test"), 1, max_frames=5)

    assert clip.joints.shape == (5, 1, 25, 3)  # (T, M, V, xyz)
    assert clip.class_name == "class 4"
    assert len(clip.bones) == 24  # the ntu25 layout's bones


def test_viz_sample_writes_a_gif_of_two_persons_titled_with_the_class(tiny_data, tmp_path, capsys):
    from PIL import Image

    out = tmp_path / "clip.gif"

    code = main(["viz", "sample", str(tiny_data), "--index", "3", "--out", str(out),
                 "--max-frames", "4"])  # fmt: skip

    assert code == 0
    with Image.open(out) as gif:
        assert gif.n_frames == 4
    out_text = capsys.readouterr().out
    assert "class 3 (sample 3)" in out_text and "2 person(s)" in out_text


def test_viz_sample_mp4_without_ffmpeg_suggests_a_gif(tiny_data, tmp_path, capsys, monkeypatch):
    from matplotlib import animation

    monkeypatch.setattr(animation.writers, "is_available", lambda name: False)

    code = main(["viz", "sample", str(tiny_data), "--index", "0", "--out", str(tmp_path / "a.mp4")])

    assert code == 1
    err = capsys.readouterr().err
    assert "needs ffmpeg" in err and "a.gif" in err
    assert not (tmp_path / "a.mp4").exists()


def test_viz_sample_index_out_of_range_names_the_valid_range(tiny_data, tmp_path, capsys):
    code = main(
        ["viz", "sample", str(tiny_data), "--index", "10", "--out", str(tmp_path / "a.gif")]
    )

    assert code == 1
    assert "between 0 and 9" in capsys.readouterr().err


def test_viz_sample_rejects_an_unknown_format(tiny_data, tmp_path, capsys):
    code = main(["viz", "sample", str(tiny_data), "--index", "0", "--out", str(tmp_path / "a.png")])

    assert code == 2
    assert "a.gif" in capsys.readouterr().err

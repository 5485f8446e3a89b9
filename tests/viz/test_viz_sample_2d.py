"""`skelab viz sample` on 2-D keypoints: drawn flat, y up, the score never a depth; names shown."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import skelab.data as sd
from skelab.cli.main import main
from skelab.data.importers import import_arrays
from skelab.skeletons import COCO17
from skelab.viz.skeleton import sample_clip

# a standing person in pixels: nose at the top (small image y), ankles at the bottom
_Y = np.array([150, 145, 145, 148, 148, 180, 180, 210, 210, 240, 240, 240, 240, 290, 290, 340, 340])


def _coco_folder(tmp_path: Path, normalise: str) -> Path:
    d = tmp_path / "poses"
    d.mkdir(exist_ok=True)
    x = np.zeros((5, 17, 3), np.float32)
    x[..., 0] = 320 + np.linspace(-30, 30, 17)
    x[..., 1] = _Y
    x[..., 2] = 0.9
    x[:, 9, 2] = 0.0  # a wrist never seen
    for i in range(2):
        np.save(d / f"c{i}.npy", x)
    csv = tmp_path / "labels.csv"
    csv.write_text("file,label,split\nc0.npy,throw,train\nc1.npy,throw,test\n")
    return import_arrays(d, csv, tmp_path / normalise, skeleton=COCO17, normalise=normalise)


@pytest.mark.parametrize("normalise", ["body", "none"])
def test_2d_clip_is_flat_with_the_head_up_and_no_score_as_depth(tmp_path, normalise):
    ds = sd.load(_coco_folder(tmp_path, normalise), split="test")

    clip = sample_clip(ds, 0)
    frames = np.asarray(clip.to_json()["frames"])  # (T, M, V, 3) for the HTML player

    assert clip.planar and clip.class_name == "throw"
    assert clip.y_down == (normalise == "none")
    assert (frames[..., 2] == 0).all()  # flat: the score is not a depth
    assert (frames[:, :, 0, 1] > frames[:, :, 15, 1]).all()  # the nose above the ankle


def test_viz_sample_draws_a_2d_clip_titled_with_its_class_name(tmp_path, capsys):
    from PIL import Image

    folder = _coco_folder(tmp_path, "body")
    out = tmp_path / "clip.gif"

    code = main(["viz", "sample", str(folder), "--index", "0", "--out", str(out)])

    assert code == 0
    with Image.open(out) as gif:
        assert gif.n_frames == 5
    assert "throw (sample 0)" in capsys.readouterr().out

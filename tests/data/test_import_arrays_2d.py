"""`import-arrays`: label rules, class names, 2-D detection and normalisation into meta.json."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from skelab.cli.main import main
from skelab.data.importers import import_arrays
from skelab.data.prepared import open_prepared, read_meta
from skelab.errors import ConfigError, DataFormatError
from skelab.skeletons import COCO17, NTU25


def _poses(tmp_path: Path, labels: list[str], *, v: int = 17, c: int = 3) -> tuple[Path, Path]:
    """Pixel keypoints around (640, 360), one clip per label; the last clip is the test split."""
    rng = np.random.default_rng(0)
    d = tmp_path / "poses"
    d.mkdir(parents=True)
    rows = ["file,label,split"]
    for i, label in enumerate(labels):
        x = rng.normal(0, 50, (6, v, c)).astype(np.float32)
        x[..., 0] += 640
        x[..., 1] += 360
        if c == 3:
            x[..., 2] = 0.8
        np.save(d / f"c{i}.npy", x)
        rows.append(f"c{i}.npy,{label},{'test' if i == len(labels) - 1 else 'train'}")
    csv = tmp_path / "labels.csv"
    csv.write_text("\n".join(rows) + "\n")
    return d, csv


def test_coco17_arrays_are_2d_and_normalised_by_body_by_default(tmp_path):
    d, csv = _poses(tmp_path, ["0", "1", "0"])

    out = import_arrays(d, csv, tmp_path / "out", skeleton=COCO17)

    meta = read_meta(out)
    assert (meta["channels"], meta["normalise"]) == ("xy-score", "body")
    ds = open_prepared(out, "train")
    assert ds.channels == "xy-score"
    raw = np.load(d / "c0.npy")
    stored = ds.storage[0, :6, :, :, 0]  # (T, C, V)
    np.testing.assert_array_equal(stored[:, 2], raw[..., 2])  # score as written
    np.testing.assert_allclose(stored[:, :2, COCO17.center].mean(axis=0), 0.0, atol=1e-5)
    assert np.abs(stored[:, :2]).max() < 50  # no longer pixels
    # y up: a joint below the nose in the image has a smaller y
    below = raw[0, :, 1] > raw[0, 0, 1]
    assert (stored[0, 1, below] < stored[0, 1, 0]).all()


def test_normalise_none_keeps_pixels_and_3d_layouts_are_stored_as_read(tmp_path):
    d, csv = _poses(tmp_path, ["0", "1", "0"])
    out = import_arrays(d, csv, tmp_path / "raw", skeleton=COCO17, normalise="none")
    assert read_meta(out)["normalise"] == "none"
    np.testing.assert_array_equal(
        open_prepared(out, "train").storage[0, :6, :, :, 0],
        np.load(d / "c0.npy").transpose(0, 2, 1),
    )

    d3, csv3 = _poses(tmp_path / "ntu", ["0", "1", "0"], v=25)
    out3 = import_arrays(d3, csv3, tmp_path / "ntu_out", skeleton=NTU25)
    assert (read_meta(out3)["channels"], read_meta(out3)["normalise"]) == ("xyz", "none")


def test_2d_normalise_on_3d_coords_is_an_error(tmp_path):
    d, csv = _poses(tmp_path, ["0", "1", "0"])

    with pytest.raises(ConfigError, match=r"(?s)'body' is for 2-D.*--coords 2d"):
        import_arrays(d, csv, tmp_path / "o", skeleton=COCO17, coords="3d", normalise="body")


def test_xy_arrays_without_a_score_get_score_one_where_seen(tmp_path):
    d, csv = _poses(tmp_path, ["0", "1", "0"], c=2)
    x = np.load(d / "c0.npy")
    x[2, 5] = 0.0  # a joint the estimator missed
    np.save(d / "c0.npy", x)

    out = import_arrays(d, csv, tmp_path / "out", skeleton=COCO17)

    score = open_prepared(out, "train").storage[0, :6, 2, :, 0]
    assert score[2, 5] == 0.0 and (np.delete(score.ravel(), 2 * 17 + 5) == 1.0).all()


def test_label_errors_name_the_csv_row(tmp_path):
    d, csv = _poses(tmp_path, [str(i) for i in range(3)] + ["jump", "0"])

    with pytest.raises(DataFormatError, match=r"labels\.csv:5.*'jump' is a name"):
        import_arrays(d, csv, tmp_path / "out", skeleton=COCO17)


def test_cli_num_classes_and_classes_file_reach_meta_json(tmp_path, capsys):
    d, csv = _poses(tmp_path, ["wave", "clap", "wave"])
    classes = tmp_path / "classes.txt"
    classes.write_text("clap\njump\nwave\n")

    args = ["--layout", "coco17", "--classes", str(classes), "--normalise", "box"]
    code = main(["data", "import-arrays", str(d), str(csv), str(tmp_path / "out"), *args])

    assert code == 0
    meta = read_meta(tmp_path / "out")
    assert meta["class_names"] == ["clap", "jump", "wave"] and meta["num_classes"] == 3
    assert meta["normalise"] == "box"
    assert open_prepared(tmp_path / "out", "train").y.tolist() == [2, 0]
    assert "3 classes: clap, jump, wave" in capsys.readouterr().out

    d2, csv2 = _poses(tmp_path / "gap", ["0", "3", "0"])
    code = main(["data", "import-arrays", str(d2), str(csv2), str(tmp_path / "out2"),
                 "--layout", "coco17", "--num-classes", "5"])  # fmt: skip
    assert code == 0 and read_meta(tmp_path / "out2")["num_classes"] == 5


def test_inspect_shows_the_layout_coordinates_and_class_names(tmp_path, capsys):
    d, csv = _poses(tmp_path, ["wave", "clap", "wave"])
    import_arrays(d, csv, tmp_path / "out", skeleton=COCO17)

    assert main(["data", "inspect", str(tmp_path / "out")]) == 0

    text = capsys.readouterr().out
    assert "joints: coco17; 2-D keypoints (x, y, score), normalise body" in text
    assert "classes: wave, clap" in text


def test_nan_keypoint_is_an_error_naming_file_frame_and_joint(tmp_path):
    d, csv = _poses(tmp_path, ["0", "1", "0"])
    x = np.load(d / "c1.npy")
    x[3, 7, 0] = np.nan
    np.save(d / "c1.npy", x)

    with pytest.raises(DataFormatError, match=r"c1\.npy: NaN or inf at frame 3, joint 7"):
        import_arrays(d, csv, tmp_path / "out", skeleton=COCO17)

"""NPZ detection, validation (one test per bad input) and lossless conversion."""

from __future__ import annotations

import re
import zipfile

import numpy as np
import pytest

import skelab.data as sd
from skelab.data.formats import inspect_npz
from skelab.data.npzwrite import convert_npz, save_kaggle_npz
from skelab.errors import DataFormatError


def _arrays(n=4, t=10, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, t, 150)).astype(np.float32)
    x[:, t // 2 :] = 0  # zero padding at the end, like the NTU NPZ
    y = np.eye(60, dtype=np.float32)[rng.integers(0, 60, n)]
    return {"x_train": x, "y_train": y, "x_test": x[:2].copy(), "y_test": y[:2].copy()}


def _write(path, **arrays):
    np.savez(path, **arrays)
    return path


def _expect(path, key, problem):
    """The error names the file, the key, the problem and a fix."""
    with pytest.raises(DataFormatError) as err:
        sd.load(path, split="train")
    text = str(err.value)
    assert str(path) in text
    assert f"'{key}'" in text
    assert re.search(problem, text), text
    assert "fix:" in text
    return text


def test_kaggle_layout_is_detected_and_loaded(tmp_path):
    arrays = _arrays()
    path = _write(tmp_path / "k.npz", **arrays)

    ds = sd.load(path, split="train")

    assert inspect_npz(path).layout == "kaggle"
    assert ds.x.shape == (4, 3, 10, 25, 2)
    assert np.array_equal(ds.x, arrays["x_train"].reshape(4, 10, 2, 25, 3).transpose(0, 4, 1, 3, 2))
    assert ds.y.tolist() == arrays["y_train"].argmax(1).tolist()
    assert ds.lengths.tolist() == [5, 5, 5, 5]
    assert ds.num_classes == 60 and ds.class_names[0] == "drink water"


def test_5d_layout_with_integer_labels_is_detected(tmp_path):
    a = _arrays()
    x5 = a["x_train"].reshape(4, 10, 2, 25, 3).transpose(0, 4, 1, 3, 2)
    path = _write(
        tmp_path / "f.npz",
        x_train=x5,
        y_train=a["y_train"].argmax(1),
        x_test=x5[:2],
        y_test=a["y_test"].argmax(1),
    )

    ds = sd.load(path, split="train")

    assert inspect_npz(path).layout == "5d"
    assert np.array_equal(ds.x, x5)
    assert ds.y.dtype == np.int64


def test_missing_key_is_named(tmp_path):
    a = _arrays()
    del a["y_train"]
    _expect(_write(tmp_path / "m.npz", **a), "y_train", "missing")


def test_last_dimension_not_150_is_named(tmp_path):
    a = _arrays()
    a["x_train"] = a["x_train"][:, :, :75]
    _expect(_write(tmp_path / "d.npz", **a), "x_train", "last dimension is 75, expected 150")


def test_labels_not_one_hot_are_named(tmp_path):
    a = _arrays()
    a["y_train"][1, :2] = 0.5
    _expect(_write(tmp_path / "y.npz", **a), "y_train", "not one-hot")


def test_nan_is_named(tmp_path):
    a = _arrays()
    a["x_train"][2, 0, 7] = np.nan
    text = _expect(_write(tmp_path / "n.npz", **a), "x_train", "NaN or inf")
    assert "sample 2" in text


def test_inf_is_named(tmp_path):
    a = _arrays()
    a["x_train"][0, 1, 3] = np.inf
    _expect(_write(tmp_path / "i.npz", **a), "x_train", "NaN or inf")


def test_all_zero_sequence_is_named(tmp_path):
    a = _arrays()
    a["x_train"][3] = 0
    text = _expect(_write(tmp_path / "z.npz", **a), "x_train", "all-zero sequence")
    assert "sample 3" in text


def test_different_n_in_x_and_y_is_named(tmp_path):
    a = _arrays()
    a["y_train"] = a["y_train"][:3]
    _expect(_write(tmp_path / "c.npz", **a), "y_train", "3 labels but x_train has 4 samples")


def test_truncated_file_names_the_member(tmp_path):
    path = _write(tmp_path / "t.npz", **_arrays(n=8, t=20))
    data = path.read_bytes()
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("x_test.npy")
    path.write_bytes(data[: info.header_offset + 2000])  # cut inside x_test

    with pytest.raises(DataFormatError) as err:
        sd.load(path, split="test")

    text = str(err.value)
    assert str(path) in text and "'x_test'" in text and "truncated" in text and "fix:" in text


def test_kaggle_to_5d_to_kaggle_round_trip_is_lossless(tmp_path):
    a = _arrays()
    src = _write(tmp_path / "k.npz", **a)

    convert_npz(src, tmp_path / "f.npz", to="5d")
    convert_npz(tmp_path / "f.npz", tmp_path / "k2.npz", to="kaggle")

    back = np.load(tmp_path / "k2.npz")
    for key, value in a.items():
        assert back[key].dtype == value.dtype
        assert np.array_equal(back[key], value)
    assert inspect_npz(tmp_path / "f.npz").layout == "5d"


def test_save_kaggle_npz_writes_one_hot_float32_from_integer_labels(tmp_path):
    x = np.ones((3, 4, 2, 25, 3), np.float32)

    save_kaggle_npz(tmp_path / "s.npz", x, np.array([0, 5, 2]), x[:1], np.array([7]))

    d = np.load(tmp_path / "s.npz")
    assert d["x_train"].shape == (3, 4, 150)
    assert d["y_train"].dtype == np.float32 and d["y_train"].shape == (3, 60)
    assert d["y_train"].argmax(1).tolist() == [0, 5, 2]
    assert not list(tmp_path.glob(".*tmp*"))  # the temporary file was renamed away


def test_save_kaggle_npz_that_fails_half_way_leaves_the_old_file_and_no_temporary(tmp_path):
    x = np.ones((3, 4, 150), np.float32)
    path = save_kaggle_npz(tmp_path / "s.npz", x, np.array([0, 5, 2]), x[:1], np.array([7]))
    before = path.read_bytes()

    with pytest.raises(DataFormatError, match="y_test"):  # train written, test labels wrong
        save_kaggle_npz(path, x, np.array([0, 5, 2]), x[:1], np.array([7, 8]))

    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.npz"]

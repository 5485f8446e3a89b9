"""Prepared folders: same data as the NPZ, atomic writes, fast opening that reads no samples."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

import skelab.data as sd
from skelab.data.npzwrite import NpzWriter, one_hot
from skelab.errors import DataFormatError


def _npz(path, n=12, t=30, seed=0, nan_in_test=False):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, t, 150)).astype(np.float32)
    lengths = rng.integers(1, t + 1, n)
    x[np.arange(t)[None, :] >= lengths[:, None]] = 0
    x[0, :, 75:] = 0  # sample 0 has one person
    y = one_hot(rng.integers(0, 60, n), 60)
    test = x[:4].copy()
    if nan_in_test:
        test[1, 0, 0] = np.nan
    np.savez(path, x_train=x, y_train=y, x_test=test, y_test=y[:4])
    return x, lengths


def test_prepared_folder_holds_the_npz_data(tmp_path):
    x, lengths = _npz(tmp_path / "a.npz")

    folder = sd.prepare(tmp_path / "a.npz", tmp_path / "p")

    ds, ref = sd.load(folder, "train"), sd.load(tmp_path / "a.npz", "train")
    assert np.array_equal(ds.x, ref.x)
    assert ds.lengths.tolist() == lengths.tolist() == ref.lengths.tolist()
    assert ds.persons[0] == 1 and (ds.persons[1:] == 2).all()
    assert np.array_equal(ds.y, ref.y)
    meta = json.loads((folder / "meta.json").read_text())
    assert meta["layout"] == "NTCVM" and meta["splits"]["train"]["num_samples"] == 12
    assert meta["checksums"]["train_x.npy"].startswith("sha256:")
    assert sd.verify_prepared(folder) == []


def test_prepare_from_5d_file_gives_the_same_folder_data(tmp_path):
    _npz(tmp_path / "a.npz")
    sd.convert_npz(tmp_path / "a.npz", tmp_path / "f.npz", to="5d")

    a = sd.load(sd.prepare(tmp_path / "a.npz", tmp_path / "pa"), "test")
    b = sd.load(sd.prepare(tmp_path / "f.npz", tmp_path / "pb"), "test")

    assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y)


def test_failed_prepare_leaves_nothing_behind(tmp_path):
    _npz(tmp_path / "bad.npz", nan_in_test=True)  # train is fine, test fails half-way

    with pytest.raises(DataFormatError, match="x_test"):
        sd.prepare(tmp_path / "bad.npz", tmp_path / "out")

    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.npz"]


def test_prepare_refuses_to_overwrite_without_flag(tmp_path):
    _npz(tmp_path / "a.npz")
    sd.prepare(tmp_path / "a.npz", tmp_path / "p")

    with pytest.raises(DataFormatError, match=r"(?s)already exists.*--overwrite"):
        sd.prepare(tmp_path / "a.npz", tmp_path / "p")


def test_changed_checksum_is_detected(tmp_path):
    _npz(tmp_path / "a.npz")
    folder = sd.prepare(tmp_path / "a.npz", tmp_path / "p")
    with open(folder / "train_x.npy", "r+b") as fh:
        fh.seek(-4, 2)
        fh.write(b"\x00\x00\x80\x3f")

    assert sd.verify_prepared(folder) == ["train_x.npy"]


def test_non_integer_centre_in_meta_names_the_file_and_the_field(tmp_path):
    _npz(tmp_path / "a.npz")
    folder = sd.prepare(tmp_path / "a.npz", tmp_path / "p")
    meta = json.loads((folder / "meta.json").read_text())
    meta["skeleton"]["center"] = "spine_mid"
    (folder / "meta.json").write_text(json.dumps(meta))

    with pytest.raises(DataFormatError) as info:
        sd.load(folder, "train")

    assert info.value.where == str(folder / "meta.json")
    assert "skeleton.center: must be an integer joint index" in info.value.problem
    assert "skelab data prepare" in info.value.fix


def _rchar() -> int:
    for line in open("/proc/self/io"):
        if line.startswith("rchar"):
            return int(line.split()[1])
    raise AssertionError("no rchar")


def test_opening_40000_samples_is_fast_and_reads_no_sample_data(tmp_path):
    n, t = 40_000, 2
    with NpzWriter(tmp_path / "big.npz") as w:
        x = np.zeros((n, t, 150), np.float32)
        x[:, 0, :] = 1.0
        w.write("x_train", x)
        w.write("y_train", np.arange(n) % 60)
        w.write("x_test", x[:10])
        w.write("y_test", np.arange(10))
    folder = sd.prepare(tmp_path / "big.npz", tmp_path / "p")
    sd.load(folder, "train")  # imports done

    times, reads = [], []
    for _ in range(3):
        r0, t0 = _rchar(), time.perf_counter()
        ds = sd.load(folder, "train")
        times.append(time.perf_counter() - t0)
        reads.append(_rchar() - r0)

    assert len(ds) == n and ds.lengths[0] == 1
    assert min(times) < 0.05
    small = sum((folder / f"train_{k}.npy").stat().st_size for k in ("y", "lengths", "persons"))
    x_bytes = (folder / "train_x.npy").stat().st_size
    assert min(reads) < small + 64 * 1024 < x_bytes  # meta + (N,) arrays, never x

"""`prepare_raw` / `skelab data prepare-raw` on copies of the real NTU recordings."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import skelab.data.raw_prepare as rp
from shared_refs import REAL_DATA, require
from skelab.cli.main import main
from skelab.data.denoise import preprocess
from skelab.data.prepared import open_prepared
from skelab.data.raw import SkeletonFileError, read_skeleton

NTU = REAL_DATA / "ntu"


@pytest.fixture(autouse=True)
def _needs_the_real_recordings() -> None:
    require(NTU)  # skips on a laptop without ../shared, fails on CI


@pytest.fixture
def raw_dir(tmp_path: Path) -> Path:
    """The five real files, plus two renamed copies so that train holds several performers."""
    d = tmp_path / "skeletons"
    d.mkdir()
    for f in NTU.glob("*.skeleton"):
        shutil.copy(f, d / f.name)
    shutil.copy(NTU / "S001C001P001R001A011.skeleton", d / "S001C002P002R001A011.skeleton")
    shutil.copy(NTU / "S002C001P003R001A003.skeleton", d / "S004C003P040R002A003.skeleton")
    return d


def test_prepared_folder_holds_the_upstream_samples_in_upstream_order(raw_dir, tmp_path):
    report = rp.prepare_raw(raw_dir, tmp_path / "out", dataset="ntu60", split="xsub")

    train = open_prepared(tmp_path / "out", "train")
    test = open_prepared(tmp_path / "out", "test")
    # train performers 1, 2, 8, 15 in list order; test performers 3 and 40
    assert report.samples == {"train": 5, "test": 2}
    assert train.y.tolist() == [0, 10, 10, 57, 33]
    assert test.y.tolist() == [2, 2]
    assert train.skeleton.name == "ntu25"
    expected = preprocess(read_skeleton(NTU / "S001C003P008R002A058.skeleton"))
    got = np.asarray(train.storage[3]).transpose(0, 3, 2, 1).reshape(300, 150)
    np.testing.assert_array_equal(got, expected)
    assert train.lengths.tolist() == [103, 82, 82, 70, 71]
    assert train.persons.tolist() == [1, 1, 1, 2, 1]


def test_kaggle_npz_has_upstream_keys_order_and_dtypes(raw_dir, tmp_path):
    npz = tmp_path / "NTU60_CV.npz"

    rp.prepare_raw(raw_dir, tmp_path / "out", dataset="ntu60", split="xview", kaggle_npz=npz)

    with np.load(npz) as f:
        assert list(f.keys()) == ["x_train", "y_train", "x_test", "y_test"]
        assert f["x_train"].dtype == np.float32 and f["y_train"].dtype == np.float64
        # cameras 2 and 3 train, camera 1 tests
        assert f["x_train"].shape == (3, 300, 150) and f["y_test"].shape == (4, 60)
        assert f["y_train"].argmax(1).tolist() == [10, 57, 2]
        x_test = f["x_test"]
    test = open_prepared(tmp_path / "out", "test")
    flat = np.asarray(test.storage).transpose(0, 1, 4, 3, 2).reshape(4, 300, 150)
    np.testing.assert_array_equal(flat, x_test)


def test_ntu120_xset_copies_person_one(raw_dir, tmp_path):
    rp.prepare_raw(raw_dir, tmp_path / "out", dataset="ntu120", split="xset")

    test = open_prepared(tmp_path / "out", "test")  # odd setups 1 and 3
    x = np.asarray(test.storage)  # (N, T, C, V, M)
    np.testing.assert_array_equal(x[0, ..., 1], x[0, ..., 0])
    assert test.persons.tolist()[0] == 2


def test_missing_list_samples_are_not_read(raw_dir, tmp_path):
    (raw_dir / "S001C002P005R002A008.skeleton").write_bytes(b"not even a skeleton file")

    report = rp.prepare_raw(raw_dir, tmp_path / "out", dataset="ntu60", split="xsub")

    assert report.listed_missing == 1
    assert report.skipped == []


def test_malformed_file_is_skipped_and_reported_with_its_line(raw_dir, tmp_path):
    bad = raw_dir / "S001C001P001R001A001.skeleton"
    lines = bad.read_bytes().split(b"\r\n")
    lines[3] = b"24"
    bad.write_bytes(b"\r\n".join(lines))

    report = rp.prepare_raw(raw_dir, tmp_path / "out", dataset="ntu60", split="xsub")

    assert report.samples["train"] == 4
    (skip,) = report.skipped
    assert skip["file"] == str(bad) and skip["line"] == 4
    assert f"{bad}:4: joint count 24, expected 25" in report.to_text()


def test_strict_stops_at_the_first_malformed_file(raw_dir, tmp_path):
    (raw_dir / "S001C001P001R001A001.skeleton").write_bytes(b"")

    with pytest.raises(SkeletonFileError, match="empty"):
        rp.prepare_raw(raw_dir, tmp_path / "out", dataset="ntu60", split="xsub", strict=True)


def _folder_bytes(folder: Path) -> dict[str, bytes]:
    out = {p.name: p.read_bytes() for p in folder.iterdir() if p.name != "meta.json"}
    meta = json.loads((folder / "meta.json").read_text())
    meta.pop("created")
    out["meta.json"] = json.dumps(meta).encode()
    return out


def test_interrupted_run_resumes_and_ends_byte_identical(raw_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(rp, "BATCH", 2)
    whole = tmp_path / "whole"
    rp.prepare_raw(raw_dir, whole, dataset="ntu60", split="xsub", kaggle_npz=tmp_path / "w.npz")
    calls = []

    def interrupt(n: int) -> None:  # as if killed right after the second batch was saved
        calls.append(n)
        if len(calls) == 2:
            raise KeyboardInterrupt

    out = tmp_path / "resumed"
    with pytest.raises(KeyboardInterrupt):
        rp.prepare_raw(raw_dir, out, dataset="ntu60", split="xsub", progress=interrupt)
    assert not out.exists()
    plans = []
    rp.prepare_raw(
        raw_dir, out, dataset="ntu60", split="xsub", kaggle_npz=tmp_path / "r.npz",
        on_plan=lambda total, done: plans.append((total, done)),
    )  # fmt: skip

    assert plans == [(7, 4)]
    assert _folder_bytes(out) == _folder_bytes(whole)
    assert (tmp_path / "r.npz").read_bytes() == (tmp_path / "w.npz").read_bytes()
    assert not (tmp_path / ".resumed.raw-work").exists()


def test_resume_with_other_arguments_is_refused(raw_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(rp, "BATCH", 2)

    def interrupt(n: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        rp.prepare_raw(raw_dir, tmp_path / "o", dataset="ntu60", split="xsub", progress=interrupt)
    with pytest.raises(rp.DataFormatError, match="other arguments"):
        rp.prepare_raw(raw_dir, tmp_path / "o", dataset="ntu60", split="xview")


def test_cli_prints_the_report_and_exits_0(raw_dir, tmp_path, capsys):
    code = main(
        ["data", "prepare-raw", str(raw_dir), str(tmp_path / "out"), "--dataset", "ntu60",
         "--split", "xsub", "--workers", "2", "--json"]
    )  # fmt: skip

    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report["samples"] == {"train": 5, "test": 2}
    assert report["files_read"] == 7


def test_cli_rejects_a_split_the_dataset_does_not_have(raw_dir, tmp_path, capsys):
    code = main(
        ["data", "prepare-raw", str(raw_dir), str(tmp_path / "o"), "--dataset", "ntu60",
         "--split", "xset"]
    )  # fmt: skip

    assert code == 2
    assert "ntu60 xset is not an official benchmark" in capsys.readouterr().err


@pytest.mark.slow
def test_killed_process_resumes_and_ends_byte_identical(tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    src = tmp_path / "skeletons"
    src.mkdir()
    for k in range(30):  # 150 files: more than two status saves (every 64 files)
        for f in sorted(NTU.glob("*.skeleton")):
            name = f"{f.name[:8]}P{41 + k:03d}{f.name[12:]}"
            shutil.copy(f, src / name)
    args = ["data", "prepare-raw", str(src), "--dataset", "ntu60", "--split", "xsub",
            "--workers", "1"]  # fmt: skip
    assert main([*args[:3], str(tmp_path / "whole"), *args[3:]]) == 0
    cmd = [sys.executable, "-m", "skelab.cli.main", *args[:3], str(tmp_path / "out"), *args[3:]]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    status = tmp_path / ".out.raw-work" / "status.npy"
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if status.is_file() and np.load(status).astype(bool).sum() >= 64:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = int(np.load(status).astype(bool).sum())

    assert 64 <= done < 150
    assert main([*args[:3], str(tmp_path / "out"), *args[3:]]) == 0
    assert _folder_bytes(tmp_path / "out") == _folder_bytes(tmp_path / "whole")

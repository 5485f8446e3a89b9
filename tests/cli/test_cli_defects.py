"""The command-line defects of issue 16, one test each (each failed before its fix)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from skelab.cli.main import main


def _tiny_npz(path, *, train=12, test=6, classes=3):
    rng = np.random.default_rng(0)

    def split(n):
        y = np.arange(n) % classes
        x = 0.2 * rng.standard_normal((n, 3, 12, 25, 2)).astype(np.float32)
        x[:, 0] += y[:, None, None, None]
        return x, y.astype(np.int64)

    (xtr, ytr), (xte, yte) = split(train), split(test)
    np.savez(path, x_train=xtr, y_train=ytr, x_test=xte, y_test=yte, num_classes=np.int64(classes))
    return path


def _tiny_yaml(path, npz, *, model="mlp", classes=3):
    options = "{segments: 2, hidden: [8]}" if model == "mlp" else "{}"
    path.write_text(
        f"extends: ntu60-xsub/{model}-joint\n"
        f"model:\n  options: {options}\n"
        f"data:\n  path: {npz}\n  num_classes: {classes}\n  window: 8\n"
        "train:\n  epochs: 1\n  batch_size: 4\n  test_batch_size: 4\n  device: cpu\n"
    )
    return path


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("defects")
    cfg = _tiny_yaml(root / "tiny.yaml", _tiny_npz(root / "tiny.npz"))
    assert main(["train", str(cfg), "--out", str(root / "run"), "--no-progress"]) == 0
    return root / "run"


def test_export_out_into_a_folder_is_refused_and_leaves_no_partial_file(run_dir, tmp_path, capsys):
    folder = tmp_path / "exports"
    folder.mkdir()

    code = main(["export", str(run_dir), "--format", "torchscript", "--out", str(folder)])

    assert code == 2
    assert "is a folder; a file name is needed" in capsys.readouterr().err
    assert list(tmp_path.rglob("*")) == [folder]  # no hidden .partial beside or inside it


def test_export_refuses_to_replace_a_file_without_overwrite(run_dir, tmp_path, capsys):
    out = tmp_path / "m.ts.pt"
    out.write_text("mine")

    code = main(["export", str(run_dir), "--format", "torchscript", "--out", str(out)])

    assert code == 2 and out.read_text() == "mine"
    assert "--overwrite" in capsys.readouterr().err

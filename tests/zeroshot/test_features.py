"""Upstream-layout zero-shot feature folders: read, checked, with errors that say what to fix."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from skelab.errors import DataFormatError
from skelab.zeroshot.features import read_folder, save_npy
from skelab.zeroshot.splits import ZeroShotSplit

SPLIT = ZeroShotSplit(name="tiny", num_classes=6, unseen=(4, 5), val_unseen=(2, 3))


def _write_test_folder(folder: Path, *, z_label=(4, 5, 4), out_cols=6) -> None:
    rng = np.random.default_rng(0)
    arrays = {
        "train": rng.random((4, 3)), "train_label": np.array([0, 1, 2, 3]),
        "ztest": rng.random((3, 3)), "z_label": np.array(z_label),
        "gtest": rng.random((5, 3)), "g_label": np.array([0, 1, 4, 5, 3]),
        "gtest_out": rng.random((5, out_cols)),
    }  # fmt: skip
    for name, arr in arrays.items():
        save_npy(folder / f"{name}.npy", arr)


def test_read_folder_accepts_the_upstream_layout(tmp_path):
    _write_test_folder(tmp_path)

    f = read_folder(tmp_path, val=False, split=SPLIT)

    assert f.dim == 3 and f["train"].dtype == np.float32 and f["g_label"].dtype == np.int64


def test_read_folder_rejects_ztest_labels_that_are_not_unseen(tmp_path):
    _write_test_folder(tmp_path, z_label=(4, 1, 5))

    with pytest.raises(DataFormatError, match=r"(?s)z_label\.npy.*\[1\].*not unseen.*fix:"):
        read_folder(tmp_path, val=False, split=SPLIT)


def test_read_folder_needs_logits_over_every_class(tmp_path):
    _write_test_folder(tmp_path, out_cols=4)

    with pytest.raises(DataFormatError, match=r"(?s)gtest_out\.npy.*\(5, 6\).*fix:"):
        read_folder(tmp_path, val=False, split=SPLIT)


def test_read_folder_names_a_missing_file(tmp_path):
    with pytest.raises(DataFormatError, match=r"(?s)train\.npy.*missing.*skelab zeroshot features"):
        read_folder(tmp_path, val=True, split=SPLIT)

"""The upstream feature-folder format of zero-shot skeleton features: read, check and write.

SynSE (github.com/skelemoa/synse-zsl) trained one Shift-GCN per split on the seen classes and
saved its pooled features (the input of the final classifier) and its logits; MSF-GZSSAR and
FS-VAE read those files (`reference/zeroshot.md` sections 3 and 4). skelab reads and writes the
same two folders, whether upstream or skelab's backbones (`apps/zsl_features.py`) made them:

    <out>/shift_<ss>_r/        backbone trained on the N-ss seen classes
      train.npy, train_label.npy   (N_train, D) float32, (N_train,) int64: seen training samples
      ztest.npy, z_label.npy       test samples of the unseen classes
      gtest.npy, g_label.npy       every test sample (GZSL test)
      gtest_out.npy                (N_g, N) the backbone's raw logits for gtest
    <out>/shift_val_<ss>_r/    backbone trained on the N-2ss validation-seen classes
      train.npy, train_label.npy   its training samples
      ztest.npy, z_label.npy       samples of the ss validation-unseen classes
      val.npy, val_label.npy       held-out samples of validation-seen classes
      ztest_out.npy, val_out.npy   that backbone's raw logits for both

Labels are global class ids (0..N-1, never re-indexed). The backbone keeps all N outputs and is
simply never shown an unseen sample, as SynSE's was: upstream's logits have N columns and the
GZSL gate softmaxes over all of them (PITFALLS 13), so no label remapping is needed. A folder
skelab wrote ends with `skelab_features.json` (its digest and sizes), written last.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from skelab.errors import DataFormatError
from skelab.zeroshot.splits import ZeroShotSplit

TEST_FILES = ("train", "train_label", "ztest", "z_label", "gtest", "g_label", "gtest_out")
VAL_FILES = (
    "train", "train_label", "ztest", "z_label", "val", "val_label", "ztest_out", "val_out",
)  # fmt: skip
META = "skelab_features.json"  # written last: its presence marks a finished folder


# --------------------------------------------------------------------------------------------
# Folders in the upstream layout


def save_npy(path: str | Path, arr: np.ndarray) -> Path:
    """`np.save` without pickles, atomically (a killed run leaves no torn file)."""
    from skelab.files import atomic_write_bytes

    buf = io.BytesIO()
    np.save(buf, np.ascontiguousarray(arr), allow_pickle=False)
    return atomic_write_bytes(path, buf.getvalue())


def write_folder(folder: Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Write each array as `<name>.npy` atomically, then the metadata file that marks the
    folder finished."""
    from skelab.files import atomic_write_text

    folder.mkdir(parents=True, exist_ok=True)
    (folder / META).unlink(missing_ok=True)
    for name, arr in arrays.items():
        save_npy(folder / f"{name}.npy", arr)
    atomic_write_text(folder / META, json.dumps(meta, indent=1, sort_keys=True) + "\n")


def finished_meta(folder: Path) -> dict[str, Any] | None:
    """The metadata of a folder skelab finished writing, else None."""
    path = folder / META
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:
        return None


@dataclass
class FeatureFolder:
    """The arrays of one upstream-layout folder, checked (labels global, widths agree)."""

    path: Path
    arrays: dict[str, np.ndarray]

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]

    @property
    def dim(self) -> int:
        return int(self.arrays["train"].shape[1])


def read_folder(folder: str | Path, *, val: bool, split: ZeroShotSplit) -> FeatureFolder:
    """Read `shift_<ss>_r` (val=False) or `shift_val_<ss>_r` (val=True), made by skelab or by
    upstream, and check shapes, dtypes and that every label belongs where the split says."""
    folder = Path(folder)
    names = VAL_FILES if val else TEST_FILES
    arrays: dict[str, np.ndarray] = {}
    for name in names:
        path = folder / f"{name}.npy"
        if not path.is_file():
            raise DataFormatError(
                path,
                "missing",
                fix=f"a features folder holds {', '.join(n + '.npy' for n in names)}; make one "
                "with `skelab zeroshot features CONFIG --split ...`",
            )
        try:
            arrays[name] = np.load(path, allow_pickle=False)
        except ValueError as exc:
            raise DataFormatError(
                path, f"not a plain .npy array ({exc})", fix="re-save it"
            ) from exc
    n = split.num_classes
    dim = None
    pairs = [("train", "train_label"), ("ztest", "z_label")]
    pairs += [("val", "val_label")] if val else [("gtest", "g_label")]
    for feat, lab in pairs:
        x, y = arrays[feat], arrays[lab]
        where = folder / f"{feat}.npy"
        if x.ndim != 2 or y.shape != (x.shape[0],):
            raise DataFormatError(
                where,
                f"shape {x.shape} with labels {y.shape}; expected (n, D) and (n,)",
                fix="write one feature row per sample and one label per row",
            )
        if dim is not None and x.shape[1] != dim:
            raise DataFormatError(
                where, f"width {x.shape[1]}, train.npy has {dim}", fix="use one backbone's files"
            )
        dim = x.shape[1]
        if not np.issubdtype(y.dtype, np.integer) or (y.size and not 0 <= y.min() <= y.max() < n):
            raise DataFormatError(
                folder / f"{lab}.npy",
                f"labels must be integer class ids in 0..{n - 1}",
                fix=f"store global class ids of the {split.name} split (not re-indexed)",
            )
        arrays[feat] = x.astype(np.float32)
        arrays[lab] = y.astype(np.int64)
    seen, unseen = (split.val_seen, split.val_unseen) if val else (split.seen, split.unseen)
    for lab, allowed, role in (("train_label", seen, "seen"), ("z_label", unseen, "unseen")):
        stray = np.setdiff1d(arrays[lab], allowed)
        if stray.size:
            raise DataFormatError(
                folder / f"{lab}.npy",
                f"holds classes {stray[:8].tolist()} that are not {role} in {split.name}"
                + (" (validation)" if val else ""),
                fix="pass the features made for this split (`--split` must match)",
            )
    outs = (("ztest_out", "ztest"), ("val_out", "val")) if val else (("gtest_out", "gtest"),)
    for out, feat in outs:
        if arrays[out].shape != (arrays[feat].shape[0], n):
            raise DataFormatError(
                folder / f"{out}.npy",
                f"shape {arrays[out].shape}, expected ({arrays[feat].shape[0]}, {n}): the "
                "backbone's logits over all classes",
                fix="write the logits of every class column, seen or not",
            )
        arrays[out] = arrays[out].astype(np.float32)
    return FeatureFolder(folder, arrays)

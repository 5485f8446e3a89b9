"""Skeleton features for zero-shot learning: a skelab backbone trained on the seen classes only.

SynSE (github.com/skelemoa/synse-zsl) trained one Shift-GCN per split on the seen classes and
saved its pooled features (the input of the final classifier) and its logits; MSF-GZSSAR and
FS-VAE read those files (`reference/zeroshot.md` sections 3 and 4). skelab trains any of its
backbones through the engine instead and writes the same two folders, so the files also feed the
upstream repositories:

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
GZSL gate softmaxes over all of them (PITFALLS 13), so no label remapping is needed.

Which samples go where (upstream never says; PITFALLS 19). skelab reads the test split only in
`shift_<ss>_r` (ztest, gtest). The validation folder is carved from the training split alone:
its backbone trains on the validation-seen classes minus a held-out share (`val_fraction` per
class, seeded), `val` is that held-out share and `ztest` the training samples of the
validation-unseen classes. So every choice made on the validation folder (cycle, gate) is made
without looking at a test sample. Features of every set are computed with the test-time
transform (the centred crop), from the weights after the last epoch (never a best-on-test pick).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from skelab.data.subset import Subset
from skelab.errors import ConfigError, DataFormatError, SkelabError
from skelab.zeroshot.splits import ZeroShotSplit

log = logging.getLogger(__name__)

TEST_FILES = ("train", "train_label", "ztest", "z_label", "gtest", "g_label", "gtest_out")
VAL_FILES = (
    "train", "train_label", "ztest", "z_label", "val", "val_label", "ztest_out", "val_out",
)  # fmt: skip
META = "skelab_features.json"  # written last: its presence marks a finished folder


# --------------------------------------------------------------------------------------------
# Class subsets of a dataset split


def rows_of(labels: np.ndarray, classes: tuple[int, ...] | list[int]) -> np.ndarray:
    """Positions whose label is in `classes`, in order."""
    return np.flatnonzero(np.isin(labels, np.asarray(classes, dtype=np.int64)))


def hold_out(
    labels: np.ndarray, rows: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Split `rows` into (kept, held out), holding out `fraction` of each class (at least one
    sample of a class that has two or more), chosen by a seeded permutation; both sorted."""
    rng = np.random.default_rng(seed)
    held = []
    for c in np.unique(labels[rows]):
        mine = rows[labels[rows] == c]
        k = min(len(mine) - 1, max(1, round(fraction * len(mine))))
        if k > 0:
            held.append(rng.permutation(mine)[:k])
    out = np.sort(np.concatenate(held)) if held else np.zeros(0, np.int64)
    return np.setdiff1d(rows, out), out


# --------------------------------------------------------------------------------------------
# Backbone: train on a subset, extract pooled features and logits


def find_classifier(model: Any, num_classes: int) -> Any:
    """The model's final classifier: the last `nn.Linear` (or 1x1 convolution, as in ST-GCN)
    with `num_classes` outputs. Its input is the pooled feature."""
    from torch import nn

    found = None
    for mod in model.modules():
        if isinstance(mod, nn.Linear) and mod.out_features == num_classes:
            found = mod
        elif (
            isinstance(mod, (nn.Conv1d, nn.Conv2d))
            and mod.out_channels == num_classes
            and all(k == 1 for k in mod.kernel_size)
        ):
            found = mod
    if found is None:
        raise SkelabError(
            f"{type(model).__name__} has no final nn.Linear with {num_classes} outputs, so "
            "its pooled features cannot be captured",
            fix="use a model whose classifier is an nn.Linear (every skelab model is)",
        )
    return found


def _loader(cfg: Any, view: Subset, *, train: bool, device: Any) -> Any:
    import skelab.data as sd
    from skelab.engine.build import build_transform

    size = cfg.train.batch_size if train else cfg.train.test_batch_size
    return sd.BatchLoader(
        view,  # type: ignore[arg-type]  # duck-typed SkeletonDataset
        batch_size=min(size, len(view)) if train else size,
        train=train,
        transform=build_transform(cfg, train=train, skeleton=view.skeleton),
        device=str(device),
        seed=cfg.train.seed,
    )


def train_backbone(
    cfg: Any, train_view: Subset, eval_view: Subset, *, work_dir: Path, progress: bool
) -> Any:
    """Train `cfg`'s model on `train_view` through the engine's Trainer (checkpoints in
    `work_dir`, resumed when a run is there); returns the Trainer after the last epoch."""
    from skelab.engine.build import resolve_device
    from skelab.engine.trainer import Trainer

    device = resolve_device(cfg.train.device)
    trainer = Trainer(
        cfg,
        work_dir=work_dir,
        train_loader=_loader(cfg, train_view, train=True, device=device),
        test_loader=_loader(cfg, eval_view, train=False, device=device),
        progress=progress,
    )
    resume = (work_dir / "checkpoints" / "last.pt").is_file()
    if resume:
        log.info("%s: resuming the backbone run found there", work_dir)
    trainer.fit(resume=resume)
    return trainer


def extract(trainer: Any, view: Subset) -> tuple[np.ndarray, np.ndarray]:
    """(pooled features (n, D) float32, logits (n, N) float32) of every sample of `view`, in
    order, with the test-time transform."""
    from skelab.engine.evaluate import evaluate

    if len(view) == 0:
        raise SkelabError(
            f"{view.path}: no {view.split} samples of the requested classes",
            fix="check that the data holds every class of the split (`skelab data inspect`)",
        )
    n = trainer.cfg.data.num_classes
    result = evaluate(
        trainer.eval_model,
        _loader(trainer.cfg, view, train=False, device=trainer.device),
        needs_index_t=trainer.needs_index_t,
        dtype=trainer.amp_dtype,
        num_classes=n,
        progress=trainer.progress,
        capture=find_classifier(trainer.model, n),
    )
    assert result.features is not None and len(result.index) == len(view)
    return result.features, result.scores.astype(np.float32)


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


# --------------------------------------------------------------------------------------------
# The stage: both backbones, both folders


def config_digest(cfg: Any, split: ZeroShotSplit, val_fraction: float) -> str:
    """What the features depend on, hashed: a changed config means new features."""
    text = json.dumps(
        {"config": cfg.to_dict(), "split": split.name, "val_fraction": val_fraction},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _meta(base: dict[str, Any], arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    sizes = {k: int(len(v)) for k, v in arrays.items()}
    return {**base, "dim": int(arrays["train"].shape[1]), "sizes": sizes}


def _check_config(cfg: Any, split: ZeroShotSplit) -> None:
    if cfg.data.num_classes != split.num_classes:
        raise ConfigError(
            "data.num_classes",
            f"is {cfg.data.num_classes}, but split {split.name} has {split.num_classes} classes",
            fix=f"--set data.num_classes={split.num_classes}",
        )


def make_features(
    cfg: Any,
    split: ZeroShotSplit,
    out: str | Path,
    *,
    val_fraction: float = 0.1,
    progress: bool = True,
) -> tuple[Path, Path]:
    """Train both backbones and write `<out>/shift_<ss>_r` and `<out>/shift_val_<ss>_r`.

    Each folder is skipped when skelab already finished it for the same config and split; a
    backbone run interrupted half-way resumes from its last checkpoint
    (`<out>/backbones/{test,val}/`)."""
    import skelab.data as sd
    from skelab.engine.build import check_labels, check_pairing

    _check_config(cfg, split)
    if not 0.0 < val_fraction < 1.0:
        raise ConfigError("val_fraction", f"must be in (0, 1), got {val_fraction}", fix="use 0.1")
    if not cfg.data.path:
        raise ConfigError(
            "data.path",
            "is empty: no skeletons to train the backbone on",
            fix="--set data.path=NTU60_CS.npz (or a `skelab data prepare` folder)",
        )
    out = Path(out)
    digest = config_digest(cfg, split, val_fraction)
    test_dir, val_dir = out / split.test_dir, out / split.val_dir
    todo = [d for d in (test_dir, val_dir) if (finished_meta(d) or {}).get("digest") != digest]
    if not todo:
        log.info("%s: features already made for this config and split; reusing them", out)
        return test_dir, val_dir
    train_ds = sd.load(cfg.data.path, split="train")
    test_ds = sd.load(cfg.data.path, split="test")
    for ds in (train_ds, test_ds):
        check_labels(cfg, ds)
    check_pairing(cfg, int(test_ds.x.shape[3]), where=cfg.data.path, layout=test_ds.skeleton.name)
    ytr, yte = np.asarray(train_ds.y), np.asarray(test_ds.y)
    missing = np.setdiff1d(np.arange(split.num_classes), np.unique(ytr))
    if missing.size:
        raise DataFormatError(
            cfg.data.path,
            f"the training split has no sample of classes {missing[:10].tolist()}",
            fix=f"use data that holds all {split.num_classes} classes of {split.name}",
        )
    base_meta = {
        "digest": digest,
        "split": split.name,
        "model": cfg.model.name,
        "data": str(cfg.data.path),
        "val_fraction": val_fraction,
        "made_by": "skelab zeroshot features",
    }
    if test_dir in todo:
        log.info("backbone 1/2: %s on the %d seen classes of %s", cfg.model.name,
                 len(split.seen), split.name)  # fmt: skip
        train_view = Subset(train_ds, rows_of(ytr, split.seen))
        seen_test = Subset(test_ds, rows_of(yte, split.seen))
        trainer = train_backbone(
            cfg, train_view, seen_test, work_dir=out / "backbones" / "test", progress=progress
        )
        ztest = Subset(test_ds, rows_of(yte, split.unseen))
        gtest = Subset(test_ds, np.arange(len(test_ds)))
        f_train, _ = extract(trainer, train_view)
        f_z, _ = extract(trainer, ztest)
        f_g, out_g = extract(trainer, gtest)
        arrays = {
            "train": f_train, "train_label": train_view.y.astype(np.int64),
            "ztest": f_z, "z_label": ztest.y.astype(np.int64),
            "gtest": f_g, "g_label": gtest.y.astype(np.int64), "gtest_out": out_g,
        }  # fmt: skip
        write_folder(test_dir, arrays, _meta(base_meta, arrays))
    if val_dir in todo:
        log.info("backbone 2/2: %s on the %d validation-seen classes of %s", cfg.model.name,
                 len(split.val_seen), split.name)  # fmt: skip
        kept, held = hold_out(ytr, rows_of(ytr, split.val_seen), val_fraction, cfg.train.seed)
        train_view, val_view = Subset(train_ds, kept), Subset(train_ds, held)
        trainer = train_backbone(
            cfg, train_view, val_view, work_dir=out / "backbones" / "val", progress=progress
        )
        ztest = Subset(train_ds, rows_of(ytr, split.val_unseen))
        f_train, _ = extract(trainer, train_view)
        f_z, out_z = extract(trainer, ztest)
        f_v, out_v = extract(trainer, val_view)
        arrays = {
            "train": f_train, "train_label": train_view.y.astype(np.int64),
            "ztest": f_z, "z_label": ztest.y.astype(np.int64),
            "val": f_v, "val_label": val_view.y.astype(np.int64),
            "ztest_out": out_z, "val_out": out_v,
        }  # fmt: skip
        write_folder(val_dir, arrays, _meta(base_meta, arrays))
    return test_dir, val_dir

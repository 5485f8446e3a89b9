"""Skeleton features for zero-shot learning: a skelab backbone trained on the seen classes only.

SynSE trained one Shift-GCN per split on the seen classes and saved its pooled features and
logits for MSF-GZSSAR and FS-VAE (`reference/zeroshot.md` sections 3 and 4). `make_features`
trains any skelab backbone through the engine instead and writes the same two folders
(`skelab.zeroshot.features` describes and reads the layout), so the files also feed the
upstream repositories.

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
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

import skelab.data as sd
from skelab.data.subset import Subset
from skelab.engine.build import (
    build_transform,
    check_labels,
    check_pairing,
    resolve_device,
)
from skelab.engine.evaluate import evaluate
from skelab.engine.rundir import RunDir
from skelab.engine.trainer import Trainer
from skelab.errors import ConfigError, DataFormatError, SkelabError
from skelab.zeroshot.features import finished_meta, write_folder
from skelab.zeroshot.splits import ZeroShotSplit

log = logging.getLogger(__name__)


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
    device = resolve_device(cfg.train.device)
    trainer = Trainer(
        cfg,
        work_dir=work_dir,
        train_loader=_loader(cfg, train_view, train=True, device=device),
        test_loader=_loader(cfg, eval_view, train=False, device=device),
        progress=progress,
    )
    resume = RunDir(work_dir).last.is_file()
    if resume:
        log.info("%s: resuming the backbone run found there", work_dir)
    trainer.fit(resume=resume)
    return trainer


def extract(trainer: Any, view: Subset) -> tuple[np.ndarray, np.ndarray]:
    """(pooled features (n, D) float32, logits (n, N) float32) of every sample of `view`, in
    order, with the test-time transform."""
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

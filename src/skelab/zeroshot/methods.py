"""MSF-GZSSAR and FS-VAE: configuration, training and zero-shot scoring (the public API).

Import everything from here; the pieces live in `config` (MethodConfig), `training` (trainer,
classifier), `vae`, `msf`, `fsvae` (networks and losses), `gate` and `checkpoints`.

Papers: Li et al., "Multi-Semantic Fusion Model for Generalized Zero-Shot Skeleton-based Action
Recognition", ICIG 2023; Wu et al., "Frequency-Semantic Enhanced Variational Autoencoder for
Zero-Shot Skeleton-based Action Recognition", ICCV 2025.
Upstream: github.com/EHZ9NIWI7/MSF-GZSSAR and github.com/wenhanwu95/FS-VAE, train.py.

Everything at this boundary is numpy: features (N, D) float32, labels (N,) int64 in the GLOBAL
class index space (0..C-1, never re-indexed), the class-text table (C, Dt) already normalised
(`skelab.zeroshot.texts`), unseen classes as global ids. The zero-shot classifier's output k is
`sorted(unseen)[k]`, as upstream.

Training follows upstream step for step: `cycles` cycles of `steps_per_cycle` optimizer steps,
each "epoch" being ONE mini-batch drawn from a fresh shuffle; the loss weights restart every cycle;
the VAE and its Adam state carry over; after each cycle a fresh zero-shot classifier is fitted on
latents of the unseen class texts. `ZSLTrainer.train_cycle` runs one cycle and returns a snapshot
of the model, so a caller can score, select and save every cycle.

How skelab differs from upstream:
* any feature width and text width (upstream hard-codes 256 skeleton dims);
* the FS-VAE DCT is one matrix product with a per-coefficient scale (for the class texts, whose
  rows never change, the table is split into band parts once and each step takes one weighted
  sum) instead of torch-dct and a Python loop over 30 bands; same numbers (golden tests);
* no DataLoader per step: a batch is `batch_size` distinct uniform indices, the same
  distribution as the first batch of a fresh shuffle; Adam is torch's fused kernel;
* cycles other than 1700 / 1900 steps scale upstream's schedule (`MethodConfig.schedule`);
  upstream's absolute step numbers would never switch cross-alignment on in short cycles;
* the gate is fitted without scikit-learn (`skelab.zeroshot.gate`);
* one torch generator per trainer (seed 5 by default) instead of global seeds, so runs are
  reproducible but not digit-identical to upstream's;
* input checks (widths, label range, NaN) raise `SkelabError`s instead of failing inside torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from skelab.errors import DataFormatError
from skelab.zeroshot.config import METHODS, MethodConfig
from skelab.zeroshot.gate import Gate, GZSLResult, fit_gate, gate_features, gzsl_evaluate
from skelab.zeroshot.inputs import check_features, check_labels
from skelab.zeroshot.training import Progress, ZSLModel, ZSLTrainer, build_vae, train

__all__ = [
    "METHODS",
    "MethodConfig",
    "Progress",
    "ZSLModel",
    "ZSLTrainer",
    "build_vae",
    "train",
    "zsl_scores",
    "zsl_predict",
    "zsl_accuracy",
    "Gate",
    "GZSLResult",
    "fit_gate",
    "gate_features",
    "gzsl_evaluate",
    "save",
    "load",
    "load_upstream",
]


def zsl_scores(
    model: ZSLModel, feats: np.ndarray, *, batch: int = 4096, name: str = "feats"
) -> np.ndarray:
    """(N, ss) float32 softmax of the rectified classifier logits on se's mu (upstream's scores).

    Columns follow `model.unseen` (sorted). These are upstream's `*_zs.npy` score files. `name`
    (e.g. the file the features came from) is what input errors call them.
    """
    x = check_features(feats, dim=model.feat_dim, name=name)
    device = next(model.vae.parameters()).device
    out = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            mu, _ = model.vae.se(torch.from_numpy(x[i : i + batch]).to(device))
            out.append(torch.softmax(model.classifier(mu), dim=1).cpu())
    if not out:
        return np.zeros((0, len(model.unseen)), np.float32)
    return torch.cat(out).numpy()


def zsl_predict(model: ZSLModel, feats: np.ndarray, *, name: str = "feats") -> np.ndarray:
    """(N,) predicted global class ids among the unseen classes (ties go to the smallest id)."""
    return model.unseen[np.argmax(zsl_scores(model, feats, name=name), axis=1)]


def zsl_accuracy(
    model: ZSLModel, feats: np.ndarray, labels: np.ndarray, *, name: str = "feats"
) -> float:
    """Top-1 accuracy (correct / samples) of the zero-shot classifier on unseen-class samples."""
    y = check_labels(labels, n=len(feats), num_classes=None, name=f"labels of {name}")
    if len(y) == 0:
        raise DataFormatError(name, "no samples to score", fix="pass the ZSL test features")
    return float(np.mean(zsl_predict(model, feats, name=name) == y))


def save(model: ZSLModel, path: str | Path) -> Path:
    """Write skelab's single-file checkpoint (weights, config, unseen classes), atomically."""
    from skelab.zeroshot.checkpoints import save_model

    return save_model(model, path)


def load(path: str | Path, *, device: str | torch.device = "cpu") -> ZSLModel:
    """Read a checkpoint written by `save` (weights_only)."""
    from skelab.zeroshot.checkpoints import load_model

    return load_model(path, device=device)


def load_upstream(
    source: str | Path | list[str | Path],
    *,
    unseen: np.ndarray | list[int],
    epoch: int | None = None,
    **overrides: Any,
) -> ZSLModel:
    """Load upstream weights: a folder holding se_/sd_/te_/td_<epoch>.pth.tar and
    classifier.pth.tar, a list of those five files, or one flat dict file with `se.` ...
    `classifier.` prefixes. The method and widths are read from the keys; `unseen` is the
    split's unseen list (upstream does not save it); `overrides` are MethodConfig options or
    `device`."""
    from skelab.zeroshot.checkpoints import load_upstream_model

    return load_upstream_model(source, unseen=unseen, epoch=epoch, **overrides)

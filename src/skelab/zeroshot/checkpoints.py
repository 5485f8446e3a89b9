"""Zero-shot model checkpoints: skelab's single file, and upstream's five files.

skelab writes ONE file per model (`save_model`): the VAE and classifier weights, the method
config, the feature and text widths and the unseen classes, as tensors and plain values
(readable with `weights_only=True`), written atomically.

Upstream (MSF-GZSSAR and FS-VAE train.py) writes five files per checkpoint:
`se_<epoch>.pth.tar`, `sd_<epoch>.pth.tar`, `te_<epoch>.pth.tar`, `td_<epoch>.pth.tar` (each
{'epoch', 'state_dict'}, plus the Adam 'optimizer' in se_*) and `classifier.pth.tar`
({'state_dict'}). `load_upstream_model` reads such a folder, or one flat dict whose keys carry the
`se.` ... `classifier.` prefixes (the golden fixtures' layout). Key mapping:
* MSF-GZSSAR heads `mu_transformation.0.*` / `logvar_transformation.0.*` -> skelab's
  `mu_transformation.*` / `logvar_transformation.*` (FS-VAE already uses plain Linear heads);
* FS-VAE `k`, `freq_weights` -> `freq.k`, `freq.freq_weights` (trained); the constant
  parameters `num_freq_bands`, `split_freq`, `m` become config values and `dct_enhancement` must be
  on (skelab keeps these four out of its own state dict: upstream never changes them).
Upstream saves no unseen list, so the caller passes the split's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from skelab.errors import CheckpointError
from skelab.files import atomic_save, load_torch
from skelab.models.upstream import unwrap_state_dict
from skelab.models.weights import load_strict
from skelab.zeroshot.config import MethodConfig
from skelab.zeroshot.inputs import check_unseen
from skelab.zeroshot.training import ZSLModel, build_vae
from skelab.zeroshot.vae import ZeroShotClassifier

FORMAT = "skelab.zeroshot/1"
PARTS = ("se", "sd", "te", "td", "classifier")
_FREQ_CONSTANTS = ("dct_enhancement", "num_freq_bands", "split_freq", "m")
_KEYS = ("format", "config", "feat_dim", "text_dim", "unseen", "cycle", "vae", "classifier")


def save_model(model: ZSLModel, path: str | Path) -> Path:
    """Write `model` to `path` (one file, atomic)."""
    obj = {
        "format": FORMAT,
        "config": model.config.to_dict(),
        "feat_dim": model.feat_dim,
        "text_dim": model.text_dim,
        "unseen": [int(c) for c in model.unseen],
        "cycle": int(model.cycle),
        "vae": {k: v.detach().cpu() for k, v in model.vae.state_dict().items()},
        "classifier": {k: v.detach().cpu() for k, v in model.classifier.state_dict().items()},
    }
    return atomic_save(obj, path)


def load_model(path: str | Path, *, device: str | torch.device = "cpu") -> ZSLModel:
    """Read a file written by `save_model`; any missing or unknown entry is an error."""
    obj = load_torch(path, fix="re-save it with skelab.zeroshot.methods.save")
    if not isinstance(obj, Mapping) or obj.get("format") != FORMAT:
        raise CheckpointError(
            f"not a skelab zero-shot checkpoint (format {_get(obj, 'format')!r}, "
            f"expected {FORMAT!r})",
            where=path,
            fix="for upstream se_/sd_/te_/td_/classifier files use load_upstream",
        )
    missing = [k for k in _KEYS if k not in obj]
    unknown = sorted(set(obj) - set(_KEYS))
    if missing or unknown:
        raise CheckpointError(
            f"missing keys {missing}, unknown keys {unknown}",
            where=path,
            fix="re-save the model with skelab.zeroshot.methods.save",
        )
    config = MethodConfig.from_dict(obj["config"], where=str(path))
    unseen = check_unseen(obj["unseen"], num_classes=max(obj["unseen"]) + 1, name=f"{path}: unseen")
    return _assemble(
        config,
        feat_dim=int(obj["feat_dim"]),
        text_dim=int(obj["text_dim"]),
        vae_state=obj["vae"],
        classifier_state=obj["classifier"],
        unseen=unseen,
        cycle=int(obj["cycle"]),
        where=str(path),
        device=device,
    )


def read_upstream(
    source: str | Path | Sequence[str | Path], *, epoch: int | None = None
) -> dict[str, torch.Tensor]:
    """One flat dict with `se.` ... `classifier.` prefixes from upstream's files.

    `source` is a folder (`epoch` picks `se_<epoch>.pth.tar` etc.; None takes the largest epoch
    present), the five files themselves (told apart by their name prefixes), or one flat file.
    """
    if isinstance(source, Sequence) and not isinstance(source, str):
        return _read_five_files([Path(p) for p in source])
    source = Path(source)
    if source.is_file():
        flat = unwrap_state_dict(load_torch(source), where=source)
        parts = {k.split(".", 1)[0] for k in flat}
        missing = [p for p in PARTS if p not in parts]
        if missing:
            raise CheckpointError(
                f"no keys with the prefixes {[p + '.' for p in missing]}",
                where=source,
                fix="pass the folder with upstream's five files, or a flat dict with all prefixes",
            )
        return flat
    if not source.is_dir():
        raise CheckpointError(f"no such file or folder: {source}", fix="check the path")
    if epoch is None:
        found = sorted(
            int(m.group(1))
            for p in source.glob("se_*.pth.tar")
            if (m := re.fullmatch(r"se_(\d+)\.pth\.tar", p.name))
        )
        if not found:
            raise CheckpointError(
                "holds no se_<epoch>.pth.tar",
                where=source,
                fix="pass upstream's checkpoint folder (se_1699.pth.tar ... classifier.pth.tar)",
            )
        epoch = found[-1]
    flat: dict[str, torch.Tensor] = {}
    for part in PARTS:
        name = "classifier.pth.tar" if part == "classifier" else f"{part}_{epoch}.pth.tar"
        path = source / name
        if not path.is_file():
            raise CheckpointError(
                f"missing {name} (upstream saves five files per checkpoint)",
                where=source,
                fix=f"copy all of se_/sd_/te_/td_{epoch}.pth.tar and classifier.pth.tar here",
            )
        state = unwrap_state_dict(load_torch(path), where=path)
        flat.update({f"{part}.{k}": v for k, v in state.items()})
    return flat


def _read_five_files(paths: list[Path]) -> dict[str, torch.Tensor]:
    """Flat dict from the five upstream files given one by one."""
    by_part: dict[str, Path] = {}
    for path in paths:
        part = re.match(r"(se|sd|te|td)_\d+\.pth\.tar$|(classifier)\.pth\.tar$", path.name)
        if part is None:
            raise CheckpointError(
                "not an upstream checkpoint file name (se_/sd_/te_/td_<epoch>.pth.tar, "
                "classifier.pth.tar)",
                where=path,
                fix="pass the five files upstream saved, unrenamed, or their folder",
            )
        by_part[part.group(1) or part.group(2)] = path
    missing = [p for p in PARTS if p not in by_part]
    if missing:
        raise CheckpointError(
            f"the upstream files given lack {missing}",
            fix="pass all five: se_, sd_, te_, td_<epoch>.pth.tar and classifier.pth.tar",
        )
    flat: dict[str, torch.Tensor] = {}
    for part, path in by_part.items():
        state = unwrap_state_dict(load_torch(path), where=path)
        flat.update({f"{part}.{k}": v for k, v in state.items()})
    return flat


def load_upstream_model(
    source: str | Path | Sequence[str | Path] | Mapping[str, torch.Tensor],
    *,
    unseen: np.ndarray | list[int],
    epoch: int | None = None,
    device: str | torch.device = "cpu",
    **overrides: Any,
) -> ZSLModel:
    """A `ZSLModel` from upstream weights; the method and widths are read from the keys."""
    where = "upstream state dict" if isinstance(source, Mapping) else str(source)
    flat = dict(source) if isinstance(source, Mapping) else read_upstream(source, epoch=epoch)
    method = "fsvae" if any(k.startswith("se.freq_weights") for k in flat) else "msf"
    vae_state: dict[str, torch.Tensor] = {}
    cls_state: dict[str, torch.Tensor] = {}
    freq: dict[str, float] = {}
    for key, value in flat.items():
        part, _, rest = key.partition(".")
        if part == "classifier":
            cls_state[rest] = value
            continue
        if method == "fsvae" and part in ("se", "te") and rest in _FREQ_CONSTANTS:
            freq[f"{part}.{rest}"] = float(value)
            continue
        rest = re.sub(r"^(mu|logvar)_transformation\.0\.", r"\1_transformation.", rest)
        if method == "fsvae" and part in ("se", "te") and rest in ("k", "freq_weights"):
            rest = f"freq.{rest}"
        vae_state[f"{part}.{rest}"] = value
    for name in ("se.mu_transformation.weight", "te.mu_transformation.weight"):
        if name not in vae_state:
            raise CheckpointError(
                f"missing key {name!r} (upstream {name.replace('.weight', '.0.weight')})",
                where=where,
                fix="pass the checkpoint of an MSF-GZSSAR or FS-VAE model",
            )
    latent, feat_dim = vae_state["se.mu_transformation.weight"].shape
    text_dim = vae_state["te.mu_transformation.weight"].shape[1]
    if method == "fsvae":
        overrides = {**_freq_options(freq, vae_state, where=where), **overrides}
    config = MethodConfig.for_method(method, latent=int(latent), **overrides)
    num_classes = max(int(np.max(unseen)) + 1, 1) if len(unseen) else 1
    return _assemble(
        config,
        feat_dim=int(feat_dim),
        text_dim=int(text_dim),
        vae_state=vae_state,
        classifier_state=cls_state,
        unseen=check_unseen(unseen, num_classes=num_classes),
        cycle=0,
        where=where,
        device=device,
    )


def _freq_options(
    freq: Mapping[str, float], vae_state: Mapping[str, torch.Tensor], *, where: str
) -> dict[str, int]:
    """Config options from FS-VAE's constant encoder parameters; both encoders must agree."""
    missing = [f"{p}.{c}" for p in ("se", "te") for c in _FREQ_CONSTANTS if f"{p}.{c}" not in freq]
    if missing:
        raise CheckpointError(
            f"missing FS-VAE keys {missing}", where=where, fix="pass a complete FS-VAE checkpoint"
        )
    for part in ("se", "te"):
        if not freq[f"{part}.dct_enhancement"]:
            raise CheckpointError(
                f"{part}.dct_enhancement is 0: frequency enhancement switched off, which skelab "
                "does not model",
                where=where,
                fix="use a checkpoint trained with the enhancement on (upstream default)",
            )
        if int(freq[f"{part}.num_freq_bands"]) != vae_state[f"{part}.freq.freq_weights"].numel():
            raise CheckpointError(
                f"{part}.num_freq_bands disagrees with the length of {part}.freq_weights",
                where=where,
                fix="the checkpoint is inconsistent; re-export it from upstream",
            )
    opts = {
        "freq_bands": int(freq["se.num_freq_bands"]),
        "freq_split": int(freq["se.split_freq"]),
        "freq_m": int(freq["se.m"]),
    }
    for name, key in (
        ("freq_bands", "num_freq_bands"),
        ("freq_split", "split_freq"),
        ("freq_m", "m"),
    ):
        if int(freq[f"te.{key}"]) != opts[name]:
            raise CheckpointError(
                f"se.{key} and te.{key} differ; skelab uses one value for both encoders",
                where=where,
                fix="re-export the checkpoint with equal settings",
            )
    return opts


def _assemble(
    config: MethodConfig,
    *,
    feat_dim: int,
    text_dim: int,
    vae_state: Mapping[str, torch.Tensor],
    classifier_state: Mapping[str, torch.Tensor],
    unseen: np.ndarray,
    cycle: int,
    where: str,
    device: str | torch.device,
) -> ZSLModel:
    """Build the networks for these sizes and load both state dicts strictly."""
    vae = build_vae(config, feat_dim=feat_dim, text_dim=text_dim)
    load_strict(vae, vae_state, where=where, fix="pass a checkpoint of the same method and sizes")
    classifier = ZeroShotClassifier(config.latent, len(unseen))
    load_strict(
        classifier,
        classifier_state,
        where=f"{where} (classifier)",
        fix=f"the classifier must have {len(unseen)} outputs, one per unseen class",
    )
    vae.to(device).eval()
    classifier.to(device).eval()
    return ZSLModel(config, vae, classifier, unseen, cycle)


def _get(obj: object, key: str) -> object:
    return obj.get(key) if isinstance(obj, Mapping) else type(obj).__name__

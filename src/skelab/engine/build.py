"""Building a run from a config: device, model, optimizer, transforms, loaders, weights.

Nothing here needs a Trainer: `skelab eval`, ensembles, prediction and zero-shot feature
extraction build what they need from these functions. Everything a config can get wrong about
its data is checked here, before the first step: labels of both splits against
`data.num_classes`, and the model's card (joint count, `index_t`) against the data style and the
joints the dataset holds.
"""

from __future__ import annotations

import inspect
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import Tensor, nn

from skelab.engine.config import Config
from skelab.engine.distributed import DistInfo
from skelab.errors import ConfigError, DataFormatError
from skelab.skeletons import Skeleton, get_skeleton, list_skeletons


class BatchLike(Protocol):
    x: Tensor
    y: Tensor
    index: Tensor
    index_t: Tensor | None


class LoaderLike(Protocol):
    """What the trainer and `evaluate` need from a loader (`skelab.data.BatchLoader` has it)."""

    def __iter__(self) -> Iterator[BatchLike]: ...
    def __len__(self) -> int: ...
    def set_epoch(self, epoch: int) -> None: ...


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (CPU and every CUDA device)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def resolve_device(spec: str, dist_info: DistInfo | None = None) -> torch.device:
    """`auto` -> CUDA when available (the local rank's device under torchrun), else CPU."""
    if spec == "auto":
        spec = "cuda" if torch.cuda.is_available() else "cpu"
    if spec.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigError(
                "train.device",
                f"{spec} requested but CUDA is not available",
                fix="--device cpu (train.device=cpu), or `skelab doctor` to see why",
            )
        if spec == "cuda":
            local_rank = dist_info.local_rank if dist_info is not None else 0
            return torch.device("cuda", local_rank % torch.cuda.device_count())
    return torch.device(spec)


def build_model(cfg: Config) -> nn.Module:
    """`build(model.name, num_classes=data.num_classes, window=data.window, **model.options)`."""
    from skelab.models import build

    options = dict(cfg.model.options)
    if "window" in options and options["window"] != cfg.data.window:
        raise ConfigError(
            "model.options.window",
            f"{options['window']} differs from data.window={cfg.data.window}",
            fix=f"--set model.options.window={cfg.data.window}, or drop it from model.options",
        )
    # Every builder takes `window`; models whose layers depend on it (SkateFormer's partitions,
    # FreqMixFormer's frame mixer, MS-G3D's windows) must see the clip length the data gives.
    options.setdefault("window", cfg.data.window)
    return build(cfg.model.name, num_classes=cfg.data.num_classes, **options)


def needs_index_t(cfg: Config, model: nn.Module | None = None) -> bool:
    """The model card says so; a model passed in directly is asked through its signature."""
    if model is None:
        from skelab.models import get_card

        return get_card(cfg.model.name).needs_index_t
    return "index_t" in inspect.signature(model.forward).parameters


def build_optimizer(cfg: Config, model: nn.Module) -> torch.optim.Optimizer:
    """SGD (momentum, Nesterov) or AdamW over all of `model`'s parameters, from `optim.*`."""
    o = cfg.optim
    params = model.parameters()
    if o.name == "sgd":
        return torch.optim.SGD(
            params, lr=o.lr, momentum=o.momentum, nesterov=o.nesterov, weight_decay=o.weight_decay
        )
    return torch.optim.AdamW(params, lr=o.lr, betas=o.betas, weight_decay=o.weight_decay)


def build_transform(
    cfg: Config, *, train: bool, skeleton: Skeleton, observe: float = 1.0, channels: str = "xyz"
) -> Any:
    """The `skelab.data.BatchTransform` of the training or the test split; `observe` < 1 keeps
    only that first share of each test clip (early-action evaluation). `skeleton` is the data's
    joint layout (`ds.skeleton`): bone streams follow its graph; `channels` what its channel
    axis holds (`ds.channels`: 2-D keypoints rotate in the image plane, the score untouched)."""
    import skelab.data as sd

    d = cfg.data
    return sd.BatchTransform(
        style=d.style,
        window=d.window,
        modality=d.modality,
        train=train,
        p_interval=tuple(d.p_interval) if train else (d.test_p_interval,),
        rotate=d.random_rot and train,
        rotate_theta=d.rot_theta,
        flip_p=d.flip_p,
        part_drop_p=d.part_drop_p,
        min_crop=d.thres,
        augment=d.aug_method,
        intra_p=d.intra_p,
        inter_p=d.inter_p,
        observe=observe,
        skeleton=skeleton,
        channels=channels,
    )


def check_labels(cfg: Config, ds: Any) -> None:
    """Every label of a split is below `data.num_classes` (torch would fail in step one)."""
    if len(ds.y) == 0:
        return
    largest = int(np.max(ds.y))
    if largest >= cfg.data.num_classes:
        raise ConfigError(
            "data.num_classes",
            f"is {cfg.data.num_classes}, but the {ds.split} split holds labels up to {largest} "
            f"(labels are 0-based, so it needs at least {largest + 1} classes)",
            where=ds.path,
            fix=f"--set data.num_classes={largest + 1}, or use the preset of the dataset the "
            "file comes from (`skelab configs` lists them)",
        )


def check_pairing(cfg: Config, joints: int, *, where: str | Path, layout: str = "") -> None:
    """The model's card agrees with the data style and the `joints` (layout `layout`) the
    dataset holds per person."""
    from skelab.models import get_card

    card = get_card(cfg.model.name)
    style = cfg.data.style
    if card.needs_joint and style != "blockgcn":
        raise ConfigError(
            "data.style",
            f"is {style!r}, but {cfg.model.name} also reads the raw joints of every clip, which "
            "only the blockgcn style passes (with its joint stream centred on joint 21)",
            where=where,
            fix=f"--set data.style=blockgcn, or start from a {cfg.model.name} preset "
            f"(`skelab configs --filter {cfg.model.name}`)",
        )
    if card.needs_index_t and style != "skateformer":
        raise ConfigError(
            "data.style",
            f"is {style!r}, but {cfg.model.name} needs frame positions (index_t) and "
            f"{card.joint_layout}, which only the skateformer style gives",
            where=where,
            fix=f"--set data.style=skateformer, or start from a {cfg.model.name} preset "
            f"(`skelab configs --filter {cfg.model.name}`)",
        )
    # The skateformer style drops one joint of NTU's 25 and reorders the rest.
    given = joints - 1 if style == "skateformer" else joints
    wants = int(cfg.model.options.get("num_joints") or card.input_joints)
    if given == wants:
        return
    data = f"{joints}-joint data" + (f" ({layout})" if layout else "")
    if style == "skateformer" and joints == wants:
        fix = "--set data.style=ctrgcn (the skateformer style is for SkateFormer only)"
    elif card.any_layout:
        from skelab.models.registry import builder_defaults

        if not layout:  # an NPZ names no layout: the built-in one with that many joints
            layout = next((n for n in list_skeletons() if get_skeleton(n).num_joints == given), "")
        fix = f"--set model.options.num_joints={given}"
        if "skeleton" in builder_defaults(cfg.model.name):
            fix = (
                f"--set model.options.skeleton={layout} {fix}"
                if layout in list_skeletons()
                else f"{fix} and the data's layout as model.options.skeleton"
            )
        fix += " (or set neither: on a prepared folder skelab takes them from its meta.json)"
    else:
        from skelab.models.registry import any_layout_models

        fix = (
            f"{cfg.model.name} expects {card.joint_layout}: train a model that takes any "
            f"layout ({', '.join(any_layout_models())}), e.g. --set model.name=stgcn-lite, or "
            "use data in NTU's layout"
        )
    raise ConfigError(
        "model.name",
        f"{cfg.model.name} reads {wants} joints per person, but data.style={style!r} on "
        f"{data} gives it {given}",
        where=where,
        fix=fix,
    )


@dataclass
class RunLoaders:
    """The loaders of a run: training (None when evaluating only), test, and the held-out part
    of the training split (None unless `data.holdout > 0`)."""

    train: LoaderLike | None
    test: LoaderLike
    test_dataset: Any
    holdout: LoaderLike | None = None
    holdout_positions: np.ndarray | None = None  # positions of the held-out samples in train


def build_run_loaders(
    cfg: Config,
    *,
    device: torch.device,
    dist_info: DistInfo | None = None,
    train: bool = True,
) -> RunLoaders:
    """Every loader of a run from `data.*` via `skelab.data`, after checking both splits:
    labels against `data.num_classes`, the model's card against the data style and joint
    count (`check_labels`, `check_pairing`)."""
    import skelab.data as sd
    from skelab.engine.holdout import split_train

    if not cfg.data.path:
        raise ConfigError(
            "data.path",
            "is empty: no data to train or evaluate on",
            fix="--set data.path=NTU60_CS.npz (an NPZ or a `skelab data prepare` "
            "folder); `skelab data synth` makes a small NTU-like file",
        )
    test_ds = sd.load(cfg.data.path, split="test")
    train_ds = sd.load(cfg.data.path, split="train") if train else None
    for part, ds in (("train", train_ds), ("test", test_ds)):
        if ds is not None and len(ds) == 0:
            raise DataFormatError(
                cfg.data.path,
                f"the {part} split is empty: nothing to "
                + ("train on" if part == "train" else "evaluate (and choose checkpoints) on"),
                fix="give it samples (e.g. a `split` column with test rows when importing), "
                "or use another data.path",
            )
        if ds is not None:
            check_labels(cfg, ds)
    if test_ds.num_classes > cfg.data.num_classes:
        raise ConfigError(
            "data.num_classes",
            f"{cfg.data.num_classes}, but {cfg.data.path} has {test_ds.num_classes} classes",
            fix=f"--set data.num_classes={test_ds.num_classes}",
        )
    check_pairing(cfg, int(test_ds.x.shape[3]), where=cfg.data.path, layout=test_ds.skeleton.name)

    ws = dist_info.world_size if dist_info is not None else 1
    rank = dist_info.rank if dist_info is not None else 0

    def loader(ds: Any, *, is_train: bool, batch_size: int) -> Any:
        return sd.BatchLoader(
            ds,
            batch_size=batch_size,
            train=is_train,
            transform=build_transform(
                cfg,
                train=is_train,
                skeleton=test_ds.skeleton,
                channels=getattr(test_ds, "channels", "xyz"),
            ),
            device=str(device),
            seed=cfg.train.seed,
            rank=rank,
            world_size=ws,
        )

    out = RunLoaders(
        None, loader(test_ds, is_train=False, batch_size=cfg.train.test_batch_size), test_ds
    )
    if train_ds is not None:
        if cfg.train.batch_size % ws:
            raise ConfigError(
                "train.batch_size",
                f"{cfg.train.batch_size} does not split over {ws} processes",
                fix=f"--set train.batch_size={(cfg.train.batch_size // ws + 1) * ws} "
                f"(a multiple of {ws})",
            )
        fit_part, held = split_train(train_ds, cfg.data.holdout)
        out.train = loader(fit_part, is_train=True, batch_size=cfg.train.batch_size // ws)
        if held is not None:
            out.holdout = loader(held, is_train=False, batch_size=cfg.train.test_batch_size)
            out.holdout_positions = held.positions
    return out


def build_loaders(
    cfg: Config,
    *,
    device: torch.device,
    dist_info: DistInfo | None = None,
    train: bool = True,
) -> tuple[LoaderLike | None, LoaderLike, Any]:
    """(train loader or None, test loader, test dataset); see `build_run_loaders`."""
    run = build_run_loaders(cfg, device=device, dist_info=dist_info, train=train)
    return run.train, run.test, run.test_dataset


def model_from_weights(cfg: Config, weights: str | Path) -> tuple[nn.Module, torch.device]:
    """`cfg`'s model with `weights` loaded strictly, on `train.device` (threads and seeds set
    as training sets them): what evaluation, early-action curves and prediction start from."""
    if cfg.train.num_threads:
        torch.set_num_threads(cfg.train.num_threads)
    device = resolve_device(cfg.train.device)
    seed_everything(cfg.train.seed)
    model = build_model(cfg)
    load_weights(model, weights)
    return model.to(device), device


def load_weights(model: nn.Module, path: str | Path) -> dict[str, Any]:
    """Load model weights from a skelab checkpoint or an imported state dict, strictly.

    Returns the whole file (a training checkpoint also holds its config and metrics)."""
    from skelab.engine.checkpoint import load_checkpoint, model_state_from
    from skelab.models.weights import load_strict

    ckpt = load_checkpoint(path)
    state = model_state_from(ckpt, where=path)
    load_strict(
        model,
        state,
        where=path,
        fix="evaluate with the config the weights were trained with "
        "(model.name, model.options, data.num_classes); for upstream "
        "weights run `skelab models import` first",
    )
    return ckpt

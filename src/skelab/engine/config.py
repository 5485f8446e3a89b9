"""Run configs: a typed schema of frozen dataclasses that check themselves.

A config is one YAML mapping with up to eight sections (`model`, `data`, `train`, `optim`,
`sched`, `loss`, `info`, `preset`) plus a `name`. Every key and its default is defined once, in the
dataclasses below; a file only says what differs. `skelab configs keys` prints the reference
(key, type, default, meaning), generated from these classes. An unknown key, a value of the wrong
type or out of range is a `ConfigError` that names the file, the dotted key, the closest valid key
and a fix.

Presets, `extends` inheritance and `--set` overrides live in `skelab.engine.presets`; the
learning-rate schedules in `skelab.engine.schedule`.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any

import yaml

from skelab.data.styles import MODALITIES, SKATEFORMER_AUGMENTS, SKATEFORMER_INTER_P, STYLES
from skelab.errors import ConfigError, did_you_mean

AMP = ("none", "bf16", "fp16")
PRECISIONS = ("fp32", "bf16", "fp16")
# Old key -> (new key, old value -> new value). They keep working for one release, with a warning.
RENAMED_KEYS = {"train.amp": ("train.precision", {"none": "fp32"})}
# train.select: how checkpoints/best.pt is chosen, in words for summaries and metrics
SELECT_RULES = ("test", "holdout", "last")
SELECT_WORDS = {
    "test": "best test top-1 (upstream's rule)",
    "holdout": "best held-out top-1 (test split untouched until the final evaluation)",
    "last": "last epoch",
}


def _key(
    default: Any = MISSING,
    doc: str = "",
    *,
    factory: Any = MISSING,
    choices: tuple[str, ...] = (),
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    hi_open: bool = False,
    fix: str = "",
) -> Any:
    """A schema field: default, one-line meaning and allowed values, all in one place.

    `skelab configs keys` prints the meaning; `_Section.__post_init__` checks `choices` and the
    range [lo, hi] (open ends with lo_open / hi_open) and gives `fix` when a value is out of it.
    """
    meta = {"doc": doc, "choices": choices, "lo": lo, "hi": hi, "lo_open": lo_open}
    meta.update(hi_open=hi_open, fix=fix)
    return field(default=default, default_factory=factory, metadata=meta)


def _check_choice(key: str, value: str, choices: Iterable[str]) -> None:
    choices = tuple(choices)
    if value not in choices:
        hint = did_you_mean(str(value), choices)
        raise ConfigError(
            key,
            f"{value!r} is not one of {', '.join(choices)}{hint}",
            fix=f"set {key} to one of: {', '.join(choices)}",
        )


def _span(lo: float | None, hi: float | None, lo_open: bool, hi_open: bool) -> str:
    left, right = "(" if lo_open else "[", ")" if hi_open else "]"
    return f"{left}{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}{right}"


def _check_range(
    key: str,
    value: float,
    *,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    hi_open: bool = False,
    fix: str,
) -> None:
    bad = (lo is not None and (value < lo or (lo_open and value == lo))) or (
        hi is not None and (value > hi or (hi_open and value == hi))
    )
    if bad:
        span = _span(lo, hi, lo_open, hi_open)
        raise ConfigError(key, f"must be in {span}, got {value!r}", fix=fix)


class _Section:
    """Checks every field against its `_key` choices and range, then the class's own `_check`."""

    _name = ""

    def __post_init__(self) -> None:
        for f in fields(self):  # type: ignore[arg-type]
            m, value, key = f.metadata, getattr(self, f.name), f"{self._name}.{f.name}"
            if m.get("choices"):
                _check_choice(key, value, m["choices"])
            if value is not None and (m.get("lo") is not None or m.get("hi") is not None):
                bounds = {k: m[k] for k in ("lo", "hi", "lo_open", "hi_open")}
                _check_range(key, value, **bounds, fix=m["fix"])
        self._check()

    def _check(self) -> None:
        """Checks that involve more than one field (none by default)."""


@dataclass(frozen=True)
class ModelConfig(_Section):
    """Which model to build and with which options."""

    _name = "model"
    name: str = _key("stgcn-lite", "registered model (`skelab models`)")
    options: dict[str, Any] = _key(
        doc="passed to skelab.models.build(name, **options); num_classes comes from data",
        factory=dict,
    )

    def _check(self) -> None:
        if not self.name:
            raise ConfigError("model.name", "is empty", fix="`skelab models` lists the names")
        if "num_classes" in self.options or "num_class" in self.options:
            raise ConfigError(
                "model.options.num_classes",
                "is set from data.num_classes; do not set it here",
                fix="remove it from model.options and set data.num_classes",
            )


_SHARE = {"lo": 0.0, "hi": 1.0}


@dataclass(frozen=True)
class DataConfig(_Section):
    """Where the skeletons come from and how clips are cut (`skelab.data.BatchTransform`)."""

    _name = "data"
    path: str = _key(
        "", "Kaggle-layout or 5-D NPZ, or a `skelab data prepare` folder; needed to run"
    )
    style: str = _key("ctrgcn", "feeder whose steps the transform copies", choices=STYLES)
    modality: str = _key("joint", "stream the model sees", choices=MODALITIES)
    window: int = _key(64, "frames per clip after cropping and resampling", lo=1, fix="e.g. 64")
    p_interval: tuple[float, float] = _key(
        (0.5, 1.0), "[low, high] share of valid frames the training crop keeps"
    )
    test_p_interval: float = _key(
        0.95,
        "share of valid frames the centred test crop keeps",
        **_SHARE,
        lo_open=True,
        fix="use 0.95 as upstream does",
    )
    thres: int = _key(
        64,
        "minimum crop length in frames (upstream `thres`)",
        lo=1,
        fix="64 as upstream; the lab's SkateFormer tiny uses 32",
    )
    random_rot: bool = _key(True, "random rotation of training clips (ctrgcn/hypergcn styles)")
    rot_theta: float | None = _key(
        None,
        "largest random rotation angle per axis, radians; null = the style's upstream choice "
        "(0.3; pyskl 0.2, ProtoGCN's RandomRot)",
        lo=0.0,
        fix="e.g. 0.3, or leave it null",
    )
    flip_p: float = _key(
        0.0, "pyskl style: share of training clips flipped left/right (Spatial_Flip)", **_SHARE
    )
    part_drop_p: float = _key(
        0.0, "pyskl style: share of training clips with one limb zeroed (Part_Drop)", **_SHARE
    )
    aug_method: str | None = _key(
        None,
        f"SkateFormer's intra-instance augmentations, codes of {SKATEFORMER_AUGMENTS!r}; "
        "'' = none; null = the style's upstream choice (all of them for skateformer)",
    )
    intra_p: float = _key(
        0.5, "SkateFormer: share of training clips given aug_method's ops", **_SHARE, fix="e.g. 0.5"
    )
    inter_p: float | None = _key(
        None,
        "SkateFormer: share given skeleton-AdaIN; null = the style's upstream choice (0.2)",
        **_SHARE,
        fix="e.g. 0.2, or 0 for none",
    )
    num_classes: int = _key(
        60,
        "classes: 60 for NTU RGB+D 60, 120 for NTU RGB+D 120",
        lo=2,
        fix="60 for NTU RGB+D 60, 120 for NTU RGB+D 120",
    )
    class_names: tuple[str, ...] = _key(
        (),
        "one name per class; a prepared folder's meta.json fills it; empty = NTU's names for "
        "60 and 120 classes, else 'class i'",
    )
    from_meta: tuple[str, ...] = _key(
        (),
        "the keys skelab took from data.path's meta.json (layout, persons, classes), a record "
        "that the command line set none of them",
    )
    holdout: float = _key(
        0.0,
        "share of the train split held out and scored (ensemble --search); 0 = off",
        lo=0.0,
        hi=0.5,
        fix="0 (off) or e.g. 0.05",
    )

    def _check(self) -> None:
        if self.class_names and len(self.class_names) != self.num_classes:
            raise ConfigError(
                "data.class_names",
                f"has {len(self.class_names)} names for {self.num_classes} classes",
                fix="give one name per class, or [] for the default names",
            )
        lo, hi = self.p_interval
        if not 0.0 < lo <= hi <= 1.0:
            raise ConfigError(
                "data.p_interval",
                f"needs 0 < low <= high <= 1, got {[lo, hi]}",
                fix="use [0.5, 1.0] (CTR-GCN) or [1.0, 1.0] for no random crop",
            )
        codes = self.aug_method or ""
        if set(codes) - set(SKATEFORMER_AUGMENTS) or len(set(codes)) != len(codes):
            bad = "".join(sorted(set(codes) - set(SKATEFORMER_AUGMENTS)))
            raise ConfigError(
                "data.aug_method",
                f"has unknown codes {bad!r}" if bad else f"repeats a code in {codes!r}",
                fix=f"use {SKATEFORMER_AUGMENTS!r} (upstream), a subset of it, or '' for none",
            )
        inter_p = SKATEFORMER_INTER_P if self.inter_p is None else self.inter_p
        if self.style == "skateformer" and self.intra_p + inter_p > 1.0 + 1e-9:
            raise ConfigError(
                "data.inter_p",
                f"intra_p + inter_p = {self.intra_p + inter_p:g} is over 1",
                fix="upstream uses intra_p 0.5 and inter_p 0.2",
            )
        if self.style != "skateformer" and (self.aug_method or self.inter_p):
            raise ConfigError(
                "data.aug_method" if self.aug_method else "data.inter_p",
                f"SkateFormer's augmentations need data.style skateformer, not {self.style!r}",
                fix="--set data.aug_method='' --set data.inter_p=0",
            )


@dataclass(frozen=True)
class TrainConfig(_Section):
    """Epochs, batches, precision, device and evaluation cadence."""

    _name = "train"
    epochs: int = _key(65, "training epochs", lo=1, fix="train at least 1 epoch")
    batch_size: int = _key(64, "samples per optimizer step", lo=1, fix="e.g. 64")
    test_batch_size: int = _key(64, "samples per evaluation batch", lo=1, fix="e.g. 64")
    forward_batch_size: int = _key(
        0, "split each batch into forward passes of this many samples (0 = one pass)"
    )
    eval_every: int = _key(
        1,
        "evaluate after epochs N, 2N, ... (1-based) and after the last",
        lo=1,
        fix="1 evaluates every epoch",
    )
    eval_from: int = _key(
        1, "no evaluation before this epoch", lo=1, fix="1 evaluates from the start"
    )
    precision: str = _key(
        "fp32",
        "arithmetic precision on CUDA: fp32, bf16 or fp16 (fp16 adds a grad scaler); "
        "train.amp (none|bf16|fp16) is its deprecated name",
        choices=PRECISIONS,
    )
    compile: bool = _key(False, "wrap the model in torch.compile")
    seed: int = _key(1, "seeds python, numpy, torch and the data order")
    device: str = _key("auto", "auto | cpu | cuda | cuda:N")
    clip_grad: float = _key(0.0, "max global gradient norm, 0 = off", lo=0.0, fix="0 turns it off")
    num_threads: int = _key(
        0, "torch CPU threads, 0 = torch's default", lo=0, fix="0 keeps torch's default"
    )
    weights: str = _key("", "start from these weights (skelab checkpoint or upstream file)")
    drop_head: bool = _key(False, "with train.weights: skip classifier keys whose shape differs")
    select: str = _key(
        "test",
        "which epoch checkpoints/best.pt keeps: test (best test top-1, upstream's rule), "
        "holdout (best top-1 on data.holdout; test read once, after training) or last",
        choices=SELECT_RULES,
    )
    sync_bn: bool = _key(
        False, "DDP: BatchNorm statistics over all processes (torch.nn.SyncBatchNorm)"
    )
    bn_recompute_steps: int = _key(
        500,
        "while a run has taken fewer optimizer steps than this, BatchNorm running statistics "
        "are recomputed from the weights after each epoch (a short run's moving averages lag; "
        "skelab.engine.bnstats); 0 keeps the moving averages only, as upstream does",
        lo=0,
        fix="0 turns it off",
    )

    def _check(self) -> None:
        if self.drop_head and not self.weights:
            raise ConfigError(
                "train.drop_head",
                "drops the classifier of train.weights, which is not set",
                fix="add --weights PATH (train.weights), or leave out --drop-head",
            )
        _check_range(
            "train.forward_batch_size",
            self.forward_batch_size,
            lo=0,
            hi=self.batch_size,
            fix="0 (one forward pass per batch) or a divisor-sized "
            "chunk <= train.batch_size, e.g. half of it",
        )
        if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", self.device):
            raise ConfigError(
                "train.device",
                f"{self.device!r} is not auto, cpu, cuda or cuda:N",
                fix="use auto (CUDA when available), cpu or cuda",
            )

    @property
    def amp(self) -> str:
        """The autocast setting as the training step reads it: "none", "bf16" or "fp16"."""
        return "none" if self.precision == "fp32" else self.precision

    @property
    def chunk_size(self) -> int:
        """Samples per forward pass."""
        return self.forward_batch_size or self.batch_size


@dataclass(frozen=True)
class OptimConfig(_Section):
    """Optimizer: SGD (optionally Nesterov) or AdamW; weight decay on every parameter."""

    _name = "optim"
    name: str = _key("sgd", "optimizer", choices=("sgd", "adamw"))
    lr: float = _key(
        0.1, "base learning rate", lo=0.0, lo_open=True, fix="e.g. 0.1 SGD, 1e-3 AdamW"
    )
    momentum: float = _key(0.9, "SGD momentum", lo=0.0, hi=1.0, hi_open=True, fix="e.g. 0.9")
    nesterov: bool = _key(True, "SGD Nesterov momentum (ignored by adamw)")
    weight_decay: float = _key(
        4e-4, "on every parameter, as upstream does", lo=0.0, fix="e.g. 4e-4; 0 = off"
    )
    betas: tuple[float, float] = _key((0.9, 0.999), "AdamW betas")

    def _check(self) -> None:
        for i, beta in enumerate(self.betas):
            _check_range(
                f"optim.betas[{i}]", beta, lo=0.0, hi=1.0, hi_open=True, fix="use [0.9, 0.999]"
            )
        if self.name == "sgd" and self.nesterov and self.momentum == 0:
            raise ConfigError(
                "optim.nesterov",
                "Nesterov needs momentum > 0",
                fix="set optim.momentum=0.9 or optim.nesterov=false",
            )


@dataclass(frozen=True)
class SchedConfig(_Section):
    """Learning-rate schedule: warm-up, then step decay (per epoch), cosine (per step) or
    DeGCN's cosine_step (per epoch: cosine while above `cosine_until`, then step decay)."""

    _name = "sched"
    name: str = _key(
        "step",
        "step (set per epoch), cosine (per step) or cosine_step (per epoch)",
        choices=("step", "cosine", "cosine_step"),
    )
    warmup_epochs: int = _key(0, "linear warm-up length in epochs", lo=0, fix="e.g. 5; 0 = none")
    milestones: tuple[int, ...] = _key((), "step: epochs where lr is multiplied by gamma")
    gamma: float = _key(0.1, "step decay factor", lo=0.0, hi=1.0, lo_open=True, fix="e.g. 0.1")
    min_lr: float = _key(0.0, "cosine: final lr; step: floor of the lr", lo=0.0, fix="e.g. 1e-5")
    warmup_lr: float = _key(1e-7, "cosine: lr at the first warm-up step", lo=0.0, fix="e.g. 1e-7")
    cosine_epochs: int = _key(
        0, "cosine_step: epochs the cosine spans after warm-up", lo=0, fix="e.g. 60 (DeGCN)"
    )
    cosine_until: float = _key(
        0.0, "cosine_step: the cosine lr is used while above this", lo=0.0, fix="e.g. 0.01"
    )

    def _check(self) -> None:
        if self.name == "cosine_step" and self.cosine_epochs < 1:
            raise ConfigError(
                "sched.cosine_epochs",
                f"cosine_step needs a cosine of at least 1 epoch, got {self.cosine_epochs}",
                fix="e.g. 60, as DeGCN's configs (cosine_epoch)",
            )
        if list(self.milestones) != sorted(set(self.milestones)) or any(
            m < 1 for m in self.milestones
        ):
            raise ConfigError(
                "sched.milestones",
                f"must be increasing epochs >= 1, got {list(self.milestones)}",
                fix="e.g. [35, 55]",
            )


@dataclass(frozen=True)
class LossConfig(_Section):
    """Cross-entropy options; model auxiliary losses are added by the trainer."""

    _name = "loss"
    label_smoothing: float = _key(
        0.0,
        "cross-entropy label smoothing",
        lo=0.0,
        hi=1.0,
        hi_open=True,
        fix="0 for plain cross-entropy, 0.1 as SkateFormer and Hyper-GCN use",
    )


@dataclass(frozen=True)
class PresetConfig(_Section):
    """Which shipped preset a config is (or extends): set when the preset is loaded, so nothing
    parses the run's name back. Empty for a config written from scratch."""

    _name = "preset"
    benchmark: str = _key("", "dataset and split, e.g. ntu60-xsub")
    model: str = _key("", "the registered model the preset trains, e.g. ctrgcn")
    variant: str = _key("", "the recipe variant: '' (upstream's), lowmem, tiny, ...")
    stream: str = _key("", "joint, bone, joint-motion or bone-motion ('' for none)")

    @property
    def name(self) -> str:
        """The preset's name, e.g. `ntu60-xsub/ctrgcn-lowmem-joint` ('' when not a preset)."""
        if not self.benchmark:
            return ""
        tail = "-".join(p for p in (self.model, self.variant, self.stream) if p)
        return f"{self.benchmark}/{tail}"

    def sibling(self, *, variant: str | None = None, stream: str | None = None) -> str:
        """The name of the preset that differs only in `variant` and/or `stream`."""
        return dataclasses.replace(
            self,
            variant=self.variant if variant is None else variant,
            stream=self.stream if stream is None else stream,
        ).name


@dataclass(frozen=True)
class InfoConfig(_Section):
    """What a preset is, where its recipe comes from, how much GPU memory it needs."""

    _name = "info"
    description: str = _key("", "one line shown by `skelab configs`")
    source: str = _key("", "the upstream recipe this preset follows (repo + file)")
    expected_peak_memory_gb: float | None = _key(
        None, "peak GPU memory of a training step; presets fill it from configs/_memory.json"
    )
    memory_source: str = _key("", "where that figure comes from")
    lower_memory: str = _key("", "preset to suggest when this one runs out of GPU memory")
    differences: dict[str, Any] = _key(
        doc="how the preset differs from upstream and the lab: {id: {versus, keys, note}}",
        factory=dict,
    )
    fusion_weight: float | None = _key(
        None,
        "this stream's weight in the upstream repo's own ensemble (raw logits); `train "
        "--streams all` fuses with it when every stream has one, else searches weights",
    )

    def _check(self) -> None:
        if self.expected_peak_memory_gb is not None:
            _check_range(
                "info.expected_peak_memory_gb",
                self.expected_peak_memory_gb,
                lo=0.0,
                fix="give GB as a number, or null if unknown",
            )
        if self.fusion_weight is not None:
            _check_range(
                "info.fusion_weight",
                self.fusion_weight,
                lo=0.0,
                fix="give the upstream ensemble weight of this stream, e.g. 0.6, or null",
            )
        for ident, entry in self.differences.items():
            key = f"info.differences.{ident}"
            if not isinstance(entry, Mapping) or set(entry) != {"versus", "keys", "note"}:
                raise ConfigError(
                    key,
                    f"needs exactly versus, keys and note, got {entry!r}",
                    fix="e.g. {versus: [upstream], keys: [data.window], note: why}",
                )
            if not entry["versus"] or not set(entry["versus"]) <= {"upstream", "lab"}:
                raise ConfigError(
                    f"{key}.versus",
                    f"must list upstream and/or lab, got {entry['versus']!r}",
                    fix="versus: [upstream] or [lab] or [upstream, lab]",
                )
            keys = entry["keys"]
            if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
                raise ConfigError(
                    f"{key}.keys",
                    f"must be a list of dotted keys, got {keys!r}",
                    fix="e.g. keys: [data.window, train.batch_size] ([] for no key)",
                )


@dataclass(frozen=True)
class Config:
    """A complete, validated run config."""

    name: str = ""
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    sched: SchedConfig = field(default_factory=SchedConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    info: InfoConfig = field(default_factory=InfoConfig)
    preset: PresetConfig = field(default_factory=PresetConfig)

    def __post_init__(self) -> None:
        if self.train.select == "holdout" and self.data.holdout <= 0:
            raise ConfigError(
                "train.select",
                "holdout needs a held-out part of the training split (data.holdout is 0)",
                fix="--set data.holdout=0.05, or train.select=test",
            )

    def warnings(self) -> list[str]:
        """Valid but probably unintended settings, logged when a run starts."""
        out = []
        if self.sched.warmup_epochs > self.train.epochs:
            out.append(
                f"sched.warmup_epochs={self.sched.warmup_epochs} is longer than "
                f"train.epochs={self.train.epochs}: the run ends inside the warm-up (fine for a "
                "smoke test; for a real run shorten the warm-up or train longer)"
            )
        if self.train.eval_from > self.train.epochs:
            out.append(
                f"train.eval_from={self.train.eval_from} is after the last epoch "
                f"({self.train.epochs}): the run evaluates only after its last epoch"
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (lists, not tuples) that `from_dict` reads back to an equal config."""
        return _plain(asdict(self))

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=None, width=100)


_SECTION_CLASSES = {
    "model": ModelConfig,
    "data": DataConfig,
    "train": TrainConfig,
    "optim": OptimConfig,
    "sched": SchedConfig,
    "loss": LossConfig,
    "info": InfoConfig,
    "preset": PresetConfig,
}


def _plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj

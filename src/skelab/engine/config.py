"""Run configs: a typed schema of frozen dataclasses that check themselves.

A config is one YAML mapping with up to seven sections (`model`, `data`, `train`, `optim`,
`sched`, `loss`, `info`) plus a `name`. Every key and its default is defined once, in the
dataclasses below; a file only says what differs. `skelab configs keys` prints the reference
(key, type, default, meaning), generated from these classes. An unknown key, a value of the wrong
type or out of range is a `ConfigError` that names the file, the dotted key, the closest valid key
and a fix.

Presets, `extends` inheritance and `--set` overrides live in `skelab.engine.presets`; the
learning-rate schedules in `skelab.engine.schedule`.
"""

from __future__ import annotations

import difflib
import functools
import re
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any

import yaml

from skelab.data.styles import MODALITIES, SKATEFORMER_AUGMENTS, STYLES
from skelab.errors import ConfigError

# Moved to skelab.engine.presets; still importable from here (see __getattr__ at the end).
_MOVED_TO_PRESETS = (
    "STREAMS",
    "apply_overrides",
    "configs_root",
    "default_name",
    "list_presets",
    "load_config",
    "load_raw",
    "merge",
    "parse_overrides",
    "preset_parts",
)


def _key(default: Any = MISSING, doc: str = "", *, factory: Any = MISSING) -> Any:
    """A schema field with its one-line meaning (shown by `skelab configs keys`)."""
    return field(default=default, default_factory=factory, metadata={"doc": doc})


def _check_choice(key: str, value: str, choices: Iterable[str]) -> None:
    choices = tuple(choices)
    if value not in choices:
        near = difflib.get_close_matches(str(value), choices, n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise ConfigError(
            key,
            f"{value!r} is not one of {', '.join(choices)}{hint}",
            fix=f"set {key} to one of: {', '.join(choices)}",
        )


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
        left = "(" if lo_open else "["
        right = ")" if hi_open else "]"
        span = f"{left}{'-inf' if lo is None else lo}, {'inf' if hi is None else hi}{right}"
        raise ConfigError(key, f"must be in {span}, got {value!r}", fix=fix)


@dataclass(frozen=True)
class ModelConfig:
    """Which model to build and with which options."""

    name: str = _key("stgcn-lite", "registered model (`skelab models`)")
    options: dict[str, Any] = _key(
        doc="passed to skelab.models.build(name, **options); num_classes comes from data",
        factory=dict,
    )

    def __post_init__(self) -> None:
        if not self.name:
            raise ConfigError("model.name", "is empty", fix="`skelab models` lists the names")
        if "num_classes" in self.options or "num_class" in self.options:
            raise ConfigError(
                "model.options.num_classes",
                "is set from data.num_classes; do not set it here",
                fix="remove it from model.options and set data.num_classes",
            )


@dataclass(frozen=True)
class DataConfig:
    """Where the skeletons come from and how clips are cut (`skelab.data.BatchTransform`)."""

    path: str = _key(
        "", "Kaggle-layout or 5-D NPZ, or a folder from `skelab data prepare`; needed to run"
    )
    style: str = _key("ctrgcn", f"feeder semantics: {' | '.join(STYLES)}")
    modality: str = _key("joint", f"stream: {' | '.join(MODALITIES)}")
    window: int = _key(64, "frames per clip after cropping and resampling")
    p_interval: tuple[float, float] = _key(
        (0.5, 1.0), "[low, high] share of valid frames the training crop keeps"
    )
    test_p_interval: float = _key(0.95, "share of valid frames the centred test crop keeps")
    thres: int = _key(64, "minimum crop length in frames, train and test (upstream `thres`)")
    random_rot: bool = _key(True, "random rotation of training clips (ctrgcn/hypergcn styles)")
    aug_method: str = _key(
        "",
        f"SkateFormer intra-instance augmentations, codes from {SKATEFORMER_AUGMENTS!r} "
        "(upstream `aug_method`); '' = none",
    )
    intra_p: float = _key(0.5, "SkateFormer: share of training clips given aug_method's ops")
    inter_p: float = _key(
        0.0, "SkateFormer: share given skeleton-AdaIN (after intra_p; upstream 0.2)"
    )
    num_classes: int = _key(60, "classes: 60 for NTU RGB+D 60, 120 for NTU RGB+D 120")
    holdout: float = _key(
        0.0, "share of the train split held out and scored (ensemble --search); 0 = off"
    )

    def __post_init__(self) -> None:
        _check_choice("data.style", self.style, STYLES)
        _check_choice("data.modality", self.modality, MODALITIES)
        _check_range("data.window", self.window, lo=1, fix="set it to the clip length, e.g. 64")
        lo, hi = self.p_interval
        if not 0.0 < lo <= hi <= 1.0:
            raise ConfigError(
                "data.p_interval",
                f"needs 0 < low <= high <= 1, got {[lo, hi]}",
                fix="use [0.5, 1.0] (CTR-GCN) or [1.0, 1.0] for no random crop",
            )
        _check_range(
            "data.test_p_interval",
            self.test_p_interval,
            lo=0.0,
            hi=1.0,
            lo_open=True,
            fix="use 0.95 as upstream does",
        )
        _check_range("data.thres", self.thres, lo=1, fix="64 as upstream; the lab's tiny uses 32")
        bad = sorted(set(self.aug_method) - set(SKATEFORMER_AUGMENTS))
        if bad:
            raise ConfigError(
                "data.aug_method",
                f"has unknown codes {''.join(bad)!r}; the codes are {SKATEFORMER_AUGMENTS!r}",
                fix=f"use {SKATEFORMER_AUGMENTS!r} (upstream), a subset of it, or '' for none",
            )
        if len(set(self.aug_method)) != len(self.aug_method):
            raise ConfigError(
                "data.aug_method",
                f"repeats a code in {self.aug_method!r}; each op runs at most once",
                fix=f"list each code once, e.g. {SKATEFORMER_AUGMENTS!r}",
            )
        for key in ("intra_p", "inter_p"):
            _check_range(f"data.{key}", getattr(self, key), lo=0.0, hi=1.0, fix="e.g. 0.5")
        if self.intra_p + self.inter_p > 1.0 + 1e-9:
            raise ConfigError(
                "data.inter_p",
                f"intra_p + inter_p = {self.intra_p + self.inter_p:g} is over 1",
                fix="upstream uses intra_p 0.5 and inter_p 0.2",
            )
        if self.style != "skateformer" and (self.aug_method or self.inter_p):
            raise ConfigError(
                "data.aug_method" if self.aug_method else "data.inter_p",
                f"SkateFormer's augmentations need data.style skateformer, not {self.style!r}",
                fix="--set data.aug_method='' --set data.inter_p=0",
            )
        _check_range(
            "data.num_classes",
            self.num_classes,
            lo=2,
            fix="60 for NTU RGB+D 60, 120 for NTU RGB+D 120",
        )
        _check_range("data.holdout", self.holdout, lo=0.0, hi=0.5, fix="0 (off) or e.g. 0.05")


@dataclass(frozen=True)
class TrainConfig:
    """Epochs, batches, precision, device and evaluation cadence."""

    epochs: int = _key(65, "training epochs")
    batch_size: int = _key(64, "samples per optimizer step")
    test_batch_size: int = _key(64, "samples per evaluation batch")
    forward_batch_size: int = _key(
        0, "split each batch into forward passes of this many samples (0 = one pass)"
    )
    eval_every: int = _key(1, "evaluate after epochs N, 2N, ... (1-based) and after the last")
    eval_from: int = _key(1, "no evaluation before this epoch")
    amp: str = _key("none", "none | bf16 | fp16 (CUDA only; fp16 adds a grad scaler)")
    compile: bool = _key(False, "wrap the model in torch.compile")
    seed: int = _key(1, "seeds python, numpy, torch and the data order")
    device: str = _key("auto", "auto | cpu | cuda | cuda:N")
    clip_grad: float = _key(0.0, "max global gradient norm, 0 = off")
    num_threads: int = _key(0, "torch CPU threads, 0 = torch's default")
    weights: str = _key("", "start from these weights (skelab checkpoint or upstream file)")
    drop_head: bool = _key(False, "with train.weights: skip classifier keys whose shape differs")

    def __post_init__(self) -> None:
        _check_range("train.epochs", self.epochs, lo=1, fix="train at least 1 epoch")
        _check_range("train.batch_size", self.batch_size, lo=1, fix="e.g. 64")
        _check_range("train.test_batch_size", self.test_batch_size, lo=1, fix="e.g. 64")
        _check_range(
            "train.forward_batch_size",
            self.forward_batch_size,
            lo=0,
            hi=self.batch_size,
            fix="0 (one forward pass per batch) or a divisor-sized "
            "chunk <= train.batch_size, e.g. half of it",
        )
        _check_range("train.eval_every", self.eval_every, lo=1, fix="1 evaluates every epoch")
        _check_range("train.eval_from", self.eval_from, lo=1, fix="1 evaluates from the start")
        _check_choice("train.amp", self.amp, ("none", "bf16", "fp16"))
        _check_range("train.clip_grad", self.clip_grad, lo=0.0, fix="0 turns clipping off")
        _check_range("train.num_threads", self.num_threads, lo=0, fix="0 keeps torch's default")
        if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", self.device):
            raise ConfigError(
                "train.device",
                f"{self.device!r} is not auto, cpu, cuda or cuda:N",
                fix="use auto (CUDA when available), cpu or cuda",
            )

    @property
    def chunk_size(self) -> int:
        """Samples per forward pass."""
        return self.forward_batch_size or self.batch_size


@dataclass(frozen=True)
class OptimConfig:
    """Optimizer: SGD (optionally Nesterov) or AdamW; weight decay on every parameter."""

    name: str = _key("sgd", "sgd | adamw")
    lr: float = _key(0.1, "base learning rate")
    momentum: float = _key(0.9, "SGD momentum")
    nesterov: bool = _key(True, "SGD Nesterov momentum (ignored by adamw)")
    weight_decay: float = _key(4e-4, "on every parameter, as upstream does")
    betas: tuple[float, float] = _key((0.9, 0.999), "AdamW betas")

    def __post_init__(self) -> None:
        _check_choice("optim.name", self.name, ("sgd", "adamw"))
        _check_range("optim.lr", self.lr, lo=0.0, lo_open=True, fix="e.g. 0.1 for SGD, 1e-3 AdamW")
        _check_range("optim.momentum", self.momentum, lo=0.0, hi=1.0, hi_open=True, fix="e.g. 0.9")
        _check_range("optim.weight_decay", self.weight_decay, lo=0.0, fix="e.g. 4e-4; 0 = off")
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
class SchedConfig:
    """Learning-rate schedule: warm-up, then step decay (per epoch) or cosine (per step)."""

    name: str = _key("step", "step (set per epoch) | cosine (set per step)")
    warmup_epochs: int = _key(0, "linear warm-up length in epochs")
    milestones: tuple[int, ...] = _key((), "step: epochs where lr is multiplied by gamma")
    gamma: float = _key(0.1, "step decay factor")
    min_lr: float = _key(0.0, "cosine: final lr; step: floor of the lr")
    warmup_lr: float = _key(1e-7, "cosine: lr at the first warm-up step")

    def __post_init__(self) -> None:
        _check_choice("sched.name", self.name, ("step", "cosine"))
        _check_range("sched.warmup_epochs", self.warmup_epochs, lo=0, fix="e.g. 5; 0 = none")
        if list(self.milestones) != sorted(set(self.milestones)) or any(
            m < 1 for m in self.milestones
        ):
            raise ConfigError(
                "sched.milestones",
                f"must be increasing epochs >= 1, got {list(self.milestones)}",
                fix="e.g. [35, 55]",
            )
        _check_range("sched.gamma", self.gamma, lo=0.0, hi=1.0, lo_open=True, fix="e.g. 0.1")
        _check_range("sched.min_lr", self.min_lr, lo=0.0, fix="e.g. 1e-5, or 0")
        _check_range("sched.warmup_lr", self.warmup_lr, lo=0.0, fix="e.g. 1e-7")


@dataclass(frozen=True)
class LossConfig:
    """Cross-entropy options; model auxiliary losses are added by the trainer."""

    label_smoothing: float = _key(0.0, "cross-entropy label smoothing")

    def __post_init__(self) -> None:
        _check_range(
            "loss.label_smoothing",
            self.label_smoothing,
            lo=0.0,
            hi=1.0,
            hi_open=True,
            fix="0 for plain cross-entropy, 0.1 as SkateFormer and Hyper-GCN use",
        )


@dataclass(frozen=True)
class InfoConfig:
    """What a preset is, where its recipe comes from, how much GPU memory it needs."""

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

    def __post_init__(self) -> None:
        if self.expected_peak_memory_gb is not None:
            _check_range(
                "info.expected_peak_memory_gb",
                self.expected_peak_memory_gb,
                lo=0.0,
                fix="give GB as a number, or null if unknown",
            )
        for ident, entry in self.differences.items():
            key = f"info.differences.{ident}"
            if not isinstance(entry, Mapping) or set(entry) != {"versus", "keys", "note"}:
                raise ConfigError(
                    key,
                    f"needs exactly versus, keys and note, got {entry!r}",
                    fix="e.g. {versus: [upstream], keys: [data.window], note: why}",
                )
            versus, keys = entry["versus"], entry["keys"]
            if not versus or not set(versus) <= {"upstream", "lab"}:
                raise ConfigError(
                    f"{key}.versus",
                    f"must list upstream and/or lab, got {versus!r}",
                    fix="versus: [upstream] or [lab] or [upstream, lab]",
                )
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
}


def _plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def valid_keys() -> list[str]:
    """Every dotted key the schema knows, e.g. `optim.lr`."""
    keys = ["name"]
    for section, cls in _SECTION_CLASSES.items():
        keys += [f"{section}.{f.name}" for f in fields(cls)]
    return keys


def _suggest(key: str) -> str:
    candidates = valid_keys() + list(_SECTION_CLASSES)
    near = difflib.get_close_matches(key, candidates, n=1, cutoff=0.5)
    if not near:
        # a known leaf under the wrong section, e.g. `train.lr`
        leaf = key.rsplit(".", 1)[-1]
        near = [k for k in valid_keys() if k.endswith("." + leaf)][:1]
    return near[0] if near else ""


def _unknown(key: str, where: str | None) -> ConfigError:
    near = _suggest(key)
    hint = f"; did you mean {near!r}?" if near else ""
    return ConfigError(
        key,
        f"unknown key{hint}",
        where=where,
        fix=f"use {near!r}" if near else "`skelab configs keys` lists every key with its default",
    )


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    """Resolved annotations of a section class (resolving them is slow, and they never change)."""
    return typing.get_type_hints(cls)


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(key: str, value: Any, tp: Any, where: str | None) -> Any:
    """Check `value` against the annotation `tp`; ints are accepted where floats are expected."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)

    def bad(expected: str) -> ConfigError:
        return ConfigError(
            key,
            f"expected {expected}, got {type(value).__name__} {value!r}",
            where=where,
            fix=f"write {key} as {expected}",
        )

    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(key, value, inner[0], where)
    if tp is bool:
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise bad("an integer")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad("a number")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise bad("a string")
        return value
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise bad(f"a list of {_type_name(args[0])}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(f"{key}[{i}]", v, args[0], where) for i, v in enumerate(value))
        if len(value) != len(args):
            raise bad(f"a list of {len(args)} numbers")
        return tuple(
            _coerce(f"{key}[{i}]", v, a, where)
            for i, (v, a) in enumerate(zip(value, args, strict=True))
        )
    if origin is dict:
        if not isinstance(value, Mapping):
            raise bad("a mapping")
        return dict(value)
    raise AssertionError(f"unsupported annotation {tp!r} for {key}")


def from_dict(raw: Mapping[str, Any], *, where: str | None = None, name: str = "") -> Config:
    """Validate a merged raw mapping into a `Config`; `where` names the file in errors."""
    if not isinstance(raw, Mapping):
        raise ConfigError(
            "<top>",
            f"expected a mapping of sections, got {type(raw).__name__}",
            where=where,
            fix="write `section:` blocks, e.g. `train:` / `optim:`",
        )
    sections: dict[str, Any] = {}
    for section, body in raw.items():
        if section == "name":
            if not isinstance(body, str):
                raise ConfigError(
                    "name", f"expected a string, got {body!r}", where=where, fix="name: my-run"
                )
            continue
        if section not in _SECTION_CLASSES:
            raise _unknown(str(section), where)
        cls = _SECTION_CLASSES[section]
        body = {} if body is None else body
        if not isinstance(body, Mapping):
            raise ConfigError(
                section,
                f"expected a mapping, got {body!r}",
                where=where,
                fix=f"write `{section}:` followed by indented `key: value` lines",
            )
        hints = _hints(cls)
        values = {}
        for key, value in body.items():
            dotted = f"{section}.{key}"
            if key not in hints:
                raise _unknown(dotted, where)
            values[key] = _coerce(dotted, value, hints[key], where)
        try:
            sections[section] = cls(**values)
        except ConfigError as err:
            if err.where is None and where is not None:
                raise ConfigError(
                    err.key, err.problem.split(": ", 1)[1], fix=err.fix, where=where
                ) from None
            raise
    try:
        return Config(name=raw.get("name") or name, **sections)
    except ConfigError as err:
        if err.where is None and where is not None:
            raise ConfigError(
                err.key, err.problem.split(": ", 1)[1], fix=err.fix, where=where
            ) from None
        raise


def key_reference() -> list[dict[str, Any]]:
    """Every key of the schema: dotted key, type, default and meaning, read from the dataclasses."""
    out = []
    for section, cls in _SECTION_CLASSES.items():
        hints = _hints(cls)
        for f in fields(cls):
            default = f.default_factory() if f.default is MISSING else f.default
            out.append(
                {
                    "key": f"{section}.{f.name}",
                    "type": str(hints[f.name]).replace("typing.", "")
                    if typing.get_origin(hints[f.name])
                    else _type_name(hints[f.name]),
                    "default": _plain(default),
                    "doc": f.metadata.get("doc", ""),
                }
            )
    return out


def __getattr__(name: str) -> Any:
    # The preset machinery moved to skelab.engine.presets; old imports keep working.
    if name in _MOVED_TO_PRESETS:
        from skelab.engine import presets

        return getattr(presets, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

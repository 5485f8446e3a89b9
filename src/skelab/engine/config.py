"""Run configs: a typed schema of frozen dataclasses, YAML presets, inheritance, overrides.

A config is one YAML mapping with up to seven sections. Every key has a default in the
dataclasses below; a file only says what differs. An unknown key, a value of the wrong type or
out of range is a `ConfigError` that names the file, the dotted key, the closest valid key and
a fix.

Schema (defaults in brackets; ranges are checked):

    name: run name [preset name or file stem]; names the default work dir `work_dir/<name>`
    extends: file(s) this one builds on (see "Inheritance"); not part of the resolved config
    model:
      name           registered model (`skelab models`) [stgcn-lite]
      options        dict passed to `skelab.models.build(name, **options)` [{}];
                     `num_classes` is filled in from data.num_classes
    data:
      path           NPZ (Kaggle (N, T, 150) or 5-D (N, 3, T, 25, 2) layout) or a folder made by
                     `skelab data prepare` [""; required to train or evaluate]
      style          feeder semantics: ctrgcn | skateformer | hypergcn [ctrgcn]
      modality       joint | bone | motion | bone_motion [joint]
      window         frames per clip after crop-and-resize, >= 1 [64]
      p_interval     [low, high] share of valid frames the training crop keeps [[0.5, 1.0]]
      test_p_interval  share kept by the centred test crop [0.95]
      random_rot     random rotation of training clips [true]
      num_classes    60 | 120 | any >= 2 [60]
    train:
      epochs         >= 1 [65]
      batch_size     samples per optimizer step [64]
      test_batch_size  [64]
      forward_batch_size  split each batch into forward passes of this many samples and add
                     their gradients (0 = one pass) [0]; see `skelab.engine.trainer`
      eval_every     evaluate the test split after epochs N, 2N, ... (1-based) and always
                     after the last [1]
      eval_from      no evaluation before this epoch (SkateFormer: the last 10%) [1]
      amp            none | bf16 | fp16 (CUDA only; fp16 uses a grad scaler) [none]
      compile        wrap the model in torch.compile [false]
      seed           seeds python, numpy, torch and the data order [1]
      device         auto | cpu | cuda | cuda:N [auto]
      clip_grad      max global gradient norm, 0 = off [0.0]
      num_threads    torch CPU threads, 0 = torch's default [0]
    optim:
      name           sgd | adamw [sgd]
      lr             base learning rate, > 0 [0.1]
      momentum       SGD momentum [0.9]
      nesterov       SGD Nesterov momentum (ignored by adamw) [true]
      weight_decay   on every parameter, as upstream does [0.0004]
      betas          AdamW betas [[0.9, 0.999]]
    sched:
      name           step | cosine [step]
      warmup_epochs  linear warm-up length in epochs [0]
      milestones     step: epochs (0-based) where lr is multiplied by gamma [[]]
      gamma          step decay factor, in (0, 1] [0.1]
      min_lr         cosine: final lr; step: floor of the lr [0.0]
      warmup_lr      cosine: lr at step 0 of the warm-up [1.0e-7]
    loss:
      label_smoothing  in [0, 1) [0.0]
    info:
      description    one line shown by `skelab configs`
      source         the upstream recipe this preset follows (repo + file)
      expected_peak_memory_gb  peak GPU memory of one training step, or null if unknown
      memory_source  where that figure comes from (measured on what, or how estimated)
      lower_memory   preset to suggest when this one runs out of GPU memory [""]

Schedules (`skelab.engine.schedule`): `step` is set once per epoch, as CTR-GCN, MS-G3D and
ST-GCN do: during warm-up lr = lr_base * (e + 1) / warmup_epochs for 0-based epoch e, then
lr_base * gamma ** (number of milestones <= e). `cosine` is set before every optimizer step,
as SkateFormer's timm scheduler does: linear warm-up from `warmup_lr` over the first
`warmup_epochs` epochs' steps, inside one cosine from lr_base to `min_lr` over the whole run.

Inheritance: `extends: X` (or a list, merged left to right) names the file(s) this one builds
on. X is a shipped preset path such as `_base/stgcn.yaml` or `ntu60-xsub/stgcn-joint`, or,
when it starts with `./`, `../` or `/`, a file path relative to the extending file. Mappings
merge key by key (the extending file wins); lists and scalars are replaced whole. Files under
`configs/_base/` and `configs/_datasets/` are building blocks, not listed as presets. Then each
`--set key=value` override (value parsed as YAML) is applied in order, then the result is
validated.

Presets: `src/skelab/configs/<dataset>-<split>/<model>-<stream>.yaml`, e.g.
`ntu60-xsub/stgcn-lite-joint`; streams are joint, bone, joint-motion and bone-motion.
"""

from __future__ import annotations

import difflib
import importlib.resources
import re
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from skelab.errors import ConfigError, UnknownNameError

STREAMS = {"joint": "joint", "bone": "bone", "joint-motion": "motion", "bone-motion": "bone_motion"}
_STYLES = ("ctrgcn", "skateformer", "hypergcn")
_MODALITIES = ("joint", "bone", "motion", "bone_motion")


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

    name: str = "stgcn-lite"
    options: dict[str, Any] = field(default_factory=dict)

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

    path: str = ""
    style: str = "ctrgcn"
    modality: str = "joint"
    window: int = 64
    p_interval: tuple[float, float] = (0.5, 1.0)
    test_p_interval: float = 0.95
    random_rot: bool = True
    num_classes: int = 60

    def __post_init__(self) -> None:
        _check_choice("data.style", self.style, _STYLES)
        _check_choice("data.modality", self.modality, _MODALITIES)
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
        _check_range(
            "data.num_classes",
            self.num_classes,
            lo=2,
            fix="60 for NTU RGB+D 60, 120 for NTU RGB+D 120",
        )


@dataclass(frozen=True)
class TrainConfig:
    """Epochs, batches, precision, device and evaluation cadence."""

    epochs: int = 65
    batch_size: int = 64
    test_batch_size: int = 64
    forward_batch_size: int = 0
    eval_every: int = 1
    eval_from: int = 1
    amp: str = "none"
    compile: bool = False
    seed: int = 1
    device: str = "auto"
    clip_grad: float = 0.0
    num_threads: int = 0

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

    name: str = "sgd"
    lr: float = 0.1
    momentum: float = 0.9
    nesterov: bool = True
    weight_decay: float = 4e-4
    betas: tuple[float, float] = (0.9, 0.999)

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

    name: str = "step"
    warmup_epochs: int = 0
    milestones: tuple[int, ...] = ()
    gamma: float = 0.1
    min_lr: float = 0.0
    warmup_lr: float = 1e-7

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

    label_smoothing: float = 0.0

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

    description: str = ""
    source: str = ""
    expected_peak_memory_gb: float | None = None
    memory_source: str = ""
    lower_memory: str = ""

    def __post_init__(self) -> None:
        if self.expected_peak_memory_gb is not None:
            _check_range(
                "info.expected_peak_memory_gb",
                self.expected_peak_memory_gb,
                lo=0.0,
                fix="give GB as a number, or null if unknown",
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

    def replace(self, **sections: Any) -> Config:
        return replace(self, **sections)


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
        fix=f"use {near!r}"
        if near
        else "`skelab configs show NAME` prints every "
        "key of a preset; the schema is in `skelab.engine.config`",
    )


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
        hints = typing.get_type_hints(cls)
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


# --------------------------------------------------------------------------- files and presets


def configs_root() -> Any:
    """The shipped presets folder (`skelab/configs`), read through importlib.resources."""
    return importlib.resources.files("skelab.configs")


def _walk(node: Any, prefix: str = "") -> Iterable[tuple[str, Any]]:
    for child in sorted(node.iterdir(), key=lambda c: c.name):
        rel = f"{prefix}{child.name}"
        if child.is_dir():
            yield from _walk(child, rel + "/")
        elif child.name.endswith(".yaml"):
            yield rel, child


def list_presets() -> list[str]:
    """Preset names, e.g. `ntu60-xsub/stgcn-joint`; building blocks under `_*/` are left out."""
    return sorted(
        rel[: -len(".yaml")] for rel, _ in _walk(configs_root()) if not rel.startswith("_")
    )


def _preset_file(name: str) -> Any | None:
    rel = name if name.endswith(".yaml") else name + ".yaml"
    node = configs_root()
    for part in rel.split("/"):
        node = node / part
    return node if node.is_file() else None


def _read_yaml(text: str, where: str) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(
            "<yaml>",
            f"not valid YAML ({str(exc).splitlines()[0]})",
            where=where,
            fix="check indentation and quoting near the line the parser names",
        ) from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ConfigError(
            "<top>",
            f"expected a mapping, got {type(raw).__name__}",
            where=where,
            fix="a config is `section:` blocks of `key: value` lines",
        )
    return raw


def merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Deep merge: mappings merge key by key (`over` wins); anything else is replaced."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def _resolve_source(source: str, relative_to: Path | None) -> tuple[str, str, Path | None]:
    """(text, where, folder for relative extends) of a preset name or a file path."""
    is_relative = source.startswith(("./", "../", "/"))
    if is_relative or relative_to is None:
        path = (
            Path(source)
            if relative_to is None or source.startswith("/")
            else (relative_to / source)
        )
        if path.is_file():
            return path.read_text(), str(path), path.parent
        if is_relative:
            raise ConfigError(
                "extends" if relative_to else "<config>",
                f"no such file: {path}",
                fix="check the path; it is relative to the extending file",
            )
    node = _preset_file(source)
    if node is not None:
        rel = source if source.endswith(".yaml") else source + ".yaml"
        return node.read_text(), f"<skelab>/configs/{rel}", None
    presets = list_presets()
    near = difflib.get_close_matches(source.removesuffix(".yaml"), presets, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(repr(n) for n in near)}?" if near else ""
    raise UnknownNameError(
        f"no preset or file named {source!r}{hint}",
        fix="`skelab configs` lists the presets; or give a path to a YAML file",
    )


def load_raw(
    source: str | Path, *, _relative_to: Path | None = None, _chain: tuple[str, ...] = ()
) -> tuple[dict[str, Any], str]:
    """Read a preset or file with its `extends` chain merged; returns (raw mapping, where)."""
    text, where, folder = _resolve_source(str(source), _relative_to)
    if where in _chain:
        raise ConfigError(
            "extends",
            f"inheritance cycle: {' -> '.join(_chain + (where,))}",
            where=where,
            fix="remove one of the `extends` entries",
        )
    raw = _read_yaml(text, where)
    parents = raw.pop("extends", None)
    if parents is None:
        return raw, where
    if isinstance(parents, str):
        parents = [parents]
    if not isinstance(parents, list) or not all(isinstance(p, str) for p in parents):
        raise ConfigError(
            "extends",
            f"expected a file name or a list of them, got {parents!r}",
            where=where,
            fix="e.g. extends: _base/stgcn.yaml",
        )
    merged: dict[str, Any] = {}
    for parent in parents:
        base, _ = load_raw(parent, _relative_to=folder, _chain=_chain + (where,))
        merged = merge(merged, base)
    return merge(merged, raw), where


def parse_overrides(items: Iterable[str]) -> list[tuple[str, Any]]:
    """`["optim.lr=0.05", "data.window=48"]` -> [("optim.lr", 0.05), ("data.window", 48)]."""
    out = []
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(
                item,
                "an override must read KEY=VALUE",
                where="--set",
                fix="e.g. --set optim.lr=0.05 --set data.window=48",
            )
        try:
            value = yaml.safe_load(text) if text.strip() else ""
        except yaml.YAMLError as exc:
            raise ConfigError(
                key,
                f"value {text!r} is not valid YAML ({exc})",
                where="--set",
                fix="quote strings with spaces; lists read [1, 2]",
            ) from None
        out.append((key, value))
    return out


def apply_overrides(raw: Mapping[str, Any], overrides: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Set dotted keys in a raw mapping; unknown keys are errors with the closest valid key."""
    out = merge({}, raw)
    known = set(valid_keys())
    for key, value in overrides:
        parts = key.split(".")
        free = key.startswith("model.options.") and len(parts) > 2
        if key not in known and not free:
            raise _unknown(key, "--set")
        node = out
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {}
                node[part] = child
            node = child
        node[parts[-1]] = value
    return out


def default_name(source: str | Path) -> str:
    """Run name for a source: the preset name, or a config file's stem."""
    text = str(source)
    if Path(text).is_file():
        return Path(text).stem
    return text.removesuffix(".yaml")


def load_config(source: str | Path, overrides: Iterable[str] = ()) -> Config:
    """Load a preset (`ntu60-xsub/stgcn-joint`) or YAML file, apply `--set` overrides, validate."""
    raw, where = load_raw(source)
    pairs = parse_overrides(overrides)
    raw = apply_overrides(raw, pairs)
    return from_dict(
        raw, where=where if not pairs else f"{where} (with --set)", name=default_name(source)
    )


def preset_parts(name: str) -> tuple[str, str, str]:
    """`ntu60-xsub/stgcn-lite-bone-motion` -> ("ntu60-xsub", "stgcn-lite", "bone-motion")."""
    benchmark, _, rest = name.partition("/")
    for stream in sorted(STREAMS, key=len, reverse=True):
        if rest.endswith("-" + stream):
            return benchmark, rest[: -len(stream) - 1], stream
    return benchmark, rest, ""

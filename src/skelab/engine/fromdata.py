"""Layout, people and classes from the data: a prepared folder's meta.json fills the config.

A preset says what NTU RGB+D needs (25 joints, 2 people, 60 classes); a folder made by
`skelab data import-arrays` (or another importer) says what it holds. `resolve_from_data` reads
the folder's meta.json (nothing else) and sets, for every key the command line did not set:

* `data.num_classes` and `data.class_names`: the folder's class count and names;
* `model.options.skeleton`, `num_joints`, `num_persons`, `in_channels`: the folder's joint
  layout (by name, or as a dict for a layout of one's own), joints, person slots and channels,
  each only where it differs from the builder's default, and only for models whose card says
  they take any layout (`ModelCard.any_layout`);

records those keys in `data.from_meta` (so the run's config.yaml says where they came from)
and logs one line. A model tied to NTU's 25 joints on another layout is refused with the
models that would take it; an explicit `--set` that contradicts the data is refused with the
`--set` that fixes it. NPZ files carry no layout and are left alone.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skelab.engine.config import Config
from skelab.errors import ConfigError
from skelab.skeletons import NTU25, Skeleton, class_names, get_skeleton, list_skeletons

log = logging.getLogger(__name__)

LAYOUT_OPTIONS = ("skeleton", "num_joints", "num_persons", "in_channels")


@dataclass(frozen=True)
class DataFacts:
    """What a prepared folder's meta.json says about its samples."""

    skeleton: Skeleton
    persons: int
    channels: int
    num_classes: int
    class_names: tuple[str, ...]


def data_facts(path: str | Path) -> DataFacts | None:
    """The facts of a prepared folder, or None for anything else (an NPZ, a missing path)."""
    from skelab.data.prepared import read_meta

    folder = Path(path)
    if not (folder / "meta.json").is_file():
        return None
    meta = read_meta(folder)
    raw = meta.get("skeleton")
    skeleton = Skeleton.from_dict(raw, where=folder / "meta.json") if raw else NTU25
    shapes = [s["x"]["shape"] for s in (meta.get("splits") or {}).values()]
    if not shapes:
        return None
    _, _, c, _, m = (int(v) for v in shapes[0])
    k = int(meta.get("num_classes") or 0)
    names = meta.get("class_names")
    names = tuple(names) if isinstance(names, list) and len(names) == k else class_names(k)
    return DataFacts(skeleton, m, c, k, names)


def _is_explicit(key: str, explicit: frozenset[str]) -> bool:
    """`key` or a section above it was set on the command line (`model.options` covers all)."""
    parts = key.split(".")
    return any(".".join(parts[:i]) in explicit for i in range(1, len(parts) + 1))


def _layout_value(skeleton: Skeleton) -> str | dict[str, Any]:
    """How a config names a layout: its name when built in, else the whole layout."""
    if skeleton.name in list_skeletons() and get_skeleton(skeleton.name) == skeleton:
        return skeleton.name
    return skeleton.to_dict()


def _layout_name(value: Any) -> str:
    return value.get("name", "custom") if isinstance(value, dict) else str(value)


def _refuse_ntu_only(cfg: Config, facts: DataFacts, path: str) -> None:
    from skelab.models.registry import any_layout_models

    s = facts.skeleton
    takers = any_layout_models()
    raise ConfigError(
        "model.name",
        f"{cfg.model.name} reads NTU RGB+D's 25-joint layout only, but {path} holds "
        f"{s.name} ({s.num_joints} joints)",
        fix=f"train a model that takes any layout ({', '.join(takers)}), e.g. "
        f"`skelab train ntu60-xsub/stgcn-lite-joint --set data.path={path}` (or the preset "
        "ntu60-xsub/ctrgcn-joint)",
    )


def resolve_from_data(cfg: Config, *, explicit: Iterable[str] = ()) -> Config:
    """`cfg` with the data folder's layout, people and classes filled in (module docstring).

    `explicit`: dotted keys the user set (`--set` keys, keys of their own YAML file); they are
    checked against the data, never replaced."""
    from skelab.models.registry import builder_defaults, get_card

    explicit = frozenset(explicit)
    path = cfg.data.path
    facts = data_facts(path) if path else None
    if facts is None:
        return cfg
    data_updates: dict[str, Any] = {}
    taken: list[str] = []
    k_explicit = _is_explicit("data.num_classes", explicit)
    if not k_explicit and facts.num_classes != cfg.data.num_classes:
        data_updates["num_classes"] = facts.num_classes
        taken.append("data.num_classes")
    elif k_explicit and cfg.data.num_classes != facts.num_classes:
        log.warning(
            "warning: data.num_classes=%d is set, but %s has %d classes",
            cfg.data.num_classes,
            path,
            facts.num_classes,
        )
    names_fit = not k_explicit or cfg.data.num_classes == facts.num_classes
    if (
        names_fit
        and not _is_explicit("data.class_names", explicit)
        and facts.class_names != class_names(facts.num_classes)
        and tuple(cfg.data.class_names) != facts.class_names
    ):
        data_updates["class_names"] = facts.class_names
        taken.append("data.class_names")

    options = dict(cfg.model.options)
    card = get_card(cfg.model.name)
    defaults = builder_defaults(cfg.model.name)
    s = facts.skeleton
    wanted: dict[str, Any] = {
        "skeleton": _layout_value(s),
        "num_joints": s.num_joints,
        "num_persons": facts.persons,
        "in_channels": facts.channels,
    }
    ntu_style = cfg.data.style in ("skateformer", "hypergcn")  # these feeders are NTU-only
    same_layout = s.num_joints == NTU25.num_joints and s.name == NTU25.name
    if not same_layout and not card.any_layout:
        _refuse_ntu_only(cfg, facts, path)
    if not same_layout and ntu_style:
        raise ConfigError(
            "data.style",
            f"the {cfg.data.style} style reads NTU RGB+D's 25 joints only, but {path} holds "
            f"{s.name} ({s.num_joints} joints)",
            fix="--set data.style=ctrgcn",
        )
    for key in LAYOUT_OPTIONS:
        full = f"model.options.{key}"
        if key not in defaults or (key in ("skeleton", "num_joints") and ntu_style):
            continue
        value, current = wanted[key], options.get(key, defaults[key])
        same = (
            _layout_name(current) == _layout_name(value) if key == "skeleton" else current == value
        )
        if same:
            continue
        if _is_explicit(full, explicit):
            shown = _layout_name(value) if key == "skeleton" else value
            fix = (
                f"--set {full}={shown}"
                if key != "skeleton" or isinstance(value, str)
                else f"drop {full}: skelab takes the layout from {path}/meta.json"
            )
            raise ConfigError(
                full,
                f"is {_layout_name(current) if key == 'skeleton' else current!r}, but {path} "
                f"holds {s.name} data ({s.num_joints} joints, {facts.persons} person slot(s), "
                f"{facts.channels} channels)",
                fix=fix,
            )
        options[key] = value
        taken.append(full)
    if not taken:
        return cfg
    earlier = [k for k in cfg.data.from_meta if not _is_explicit(k, explicit)]
    data_updates["from_meta"] = tuple(dict.fromkeys(earlier + taken))
    new = dataclasses.replace(
        cfg,
        data=dataclasses.replace(cfg.data, **data_updates),
        model=dataclasses.replace(cfg.model, options=options),
    )
    log.info(
        "from %s/meta.json (layout %s, %d joints, %d person slot(s), %d classes): %s",
        path,
        s.name,
        s.num_joints,
        facts.persons,
        facts.num_classes,
        ", ".join(f"{k}={_shown(new, k)}" for k in taken if k != "data.class_names"),
    )
    return new


def _shown(cfg: Config, key: str) -> str:
    section, *rest = key.split(".")
    if section == "data":
        return str(getattr(cfg.data, rest[0]))
    return _layout_name(cfg.model.options[rest[-1]])


def explicit_keys(source: str | Path, override_keys: Iterable[str]) -> frozenset[str]:
    """The keys a user set: `--set` keys, and the keys written in their own YAML file (not a
    shipped preset) other than those it lists under `data.from_meta`."""
    import yaml

    keys = set(override_keys)
    path = Path(str(source))
    if path.is_file():
        try:
            raw = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError):
            raw = None  # the loader has read it already; nothing more to learn here
        if isinstance(raw, dict):
            own = set(_dotted(raw))
            data = raw.get("data")
            taken = data.get("from_meta") if isinstance(data, dict) else None
            keys |= own - set(taken if isinstance(taken, list) else [])
    return frozenset(keys)


def _dotted(node: dict, prefix: str = "") -> Iterable[str]:
    for k, v in node.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and key != "model.options" and v:
            yield from _dotted(v, key + ".")
        elif isinstance(v, dict):
            yield from (f"{key}.{sub}" for sub in v) if v else ()
        else:
            yield key


def class_names_of(cfg: Config) -> tuple[str, ...]:
    """The run's class names: `data.class_names`, else NTU's names or 'class i'."""
    return tuple(cfg.data.class_names) or class_names(cfg.data.num_classes)

"""Presets: shipped building blocks, the presets generated from them, `extends` and `--set`.

Shipped files live in `skelab/configs/`:

* `_datasets/<benchmark>.yaml`: data path and class count of one benchmark split;
* `_base/<model>.yaml`: one model's recipe;
* `<benchmark>/<name>.yaml`: a preset kept on disk because it is a real exception (e.g.
  `synth-demo/stgcn-lite-joint`). A file wins over a generated preset of the same name.

Each block may carry a `preset:` section, read from that file only (never inherited through
`extends`) and removed before the block is used as a config:

    preset:
      title: CTR-GCN                      # a _base block with a title generates presets
      streams: [joint, joint-motion]      # default: DEFAULT_STREAMS (the four classic ones)
      stream_options:                     # changes for one stream, merged after the modality
        bone: {model: {options: {num_prototype: 100}}}
      description: "{title}, {stream} stream, {dataset}"   # default uses {stream_words}
      benchmarks:                         # changes for one benchmark ("bench") or one
                                          # benchmark's stream ("bench/stream"), merged last
        ntu120-xsub: {train: {epochs: 60}}

A dataset block's `preset.title` names the benchmark in descriptions. The generated preset
`<benchmark>/<model>-<stream>` is the dataset block, then the model block, then
`data.modality` and `info.description`, then the model's `stream_options` entry of the stream,
then its `benchmarks` entries of the benchmark and of the benchmark's stream, merged in that order.

Inheritance: `extends: X` (or a list, merged left to right) names the file(s) a config builds
on. X is a shipped block or preset (`_base/stgcn.yaml`, `ntu60-xsub/stgcn-joint`) or, when it
starts with `./`, `../` or `/`, a path relative to the extending file. Mappings merge key by key
(the extending file wins); lists and scalars are replaced whole. Then each `--set key=value`
(value parsed as YAML) is applied in order, and the result is validated by
`skelab.engine.configfile.from_dict`.

Memory: `configs/_memory.json` holds the peak-memory figure of each preset (written by the bench
command named in its `generated_by`). Loading a shipped preset fills `info.expected_peak_memory_gb`
and `info.memory_source` from it unless the YAML sets them, and only while the preset's batch
(per step or per forward pass) and window are those the figure was made for (a `--set` that
changes them drops it).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import importlib.resources
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from skelab.engine.config import Config
from skelab.engine.configfile import _unknown, from_dict, renamed, valid_keys
from skelab.engine.fromdata import explicit_keys, resolve_from_data
from skelab.engine.rundir import RunDir
from skelab.errors import ConfigError, UnknownNameError, did_you_mean

# preset stream name -> data.modality
STREAMS = {
    "joint": "joint",
    "bone": "bone",
    "joint-motion": "motion",
    "bone-motion": "bone_motion",
    "k-bone": "k_bone",  # PYSKL's K-bone (ProtoGCN), pyskl style only
    "k-bone-motion": "k_bone_motion",
}
DEFAULT_STREAMS = ("joint", "bone", "joint-motion", "bone-motion")  # when a block names none
MEMORY_FILE = "_memory.json"
MEMORY_FORMAT = 1
_PRESET_KEYS = {"title", "streams", "description", "benchmarks", "stream_options"}
_DEFAULT_DESCRIPTION = "{title}, {stream_words} stream, {dataset}"


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


@functools.cache
def _shipped_file(rel: str) -> Any | None:
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


@functools.cache
def _block(rel: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A shipped file as (its own YAML without `preset:`, its `preset:` section)."""
    node = _shipped_file(rel)
    where = f"<skelab>/configs/{rel}"
    if node is None:
        raise UnknownNameError(f"no shipped config file {rel!r}", fix="`skelab configs` lists them")
    raw = _read_yaml(node.read_text(), where)
    meta = raw.pop("preset", None) or {}
    if not isinstance(meta, dict) or set(meta) - _PRESET_KEYS:
        raise ConfigError(
            "preset",
            f"expected a mapping of {', '.join(sorted(_PRESET_KEYS))}, got {meta!r}",
            where=where,
            fix="see skelab.engine.presets for the preset: section",
        )
    streams = meta.get("streams", list(DEFAULT_STREAMS))
    if not isinstance(streams, list) or set(streams) - set(STREAMS):
        raise ConfigError(
            "preset.streams",
            f"must be a list of {', '.join(STREAMS)}, got {streams!r}",
            where=where,
            fix="e.g. streams: [joint, joint-motion]",
        )
    return raw, meta


def _block_names(folder: str) -> list[str]:
    node = configs_root() / folder
    return sorted(c.name[: -len(".yaml")] for c in node.iterdir() if c.name.endswith(".yaml"))


@functools.cache
def _generated() -> dict[str, tuple[str, str, str]]:
    """Generated preset name -> (benchmark, model block, stream)."""
    out = {}
    for bench in _block_names("_datasets"):
        for model in _block_names("_base"):
            meta = _block(f"_base/{model}.yaml")[1]
            if not meta.get("title"):
                continue
            for stream in meta.get("streams", list(DEFAULT_STREAMS)):
                out[f"{bench}/{model}-{stream}"] = (bench, model, stream)
    return out


@functools.cache
def _on_disk() -> tuple[str, ...]:
    return tuple(
        rel[: -len(".yaml")] for rel, _ in _walk(configs_root()) if not rel.startswith("_")
    )


def list_presets() -> list[str]:
    """Preset names, e.g. `ntu60-xsub/stgcn-joint`: generated ones and files on disk."""
    return sorted(set(_generated()) | set(_on_disk()))


def is_generated(name: str) -> bool:
    """Whether a preset is made from blocks (True) rather than read from its own file."""
    name = name.removesuffix(".yaml")
    return name in _generated() and name not in _on_disk()


def _generated_raw(name: str) -> tuple[dict[str, Any], str]:
    bench, model, stream = _generated()[name]
    data_raw, _ = load_raw(f"_datasets/{bench}.yaml")
    model_raw, _ = load_raw(f"_base/{model}.yaml")
    meta = _block(f"_base/{model}.yaml")[1]
    template = meta.get("description", _DEFAULT_DESCRIPTION)
    description = template.format(
        title=meta["title"],
        stream=stream,
        stream_words=stream.replace("-", " "),
        dataset=_block(f"_datasets/{bench}.yaml")[1].get("title", bench),
    )
    raw = merge(data_raw, model_raw)
    raw = merge(raw, {"data": {"modality": STREAMS[stream]}, "info": {"description": description}})
    raw = merge(raw, (meta.get("stream_options") or {}).get(stream, {}))
    benchmarks = meta.get("benchmarks") or {}
    raw = merge(raw, benchmarks.get(bench, {}))
    raw = merge(raw, benchmarks.get(f"{bench}/{stream}", {}))
    raw = merge(raw, {"preset": preset_record(name, raw)})  # files that extend it inherit it
    return raw, f"<skelab>/configs/_base/{model}.yaml (as {name})"


def merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Deep merge: mappings merge key by key (`over` wins); anything else is replaced."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def _unknown_source(source: str) -> UnknownNameError:
    hint = did_you_mean(source.removesuffix(".yaml"), list_presets(), n=3, cutoff=0.5)
    return UnknownNameError(
        f"no preset or file named {source!r}{hint}",
        fix="`skelab configs` lists the presets; or give a path to a YAML file",
    )


def load_raw(
    source: str | Path, *, _relative_to: Path | None = None, _chain: tuple[str, ...] = ()
) -> tuple[dict[str, Any], str]:
    """A preset, block or file with its `extends` chain merged; returns (raw mapping, where)."""
    source = str(source)
    name = source.removesuffix(".yaml")
    is_path = source.startswith(("./", "../", "/"))
    path = None
    if is_path or _relative_to is None:
        path = (
            Path(source)
            if _relative_to is None or source.startswith("/")
            else _relative_to / source
        )
        if not path.is_file():
            if is_path:
                raise ConfigError(
                    "extends" if _relative_to else "<config>",
                    f"no such file: {path}",
                    fix="check the path; it is relative to the extending file",
                )
            path = None
    if path is not None:
        raw, where, folder = _read_yaml(path.read_text(), str(path)), str(path), path.parent
    elif _shipped_file(name + ".yaml") is not None:
        raw = copy.deepcopy(_block(name + ".yaml")[0])
        where, folder = f"<skelab>/configs/{name}.yaml", None
    elif name in _generated():
        return _generated_raw(name)
    else:
        raise _unknown_source(source)
    if where in _chain:
        raise ConfigError(
            "extends",
            f"inheritance cycle: {' -> '.join(_chain + (where,))}",
            where=where,
            fix="remove one of the `extends` entries",
        )
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
    out = copy.deepcopy(dict(raw))
    known = set(valid_keys())
    for key, value in overrides:
        key, value = renamed(key, value)
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


@functools.cache
def memory_table() -> dict[str, Any]:
    """`configs/_memory.json` as a dict: {"format", "generated_by", "presets": {name: entry}}."""
    node = configs_root() / MEMORY_FILE
    where = f"<skelab>/configs/{MEMORY_FILE}"
    try:
        table = json.loads(node.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(
            "<json>",
            f"cannot be read ({exc})",
            where=where,
            fix="regenerate it with the bench command",
        ) from None
    found = table.get("format") if isinstance(table, dict) else table
    if found != MEMORY_FORMAT:
        raise ConfigError(
            "format",
            f"expected format {MEMORY_FORMAT}, got {found!r}",
            where=where,
            fix="regenerate it with the command in its generated_by field",
        )
    for name, entry in table.get("presets", {}).items():
        if not isinstance(entry, dict) or not {"fp32_gb", "batch", "window"} <= set(entry):
            raise ConfigError(
                f"presets.{name}",
                f"needs fp32_gb, bf16_gb, batch and window, got {entry!r}",
                where=where,
                fix="regenerate it with the command in its generated_by field",
            )
    return table


def _with_memory(cfg: Config, name: str, raw: Mapping[str, Any]) -> Config:
    """Fill info.expected_peak_memory_gb / memory_source of a shipped preset from _memory.json."""
    info = raw.get("info") or {}
    if "expected_peak_memory_gb" in info:
        return cfg
    table = memory_table()
    entry = table["presets"].get(name)
    # "batch" may count the samples of a forward pass or of an optimizer step; either matches
    made_for = {cfg.train.chunk_size, cfg.train.batch_size}
    if entry is None or entry["batch"] not in made_for or entry["window"] != cfg.data.window:
        return cfg
    source = info.get("memory_source") or (
        f"{table['generated_by']}: float32, batch {entry['batch']}, window {entry['window']} "
        f"(configs/{MEMORY_FILE})"
    )
    new_info = dataclasses.replace(
        cfg.info, expected_peak_memory_gb=float(entry["fp32_gb"]), memory_source=source
    )
    return dataclasses.replace(cfg, info=new_info)


def load_config(source: str | Path, overrides: Iterable[str] = ()) -> Config:
    """Load a preset (`ntu60-xsub/stgcn-joint`), a YAML file or a run folder (its config.yaml),
    apply `--set` overrides, validate."""
    if Path(str(source)).is_dir() and RunDir(source).config.is_file():
        source = RunDir(source).config  # the recipe of a run, e.g. for `zeroshot features RUN`
    raw, where = load_raw(source)
    name = default_name(source)
    is_preset = not Path(str(source)).is_file() and name in set(list_presets())
    if is_preset:
        raw = merge(raw, {"preset": preset_record(name, raw)})
    pairs = parse_overrides(overrides)
    raw = apply_overrides(raw, pairs)
    cfg = from_dict(raw, where=where if not pairs else f"{where} (with --set)", name=name)
    cfg = _with_memory(cfg, name, raw) if is_preset else cfg
    # a prepared folder's layout, people and classes fill what the user did not set
    return resolve_from_data(cfg, explicit=explicit_keys(source, [k for k, _ in pairs]))


def preset_record(name: str, raw: Mapping[str, Any]) -> dict[str, str]:
    """The `preset` section of preset `name` (raw: its merged mapping): benchmark, model (the
    registered one, `model.name`), variant (the rest of the model block's name) and stream."""
    bench, block, stream = _generated().get(name) or preset_parts(name)
    model = str((raw.get("model") or {}).get("name") or block)
    variant = block[len(model) + 1 :] if block.startswith(model + "-") else ""
    if block != model and not variant:  # a block named apart from its model
        model = block
    return {"benchmark": bench, "model": model, "variant": variant, "stream": stream}


def preset_parts(name: str) -> tuple[str, str, str]:
    """`ntu60-xsub/stgcn-lite-bone-motion` -> ("ntu60-xsub", "stgcn-lite", "bone-motion")."""
    benchmark, _, rest = name.partition("/")
    for stream in sorted(STREAMS, key=len, reverse=True):
        if rest.endswith("-" + stream):
            return benchmark, rest[: -len(stream) - 1], stream
    return benchmark, rest, ""

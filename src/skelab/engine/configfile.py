"""Reading a raw mapping (parsed YAML) into a validated `Config`.

Types are checked against the dataclass annotations (ints are accepted where floats are
expected), unknown keys get the closest valid key as a suggestion, and errors are given the file
they come from. `key_reference` lists every key with its type, default and meaning, read from the
dataclasses (`skelab configs keys`). The schema itself is `skelab.engine.config`.
"""

from __future__ import annotations

import functools
import logging
import types
import typing
from collections.abc import Mapping
from dataclasses import MISSING, fields
from typing import Any

from skelab.engine.config import _SECTION_CLASSES, RENAMED_KEYS, Config, _plain
from skelab.errors import ConfigError, closest, suggestion

log = logging.getLogger(__name__)
_warned: set[str] = set()


def renamed(key: str, value: Any) -> tuple[str, Any]:
    """A deprecated key's new name and value (`train.amp: none` -> `train.precision: fp32`),
    with a warning the first time; any other key unchanged."""
    if key not in RENAMED_KEYS:
        return key, value
    new, values = RENAMED_KEYS[key]
    if key not in _warned:
        _warned.add(key)
        log.warning("skelab: warning: %s is deprecated; use %s", key, new)
    return new, values.get(value, value) if isinstance(value, str) else value


def valid_keys() -> list[str]:
    """Every dotted key the schema knows, e.g. `optim.lr`."""
    keys = ["name"]
    for section, cls in _SECTION_CLASSES.items():
        keys += [f"{section}.{f.name}" for f in fields(cls)]
    return keys


def _suggest(key: str) -> str:
    candidates = valid_keys() + list(_SECTION_CLASSES)
    near = closest(key, candidates, cutoff=0.5)
    if not near:
        # a known leaf under the wrong section, e.g. `train.lr`
        leaf = key.rsplit(".", 1)[-1]
        near = [k for k in valid_keys() if k.endswith("." + leaf)][:1]
    return near[0] if near else ""


def _unknown(key: str, where: str | None) -> ConfigError:
    near = _suggest(key)
    hint = suggestion([near] if near else [])
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
            dotted, value = renamed(f"{section}.{key}", value)
            key = dotted.split(".", 1)[1]
            if key not in hints:
                raise _unknown(dotted, where)
            values[key] = _coerce(dotted, value, hints[key], where)
        try:
            sections[section] = cls(**values)
        except ConfigError as err:
            raise _located(err, where) from None
    try:
        return Config(name=raw.get("name") or name, **sections)
    except ConfigError as err:
        raise _located(err, where) from None


def _located(err: ConfigError, where: str | None) -> ConfigError:
    """`err`, naming the file it came from when the dataclass check could not know it."""
    if err.where is not None or where is None:
        return err
    return ConfigError(err.key, err.problem.split(": ", 1)[1], fix=err.fix, where=where)


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

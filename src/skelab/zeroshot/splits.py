"""Zero-shot class splits: which NTU classes are seen, unseen and held out for validation.

The four benchmark splits are SynSE's random draws (Gupta et al., ICIP 2021,
github.com/skelemoa/synse-zsl), shipped as `label_splits/ru*.npy` and `rv*_0.npy` in
MSF-GZSSAR and FS-VAE and listed in `reference/zeroshot.md` section 2.1. skelab ships them as
package data (`zeroshot/data/splits.json`): the unseen classes of the test protocol and the
validation-unseen classes carved out of the seen ones. The seen and validation-seen sets are
derived (all minus unseen, seen minus validation-unseen) instead of read, because upstream's
`rs100_0.npy` holds only 81 of its 100 classes.

Class indices are 0-based NTU labels everywhere (NTU action id = index + 1), and unseen lists are
sorted: output k of a zero-shot classifier means class `unseen[k]`, as upstream.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

from skelab.errors import ConfigError, UnknownNameError, did_you_mean


@dataclass(frozen=True)
class ZeroShotSplit:
    """One benchmark split: `unseen` classes are never trained on; `val_unseen` play the unseen
    role inside the seen classes, for every choice skelab makes (cycle, gate, temperature)."""

    name: str
    num_classes: int
    unseen: tuple[int, ...]
    val_unseen: tuple[int, ...]

    def __post_init__(self) -> None:
        for key, classes in (("unseen", self.unseen), ("val_unseen", self.val_unseen)):
            bad = [c for c in classes if not 0 <= c < self.num_classes]
            if bad or not classes or len(set(classes)) != len(classes):
                raise ConfigError(
                    f"{self.name}.{key}",
                    f"needs distinct class indices in 0..{self.num_classes - 1}, "
                    f"got {list(classes)}",
                    fix="list each held-out class once, as a 0-based label",
                )
        if set(self.unseen) & set(self.val_unseen):
            raise ConfigError(
                f"{self.name}.val_unseen",
                f"overlaps the unseen classes: {sorted(set(self.unseen) & set(self.val_unseen))}",
                fix="carve the validation-unseen classes out of the seen classes only",
            )
        if len(self.unseen) + len(self.val_unseen) >= self.num_classes:
            raise ConfigError(
                f"{self.name}.val_unseen",
                "leaves no validation-seen class to train on",
                fix="hold out fewer classes",
            )
        object.__setattr__(self, "unseen", tuple(sorted(self.unseen)))
        object.__setattr__(self, "val_unseen", tuple(sorted(self.val_unseen)))

    @property
    def seen(self) -> tuple[int, ...]:
        """Classes the backbone and the VAE train on (sorted)."""
        held = set(self.unseen)
        return tuple(c for c in range(self.num_classes) if c not in held)

    @property
    def val_seen(self) -> tuple[int, ...]:
        """Seen classes minus the validation-unseen ones (the validation backbone's classes)."""
        held = set(self.val_unseen)
        return tuple(c for c in self.seen if c not in held)

    @property
    def split_size(self) -> int:
        """Number of unseen classes, `ss` in upstream names (`shift_<ss>_r`)."""
        return len(self.unseen)

    @property
    def test_dir(self) -> str:
        """Upstream folder name of the test-protocol features."""
        return f"shift_{self.split_size}_r"

    @property
    def val_dir(self) -> str:
        """Upstream folder name of the validation (gating) features."""
        return f"shift_val_{self.split_size}_r"

    def describe(self) -> str:
        return (
            f"{self.name}: {self.num_classes} classes, {len(self.seen)} seen, "
            f"{self.split_size} unseen {list(self.unseen)}, validation-unseen "
            f"{list(self.val_unseen)}"
        )


@cache
def _table() -> dict[str, dict]:
    text = resources.files("skelab.zeroshot").joinpath("data/splits.json").read_text()
    return json.loads(text)["splits"]


def list_splits() -> list[str]:
    """Names of the shipped splits, e.g. 'ntu60-55/5'."""
    return list(_table())


def get_split(name: str) -> ZeroShotSplit:
    """A shipped split by name; an unknown name gets a suggestion."""
    table = _table()
    if name not in table:
        hint = did_you_mean(name, table)
        raise UnknownNameError(
            f"unknown zero-shot split {name!r}{hint}",
            fix=f"use one of {', '.join(table)}",
        )
    row = table[name]
    return ZeroShotSplit(
        name=name,
        num_classes=int(row["num_classes"]),
        unseen=tuple(row["unseen"]),
        val_unseen=tuple(row["val_unseen"]),
    )

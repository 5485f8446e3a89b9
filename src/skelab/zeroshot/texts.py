"""Class texts and the text table the zero-shot methods read.

Three texts per NTU class, as in MSF-GZSSAR and FS-VAE (`reference/zeroshot.md` section 5):
`lb` the class name (`skelab.skeletons.NTU120_CLASSES`), `ad` an action description (what the
action is) and `md` a motion description (how the body moves). The `ad` and `md` sentences are
skelab's own (`zeroshot/data/ntu120_texts.json`, one short sentence each); upstream's texts are
others' sentences with no licence and are not shipped.

A text mode such as `lb_ad_md` names the parts in order. The table is built as upstream does:
the per-part features of a class are concatenated in that order, then each row is divided by
the L2 norm of the whole concatenated row (one norm, not one per part; PITFALLS 10).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import cache
from importlib import resources

import numpy as np

from skelab.errors import ConfigError
from skelab.skeletons import NTU120_CLASSES

KINDS: tuple[str, ...] = ("lb", "ad", "md")
KIND_NAMES = {"lb": "class name", "ad": "action description", "md": "motion description"}


def parse_text_mode(mode: str) -> tuple[str, ...]:
    """`'lb_ad_md'` -> `('lb', 'ad', 'md')`; each part once, each one of lb, ad, md."""
    parts = tuple(mode.split("_")) if mode else ()
    if not parts or any(p not in KINDS for p in parts) or len(set(parts)) != len(parts):
        raise ConfigError(
            "text_mode",
            f"{mode!r} is not an underscore-joined list of distinct parts from {', '.join(KINDS)}",
            fix="use e.g. --text-mode lb_ad_md (or lb, ad, md, ad_md)",
        )
    return parts


@cache
def _texts() -> tuple[dict[str, str], ...]:
    raw = resources.files("skelab.zeroshot").joinpath("data/ntu120_texts.json").read_text()
    return tuple(json.loads(raw)["classes"])


def class_texts(kind: str, num_classes: int) -> tuple[str, ...]:
    """The `kind` text (lb, ad or md) of NTU classes 0..num_classes-1 (60 or 120, or fewer:
    the first classes of NTU120's list)."""
    if kind not in KINDS:
        raise ConfigError(
            "text kind", f"{kind!r} is not one of {', '.join(KINDS)}", fix="use lb, ad or md"
        )
    if not 1 <= num_classes <= len(NTU120_CLASSES):
        raise ConfigError(
            "num_classes",
            f"skelab has texts for NTU classes 1..{len(NTU120_CLASSES)}, asked for {num_classes}",
            fix="use 60 or 120, or bring your own text features with --text-encoder npy",
        )
    if kind == "lb":
        return NTU120_CLASSES[:num_classes]
    return tuple(row[kind] for row in _texts()[:num_classes])


def text_table(parts: Sequence[np.ndarray], *, where: str = "text features") -> np.ndarray:
    """Concatenate per-part (N, D_i) features in order and L2-normalise each whole row:
    (N, sum D_i) float32."""
    if not parts:
        raise ConfigError("text_mode", "no text parts given", fix="use e.g. lb_ad_md")
    rows = {p.shape[0] for p in parts}
    if len(rows) != 1 or any(p.ndim != 2 for p in parts):
        raise ConfigError(
            where,
            f"parts must be (N, D) with one N, got shapes {[tuple(p.shape) for p in parts]}",
            fix="encode every part for the same classes",
        )
    table = np.concatenate([np.asarray(p, dtype=np.float64) for p in parts], axis=1)
    norms = np.linalg.norm(table, axis=1, keepdims=True)
    if not np.all(np.isfinite(table)) or np.any(norms == 0):
        raise ConfigError(
            where,
            "has a row that is all zeros or not finite, which cannot be normalised",
            fix="re-encode the class texts",
        )
    return (table / norms).astype(np.float32)

"""Imports point one way:
cli -> bench -> engine | viz -> zeroshot -> models | data -> skeletons, files, errors.

`bench` runs the trainer's own step, so it may import `engine` (never the reverse). Function-level
imports count too: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "skelab"

# layer -> the skelab layers it must never import
FORBIDDEN = {
    "errors": {
        "skeletons",
        "files",
        "data",
        "synth",
        "models",
        "zeroshot",
        "engine",
        "bench",
        "viz",
        "cli",
    },
    "skeletons": {"data", "synth", "models", "zeroshot", "engine", "bench", "viz", "cli"},
    "files": {"skeletons", "data", "synth", "models", "zeroshot", "engine", "bench", "viz", "cli"},
    "data": {"synth", "models", "zeroshot", "engine", "bench", "viz", "cli"},
    "synth": {"models", "zeroshot", "engine", "bench", "viz", "cli"},
    "models": {"data", "synth", "zeroshot", "engine", "bench", "viz", "cli"},
    "zeroshot": {"engine", "bench", "viz", "cli"},
    "engine": {"bench", "viz", "cli"},
    "bench": {"viz", "cli"},
    "viz": {"engine", "bench", "cli"},
}


def _layer(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py")


def _imported_layers(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "skelab" and len(parts) > 1:
                found.add(parts[1])
    return found


MODULES = sorted(p for p in SRC.rglob("*.py") if _layer(p) in FORBIDDEN)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_module_imports_only_downward(path):
    bad = _imported_layers(path) & FORBIDDEN[_layer(path)]

    assert not bad, f"{path.relative_to(SRC)} imports skelab.{sorted(bad)} (against the layering)"

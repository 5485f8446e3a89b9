"""Imports point one way:
cli -> apps | bench -> engine | viz -> zeroshot -> models | data -> skeletons, files, errors.

`apps` (ensembles, early action, prediction, export, demo, doctor, the zero-shot stages that
train a backbone) is built on `engine`, which never imports it. `bench` runs the trainer's own
step, so it may import `engine` (never the reverse). `pose` (video
decoding, pose estimators) sits beside `data` and only `cli` imports it. Function-level
imports count too: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "skelab"

# layer -> the layers it builds on directly; a layer may import those and everything below them
BUILDS_ON = {
    "errors": set(),
    "progress": set(),
    "files": {"errors"},
    "skeletons": {"errors", "files"},
    "data": {"skeletons", "progress"},
    "synth": {"data"},
    "models": {"skeletons", "progress"},
    "zeroshot": {"data", "models", "synth"},
    "engine": {"zeroshot"},
    "viz": {"zeroshot"},
    "bench": {"engine"},
    # applications on the training core: only cli imports them
    "apps": {"engine"},
    # video decoding and pose estimators: reads and writes keypoint files, used by cli only
    "pose": {"data"},
}
LAYERS = set(BUILDS_ON) | {"cli"}


def _below(layer: str) -> set[str]:
    """Every layer `layer` may import: its BUILDS_ON entries and theirs, transitively."""
    seen: set[str] = set()
    todo = list(BUILDS_ON[layer])
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(BUILDS_ON[name])
    return seen


# layer -> the skelab layers it must never import
FORBIDDEN = {layer: LAYERS - _below(layer) - {layer} for layer in BUILDS_ON}


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


# --- no import cycle inside a package -----------------------------------------------------------
# Module-level imports only (function bodies and `if TYPE_CHECKING:` blocks run later or never):
# a cycle among them makes the result depend on which module is imported first.


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULE_FILES = {_module_name(p): p for p in SRC.rglob("*.py")}


def _top_level(body: list[ast.stmt]):
    """The statements that run when the module is imported (into if/try, not into defs)."""
    for node in body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            yield from _top_level(node.orelse)
        elif isinstance(node, (ast.If, ast.Try)):
            yield from _top_level(node.body)
            yield from _top_level(node.orelse)
            for handler in getattr(node, "handlers", []):
                yield from _top_level(handler.body)
            yield from _top_level(getattr(node, "finalbody", []))
        else:
            yield node


def _module_level_imports(name: str) -> set[str]:
    """The skelab modules `name` imports when it is imported (relative imports resolved)."""
    path = MODULE_FILES[name]
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    for node in _top_level(ast.parse(path.read_text(), filename=str(path)).body):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            found |= {module} | {f"{module}.{a.name}" for a in node.names}
    return {m for m in found if m in MODULE_FILES and m != name}


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One cycle of `graph` as [a, b, ..., a], or [] when it has none."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        state[node] = 2
        path.pop()
        return []

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return []


def test_find_cycle_finds_a_cycle_and_only_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []


PACKAGES = sorted({name.split(".")[1] for name in MODULE_FILES if name.count(".") >= 2})


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycle_inside_a_package(package):
    prefix = f"skelab.{package}"
    inside = [m for m in MODULE_FILES if m == prefix or m.startswith(prefix + ".")]
    graph = {m: {t for t in _module_level_imports(m) if t in inside} for m in inside}

    cycle = find_cycle(graph)

    assert not cycle, "module-level import cycle: " + " -> ".join(cycle)

"""Errors skelab raises. Only `skelab.cli` turns them into messages and exit codes.

Every error names what is wrong (the file and key where known), and a fix. `str(err)` gives the
one-line form plus an indented `fix:` line, so a message read in a traceback is as clear as on
the command line.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path


class SkelabError(Exception):
    """Base class: a problem the user can fix, with a message that says how."""

    exit_code = 1

    def __init__(self, problem: str, *, fix: str | None = None, where: str | Path | None = None):
        self.problem = problem
        self.fix = fix
        self.where = str(where) if where is not None else None
        super().__init__(self._render())

    def _render(self) -> str:
        head = f"{self.where}: {self.problem}" if self.where else self.problem
        return f"{head}\n  fix: {self.fix}" if self.fix else head


class ConfigError(SkelabError):
    """A config value is unknown, mistyped or out of range."""

    exit_code = 2

    def __init__(
        self, key: str, problem: str, *, fix: str | None = None, where: str | Path | None = None
    ):
        self.key = key
        super().__init__(f"{key}: {problem}", fix=fix, where=where)


class DataFormatError(SkelabError):
    """A data file is missing keys, has the wrong shape, bad values, or is truncated."""

    def __init__(
        self, path: str | Path, problem: str, *, key: str | None = None, fix: str | None = None
    ):
        self.path = str(path)
        self.key = key
        text = f"key {key!r}: {problem}" if key else problem
        super().__init__(text, fix=fix, where=path)


class CheckpointError(SkelabError):
    """A checkpoint does not match the model: missing, unexpected or mis-shaped entries."""


class UnknownNameError(SkelabError):
    """A model, preset or option name that skelab does not know."""

    exit_code = 2


class ModelConfigError(SkelabError):
    """A model was asked for an invalid combination of options (e.g. window vs partition)."""

    exit_code = 2


def closest(word: str, choices: Iterable[str], *, n: int = 1, cutoff: float = 0.6) -> list[str]:
    """The up to `n` choices most like `word` (case-insensitive), best first."""
    choices = [str(c) for c in choices]
    by_lower = {c.lower(): c for c in reversed(choices)}  # first spelling wins
    near = difflib.get_close_matches(str(word).lower(), list(by_lower), n=n, cutoff=cutoff)
    return [by_lower[m] for m in near]


def did_you_mean(word: str, choices: Iterable[str], *, n: int = 1, cutoff: float = 0.6) -> str:
    """ "; did you mean 'x'?" (or "'x', 'y'" for n > 1) for the choices like `word`, or ""."""
    return suggestion(closest(word, choices, n=n, cutoff=cutoff))


def suggestion(near: Iterable[str]) -> str:
    """ "; did you mean 'x'?" for names found by `closest` or another rule, or "" for none."""
    near = list(near)
    return f"; did you mean {', '.join(repr(m) for m in near)}?" if near else ""

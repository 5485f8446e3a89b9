"""The command line's progress helpers: `skelab.progress.progress_bar` (tqdm on a terminal,
periodic log lines elsewhere) and a byte counter for the data commands."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from skelab.progress import progress_bar

__all__ = ["byte_progress", "progress_bar"]


@contextmanager
def byte_progress(
    total: int, desc: str, *, enabled: bool = True
) -> Iterator[Callable[[int], None]]:
    """Yield a `progress(nbytes)` callback driving a byte bar (or log lines) on stderr."""
    with progress_bar(total=total, desc=desc, unit="B", unit_scale=True, enabled=enabled) as bar:
        yield bar.update

"""A tqdm byte-progress bar on stderr (rate and ETA) for the `skelab data` commands."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def byte_progress(total: int, desc: str) -> Iterator[Callable[[int], None]]:
    """Yield a `progress(nbytes)` callback driving a tqdm bar on stderr."""
    from tqdm import tqdm

    with tqdm(
        total=total,
        desc=desc,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        file=sys.stderr,
        dynamic_ncols=True,
    ) as bar:
        yield bar.update

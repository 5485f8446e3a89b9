"""Progress on stderr: a tqdm bar on a terminal, plain periodic log lines anywhere else.

A bar written to a log file fills it with carriage-return frames; off a terminal the same calls
print one line every `every` seconds (and a last one), with the count, the rate and the ETA:

    prepare-raw: 1,200/56,578 file (2%), 41.3 file/s, ETA 22:21

The engine's loops (training, evaluation, the zero-shot VAE) and the command line use the same
`progress_bar`. This module imports nothing from skelab.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any


class LogLines:
    """The tqdm calls skelab uses (iterate, update, close, context manager) as log lines."""

    def __init__(
        self,
        iterable: Iterable[Any] | None = None,
        *,
        total: int | None = None,
        desc: str = "",
        unit: str = "it",
        initial: int = 0,
        unit_scale: bool = False,
        every: float = 10.0,
        stream: Any = None,
    ) -> None:
        self.iterable = iterable
        if total is None and iterable is not None and hasattr(iterable, "__len__"):
            total = len(iterable)  # type: ignore[arg-type]
        self.total, self.desc, self.unit, self.n = total, desc, unit, initial
        self.unit_scale, self.every = unit_scale, every
        self.stream = stream if stream is not None else sys.stderr
        self._start = self._last = time.monotonic()
        self._initial = initial
        self._closed = False
        self.postfix = ""

    def __iter__(self) -> Iterator[Any]:
        assert self.iterable is not None, "LogLines without an iterable cannot be iterated"
        try:
            for item in self.iterable:
                yield item
                self.update(1)
        finally:
            self.close()

    def __enter__(self) -> LogLines:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            self._print(now)

    def set_postfix(self, **values: Any) -> None:
        """Shown at the end of the next line, e.g. `loss=0.412`."""
        self.postfix = ", ".join(f"{k}={v}" for k, v in values.items())

    def set_postfix_str(self, text: str) -> None:
        self.postfix = text

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            if self.n > self._initial:
                self._print(time.monotonic())

    def _amount(self, value: float) -> str:
        if not self.unit_scale:
            return f"{value:,.0f}"
        for prefix in ("", "Ki", "Mi", "Gi", "Ti"):
            if abs(value) < 1024 or prefix == "Ti":
                return f"{value:.1f}{prefix}"
            value /= 1024
        raise AssertionError("unreachable")

    def line(self, now: float) -> str:
        """`desc: n/total unit (p%), rate unit/s, ETA m:ss`."""
        elapsed = max(now - self._start, 1e-9)
        rate = (self.n - self._initial) / elapsed
        done = self._amount(self.n)
        if self.total:
            text = f"{done}/{self._amount(self.total)} {self.unit} ({self.n / self.total:.0%})"
        else:
            text = f"{done} {self.unit}"
        text += f", {self._amount(rate)} {self.unit}/s"
        if self.total and rate > 0 and self.n < self.total:
            text += f", ETA {_clock((self.total - self.n) / rate)}"
        elif self.total and self.n >= self.total:
            text += f", done in {_clock(elapsed)}"
        if self.postfix:
            text += f" ({self.postfix})"
        return f"{self.desc}: {text}" if self.desc else text

    def _print(self, now: float) -> None:
        print(self.line(now), file=self.stream, flush=True)


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def progress_bar(
    iterable: Iterable[Any] | None = None,
    *,
    total: int | None = None,
    desc: str = "",
    unit: str = "it",
    enabled: bool = True,
    initial: int = 0,
    unit_scale: bool = False,
    **tqdm_options: Any,
) -> Any:
    """A tqdm bar on stderr when it is a terminal, `LogLines` otherwise, nothing when disabled.

    Use it as tqdm: iterate over it, or call `update(n)` inside `with progress_bar(...) as bar`.
    `tqdm_options` (leave, smoothing, ...) go to tqdm on a terminal.
    """
    if not enabled:
        return LogLines(iterable, total=total, desc=desc, unit=unit, every=float("inf"),
                        stream=_Null())  # fmt: skip
    if sys.stderr.isatty():
        from tqdm import tqdm

        return tqdm(
            iterable, total=total, desc=desc, unit=unit, initial=initial, file=sys.stderr,
            dynamic_ncols=True, unit_scale=unit_scale, unit_divisor=1024 if unit_scale else 1000,
            **tqdm_options,
        )  # fmt: skip
    return LogLines(iterable, total=total, desc=desc, unit=unit, initial=initial,
                    unit_scale=unit_scale)  # fmt: skip


class _Null:
    """A stream that drops what is written (a disabled bar)."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass

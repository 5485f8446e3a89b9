"""Memory sizes as people write them ('8GiB', '11GB'); no torch, so the CLI checks them first."""

from __future__ import annotations

import re

from skelab.errors import ConfigError

GIB = 2**30
_UNITS = {"": GIB, "b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "kib": 2**10, "mib": 2**20, "gib": GIB}


def parse_bytes(text: str) -> int:
    """'8GiB', '8 GB', '7.5gib', '8000MiB' -> bytes; a bare number means GiB."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", text)
    unit = m.group(2).lower() if m else ""
    if m is None or unit not in _UNITS or float(m.group(1)) <= 0 or float(m.group(1)) > 1e15:
        raise ConfigError(
            "--memory",
            f"{text!r} is not a memory size",
            fix="give a size such as --memory 8GiB, 8GB or 8000MiB",
        )
    return int(float(m.group(1)) * _UNITS[unit])

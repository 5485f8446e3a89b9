"""Per-sample random numbers: a counter-based hash, so any sample can be drawn on its own and a
whole chunk at once without a Python loop over samples."""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from skelab.synth.bodies import NUM_BONE_DRAWS
from skelab.synth.poses import D
from skelab.synth.scripts import class_tables

MASK64 = (1 << 64) - 1


def _mix(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser on uint64 arrays (wrapping arithmetic)."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def stream_key(seed: int, stream: int) -> np.uint64:
    """A 64-bit key for (seed, stream); stream names a split or a purpose."""
    x = np.array([(seed * 0x9E3779B97F4A7C15 + stream * 0xD1B54A32D192ED03) & MASK64], np.uint64)
    return _mix(_mix(x))[0]


def hashed_uniform(key: np.uint64, index: np.ndarray, n: int) -> np.ndarray:
    """(B, n) uniforms in (0, 1), element (b, j) a function of (key, index[b], j) only."""
    row = _mix(index.astype(np.uint64) ^ key)[:, None]
    col = np.arange(n, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    bits = _mix(_mix(row + col) ^ key)
    return ((bits >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53


def hashed_normal(key: np.uint64, index: np.ndarray, n: int) -> np.ndarray:
    """(B, n) standard normals by Box-Muller from 2n hashed uniforms."""
    u = hashed_uniform(key, index, 2 * n)
    return np.sqrt(-2.0 * np.log(u[:, :n])) * np.cos(2.0 * np.pi * u[:, n:])


class Draws:
    """Hands out columns of a (B, n) block of random numbers, in a fixed order."""

    def __init__(self, block: np.ndarray) -> None:
        self.block = block.astype(np.float32)
        self.pos = 0

    def take(self, n: int = 1) -> np.ndarray:
        out = self.block[:, self.pos : self.pos + n]
        self.pos += n
        assert self.pos <= self.block.shape[1], "draw layout larger than the block"
        return out[:, 0] if n == 1 else out


def actor_counts() -> tuple[int, int]:
    """(uniforms, normals) drawn per actor."""
    t = class_tables()
    k, o = t.st0.shape[1], t.ot0.shape[1]
    return 1 + 12 + o + 4 + 4, 3 + NUM_BONE_DRAWS + D + k + k * D + 2 * o + 2 * D + 9 + 3


@lru_cache(maxsize=4)
def noise_bank(seed: int, size: int) -> np.ndarray:
    """Unit normals with a lag-1 correlation of 0.5 at a stride of 75 (one frame)."""
    gen = np.random.Generator(np.random.Philox(key=[seed, 0]))
    raw = gen.standard_normal(size + 75, dtype=np.float32)
    return (raw[75:] + raw[:-75]) * np.float32(1 / math.sqrt(2))


def balanced_labels(seed: int, split: int, index: np.ndarray, num_classes: int) -> np.ndarray:
    """Balanced labels: samples k*C .. k*C + C-1 hold each of the C classes once."""
    cycles = index // num_classes
    first = int(cycles.min()) if len(index) else 0
    span = np.arange(first, (int(cycles.max()) + 1) if len(index) else 0, dtype=np.int64)
    perms = np.argsort(hashed_uniform(stream_key(seed, 8 * split + 4), span, num_classes), axis=1)
    return perms[cycles - first, index % num_classes]

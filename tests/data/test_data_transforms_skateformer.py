"""SkateFormer's training-time frame sampling follows upstream's `valid_crop_uniform` rule."""

from __future__ import annotations

import itertools
import math
from collections import Counter

import numpy as np
import pytest
import torch

import skelab.data as sd

DRAWS = 6000


def upstream_patterns(length: int, window: int) -> list[tuple[int, ...]]:
    """Every frame pattern upstream can draw for a crop of `length` frames, W <= L < 2W.

    Upstream (SkateFormer feeders/tools.py, train branch) draws
    `np.random.choice(window + 1, length - window, replace=False)`: L - W distinct gaps out of
    the W + 1 around the W kept frames, each subset equally likely; frame i is i plus the number
    of drawn gaps at or before i. Listed here in plain Python, one pattern per subset.
    """
    out = []
    for gaps in itertools.combinations(range(window + 1), length - window):
        out.append(tuple(i + sum(1 for g in gaps if g <= i) for i in range(window)))
    return out


def drawn_patterns(length: int, window: int, draws: int, seed: int) -> Counter:
    """Frame patterns skelab's training plan draws for `draws` clips of exactly `length` frames
    (no crop: p_interval [1, 1] and thres 1, so the crop is the whole clip)."""
    t = sd.BatchTransform(
        style="skateformer",
        window=window,
        train=True,
        p_interval=(1.0, 1.0),
        min_crop=1,
        augment="",
        inter_p=0.0,
    )
    g = torch.Generator().manual_seed(seed)
    counts: Counter = Counter()
    for start in range(0, draws, 200):  # batches of 200, as a loader would draw them
        plan = t.plan(np.full(min(200, draws - start), length), g)
        frames = plan.frames[:, :window]
        assert (frames == plan.frames[:, window : 2 * window]).all()  # whole frames, no blend
        counts.update(map(tuple, frames.tolist()))
    return counts


PAIRS = [(w, n) for w in range(1, 7) for n in range(w, 2 * w)]


@pytest.mark.parametrize(("window", "length"), PAIRS)
def test_reachable_patterns_and_frequencies_match_upstream(window, length):
    expected = upstream_patterns(length, window)

    counts = drawn_patterns(length, window, DRAWS, seed=window * 100 + length)

    assert set(counts) == set(expected)  # same reachable patterns, nothing else
    mean = DRAWS / len(expected)  # upstream: every pattern equally likely
    for pattern in expected:
        # a binomial count stays within 5 standard deviations of its mean
        sd_ = math.sqrt(mean * (1 - 1 / len(expected)))
        assert abs(counts[pattern] - mean) <= 5 * sd_ + 1, (pattern, counts[pattern], mean)


def test_upstream_rule_never_skips_two_adjacent_frames_where_a_uniform_subset_would():
    # the example, W=4, L=6: a uniform 4-subset skips two adjacent frames in 1/3 of draws
    patterns = upstream_patterns(6, 4)
    uniform = list(itertools.combinations(range(6), 4))

    def adjacent_skip(p):
        skipped = sorted(set(range(6)) - set(p))
        return any(b - a == 1 for a, b in itertools.pairwise(skipped))

    assert sum(map(adjacent_skip, uniform)) / len(uniform) == pytest.approx(1 / 3)
    assert not any(map(adjacent_skip, patterns))
    assert not any(map(adjacent_skip, drawn_patterns(6, 4, 2000, seed=3)))


@pytest.mark.parametrize("length", [64, 65, 96, 127])
def test_full_size_window_skips_no_two_adjacent_frames(length):
    counts = drawn_patterns(length, 64, 300, seed=length)

    for pattern in counts:
        steps = np.diff(pattern)
        assert pattern[0] in (0, 1) and pattern[-1] in (length - 1, length - 2)
        assert set(steps.tolist()) <= {1, 2}
        assert pattern[-1] - pattern[0] + 1 - 64 == int((steps == 2).sum())


def test_long_crop_draws_one_frame_per_segment():
    counts = drawn_patterns(9, 4, 2000, seed=1)  # L >= 2W: segments [0,2) [2,4) [4,6) [6,9)

    firsts = Counter(p[3] for p in counts.elements())
    assert set(firsts) == {6, 7, 8}
    for pattern in counts:
        assert pattern[0] in (0, 1) and pattern[1] in (2, 3) and pattern[2] in (4, 5)

"""The CTR-GCN / SGN NTU preprocessing, reproduced on parsed `.skeleton` files.

Upstream: github.com/Uason-Chen/CTR-GCN (copied from microsoft/SGN), `data/ntu/`
`get_raw_skes_data.py`, `get_raw_denoised_data.py` and `seq_transformation.py`, and the NTU120
variant of the last one; the rules are written out in reference/ntu-data.md §4. Written from
those rules, per sample, so that samples can be processed in parallel and streamed to disk:

1. `tracks`: frames with no body are dropped; each bodyID becomes one track whose frames are
   packed from its first appearance on (upstream's gap-closing shift: a body that vanishes for
   g frames and returns is moved g frames earlier); motion = Var(x) + Var(y) + Var(z), float32.
2. `denoise`: with two or more bodies, the length rule (<= 11 frames goes), the spread rule
   (frames wider than 0.8 x their height are noisy; a body with >= 69.754 % noisy frames goes,
   otherwise its motion is recomputed without them), order by motion, two actor slots, and
   removal of all-zero rows.
3. `centre` and `pad`: one translation per sequence (actor 1's joint 2 in its first present
   frame), absent actors kept at exactly 0, zero-padding at the end to 300 frames; the second
   person of a one-actor sample is zeros (NTU60 script) or a copy of the first (NTU120 script).

Where skelab differs: upstream crashes with an index error when the length rule removes every
body, and skelab raises `SampleSkipped` instead; the same for a sample with no body in any frame
(upstream logs and drops it) and one longer than 300 frames (upstream would widen every sample).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from skelab.data.raw import RawSkeleton
from skelab.errors import DataFormatError

LENGTH_THRESHOLD = 11
SPREAD_FACTOR = 0.8
NOISY_RATIO = 0.69754
MAX_FRAMES = 300
CENTER_COLUMNS = slice(3, 6)  # joint 2 (spine middle) of actor 1
SECOND_PERSON = ("zeros", "copy")


class SampleSkipped(DataFormatError):
    """A well-formed file that yields no sample under the upstream rules (reported, skipped)."""

    def __init__(self, path: object, problem: str) -> None:
        super().__init__(path, problem, fix="nothing to fix: prepare-raw reports and skips it")


@dataclass
class Track:
    """One bodyID: its frames packed from `start` on, in the order they appear."""

    body_id: int
    joints: np.ndarray  # (n_b, 25, 3) float32
    start: int  # valid-frame index of its first appearance
    motion: float

    @property
    def end(self) -> int:
        return self.start + len(self.joints) - 1


def _motion(joints: np.ndarray) -> float:
    return float(np.var(joints.reshape(-1, 3), axis=0).sum())


def tracks(raw: RawSkeleton) -> tuple[list[Track], int]:
    """Stage 1: the bodies in order of first appearance, and the number of valid frames."""
    valid = raw.bodies_per_frame > 0
    n = int(valid.sum())
    if n == 0:
        raise SampleSkipped(raw.path, "no bodies: every frame has a body count of 0")
    valid_index = np.cumsum(valid) - 1
    out = []
    for b in range(raw.num_bodies):
        frames = np.flatnonzero(raw.present[b])
        joints = raw.positions[b, frames]
        out.append(Track(int(raw.body_ids[b]), joints, int(valid_index[frames[0]]), 0.0))
    if len(out) > 1:
        for t in out:
            t.motion = _motion(t.joints)
    return out, n


def _noisy_frames(joints: np.ndarray) -> np.ndarray:
    x, y = joints[:, :, 0], joints[:, :, 1]
    return (x.max(1) - x.min(1)) > SPREAD_FACTOR * (y.max(1) - y.min(1))


def _spread_rule(bodies: list[Track]) -> list[Track]:
    kept = list(bodies)
    for body in bodies:
        if len(kept) == 1:
            break
        noisy = _noisy_frames(body.joints)
        noise = int(noisy.sum())
        if noise == 0:
            continue
        if noise / len(body.joints) >= NOISY_RATIO:
            kept.remove(body)
        else:
            body.motion = min(body.motion, _motion(body.joints[~noisy]))
    return kept


def _drop_empty_rows(seq: np.ndarray) -> np.ndarray:
    return seq[seq.sum(axis=1) != 0]


def denoise(bodies: list[Track], n: int, path: object = "<sample>") -> np.ndarray:
    """Stage 2: (n', 75) for one actor or (n', 150) for two, float32, rows = frames."""
    if len(bodies) == 1:
        return bodies[0].joints.reshape(len(bodies[0].joints), 75)
    bodies = [b for b in bodies if len(b.joints) > LENGTH_THRESHOLD]
    if not bodies:
        raise SampleSkipped(
            path, f"every body lasts <= {LENGTH_THRESHOLD} frames (the length rule removes all)"
        )
    if len(bodies) > 1:
        bodies = _spread_rule(bodies)
    if len(bodies) == 1:
        one = np.zeros((n, 75), dtype=np.float32)
        b = bodies[0]
        one[b.start : b.end + 1] = b.joints.reshape(-1, 75)
        return _drop_empty_rows(one)
    bodies = sorted(bodies, key=lambda b: b.motion, reverse=True)  # stable: ties keep order
    two = np.zeros((n, 150), dtype=np.float32)
    first = bodies[0]
    two[first.start : first.end + 1, :75] = first.joints.reshape(-1, 75)
    s1, e1 = first.start, first.end
    s2, e2 = 0, 0  # upstream's virtual start: the first body to reach slot 2 always fits
    for b in bodies[1:]:
        s, e = b.start, b.end
        if min(e1, e) - max(s1, s) <= 0:
            two[s : e + 1, :75] = b.joints.reshape(-1, 75)
            s1, e1 = min(s1, s), max(e1, e)
        elif min(e2, e) - max(s2, s) <= 0:
            two[s : e + 1, 75:] = b.joints.reshape(-1, 75)
            s2, e2 = min(s2, s), max(e2, e)
    return _drop_empty_rows(two)


def centre(seq: np.ndarray) -> np.ndarray:
    """Stage 3a: subtract actor 1's joint 2 in its first present row from every joint."""
    seq = seq.copy()
    absent = [seq[:, k * 75 : (k + 1) * 75].sum(axis=1) == 0 for k in range(seq.shape[1] // 75)]
    first = int(np.flatnonzero((seq[:, :75] != 0).any(axis=1))[0])
    origin = seq[first, CENTER_COLUMNS].copy()
    seq -= np.tile(origin, seq.shape[1] // 3)
    for k, rows in enumerate(absent):
        seq[rows, k * 75 : (k + 1) * 75] = 0
    return seq


def pad(
    seq: np.ndarray, *, second_person: str = "zeros", frames: int = MAX_FRAMES, path: object = ""
) -> np.ndarray:
    """Stage 3b: (frames, 150) float32, zeros after the last row; a one-actor sample gets zeros
    ("zeros", NTU60 script) or a copy of actor 1 ("copy", NTU120 script) as person 2."""
    n = len(seq)
    if n > frames:
        raise SampleSkipped(path, f"{n} frames after denoising, more than {frames}")
    out = np.zeros((frames, 150), dtype=np.float32)
    out[:n, : seq.shape[1]] = seq
    if seq.shape[1] == 75 and second_person == "copy":
        out[:n, 75:] = seq
    return out


def preprocess(raw: RawSkeleton, *, second_person: str = "zeros") -> np.ndarray:
    """One parsed file through the whole upstream pipeline: (300, 150) float32, Kaggle columns
    75·m + 3·(j−1) + c for person m, joint j, coordinate c."""
    bodies, n = tracks(raw)
    seq = denoise(bodies, n, raw.path)
    if len(seq) == 0:
        raise SampleSkipped(raw.path, "no frame left after removing all-zero rows")
    return pad(centre(seq), second_person=second_person, path=raw.path)

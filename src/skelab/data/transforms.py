"""Batch transforms: the upstream feeders' per-sample steps, done for a whole batch on any device.

Three styles, each reproducing one upstream feeder (facts from reference/ntu-data.md §5 and
reference/models-transformer.md §1.13, §3.10, §4):

* ``"ctrgcn"``: CTR-GCN `feeders/feeder_ntu.py` + `feeders/tools.py` (`valid_crop_resize`,
  `random_rot`) and `feeders/bone_pairs.py`. Crop the valid frames (train: ratio U(p_lo, p_hi),
  at least 64 frames; test: centre crop keeping 0.95), resize to the window with linear
  interpolation (align_corners=False), rotate (train), then bone and motion. Any joint layout:
  bones are `Skeleton.bone_parents` of the data's layout (for ntu25, `bone_pairs.py`'s pairs).
* ``"skateformer"`` (ntu25 only): SkateFormer `feeders/feeder_ntu.py` with `partition=True` and
  `tools.valid_crop_uniform`: crop (at least `thres` frames), uniform sampling with `index_t`,
  train-time augmentation 'a123489' (intra-instance, p 0.5) and skeleton-AdaIN (inter-instance,
  p 0.2), bone (SkateFormer's pairs) and motion, then the 24-point reorder.
* ``"hypergcn"`` (ntu25 only): Hyper-GCN `feeders/feeder_ntu.py`: the CTR-GCN steps, with the
  joint stream centred on joint 21 (slot 20 keeps its absolute trajectory), Hyper-GCN's bone
  pairs with slot 20 absolute, motion of the uncentred joints.
* ``"blockgcn"`` (ntu25 only): BlockGCN `feeders/feeder_ntu.py` (@7b45971): the CTR-GCN steps,
  then the joint stream centred on joint 21 (slot 20 absolute), CTR-GCN's bone pairs with slot
  20 absolute, and motion of those streams (joint motion is the motion of the *centred* joint
  stream). The output also holds `joint`, the raw cropped, resized and rotated joints, which
  upstream's feeder returns first and BlockGCN's topology branch reads, whatever the stream.

* ``"pyskl"`` (ntu25, xyz only): ProtoGCN's PYSKL pipeline (firework8/ProtoGCN @ddf7f27,
  datasets/pipelines/pose_related.py and sampling.py): `PreNormalize3D(align_spine=False)`
  (centre on joint 2 of the first frame's first person; absent joints stay 0), `RandomRot`
  (train; theta 0.2 in ProtoGCN's configs, CTR-GCN's matrices), the optional `Spatial_Flip`
  (`flip_p`) and `Part_Drop` (`part_drop_p`), `GenSkeFeat` (j, b, k = K-bone, and their
  motion, taken *before* sampling: the motion of an output frame is the next source frame
  minus it, 0 at the last valid frame), then `UniformSampleDecode` (whole clip; W segments,
  one frame each; W <= L < 2W: the gap rule; L < W: a loop from a random start). At test time
  upstream seeds NumPy with 255 for every sample; skelab replays exactly those draws (per
  distinct length, with NumPy's legacy generator), so test clips equal upstream's.

How the batch version works: `plan()` turns the valid lengths into source-frame indices for
every output frame (two per frame, blended by a weight, which covers crop + linear resize and
uniform sampling alike) and, when the style rotates, one 3x3 rotation per sample. Its random
numbers come from one `torch.Generator` on the CPU, a few whole-batch draws, so a seed gives the
same batch on every device; the index arithmetic on those draws is vectorised NumPy over the
batch (a plan is a few (N, 2W) integer arrays, where many small torch ops would cost more than
the arithmetic). The frames are then gathered in one indexing op (or read straight from disk by
`BatchLoader`, which reads nothing else) and `apply()` blends, augments and derives the modality
with whole-batch tensor ops. No Python loop runs over samples.

Differences from upstream, all deliberate:

* Randomness comes from a per-batch generator instead of NumPy's and torch's global ones, so the
  draws differ from upstream's; what is drawn, and with which probabilities, follows upstream
  (the AdaIN reference below is the one exception). For SkateFormer's training sampling with a
  crop of L frames, W <= L < 2W, that is upstream's rule, not a uniform W-subset: L - W of the
  W + 1 gaps around the kept frames are picked uniformly, one frame skipped at each, so two
  adjacent frames are never both skipped (tests/data/test_data_transforms_skateformer.py
  compares patterns and frequencies with upstream's rule). CTR-GCN's rotation angles are
  drawn with the plan (after the crop draws) and the matrix is built in float64, then rounded
  to float32.
* The valid length is the count of frames holding any non-zero value; upstream tests the
  frame's sum, which differs only when values cancel exactly.
* The pyskl style takes the valid frames as one block from frame 0 and the persons in the
  stored order. PYSKL's `PreNormalize3D` also drops frames where the first person is absent
  and puts the person present in more frames first; prepared NTU data already has the busier
  person first and no gaps, so this only matters for other data.
* SkateFormer's skeleton-AdaIN picks its same-class reference sample from the *batch* (a
  different sample with the same label; none means no AdaIN for that sample), not from the whole
  training set, since a batch transform sees only the batch. Bone lengths are transferred per
  frame and person; frames where either skeleton is absent are left unchanged.
* SkateFormer's shear multiplies coordinates as ``S @ xyz``; the left/right flip is the joint
  permutation `NTU_FLIP_PERMUTATION` alone (as described upstream).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from skelab.data.skeleton_ops import (
    CTRGCN_PARENT,
    HYPERGCN_PARENT,
    SKATEFORMER_PARENT,
    bones,
    motion,
    rotation_np,
    rotation_xyz,
    skateformer_augment,
    stream_parents,
)
from skelab.data.styles import MODALITIES, SKATEFORMER_AUGMENTS, SKATEFORMER_INTER_P, STYLES
from skelab.errors import ConfigError
from skelab.skeletons import NTU25, NTU_FLIP_PERMUTATION, SKATEFORMER_24_ORDER, Skeleton

__all__ = [  # rotation_xyz, bones, motion and the parents are re-exported from skeleton_ops
    "CTRGCN_PARENT",
    "HYPERGCN_PARENT",
    "SKATEFORMER_PARENT",
    "BatchTransform",
    "SamplePlan",
    "TransformOutput",
    "bones",
    "gather_frames",
    "motion",
    "resize_index",
    "rotation_xyz",
]

HYPERGCN_CENTER = 20  # 0-based joint 21, spine shoulder
PYSKL_TEST_SEED = 255  # UniformSampleDecode's test-time NumPy seed
PYSKL_CENTER = 1  # PreNormalize3D centres on joint 2 (0-based 1) of the first frame, person 0
# Part_Drop's limbs (0-based NTU joints): left arm + hand, left leg, right arm + hand, right leg
PYSKL_PARTS: tuple[tuple[int, ...], ...] = (
    (4, 5, 6, 7, 22, 21), (12, 13, 14, 15), (8, 9, 10, 11, 24, 23), (16, 17, 18, 19),
)  # fmt: skip
PAST_END = np.iinfo(np.int32).max  # a plan frame index that reads zeros on any clip


@dataclass
class TransformOutput:
    x: Tensor  # (N, C, W, V, M), V of the layout, or 24 for the skateformer style
    index_t: Tensor | None  # (N, W) float, skateformer style only
    joint: Tensor | None = None  # (N, C, W, V, M) raw joints before the modality, blockgcn style


@dataclass
class SamplePlan:
    """Which source frames each output frame blends, and the sample-level random choices.

    Source slots 0..W-1 hold frame `i0` and slots W..2W-1 frame `i1` of each output frame,
    blended as (1 - weight) * i0 + weight * i1; slots 2W..3W-1 (only when `inter` is set) hold
    the skeleton-AdaIN reference frames. `rows[n, s]` is the batch position of the sample that
    slot s reads and `frames[n, s]` its frame; a frame at or past the stored length reads zeros.
    """

    rows: Tensor  # (N, S) int64
    frames: Tensor  # (N, S) int64
    weight: Tensor  # (N, W) float32
    index_t: Tensor | None  # (N, W) float32
    family: Tensor | None  # (N,) float64 draw choosing intra / inter / no augmentation
    inter: Tensor | None  # (N,) bool: skeleton-AdaIN applies
    rotation: Tensor | None = None  # (N, 3, 3) float32 CTR-GCN rotation, new xyz = R @ xyz
    flip: Tensor | None = None  # (N,) bool, pyskl style: NTU's left/right joint swap
    part: Tensor | None = None  # (N,) int64, pyskl style: limb zeroed (0-3), -1 for none


def _check_generator(g: torch.Generator | None) -> None:
    if g is not None and g.device.type != "cpu":
        raise ConfigError(
            "generator",
            f"is on {g.device}; transforms draw on the CPU",
            fix="pass torch.Generator() (CPU); the draws move to the data's device",
        )


def _urand(shape: tuple[int, ...], g: torch.Generator | None, dtype=torch.float32) -> np.ndarray:
    """One whole-batch draw from the torch generator, as a NumPy array (the plan's maths)."""
    return torch.rand(shape, generator=g, dtype=dtype).numpy()


def resize_index(length: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Linear resize of `length` (N,) frames to `window` (align_corners=False), as source indices.

    Output frame i reads u = max(0, (i + 0.5) * L / W - 0.5), computed in float32 like
    `F.interpolate`; returns i0 = floor(u), i1 = min(i0 + 1, L - 1) (N, W) int64 and the
    weight u - i0 (N, W) float32.
    """
    length = np.asarray(length, dtype=np.int64)
    scale = length.astype(np.float32) / np.float32(window)  # (N,)
    pos = np.arange(window, dtype=np.float32) + np.float32(0.5)
    u = np.maximum(scale[:, None] * pos - np.float32(0.5), np.float32(0))  # (N, W) float32
    last = (length - 1)[:, None]
    i0 = np.minimum(u.astype(np.int64), last)
    w = u - i0.astype(np.float32)
    i1 = np.minimum(i0 + 1, last)
    return i0, i1, w


def gather_frames(x: Tensor, rows: Tensor, frames: Tensor) -> Tensor:
    """x (N, 3, T, V, M) -> source frames (N, S, 3, V, M): slot s is frame `frames[n, s]` of
    sample `rows[n, s]`; frames >= T read as zeros (upstream reads its zero padding there)."""
    t = x.shape[2]
    rows, frames = rows.to(x.device), frames.to(x.device)
    out = x[rows, :, frames.clamp(max=t - 1)]  # (N, S, 3, V, M)
    if bool((frames >= t).any()):
        out = out * (frames < t)[:, :, None, None, None].to(x.dtype)
    return out


class BatchTransform:
    """Window sampling, augmentation and modality of a batch, per upstream feeder style.

    `t(x, lengths, generator=None, labels=None)` takes x (N, C, T, V, M) on any device and the
    valid lengths (N,), and returns `TransformOutput(x, index_t)`. `labels` (N,) are used only by
    SkateFormer's skeleton-AdaIN (skipped without them).

    `skeleton` is the data's joint layout (`ds.skeleton`, default NTU's): the ctrgcn style's
    bones follow it; the skateformer and hypergcn styles refuse any layout but NTU's.

    `min_crop` is upstream's `thres` (the shortest crop, 64 upstream; `data.thres`). `augment`,
    `intra_p` and `inter_p` are SkateFormer's `aug_method`, `intra_p` and `inter_p` (training
    only; None means upstream's choice for the style). `observe` in (0, 1] is for early-action
    evaluation (test transforms only): each clip is cut to its first ceil(observe * valid
    length) frames before the usual test crop; at 1.0 nothing changes.
    """

    def __init__(
        self,
        *,
        style: str = "ctrgcn",
        window: int = 64,
        modality: str = "joint",
        train: bool = False,
        p_interval: tuple[float, ...] | None = None,
        rotate: bool | None = None,
        rotate_theta: float | None = None,
        min_crop: int = 64,
        augment: str | None = None,
        intra_p: float = 0.5,
        inter_p: float | None = None,
        observe: float = 1.0,
        skeleton: Skeleton = NTU25,
        channels: str = "xyz",
        flip_p: float = 0.0,
        part_drop_p: float = 0.0,
    ) -> None:
        if style not in STYLES:
            raise ConfigError(
                "data.style", f"unknown style {style!r}", fix=f"use one of {', '.join(STYLES)}"
            )
        if modality not in MODALITIES:
            raise ConfigError(
                "data.modality",
                f"unknown modality {modality!r}",
                fix=f"use one of {', '.join(MODALITIES)}",
            )
        if window < 1:
            raise ConfigError(
                "data.window",
                f"must be >= 1, got {window}",
                fix="set the clip length in frames, e.g. 64",
            )
        p = tuple(float(v) for v in (p_interval or ((0.5, 1.0) if train else (0.95,))))
        if len(p) not in (1, 2) or not all(0.0 < v <= 1.0 for v in p) or p[0] > p[-1]:
            raise ConfigError(
                "data.p_interval",
                f"needs one value or [low, high] in (0, 1], got {list(p)}",
                fix="use [0.5, 1.0] to train, [0.95] to test",
            )
        augment = (
            augment
            if augment is not None
            else (SKATEFORMER_AUGMENTS if train and style == "skateformer" else "")
        )
        if set(augment) - set(SKATEFORMER_AUGMENTS) or (augment and style != "skateformer"):
            raise ConfigError(
                "data.augment",
                f"{augment!r} is not a subset of "
                f"{SKATEFORMER_AUGMENTS!r} for the skateformer style",
                fix="use 'a123489' with style skateformer, '' otherwise",
            )
        if not 0.0 < observe <= 1.0 or (train and observe != 1.0):
            raise ConfigError(
                "observe",
                f"must be in (0, 1] and is for evaluation only, got {observe!r} (train={train})",
                fix="e.g. observe=0.5 on a test transform (train=False) to see half of each clip",
            )
        if channels not in ("xyz", "xy-score"):
            raise ConfigError(
                "channels", f"{channels!r} is not xyz or xy-score", fix="pass ds.channels"
            )
        for key, value in (("flip_p", flip_p), ("part_drop_p", part_drop_p)):
            if not 0.0 <= value <= 1.0 or (value and style != "pyskl"):
                raise ConfigError(
                    f"data.{key}",
                    f"must be in [0, 1] and needs style pyskl, got {value!r} ({style} style)",
                    fix=f"--set data.style=pyskl, or --set data.{key}=0",
                )
        if style == "pyskl" and channels != "xyz":
            raise ConfigError(
                "data.style",
                "pyskl is PYSKL's 3-D NTU pipeline; the data holds 2-D keypoints",
                fix="--set data.style=ctrgcn (any layout, 2-D aware)",
            )
        self.skeleton = skeleton
        self.channels = channels
        self._parent = stream_parents(style, modality, skeleton)  # fails here, not mid-epoch
        self.observe = float(observe)
        self.style, self.window, self.modality, self.train = style, int(window), modality, train
        self.p_interval = p
        self.rotate = rotate if rotate is not None else (train and style != "skateformer")
        theta = rotate_theta if rotate_theta is not None else (0.2 if style == "pyskl" else 0.3)
        self.rotate_theta = float(theta)
        self.flip_p = float(flip_p) if train else 0.0
        self.part_drop_p = float(part_drop_p) if train else 0.0
        self.min_crop = int(min_crop)
        self.augment = augment if train else ""
        self.intra_p = float(intra_p) if self.augment else 0.0
        inter_p = SKATEFORMER_INTER_P if inter_p is None else inter_p
        self.inter_p = float(inter_p) if train and style == "skateformer" else 0.0

    def __repr__(self) -> str:
        return (
            f"BatchTransform(style={self.style!r}, window={self.window}, "
            f"modality={self.modality!r}, train={self.train}, p_interval={self.p_interval}"
            + (f", observe={self.observe}" if self.observe != 1.0 else "")
            + ")"
        )

    @property
    def num_joints(self) -> int:
        return 24 if self.style == "skateformer" else self.skeleton.num_joints

    # ---------------------------------------------------------------------------------------
    # Temporal plan (CPU, NumPy over the batch; draws from the torch generator)

    def _crop(self, n: np.ndarray, g: torch.Generator | None) -> tuple[np.ndarray, np.ndarray]:
        """Crop length L and start b per sample (float64 maths, as upstream's NumPy)."""
        nd = n.astype(np.float64)
        if len(self.p_interval) == 1:
            p = self.p_interval[0]
            begin = np.floor((1.0 - p) * nd / 2.0).astype(np.int64)
            if self.style == "skateformer":
                length = np.maximum(np.floor(nd * p).astype(np.int64), self.min_crop)
                length = np.minimum(length, n)
            else:
                length = n - 2 * begin
            return length, begin
        lo, hi = self.p_interval
        u = _urand((2, len(n)), g, torch.float64)  # ratios, then starts: one draw, same stream
        p = u[0] * (hi - lo) + lo
        length = np.minimum(np.maximum(np.floor(nd * p).astype(np.int64), self.min_crop), n)
        begin = np.floor(u[1] * (n - length + 1)).astype(np.int64)
        return length, begin

    def _uniform(
        self, length: np.ndarray, g: torch.Generator | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """SkateFormer's `valid_crop_uniform` sampling inside the crop: (i0, i1, weight)."""
        w_ = self.window
        i0, i1, weight = resize_index(length, w_)  # crop shorter than the window: interpolate
        seg = np.arange(w_)
        starts = seg[None, :] * length[:, None] // w_  # segment boundaries i * L // W
        if self.train:
            ends = (seg[None, :] + 1) * length[:, None] // w_
            keys = _urand((len(length), w_ + 1), g)
            pick = _urand((len(length), w_), g)
            # W <= L < 2W: upstream picks L - W of the W + 1 gaps around the W kept frames
            # (before frame 0, between frames, after the last), uniformly without replacement,
            # and skips one source frame at each picked gap, so no two skipped frames touch.
            # Frame i is then i + (picked gaps at or before i).
            gap_rank = keys.argsort(axis=1, kind="stable").argsort(axis=1, kind="stable")
            skipped = gap_rank < (length - w_)[:, None]  # (N, W + 1) picked gaps
            spaced = seg[None, :] + np.cumsum(skipped[:, :w_], axis=1)
            in_segment = starts + (pick * (ends - starts)).astype(np.int64)  # one per segment
            short = (length < 2 * w_)[:, None]
            chosen = np.where(short, spaced, in_segment)  # W distinct frames either way
        else:
            chosen = starts
        long_ = (length >= w_)[:, None]
        i0 = np.where(long_, chosen, i0)
        i1 = np.where(long_, chosen, i1)
        weight = np.where(long_, np.float32(0), weight)
        return i0, i1, weight

    def plan(
        self,
        lengths: Tensor | np.ndarray,
        generator: torch.Generator | None = None,
        labels: Tensor | np.ndarray | None = None,
    ) -> SamplePlan:
        """Source frames and sample-level random choices for a batch with these valid lengths.

        Draw order from the generator: crop ratio and start (training crop), SkateFormer's
        sampling keys, family and partner keys (SkateFormer training), rotation angles (when the
        style rotates); `apply` then draws SkateFormer's augmentation parameters.
        """
        _check_generator(generator)
        lengths = lengths.cpu().numpy() if isinstance(lengths, Tensor) else lengths
        n = np.asarray(lengths).astype(np.int64, copy=False).reshape(-1)
        if n.size and int(n.min()) < 1:
            raise ConfigError(
                "lengths",
                "a sample has no valid frame",
                fix="drop all-zero sequences (skelab data inspect finds them)",
            )
        if self.observe != 1.0:
            # early-action evaluation: the clip is its first ceil(observe * valid) frames
            # (the tolerance keeps e.g. 0.1 * 30 from rounding up to 4)
            n = np.maximum(np.ceil(self.observe * n - 1e-9).astype(np.int64), 1)
        size, w_ = len(n), self.window
        if self.style == "pyskl":
            return self._pyskl_plan(n, generator)
        length, begin = self._crop(n, generator)
        if self.style == "skateformer":
            i0, i1, weight = self._uniform(length, generator)
        else:
            i0, i1, weight = resize_index(length, w_)
        frames = np.concatenate([i0, i1], axis=1)  # (N, 2W): i0 slots, then i1 slots
        frames += begin[:, None]
        i0, i1 = frames[:, :w_], frames[:, w_:]
        rows = np.repeat(np.arange(size), 2 * w_).reshape(size, 2 * w_)
        index_t = family = inter = rotation = None
        if self.style == "skateformer":
            nf = n.astype(np.float64)[:, None]
            t0 = (2.0 * i0 / nf - 1.0).astype(np.float32)
            t1 = (2.0 * i1 / nf - 1.0).astype(np.float32)
            index_t = t0 * (1 - weight) + t1 * weight
        if self.train and self.style == "skateformer":
            family = _urand((size,), generator, torch.float64)
            keys = _urand((size, size), generator)
            if labels is not None and self.inter_p > 0:
                labels = labels.cpu().numpy() if isinstance(labels, Tensor) else labels
                lab = np.asarray(labels).astype(np.int64, copy=False).reshape(-1)
                same = (lab[:, None] == lab[None, :]) & ~np.eye(size, dtype=bool)
                partner = np.where(same, keys, np.float32(2.0)).argmin(axis=1)
                hit = (family >= self.intra_p) & (family < self.intra_p + self.inter_p)
                inter = hit & same.any(axis=1)
                if inter.any():
                    f_ref = n[partner].astype(np.float32)[:, None]
                    ref = np.round((index_t + 1) * f_ref / 2).astype(np.int64)
                    ref = np.minimum(ref, n[partner][:, None] - 1)
                    # samples without AdaIN re-read their own i0 frames (no extra I/O)
                    ref_rows = np.where(inter[:, None], partner[:, None], rows[:, :w_])
                    ref_frames = np.where(inter[:, None], ref, i0)
                    rows = np.concatenate([rows, ref_rows], axis=1)
                    frames = np.concatenate([frames, ref_frames], axis=1)
                else:
                    inter = None
        if self._rotates:
            rotation = self._rotation(size, generator)
        if self.observe != 1.0:
            # a frame past the observed part reads zeros, as past the end of a shorter clip
            frames = np.where(frames >= n[:, None], PAST_END, frames)

        def t(a: np.ndarray | None) -> Tensor | None:
            return None if a is None else torch.from_numpy(np.ascontiguousarray(a))

        return SamplePlan(t(rows), t(frames), t(weight), t(index_t), t(family), t(inter), rotation)

    def _rotation(self, size: int, generator: torch.Generator | None) -> Tensor:
        """(N, 3, 3) float32 rotations, angles U(-theta, theta) per axis (float64 maths)."""
        theta = self.rotate_theta
        angles = _urand((size, 3), generator).astype(np.float64) * (2 * theta) - theta
        if self.channels == "xy-score":
            angles[:, :2] = 0.0  # 2-D: in the image plane only, the score is not a z
        return torch.from_numpy(rotation_np(angles).astype(np.float32))

    def _pyskl_plan(self, n: np.ndarray, g: torch.Generator | None) -> SamplePlan:
        """UniformSampleDecode over the whole clip; slots: the W sampled frames, the frames
        after them (for motion; the last valid frame is its own successor), then frame 0 (the
        centre). Draw order: sampling, rotation, flip, part drop, the dropped part."""
        size, w_ = len(n), self.window
        if self.train:
            i0 = _pyskl_train_frames(n, w_, g)
        else:
            test = [_pyskl_test_frames(int(v), w_) for v in n]
            i0 = np.stack(test) if size else np.zeros((0, w_), np.int64)
        i1 = np.minimum(i0 + 1, (n - 1)[:, None])
        frames = np.concatenate([i0, i1, np.zeros((size, 1), np.int64)], axis=1)
        rows = np.repeat(np.arange(size), 2 * w_ + 1).reshape(size, 2 * w_ + 1)
        rotation = self._rotation(size, g) if self._rotates else None
        flip = part = None
        if self.flip_p > 0:
            flip = torch.from_numpy(_urand((size,), g, torch.float64) < self.flip_p)
        if self.part_drop_p > 0:
            hit = _urand((size,), g, torch.float64) < self.part_drop_p
            which = np.floor(_urand((size,), g, torch.float64) * len(PYSKL_PARTS)).astype(np.int64)
            part = torch.from_numpy(np.where(hit, which, -1))
        if self.observe != 1.0:
            frames = np.where(frames >= n[:, None], PAST_END, frames)
        weight = torch.zeros(size, w_)
        return SamplePlan(
            torch.from_numpy(rows), torch.from_numpy(np.ascontiguousarray(frames)), weight,
            None, None, None, rotation, flip, part,
        )  # fmt: skip

    def _apply_pyskl(self, src: Tensor, plan: SamplePlan) -> TransformOutput:
        """PreNormalize3D, RandomRot, flip / part drop and GenSkeFeat on the planned frames."""
        n, _, c, v, m = src.shape
        w_ = self.window
        centre = src[:, 2 * w_, :, PYSKL_CENTER, 0][:, None, :, None, None]  # (N, 1, C, 1, 1)
        moving = self.modality.endswith("motion")
        frames = src[:, : 2 * w_] if moving else src[:, :w_]  # (N, S, C, V, M)
        # absent joints (all channels 0) stay 0, as PreNormalize3D's mask keeps them
        x = (frames - centre) * (frames != 0).any(dim=2, keepdim=True)
        x = x.transpose(1, 2)  # (N, C, S, V, M)
        if self._rotates:
            if plan.rotation is None:
                raise ConfigError(
                    "plan",
                    "has no rotation, but this transform rotates",
                    fix="make the plan with this transform's own plan()",
                )
            rot = plan.rotation.to(src.device, src.dtype)
            x = torch.bmm(rot, x.reshape(n, c, -1)).view(x.shape)
        if plan.flip is not None:
            flipped = x[:, :, :, list(NTU_FLIP_PERMUTATION)]
            x = torch.where(plan.flip.to(src.device)[:, None, None, None, None], flipped, x)
        if plan.part is not None:
            keep = torch.ones(n, v, dtype=src.dtype)
            for k, joints in enumerate(PYSKL_PARTS):
                keep[np.ix_((plan.part == k).numpy(), joints)] = 0.0
            x = x * keep.to(src.device)[:, None, None, :, None]
        if self._parent is not None:
            x = bones(x, self._parent)
        if moving:
            x = x[:, :, w_:] - x[:, :, :w_]  # next source frame minus this one
        return TransformOutput(x.contiguous(), None)

    @property
    def _rotates(self) -> bool:
        return self.rotate and not (self.style == "skateformer" and self.train)

    # ---------------------------------------------------------------------------------------
    # Batch ops on the data's device

    def apply(self, src: Tensor, plan: SamplePlan, generator: torch.Generator | None = None):
        """src (N, S, C, V, M): the plan's source frames, frame-major as read from disk
        -> TransformOutput."""
        _check_generator(generator)
        dev, w_ = src.device, self.window
        weight = plan.weight.to(dev)[:, None, :, None, None]  # (N, 1, W, 1, 1)
        n, _, c, v, m = src.shape
        if self._parent is not None and v != len(self._parent):  # bones or an NTU-only style
            raise ConfigError(
                "data.modality",
                f"{self.modality!r} ({self.style} style) was built for layout "
                f"{self.skeleton.name!r} ({len(self._parent)} joints), the data has {v}",
                fix="build the transform with the data's layout, skeleton=ds.skeleton",
            )
        if self.style == "pyskl":
            return self._apply_pyskl(src, plan)
        x = torch.empty(n, c, w_, v, m, dtype=src.dtype, device=dev)  # (N, C, W, V, M)
        # blend straight into the model's layout: one pass, no separate transpose copy
        slots = src.transpose(1, 2)  # (N, C, S, V, M) view
        torch.lerp(slots[:, :, :w_], slots[:, :, w_ : 2 * w_], weight, out=x)
        if self._rotates:
            if plan.rotation is None:
                raise ConfigError(
                    "plan",
                    "has no rotation, but this transform rotates",
                    fix="make the plan with this transform's own plan()",
                )
            rot = plan.rotation.to(dev, src.dtype)  # (N, 3, 3)
            x = torch.bmm(rot, x.view(n, c, -1)).view(x.shape)  # new xyz = R @ xyz, one matmul
        if self.style == "skateformer" and self.train:
            assert plan.family is not None
            ref = None if plan.inter is None else src[:, 2 * w_ : 3 * w_].transpose(1, 2)
            x = skateformer_augment(
                x,
                plan.family,
                plan.inter,
                ref,
                augment=self.augment,
                intra_p=self.intra_p,
                g=generator,
                planar=self.channels == "xy-score",
            )
        joint = x if self.style == "blockgcn" else None
        x = self._modality(x)
        if self.style == "skateformer":
            x = x[:, :, :, list(SKATEFORMER_24_ORDER)]
        index_t = plan.index_t.to(dev) if plan.index_t is not None else None
        return TransformOutput(x if x.is_contiguous() else x.contiguous(), index_t, joint)

    def __call__(
        self,
        x: Tensor,
        lengths: Tensor | np.ndarray,
        generator: torch.Generator | None = None,
        labels: Tensor | np.ndarray | None = None,
    ) -> TransformOutput:
        plan = self.plan(lengths, generator, labels)
        return self.apply(gather_frames(x, plan.rows, plan.frames), plan, generator)

    def _modality(self, x: Tensor) -> Tensor:
        if self.channels == "xy-score":
            return self._modality_2d(x)
        return self._modality_xyz(x)

    def _modality_xyz(self, x: Tensor) -> Tensor:
        """The stream of joint coordinates by the style's rule (any number of channels)."""
        m, c = self.modality, HYPERGCN_CENTER
        if self.style == "blockgcn":
            out = bones(x, self._parent) if m.startswith("bone") else x - x[:, :, :, c : c + 1]
            out[:, :, :, c] = x[:, :, :, c]  # joint 21 keeps its absolute trajectory
            return motion(out) if m.endswith("motion") else out
        if m == "motion":
            return motion(x)
        if m == "joint":
            if self.style != "hypergcn":
                return x
            out = x - x[:, :, :, c : c + 1]
            out[:, :, :, c] = x[:, :, :, c]  # joint 21 keeps its absolute trajectory
            return out
        b = bones(x, self._parent)
        if self.style == "hypergcn":
            b[:, :, :, c] = x[:, :, :, c]
        return b if m == "bone" else motion(b)

    def _modality_2d(self, x: Tensor) -> Tensor:
        """The stream of 2-D keypoints: x and y by the style's rule (centring, bones, motion),
        the score never mixed into them; its channel is the joint's score, for bones the mean
        score of the two joints, for motion the mean of the two frames (as PYSKL does)."""
        xy, score = self._modality_xyz(x[:, :2]), x[:, 2:3]
        m = self.modality
        if m.startswith("bone"):
            score = (score + score[:, :, :, list(self._parent)]) / 2
        if m.endswith("motion"):
            moved = torch.zeros_like(score)
            moved[:, :, :-1] = (score[:, :, 1:] + score[:, :, :-1]) / 2
            score = moved
        return torch.cat([xy, score], dim=1)


def _pyskl_train_frames(n: np.ndarray, w_: int, g: torch.Generator | None) -> np.ndarray:
    """UniformSampleDecode's training frames (N, W) for valid lengths n, from the generator:
    L >= 2W one frame per segment [i L // W, (i + 1) L // W); W <= L < 2W L - W of the W + 1
    gaps picked, one frame skipped at each; L < W W frames looping from a random start."""
    seg = np.arange(w_)
    starts = seg[None, :] * n[:, None] // w_
    ends = (seg[None, :] + 1) * n[:, None] // w_
    pick = _urand((len(n), w_), g)
    keys = _urand((len(n), w_ + 1), g)
    first = np.floor(_urand((len(n),), g, torch.float64) * n).astype(np.int64)
    in_segment = starts + (pick * (ends - starts)).astype(np.int64)
    gap_rank = keys.argsort(axis=1, kind="stable").argsort(axis=1, kind="stable")
    skipped = gap_rank < (n - w_)[:, None]
    spaced = seg[None, :] + np.cumsum(skipped[:, :w_], axis=1)
    looped = (first[:, None] + seg[None, :]) % n[:, None]
    long_, short = (n >= 2 * w_)[:, None], (n < w_)[:, None]
    return np.where(long_, in_segment, np.where(short, looped, spaced))


@functools.lru_cache(maxsize=4096)
def _pyskl_test_frames(length: int, w_: int) -> np.ndarray:
    """UniformSampleDecode's test frames for one valid length: upstream reseeds NumPy's legacy
    generator with 255 for every sample, so the draws depend on the length alone."""
    rs = np.random.RandomState(PYSKL_TEST_SEED)
    rs.rand()  # the crop ratio, 1 for the whole clip
    rs.randint(1)  # the crop offset, 0
    if length < w_:
        start = rs.randint(0, length)
        return (np.arange(start, start + w_) % length).astype(np.int64)
    if length < 2 * w_:
        gaps = rs.choice(w_ + 1, length - w_, replace=False)
        skip = np.zeros(w_ + 1, dtype=np.int64)
        skip[gaps] = 1
        return np.arange(w_) + np.cumsum(skip)[:-1]
    bounds = np.array([i * length // w_ for i in range(w_ + 1)])
    return (bounds[:w_] + rs.randint(np.diff(bounds))).astype(np.int64)

"""Batch transforms: the upstream feeders' per-sample steps, done for a whole batch on any device.

Three styles, each reproducing one upstream feeder (facts from reference/ntu-data.md §5 and
reference/models-transformer.md §1.13, §3.10, §4):

* ``"ctrgcn"``: CTR-GCN `feeders/feeder_ntu.py` + `feeders/tools.py` (`valid_crop_resize`,
  `random_rot`) and `feeders/bone_pairs.py`. Crop the valid frames (train: ratio U(p_lo, p_hi),
  at least 64 frames; test: centre crop keeping 0.95), resize to the window with linear
  interpolation (align_corners=False), rotate (train), then bone and motion.
* ``"skateformer"``: SkateFormer `feeders/feeder_ntu.py` with `partition=True` and
  `tools.valid_crop_uniform`: crop (at least `thres` frames), uniform sampling with `index_t`,
  train-time augmentation 'a123489' (intra-instance, p 0.5) and skeleton-AdaIN (inter-instance,
  p 0.2), bone (SkateFormer's pairs) and motion, then the 24-point reorder.
* ``"hypergcn"``: Hyper-GCN `feeders/feeder_ntu.py`: the CTR-GCN steps, with the joint stream
  centred on joint 21 (slot 20 keeps its absolute trajectory), Hyper-GCN's bone pairs with slot 20
  absolute, motion of the uncentred joints.

How the batch version works: `plan()` turns the valid lengths into source-frame indices for
every output frame (two per frame, blended by a weight, which covers crop + linear resize and
uniform sampling alike), drawing all randomness from one `torch.Generator` on the CPU, so a seed
gives the same batch on every device. The frames are then gathered in one indexing op (or read
straight from disk by `BatchLoader`, which reads nothing else) and `apply()` blends, augments and
derives the modality with whole-batch tensor ops. No Python loop runs over samples.

Differences from upstream, all deliberate:

* Randomness comes from a per-batch generator instead of NumPy's and torch's global ones, so the
  draws differ from upstream's (the distributions are the same).
* The valid length is the count of frames holding any non-zero value; upstream tests the
  frame's sum, which differs only when values cancel exactly.
* SkateFormer's skeleton-AdaIN picks its same-class reference sample from the *batch* (a
  different sample with the same label; none means no AdaIN for that sample), not from the whole
  training set, since a batch transform sees only the batch. Bone lengths are transferred per
  frame and person; frames where either skeleton is absent are left unchanged.
* SkateFormer's shear multiplies coordinates as ``S @ xyz``; the left/right flip is the joint
  permutation `NTU_FLIP_PERMUTATION` alone (as described upstream).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from skelab.errors import ConfigError
from skelab.skeletons import NTU_FLIP_PERMUTATION, SKATEFORMER_24_ORDER, bone_pairs

STYLES = ("ctrgcn", "skateformer", "hypergcn")
MODALITIES = ("joint", "bone", "motion", "bone_motion")
SKATEFORMER_AUGMENTS = "a123489"
HYPERGCN_CENTER = 20  # 0-based joint 21, spine shoulder


def _parents(pairs: tuple[tuple[int, int], ...]) -> tuple[int, ...]:
    out = [0] * len(pairs)
    for child, parent in pairs:
        out[child] = parent
    return tuple(out)


CTRGCN_PARENT = _parents(bone_pairs("ctrgcn"))
SKATEFORMER_PARENT = _parents(bone_pairs("skateformer"))
# Hyper-GCN: CTR-GCN's pairs except that hand tips and thumbs hang off the hand (22, 23 -> 8,
# 24, 25 -> 12, 1-based); joint 21 pairs with itself and its slot is later set to joint 21.
HYPERGCN_PARENT = tuple(
    {21: 7, 22: 7, 23: 11, 24: 11}.get(v, p) for v, p in enumerate(CTRGCN_PARENT)
)


def _path_matrix(parent: tuple[int, ...]) -> np.ndarray:
    """P[v, u] = 1 if bone u lies on the path from joint v up to the root (the joint that is
    its own parent), so joints = root + P @ bones."""
    v = len(parent)
    p = np.zeros((v, v), dtype=np.float32)
    for j in range(v):
        k = j
        while parent[k] != k:
            p[j, k] = 1.0
            k = parent[k]
    return p


SKATEFORMER_ROOT = next(v for v, p in enumerate(SKATEFORMER_PARENT) if v == p)  # joint 2
SKATEFORMER_PATH = _path_matrix(SKATEFORMER_PARENT)


@dataclass
class TransformOutput:
    x: Tensor  # (N, 3, W, V, 2), V = 25, or 24 for the skateformer style
    index_t: Tensor | None  # (N, W) float, skateformer style only


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


def _check_generator(g: torch.Generator | None) -> None:
    if g is not None and g.device.type != "cpu":
        raise ConfigError(
            "generator",
            f"is on {g.device}; transforms draw on the CPU",
            fix="pass torch.Generator() (CPU); the draws move to the data's device",
        )


def _rand(shape: tuple[int, ...], g: torch.Generator | None, dtype=torch.float32) -> Tensor:
    return torch.rand(shape, generator=g, dtype=dtype)


def _randint(low: int, high: int, shape: tuple[int, ...], g: torch.Generator | None) -> Tensor:
    return torch.randint(low, high, shape, generator=g)


def resize_index(length: Tensor, window: int) -> tuple[Tensor, Tensor, Tensor]:
    """Linear resize of `length` frames to `window` (align_corners=False), as source indices.

    Output frame i reads u = max(0, (i + 0.5) * L / W - 0.5), computed in float32 like
    `F.interpolate`; returns i0 = floor(u), i1 = min(i0 + 1, L - 1) and weight u - i0.
    """
    scale = length.to(torch.float32) / window  # (N,)
    u = (scale[:, None] * (torch.arange(window, dtype=torch.float32) + 0.5) - 0.5).clamp_min(0)
    i0 = torch.minimum(u.long(), (length - 1)[:, None])
    w = u - i0.to(torch.float32)
    i1 = torch.minimum(i0 + 1, (length - 1)[:, None])
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


def rotation_xyz(angles: Tensor) -> Tensor:
    """(N, 3) angles (a, b, c) -> (N, 3, 3) Rz(c) @ Ry(b) @ Rx(a), CTR-GCN `random_rot`'s
    matrices (new xyz = R @ xyz)."""
    ca, cb, cc = angles.cos().unbind(1)
    sa, sb, sc = angles.sin().unbind(1)
    one, zero = torch.ones_like(ca), torch.zeros_like(ca)
    rx = torch.stack([one, zero, zero, zero, ca, sa, zero, -sa, ca], 1).view(-1, 3, 3)
    ry = torch.stack([cb, zero, -sb, zero, one, zero, sb, zero, cb], 1).view(-1, 3, 3)
    rz = torch.stack([cc, sc, zero, -sc, cc, zero, zero, zero, one], 1).view(-1, 3, 3)
    return rz @ ry @ rx


def motion(x: Tensor) -> Tensor:
    """x[t + 1] - x[t] along frames, last frame 0. (N, C, T, V, M) -> same."""
    out = torch.zeros_like(x)
    out[:, :, :-1] = x[:, :, 1:] - x[:, :, :-1]
    return out


def bones(x: Tensor, parent: tuple[int, ...]) -> Tensor:
    """Bone of joint v = joint v - joint parent[v]; a joint that is its own parent gets 0."""
    return x - x[:, :, :, list(parent)]


class BatchTransform:
    """Window sampling, augmentation and modality of a batch, per upstream feeder style.

    `t(x, lengths, generator=None, labels=None)` takes x (N, 3, T, 25, 2) on any device and the
    valid lengths (N,), and returns `TransformOutput(x, index_t)`. `labels` (N,) are used only by
    SkateFormer's skeleton-AdaIN (skipped without them).
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
        rotate_theta: float = 0.3,
        min_crop: int = 64,
        augment: str | None = None,
        intra_p: float = 0.5,
        inter_p: float = 0.2,
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
        self.style, self.window, self.modality, self.train = style, int(window), modality, train
        self.p_interval = p
        self.rotate = rotate if rotate is not None else (train and style != "skateformer")
        self.rotate_theta = float(rotate_theta)
        self.min_crop = int(min_crop)
        self.augment = augment if train else ""
        self.intra_p = float(intra_p) if self.augment else 0.0
        self.inter_p = float(inter_p) if train and style == "skateformer" else 0.0

    def __repr__(self) -> str:
        return (
            f"BatchTransform(style={self.style!r}, window={self.window}, "
            f"modality={self.modality!r}, train={self.train}, p_interval={self.p_interval})"
        )

    @property
    def num_joints(self) -> int:
        return 24 if self.style == "skateformer" else 25

    # ---------------------------------------------------------------------------------------
    # Temporal plan (CPU, tiny tensors)

    def _crop(self, n: Tensor, g: torch.Generator | None) -> tuple[Tensor, Tensor]:
        """Crop length L and start b per sample (float64 maths, as upstream's NumPy)."""
        nd = n.to(torch.float64)
        if len(self.p_interval) == 1:
            p = self.p_interval[0]
            if self.style == "skateformer":
                length = torch.clamp(torch.floor(nd * p).long(), min=self.min_crop)
                length = torch.minimum(length, n)
            else:
                length = None
            begin = torch.floor((1.0 - p) * nd / 2.0).long()
            if length is None:
                length = n - 2 * begin
            return length, begin
        lo, hi = self.p_interval
        p = _rand((len(n),), g, torch.float64) * (hi - lo) + lo
        length = torch.minimum(torch.clamp(torch.floor(nd * p).long(), min=self.min_crop), n)
        begin = torch.floor(_rand((len(n),), g, torch.float64) * (n - length + 1)).long()
        return length, begin

    def _uniform(self, length: Tensor, g: torch.Generator | None) -> tuple[Tensor, Tensor, Tensor]:
        """SkateFormer's `valid_crop_uniform` sampling inside the crop: (i0, i1, weight)."""
        w_ = self.window
        i0, i1, weight = resize_index(length, w_)  # crop shorter than the window: interpolate
        seg = torch.arange(w_)
        starts = seg[None, :] * length[:, None] // w_  # segment boundaries i * L // W
        if self.train:
            ends = (seg[None, :] + 1) * length[:, None] // w_
            keys = _rand((len(length), 2 * w_), g)
            pick = _rand((len(length), w_), g)
            pos = torch.arange(2 * w_)[None, :]
            keys = torch.where(pos < length[:, None], keys, torch.full_like(keys, 2.0))
            subset = keys.argsort(dim=1)[:, :w_].sort(dim=1).values  # W distinct frames
            in_segment = starts + (pick * (ends - starts)).long()  # one frame per segment
            short = (length < 2 * w_)[:, None]
            chosen = torch.where(short, subset, in_segment)
        else:
            chosen = starts
        long_ = (length >= w_)[:, None]
        i0 = torch.where(long_, chosen, i0)
        i1 = torch.where(long_, chosen, i1)
        weight = torch.where(long_, torch.zeros_like(weight), weight)
        return i0, i1, weight

    def plan(
        self,
        lengths: Tensor | np.ndarray,
        generator: torch.Generator | None = None,
        labels: Tensor | np.ndarray | None = None,
    ) -> SamplePlan:
        """Source frames and sample-level random choices for a batch with these valid lengths."""
        _check_generator(generator)
        n = torch.as_tensor(np.asarray(lengths) if not isinstance(lengths, Tensor) else lengths)
        n = n.to("cpu", torch.int64)
        if n.numel() and int(n.min()) < 1:
            raise ConfigError(
                "lengths",
                "a sample has no valid frame",
                fix="drop all-zero sequences (skelab data inspect finds them)",
            )
        size, w_ = len(n), self.window
        length, begin = self._crop(n, generator)
        if self.style == "skateformer":
            i0, i1, weight = self._uniform(length, generator)
        else:
            i0, i1, weight = resize_index(length, w_)
        i0, i1 = i0 + begin[:, None], i1 + begin[:, None]
        rows = torch.arange(size)[:, None].expand(size, 2 * w_)
        frames = torch.cat([i0, i1], dim=1)
        index_t = family = inter = None
        if self.style == "skateformer":
            nf = n.to(torch.float64)[:, None]
            t0 = (2.0 * i0.to(torch.float64) / nf - 1.0).to(torch.float32)
            t1 = (2.0 * i1.to(torch.float64) / nf - 1.0).to(torch.float32)
            index_t = t0 * (1 - weight) + t1 * weight
        if self.train and self.style == "skateformer":
            family = _rand((size,), generator, torch.float64)
            keys = _rand((size, size), generator)
            if labels is not None and self.inter_p > 0:
                lab = torch.as_tensor(
                    np.asarray(labels) if not isinstance(labels, Tensor) else labels
                ).to("cpu", torch.int64)
                same = (lab[:, None] == lab[None, :]) & ~torch.eye(size, dtype=torch.bool)
                partner = torch.where(same, keys, torch.full_like(keys, 2.0)).argmin(dim=1)
                hit = (family >= self.intra_p) & (family < self.intra_p + self.inter_p)
                inter = hit & same.any(dim=1)
                if bool(inter.any()):
                    f_ref = n[partner].to(torch.float32)[:, None]
                    ref = torch.round((index_t + 1) * f_ref / 2).long()
                    ref = torch.minimum(ref, n[partner][:, None] - 1)
                    # samples without AdaIN re-read their own i0 frames (no extra I/O)
                    ref_rows = torch.where(inter[:, None], partner[:, None], rows[:, :w_])
                    ref_frames = torch.where(inter[:, None], ref, i0)
                    rows = torch.cat([rows, ref_rows], dim=1)
                    frames = torch.cat([frames, ref_frames], dim=1)
                else:
                    inter = None
        return SamplePlan(rows.contiguous(), frames, weight, index_t, family, inter)

    # ---------------------------------------------------------------------------------------
    # Batch ops on the data's device

    def apply(self, src: Tensor, plan: SamplePlan, generator: torch.Generator | None = None):
        """src (N, S, C=3, V=25, M=2): the plan's source frames, frame-major as read from disk
        -> TransformOutput."""
        _check_generator(generator)
        dev, w_, size = src.device, self.window, len(src)
        weight = plan.weight.to(dev)[:, :, None, None, None]
        n, _, c, v, m = src.shape
        x = torch.empty(n, c, w_, v, m, dtype=src.dtype, device=dev)  # (N, C, W, V, M)
        # blend straight into the model's layout: one pass, no separate transpose copy
        torch.lerp(
            src[:, :w_].transpose(1, 2),
            src[:, w_ : 2 * w_].transpose(1, 2),
            weight.transpose(1, 2),
            out=x,
        )
        if self.rotate and not (self.style == "skateformer" and self.train):
            theta = self.rotate_theta
            angles = _rand((size, 3), generator) * (2 * theta) - theta
            rot = rotation_xyz(angles).to(dev)
            x = torch.bmm(rot, x.view(size, 3, -1)).view(x.shape)  # new xyz = R @ xyz
        if self.style == "skateformer" and self.train:
            x = self._skateformer_augment(x, src, plan, generator)
        x = self._modality(x)
        if self.style == "skateformer":
            x = x[:, :, :, list(SKATEFORMER_24_ORDER)]
        index_t = plan.index_t.to(dev) if plan.index_t is not None else None
        return TransformOutput(x.contiguous(), index_t)

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
        m = self.modality
        if self.style == "hypergcn":
            c = HYPERGCN_CENTER
            if m == "joint":
                out = x - x[:, :, :, c : c + 1]
                out[:, :, :, c] = x[:, :, :, c]  # joint 21 keeps its absolute trajectory
                return out
            if m == "motion":
                return motion(x)
            b = bones(x, HYPERGCN_PARENT)
            b[:, :, :, c] = x[:, :, :, c]
            return b if m == "bone" else motion(b)
        parent = SKATEFORMER_PARENT if self.style == "skateformer" else CTRGCN_PARENT
        if m == "joint":
            return x
        if m == "motion":
            return motion(x)
        b = bones(x, parent)
        return b if m == "bone" else motion(b)

    def _skateformer_augment(
        self, x: Tensor, src: Tensor, plan: SamplePlan, g: torch.Generator | None
    ) -> Tensor:
        """Intra-instance ops a,1,2,3,4,8,9 (each p 0.5) on samples whose family draw is below
        `intra_p`; skeleton-AdaIN on those `plan.inter` marks. Parameters are drawn for every
        sample, so the draws do not depend on which ops end up applied."""
        dev, size, w_ = x.device, len(x), self.window
        assert plan.family is not None
        intra = plan.family < self.intra_p  # (N,)
        flags = _rand((size, len(SKATEFORMER_AUGMENTS)), g) < 0.5
        on = {
            op: (intra & flags[:, k]) if op in self.augment else torch.zeros_like(intra)
            for k, op in enumerate(SKATEFORMER_AUGMENTS)
        }
        shear = _rand((size, 3, 3), g) - 0.5
        axis = _randint(0, 3, (size,), g)
        angle = (_rand((size,), g) * 60.0 - 30.0) * (math.pi / 180.0)
        scale = 1.0 + _rand((size, 3), g) * 0.4 - 0.2
        zero_axis = _randint(0, 3, (size,), g)
        n_joints = _randint(5, 16, (size,), g)
        n_frames = _randint(16, 33, (size,), g)
        joint_rank = _rand((size, 25), g).argsort(1).argsort(1)
        frame_rank = _rand((size, w_), g).argsort(1).argsort(1)

        eye = torch.eye(3).expand(size, 3, 3)
        s_mat = torch.where(on["1"][:, None, None], eye + shear * (1 - torch.eye(3)), eye)
        angles = torch.zeros(size, 3)
        angles[torch.arange(size), axis] = angle
        r_mat = torch.where(on["2"][:, None, None], rotation_xyz(angles), eye)
        c_mat = torch.where(on["3"][:, None, None], torch.diag_embed(scale), eye)
        linear = (c_mat @ r_mat @ s_mat).to(dev)  # shear, then rotate, then scale

        swap = on["a"].to(dev)[:, None, None, None, None]
        x = torch.where(swap, x.flip(-1), x)
        x = torch.einsum("nij,njtvm->nitvm", linear, x)
        flip = on["4"].to(dev)[:, None, None, None, None]
        x = torch.where(flip, x[:, :, :, list(NTU_FLIP_PERMUTATION)], x)
        keep_axis = ~(on["8"][:, None] & (torch.arange(3)[None, :] == zero_axis[:, None]))
        x = x * keep_axis.to(dev, x.dtype)[:, :, None, None, None]
        drop = (
            on["9"][:, None, None]
            & (frame_rank < n_frames[:, None])[:, :, None]
            & (joint_rank < n_joints[:, None])[:, None, :]
        )  # (N, W, 25)
        x = x * (~drop).to(dev, x.dtype)[:, None, :, :, None]

        if plan.inter is not None:
            ref = src[:, 2 * w_ : 3 * w_].transpose(1, 2)  # (N, C, W, V, M)
            x = torch.where(plan.inter.to(dev)[:, None, None, None, None], _adain(x, ref), x)
        return x


def _adain(x: Tensor, ref: Tensor) -> Tensor:
    """Skeleton-AdaIN: x's bone directions with ref's bone lengths, rebuilt outward from ref's
    joint 2 (index 1). Both (N, 3, W, 25, 2); frames/persons where either is absent keep x."""
    parent = SKATEFORMER_PARENT
    bx, br = bones(x, parent), bones(ref, parent)
    len_x = bx.norm(dim=1, keepdim=True)
    len_r = br.norm(dim=1, keepdim=True)
    ratio = torch.where(len_x > 0, len_r / len_x.clamp_min(1e-12), torch.zeros_like(len_x))
    path = torch.as_tensor(SKATEFORMER_PATH, device=x.device, dtype=x.dtype)
    root = ref[:, :, :, SKATEFORMER_ROOT : SKATEFORMER_ROOT + 1]
    rebuilt = root + torch.einsum("vu,nctum->nctvm", path, bx * ratio)
    present = (x != 0).any(dim=1).any(dim=2) & (ref != 0).any(dim=1).any(dim=2)
    return torch.where(present[:, None, :, None, :], rebuilt, x)

"""Whole-batch tensor ops on skeletons used by the batch transforms.

Bone streams (of any layout with bones; SkateFormer's and Hyper-GCN's pairs are NTU's), motion,
CTR-GCN's rotation matrices, and SkateFormer's training augmentation (intra-instance ops and
skeleton-AdaIN). Facts from reference/ntu-data.md §5 and
reference/models-transformer.md §1.13; `skelab.data.transforms` explains how they are used.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from skelab.data.styles import SKATEFORMER_AUGMENTS
from skelab.errors import ConfigError
from skelab.skeletons import NTU25, NTU_FLIP_PERMUTATION, Skeleton, bone_pairs


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

# PYSKL's K-bone pairs for 'nturgb+d' (`JointToKB`), 0-based child -> the joint it is taken from.
PYSKL_KBONE_PARENT = _parents(
    ((0, 20), (1, 1), (2, 2), (3, 20), (4, 4), (5, 20), (6, 4), (7, 5), (8, 8), (9, 20), (10, 8),
     (11, 9), (12, 1), (13, 0), (14, 12), (15, 13), (16, 1), (17, 0), (18, 16), (19, 17),
     (21, 7), (20, 20), (22, 6), (23, 11), (24, 10))
)  # fmt: skip


def stream_parents(style: str, modality: str, skeleton: Skeleton) -> tuple[int, ...] | None:
    """The bone parents a transform style uses on data of `skeleton`'s layout, None if none.

    The ctrgcn style takes the layout's own bones (`Skeleton.bone_parents`), and only for a
    bone modality, so a layout without bones still gives joint and motion streams. SkateFormer
    and Hyper-GCN reorder and pair NTU's 25 joints, BlockGCN centres on NTU's joint 21, and the
    pyskl style uses PYSKL's 'nturgb+d' pairs (and its K-bone pairs), so these styles refuse any
    other layout. Only the pyskl style has the K-bone modalities.
    """
    if modality.startswith("k_bone") and style != "pyskl":
        raise ConfigError(
            "data.modality",
            f"{modality!r} is PYSKL's K-bone stream, which only the pyskl style derives",
            fix="--set data.style=pyskl, or use joint, bone, motion or bone_motion",
        )
    if style == "ctrgcn":
        return skeleton.bone_parents if modality.startswith("bone") else None
    if skeleton != NTU25:
        raise ConfigError(
            "data.style",
            f"{style!r} uses NTU's 25-joint order and bone pairs, but the data's layout is "
            f"{skeleton.name!r} ({skeleton.num_joints} joints)",
            fix="--set data.style=ctrgcn (its bones follow the data's layout)",
        )
    if style == "pyskl":  # PYSKL's 'nturgb+d' bone pairs are CTR-GCN's
        if modality.startswith("k_bone"):
            return PYSKL_KBONE_PARENT
        return CTRGCN_PARENT if modality.startswith("bone") else None
    if style == "blockgcn":  # CTR-GCN's bone pairs, NTU's root slot handled by the style
        return CTRGCN_PARENT if modality.startswith("bone") else None
    return SKATEFORMER_PARENT if style == "skateformer" else HYPERGCN_PARENT


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


def _rand(shape: tuple[int, ...], g: torch.Generator | None, dtype=torch.float32) -> Tensor:
    return torch.rand(shape, generator=g, dtype=dtype)


def _randint(low: int, high: int, shape: tuple[int, ...], g: torch.Generator | None) -> Tensor:
    return torch.randint(low, high, shape, generator=g)


def rotation_np(angles: np.ndarray) -> np.ndarray:
    """(N, 3) float64 angles (a, b, c) -> (N, 3, 3) float64 Rz(c) @ Ry(b) @ Rx(a), written out
    entry by entry (one vectorised expression per entry instead of three matrix products)."""
    ca, cb, cc = np.cos(angles).T
    sa, sb, sc = np.sin(angles).T
    r = np.empty((len(angles), 3, 3))
    r[:, 0, 0] = cc * cb
    r[:, 0, 1] = cc * sb * sa + sc * ca
    r[:, 0, 2] = sc * sa - cc * sb * ca
    r[:, 1, 0] = -sc * cb
    r[:, 1, 1] = cc * ca - sc * sb * sa
    r[:, 1, 2] = sc * sb * ca + cc * sa
    r[:, 2, 0] = sb
    r[:, 2, 1] = -cb * sa
    r[:, 2, 2] = cb * ca
    return r


def rotation_xyz(angles: Tensor) -> Tensor:
    """(N, 3) angles (a, b, c) -> (N, 3, 3) Rz(c) @ Ry(b) @ Rx(a), CTR-GCN `random_rot`'s
    matrices (new xyz = R @ xyz), with Rx(a) = [[1, 0, 0], [0, cos a, sin a], [0, -sin a, cos a]],
    Ry(b) = [[cos b, 0, -sin b], [0, 1, 0], [sin b, 0, cos b]],
    Rz(c) = [[cos c, sin c, 0], [-sin c, cos c, 0], [0, 0, 1]]. Built in float64 on the CPU,
    returned in the angles' dtype and device."""
    r = rotation_np(angles.detach().to("cpu", torch.float64).numpy())
    return torch.from_numpy(r).to(angles.device, angles.dtype)


def motion(x: Tensor) -> Tensor:
    """x[t + 1] - x[t] along frames, last frame 0. (N, C, T, V, M) -> same."""
    out = torch.zeros_like(x)
    out[:, :, :-1] = x[:, :, 1:] - x[:, :, :-1]
    return out


def bones(x: Tensor, parent: tuple[int, ...]) -> Tensor:
    """Bone of joint v = joint v - joint parent[v]; a joint that is its own parent gets 0."""
    return x - x[:, :, :, list(parent)]


def skateformer_augment(
    x: Tensor,
    family: Tensor,
    inter: Tensor | None,
    ref: Tensor | None,
    *,
    augment: str,
    intra_p: float,
    g: torch.Generator | None,
    planar: bool = False,
) -> Tensor:
    """SkateFormer's training augmentation of x (N, 3, W, 25, 2): the intra-instance ops listed
    in `augment` (each p 0.5) on samples whose `family` draw is below `intra_p`; skeleton-AdaIN
    towards `ref` (N, 3, W, 25, 2) on the samples `inter` marks. Parameters are drawn for every
    sample, so the draws do not depend on which ops end up applied.

    `planar`: x holds 2-D keypoints (x, y, score). Shear, rotation and scale then act on x and
    y only (their 2x2 block; the score row and column are the identity), the axis-zeroing op
    picks among x and y, and AdaIN measures bones in x and y; the score travels with its joint
    (flip, swap, joint drop) and never mixes into a coordinate."""
    dev, size, w_ = x.device, len(x), x.shape[2]
    intra = family < intra_p  # (N,)
    flags = _rand((size, len(SKATEFORMER_AUGMENTS)), g) < 0.5
    on = {
        op: (intra & flags[:, k]) if op in augment else torch.zeros_like(intra)
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
    linear = c_mat @ r_mat @ s_mat  # shear, then rotate, then scale
    if planar:
        linear[:, 2, :] = 0.0
        linear[:, :, 2] = 0.0
        linear[:, 2, 2] = 1.0
    linear = linear.to(dev)

    swap = on["a"].to(dev)[:, None, None, None, None]
    x = torch.where(swap, x.flip(-1), x)
    x = torch.einsum("nij,njtvm->nitvm", linear, x)
    flip = on["4"].to(dev)[:, None, None, None, None]
    x = torch.where(flip, x[:, :, :, list(NTU_FLIP_PERMUTATION)], x)
    if planar:
        zero_axis = zero_axis % 2  # the same draw, among x and y
    keep_axis = ~(on["8"][:, None] & (torch.arange(3)[None, :] == zero_axis[:, None]))
    x = x * keep_axis.to(dev, x.dtype)[:, :, None, None, None]
    drop = (
        on["9"][:, None, None]
        & (frame_rank < n_frames[:, None])[:, :, None]
        & (joint_rank < n_joints[:, None])[:, None, :]
    )  # (N, W, 25)
    x = x * (~drop).to(dev, x.dtype)[:, None, :, :, None]

    if inter is not None and ref is not None:
        if planar:
            mixed = torch.cat([_adain(x[:, :2], ref[:, :2]), x[:, 2:]], dim=1)
        else:
            mixed = _adain(x, ref)
        x = torch.where(inter.to(dev)[:, None, None, None, None], mixed, x)
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

"""Samples: draw everything about the actors of a chunk, then render their joints."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from skelab.synth.bodies import (
    BONES,
    GLITCH_JOINTS,
    JOINT_SIGMA,
    NUISANCE,
    NUM_BONE_DRAWS,
    PAIRED_BONES,
    SPREAD,
    SWAY,
    VIEWS,
)
from skelab.synth.draws import Draws, actor_counts, hashed_normal, hashed_uniform, stream_key
from skelab.synth.kinematics import forward_kinematics, rot_mat
from skelab.synth.poses import (
    DOF_INDEX,
    FPS,
    MAX_LENGTH,
    MIN_FRAMES,
    MIRROR_PERM,
    MIRROR_SIGN,
    D,
)
from skelab.synth.scripts import PAIR_LAYOUTS, class_tables


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


@dataclass
class Actors:
    """Everything drawn for the persons of a chunk; one row per actor."""

    sample: np.ndarray  # (A,) row of the chunk
    person: np.ndarray  # (A,) 0 or 1
    length: np.ndarray  # (A,) valid frames
    mirror: np.ndarray  # (A,) bool, left-handed
    warp: np.ndarray  # (A,) time warp exponent
    st0: np.ndarray  # (A, K)
    sw: np.ndarray  # (A, K)
    sdelta: np.ndarray  # (A, K, D)
    base: np.ndarray  # (A, D)
    ot0: np.ndarray  # (A, O)
    ot1: np.ndarray  # (A, O)
    ohz: np.ndarray  # (A, O)
    ophase: np.ndarray  # (A, O)
    oamp: np.ndarray  # (A, O*4, D)
    sway_hz: np.ndarray  # (A, 2)
    sway_phase: np.ndarray  # (A, 2)
    sway_amp: np.ndarray  # (A, 2, D)
    scale: np.ndarray  # (A,)
    bones: dict[str, np.ndarray]  # (A,) each
    camera_rot: np.ndarray  # (A, 3, 3) body frame -> camera
    camera_shift: np.ndarray  # (A, 3)
    noise_scale: np.ndarray  # (A,)
    noise_offset: np.ndarray  # (A,) start in the noise bank
    glitch: np.ndarray  # (A, 3, 4) present, joint, start, length (uniforms)
    glitch_offset: np.ndarray  # (A, 3, 3) metres


def draw_actors(seed: int, split: int, index: np.ndarray, labels: np.ndarray, frames: int,
                 bank_size: int) -> Actors:  # fmt: skip
    """Draw everything about the persons of samples `index`. Column order is fixed."""
    t = class_tables()
    k, o = t.st0.shape[1], t.ot0.shape[1]
    dz = Draws(hashed_normal(stream_key(seed, 8 * split), index, 10 + 2 * k))
    du = Draws(hashed_uniform(stream_key(seed, 8 * split + 1), index, 16))
    n = len(labels)
    mutual = t.mutual[labels]
    length = np.clip(np.rint(t.seconds[labels] * FPS * np.exp(0.25 * dz.take())), MIN_FRAMES,
                     min(frames, MAX_LENGTH)).astype(np.int64)  # fmt: skip
    warp = np.exp(0.15 * dz.take())
    shift = NUISANCE["shift"] * dz.take()
    t_jit = NUISANCE["timing"] * dz.take(k)
    w_jit = np.exp(0.2 * dz.take(k))
    view_jit = np.deg2rad(NUISANCE["view_deg"]) * dz.take()
    gap = t.gap[labels] * np.exp(0.08 * dz.take())
    view = VIEWS[np.minimum((du.take() * len(VIEWS)).astype(int), len(VIEWS) - 1)]
    view = view + view_jit + np.where(mutual & (du.take() < 0.5), np.float32(math.pi), 0.0)
    mirror = (du.take() < 0.12) & ~mutual
    pitch = np.deg2rad(5.0 + 15.0 * du.take())
    depth = 2.8 + 0.6 * du.take()
    lateral = -0.4 + 0.8 * du.take()
    height = 1.3 + 0.5 * du.take()

    # Actors: person 1 of every sample, then person 2 of the mutual ones. Each actor's draws
    # are keyed by (sample index, person), so they do not depend on the other samples.
    sample = np.concatenate([np.arange(n), np.nonzero(mutual)[0]])
    person = np.concatenate([np.zeros(n, np.int64), np.ones(len(sample) - n, np.int64)])
    actor_id = index[sample] * 2 + person
    n_u, n_z = actor_counts()
    az = Draws(hashed_normal(stream_key(seed, 8 * split + 2), actor_id, n_z))
    au = Draws(hashed_uniform(stream_key(seed, 8 * split + 3), actor_id, n_u))
    role = 2 * labels[sample] + person
    layout = t.layout[labels[sample]]
    pair = mutual[sample]

    face = NUISANCE["facing"] * az.take()
    scale = np.clip(np.exp(0.06 * az.take()), 0.85, 1.15)
    noise_scale = np.exp(0.35 * az.take())
    bz = az.take(NUM_BONE_DRAWS)
    bones: dict[str, np.ndarray] = {}
    col = 0
    for name, metres in BONES.items():
        common = metres * scale * np.exp(0.04 * bz[:, col])
        col += 1
        if name in PAIRED_BONES:
            asym = np.exp(0.015 * bz[:, col])
            col += 1
            bones[name + "_r"], bones[name + "_l"] = common * asym, common / asym
        else:
            bones[name] = common
    bones["hip_drop"] = 0.03 * scale
    base = t.base[role] + SPREAD * az.take(D)
    step_scale = 1.0 + NUISANCE["amplitude"] * az.take(k)
    spot = NUISANCE["target"] * az.take(k * D).reshape(-1, k, D)
    sdelta = t.sdelta[role]
    sdelta = sdelta * step_scale[:, :, None] + spot * (sdelta != 0)
    ohz = t.ohz[role] * np.exp(0.15 * az.take(o))
    oamp = t.oamp[role] * np.repeat(np.exp(0.2 * az.take(o)), 4, axis=1)[:, :, None]
    sway_amp = NUISANCE["sway"] * SWAY * az.take(2 * D).reshape(-1, 2, D)
    glitch_offset = 0.07 * az.take(9).reshape(-1, 3, 3)
    noise_offset = (au.take() * (bank_size - frames * 75)).astype(np.int64)
    glitch = au.take(12).reshape(-1, 3, 4)
    ophase = 2 * np.pi * au.take(o).reshape(-1, o)
    sway_hz = 0.15 + 0.45 * au.take(2)
    sway_phase = 2 * np.pi * au.take(2)
    # Fidget: in some sequences the free (left) hand wanders to a random place and back.
    fidget = NUISANCE["fidget"] * az.take(3) * (au.take() < NUISANCE["fidget_rate"])[:, None]
    fid_t0 = 0.1 + 0.5 * au.take(1)
    fid_w = 0.08 + 0.1 * au.take(1)
    fid_hold = 0.05 + 0.25 * au.take(1)
    fid_delta = np.zeros((len(sample), 2, D), dtype=np.float32)
    hand = [DOF_INDEX["l_out"], DOF_INDEX["l_up"], DOF_INDEX["l_fwd"]]
    fid_delta[:, 0, hand], fid_delta[:, 1, hand] = fidget, -fidget
    st0 = np.concatenate([t.st0[role] + shift[sample, None] + t_jit[sample],
                          np.stack([fid_t0, fid_t0 + fid_w + fid_hold], 1)], 1)  # fmt: skip
    sw = np.concatenate([t.sw[role] * w_jit[sample], np.stack([fid_w, fid_w], 1)], 1)
    sdelta = np.concatenate([sdelta, fid_delta], 1)

    # Where each person stands and faces; then the camera, shared by the two persons.
    x_off = np.where(person == 0, -0.5, 0.5) * gap[sample] * pair
    facing = np.select(
        [~pair, layout == PAIR_LAYOUTS["face"], layout == PAIR_LAYOUTS["follow"]],
        [np.zeros_like(face), np.where(person == 0, -0.5, 0.5) * np.pi,
         np.full_like(face, -0.5 * np.pi)], 0.0,
    ) + face  # fmt: skip
    tilt = rot_mat(0, -pitch[sample])  # looking down: the feet are deeper than the head
    view_rot = rot_mat(1, view[sample])
    camera_rot = tilt @ view_rot @ rot_mat(1, facing)
    level = view_rot[:, :, 0] * x_off[:, None]
    level = level + np.stack([lateral[sample], -height[sample], depth[sample]], -1)
    camera_shift = np.matmul(tilt, level[:, :, None])[:, :, 0]

    f32 = np.float32
    return Actors(
        sample=sample, person=person, length=length[sample], mirror=mirror[sample],
        warp=warp[sample], st0=st0, sw=sw, sdelta=sdelta.astype(f32), base=base,
        ot0=t.ot0[role] + shift[sample, None], ot1=t.ot1[role] + shift[sample, None], ohz=ohz,
        ophase=ophase, oamp=oamp.astype(f32), sway_hz=sway_hz, sway_phase=sway_phase,
        sway_amp=sway_amp, scale=scale, bones=bones, camera_rot=camera_rot.astype(f32),
        camera_shift=camera_shift.astype(f32), noise_scale=noise_scale,
        noise_offset=noise_offset, glitch=glitch, glitch_offset=glitch_offset,
    )  # fmt: skip


def _dof_curves(a: Actors, rows: np.ndarray, t_len: int) -> np.ndarray:
    """DOF values (D, A, T) of some actors over their first `t_len` frames.

    Only element-wise arithmetic on (A, T) planes, no BLAS: an actor's values are then
    bit-identical whatever the group it is rendered with and however many frames that has.
    """
    frame = np.arange(t_len, dtype=np.float32)
    u = frame / (a.length[rows, None] - 1).astype(np.float32)  # (A, T), 1 at the last frame
    u = np.clip(u, 0.0, 1.0) ** a.warp[rows, None]
    q = np.repeat(a.base[rows].T[:, :, None], t_len, axis=2)  # (D, A, T)
    st0, sw, delta = a.st0[rows].T, a.sw[rows].T, a.sdelta[rows].transpose(1, 2, 0)
    for k in range(st0.shape[0]):
        moved = np.flatnonzero(delta[k].any(axis=1))  # most steps move a few DOFs
        if len(moved):
            ramp = _smoothstep((u - st0[k, :, None]) / sw[k, :, None])
            q[moved] += ramp * delta[k, moved, :, None]
    sec = frame / np.float32(FPS)
    ramp = np.float32(0.04)
    amp = a.oamp[rows].transpose(1, 2, 0)  # (O*4, D, A)
    for o in range(a.ohz.shape[1]):
        env = _smoothstep((u - a.ot0[rows, o, None]) / ramp)
        env *= _smoothstep((a.ot1[rows, o, None] - u) / ramp)
        theta = 2 * np.pi * a.ohz[rows, o, None] * sec + a.ophase[rows, o, None]
        cos = np.cos(theta)
        waves = (cos, np.sin(theta), np.maximum(cos, 0), np.maximum(-cos, 0))
        for w, wave in enumerate(waves):
            moved = np.flatnonzero(amp[4 * o + w].any(axis=1))
            if len(moved):
                q[moved] += (wave * env) * amp[4 * o + w, moved, :, None]
    for i in range(2):
        theta = 2 * np.pi * a.sway_hz[rows, i, None] * sec + a.sway_phase[rows, i, None]
        q += np.sin(theta) * a.sway_amp[rows, i].T[:, :, None]
    flip = a.mirror[rows]
    if flip.any():
        q[:, flip] = q[MIRROR_PERM][:, flip] * MIRROR_SIGN[:, None, None]
    return q


def render_actors(a: Actors, rows: np.ndarray, t_len: int, bank: np.ndarray) -> np.ndarray:
    """Camera-space joints with sensor noise and glitches, (A, t_len, 25, 3)."""
    bones = {k: v[rows] for k, v in a.bones.items()}
    j = forward_kinematics(_dof_curves(a, rows, t_len), bones, a.scale[rows])  # (25,3,A,T)
    rot, shift = a.camera_rot[rows], a.camera_shift[rows]
    x = np.empty((len(rows), t_len, 25, 3), dtype=np.float32)
    for i in range(3):  # (25, A, T) planes -> (A, T, 25)
        plane = rot[:, i, 0, None] * j[:, 0] + rot[:, i, 1, None] * j[:, 1]
        plane += rot[:, i, 2, None] * j[:, 2] + shift[:, i, None]
        x[..., i] = plane.transpose(1, 2, 0)
    windows = np.lib.stride_tricks.sliding_window_view(bank, t_len * 75)[a.noise_offset[rows]]
    sigma = JOINT_SIGMA[:, None] * np.array([1.0, 1.0, 1.5], np.float32)  # (25, 3)
    x += windows.reshape(x.shape) * (sigma * a.noise_scale[rows, None, None, None])
    g = a.glitch[rows]
    present = g[..., 0] < 0.2  # (A, 3): about one glitch in two sequences
    pick = np.minimum((g[..., 1] * len(GLITCH_JOINTS)).astype(int), len(GLITCH_JOINTS) - 1)
    joint = GLITCH_JOINTS[pick]
    start = (g[..., 2] * a.length[rows, None]).astype(int)
    span = 1 + (g[..., 3] * 6).astype(int)
    for slot in range(g.shape[1]):
        for offset in range(6):
            f = start[:, slot] + offset
            hit = np.nonzero(present[:, slot] & (offset < span[:, slot]) & (f < t_len))[0]
            x[hit, f[hit], joint[hit, slot]] += a.glitch_offset[rows[hit], slot]
    return x

"""Kinematics, vectorised over actors A and frames T.

Vectors are (3, A, T) and rotations (3, 3, A, T), so every arithmetic step runs on contiguous
(A, T) planes. Body frame: y up, the person faces -z and their right is +x (facing the camera,
the left shoulder is at negative x, as in Kinect camera space).
"""

from __future__ import annotations

import numpy as np

from skelab.synth.poses import DOFS


def _yaw(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    r = np.zeros((3, 3, *a.shape), dtype=a.dtype)
    r[0, 0], r[0, 2], r[1, 1], r[2, 0], r[2, 2] = c, s, 1.0, -s, c
    return r


def _then_x(r: np.ndarray, a: np.ndarray) -> np.ndarray:
    """r @ Rx(a)."""
    c, s = np.cos(a), np.sin(a)
    return np.stack([r[:, 0], r[:, 1] * c + r[:, 2] * s, r[:, 2] * c - r[:, 1] * s], 1)


def _then_y(r: np.ndarray, a: np.ndarray) -> np.ndarray:
    """r @ Ry(a)."""
    c, s = np.cos(a), np.sin(a)
    return np.stack([r[:, 0] * c - r[:, 2] * s, r[:, 1], r[:, 0] * s + r[:, 2] * c], 1)


def _then_z(r: np.ndarray, a: np.ndarray) -> np.ndarray:
    """r @ Rz(a)."""
    c, s = np.cos(a), np.sin(a)
    return np.stack([r[:, 0] * c + r[:, 1] * s, r[:, 1] * c - r[:, 0] * s, r[:, 2]], 1)


def _mv(r: np.ndarray, v: np.ndarray) -> np.ndarray:
    """r (3, 3, A, T) times v (3, A, T or 1)."""
    return r[:, 0] * v[0] + r[:, 1] * v[1] + r[:, 2] * v[2]


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.sqrt(_dot(v, v)), 1e-6)


def _two_bone(root, target, l1, l2, pole):  # noqa: ANN001, ANN202
    """Analytic two-bone IK: (middle joint, end joint, unit bend side). Unreachable targets
    are clamped, so both bone lengths are exact in every frame."""
    d = target - root
    dist = np.sqrt(_dot(d, d))
    dhat = d / np.maximum(dist, 1e-6)
    dist = np.clip(dist, np.abs(l1 - l2) + 0.02, (l1 + l2) * 0.999)
    cos_a = np.clip((l1 * l1 + dist * dist - l2 * l2) / (2 * l1 * dist), -1.0, 1.0)
    side = _unit(pole - _dot(pole, dhat) * dhat)
    mid = root + l1 * (cos_a * dhat + np.sqrt(1 - cos_a * cos_a) * side)
    return mid, root + dist * dhat, side


def _hand(elbow, wrist, side, wf, roll, lengths, sign):  # noqa: ANN001, ANN202
    """Hand, hand tip and thumb from the forearm, wrist flexion and hand roll."""
    l_hand, l_thumb, l_tip = lengths
    f = _unit(wrist - elbow)
    n = _unit(_dot(side, f) * f - side)  # the inside of the elbow
    cw, sw = np.cos(wf), np.sin(wf)
    hd = f * cw + n * sw
    n2 = n * cw - f * sw
    m = np.cross(hd, n2, axis=0) * sign
    cr, sr = np.cos(roll), np.sin(roll)
    hand = wrist + l_hand * hd
    thumb = hand + l_thumb * (0.6 * hd + 0.8 * (cr * n2 + sr * m))
    return hand, hand + l_tip * hd, thumb


def forward_kinematics(q: np.ndarray, bones: dict[str, np.ndarray],
                        scale: np.ndarray) -> np.ndarray:  # fmt: skip
    """Joints (25, 3, A, T) of persons in their own frames, from DOFs q (D, A, T)."""
    g = dict(zip(DOFS, q, strict=True))
    b = {k: v[:, None] for k, v in bones.items()}  # (A, 1): broadcasts over (3, A, T)
    s = scale[:, None]

    def const(x: object, y: object, z: object) -> np.ndarray:  # (3, A, 1)
        return np.stack(np.broadcast_arrays(*(np.asarray(v, np.float32) for v in (x, y, z)),
                                            s))[:3]  # fmt: skip

    stand = (
        b["hip_drop"]
        + b["ankle_h"]
        + 0.985 * np.minimum(b["thigh_r"] + b["shin_r"], b["thigh_l"] + b["shin_l"])
    )
    zero = np.zeros_like(g["pf"])
    pelvis = np.stack([g["pl"], stand + g["py"] * s, -g["pf"]])
    r_pel = _yaw(g["yaw"])
    r_low = _then_z(_then_x(r_pel, -0.5 * g["bend"]), -0.5 * g["side"])
    r_trunk = _then_y(_then_z(_then_x(r_pel, -g["bend"]), -g["side"]), g["twist"])
    r_head = _then_z(_then_y(_then_x(r_trunk, -g["nod"]), g["turn"]), -g["tilt"])

    j: list[np.ndarray] = [pelvis] * 25
    j[1] = pelvis + _mv(r_low, const(0.0, b["spine_low"], 0.0))
    j[20] = j[1] + _mv(r_trunk, const(0.0, b["spine_up"], 0.0))
    j[2] = j[20] + _mv(r_trunk, const(0.0, b["neck"], 0.0))
    j[3] = j[2] + _mv(r_head, const(0.0, b["head"], -0.015 * s))
    arms = ((1.0, 8, 9, 10, 11, 23, 24, "r"), (-1.0, 4, 5, 6, 7, 21, 22, "l"))
    for sign, sh, el, wr, ha, tip, th, p in arms:
        j[sh] = j[20] + _mv(r_trunk, const(sign * b["shoulder"], -0.02 * s, 0.0))
        local = np.stack([sign * g[p + "_out"] * s, g[p + "_up"] * s, -g[p + "_fwd"] * s])
        pole = _mv(r_trunk, const(0.35 * sign, -1.0, 0.45))
        j[el], j[wr], bend_side = _two_bone(
            j[sh], j[20] + _mv(r_trunk, local), b["upper_arm_" + p], b["forearm_" + p], pole
        )
        j[ha], j[tip], j[th] = _hand(
            j[el], j[wr], bend_side, g[p + "_wf"], g[p + "_roll"],
            (b["hand"], b["thumb"], b["tip"]), sign,
        )  # fmt: skip
    ground = np.stack([g["pl"], zero, -g["pf"]])
    heel_dir = _unit(_mv(r_pel, const(0.0, 0.3, -1.0)))
    legs = ((1.0, 16, 17, 18, 19, "rf", "r"), (-1.0, 12, 13, 14, 15, "lf", "l"))
    for sign, hip, knee, ankle, foot, p, side in legs:
        j[hip] = pelvis + _mv(r_pel, const(sign * b["hip"], -b["hip_drop"], 0.0))
        local = np.stack([sign * (b["hip"] + g[p + "_out"] * s), zero, -g[p + "_fwd"] * s])
        target = ground + _mv(r_pel, local)
        target[1] += b["ankle_h"] + g[p + "_up"] * s
        pole = _mv(r_pel, const(0.1 * sign, 0.25, -1.0))
        j[knee], j[ankle], _ = _two_bone(
            j[hip], target, b["thigh_" + side], b["shin_" + side], pole
        )
        shin = _unit(j[ankle] - j[knee])
        j[foot] = j[ankle] + b["foot"] * _unit(heel_dir - _dot(heel_dir, shin) * shin)
    return np.stack(j)


def rot_mat(axis: int, a: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotations about x (0) or y (1), for the per-actor camera maths."""
    c, s = np.cos(a), np.sin(a)
    r = np.zeros((*a.shape, 3, 3), dtype=np.float64)
    i, k = (1, 2) if axis == 0 else (2, 0)
    r[..., axis, axis] = 1.0
    r[..., i, i], r[..., i, k], r[..., k, i], r[..., k, k] = c, -s, s, c
    return r

"""Degrees of freedom of one synthetic person, the spots hands and feet reach for, and the
generation limits (frame rate, class count, lengths)."""

from __future__ import annotations

import numpy as np

FPS = 30.0
MAX_CLASSES = 120
MIN_FRAMES = 30
MAX_LENGTH = 300  # the longest NTU sequence; longer `frames` only add padding

# --------------------------------------------------------------------------------------------
# Degrees of freedom of one person. Hands and feet are targets (out, up, fwd) in metres for a
# subject of scale 1: "out" points to that limb's own side, so a script is written once and
# reads the same for the left and the right limb. Angles are radians.

DOFS: tuple[str, ...] = (
    "pf", "pl", "py", "yaw",          # pelvis: forward, lateral (to the right), height, heading
    "bend", "side", "twist",          # trunk: forward bend, lean to the right, twist to the left
    "nod", "turn", "tilt",            # head: look down, turn left, tilt right
    "r_out", "r_up", "r_fwd",         # right wrist target, trunk frame, from spine-shoulder
    "l_out", "l_up", "l_fwd",         # left wrist target
    "r_wf", "r_roll", "l_wf", "l_roll",  # wrist flexion and hand roll
    "rf_out", "rf_up", "rf_fwd",      # right ankle target, pelvis frame, from standing place
    "lf_out", "lf_up", "lf_fwd",      # left ankle target
)  # fmt: skip
D = len(DOFS)
DOF_INDEX = {name: i for i, name in enumerate(DOFS)}
LIMB_PREFIX = {"r": "r_", "l": "l_", "rf": "rf_", "lf": "lf_"}

# Left-handed performers: swap the limbs, negate the lateral and rotational DOFs.
MIRROR_PERM = np.arange(D)
_SWAPS = [(a + c, b + c) for a, b in (("r_", "l_"), ("rf_", "lf_")) for c in ("out", "up", "fwd")]
_SWAPS += [("r_" + c, "l_" + c) for c in ("wf", "roll")]
for _r, _l in _SWAPS:
    MIRROR_PERM[DOF_INDEX[_r]], MIRROR_PERM[DOF_INDEX[_l]] = DOF_INDEX[_l], DOF_INDEX[_r]
MIRROR_SIGN = np.ones(D, dtype=np.float32)
for _c in ("pl", "yaw", "side", "twist", "turn", "tilt"):
    MIRROR_SIGN[DOF_INDEX[_c]] = -1.0

# Wrist targets (out, up, fwd) from joint 21 in the trunk frame, for a subject of scale 1.
SPOTS: dict[str, tuple[float, float, float]] = {
    "rest": (0.20, -0.50, 0.03),
    "hip": (0.26, -0.40, -0.04),
    "pocket": (0.22, -0.50, -0.02),
    "lap": (0.16, -0.42, 0.24),
    "mouth": (0.04, -0.02, 0.20),
    "nose": (0.02, 0.03, 0.20),
    "eyes": (0.07, 0.07, 0.17),
    "temple": (0.11, 0.09, 0.10),
    "forehead": (0.05, 0.13, 0.16),
    "head_top": (0.10, 0.27, 0.02),
    "ear": (0.15, 0.06, 0.04),
    "neck": (0.08, 0.00, -0.04),
    "chest": (0.03, -0.15, 0.20),
    "belly": (0.04, -0.33, 0.20),
    "back": (0.10, -0.42, -0.18),
    "low": (0.14, -0.35, 0.30),
    "mid": (0.10, -0.20, 0.35),
    "center": (0.02, -0.18, 0.32),
    "reach": (0.14, 0.00, 0.48),
    "reach_low": (0.12, -0.25, 0.45),
    "up": (0.22, 0.46, 0.04),
    "side": (0.62, -0.04, 0.02),
    "wave": (0.38, 0.22, 0.10),
    "cross": (-0.10, -0.16, 0.16),
    "shoulder_other": (-0.14, 0.00, 0.08),
    "hang": (0.15, -0.30, 0.45),
}
# Ankle targets (out, up, fwd) from the standing place under the hip, pelvis frame.
FOOT_SPOTS: dict[str, tuple[float, float, float]] = {
    "stand": (0.0, 0.0, 0.0),
    "knee_up": (0.0, 0.35, 0.15),
    "kick": (0.0, 0.45, 0.55),
    "heel_up": (0.0, 0.40, -0.28),
    "side_kick": (0.50, 0.35, 0.0),
    "step": (0.0, 0.0, 0.35),
    "seated": (0.0, 0.0, 0.32),
    "kneel": (0.0, 0.0, -0.38),
}

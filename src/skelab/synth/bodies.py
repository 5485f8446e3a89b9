"""Bodies, sensor noise and per-sample spread of the synthetic persons.

Bone lengths are medians of real NTU recordings (joint-to-parent distances, metres), rounded.
"""

from __future__ import annotations

import numpy as np

BONES: dict[str, float] = {
    "spine_low": 0.27,  # joint 1 -> 2
    "spine_up": 0.205,  # joint 2 -> 21
    "neck": 0.068,  # 21 -> 3
    "head": 0.125,  # 3 -> 4
    "shoulder": 0.16,  # 21 -> 5 / 9
    "upper_arm": 0.255,  # 5 -> 6
    "forearm": 0.23,  # 6 -> 7
    "hand": 0.065,  # 7 -> 8
    "thumb": 0.045,  # 8 -> 23
    "tip": 0.075,  # 8 -> 22 along the hand
    "hip": 0.075,  # 1 -> 13 / 17
    "thigh": 0.33,  # 13 -> 14
    "shin": 0.34,  # 14 -> 15
    "foot": 0.11,  # 15 -> 16
    "ankle_h": 0.07,  # ankle height above the floor
}
PAIRED_BONES = ("upper_arm", "forearm", "thigh", "shin")
# one more draw for the left-right asymmetry of each pair
NUM_BONE_DRAWS = len(BONES) + len(PAIRED_BONES)

# Sensor noise, metres (x, y; z is 1.5x): trunk steady, hands and feet worse, hand tips worst.
JOINT_SIGMA = np.array(
    [3, 3, 4, 5, 5, 7, 10, 12, 5, 7, 10, 12, 4, 6, 8, 10, 4, 6, 8, 10, 3, 18, 16, 18, 16],
    dtype=np.float32,
) * 1e-3  # fmt: skip
GLITCH_JOINTS = np.array([3, 6, 7, 10, 11, 14, 15, 18, 19, 21, 22, 23, 24])

# Idle sway and per-sample pose spread, per DOF.
SWAY = np.array(
    [0.01, 0.01, 0.004, 0.03, 0.03, 0.02, 0.03, 0.05, 0.06, 0.03]
    + [0.015] * 6 + [0.1] * 4 + [0.004] * 6, dtype=np.float32,
)  # fmt: skip
SPREAD = np.array(
    [0.0, 0.0, 0.0, 0.05, 0.05, 0.03, 0.05, 0.08, 0.08, 0.04]
    + [0.025] * 6 + [0.15] * 4 + [0.02] * 6, dtype=np.float32,
)  # fmt: skip

# Per-sample spread, tuned so that a small MLP on resampled coordinates lands well below 100%:
# normalised-time jitter of each step and of the whole script, viewpoint (degrees) and facing
# (radians) jitter, relative amplitude spread, target offsets (metres), idle sway (x SWAY), and
# how often and how far (metres) the free hand fidgets.
NUISANCE = {"timing": 0.04, "shift": 0.06, "view_deg": 10.0, "facing": 0.2, "amplitude": 0.2,
             "target": 0.04, "sway": 1.5, "fidget": 0.12, "fidget_rate": 0.3}  # fmt: skip

VIEWS = np.deg2rad([0.0, 0.0, 45.0, -45.0, 90.0, -90.0]).astype(np.float32)

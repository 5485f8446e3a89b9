"""Synthetic NTU-like skeleton data: the built-in data set the demo and the tests run on.

Not a reproduction of anything upstream: NTU RGB+D itself cannot be shipped, so skelab makes a
stand-in with the same layout and the same kind of content. Facts taken from NTU RGB+D
(Shahroudy et al., CVPR 2016; Liu et al., TPAMI 2020) and from CTR-GCN's
`data/ntu/seq_transformation.py` (github.com/Uason-Chen/CTR-GCN), as summarised in
`reference/ntu-data.md` sections 1, 2 and 4.4-4.6:

* 25 Kinect v2 joints with NTU's topology (`skelab.skeletons.NTU_INWARD`), in metres, in a
  camera frame with y up and z the depth (2.5-4 m before centring); bone lengths are drawn
  around the medians of real recordings, scaled per subject.
* A1-A120 class names; the mutual classes (`NTU60_MUTUAL`, `NTU120_MUTUAL`) have two persons,
  the others a second person of exact zeros (the NTU60 NPZ convention).
* Cameras at relative yaws 0, +-45 and +-90 degrees (three cameras, performer facing the left or
  the right one), pitched down 5-20 degrees, 30 frames per second.
* The Kaggle / CTR-GCN NPZ layout: `x_*` (N, T, 150) float32 with column 75*m + 3*(j-1) + c,
  one translation per sequence so that actor 1's joint 2 is the origin in frame 0, zero padding
  after the valid frames, `y_*` one-hot.

Differences from the real NPZ: `y_*` is float32 (upstream writes float64); every frame in
0..length-1 holds both persons of a mutual sample (no dropped tracks); sample order is a balanced
shuffle of classes, not performer order.

How a sample is made. Each class is a short animation script (`_Person.to` moves some degrees
of freedom to new values over a span of normalised time, `_Person.osc` adds a periodic motion),
written from a small set of primitives: hand targets near body parts, trunk bend and twist, head
nod and turn, feet targets, pelvis height and walking. Related classes share primitives (hand to
mouth: drink, eat, brush teeth, hush; wear vs take off: the same moves in reverse), so some are
confusable. A script compiles to tables of steps and oscillators; a sample draws per-subject
bone lengths, speed, duration (30-300 frames), timing, amplitude, target offsets, idle sway, a
fidgeting free hand, left-handedness (12% of one-person samples), viewpoint and sensor noise
(temporally correlated jitter, worst at hand tips, and occasional joint glitches), then runs
vectorised two-bone inverse kinematics for arms and legs.

Determinism: sample i of a split depends only on (seed, split, i, num_classes, frames). Its
random numbers come from a counter-based hash (the splitmix64 finaliser) of (seed, split, i,
draw number), its sensor noise is a window of a bank drawn once per seed with numpy's Philox,
and all per-frame maths is element-wise (no BLAS, whose rounding can depend on shapes). So any
chunking or batch order gives byte-identical arrays, and the first k samples of a larger set
equal a set of k samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from skelab.errors import ConfigError
from skelab.skeletons import NTU120_MUTUAL

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
_IDX = {name: i for i, name in enumerate(DOFS)}
_LIMBS = {"r": "r_", "l": "l_", "rf": "rf_", "lf": "lf_"}

# Left-handed performers: swap the limbs, negate the lateral and rotational DOFs.
_MIRROR_PERM = np.arange(D)
for _a, _b in (("r_", "l_"), ("rf_", "lf_")):
    for _c in ("out", "up", "fwd"):
        _MIRROR_PERM[_IDX[_a + _c]], _MIRROR_PERM[_IDX[_b + _c]] = _IDX[_b + _c], _IDX[_a + _c]
for _c in ("wf", "roll"):
    _MIRROR_PERM[_IDX["r_" + _c]], _MIRROR_PERM[_IDX["l_" + _c]] = _IDX["l_" + _c], _IDX["r_" + _c]
_MIRROR_SIGN = np.ones(D, dtype=np.float32)
for _c in ("pl", "yaw", "side", "twist", "turn", "tilt"):
    _MIRROR_SIGN[_IDX[_c]] = -1.0

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


# --------------------------------------------------------------------------------------------
# Class scripts


def _assign(pose: np.ndarray, dofs: dict[str, object]) -> None:
    """Write named DOF values into `pose`; limbs take a spot name or an (out, up, fwd) triple."""
    for key, value in dofs.items():
        if key in ("both", "feet"):
            _assign(pose, {("r" if key == "both" else "rf"): value})
            _assign(pose, {("l" if key == "both" else "lf"): value})
        elif key in _LIMBS:
            table = FOOT_SPOTS if key in ("rf", "lf") else SPOTS
            triple = table[value] if isinstance(value, str) else value
            for c, v in zip(("out", "up", "fwd"), triple, strict=True):
                pose[_IDX[_LIMBS[key] + c]] = v
        else:
            pose[_IDX[key]] = float(value)  # type: ignore[arg-type]


@dataclass
class _Person:
    """One person's script: steps (move DOFs over [t0, t1]) and oscillators."""

    posture: str = "stand"
    base: np.ndarray = field(init=False)
    cur: np.ndarray = field(init=False)
    steps: list[tuple[float, float, np.ndarray]] = field(default_factory=list)
    oscs: list[tuple[float, float, float, np.ndarray]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.base = np.zeros(D, dtype=np.float64)
        _assign(self.base, {"both": "rest", "feet": "stand"})
        if self.posture == "sit":  # on a chair: pelvis lower, feet forward, hands on the lap
            _assign(self.base, {"py": -0.28, "feet": "seated", "both": "lap"})
        self.cur = self.base.copy()

    def to(self, t0: float, t1: float, **dofs: object) -> _Person:
        """Move the named DOFs from their current values to new ones during [t0, t1]."""
        new = self.cur.copy()
        _assign(new, dofs)
        self.steps.append((t0, t1, new - self.cur))
        self.cur = new
        return self

    def osc(self, t0: float, t1: float, hz: float, **waves: dict[str, object]) -> _Person:
        """Periodic motion during [t0, t1]; `cos`, `sin`, `pos` (cos > 0), `neg` (cos < 0)."""
        amp = np.zeros((4, D), dtype=np.float64)
        for row, kind in enumerate(("cos", "sin", "pos", "neg")):
            _assign(amp[row], waves.pop(kind, {}))
        assert not waves, f"unknown wave kinds {sorted(waves)}"
        self.oscs.append((t0, t1, hz, amp))
        return self

    def walk(self, t0: float, t1: float, hz: float = 0.9, stride: float = 0.2,
             lift: float = 0.1, arms: float = 0.1) -> _Person:  # fmt: skip
        """Alternating steps: the foot swinging forward is lifted, the arms swing in counter."""
        return self.osc(
            t0, t1, hz,
            sin={"rf_fwd": stride, "lf_fwd": -stride, "r_fwd": -arms, "l_fwd": arms},
            pos={"rf_up": lift}, neg={"lf_up": lift},
        )  # fmt: skip


@dataclass
class _Action:
    """A class: duration in seconds, the actor's script, the partner's and their layout."""

    seconds: float
    a: _Person
    b: _Person | None = None
    layout: str = "face"  # face: facing each other; follow: b ahead, same heading; beside
    gap: float = 1.0  # metres between the two pelvises at the start


def _p(posture: str = "stand") -> _Person:
    return _Person(posture)


def _pair(seconds: float, a: _Person, b: _Person, gap: float, layout: str = "face") -> _Action:
    return _Action(seconds, a, b, layout, gap)


# fmt: off
def _scripts() -> list[_Action]:
    """The 120 class scripts, in class order (A1..A120); times are shares of the duration."""
    s: list[_Action] = []
    add = s.append
    # A1-A10
    add(_Action(3.0, _p().to(.15, .35, r="mouth").to(.35, .45, nod=-0.25, r_up=0.03)
                .to(.65, .75, nod=0.0, r_up=-0.02).to(.78, .95, r="rest")))  # drink water
    add(_Action(4.0, _p().to(.10, .22, r="low", nod=0.2).to(.24, .34, r="mouth")
                .to(.38, .48, r="low").to(.52, .62, r="mouth").to(.66, .76, r="low")
                .to(.85, .95, r="rest", nod=0.0)))  # eat meal/snack
    add(_Action(4.5, _p().to(.10, .25, r=(0.02, -0.01, 0.17))
                .osc(.25, .80, 3.0, cos={"r_out": 0.04, "r_up": 0.01})
                .to(.82, .95, r="rest")))  # brushing teeth
    add(_Action(4.5, _p().to(.10, .25, r=(0.10, 0.22, 0.08), tilt=0.15)
                .osc(.25, .80, 1.4, cos={"r_fwd": 0.09}, pos={"r_up": 0.03})
                .to(.82, .95, r="rest", tilt=0.0)))  # brushing hair
    add(_Action(2.5, _p().to(.05, .30, r="mid", nod=0.3).to(.45, .50, r="rest")
                .to(.50, .70, nod=0.5).to(.80, .95, nod=0.0)))  # drop
    add(_Action(3.5, _p().to(.10, .40, bend=1.0, py=-0.12, r="hang", nod=0.3)
                .to(.45, .75, bend=0.0, py=0.0, r="mid", nod=0.1)))  # pickup
    add(_Action(3.0, _p().to(.15, .40, r=(0.30, 0.22, -0.22), twist=-0.4, l="mid")
                .to(.45, .55, r=(0.10, 0.25, 0.50), twist=0.35, bend=0.2)
                .to(.65, .90, r="rest", l="rest", twist=0.0, bend=0.0)))  # throw
    add(_Action(3.5, _p().to(.15, .45, bend=0.45, py=-0.10, feet="seated", both="low")
                .to(.45, .75, bend=0.05, py=-0.28, both="lap")))  # sitting down
    add(_Action(3.5, _p("sit").to(.15, .45, bend=0.45, py=-0.12, both="low")
                .to(.45, .75, bend=0.0, py=0.0, feet="stand", both="rest")))  # standing up
    add(_Action(3.0, _p().to(.10, .25, both=(0.10, -0.12, 0.30))
                .osc(.25, .85, 2.4, cos={"r_out": 0.09, "l_out": 0.09})
                .to(.85, .97, both="rest")))  # clapping
    # A11-A20
    add(_Action(5.0, _p().to(.10, .25, both=(0.10, -0.25, 0.30), nod=0.35, r_wf=0.4, l_wf=0.4)
                .to(.50, .58, r=(-0.02, -0.20, 0.32)).to(.58, .66, r=(0.10, -0.25, 0.30))
                .to(.88, .97, both="rest", nod=0.0, r_wf=0.0, l_wf=0.0)))  # reading
    add(_Action(5.0, _p().to(.10, .25, l=(0.05, -0.30, 0.30), r=(0.05, -0.26, 0.32), nod=0.45)
                .osc(.25, .85, 2.0, cos={"r_out": 0.035}, sin={"r_fwd": 0.015})
                .to(.87, .97, both="rest", nod=0.0)))  # writing
    add(_Action(4.0, _p().to(.10, .25, both=(0.03, -0.20, 0.32), nod=0.25)
                .osc(.25, .80, 1.2, cos={"r_fwd": 0.07, "l_fwd": -0.07, "r_up": 0.04})
                .to(.82, .95, both="rest", nod=0.0)))  # tear up paper
    add(_Action(7.0, _p().to(.05, .20, r=(0.18, 0.12, -0.12), l="back", twist=0.35)
                .to(.25, .40, l=(0.35, -0.10, -0.05), twist=-0.25, r="shoulder_other")
                .to(.45, .60, both=(0.05, 0.05, 0.12), twist=0.0)
                .to(.65, .80, both=(0.04, -0.30, 0.18)).to(.85, .97, both="rest")))  # wear jacket
    add(_Action(6.5, _p().to(.05, .20, both=(0.05, 0.05, 0.12))
                .to(.25, .40, r=(-0.10, 0.05, -0.05), twist=0.4, l="back")
                .to(.45, .60, r="back", l=(0.30, -0.05, -0.10), twist=-0.35)
                .to(.65, .80, twist=0.0, l="mid", r="rest")
                .to(.85, .97, l="rest")))  # take off jacket
    add(_Action(6.0, _p().to(.05, .25, bend=0.9, py=-0.10, both=(0.05, -0.40, 0.40),
                             lf=(0.05, 0.25, 0.25), nod=0.3)
                .osc(.25, .65, 1.0, cos={"r_up": 0.05, "l_up": 0.05})
                .to(.70, .90, bend=0.0, py=0.0, lf="stand", both="rest", nod=0.0)))  # wear shoe
    add(_Action(5.0, _p().to(.05, .25, bend=0.9, py=-0.10, both=(0.05, -0.45, 0.40),
                             lf=(0.05, 0.25, 0.25), nod=0.3)
                .to(.35, .55, r=(0.20, -0.30, 0.55), l=(0.10, -0.35, 0.50))
                .to(.70, .90, bend=0.0, py=0.0, lf="stand", both="rest",
                    nod=0.0)))  # take off a shoe
    add(_Action(3.5, _p().to(.10, .30, both=(0.10, -0.05, 0.30)).to(.30, .50, both="temple")
                .to(.52, .60, both=(0.12, 0.09, 0.04))
                .to(.70, .90, both="rest")))  # wear on glasses
    add(_Action(3.5, _p().to(.10, .30, both="temple").to(.35, .55, both=(0.10, -0.05, 0.30))
                .to(.70, .90, both="rest")))  # take off glasses
    add(_Action(3.5, _p().to(.10, .30, both=(0.10, 0.10, 0.30)).to(.32, .52, both="head_top")
                .to(.55, .62, both=(0.12, 0.24, 0.0))
                .to(.70, .90, both="rest")))  # put on a hat/cap
    # A21-A30
    add(_Action(3.5, _p().to(.10, .30, both="head_top").to(.35, .55, both=(0.10, 0.10, 0.32))
                .to(.70, .90, both="rest")))  # take off a hat/cap
    add(_Action(3.0, _p().to(.10, .25, both=(0.35, 0.38, 0.10), nod=-0.2)
                .osc(.25, .80, 2.0, pos={"r_up": 0.08, "l_up": 0.08, "py": 0.04})
                .to(.82, .95, both="rest", nod=0.0)))  # cheer up
    add(_Action(3.0, _p().to(.10, .25, r="wave").osc(.25, .80, 2.0, cos={"r_out": 0.12})
                .to(.82, .95, r="rest")))  # hand waving
    add(_Action(2.5, _p().to(.15, .35, rf=(0.0, 0.10, -0.25), l=(0.30, -0.30, 0.10))
                .to(.40, .50, rf="kick", bend=-0.15)
                .to(.55, .75, rf="stand", bend=0.0, l="rest")))  # kicking something
    add(_Action(3.0, _p().to(.15, .40, r="pocket", nod=0.2)
                .osc(.40, .65, 2.0, cos={"r_up": 0.03})
                .to(.70, .92, r="rest", nod=0.0)))  # reach into pocket
    add(_Action(3.5, _p().to(.05, .20, lf=(0.0, 0.25, -0.15), both=(0.30, -0.35, 0.10))
                .osc(.20, .85, 2.0, pos={"py": 0.10, "rf_up": 0.10})
                .to(.87, .97, lf="stand", both="rest")))  # hopping (one foot jumping)
    add(_Action(2.5, _p().to(.10, .35, py=-0.18, bend=0.35, both=(0.25, -0.45, -0.15))
                .to(.38, .48, py=0.22, bend=0.0, feet=(0.0, 0.22, 0.0), both="up")
                .to(.50, .62, py=-0.10, feet="stand", both=(0.25, -0.30, 0.20))
                .to(.65, .85, py=0.0, both="rest")))  # jump up
    add(_Action(5.0, _p().to(.10, .25, r="ear", tilt=0.15)
                .osc(.25, .85, 0.5, cos={"turn": 0.15, "nod": 0.08})
                .to(.87, .97, r="rest", tilt=0.0)))  # make a phone call
    add(_Action(5.0, _p().to(.10, .25, both=(0.05, -0.20, 0.28), nod=0.45)
                .osc(.25, .85, 3.0, cos={"r_wf": 0.25}, sin={"l_wf": 0.15})
                .to(.87, .97, both="rest", nod=0.0)))  # playing with phone/tablet
    add(_Action(5.0, _p().to(.10, .25, both=(0.18, -0.30, 0.35), nod=0.4, bend=0.15)
                .osc(.25, .85, 5.0, cos={"r_up": 0.015, "l_up": -0.015}, sin={"r_out": 0.02})
                .to(.87, .97, both="rest", nod=0.0, bend=0.0)))  # typing on a keyboard
    # A31-A40
    add(_Action(3.0, _p().to(.15, .30, r=(0.18, 0.12, 0.48), r_wf=-0.2, turn=-0.1)
                .to(.70, .88, r="rest", r_wf=0.0, turn=0.0)))  # pointing to something
    add(_Action(4.0, _p().to(.10, .30, r=(0.12, 0.28, 0.40), nod=-0.15, tilt=0.15, r_roll=1.2)
                .osc(.35, .70, 0.8, cos={"tilt": 0.1})
                .to(.80, .95, r="rest", nod=0.0, tilt=0.0, r_roll=0.0)))  # taking a selfie
    add(_Action(3.0, _p().to(.15, .35, l=(0.0, -0.10, 0.28), r=(0.15, -0.25, 0.20), nod=0.4,
                             l_roll=1.3)
                .to(.70, .90, both="rest", nod=0.0, l_roll=0.0)))  # check time (from watch)
    add(_Action(3.5, _p().to(.10, .25, both=(0.02, -0.20, 0.30))
                .osc(.25, .80, 3.0, cos={"r_fwd": 0.035, "l_fwd": -0.035})
                .to(.82, .95, both="rest")))  # rub two hands together
    add(_Action(3.0, _p().to(.15, .40, bend=0.55, nod=0.35)
                .to(.45, .70, bend=0.0, nod=0.0)))  # nod head/bow
    add(_Action(3.0, _p().osc(.15, .80, 1.8, cos={"turn": 0.40})))  # shake head
    add(_Action(3.5, _p().to(.10, .25, both=(0.05, 0.05, 0.20))
                .osc(.25, .75, 1.3, cos={"r_up": 0.06, "l_up": 0.06},
                     sin={"r_out": 0.03, "l_out": 0.03})
                .to(.80, .95, both="rest")))  # wipe face
    add(_Action(2.5, _p().to(.15, .30, r=(0.10, 0.14, 0.14), r_roll=1.4, r_wf=0.3)
                .to(.65, .80, r="rest", r_roll=0.0, r_wf=0.0)))  # salute
    add(_Action(3.5, _p().to(.15, .35, both=(0.0, -0.06, 0.22), nod=0.2, r_roll=1.5, l_roll=1.5)
                .to(.75, .92, both="rest", nod=0.0, r_roll=0.0,
                    l_roll=0.0)))  # put the palms together
    add(_Action(3.0, _p().to(.15, .30, both=(-0.06, -0.05, 0.36))
                .to(.70, .88, both="rest")))  # cross hands in front (say stop)
    # A41-A49
    add(_Action(2.5, _p().to(.20, .32, r="mouth").to(.35, .42, bend=0.35, nod=0.3)
                .to(.45, .60, bend=0.05, nod=0.05)
                .to(.70, .90, r="rest", bend=0.0, nod=0.0)))  # sneeze/cough
    add(_Action(4.0, _p().to(.10, .85, pf=0.6, both=(0.38, -0.30, 0.05))
                .walk(.10, .85, hz=0.8, stride=0.15)
                .osc(.10, .85, 0.6, cos={"pl": 0.12, "side": 0.15, "turn": 0.2})
                .to(.85, .95, both="rest")))  # staggering
    add(_Action(3.0, _p().to(.10, .35, py=-0.25, bend=0.5, feet=(0.0, 0.0, -0.10))
                .to(.35, .60, py=-0.48, bend=1.2, feet="kneel", both="hang",
                    nod=0.3)))  # falling
    add(_Action(4.0, _p().to(.10, .30, r="forehead", nod=0.25)
                .osc(.30, .80, 1.0, cos={"r_out": 0.02})
                .to(.82, .95, r="rest", nod=0.0)))  # touch head (headache)
    add(_Action(4.0, _p().to(.10, .30, r="chest", bend=0.25, nod=0.15)
                .to(.82, .95, r="rest", bend=0.0, nod=0.0)))  # touch chest
    add(_Action(4.0, _p().to(.10, .30, r="back", bend=0.15, side=-0.12)
                .to(.82, .95, r="rest", bend=0.0, side=0.0)))  # touch back (backache)
    add(_Action(4.0, _p().to(.10, .30, r="neck", nod=-0.15, tilt=-0.15)
                .osc(.30, .80, 1.2, cos={"r_up": 0.02})
                .to(.82, .95, r="rest", nod=0.0, tilt=0.0)))  # touch neck (neckache)
    add(_Action(4.0, _p().to(.10, .30, bend=0.65, py=-0.06, r="belly", l="mouth", nod=0.3)
                .osc(.30, .80, 1.5, pos={"bend": 0.15, "nod": 0.1})
                .to(.82, .95, bend=0.0, py=0.0, both="rest", nod=0.0)))  # nausea or vomiting
    add(_Action(4.0, _p().to(.10, .25, r=(0.16, 0.05, 0.24), r_roll=1.2)
                .osc(.25, .85, 3.0, cos={"r_out": 0.07, "r_wf": 0.4})
                .to(.87, .97, r="rest", r_roll=0.0)))  # use a fan
    # A50-A60 (mutual)
    add(_pair(2.5, _p().to(.15, .35, r=(0.25, 0.05, 0.10), twist=-0.3)
              .to(.38, .46, r=(0.05, 0.08, 0.55), twist=0.3).to(.55, .80, r="rest", twist=0.0),
              _p().to(.42, .55, bend=-0.2, pf=-0.12, nod=-0.25, turn=0.3)
              .to(.70, .90, bend=0.0, pf=-0.05, nod=0.0, turn=0.0),
              gap=0.85))  # punching/slapping other person
    add(_pair(2.5, _p().to(.15, .35, rf=(0.0, 0.10, -0.25))
              .to(.38, .48, rf=(0.0, 0.40, 0.55)).to(.55, .75, rf="stand"),
              _p().to(.44, .58, bend=0.35, pf=-0.20, both="belly")
              .to(.70, .90, bend=0.0, both="rest"), gap=1.05))  # kicking other person
    add(_pair(3.0, _p().to(.15, .35, both=(0.16, -0.10, 0.30))
              .to(.38, .50, both=(0.16, -0.05, 0.55), pf=0.25, bend=0.15)
              .to(.60, .85, both="rest", bend=0.0),
              _p().to(.40, .58, pf=-0.45, bend=-0.15, both=(0.35, -0.30, 0.10))
              .to(.70, .90, bend=0.0, both="rest"), gap=0.85))  # pushing other person
    add(_pair(3.5, _p().to(.10, .35, pf=0.15, r=(-0.05, 0.05, 0.50))
              .osc(.35, .75, 2.5, pos={"r_up": 0.05}).to(.80, .95, pf=0.0, r="rest"),
              _p().to(.10, .35, pf=0.10, nod=0.1).to(.80, .95, pf=0.0, nod=0.0),
              gap=0.95))  # pat on back of other person
    add(_pair(3.0, _p().to(.15, .30, r=(0.10, 0.05, 0.52), r_wf=-0.2)
              .to(.75, .90, r="rest", r_wf=0.0),
              _p().to(.30, .50, nod=0.1, turn=0.1), gap=1.5))  # point finger at the other
    add(_pair(4.0, _p().to(.10, .35, pf=0.22, both=(-0.06, 0.0, 0.35), bend=0.1)
              .to(.75, .92, pf=0.0, both="rest", bend=0.0),
              _p().to(.10, .35, pf=0.22, both=(-0.06, -0.05, 0.33), bend=0.1)
              .to(.75, .92, pf=0.0, both="rest", bend=0.0), gap=1.0))  # hugging other person
    add(_pair(3.5, _p().to(.10, .30, r=(0.08, -0.18, 0.50)).to(.60, .80, r="rest"),
              _p().to(.25, .45, r=(0.08, -0.16, 0.48)).to(.50, .70, r="mid")
              .to(.80, .95, r="rest"), gap=1.05))  # giving something to other person
    add(_pair(3.5, _p().to(.15, .40, pf=0.2, bend=0.3, r=(0.05, -0.50, 0.45), nod=0.3)
              .to(.70, .90, pf=0.0, bend=0.0, r="rest", nod=0.0),
              _p().to(.40, .60, turn=0.3), gap=0.85))  # touch other person's pocket
    add(_pair(3.0, _p().to(.10, .30, r=(-0.02, -0.22, 0.45))
              .osc(.30, .65, 2.5, cos={"r_up": 0.04}).to(.70, .90, r="rest"),
              _p().to(.10, .30, r=(-0.02, -0.22, 0.45))
              .osc(.30, .65, 2.5, cos={"r_up": -0.04}).to(.70, .90, r="rest"),
              gap=1.0))  # handshaking
    add(_pair(4.0, _p().to(.05, .90, pf=0.85).walk(.05, .90),
              _p().to(.05, .90, pf=0.85).walk(.05, .90, hz=1.0),
              gap=2.8))  # walking towards each other
    add(_pair(4.0, _p().to(.05, .25, yaw=math.pi).to(.20, .95, pf=-0.9).walk(.20, .95),
              _p().to(.05, .25, yaw=-math.pi).to(.20, .95, pf=-0.9).walk(.20, .95, hz=1.0),
              gap=0.9))  # walking apart from each other
    # A61-A70
    add(_Action(3.5, _p().to(.10, .30, both=(0.14, 0.30, 0.05)).to(.35, .50, both="ear")
                .to(.70, .90, both="rest")))  # put on headphone
    add(_Action(3.5, _p().to(.10, .30, both="ear").to(.35, .50, both=(0.14, 0.30, 0.05))
                .to(.55, .70, both="mid").to(.75, .92, both="rest")))  # take off headphone
    add(_Action(3.0, _p().to(.10, .30, both=(0.06, 0.12, 0.25), py=-0.12, nod=-0.2)
                .to(.35, .48, both=(0.10, 0.48, 0.32), py=0.05, feet=(0.0, 0.06, 0.0))
                .to(.55, .70, py=0.0, feet="stand")
                .to(.72, .92, both="rest", nod=0.0)))  # shoot at the basket
    add(_Action(4.0, _p().to(.10, .25, r=(0.20, -0.35, 0.32), bend=0.2, nod=0.3)
                .osc(.25, .85, 2.0, cos={"r_up": 0.12})
                .to(.87, .97, r="rest", bend=0.0, nod=0.0)))  # bounce ball
    add(_Action(3.0, _p().to(.10, .40, r=(0.45, -0.05, -0.15), twist=-0.6, l=(0.05, -0.2, 0.3))
                .to(.45, .58, r=(-0.25, 0.10, 0.40), twist=0.5)
                .to(.65, .90, r="rest", l="rest", twist=0.0)))  # tennis bat swing
    add(_Action(4.0, _p().to(.10, .25, both=(0.12, -0.18, 0.30), nod=-0.25)
                .osc(.25, .85, 2.5, cos={"r_up": 0.10, "l_up": -0.10})
                .to(.87, .97, both="rest", nod=0.0)))  # juggling table tennis balls
    add(_Action(2.5, _p().to(.15, .28, r=(0.02, 0.0, 0.21), r_roll=1.4)
                .to(.70, .88, r="rest", r_roll=0.0)))  # hush (quite)
    add(_Action(3.0, _p().to(.10, .28, r=(0.13, 0.17, 0.10), turn=-0.15)
                .to(.32, .42, r=(0.16, 0.20, -0.10), nod=-0.2, turn=0.25)
                .to(.50, .75, r="rest", nod=0.0, turn=0.0)))  # flick hair
    add(_Action(2.5, _p().to(.15, .30, r=(0.16, -0.15, 0.35), r_roll=0.0, r_wf=0.3)
                .to(.70, .88, r="rest", r_wf=0.0)))  # thumb up
    add(_Action(2.5, _p().to(.15, .30, r=(0.16, -0.15, 0.35), r_roll=math.pi, r_wf=0.3)
                .to(.70, .88, r="rest", r_roll=0.0, r_wf=0.0)))  # thumb down
    # A71-A80
    add(_Action(2.5, _p().to(.15, .30, r=(0.12, 0.0, 0.34), r_wf=0.6, r_roll=0.8)
                .to(.70, .88, r="rest", r_wf=0.0, r_roll=0.0)))  # make ok sign
    add(_Action(2.5, _p().to(.15, .30, r=(0.22, 0.12, 0.20), r_roll=-0.8)
                .to(.70, .88, r="rest", r_roll=0.0)))  # make victory sign
    add(_Action(3.5, _p().to(.10, .25, both=(0.10, -0.30, 0.30), nod=0.4)
                .osc(.25, .80, 1.5, neg={"r_up": 0.07})
                .to(.82, .95, both="rest", nod=0.0)))  # staple book
    add(_Action(5.0, _p().to(.10, .25, l=(0.05, -0.22, 0.30), r=(0.10, -0.20, 0.30), nod=0.35)
                .osc(.25, .85, 3.0, cos={"r_out": 0.03, "r_wf": 0.3})
                .to(.87, .97, both="rest", nod=0.0)))  # counting money
    add(_Action(5.0, _p().to(.10, .25, both=(0.02, -0.26, 0.25), nod=0.5, bend=0.1)
                .osc(.25, .85, 2.0, cos={"r_wf": 0.3, "r_fwd": 0.01})
                .to(.87, .97, both="rest", nod=0.0, bend=0.0)))  # cutting nails
    add(_Action(5.0, _p().to(.10, .25, l=(0.04, -0.20, 0.32), r=(0.16, -0.20, 0.28), nod=0.35)
                .to(.25, .85, r=(0.02, -0.20, 0.38)).osc(.25, .85, 3.0, cos={"r_wf": 0.35})
                .to(.87, .97, both="rest", nod=0.0)))  # cutting paper (using scissors)
    add(_Action(3.0, _p().to(.10, .25, r=(0.25, 0.0, 0.25), r_roll=0.6)
                .osc(.25, .80, 2.0, pos={"r_wf": 0.5, "r_out": 0.03})
                .to(.82, .95, r="rest", r_roll=0.0)))  # snapping fingers
    add(_Action(4.0, _p().to(.10, .25, l=(0.05, -0.28, 0.30), r=(0.05, -0.16, 0.30), nod=0.3)
                .osc(.25, .80, 1.5, cos={"r_roll": 0.8})
                .to(.82, .95, both="rest", nod=0.0)))  # open bottle
    add(_Action(3.0, _p().to(.15, .35, r="nose", bend=0.1, nod=-0.1)
                .osc(.35, .65, 2.0, pos={"nod": -0.06})
                .to(.70, .90, r="rest", bend=0.0, nod=0.0)))  # sniff (smell)
    add(_Action(4.0, _p().to(.10, .40, py=-0.42, feet=(0.0, 0.0, 0.12), bend=0.45,
                             both=(0.15, -0.20, 0.40))
                .to(.60, .90, py=0.0, feet="stand", bend=0.0, both="rest")))  # squat down
    # A81-A90
    add(_Action(2.5, _p().to(.10, .25, r=(0.15, -0.30, 0.30), nod=0.2)
                .to(.30, .36, r=(0.15, -0.12, 0.32), nod=-0.35)
                .to(.40, .55, r=(0.15, -0.28, 0.30), nod=0.2)
                .to(.70, .90, r="rest", nod=0.0)))  # toss a coin
    add(_Action(4.5, _p().to(.10, .22, both=(0.18, -0.22, 0.32), nod=0.35)
                .to(.25, .38, both=(0.02, -0.22, 0.32)).to(.42, .52, both=(0.18, -0.22, 0.32))
                .to(.55, .68, both=(0.02, -0.24, 0.30))
                .to(.85, .96, both="rest", nod=0.0)))  # fold paper
    add(_Action(3.5, _p().to(.10, .25, both=(0.04, -0.20, 0.30), nod=0.3)
                .osc(.25, .80, 2.5, cos={"r_out": 0.04, "l_out": 0.04, "r_roll": 0.5})
                .to(.82, .95, both="rest", nod=0.0)))  # ball up paper
    add(_Action(5.0, _p().to(.10, .25, both=(0.08, -0.20, 0.30), nod=0.4)
                .osc(.25, .85, 2.0, cos={"r_roll": 0.8, "l_roll": -0.8})
                .to(.87, .97, both="rest", nod=0.0)))  # play magic cube
    add(_Action(4.0, _p().to(.10, .25, both=(0.06, 0.02, 0.19))
                .osc(.25, .80, 1.5, cos={"r_up": 0.04, "l_up": 0.04},
                     sin={"r_out": 0.04, "l_out": 0.04})
                .to(.82, .95, both="rest")))  # apply cream on face
    add(_Action(4.0, _p().to(.10, .25, l=(0.0, -0.20, 0.28), r=(-0.02, -0.15, 0.28), nod=0.3)
                .osc(.25, .80, 1.8, cos={"r_fwd": 0.05})
                .to(.82, .95, both="rest", nod=0.0)))  # apply cream on hand back
    add(_Action(5.0, _p().to(.05, .25, r=(0.25, -0.35, -0.15), twist=-0.3)
                .to(.30, .50, r=(0.12, 0.02, 0.05), l=(0.28, -0.30, -0.12), twist=0.3)
                .to(.55, .75, both=(0.12, 0.0, 0.06), twist=0.0)
                .to(.80, .95, both="rest")))  # put on bag
    add(_Action(5.0, _p().to(.05, .25, both=(0.12, 0.0, 0.06))
                .to(.30, .50, l=(0.28, -0.30, -0.12), twist=0.3)
                .to(.55, .75, r=(0.25, -0.35, -0.15), l="rest", twist=-0.3)
                .to(.80, .95, r="mid", twist=0.0)))  # take off bag
    add(_Action(4.0, _p().to(.10, .30, bend=0.5, l=(0.10, -0.45, 0.35), r=(0.20, -0.20, 0.35),
                             nod=0.3)
                .to(.35, .50, r=(0.08, -0.48, 0.38)).to(.55, .70, r=(0.20, -0.25, 0.32))
                .to(.78, .95, bend=0.0, both="rest", nod=0.0)))  # put something into a bag
    add(_Action(4.0, _p().to(.10, .30, bend=0.5, l=(0.10, -0.45, 0.35), r=(0.20, -0.20, 0.35),
                             nod=0.3)
                .to(.35, .50, r=(0.08, -0.48, 0.38))
                .to(.55, .70, r=(0.14, -0.10, 0.36), bend=0.1)
                .to(.80, .95, l="rest", nod=0.0, bend=0.0)))  # take something out of a bag
    # A91-A100
    add(_Action(4.0, _p().to(.10, .30, bend=0.35, both=(0.10, -0.40, 0.35), nod=0.3)
                .to(.35, .50, both=(0.28, -0.30, 0.30)).to(.52, .62, both=(0.10, -0.40, 0.35))
                .to(.65, .78, both=(0.28, -0.30, 0.30))
                .to(.82, .95, bend=0.0, both="rest", nod=0.0)))  # open a box
    add(_Action(6.0, _p().to(.05, .25, bend=0.8, py=-0.25, both=(0.16, -0.50, 0.35))
                .to(.30, .45, bend=0.1, py=0.0, both=(0.16, -0.38, 0.30))
                .to(.45, .70, pl=0.5, yaw=0.3).walk(.45, .70, hz=1.2, stride=0.08, arms=0.0)
                .to(.72, .88, bend=0.8, py=-0.25, both=(0.16, -0.50, 0.35))
                .to(.88, .98, bend=0.0, py=0.0, both="rest")))  # move heavy objects
    add(_Action(3.0, _p().to(.10, .25, r=(0.22, 0.12, 0.25))
                .osc(.25, .80, 3.0, cos={"r_fwd": 0.06, "r_up": 0.04})
                .to(.82, .95, r="rest")))  # shake fist
    add(_Action(3.0, _p().to(.10, .25, r="head_top").to(.30, .38, r=(0.20, 0.50, 0.12), nod=-0.4)
                .to(.50, .62, r=(0.15, 0.25, 0.35))
                .to(.70, .90, r="rest", nod=0.0)))  # throw up cap/hat
    add(_Action(3.0, _p().to(.10, .30, both="up").to(.70, .90, both="rest")))  # hands up
    add(_Action(3.5, _p().to(.10, .30, both=(-0.10, -0.20, 0.14))
                .to(.75, .92, both="rest")))  # cross arms
    add(_Action(4.0, _p().to(.10, .22, both="side")
                .osc(.22, .85, 1.2, cos={"r_up": 0.18, "l_up": 0.18},
                     sin={"r_fwd": 0.18, "l_fwd": 0.18})
                .to(.87, .97, both="rest")))  # arm circles
    add(_Action(4.0, _p().osc(.10, .85, 1.0, sin={"r_fwd": 0.35, "l_fwd": 0.35},
                              pos={"r_up": 0.18, "l_up": 0.18})))  # arm swings
    add(_Action(4.0, _p().to(.05, .15, both=(0.22, -0.30, 0.12))
                .osc(.10, .85, 2.5, pos={"rf_up": 0.28, "rf_fwd": 0.12, "l_fwd": 0.12},
                     neg={"lf_up": 0.28, "lf_fwd": 0.12, "r_fwd": 0.12}, cos={"py": 0.03})
                .to(.87, .97, both="rest")))  # running on the spot
    add(_Action(4.0, _p().to(.05, .15, both="hip")
                .osc(.10, .85, 1.8, pos={"rf_up": 0.38, "rf_fwd": -0.25},
                     neg={"lf_up": 0.38, "lf_fwd": -0.25})
                .to(.87, .97, both="rest")))  # butt kicks (kick backward)
    # A101-A105
    add(_Action(4.5, _p().to(.05, .25, bend=1.1, twist=0.35, r=(-0.35, -0.30, 0.45),
                             l=(0.35, 0.10, -0.10))
                .to(.30, .45, bend=0.2, twist=0.0, both="side")
                .to(.50, .70, bend=1.1, twist=-0.35, l=(-0.35, -0.30, 0.45), r=(0.35, 0.1, -0.1))
                .to(.75, .92, bend=0.0, twist=0.0, both="rest")))  # cross toe touch
    add(_Action(2.5, _p().to(.15, .30, both=(0.30, -0.10, 0.15), side=-0.15)
                .to(.35, .45, rf="side_kick", side=-0.35).to(.55, .75, rf="stand", side=0.0)
                .to(.80, .92, both="rest")))  # side kick
    add(_Action(4.0, _p().to(.10, .35, r=(0.04, 0.0, 0.19), nod=-0.35, l=(0.30, 0.10, 0.0))
                .to(.65, .85, r="rest", l="rest", nod=0.0)))  # yawn
    add(_Action(4.0, _p().to(.10, .35, both=(0.18, 0.50, -0.05), bend=-0.2, nod=-0.2)
                .osc(.35, .65, 0.8, cos={"side": 0.12})
                .to(.70, .92, both="rest", bend=0.0, nod=0.0)))  # stretch oneself
    add(_Action(3.5, _p().to(.10, .30, both=(0.02, 0.03, 0.19), nod=0.1)
                .osc(.30, .70, 1.5, pos={"nod": 0.12})
                .to(.75, .92, both="rest", nod=0.0)))  # blow nose
    # A106-A120 (mutual)
    add(_pair(3.0, _p().to(.10, .35, r=(0.12, 0.45, 0.05))
              .to(.40, .48, r=(0.05, -0.10, 0.52), bend=0.2).to(.60, .85, r="rest", bend=0.0),
              _p().to(.30, .45, both=(0.10, 0.12, 0.25), bend=0.25, nod=0.3)
              .to(.70, .90, both="rest", bend=0.0, nod=0.0),
              gap=1.0))  # hit other person with something
    add(_pair(3.5, _p().to(.10, .25, r=(0.12, -0.15, 0.30))
              .osc(.25, .75, 1.5, pos={"r_fwd": 0.18}).to(.80, .95, r="rest"),
              _p().to(.20, .45, pf=-0.30, both=(0.15, -0.10, 0.35), bend=-0.1)
              .to(.80, .95, both="rest", bend=0.0),
              gap=1.15))  # wield knife towards other person
    add(_pair(2.5, _p().to(.10, .35, pf=0.45, twist=0.5, bend=0.3)
              .walk(.10, .35, hz=1.8, stride=0.15).to(.45, .75, twist=0.0, bend=0.0),
              _p().to(.30, .45, pf=-0.45, bend=-0.3, both=(0.40, -0.15, 0.0))
              .to(.45, .80, py=-0.45, feet=(0.0, 0.0, 0.30), bend=-0.5),
              gap=1.3))  # knock over other person
    add(_pair(3.0, _p().to(.15, .32, r=(0.08, -0.28, 0.55), pf=0.1).to(.38, .55, r="mid", pf=0.0)
              .to(.75, .92, r="rest"),
              _p().to(.05, .15, r=(0.15, -0.28, 0.30)).to(.30, .38, r=(0.12, -0.28, 0.42))
              .to(.40, .55, r="rest", nod=0.2).to(.70, .90, nod=0.0),
              gap=1.0))  # grab other person's stuff
    add(_pair(3.5, _p().to(.10, .25, both=(0.02, 0.06, 0.52))
              .osc(.30, .70, 1.5, pos={"r_up": 0.05, "l_up": 0.05}).to(.80, .95, both="rest"),
              _p().to(.25, .40, both=(0.30, 0.25, 0.05)).to(.85, .97, both="rest"),
              gap=2.0))  # shoot at other person with a gun
    add(_pair(2.5, _p().to(.10, .30, rf=(0.0, 0.22, 0.40), nod=0.4, bend=0.15)
              .to(.32, .40, rf=(0.0, 0.02, 0.42)).to(.55, .80, rf="stand", nod=0.0, bend=0.0),
              _p().to(.38, .50, lf=(0.0, 0.25, -0.10), bend=0.3, nod=0.3)
              .to(.60, .85, lf="stand", bend=0.0, nod=0.0), gap=0.8))  # step on foot
    add(_pair(2.5, _p().to(.15, .35, r=(0.05, 0.30, 0.42)).to(.55, .75, r="rest"),
              _p().to(.15, .35, r=(0.05, 0.30, 0.42)).to(.55, .75, r="rest"),
              gap=1.0))  # high-five
    add(_pair(4.0, _p().to(.10, .28, r=(0.0, -0.02, 0.45)).to(.35, .50, r="mouth", nod=-0.2)
              .to(.65, .80, r="low", nod=0.0).to(.85, .96, r="rest"),
              _p().to(.10, .28, r=(0.0, -0.02, 0.45)).to(.35, .50, r="mouth", nod=-0.2)
              .to(.65, .80, r="low", nod=0.0).to(.85, .96, r="rest"),
              gap=1.0))  # cheers and drink
    add(_pair(5.0, _p().to(.05, .25, both=(0.16, -0.35, 0.40), bend=0.35)
              .to(.25, .80, pl=0.8).osc(.25, .80, 1.2, pos={"rf_out": 0.1, "lf_out": -0.1})
              .to(.80, .95, bend=0.0),
              _p().to(.05, .25, both=(0.16, -0.35, 0.40), bend=0.35)
              .to(.25, .80, pl=-0.8).osc(.25, .80, 1.2, neg={"rf_out": -0.1, "lf_out": 0.1})
              .to(.80, .95, bend=0.0), gap=1.3))  # carry something with other person
    add(_pair(4.0, _p().to(.10, .30, both=(0.08, 0.04, 0.28), nod=0.05)
              .to(.80, .95, both="rest", nod=0.0),
              _p().to(.15, .35, r=(0.22, 0.12, 0.20), r_roll=-0.8)
              .to(.80, .95, r="rest", r_roll=0.0), gap=1.8))  # take a photo of other person
    add(_pair(4.0, _p().to(.10, .90, pf=1.0).walk(.10, .90),
              _p().to(.05, .85, pf=1.0).walk(.05, .85),
              gap=1.2, layout="follow"))  # follow other person
    add(_pair(3.5, _p().to(.10, .35, pf=0.25, bend=0.25, turn=0.4, r=(0.08, 0.02, 0.22))
              .to(.75, .92, pf=0.0, bend=0.0, turn=0.0, r="rest"),
              _p().to(.20, .40, tilt=-0.2, turn=-0.3).to(.75, .92, tilt=0.0, turn=0.0),
              gap=0.9))  # whisper in other person's ear
    add(_pair(4.0, _p().to(.10, .28, r=(0.05, -0.16, 0.45)).to(.35, .45, r="mid")
              .to(.50, .60, r=(0.05, -0.16, 0.45)).to(.65, .80, r="mid").to(.85, .95, r="rest"),
              _p().to(.10, .28, r=(0.05, -0.16, 0.45)).to(.35, .45, r="mid")
              .to(.50, .60, r=(0.05, -0.16, 0.45)).to(.65, .80, r="mid").to(.85, .95, r="rest"),
              gap=1.0))  # exchange things with other person
    add(_pair(5.0, _p().to(.05, .20, l=(-0.40, 0.02, 0.05), r=(-0.05, -0.25, 0.20))
              .to(.20, .90, pf=0.7).walk(.20, .90, hz=0.7, stride=0.12, arms=0.0),
              _p().to(.05, .20, bend=0.3, side=-0.2, r=(0.35, 0.0, 0.0), rf=(0.0, 0.10, 0.0))
              .to(.20, .90, pf=0.7).walk(.20, .90, hz=0.7, stride=0.10, arms=0.0),
              gap=0.55, layout="beside"))  # support somebody with hand
    add(_pair(3.5, _p().to(.10, .25, r=(0.10, -0.15, 0.35))
              .osc(.25, .60, 2.0, pos={"r_up": 0.08}).to(.60, .68, r_roll=1.0)
              .to(.85, .96, r="rest", r_roll=0.0),
              _p().to(.10, .25, r=(0.10, -0.15, 0.35))
              .osc(.25, .60, 2.0, pos={"r_up": 0.08}).to(.60, .68, r_roll=-0.6)
              .to(.85, .96, r="rest", r_roll=0.0),
              gap=0.95))  # finger-guessing game (rock-paper-scissors)
    return s
# fmt: on


# --------------------------------------------------------------------------------------------
# Compiled class tables. Role 2c + p is person p of class c; a one-person class has an idle
# role 2c + 1 that is never drawn.

_LAYOUTS = {"face": 0, "follow": 1, "beside": 2}


@dataclass(frozen=True)
class _Tables:
    base: np.ndarray  # (R, D) start pose
    st0: np.ndarray  # (R, K) step starts, normalised time; padding starts at 2 (never)
    sw: np.ndarray  # (R, K) step widths
    sdelta: np.ndarray  # (R, K, D) step changes
    ot0: np.ndarray  # (R, O) oscillator windows
    ot1: np.ndarray  # (R, O)
    ohz: np.ndarray  # (R, O) frequencies in Hz
    oamp: np.ndarray  # (R, O*4, D) amplitudes of cos, sin, max(cos, 0), max(-cos, 0)
    seconds: np.ndarray  # (C,) typical duration
    mutual: np.ndarray  # (C,) bool
    layout: np.ndarray  # (C,) int, _LAYOUTS
    gap: np.ndarray  # (C,) metres


@lru_cache(maxsize=1)
def _tables() -> _Tables:
    scripts = _scripts()
    assert len(scripts) == MAX_CLASSES, len(scripts)
    mutual = np.zeros(MAX_CLASSES, dtype=bool)
    mutual[list(NTU120_MUTUAL)] = True
    for c, act in enumerate(scripts):
        assert (act.b is not None) == mutual[c], f"class {c + 1}: persons do not match NTU"
    people = [p for act in scripts for p in (act.a, act.b or _Person())]
    k = max(len(p.steps) for p in people)
    o = max(len(p.oscs) for p in people)
    r = len(people)
    base = np.stack([p.base for p in people])
    st0 = np.full((r, k), 2.0)
    sw = np.ones((r, k))
    sdelta = np.zeros((r, k, D))
    ot0 = np.full((r, o), 2.0)
    ot1 = np.full((r, o), 2.0)
    ohz = np.ones((r, o))
    oamp = np.zeros((r, o, 4, D))
    for i, p in enumerate(people):
        for j, (t0, t1, delta) in enumerate(p.steps):
            st0[i, j], sw[i, j], sdelta[i, j] = t0, t1 - t0, delta
        for j, (t0, t1, hz, amp) in enumerate(p.oscs):
            ot0[i, j], ot1[i, j], ohz[i, j], oamp[i, j] = t0, t1, hz, amp
    f32 = np.float32
    return _Tables(
        base=base.astype(f32), st0=st0.astype(f32), sw=sw.astype(f32),
        sdelta=sdelta.astype(f32), ot0=ot0.astype(f32), ot1=ot1.astype(f32),
        ohz=ohz.astype(f32), oamp=oamp.reshape(r, o * 4, D).astype(f32),
        seconds=np.array([a.seconds for a in scripts], dtype=f32), mutual=mutual,
        layout=np.array([_LAYOUTS[a.layout] for a in scripts]),
        gap=np.array([a.gap for a in scripts], dtype=f32),
    )  # fmt: skip


# --------------------------------------------------------------------------------------------
# Bodies. Medians of real NTU recordings (joint-to-parent distances, metres), rounded.

_BONES: dict[str, float] = {
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
_PAIRED = ("upper_arm", "forearm", "thigh", "shin")
_NB = len(_BONES) + len(_PAIRED)  # one more draw for the left-right asymmetry of each pair

# Sensor noise, metres (x, y; z is 1.5x): trunk steady, hands and feet worse, hand tips worst.
_JOINT_SIGMA = np.array(
    [3, 3, 4, 5, 5, 7, 10, 12, 5, 7, 10, 12, 4, 6, 8, 10, 4, 6, 8, 10, 3, 18, 16, 18, 16],
    dtype=np.float32,
) * 1e-3  # fmt: skip
_GLITCH_JOINTS = np.array([3, 6, 7, 10, 11, 14, 15, 18, 19, 21, 22, 23, 24])

# Idle sway and per-sample pose spread, per DOF.
_SWAY = np.array(
    [0.01, 0.01, 0.004, 0.03, 0.03, 0.02, 0.03, 0.05, 0.06, 0.03]
    + [0.015] * 6 + [0.1] * 4 + [0.004] * 6, dtype=np.float32,
)  # fmt: skip
_SPREAD = np.array(
    [0.0, 0.0, 0.0, 0.05, 0.05, 0.03, 0.05, 0.08, 0.08, 0.04]
    + [0.025] * 6 + [0.15] * 4 + [0.02] * 6, dtype=np.float32,
)  # fmt: skip

# Per-sample spread, tuned so that a small MLP on resampled coordinates lands well below 100%:
# normalised-time jitter of each step and of the whole script, viewpoint (degrees) and facing
# (radians) jitter, relative amplitude spread, target offsets (metres), idle sway (x _SWAY), and
# how often and how far (metres) the free hand fidgets.
_NUISANCE = {"timing": 0.04, "shift": 0.06, "view_deg": 10.0, "facing": 0.2, "amplitude": 0.2,
             "target": 0.04, "sway": 1.5, "fidget": 0.12, "fidget_rate": 0.3}  # fmt: skip

_VIEWS = np.deg2rad([0.0, 0.0, 45.0, -45.0, 90.0, -90.0]).astype(np.float32)


# --------------------------------------------------------------------------------------------
# Per-sample random numbers: a counter-based hash, so any sample can be drawn on its own and a
# whole chunk at once without a Python loop over samples.

_M64 = (1 << 64) - 1


def _mix(x: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser on uint64 arrays (wrapping arithmetic)."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _key(seed: int, stream: int) -> np.uint64:
    """A 64-bit key for (seed, stream); stream names a split or a purpose."""
    x = np.array([(seed * 0x9E3779B97F4A7C15 + stream * 0xD1B54A32D192ED03) & _M64], np.uint64)
    return _mix(_mix(x))[0]


def _uniform(key: np.uint64, index: np.ndarray, n: int) -> np.ndarray:
    """(B, n) uniforms in (0, 1), element (b, j) a function of (key, index[b], j) only."""
    row = _mix(index.astype(np.uint64) ^ key)[:, None]
    col = np.arange(n, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    bits = _mix(_mix(row + col) ^ key)
    return ((bits >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53


def _normal(key: np.uint64, index: np.ndarray, n: int) -> np.ndarray:
    """(B, n) standard normals by Box-Muller from 2n hashed uniforms."""
    u = _uniform(key, index, 2 * n)
    return np.sqrt(-2.0 * np.log(u[:, :n])) * np.cos(2.0 * np.pi * u[:, n:])


class _Draws:
    """Hands out columns of a (B, n) block of random numbers, in a fixed order."""

    def __init__(self, block: np.ndarray) -> None:
        self.block = block.astype(np.float32)
        self.pos = 0

    def take(self, n: int = 1) -> np.ndarray:
        out = self.block[:, self.pos : self.pos + n]
        self.pos += n
        assert self.pos <= self.block.shape[1], "draw layout larger than the block"
        return out[:, 0] if n == 1 else out


def _actor_counts() -> tuple[int, int]:
    """(uniforms, normals) drawn per actor."""
    t = _tables()
    k, o = t.st0.shape[1], t.ot0.shape[1]
    return 1 + 12 + o + 4 + 4, 3 + _NB + D + k + k * D + 2 * o + 2 * D + 9 + 3


@lru_cache(maxsize=4)
def _noise_bank(seed: int, size: int) -> np.ndarray:
    """Unit normals with a lag-1 correlation of 0.5 at a stride of 75 (one frame)."""
    gen = np.random.Generator(np.random.Philox(key=[seed, 0]))
    raw = gen.standard_normal(size + 75, dtype=np.float32)
    return (raw[75:] + raw[:-75]) * np.float32(1 / math.sqrt(2))


def _labels(seed: int, split: int, index: np.ndarray, num_classes: int) -> np.ndarray:
    """Balanced labels: samples k*C .. k*C + C-1 hold each of the C classes once."""
    cycles = index // num_classes
    first = int(cycles.min()) if len(index) else 0
    span = np.arange(first, (int(cycles.max()) + 1) if len(index) else 0, dtype=np.int64)
    perms = np.argsort(_uniform(_key(seed, 8 * split + 4), span, num_classes), axis=1)
    return perms[cycles - first, index % num_classes]


# --------------------------------------------------------------------------------------------
# Kinematics, vectorised over actors A and frames T. Vectors are (3, A, T) and rotations
# (3, 3, A, T), so every arithmetic step runs on contiguous (A, T) planes. Body frame: y up, the
# person faces -z and their right is +x (facing the camera, the left shoulder is at negative x,
# as in Kinect camera space).


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


def _forward_kinematics(q: np.ndarray, bones: dict[str, np.ndarray],
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


def _rot_mat(axis: int, a: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotations about x (0) or y (1), for the per-actor camera maths."""
    c, s = np.cos(a), np.sin(a)
    r = np.zeros((*a.shape, 3, 3), dtype=np.float64)
    i, k = (1, 2) if axis == 0 else (2, 0)
    r[..., axis, axis] = 1.0
    r[..., i, i], r[..., i, k], r[..., k, i], r[..., k, k] = c, -s, s, c
    return r


# --------------------------------------------------------------------------------------------
# Samples


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


@dataclass
class _Actors:
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


def _draw_actors(seed: int, split: int, index: np.ndarray, labels: np.ndarray, frames: int,
                 bank_size: int) -> _Actors:  # fmt: skip
    """Draw everything about the persons of samples `index`. Column order is fixed."""
    t = _tables()
    k, o = t.st0.shape[1], t.ot0.shape[1]
    dz = _Draws(_normal(_key(seed, 8 * split), index, 10 + 2 * k))
    du = _Draws(_uniform(_key(seed, 8 * split + 1), index, 16))
    n = len(labels)
    mutual = t.mutual[labels]
    length = np.clip(np.rint(t.seconds[labels] * FPS * np.exp(0.25 * dz.take())), MIN_FRAMES,
                     min(frames, MAX_LENGTH)).astype(np.int64)  # fmt: skip
    warp = np.exp(0.15 * dz.take())
    shift = _NUISANCE["shift"] * dz.take()
    t_jit = _NUISANCE["timing"] * dz.take(k)
    w_jit = np.exp(0.2 * dz.take(k))
    view_jit = np.deg2rad(_NUISANCE["view_deg"]) * dz.take()
    gap = t.gap[labels] * np.exp(0.08 * dz.take())
    view = _VIEWS[np.minimum((du.take() * len(_VIEWS)).astype(int), len(_VIEWS) - 1)]
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
    n_u, n_z = _actor_counts()
    az = _Draws(_normal(_key(seed, 8 * split + 2), actor_id, n_z))
    au = _Draws(_uniform(_key(seed, 8 * split + 3), actor_id, n_u))
    role = 2 * labels[sample] + person
    layout = t.layout[labels[sample]]
    pair = mutual[sample]

    face = _NUISANCE["facing"] * az.take()
    scale = np.clip(np.exp(0.06 * az.take()), 0.85, 1.15)
    noise_scale = np.exp(0.35 * az.take())
    bz = az.take(_NB)
    bones: dict[str, np.ndarray] = {}
    col = 0
    for name, metres in _BONES.items():
        common = metres * scale * np.exp(0.04 * bz[:, col])
        col += 1
        if name in _PAIRED:
            asym = np.exp(0.015 * bz[:, col])
            col += 1
            bones[name + "_r"], bones[name + "_l"] = common * asym, common / asym
        else:
            bones[name] = common
    bones["hip_drop"] = 0.03 * scale
    base = t.base[role] + _SPREAD * az.take(D)
    step_scale = 1.0 + _NUISANCE["amplitude"] * az.take(k)
    spot = _NUISANCE["target"] * az.take(k * D).reshape(-1, k, D)
    sdelta = t.sdelta[role]
    sdelta = sdelta * step_scale[:, :, None] + spot * (sdelta != 0)
    ohz = t.ohz[role] * np.exp(0.15 * az.take(o))
    oamp = t.oamp[role] * np.repeat(np.exp(0.2 * az.take(o)), 4, axis=1)[:, :, None]
    sway_amp = _NUISANCE["sway"] * _SWAY * az.take(2 * D).reshape(-1, 2, D)
    glitch_offset = 0.07 * az.take(9).reshape(-1, 3, 3)
    noise_offset = (au.take() * (bank_size - frames * 75)).astype(np.int64)
    glitch = au.take(12).reshape(-1, 3, 4)
    ophase = 2 * np.pi * au.take(o).reshape(-1, o)
    sway_hz = 0.15 + 0.45 * au.take(2)
    sway_phase = 2 * np.pi * au.take(2)
    # Fidget: in some sequences the free (left) hand wanders to a random place and back.
    fidget = _NUISANCE["fidget"] * az.take(3) * (au.take() < _NUISANCE["fidget_rate"])[:, None]
    fid_t0 = 0.1 + 0.5 * au.take(1)
    fid_w = 0.08 + 0.1 * au.take(1)
    fid_hold = 0.05 + 0.25 * au.take(1)
    fid_delta = np.zeros((len(sample), 2, D), dtype=np.float32)
    hand = [_IDX["l_out"], _IDX["l_up"], _IDX["l_fwd"]]
    fid_delta[:, 0, hand], fid_delta[:, 1, hand] = fidget, -fidget
    st0 = np.concatenate([t.st0[role] + shift[sample, None] + t_jit[sample],
                          np.stack([fid_t0, fid_t0 + fid_w + fid_hold], 1)], 1)  # fmt: skip
    sw = np.concatenate([t.sw[role] * w_jit[sample], np.stack([fid_w, fid_w], 1)], 1)
    sdelta = np.concatenate([sdelta, fid_delta], 1)

    # Where each person stands and faces; then the camera, shared by the two persons.
    x_off = np.where(person == 0, -0.5, 0.5) * gap[sample] * pair
    facing = np.select(
        [~pair, layout == _LAYOUTS["face"], layout == _LAYOUTS["follow"]],
        [np.zeros_like(face), np.where(person == 0, -0.5, 0.5) * np.pi,
         np.full_like(face, -0.5 * np.pi)], 0.0,
    ) + face  # fmt: skip
    tilt = _rot_mat(0, -pitch[sample])  # looking down: the feet are deeper than the head
    view_rot = _rot_mat(1, view[sample])
    camera_rot = tilt @ view_rot @ _rot_mat(1, facing)
    level = view_rot[:, :, 0] * x_off[:, None]
    level = level + np.stack([lateral[sample], -height[sample], depth[sample]], -1)
    camera_shift = np.matmul(tilt, level[:, :, None])[:, :, 0]

    f32 = np.float32
    return _Actors(
        sample=sample, person=person, length=length[sample], mirror=mirror[sample],
        warp=warp[sample], st0=st0, sw=sw, sdelta=sdelta.astype(f32), base=base,
        ot0=t.ot0[role] + shift[sample, None], ot1=t.ot1[role] + shift[sample, None], ohz=ohz,
        ophase=ophase, oamp=oamp.astype(f32), sway_hz=sway_hz, sway_phase=sway_phase,
        sway_amp=sway_amp, scale=scale, bones=bones, camera_rot=camera_rot.astype(f32),
        camera_shift=camera_shift.astype(f32), noise_scale=noise_scale,
        noise_offset=noise_offset, glitch=glitch, glitch_offset=glitch_offset,
    )  # fmt: skip


def _dof_curves(a: _Actors, rows: np.ndarray, t_len: int) -> np.ndarray:
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
        q[:, flip] = q[_MIRROR_PERM][:, flip] * _MIRROR_SIGN[:, None, None]
    return q


def _render(a: _Actors, rows: np.ndarray, t_len: int, bank: np.ndarray) -> np.ndarray:
    """Camera-space joints with sensor noise and glitches, (A, t_len, 25, 3)."""
    bones = {k: v[rows] for k, v in a.bones.items()}
    j = _forward_kinematics(_dof_curves(a, rows, t_len), bones, a.scale[rows])  # (25,3,A,T)
    rot, shift = a.camera_rot[rows], a.camera_shift[rows]
    x = np.empty((len(rows), t_len, 25, 3), dtype=np.float32)
    for i in range(3):  # (25, A, T) planes -> (A, T, 25)
        plane = rot[:, i, 0, None] * j[:, 0] + rot[:, i, 1, None] * j[:, 1]
        plane += rot[:, i, 2, None] * j[:, 2] + shift[:, i, None]
        x[..., i] = plane.transpose(1, 2, 0)
    windows = np.lib.stride_tricks.sliding_window_view(bank, t_len * 75)[a.noise_offset[rows]]
    sigma = _JOINT_SIGMA[:, None] * np.array([1.0, 1.0, 1.5], np.float32)  # (25, 3)
    x += windows.reshape(x.shape) * (sigma * a.noise_scale[rows, None, None, None])
    g = a.glitch[rows]
    present = g[..., 0] < 0.2  # (A, 3): about one glitch in two sequences
    pick = np.minimum((g[..., 1] * len(_GLITCH_JOINTS)).astype(int), len(_GLITCH_JOINTS) - 1)
    joint = _GLITCH_JOINTS[pick]
    start = (g[..., 2] * a.length[rows, None]).astype(int)
    span = 1 + (g[..., 3] * 6).astype(int)
    for slot in range(g.shape[1]):
        for offset in range(6):
            f = start[:, slot] + offset
            hit = np.nonzero(present[:, slot] & (offset < span[:, slot]) & (f < t_len))[0]
            x[hit, f[hit], joint[hit, slot]] += a.glitch_offset[rows[hit], slot]
    return x


# --------------------------------------------------------------------------------------------
# Public API

_SPLITS = {"train": 0, "test": 1}
_SEQUENCE_SPLIT = 2  # random streams of `synth_sequence`, apart from both splits
_GROUP = 64  # actors rendered together, sorted by length so that little padding is computed


def _check(num_classes: int, frames: int, seed: int, **counts: int) -> None:
    if not 1 <= num_classes <= MAX_CLASSES:
        raise ConfigError(
            "num_classes",
            f"must be in 1..{MAX_CLASSES}, got {num_classes}",
            fix="use 60 for NTU60-like data or 120 for NTU120-like data",
        )
    if frames < MIN_FRAMES:
        raise ConfigError(
            "frames",
            f"must be >= {MIN_FRAMES}, got {frames}",
            fix="use 300, the NTU NPZ length, or a shorter window such as 64",
        )
    if not 0 <= seed <= _M64:
        raise ConfigError("seed", f"must be in 0..2**64-1, got {seed}", fix="use e.g. 0")
    for key, value in counts.items():
        if value < 0:
            raise ConfigError(key, f"must be >= 0, got {value}", fix="use a count such as 500")


def synth_samples(start: int, stop: int, *, split: str = "train", num_classes: int = 60,
                  seed: int = 0, frames: int = 300,
                  out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Samples start..stop-1 of a split: x (n, frames, 2, 25, 3) float32 and labels (n,) int64.

    Sample i depends only on (seed, split, i, num_classes, frames), so any chunking of a split
    gives the same arrays. x is centred like the Kaggle NPZ (actor 1's joint 2 in frame 0 is the
    origin), zero after each sample's valid frames, and person 2 is zero unless the class is
    mutual. `out`, if given, must be zeros of that shape; it is filled and returned.
    """
    _check(num_classes, frames, seed, start=start, count=stop - start)
    if split not in _SPLITS:
        raise ConfigError("split", f"unknown split {split!r}", fix="use 'train' or 'test'")
    n = stop - start
    if out is None:
        out = np.zeros((n, frames, 2, 25, 3), dtype=np.float32)
    index = np.arange(start, stop, dtype=np.int64)
    labels = _labels(seed, _SPLITS[split], index, num_classes)
    if n == 0:
        return out, labels
    bank_size = max(1 << 20, 4 * frames * 75)
    bank = _noise_bank(seed, bank_size)
    actors = _draw_actors(seed, _SPLITS[split], index, labels, frames, bank_size)
    # Person 1 of every sample is rendered before any person 2, so the origin (actor 1's
    # joint 2 in frame 0, noise included, as upstream takes it) is known when person 2 is.
    origin = np.empty((n, 3), dtype=np.float32)
    order = np.lexsort((actors.length, actors.person))
    for g0 in range(0, len(order), _GROUP):
        rows = order[g0 : g0 + _GROUP]
        t_len = int(actors.length[rows].max())
        x = _render(actors, rows, t_len, bank)
        first = actors.person[rows] == 0
        origin[actors.sample[rows[first]]] = x[first, 0, 1]
        x -= origin[actors.sample[rows], None, None]
        x[np.arange(t_len)[None, :] >= actors.length[rows, None]] = 0.0  # zero padding
        out[actors.sample[rows], :t_len, actors.person[rows]] = x
    return out, labels


def make_ntu_like(*, num_classes: int = 60, n_train: int, n_test: int, seed: int = 0,
                  frames: int = 300) -> dict[str, np.ndarray]:  # fmt: skip
    """NTU-like data in the Kaggle NPZ layout: x_train, y_train, x_test, y_test.

    x_* is (N, frames, 150) float32 and reshapes to (N, frames, 2, 25, 3); y_* is one-hot
    float32 (N, num_classes). Memory: N * frames * 600 bytes (180 kB a sample at 300 frames).
    """
    _check(num_classes, frames, seed, n_train=n_train, n_test=n_test)
    data: dict[str, np.ndarray] = {}
    for split, n in (("train", n_train), ("test", n_test)):
        x = np.zeros((n, frames, 150), dtype=np.float32)
        labels = np.empty(n, dtype=np.int64)
        view = x.reshape(n, frames, 2, 25, 3)
        for start in range(0, n, 512):
            stop = min(n, start + 512)
            _, labels[start:stop] = synth_samples(
                start, stop, split=split, num_classes=num_classes, seed=seed, frames=frames,
                out=view[start:stop],
            )  # fmt: skip
        data[f"x_{split}"] = x
        data[f"y_{split}"] = np.eye(num_classes, dtype=np.float32)[labels]
    return data


def write_ntu_like(path: str | Path, *, num_classes: int = 60, n_train: int, n_test: int,
                   seed: int = 0, frames: int = 300) -> Path:  # fmt: skip
    """Write `make_ntu_like(...)` to `path` as an uncompressed Kaggle NPZ and return the path.

    Written by `skelab.data.formats.save_kaggle_npz`: a temporary file in the same folder,
    renamed over `path` only once complete, so a reader never sees a partial file.
    """
    from skelab.data.formats import save_kaggle_npz

    data = make_ntu_like(num_classes=num_classes, n_train=n_train, n_test=n_test, seed=seed,
                         frames=frames)  # fmt: skip
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return Path(save_kaggle_npz(path, **data, num_classes=num_classes))


def synth_sequence(label: int, *, seed: int = 0, frames: int = 300,
                   centred: bool = True) -> np.ndarray:  # fmt: skip
    """One sequence of class `label` (0-based, 0..119) for visual checks: (frames, 2, 25, 3).

    With `centred=False` the joints stay in camera space (metres, y up, z the depth), as a
    Kinect records them. Frames after the sequence's length and an absent person are zero.
    """
    if not 0 <= label < MAX_CLASSES:
        raise ConfigError(
            "label",
            f"must be in 0..{MAX_CLASSES - 1}, got {label}",
            fix="use a 0-based class index, e.g. 22 for 'hand waving'",
        )
    _check(MAX_CLASSES, frames, seed)
    bank_size = max(1 << 20, 4 * frames * 75)
    actors = _draw_actors(
        seed, _SEQUENCE_SPLIT, np.array([0]), np.array([label]), frames, bank_size
    )
    rows = np.arange(len(actors.sample))
    t_len = int(actors.length[0])
    x = _render(actors, rows, t_len, _noise_bank(seed, bank_size))
    if centred:
        x -= x[0, 0, 1]
    out = np.zeros((frames, 2, 25, 3), dtype=np.float32)
    out[:t_len, actors.person] = x.transpose(1, 0, 2, 3)
    return out

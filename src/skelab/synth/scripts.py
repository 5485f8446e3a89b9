"""The 120 class scripts (data written as code) and the tables they compile to.

Role 2c + p of the tables is person p of class c; a one-person class has an idle role 2c + 1
that is never drawn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from skelab.skeletons import NTU120_MUTUAL
from skelab.synth.poses import DOF_INDEX, FOOT_SPOTS, LIMB_PREFIX, MAX_CLASSES, SPOTS, D


def _assign(pose: np.ndarray, dofs: dict[str, object]) -> None:
    """Write named DOF values into `pose`; limbs take a spot name or an (out, up, fwd) triple."""
    for key, value in dofs.items():
        if key in ("both", "feet"):
            _assign(pose, {("r" if key == "both" else "rf"): value})
            _assign(pose, {("l" if key == "both" else "lf"): value})
        elif key in LIMB_PREFIX:
            table = FOOT_SPOTS if key in ("rf", "lf") else SPOTS
            triple = table[value] if isinstance(value, str) else value
            for c, v in zip(("out", "up", "fwd"), triple, strict=True):
                pose[DOF_INDEX[LIMB_PREFIX[key] + c]] = v
        else:
            pose[DOF_INDEX[key]] = float(value)  # type: ignore[arg-type]


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

PAIR_LAYOUTS = {"face": 0, "follow": 1, "beside": 2}


@dataclass(frozen=True)
class ClassTables:
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
    layout: np.ndarray  # (C,) int, PAIR_LAYOUTS
    gap: np.ndarray  # (C,) metres


@lru_cache(maxsize=1)
def class_tables() -> ClassTables:
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
    return ClassTables(
        base=base.astype(f32), st0=st0.astype(f32), sw=sw.astype(f32),
        sdelta=sdelta.astype(f32), ot0=ot0.astype(f32), ot1=ot1.astype(f32),
        ohz=ohz.astype(f32), oamp=oamp.reshape(r, o * 4, D).astype(f32),
        seconds=np.array([a.seconds for a in scripts], dtype=f32), mutual=mutual,
        layout=np.array([PAIR_LAYOUTS[a.layout] for a in scripts]),
        gap=np.array([a.gap for a in scripts], dtype=f32),
    )  # fmt: skip

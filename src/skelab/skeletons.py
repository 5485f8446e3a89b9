"""Skeleton facts: NTU RGB+D joints, classes, splits, bone pairs and the GCN graph. No I/O.

Sources: the NTU RGB+D README (joints, classes, splits; Shahroudy et al., CVPR 2016, Liu et al.,
TPAMI 2020) and CTR-GCN's `graph/ntu_rgb_d.py`, `graph/tools.py`, `feeders/bone_pairs.py`, as
summarised in `reference/ntu-data.md`. Joint *numbers* are 1-based as in the dataset's list;
every *index* and array here is 0-based unless a name says `_1BASED`.

Class names keep the dataset's own spelling ("hush (quite)", "wear on glasses"), with ASCII
apostrophes where the upstream README uses U+2019 (A57, A109, A117).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from skelab.errors import UnknownNameError

# --------------------------------------------------------------------------------------------
# Joints (Kinect v2 JointType order)

NTU_JOINTS: tuple[str, ...] = (
    "spine_base",  # 1
    "spine_mid",  # 2  (the centre joint of the CTR-GCN / SGN preprocessing)
    "neck",  # 3
    "head",  # 4
    "shoulder_left",  # 5
    "elbow_left",  # 6
    "wrist_left",  # 7
    "hand_left",  # 8
    "shoulder_right",  # 9
    "elbow_right",  # 10
    "wrist_right",  # 11
    "hand_right",  # 12
    "hip_left",  # 13
    "knee_left",  # 14
    "ankle_left",  # 15
    "foot_left",  # 16
    "hip_right",  # 17
    "knee_right",  # 18
    "ankle_right",  # 19
    "foot_right",  # 20
    "spine_shoulder",  # 21 (graph root)
    "hand_tip_left",  # 22
    "thumb_left",  # 23
    "hand_tip_right",  # 24
    "thumb_right",  # 25
)
NUM_JOINTS = 25
NUM_PERSONS = 2
CENTER_JOINT = 1  # 0-based index of joint 2, the spine middle; the NPZ is centred on it
ROOT_JOINT = 20  # 0-based index of joint 21, the graph root

# Inward edges (child -> parent), 1-based, as in CTR-GCN's graph. The hand tip hangs off the
# thumb, the thumb off the hand.
NTU_INWARD_1BASED: tuple[tuple[int, int], ...] = (
    (1, 2), (2, 21), (3, 21), (4, 3), (5, 21), (6, 5), (7, 6), (8, 7), (9, 21), (10, 9),
    (11, 10), (12, 11), (13, 1), (14, 13), (15, 14), (16, 15), (17, 1), (18, 17), (19, 18),
    (20, 19), (22, 23), (23, 8), (24, 25), (25, 12),
)  # fmt: skip
NTU_INWARD: tuple[tuple[int, int], ...] = tuple((i - 1, j - 1) for i, j in NTU_INWARD_1BASED)
NTU_OUTWARD: tuple[tuple[int, int], ...] = tuple((j, i) for i, j in NTU_INWARD)

# Bone pairs (v1, v2): bone of v1 = joint v1 - joint v2.
# CTR-GCN `feeders/bone_pairs.py`, 1-based: the 24 inward edges plus (21, 21), in file order.
CTRGCN_BONE_PAIRS_1BASED: tuple[tuple[int, int], ...] = (
    (1, 2), (2, 21), (3, 21), (4, 3), (5, 21), (6, 5), (7, 6), (8, 7), (9, 21), (10, 9),
    (11, 10), (12, 11), (13, 1), (14, 13), (15, 14), (16, 15), (17, 1), (18, 17), (19, 18),
    (20, 19), (22, 23), (21, 21), (23, 8), (24, 25), (25, 12),
)  # fmt: skip
# SkateFormer `feeders/feeder_ntu.py`, 0-based: rooted at joint 2; tips and thumbs off the hand.
SKATEFORMER_BONE_PAIRS: tuple[tuple[int, int], ...] = (
    (0, 1), (1, 1), (2, 20), (3, 2), (4, 20), (5, 4), (6, 5), (7, 6), (8, 20), (9, 8),
    (10, 9), (11, 10), (12, 0), (13, 12), (14, 13), (15, 14), (16, 0), (17, 16), (18, 17),
    (19, 18), (20, 1), (21, 7), (22, 7), (23, 11), (24, 11),
)  # fmt: skip
# SkateFormer's 24-point order (joint 21 dropped): six groups of four, 0-based gather index.
SKATEFORMER_24_ORDER: tuple[int, ...] = (
    6, 7, 21, 22, 10, 11, 23, 24, 12, 13, 14, 15, 16, 17, 18, 19, 4, 8, 5, 9, 1, 2, 0, 3,
)  # fmt: skip
# Left/right mirror permutation of the 25 joints (SkateFormer's flip augmentation).
NTU_FLIP_PERMUTATION: tuple[int, ...] = (
    0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 16, 17, 18, 19, 12, 13, 14, 15, 20, 23, 24, 21, 22,
)  # fmt: skip


def bone_pairs(convention: str = "ctrgcn") -> tuple[tuple[int, int], ...]:
    """0-based (joint, parent) pairs of a bone convention: 'ctrgcn' or 'skateformer'."""
    if convention == "ctrgcn":
        return tuple((i - 1, j - 1) for i, j in CTRGCN_BONE_PAIRS_1BASED)
    if convention == "skateformer":
        return SKATEFORMER_BONE_PAIRS
    raise UnknownNameError(
        f"unknown bone convention {convention!r}", fix="use 'ctrgcn' or 'skateformer'"
    )


# --------------------------------------------------------------------------------------------
# Classes

NTU120_CLASSES: tuple[str, ...] = (
    "drink water",  # A1
    "eat meal/snack",  # A2
    "brushing teeth",  # A3
    "brushing hair",  # A4
    "drop",  # A5
    "pickup",  # A6
    "throw",  # A7
    "sitting down",  # A8
    "standing up (from sitting position)",  # A9
    "clapping",  # A10
    "reading",  # A11
    "writing",  # A12
    "tear up paper",  # A13
    "wear jacket",  # A14
    "take off jacket",  # A15
    "wear a shoe",  # A16
    "take off a shoe",  # A17
    "wear on glasses",  # A18
    "take off glasses",  # A19
    "put on a hat/cap",  # A20
    "take off a hat/cap",  # A21
    "cheer up",  # A22
    "hand waving",  # A23
    "kicking something",  # A24
    "reach into pocket",  # A25
    "hopping (one foot jumping)",  # A26
    "jump up",  # A27
    "make a phone call/answer phone",  # A28
    "playing with phone/tablet",  # A29
    "typing on a keyboard",  # A30
    "pointing to something with finger",  # A31
    "taking a selfie",  # A32
    "check time (from watch)",  # A33
    "rub two hands together",  # A34
    "nod head/bow",  # A35
    "shake head",  # A36
    "wipe face",  # A37
    "salute",  # A38
    "put the palms together",  # A39
    "cross hands in front (say stop)",  # A40
    "sneeze/cough",  # A41
    "staggering",  # A42
    "falling",  # A43
    "touch head (headache)",  # A44
    "touch chest (stomachache/heart pain)",  # A45
    "touch back (backache)",  # A46
    "touch neck (neckache)",  # A47
    "nausea or vomiting condition",  # A48
    "use a fan (with hand or paper)/feeling warm",  # A49
    "punching/slapping other person",  # A50
    "kicking other person",  # A51
    "pushing other person",  # A52
    "pat on back of other person",  # A53
    "point finger at the other person",  # A54
    "hugging other person",  # A55
    "giving something to other person",  # A56
    "touch other person's pocket",  # A57
    "handshaking",  # A58
    "walking towards each other",  # A59
    "walking apart from each other",  # A60
    "put on headphone",  # A61
    "take off headphone",  # A62
    "shoot at the basket",  # A63
    "bounce ball",  # A64
    "tennis bat swing",  # A65
    "juggling table tennis balls",  # A66
    "hush (quite)",  # A67
    "flick hair",  # A68
    "thumb up",  # A69
    "thumb down",  # A70
    "make ok sign",  # A71
    "make victory sign",  # A72
    "staple book",  # A73
    "counting money",  # A74
    "cutting nails",  # A75
    "cutting paper (using scissors)",  # A76
    "snapping fingers",  # A77
    "open bottle",  # A78
    "sniff (smell)",  # A79
    "squat down",  # A80
    "toss a coin",  # A81
    "fold paper",  # A82
    "ball up paper",  # A83
    "play magic cube",  # A84
    "apply cream on face",  # A85
    "apply cream on hand back",  # A86
    "put on bag",  # A87
    "take off bag",  # A88
    "put something into a bag",  # A89
    "take something out of a bag",  # A90
    "open a box",  # A91
    "move heavy objects",  # A92
    "shake fist",  # A93
    "throw up cap/hat",  # A94
    "hands up (both hands)",  # A95
    "cross arms",  # A96
    "arm circles",  # A97
    "arm swings",  # A98
    "running on the spot",  # A99
    "butt kicks (kick backward)",  # A100
    "cross toe touch",  # A101
    "side kick",  # A102
    "yawn",  # A103
    "stretch oneself",  # A104
    "blow nose",  # A105
    "hit other person with something",  # A106
    "wield knife towards other person",  # A107
    "knock over other person (hit with body)",  # A108
    "grab other person's stuff",  # A109
    "shoot at other person with a gun",  # A110
    "step on foot",  # A111
    "high-five",  # A112
    "cheers and drink",  # A113
    "carry something with other person",  # A114
    "take a photo of other person",  # A115
    "follow other person",  # A116
    "whisper in other person's ear",  # A117
    "exchange things with other person",  # A118
    "support somebody with hand",  # A119
    "finger-guessing game (playing rock-paper-scissors)",  # A120
)
NTU60_CLASSES: tuple[str, ...] = NTU120_CLASSES[:60]
# Two-person (mutual) actions, 0-based labels: A50-A60 and A106-A120.
NTU60_MUTUAL: tuple[int, ...] = tuple(range(49, 60))
NTU120_MUTUAL: tuple[int, ...] = NTU60_MUTUAL + tuple(range(105, 120))


def class_names(num_classes: int) -> tuple[str, ...]:
    """NTU class names for 60 or 120 classes; generic names for any other count."""
    if num_classes == 60:
        return NTU60_CLASSES
    if num_classes == 120:
        return NTU120_CLASSES
    return tuple(f"class {i}" for i in range(num_classes))


# --------------------------------------------------------------------------------------------
# Official evaluation splits

NTU60_XSUB_TRAIN_PERFORMERS: frozenset[int] = frozenset(
    {1, 2, 4, 5, 8, 9, 13, 14, 15, 16, 17, 18, 19, 25, 27, 28, 31, 34, 35, 38}
)
NTU60_XVIEW_TRAIN_CAMERAS: frozenset[int] = frozenset({2, 3})
NTU120_XSUB_TRAIN_PERFORMERS: frozenset[int] = NTU60_XSUB_TRAIN_PERFORMERS | frozenset(
    {45, 46, 47, 49, 50, 52, 53, 54, 55, 56, 57, 58, 59, 70, 74, 78, 80, 81, 82, 83, 84, 85,
     86, 89, 91, 92, 93, 94, 95, 97, 98, 100, 103}
)  # fmt: skip
NTU120_XSET_TRAIN_SETUPS: frozenset[int] = frozenset(range(2, 33, 2))

SPLITS: dict[str, str] = {
    "ntu60-xsub": "NTU60 cross-subject: train on 20 performers, test on the other 20",
    "ntu60-xview": "NTU60 cross-view: train on cameras 2 and 3, test on camera 1",
    "ntu120-xsub": "NTU120 cross-subject: train on 53 performers, test on the other 53",
    "ntu120-xset": "NTU120 cross-setup: train on even setups, test on odd setups",
}


@dataclass(frozen=True)
class SampleName:
    """The fields of an NTU sample name `SsssCcccPpppRrrrAaaa` (all 1-based)."""

    setup: int
    camera: int
    performer: int
    replication: int
    action: int

    @property
    def label(self) -> int:
        """0-based class label."""
        return self.action - 1


def is_train(name: SampleName, benchmark: str) -> bool:
    """Whether a sample belongs to the training side of an official benchmark."""
    if benchmark == "ntu60-xsub":
        return name.performer in NTU60_XSUB_TRAIN_PERFORMERS
    if benchmark == "ntu60-xview":
        return name.camera in NTU60_XVIEW_TRAIN_CAMERAS
    if benchmark == "ntu120-xsub":
        return name.performer in NTU120_XSUB_TRAIN_PERFORMERS
    if benchmark == "ntu120-xset":
        return name.setup in NTU120_XSET_TRAIN_SETUPS
    raise UnknownNameError(
        f"unknown benchmark {benchmark!r}", fix=f"use one of {', '.join(sorted(SPLITS))}"
    )


# --------------------------------------------------------------------------------------------
# Graphs


def edge_matrix(edges: tuple[tuple[int, int], ...], num_nodes: int) -> np.ndarray:
    """0/1 matrix with A[j, i] = 1 for each edge (i, j): row = target, column = source."""
    a = np.zeros((num_nodes, num_nodes), dtype=np.float32)
    for i, j in edges:
        a[j, i] = 1.0
    return a


def normalize_columns(a: np.ndarray) -> np.ndarray:
    """A · D^-1 with D the column sums; an all-zero column stays zero (CTR-GCN's digraph norm)."""
    col = a.sum(axis=0)
    inv = np.divide(1.0, col, out=np.zeros_like(col), where=col > 0)
    return (a * inv[None, :]).astype(np.float32)


@dataclass(frozen=True)
class Skeleton:
    """A joint layout: joint names and inward (child -> parent) edges, 0-based."""

    name: str
    joints: tuple[str, ...]
    inward: tuple[tuple[int, int], ...]
    center: int
    extra: dict[str, object] = field(default_factory=dict, compare=False, hash=False)

    @property
    def num_joints(self) -> int:
        return len(self.joints)

    @property
    def outward(self) -> tuple[tuple[int, int], ...]:
        return tuple((j, i) for i, j in self.inward)

    @property
    def neighbours(self) -> tuple[tuple[int, int], ...]:
        """Undirected edges, each listed once per direction."""
        return self.inward + self.outward

    @cached_property
    def binary_adjacency(self) -> np.ndarray:
        """Symmetric 0/1 adjacency without self-loops, (V, V)."""
        return edge_matrix(self.neighbours, self.num_joints)

    @cached_property
    def spatial(self) -> np.ndarray:
        """CTR-GCN's 'spatial' partition, (3, V, V): identity, norm(inward), norm(outward)."""
        v = self.num_joints
        return np.stack(
            [
                np.eye(v, dtype=np.float32),
                normalize_columns(edge_matrix(self.inward, v)),
                normalize_columns(edge_matrix(self.outward, v)),
            ]
        )


NTU25 = Skeleton(name="ntu25", joints=NTU_JOINTS, inward=NTU_INWARD, center=CENTER_JOINT)
_SKELETONS = {"ntu25": NTU25}


def get_skeleton(name: str | Skeleton = "ntu25") -> Skeleton:
    """Look up a joint layout by name ('ntu25')."""
    if isinstance(name, Skeleton):
        return name
    if name not in _SKELETONS:
        raise UnknownNameError(
            f"unknown skeleton {name!r}", fix=f"use one of {', '.join(sorted(_SKELETONS))}"
        )
    return _SKELETONS[name]

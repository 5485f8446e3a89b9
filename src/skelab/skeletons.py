"""Skeleton facts: NTU RGB+D joints, classes, splits, bone pairs, and the joint layouts with
their graphs (ntu25, nwucla20, openpose18, coco17, or a user's own edge list). No I/O.

Sources: the NTU RGB+D README (joints, classes, splits; Shahroudy et al., CVPR 2016, Liu et al.,
TPAMI 2020) and CTR-GCN's `graph/ntu_rgb_d.py`, `graph/ucla.py`, `graph/tools.py`,
`feeders/bone_pairs.py`, as summarised in `reference/ntu-data.md`; ST-GCN's `net/utils/graph.py`
('openpose' layout, Kinetics-Skeleton) and MMAction2's `coco` graph layout for COCO-17.
Joint *numbers* are 1-based as in the dataset's list;
every *index* and array here is 0-based unless a name says `_1BASED`.

Class names keep the dataset's own spelling ("hush (quite)", "wear on glasses"), with ASCII
apostrophes where the upstream README uses U+2019 (A57, A109, A117).
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from skelab.errors import ConfigError, UnknownNameError

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

NTU120_CLASSES: tuple[str, ...] = (  # A1..A120; the comment gives each line's first A
    "drink water", "eat meal/snack", "brushing teeth", "brushing hair", "drop",  # A1
    "pickup", "throw", "sitting down", "standing up (from sitting position)",  # A6
    "clapping", "reading", "writing", "tear up paper", "wear jacket",  # A10
    "take off jacket", "wear a shoe", "take off a shoe", "wear on glasses",  # A15
    "take off glasses", "put on a hat/cap", "take off a hat/cap", "cheer up",  # A19
    "hand waving", "kicking something", "reach into pocket",  # A23
    "hopping (one foot jumping)", "jump up", "make a phone call/answer phone",  # A26
    "playing with phone/tablet", "typing on a keyboard",  # A29
    "pointing to something with finger", "taking a selfie",  # A31
    "check time (from watch)", "rub two hands together", "nod head/bow",  # A33
    "shake head", "wipe face", "salute", "put the palms together",  # A36
    "cross hands in front (say stop)", "sneeze/cough", "staggering", "falling",  # A40
    "touch head (headache)", "touch chest (stomachache/heart pain)",  # A44
    "touch back (backache)", "touch neck (neckache)",  # A46
    "nausea or vomiting condition", "use a fan (with hand or paper)/feeling warm",  # A48
    "punching/slapping other person", "kicking other person",  # A50
    "pushing other person", "pat on back of other person",  # A52
    "point finger at the other person", "hugging other person",  # A54
    "giving something to other person", "touch other person's pocket",  # A56
    "handshaking", "walking towards each other", "walking apart from each other",  # A58
    "put on headphone", "take off headphone", "shoot at the basket", "bounce ball",  # A61
    "tennis bat swing", "juggling table tennis balls", "hush (quite)",  # A65
    "flick hair", "thumb up", "thumb down", "make ok sign", "make victory sign",  # A68
    "staple book", "counting money", "cutting nails",  # A73
    "cutting paper (using scissors)", "snapping fingers", "open bottle",  # A76
    "sniff (smell)", "squat down", "toss a coin", "fold paper", "ball up paper",  # A79
    "play magic cube", "apply cream on face", "apply cream on hand back",  # A84
    "put on bag", "take off bag", "put something into a bag",  # A87
    "take something out of a bag", "open a box", "move heavy objects",  # A90
    "shake fist", "throw up cap/hat", "hands up (both hands)", "cross arms",  # A93
    "arm circles", "arm swings", "running on the spot",  # A97
    "butt kicks (kick backward)", "cross toe touch", "side kick", "yawn",  # A100
    "stretch oneself", "blow nose", "hit other person with something",  # A104
    "wield knife towards other person", "knock over other person (hit with body)",  # A107
    "grab other person's stuff", "shoot at other person with a gun",  # A109
    "step on foot", "high-five", "cheers and drink",  # A111
    "carry something with other person", "take a photo of other person",  # A114
    "follow other person", "whisper in other person's ear",  # A116
    "exchange things with other person", "support somebody with hand",  # A118
    "finger-guessing game (playing rock-paper-scissors)",  # A120
)  # fmt: skip
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

    @classmethod
    def parse(cls, text: str) -> SampleName | None:
        """The fields of a name such as `S001C002P003R002A013` (a suffix is ignored), or None."""
        m = _SAMPLE_NAME.match(text)
        return cls(*(int(g) for g in m.groups())) if m else None


_SAMPLE_NAME = re.compile(r"^S(\d{3})C(\d{3})P(\d{3})R(\d{3})A(\d{3})")


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
    """A joint layout: joint names and inward (child -> parent) edges, 0-based.

    `center` is the joint a sequence is centred on; `root` is the graph's root (the centre of
    ST-GCN's spatial partition), which defaults to `center`.
    """

    name: str
    joints: tuple[str, ...]
    inward: tuple[tuple[int, int], ...]
    center: int
    root: int | None = None
    extra: dict[str, object] = field(default_factory=dict, compare=False, hash=False)

    @property
    def num_joints(self) -> int:
        return len(self.joints)

    @property
    def graph_root(self) -> int:
        return self.center if self.root is None else self.root

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

    @cached_property
    def bone_parents(self) -> tuple[int, ...]:
        """`parent[v]` of every joint: the bone of joint v is joint v - joint parent[v].

        CTR-GCN's rule: each inward edge (child, parent) is a bone and the graph root pairs
        with itself (a zero bone). For ntu25 this gives `feeders/bone_pairs.py`'s 25 pairs, for
        nwucla20 `feeder_ucla.py`'s 20. A layout whose edges do not give every joint but the
        root exactly one parent has no bone definition: ConfigError.
        """
        root = self.graph_root
        parents: list[list[int]] = [[] for _ in range(self.num_joints)]
        for child, parent in self.inward:
            parents[child].append(parent)
        orphans = [v for v, p in enumerate(parents) if not p and v != root]
        several = [v for v, p in enumerate(parents) if len(p) > 1 or (p and v == root)]
        if orphans or several:
            what = [f"joints {orphans[:5]} have no parent edge"] if orphans else []
            what += [f"joints {several[:5]} have a parent edge too many"] if several else []
            raise ConfigError(
                "skeleton.inward",
                f"layout {self.name!r} has no bone definition: {' and '.join(what)} "
                f"(each joint but the root {root} needs exactly one `child parent` edge)",
                fix="use data.modality=joint or motion, or give the layout one edge per joint "
                "towards its root",
            )
        return tuple(p[0] if p else root for p in parents)

    def to_dict(self) -> dict[str, object]:
        """The layout as plain JSON values (what a prepared folder's meta.json stores)."""
        return {
            "name": self.name,
            "joints": list(self.joints),
            "inward": [list(e) for e in self.inward],
            "center": self.center,
            "root": self.root,  # None: the centre
        }

    @classmethod
    def from_dict(cls, d: object, *, where: str | Path | None = None) -> Skeleton:
        """Inverse of `to_dict`, checked like `skeleton_from_edges`; errors name `where`."""
        if not isinstance(d, dict):
            raise ConfigError(
                "skeleton", f"must be an object, got a {type(d).__name__}",
                fix="give name, joints, inward and center", where=where,
            )  # fmt: skip
        for key in ("name", "joints", "inward", "center"):
            if key not in d:
                raise ConfigError(
                    f"skeleton.{key}", "is missing",
                    fix="give name, joints, inward and center", where=where,
                )  # fmt: skip
        joints = d["joints"]
        if not isinstance(joints, list | tuple) or not all(isinstance(j, str) for j in joints):
            raise ConfigError(
                "skeleton.joints", f"must be a list of joint names, got {joints!r:.80}",
                fix='give one name per joint, e.g. ["hip", "spine", "neck"]', where=where,
            )  # fmt: skip
        return skeleton_from_edges(
            d["inward"], center=d["center"], joints=joints, name=str(d["name"]),
            root=d.get("root"), where=where,
        )  # fmt: skip


def _as_index(key: str, value: object, where: str | Path | None) -> int:
    """`value` as a joint index, or a ConfigError naming `key` (floats and bools are refused)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise ConfigError(
            key, f"must be an integer joint index, got {value!r:.80}",
            fix="give a 0-based joint index, e.g. 1", where=where,
        )  # fmt: skip
    return int(value)


def skeleton_from_edges(
    edges: list | tuple,
    *,
    center: int,
    num_joints: int | None = None,
    joints: list[str] | tuple[str, ...] | None = None,
    name: str = "custom",
    root: int | None = None,
    where: str | Path | None = None,
) -> Skeleton:
    """A user's own layout from (child, parent) pairs of 0-based joint indices and a centre joint.

    The joint count is `len(joints)`, else `num_joints`, else the largest index + 1. Every
    index must be an integer in range and no edge may join a joint to itself. Errors name the
    field (`skeleton.inward`, `skeleton.center`, `skeleton.root`) and `where`, the file the
    layout came from, when the caller gives it.
    """
    try:
        pairs = tuple((operator.index(i), operator.index(j)) for i, j in edges)
    except (TypeError, ValueError) as err:
        raise ConfigError(
            "skeleton.inward", f"edges must be pairs of integers ({err})",
            fix="write one `child parent` pair of 0-based joint indices per line", where=where,
        ) from err  # fmt: skip
    center = _as_index("skeleton.center", center, where)
    root = None if root is None else _as_index("skeleton.root", root, where)
    if joints is not None:
        v = len(joints)
    elif num_joints is not None:
        v = int(num_joints)
    else:
        v = 1 + max((max(e) for e in pairs), default=center)
    names = tuple(joints) if joints is not None else tuple(f"joint_{k}" for k in range(v))
    bad = [e for e in pairs if min(e) < 0 or max(e) >= v or e[0] == e[1]]
    if bad:
        raise ConfigError(
            "skeleton.inward", f"edges {bad[:3]} are self-loops or outside joints 0..{v - 1}",
            fix="use 0-based indices below the joint count, one edge per joint pair", where=where,
        )  # fmt: skip
    for key, value in (("center", center), ("root", root)):
        if value is not None and not 0 <= value < v:
            raise ConfigError(
                f"skeleton.{key}", f"joint {value} is outside 0..{v - 1}",
                fix=f"give a 0-based joint index below {v}", where=where,
            )  # fmt: skip
    return Skeleton(name=name, joints=names, inward=pairs, center=center, root=root)


NTU25 = Skeleton(
    name="ntu25", joints=NTU_JOINTS, inward=NTU_INWARD, center=CENTER_JOINT, root=ROOT_JOINT
)

# NW-UCLA (Kinect v1, 20 joints), CTR-GCN `graph/ucla.py`: 1-based inward edges, root joint 3.
# The feeder centres on joint 2 (the spine).
NWUCLA_JOINTS: tuple[str, ...] = (
    "hip_center", "spine", "shoulder_center", "head", "shoulder_left", "elbow_left",
    "wrist_left", "hand_left", "shoulder_right", "elbow_right", "wrist_right", "hand_right",
    "hip_left", "knee_left", "ankle_left", "foot_left", "hip_right", "knee_right",
    "ankle_right", "foot_right",
)  # fmt: skip
NWUCLA_INWARD_1BASED: tuple[tuple[int, int], ...] = (
    (1, 2), (2, 3), (4, 3), (5, 3), (6, 5), (7, 6), (8, 7), (9, 3), (10, 9), (11, 10),
    (12, 11), (13, 1), (14, 13), (15, 14), (16, 15), (17, 1), (18, 17), (19, 18), (20, 19),
)  # fmt: skip
NWUCLA20 = Skeleton(
    "nwucla20", NWUCLA_JOINTS, tuple((i - 1, j - 1) for i, j in NWUCLA_INWARD_1BASED), 1, root=2
)

# OpenPose COCO-18 (Kinetics-Skeleton), ST-GCN's 'openpose' layout: centre and root the neck.
OPENPOSE18_JOINTS: tuple[str, ...] = (
    "nose", "neck", "shoulder_right", "elbow_right", "wrist_right", "shoulder_left",
    "elbow_left", "wrist_left", "hip_right", "knee_right", "ankle_right", "hip_left",
    "knee_left", "ankle_left", "eye_right", "eye_left", "ear_right", "ear_left",
)  # fmt: skip
OPENPOSE18_INWARD: tuple[tuple[int, int], ...] = (
    (4, 3), (3, 2), (7, 6), (6, 5), (13, 12), (12, 11), (10, 9), (9, 8), (11, 5), (8, 2),
    (5, 1), (2, 1), (0, 1), (15, 0), (14, 0), (17, 15), (16, 14),
)  # fmt: skip
OPENPOSE18 = Skeleton("openpose18", OPENPOSE18_JOINTS, OPENPOSE18_INWARD, center=1)

# COCO-17 keypoints (YOLO-pose, HRNet, RTMPose, MMPose), MMAction2's 'coco' graph: root the nose.
COCO17_JOINTS: tuple[str, ...] = (
    "nose", "eye_left", "eye_right", "ear_left", "ear_right", "shoulder_left",
    "shoulder_right", "elbow_left", "elbow_right", "wrist_left", "wrist_right", "hip_left",
    "hip_right", "knee_left", "knee_right", "ankle_left", "ankle_right",
)  # fmt: skip
COCO17_INWARD: tuple[tuple[int, int], ...] = (
    (15, 13), (13, 11), (16, 14), (14, 12), (11, 5), (12, 6), (9, 7), (7, 5), (10, 8),
    (8, 6), (5, 0), (6, 0), (1, 0), (3, 1), (2, 0), (4, 2),
)  # fmt: skip
COCO17 = Skeleton("coco17", COCO17_JOINTS, COCO17_INWARD, center=0)

_SKELETONS = {s.name: s for s in (NTU25, NWUCLA20, OPENPOSE18, COCO17)}


def list_skeletons() -> tuple[str, ...]:
    """Names of the built-in joint layouts."""
    return tuple(sorted(_SKELETONS))


def joints_fix(num_joints: int, layout: Skeleton) -> str:
    """The fix for a builder given `num_joints` with a `layout` of another joint count."""
    named = [n for n, s in sorted(_SKELETONS.items()) if s.num_joints == num_joints]
    wanted = (
        f"skeleton={named[0]!r}"
        if named
        else f"the data's {num_joints}-joint layout as skeleton= (a dataset's `ds.skeleton`)"
    )
    return f"pass {wanted}, or num_joints={layout.num_joints} for the {layout.name!r} graph"


def get_skeleton(name: str | Skeleton | dict = "ntu25") -> Skeleton:
    """Look up a joint layout by name: 'ntu25', 'nwucla20', 'openpose18' or 'coco17'; a dict
    is a layout of one's own as `Skeleton.to_dict` writes it (a run config stores it so)."""
    if isinstance(name, Skeleton):
        return name
    if isinstance(name, dict):
        return Skeleton.from_dict(name, where="model.options.skeleton")
    if name not in _SKELETONS:
        raise UnknownNameError(
            f"unknown skeleton {name!r}", fix=f"use one of {', '.join(sorted(_SKELETONS))}"
        )
    return _SKELETONS[name]

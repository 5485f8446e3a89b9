"""Named joint layouts and layouts built from an edge list."""

from __future__ import annotations

import numpy as np
import pytest

from skelab.errors import ConfigError, UnknownNameError
from skelab.skeletons import (
    NWUCLA20,
    SampleName,
    Skeleton,
    bone_pairs,
    get_skeleton,
    list_skeletons,
    skeleton_from_edges,
)


@pytest.mark.parametrize("name", ["ntu25", "nwucla20", "openpose18", "coco17"])
def test_named_layout_is_a_tree_over_all_its_joints(name):
    s = get_skeleton(name)

    reach = {s.graph_root}
    for _ in range(s.num_joints):
        reach |= {i for i, j in s.inward if j in reach} | {j for i, j in s.inward if i in reach}

    assert len(s.inward) == s.num_joints - 1
    assert reach == set(range(s.num_joints))
    assert s.spatial.shape == (3, s.num_joints, s.num_joints)
    assert 0 <= s.center < s.num_joints


def test_layout_sizes_and_centres():
    sizes = {n: (get_skeleton(n).num_joints, get_skeleton(n).center) for n in list_skeletons()}

    assert sizes == {
        "coco17": (17, 0), "ntu25": (25, 1), "nwucla20": (20, 1), "openpose18": (18, 1)
    }  # fmt: skip
    assert get_skeleton("ntu25").graph_root == 20
    assert NWUCLA20.graph_root == 2  # joint 3, CTR-GCN graph/ucla.py


def test_nwucla_graph_is_ctrgcn_ucla_graph():
    one_based = {(i + 1, j + 1) for i, j in NWUCLA20.inward}

    assert one_based == {
        (1, 2), (2, 3), (4, 3), (5, 3), (6, 5), (7, 6), (8, 7), (9, 3), (10, 9), (11, 10),
        (12, 11), (13, 1), (14, 13), (15, 14), (16, 15), (17, 1), (18, 17), (19, 18), (20, 19),
    }  # fmt: skip


def test_ntu25_spatial_partition_keeps_its_reference_sum():
    assert float(get_skeleton("ntu25").spatial.sum()) == pytest.approx(69.0)


def test_layout_from_edges_round_trips_through_its_dict():
    s = skeleton_from_edges([(1, 0), (2, 1), (3, 1)], center=1, name="stick")

    back = Skeleton.from_dict(s.to_dict())

    assert back == s
    assert (s.num_joints, s.joints[0]) == (4, "joint_0")
    np.testing.assert_array_equal(back.spatial, s.spatial)


@pytest.mark.parametrize(
    ("edges", "center", "match"),
    [([(0, 0)], 0, "self-loops"), ([(1, 5)], 0, "outside joints"), ([(1, 0)], 4, "joint 4")],
)
def test_layout_from_edges_rejects_bad_input(edges, center, match):
    with pytest.raises(ConfigError, match=match):
        skeleton_from_edges(edges, center=center, num_joints=3)


def test_unknown_layout_lists_the_named_ones():
    with pytest.raises(UnknownNameError, match="coco17"):
        get_skeleton("coco18")


def test_sample_name_parses_fields_and_rejects_other_names():
    assert SampleName.parse("S017C003P020R001A059.skeleton") == SampleName(17, 3, 20, 1, 59)
    assert SampleName.parse("a01_s01_e00_v01") is None


@pytest.mark.parametrize(
    ("key", "value"),
    [("center", "spine"), ("center", 1.5), ("center", None), ("root", True), ("root", "2")],
)
def test_layout_dict_with_a_non_integer_joint_index_names_the_field_and_file(key, value):
    d = dict(skeleton_from_edges([(1, 0), (2, 1)], center=1).to_dict(), **{key: value})

    with pytest.raises(ConfigError) as info:
        Skeleton.from_dict(d, where="data/ucla/meta.json")

    assert info.value.key == f"skeleton.{key}"
    assert str(info.value).startswith(f"data/ucla/meta.json: skeleton.{key}: must be an integer")
    assert "fix: give a 0-based joint index" in str(info.value)


@pytest.mark.parametrize(
    ("change", "key"),
    [({"inward": [[1, 1]]}, "skeleton.inward"), ({"inward": [[1, "a"]]}, "skeleton.inward"),
     ({"center": 9}, "skeleton.center"), ({"joints": "ab"}, "skeleton.joints")],
)  # fmt: skip
def test_layout_dict_with_bad_edges_or_joints_names_the_file(change, key):
    d = dict(skeleton_from_edges([(1, 0), (2, 1)], center=1).to_dict(), **change)

    with pytest.raises(ConfigError, match=rf"(?s)^data/x/meta\.json: {key}: .*fix: ") as info:
        Skeleton.from_dict(d, where="data/x/meta.json")

    assert info.value.key == key


def test_layout_dict_without_a_centre_names_the_missing_field():
    d = skeleton_from_edges([(1, 0)], center=0).to_dict()
    del d["center"]

    with pytest.raises(ConfigError, match=r"meta\.json: skeleton\.center: is missing"):
        Skeleton.from_dict(d, where="meta.json")


def test_layout_from_edges_accepts_numpy_integers_and_refuses_a_float_centre():
    s = skeleton_from_edges(np.array([[1, 0], [2, 1]]), center=np.int64(1))

    assert (s.inward, s.center) == (((1, 0), (2, 1)), 1)
    with pytest.raises(ConfigError, match=r"skeleton\.center: must be an integer joint index"):
        skeleton_from_edges([(1, 0)], center=0.5)


def test_ntu25_bones_from_its_graph_are_ctrgcn_bone_pairs():
    derived = set(enumerate(get_skeleton("ntu25").bone_parents))

    assert derived == set(bone_pairs("ctrgcn"))  # feeders/bone_pairs.py, (21, 21) included


def test_nwucla20_bones_from_its_graph_are_ctrgcn_ucla_feeder_pairs():
    one_based = [(v + 1, p + 1) for v, p in enumerate(NWUCLA20.bone_parents)]

    assert one_based == [
        (1, 2), (2, 3), (3, 3), (4, 3), (5, 3), (6, 5), (7, 6), (8, 7), (9, 3), (10, 9),
        (11, 10), (12, 11), (13, 1), (14, 13), (15, 14), (16, 15), (17, 1), (18, 17), (19, 18),
        (20, 19),
    ]  # fmt: skip


@pytest.mark.parametrize("name", ["openpose18", "coco17"])
def test_named_layout_bones_pair_every_joint_with_its_parent_and_the_root_with_itself(name):
    s = get_skeleton(name)

    parents = s.bone_parents

    assert parents[s.graph_root] == s.graph_root
    assert {(v, p) for v, p in enumerate(parents) if v != s.graph_root} == set(s.inward)


@pytest.mark.parametrize(
    ("edges", "match"),
    [([(1, 0)], r"joints \[2\] have no parent edge"),
     ([(1, 0), (2, 0), (2, 1)], r"joints \[2\] have a parent edge too many")],
)  # fmt: skip
def test_layout_without_a_parent_for_every_joint_has_no_bones(edges, match):
    s = skeleton_from_edges(edges, center=0, num_joints=3, name="partial")

    with pytest.raises(ConfigError, match=rf"(?s)'partial' has no bone definition: {match}.*fix:"):
        _ = s.bone_parents

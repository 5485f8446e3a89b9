"""Named joint layouts and layouts built from an edge list."""

from __future__ import annotations

import numpy as np
import pytest

from skelab.errors import ConfigError, UnknownNameError
from skelab.skeletons import (
    NWUCLA20,
    SampleName,
    Skeleton,
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

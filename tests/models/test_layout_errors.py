"""A builder given a joint count its graph does not have names the layout that has it."""

from __future__ import annotations

import pytest

from skelab.errors import ModelConfigError
from skelab.models import build
from skelab.models.registry import any_layout_models, get_card


@pytest.mark.parametrize(
    ("name", "joints", "fix"),
    [
        ("ctrgcn", 17, "skeleton='coco17'"),
        ("stgcn-lite", 18, "skeleton='openpose18'"),
        ("msg3d", 7, "the data's 7-joint layout as skeleton="),
    ],
)
def test_partial_layout_option_gets_the_matching_fix(name, joints, fix):
    with pytest.raises(ModelConfigError, match=r"'ntu25' graph has 25 joints") as err:
        build(name, num_joints=joints)

    assert fix in str(err.value) and "num_joints=25" in str(err.value)


def test_cards_say_which_models_take_any_layout():
    assert {"ctrgcn", "msg3d", "stgcn", "stgcn-lite"} <= set(any_layout_models())
    assert not get_card("hypergcn").any_layout and not get_card("skateformer").any_layout

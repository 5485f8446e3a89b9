"""Class texts shipped with skelab and the normalised text table."""

from __future__ import annotations

import numpy as np
import pytest

from skelab.errors import ConfigError
from skelab.skeletons import NTU60_CLASSES, NTU120_CLASSES
from skelab.zeroshot.texts import class_texts, parse_text_mode, text_table


def test_every_ntu120_class_has_its_own_action_and_motion_description():
    ad, md = class_texts("ad", 120), class_texts("md", 120)

    assert len(ad) == len(md) == 120
    assert all(t.strip() and t.endswith(".") for t in ad + md)
    assert len(set(ad)) == 120 and len(set(md)) == 120 and not set(ad) & set(md)


def test_class_name_texts_are_skeletons_class_names():
    assert class_texts("lb", 120) == NTU120_CLASSES
    assert class_texts("lb", 60) == NTU60_CLASSES


def test_shipped_texts_are_stored_in_class_order():
    import json
    from importlib import resources

    rows = json.loads(
        resources.files("skelab.zeroshot").joinpath("data/ntu120_texts.json").read_text()
    )["classes"]

    assert [r["name"] for r in rows] == list(NTU120_CLASSES)
    assert [r["action"] for r in rows] == list(range(1, 121))


def test_sixty_class_texts_are_the_first_sixty():
    assert class_texts("md", 60) == class_texts("md", 120)[:60]


def test_text_mode_keeps_the_written_order():
    assert parse_text_mode("md_lb") == ("md", "lb")


@pytest.mark.parametrize("mode", ["", "lb_xx", "lb_lb", "lb__ad"])
def test_bad_text_mode_is_a_config_error_with_a_fix(mode):
    with pytest.raises(ConfigError, match=r"(?s)text_mode.*fix:"):
        parse_text_mode(mode)


def test_text_table_uses_one_norm_over_the_concatenated_row():
    a = np.array([[3.0, 0.0], [0.0, 1.0]], np.float32)
    b = np.array([[4.0], [0.0]], np.float32)

    table = text_table([a, b])

    np.testing.assert_allclose(table, [[0.6, 0.0, 0.8], [0.0, 1.0, 0.0]], rtol=1e-6)


def test_text_table_rejects_a_zero_row():
    with pytest.raises(ConfigError, match=r"(?s)all zeros.*fix:"):
        text_table([np.zeros((2, 3), np.float32)])

"""2-D keypoint normalisation (`skelab.data.keypoints2d.normalise_2d`)."""

from __future__ import annotations

import numpy as np
import pytest

from skelab.data.keypoints2d import normalise_2d
from skelab.errors import ConfigError, DataFormatError
from skelab.skeletons import COCO17


def _clip(frames: int = 4, persons: int = 1, seed: int = 0) -> np.ndarray:
    """(M, T, 17, 3) pixel keypoints around (640, 360), body about 200 px, scores 0.9."""
    rng = np.random.default_rng(seed)
    xy = 640 + rng.normal(0, 60, (persons, frames, 17, 2))
    xy[..., 1] = 360 + rng.normal(0, 100, (persons, frames, 17))
    score = np.full((persons, frames, 17, 1), 0.9)
    return np.concatenate([xy, score], axis=-1).astype(np.float32)


def test_body_mode_centres_on_the_centre_joint_and_flips_y():
    clip = _clip()

    out = normalise_2d(clip, COCO17, "body")

    assert out.dtype == np.float32 and out.shape == clip.shape
    np.testing.assert_allclose(out[..., COCO17.center, :2].mean(axis=(0, 1)), 0.0, atol=1e-5)
    dy_pixels = clip[0, 0, 15, 1] - clip[0, 0, 0, 1]  # ankle minus nose, y down
    dy_out = out[0, 0, 15, 1] - out[0, 0, 0, 1]
    assert np.sign(dy_out) == -np.sign(dy_pixels)
    np.testing.assert_array_equal(out[..., 2], clip[..., 2])


def test_body_mode_is_invariant_to_image_shift_and_zoom():
    clip = _clip()
    moved = clip.copy()
    moved[..., :2] = moved[..., :2] * 3.0 + np.float32(250.0)

    a, b = normalise_2d(clip, COCO17), normalise_2d(moved, COCO17)

    np.testing.assert_allclose(a, b, atol=1e-4)


def test_body_scale_makes_the_median_mean_bone_one():
    out = normalise_2d(_clip(frames=1), COCO17, "body")

    lengths = [np.linalg.norm(out[0, 0, i, :2] - out[0, 0, j, :2]) for i, j in COCO17.inward]

    assert np.mean(lengths) == pytest.approx(1.0, rel=1e-5)


def test_box_mode_fits_the_clip_into_minus_one_to_one():
    out = normalise_2d(_clip(frames=6), COCO17, "box")

    assert np.abs(out[..., :2]).max() == pytest.approx(1.0, rel=1e-5)


def test_missing_joints_stay_zero_and_do_not_move_centre_or_scale():
    clip = _clip()
    damaged = clip.copy()
    damaged[0, 1, 9] = (5000.0, -4000.0, 0.0)  # a wild wrist with score 0
    damaged[0, 2, 3, 0] = np.nan  # an ear lost by the estimator
    damaged[0, 2, 3, 2] = 0.7

    out = normalise_2d(damaged, COCO17)

    np.testing.assert_array_equal(out[0, 1, 9], 0.0)
    np.testing.assert_array_equal(out[0, 2, 3], 0.0)
    reference = normalise_2d(clip, COCO17)
    # centre and scale come from the seen joints only: a joint seen in both keeps its value
    # up to the tiny change two lost joints make to the median bone length
    np.testing.assert_allclose(out[0, 0, 0, :2], reference[0, 0, 0, :2], atol=0.05)


def test_none_mode_returns_the_input_as_float32():
    clip = _clip().astype(np.float64)

    out = normalise_2d(clip, COCO17, "none")

    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, clip.astype(np.float32))


def test_unknown_mode_and_wrong_shape_are_errors():
    with pytest.raises(ConfigError, match="not one of body, box, none"):
        normalise_2d(_clip(), COCO17, "image")
    with pytest.raises(DataFormatError, match=r"expected \(M, T, V=17, 3\)"):
        normalise_2d(_clip()[..., :2], COCO17)

"""The upstream (CTR-GCN / SGN) preprocessing on the real NTU recordings and on edited copies.

Expected values are the ones shared/data/README.md gives for the upstream pipeline run on these
files (frames kept, centring origin, first values, sum of |x|, motions). The real files hold no
noisy body, so the denoising rules are checked on copies edited here, as that README suggests.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from shared_refs import REAL_DATA, require
from skelab.data.denoise import (
    SampleSkipped,
    centre,
    denoise,
    pad,
    preprocess,
    tracks,
)
from skelab.data.raw import RawSkeleton, read_skeleton

NTU = REAL_DATA / "ntu"


@pytest.fixture(autouse=True)
def _needs_the_real_recordings() -> None:
    require(NTU)  # skips on a laptop without ../shared, fails on CI


# file: (frames kept, columns before padding, origin, x[0, 0:3], sum |x| over (300, 150))
UPSTREAM = {
    "S001C001P001R001A001": (103, 75, (0.2323292, 0.4326636, 3.714767),
                             (-0.0142139, -0.2600664, 0.07078004), 1360.4225),
    "S001C001P001R001A011": (82, 75, (0.2134301, 0.4422967, 3.726759),
                             (-0.00762041, -0.2502452, 0.08422995), 1057.6975),
    "S001C003P008R002A058": (70, 150, (-0.384766, 0.2418743, 2.881034),
                             (-0.002435, -0.29590926, 0.08006501), 4660.3823),
    "S002C001P003R001A003": (100, 75, (0.1340132, 0.1996025, 2.720337),
                             (-0.0075943, -0.28782856, 0.06839418), 1507.5122),
    "S003C001P015R001A034": (71, 75, (-0.00390547, -0.1424344, 2.689029),
                             (-0.02787971, -0.2689467, 0.01066494), 835.3041),
}  # fmt: skip


def _raw(name: str) -> RawSkeleton:
    return read_skeleton(NTU / f"{name}.skeleton")


@pytest.mark.parametrize("name", sorted(UPSTREAM))
def test_output_equals_the_upstream_pipeline(name):
    frames, columns, origin, first, total = UPSTREAM[name]
    raw = _raw(name)

    bodies, n = tracks(raw)
    seq = denoise(bodies, n)
    out = preprocess(raw)

    assert seq.shape == (frames, columns)
    np.testing.assert_allclose(seq[0, 3:6], origin, rtol=0, atol=1e-6)
    assert out.shape == (300, 150) and out.dtype == np.float32
    np.testing.assert_allclose(out[0, 0:3], first, rtol=0, atol=1e-7)
    assert np.abs(out).sum(dtype=np.float64) == pytest.approx(total, rel=1e-6)  # float32 figures
    np.testing.assert_array_equal(out[0, 3:6], 0.0)  # actor 1's joint 2 is the origin
    assert not out[frames:].any()  # zero padding at the end


def test_two_person_sample_orders_actors_by_motion_not_file_order():
    raw = _raw("S001C003P008R002A058")

    bodies, n = tracks(raw)
    out = preprocess(raw)

    motion = {b.body_id: b.motion for b in bodies}
    assert motion[72057594037944734] == pytest.approx(0.237029, abs=1e-6)
    assert motion[72057594037944738] == pytest.approx(0.198066, abs=1e-6)
    second_listed = raw.positions[1, :, :, :].reshape(70, 75)  # ...944734, actor 1 upstream
    origin = second_listed[0, 3:6]
    np.testing.assert_allclose(out[:70, :75], second_listed - np.tile(origin, 25), atol=1e-6)
    first_listed = raw.positions[0].reshape(70, 75)
    np.testing.assert_allclose(out[:70, 75:], first_listed - np.tile(origin, 25), atol=1e-6)


def test_ntu120_copies_person_one_where_ntu60_zero_fills():
    raw = _raw("S001C001P001R001A001")

    ntu60 = preprocess(raw, second_person="zeros")
    ntu120 = preprocess(raw, second_person="copy")

    assert not ntu60[:, 75:].any()
    np.testing.assert_array_equal(ntu120[:, 75:], ntu120[:, :75])
    np.testing.assert_array_equal(ntu120[:, :75], ntu60[:, :75])


def _with_extra_body(raw: RawSkeleton, positions: np.ndarray, present: np.ndarray) -> RawSkeleton:
    """A copy of `raw` with one more body (ID 7) at `positions` in the frames `present`."""
    return dataclasses.replace(
        raw,
        bodies_per_frame=raw.bodies_per_frame + present,
        body_ids=np.append(raw.body_ids, np.uint64(7)),
        positions=np.concatenate([raw.positions, positions[None]]),
        present=np.concatenate([raw.present, present[None]]),
        tracking=np.concatenate([raw.tracking, np.full((1, *raw.tracking.shape[1:]), 2, np.int8)]),
    )


def test_length_rule_removes_a_body_of_eleven_frames():
    raw = _raw("S001C001P001R001A001")
    present = np.zeros(103, bool)
    present[20:31] = True  # 11 frames: <= 11, removed
    noisy = _with_extra_body(raw, raw.positions[0] + 0.3, present)

    out = preprocess(noisy)

    np.testing.assert_array_equal(out, preprocess(raw))


def test_spread_rule_removes_a_body_wider_than_tall_in_most_frames():
    raw = _raw("S001C001P001R001A001")
    wide = raw.positions[0].copy()
    wide[:, :, 0] *= 10.0  # every frame x-spread > 0.8 y-spread: ratio 1 >= 0.69754
    noisy = _with_extra_body(raw, wide, np.ones(103, bool))

    out = preprocess(noisy)

    np.testing.assert_array_equal(out, preprocess(raw))


def test_body_that_vanishes_and_returns_is_shifted_to_close_the_gap():
    raw = _raw("S001C001P001R001A001")
    present = np.ones(103, bool)
    present[40:50] = False  # gone for 10 frames; its 93 frames are packed into rows 0..92
    other = raw.positions[0] + np.float32(0.5)

    bodies, n = tracks(_with_extra_body(raw, other, present))
    seq = denoise(bodies, n)

    extra = next(b for b in bodies if b.body_id == 7)
    assert (extra.start, extra.end) == (0, 92)
    slot = 0 if np.array_equal(seq[0, :75], other[0].ravel()) else 1
    block = seq[:, 75 * slot : 75 * (slot + 1)]
    np.testing.assert_array_equal(block[40:93], other[50:103].reshape(53, 75))
    assert not block[93:].any()


def test_sample_whose_bodies_all_last_eleven_frames_or_less_is_skipped():
    raw = _raw("S001C003P008R002A058")
    short = dataclasses.replace(
        raw,
        bodies_per_frame=raw.bodies_per_frame[:11],
        positions=raw.positions[:, :11],
        present=raw.present[:, :11],
        tracking=raw.tracking[:, :11],
    )

    with pytest.raises(SampleSkipped, match="length rule removes all"):
        preprocess(short)


def test_sample_without_any_body_is_skipped():
    empty = RawSkeleton(
        path=NTU / "x.skeleton",
        bodies_per_frame=np.zeros(3, np.int64),
        body_ids=np.zeros(0, np.uint64),
        positions=np.zeros((0, 3, 25, 3), np.float32),
        present=np.zeros((0, 3), bool),
        tracking=np.zeros((0, 3, 25), np.int8),
    )

    with pytest.raises(SampleSkipped, match="no bodies"):
        preprocess(empty)


def test_centre_keeps_absent_actor_frames_at_exact_zero():
    seq = np.zeros((3, 150), np.float32)
    seq[:, :75] = 1.0
    seq[1, 75:] = 2.0  # actor 2 present in row 1 only

    out = centre(seq)

    assert not out[[0, 2], 75:].any()
    np.testing.assert_array_equal(out[1, 75:], 1.0)
    np.testing.assert_array_equal(out[:, :75], 0.0)


def test_pad_refuses_more_than_300_frames():
    with pytest.raises(SampleSkipped, match="301 frames"):
        pad(np.ones((301, 75), np.float32))


def test_frames_without_bodies_are_dropped_before_denoising(tmp_path):
    path = NTU / "S001C001P001R001A001.skeleton"
    lines = path.read_bytes().split(b"\r\n")
    lines[0] = b"105"
    lines[1 + 28 * 50 : 1 + 28 * 50] = [b"0", b"0"]  # two empty frames before frame 51
    edited = tmp_path / path.name
    edited.write_bytes(b"\r\n".join(lines))

    raw = read_skeleton(edited)

    assert raw.num_frames == 105 and raw.bodies_per_frame[50:52].tolist() == [0, 0]
    np.testing.assert_array_equal(preprocess(raw), preprocess(_raw("S001C001P001R001A001")))

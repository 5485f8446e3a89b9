"""skelab pose: real decoding (PyAV) and real estimator glue (rtmlib's RTMO and RTMPose, a
YOLO-pose ONNX export) on a small video made here, with small ONNX models built here that have
the real models' inputs and outputs (tests/pose_models.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pose_models import FRAMES, make_rtmo, make_rtmpose, make_video, make_yolo, square_centre
from skelab.cli.main import main
from skelab.data.keypoints import clip_array, read_pose_npz
from skelab.errors import SkelabError
from skelab.pose.run import estimate_video


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    return make_video(tmp_path_factory.mktemp("video") / "square.mp4")


@pytest.fixture(scope="module")
def rtmo(tmp_path_factory) -> Path:
    return make_rtmo(tmp_path_factory.mktemp("rtmo"))


@pytest.fixture(scope="module")
def yolo(tmp_path_factory) -> Path:
    return make_yolo(tmp_path_factory.mktemp("yolo"))


@pytest.fixture(scope="module")
def rtmpose(tmp_path_factory) -> Path:
    return make_rtmpose(tmp_path_factory.mktemp("rtmpose"))


def _assert_on_the_square(npz: Path, score: float = 0.8) -> None:
    det = read_pose_npz(npz)
    assert det.frame.tolist() == list(range(FRAMES))  # one person per frame
    assert det.all_frames().tolist() == list(range(FRAMES))
    for t in range(FRAMES):
        cx, cy = square_centre(t)
        nose = det.keypoints[t, 0]
        assert abs(nose[0] - cx) <= 3 and abs(nose[1] - cy) <= 3, (t, nose, (cx, cy))
        assert nose[2] == pytest.approx(score, abs=0.25)


def test_rtmo_through_rtmlib_finds_the_square_in_frame_pixels(video, rtmo, tmp_path):
    out = estimate_video(video, tmp_path / "p.npz", estimator="rtmlib", model=rtmo)

    _assert_on_the_square(out)


def test_rtmpose_through_rtmlib_maps_the_whole_frame_box_back(video, rtmpose, tmp_path):
    out = estimate_video(video, tmp_path / "p.npz", estimator="rtmlib", model=rtmpose)

    _assert_on_the_square(out, score=0.9)


def test_yolo_pose_export_undoes_the_letterbox_and_drops_duplicates(video, yolo, tmp_path):
    out = estimate_video(video, tmp_path / "p.npz", estimator="ultralytics", model=yolo)

    _assert_on_the_square(out)
    assert read_pose_npz(out).score.tolist() == pytest.approx([0.9] * FRAMES)


def test_missing_model_file_says_where_to_put_one(video, tmp_path):
    with pytest.raises(SkelabError, match=r"(?s)rtmo-s\.onnx not found; skelab never downloads.*"
                       r"fix: put an RTMO or RTMPose \.onnx"):  # fmt: skip
        estimate_video(
            video, tmp_path / "p.npz", estimator="rtmlib", model=tmp_path / "rtmo-s.onnx"
        )
    assert not (tmp_path / "p.npz").exists()


def test_pose_cli_writes_keypoints_that_the_importer_tracks(video, yolo, tmp_path, capsys):
    code = main(["pose", str(video), "--out", str(tmp_path / "p.npz"), "--estimator",
                 "ultralytics", "--model", str(yolo), "--no-progress"])  # fmt: skip

    assert code == 0
    assert f"{FRAMES} people in {FRAMES} of {FRAMES} frames" in capsys.readouterr().out
    tracked, layout = clip_array(tmp_path / "p.npz")
    assert layout.name == "coco17" and tracked.x.shape == (2, FRAMES, 17, 3)
    assert tracked.skipped == []


def test_pose_cli_refuses_to_replace_its_output(video, yolo, tmp_path, capsys):
    (tmp_path / "p.npz").write_bytes(b"old")

    code = main(["pose", str(video), "--out", str(tmp_path / "p.npz"), "--estimator",
                 "ultralytics", "--model", str(yolo)])  # fmt: skip

    assert code == 2 and "--overwrite" in capsys.readouterr().err
    assert (tmp_path / "p.npz").read_bytes() == b"old"

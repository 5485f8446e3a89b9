"""predict --stride: sliding windows over a long keypoint file, merged into a timeline that
follows a change of action; skelab.Predictor answers the same, frame by frame."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import skelab
from keypoint_clips import clip, learnable_set, write_coco
from pose_models import FRAMES, make_video, make_yolo
from skelab.apps.timeline import Window, merge, timeline, top_classes, window_starts
from skelab.cli.main import main
from skelab.data.keypoints import import_keypoints
from skelab.engine.rundir import resolve_trained

NAMES = ("wave", "squat")


def test_windows_cover_the_input_and_end_on_its_last_frame():
    assert window_starts(100, 40, 16) == [0, 16, 32, 48, 60]
    assert window_starts(88, 40, 16) == [0, 16, 32, 48]
    assert window_starts(30, 40, 16) == [0]  # shorter than a window: one, resampled


def _window(start: int, end: int, p_wave: float) -> Window:
    probs = np.array([p_wave, 1 - p_wave])
    return Window(start, end, probs, top_classes(probs, NAMES))


def test_windows_with_the_same_top_class_merge_into_one_segment():
    windows = [_window(0, 39, 0.9), _window(8, 47, 0.7), _window(16, 55, 0.2),
               _window(24, 63, 0.6)]  # fmt: skip

    segments = [s.to_dict() for s in merge(windows, NAMES)]

    assert [(s["start"], s["end"], s["top"][0]["name"]) for s in segments] == [
        (0, 47, "wave"), (16, 55, "squat"), (24, 63, "wave"),
    ]  # fmt: skip
    assert segments[0]["top"][0]["prob"] == pytest.approx(0.8)  # mean over its windows
    assert [t["class"] for t in segments[1]["top"]] == [1, 0]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    """An MLP trained on wave vs squat clips imported from COCO-format JSON (a few seconds)."""
    root = tmp_path_factory.mktemp("timeline")
    labels = learnable_set(root / "src", per_class=12, test_per_class=4, frames=40)
    import_keypoints(root / "src", labels, root / "data", fmt="coco-json")
    code = main(["train", "ntu60-xsub/mlp-joint", "--set", f"data.path={root / 'data'}",
                 "--set", "data.window=16", "--set", "train.epochs=8", "--set", "optim.lr=0.01",
                 "--set", "train.batch_size=8", "--set", "train.device=cpu", "--no-progress",
                 "--out", str(root / "run")])  # fmt: skip
    assert code == 0
    return root / "run"


@pytest.fixture(scope="module")
def long_file(tmp_path_factory) -> Path:
    """60 frames of waving, then 60 of squatting, one continuous person."""
    path = tmp_path_factory.mktemp("long") / "long.json"
    person = np.concatenate([clip("wave", 60), clip("squat", 60, start=60)])
    return write_coco(path, [person])


@pytest.mark.slow
def test_timeline_segments_follow_the_change_of_action(run, long_file):
    cfg, weights = resolve_trained(run)

    segments = timeline(cfg, weights, long_file, stride=8)

    assert [s.top[0][1] for s in segments] == ["wave", "squat"]
    first, second = segments
    assert first.start == 0 and second.end == 119
    # a window is one training clip long (40 frames): the switch falls where windows that
    # start inside the squat take over, within one window of frame 60
    assert 60 - 40 <= second.start <= 60 and first.end < 60 + 40


@pytest.mark.slow
def test_cli_timeline_json_is_exactly_the_documented_shape(run, long_file, tmp_path, capsys):
    code = main(["predict", str(run), str(long_file), "--stride", "8", "--json",
                 "--plot", str(tmp_path / "t.png")])  # fmt: skip

    out = json.loads(capsys.readouterr().out)
    assert code == 0 and list(out) == ["timeline"]
    for seg in out["timeline"]:
        assert list(seg) == ["start", "end", "top"]
        assert [list(t) for t in seg["top"]] == [["class", "name", "prob"]] * 2
        probs = [t["prob"] for t in seg["top"]]
        assert probs == sorted(probs, reverse=True)
    assert (tmp_path / "t.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_predictor_answers_every_stride_as_the_timeline_windows_do(run, long_file):
    cfg, weights = resolve_trained(run)
    windows = timeline(cfg, weights, long_file, stride=10, span=40, merged=False)
    frames = np.concatenate([clip("wave", 60), clip("squat", 60, start=60)])
    predictor = skelab.Predictor(run, stride=10, span=40)

    answers = [a for a in map(predictor.push, frames) if a is not None]

    assert [(a.start, a.end) for a in answers] == [(w.start, w.end) for w in windows]
    assert [a.top[0][0] for a in answers] == [w.top[0][0] for w in windows]
    # same frames (the file holds them rounded), so the same probabilities
    np.testing.assert_allclose([a.probs for a in answers], [w.probs for w in windows], atol=1e-3)


@pytest.mark.slow
def test_cli_timeline_of_a_video_runs_the_pose_estimator_first(run, tmp_path, capsys):
    video = make_video(tmp_path / "clip.mp4")
    model = make_yolo(tmp_path)

    code = main(["predict", str(run), str(video), "--stride", "4", "--json", "--no-progress",
                 "--estimator", "ultralytics", "--pose-model", str(model)])  # fmt: skip

    segments = json.loads(capsys.readouterr().out)["timeline"]
    assert code == 0
    assert segments[0]["start"] == 0 and segments[-1]["end"] == FRAMES - 1
    assert {s["top"][0]["name"] for s in segments} <= set(NAMES)


def test_cli_timeline_of_a_video_needs_the_estimator_and_its_file(tmp_path, capsys):
    code = main(["predict", str(tmp_path), str(tmp_path / "clip.mp4"), "--stride", "4"])

    assert code == 2
    assert "clip.mp4 is a video" in capsys.readouterr().err

"""import-keypoints: COCO-format JSON, OpenPose JSON and arrays in, tracked persons out, with
each bad input named (no person, truncated file, NaN, missing label row)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from keypoint_clips import clip, coco_detections, learnable_set, write_coco
from skelab.cli.main import main
from skelab.data.keypoints import (
    BODY25_JOINTS,
    clip_array,
    import_keypoints,
    read_coco_json,
    read_openpose_folder,
    track,
)
from skelab.data.prepared import open_prepared, read_meta
from skelab.errors import DataFormatError
from skelab.skeletons import COCO17, OPENPOSE18


def test_coco_json_reads_frames_keypoints_scores_and_tracks(tmp_path):
    people = [clip("wave", 5), clip("squat", 5, cx=100)]
    path = write_coco(tmp_path / "a.json", people, track_ids=True, first_frame=7)

    det = read_coco_json(path)

    assert det.frame.tolist() == [7, 7, 8, 8, 9, 9, 10, 10, 11, 11]
    assert det.track.tolist() == [0, 1] * 5
    np.testing.assert_allclose(det.keypoints[1], people[1][0], rtol=1e-6)
    assert det.all_frames().tolist() == [7, 8, 9, 10, 11]


def test_frame_key_is_read_as_well_as_image_id(tmp_path):
    dets = coco_detections([clip("wave", 3)])
    for d in dets:
        d["frame"] = d.pop("image_id") + 100
    (tmp_path / "a.json").write_text(json.dumps(dets))

    assert read_coco_json(tmp_path / "a.json").frame.tolist() == [100, 101, 102]


def test_track_ids_in_the_input_decide_the_persons(tmp_path):
    # two people who swap places in one jump: only the ids can say who is who
    a, b = clip("wave", 6, cx=100), clip("squat", 6, cx=500)
    a[3:, :, 0] += 400
    b[3:, :, 0] -= 400
    path = write_coco(tmp_path / "a.json", [a, b], track_ids=True)

    x = track(read_coco_json(path), max_people=2).x

    first = 0 if abs(x[0, 0, 0, 0] - a[0, 0, 0]) < 1 else 1  # the slot that starts as A
    np.testing.assert_allclose(x[first, :, 0, 0], a[:, 0, 0], rtol=1e-5)
    np.testing.assert_allclose(x[1 - first, :, 0, 0], b[:, 0, 0], rtol=1e-5)


def test_crossing_people_keep_their_identity_without_track_ids(tmp_path):
    # same size, crossing: at frame 10 A (moving right) is nearer B's last centre than its own,
    # so nearest-last-centre would swap them; the constant-velocity prediction does not
    t = np.arange(20)
    a = np.stack([clip("wave", 1, cx=100 + 12 * k, start=k)[0] for k in t])
    b = np.stack([clip("squat", 1, cx=334 - 12 * k, start=k)[0] for k in t])
    path = write_coco(tmp_path / "cross.json", [a, b])

    x = track(read_coco_json(path), max_people=2).x

    for m in range(2):
        steps = np.diff(x[m, :, 0, 0])  # the nose's x, frame to frame
        assert (steps > 5).all() or (steps < -5).all(), f"person {m} changed direction: swap"


def test_most_moving_persons_are_kept_and_flicker_dropped(tmp_path):
    mover = clip("wave", 30, cx=200)
    bystander = clip("stand", 30, cx=500)
    flicker = np.zeros((30, 17, 3))
    flicker[4:6] = clip("squat", 2, cx=350)  # a two-frame false detection
    path = write_coco(tmp_path / "a.json", [bystander, flicker, mover])

    one = track(read_coco_json(path), max_people=1)
    two = track(read_coco_json(path), max_people=2)

    np.testing.assert_allclose(one.x[0, :, 0, 0], mover[:, 0, 0], rtol=1e-5)
    assert one.tracks == 3 and one.dropped == 2
    np.testing.assert_allclose(two.x[1, :, 0, 0], bystander[:, 0, 0], rtol=1e-5)
    assert two.dropped == 1  # the flicker: below 0.2 of the best total score


def test_frames_without_a_person_are_skipped_and_listed(tmp_path):
    person = clip("wave", 10)
    person[3:5] = 0  # no detection in frames 3 and 4
    path = write_coco(tmp_path / "gap.json", [person])

    got = track(read_coco_json(path))

    assert got.skipped == [3, 4]
    assert got.frames.tolist() == [0, 1, 2, 5, 6, 7, 8, 9]
    assert (got.x[0, :, :, 2] > 0).all()  # no zero-filled frame left in the clip


def test_frames_without_a_person_stop_the_import_when_asked(tmp_path):
    person = clip("wave", 10)
    person[3:5] = 0
    path = write_coco(tmp_path / "gap.json", [person])

    with pytest.raises(DataFormatError, match=r"gap\.json \(frame 3\): frame 3 has no person"):
        track(read_coco_json(path), empty="error")


def test_a_clip_without_any_person_is_an_error(tmp_path):
    (tmp_path / "none.json").write_text("[]")

    with pytest.raises(DataFormatError, match=r"none\.json: holds no person"):
        track(read_coco_json(tmp_path / "none.json"))


def test_truncated_json_names_the_file(tmp_path):
    text = json.dumps(coco_detections([clip("wave", 4)]))
    (tmp_path / "cut.json").write_text(text[: len(text) // 2])

    with pytest.raises(DataFormatError, match=r"cut\.json: is not valid JSON, truncated"):
        read_coco_json(tmp_path / "cut.json")


def test_nan_names_the_file_frame_and_detection(tmp_path):
    dets = coco_detections([clip("wave", 4)])
    dets[2]["keypoints"][4] = float("nan")
    (tmp_path / "nan.json").write_text(json.dumps(dets))  # json writes NaN as a bare NaN

    with pytest.raises(DataFormatError, match=r"nan\.json: frame 2, detection 2: NaN"):
        read_coco_json(tmp_path / "nan.json")


def test_nan_in_an_array_names_the_file_and_frame(tmp_path):
    x = clip("wave", 6)
    x[4, 3, 0] = np.nan
    np.save(tmp_path / "a.npy", x)

    with pytest.raises(DataFormatError, match=r"a\.npy: frame 4, person 0: NaN"):
        clip_array(tmp_path / "a.npy", "npy", layout=COCO17)


def test_wrong_keypoint_count_suggests_the_layout(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps([{"image_id": 0, "keypoints": [1.0] * 54}]))

    with pytest.raises(DataFormatError, match=r"(?s)54 keypoint numbers, expected 51.*--layout"):
        read_coco_json(tmp_path / "a.json")


def _openpose_frames(folder: Path, people: list[np.ndarray], joints: tuple[str, ...]) -> Path:
    """OpenPose --write_json files of `people` (COCO-17 clips), written in `joints` order."""
    folder.mkdir(parents=True)
    index = {name: i for i, name in enumerate(COCO17.joints)}
    for t in range(len(people[0])):
        frame = []
        for p in people:
            kp = np.zeros((len(joints), 3))
            for j, name in enumerate(joints):
                if name in index:
                    kp[j] = p[t, index[name]]
                elif name == "neck":
                    kp[j] = (p[t, 5] + p[t, 6]) / 2
            frame.append({"person_id": [-1], "pose_keypoints_2d": kp.reshape(-1).tolist()})
        (folder / f"video_{t:012d}_keypoints.json").write_text(json.dumps({"people": frame}))
    return folder


@pytest.mark.parametrize("joints", [BODY25_JOINTS, OPENPOSE18.joints], ids=["body25", "coco18"])
def test_openpose_folder_maps_onto_openpose18_and_coco17_by_joint_name(tmp_path, joints):
    person = clip("wave", 4)
    folder = _openpose_frames(tmp_path / "clip", [person], joints)

    op18, layout18 = clip_array(folder, "openpose-json")
    coco, layout17 = clip_array(folder, "openpose-json", layout=COCO17)

    assert layout18.name == "openpose18" and op18.x.shape == (2, 4, 18, 3)
    np.testing.assert_allclose(op18.x[0, :, 1], (person[:, 5] + person[:, 6]) / 2, rtol=1e-5)
    assert layout17.name == "coco17"
    np.testing.assert_allclose(coco.x[0], person, rtol=1e-5)


def test_openpose_frame_with_a_truncated_file_names_that_file(tmp_path):
    folder = _openpose_frames(tmp_path / "clip", [clip("wave", 3)], BODY25_JOINTS)
    bad = folder / "video_000000000001_keypoints.json"
    bad.write_text(bad.read_text()[:40])

    with pytest.raises(DataFormatError, match=r"video_000000000001_keypoints\.json: is not valid"):
        read_openpose_folder(folder)


def test_openpose_frame_with_nobody_is_listed_by_its_frame_number(tmp_path):
    folder = _openpose_frames(tmp_path / "clip", [clip("wave", 3)], BODY25_JOINTS)
    (folder / "video_000000000003_keypoints.json").write_text('{"people": []}')

    got, _ = clip_array(folder, "openpose-json")

    assert got.skipped == [3] and got.frames.tolist() == [0, 1, 2]


def test_arrays_with_and_without_scores_and_persons(tmp_path):
    xy = clip("wave", 5)[..., :2]
    np.save(tmp_path / "xy.npy", xy)  # (T, V, 2): score 1 where a joint is not (0, 0)
    np.save(tmp_path / "two.npy", np.stack([clip("stand", 5), clip("wave", 5, cx=100)]))

    one, _ = clip_array(tmp_path / "xy.npy", "npy", layout=COCO17, max_people=1)
    two, _ = clip_array(tmp_path / "two.npy", "npy", layout=COCO17)

    np.testing.assert_allclose(one.x[0, ..., :2], xy, rtol=1e-6)
    assert (one.x[0, ..., 2] == 1).all()
    assert two.x[0, 0, 0, 0] == pytest.approx(100, abs=5)  # the waving person moves most


def test_import_writes_a_coco17_folder_with_names_people_and_normalised_values(tmp_path):
    labels = learnable_set(tmp_path / "src", per_class=2, test_per_class=1, frames=16)

    report = import_keypoints(tmp_path / "src", labels, tmp_path / "out", fmt="coco-json")

    train = open_prepared(tmp_path / "out", "train")
    meta = read_meta(tmp_path / "out")
    assert report.samples == {"train": 4, "test": 2}
    assert train.skeleton.name == "coco17" and train.storage.shape == (4, 16, 3, 17, 2)
    assert meta["class_names"] == ["wave", "squat"] and train.y.tolist() == [0, 0, 1, 1]
    assert np.abs(train.storage[..., :2, :, 0]).max() < 20  # pixels became body lengths
    assert not train.storage[..., 1].any()  # one person: the second slot stays zero


def test_import_lists_skipped_frames_in_meta(tmp_path):
    person = clip("wave", 12)
    person[5] = 0
    (tmp_path / "src").mkdir()
    write_coco(tmp_path / "src" / "a.json", [person])
    (tmp_path / "labels.csv").write_text("file,label,split\na.json,0,train\n")

    report = import_keypoints(tmp_path / "src", tmp_path / "labels.csv", tmp_path / "out",
                              fmt="coco-json")  # fmt: skip

    assert report.skipped == {"a.json": [5]}
    assert read_meta(tmp_path / "out")["source"]["skipped_frames"] == {"a.json": [5]}
    assert open_prepared(tmp_path / "out", "train").lengths.tolist() == [11]


def test_a_clip_without_a_label_row_is_an_error_naming_it(tmp_path):
    labels = learnable_set(tmp_path / "src", per_class=1, test_per_class=0, frames=8)
    write_coco(tmp_path / "src" / "extra.json", [clip("wave", 8)])

    with pytest.raises(DataFormatError, match=r"extra\.json: has no row in .*labels\.csv"):
        import_keypoints(tmp_path / "src", labels, tmp_path / "out", fmt="coco-json")


def test_a_label_row_without_its_clip_is_an_error_naming_the_line(tmp_path):
    labels = learnable_set(tmp_path / "src", per_class=1, test_per_class=0, frames=8)
    (tmp_path / "src" / "train_squat_0.json").unlink()

    with pytest.raises(DataFormatError, match=r"labels\.csv:3: file 'train_squat_0\.json' is not"):
        import_keypoints(tmp_path / "src", labels, tmp_path / "out", fmt="coco-json")


def test_cli_imports_and_reports_what_it_left_out(tmp_path, capsys):
    labels = learnable_set(tmp_path / "src", per_class=1, test_per_class=1, frames=8)

    code = main(["data", "import-keypoints", str(tmp_path / "src"), str(tmp_path / "out"),
                 "--format", "coco-json", "--labels", str(labels),
                 "--max-people", "1"])  # fmt: skip

    assert code == 0
    assert "wrote" in capsys.readouterr().out
    assert open_prepared(tmp_path / "out", "test").storage.shape == (2, 8, 3, 17, 1)


def test_cli_bad_input_is_one_line_and_exit_1(tmp_path, capsys):
    labels = learnable_set(tmp_path / "src", per_class=1, test_per_class=0, frames=8)
    (tmp_path / "src" / "train_wave_0.json").write_text("[{")

    code = main(["data", "import-keypoints", str(tmp_path / "src"), str(tmp_path / "out"),
                 "--format", "coco-json", "--labels", str(labels)])  # fmt: skip

    assert code == 1
    assert "train_wave_0.json: is not valid JSON" in capsys.readouterr().err


def test_a_track_id_twice_in_one_frame_is_an_error(tmp_path):
    dets = coco_detections([clip("wave", 3), clip("squat", 3, cx=100)], track_ids=True)
    dets[3]["track_id"] = 0  # frame 1 now has track 0 twice
    (tmp_path / "a.json").write_text(json.dumps(dets))

    with pytest.raises(DataFormatError, match=r"a\.json \(frame 1\): key 'track_id': track_id 0 "
                       "appears twice in frame 1"):  # fmt: skip
        track(read_coco_json(tmp_path / "a.json"))


def test_normalise_none_keeps_pixels(tmp_path):
    labels = learnable_set(tmp_path / "src", per_class=1, test_per_class=0, frames=8)

    import_keypoints(tmp_path / "src", labels, tmp_path / "out", fmt="coco-json",
                     normalise="none")  # fmt: skip

    meta = read_meta(tmp_path / "out")
    assert meta["channels"] == "xy-score" and meta["normalise"] == "none"
    assert open_prepared(tmp_path / "out", "train").storage[..., 0, :, 0].max() > 100  # pixels


def test_the_command_lines_offer_every_format_the_reader_knows():
    from skelab.cli import predict as cli_predict
    from skelab.cli.data import import_keypoints as cli_import
    from skelab.data.keypoints import FORMATS

    assert cli_import.FORMATS == FORMATS and cli_predict.KEYPOINT_FORMATS == FORMATS


def test_nan_in_an_openpose_frame_names_the_file_frame_and_person(tmp_path):
    folder = _openpose_frames(tmp_path / "clip", [clip("wave", 3)], BODY25_JOINTS)
    bad = folder / "video_000000000002_keypoints.json"
    data = json.loads(bad.read_text())
    data["people"][0]["pose_keypoints_2d"][3] = float("nan")
    bad.write_text(json.dumps(data))  # a bare NaN, as Python's json writes it

    with pytest.raises(DataFormatError, match=r"keypoints\.json: frame 2, person 0: NaN"):
        read_openpose_folder(folder)


def test_truncated_array_names_the_file(tmp_path):
    np.save(tmp_path / "a.npy", clip("wave", 6))
    data = (tmp_path / "a.npy").read_bytes()
    (tmp_path / "a.npy").write_bytes(data[: len(data) // 2])

    with pytest.raises(DataFormatError, match=r"a\.npy: cannot be read as \.npy, truncated"):
        clip_array(tmp_path / "a.npy", "npy", layout=COCO17)


def test_array_frames_without_a_person_are_skipped_and_listed(tmp_path):
    x = clip("wave", 6)
    x[2] = 0  # frame 2: every joint unseen (score 0)
    np.save(tmp_path / "a.npy", x)

    got, _ = clip_array(tmp_path / "a.npy", "npy", layout=COCO17)

    assert got.skipped == [2] and got.frames.tolist() == [0, 1, 3, 4, 5]
    with pytest.raises(DataFormatError, match=r"a\.npy \(frame 2\): frame 2 has no person"):
        clip_array(tmp_path / "a.npy", "npy", layout=COCO17, empty="error")


def _pose_npz(path: Path, keypoints: np.ndarray) -> Path:
    """The NPZ `skelab pose` writes, for one person in every frame."""
    t = len(keypoints)
    np.savez(path, frame=np.arange(t), keypoints=keypoints.astype(np.float32),
             score=np.full(t, 0.9, np.float32), layout=np.array("coco17"),
             num_frames=np.array(t))  # fmt: skip
    return path


def test_pose_npz_with_nan_or_truncated_names_the_file_and_frame(tmp_path):
    x = clip("wave", 5)
    got, layout = clip_array(_pose_npz(tmp_path / "ok.npz", x), "pose-npz")
    assert layout.name == "coco17" and got.frames.tolist() == [0, 1, 2, 3, 4]

    x[3, 0, 1] = np.nan
    with pytest.raises(DataFormatError, match=r"nan\.npz: frame 3, detection 3: NaN"):
        clip_array(_pose_npz(tmp_path / "nan.npz", x), "pose-npz")

    data = (tmp_path / "ok.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataFormatError, match=r"cut\.npz: is not a `skelab pose` NPZ"):
        clip_array(tmp_path / "cut.npz", "pose-npz")

"""Importers: NW-UCLA (real files), Kinetics-Skeleton and a folder of arrays; models train on
the 20-joint folder and refuse a layout they were not built for."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from shared_refs import REAL_DATA, require
from skelab.cli.main import main
from skelab.data.importers import import_arrays, import_kinetics, import_nwucla
from skelab.data.prepared import open_prepared, read_meta
from skelab.errors import DataFormatError, ModelConfigError
from skelab.models import build
from skelab.skeletons import get_skeleton

UCLA = REAL_DATA / "nw-ucla"


@pytest.fixture
def ucla(tmp_path: Path) -> Path:
    require(UCLA)
    return import_nwucla(UCLA, tmp_path / "ucla")


def test_nwucla_import_keeps_values_views_and_labels(ucla):
    train, test = open_prepared(ucla, "train"), open_prepared(ucla, "test")

    assert train.skeleton.name == "nwucla20" and train.storage.shape == (2, 44, 3, 20, 1)
    assert train.y.tolist() == [0, 0] and train.lengths.tolist() == [44, 30]  # views 1, 2
    assert test.y.tolist() == [0, 1, 8] and test.lengths.tolist() == [27, 1, 14]  # view 3
    src = json.loads((UCLA / "a11_s01_e00_v03.json").read_text())["skeletons"]
    np.testing.assert_array_equal(
        test.storage[2, :14, :, :, 0], np.asarray(src, np.float32).transpose(0, 2, 1)
    )
    assert not test.storage[1, 1:].any()  # the one-frame sample is zero-padded


def test_nwucla_class_names_reach_the_dataset_and_a_run_config(ucla):
    from skelab.engine.fromdata import class_names_of
    from skelab.engine.presets import load_config

    cfg = load_config("ntu60-xsub/stgcn-lite-joint", [f"data.path={ucla}"])

    assert open_prepared(ucla, "test").class_names[8] == "throw"  # label 8: a11, not "class 8"
    assert class_names_of(cfg)[8] == "throw" and cfg.data.num_classes == 10
    assert cfg.model.options["skeleton"] == "nwucla20"


@pytest.mark.parametrize(
    "name",
    ["stgcn-lite", pytest.param("stgcn", marks=pytest.mark.slow),
     pytest.param("ctrgcn", marks=pytest.mark.slow), pytest.param("msg3d", marks=pytest.mark.slow)],
)  # fmt: skip
def test_model_takes_a_training_step_on_the_20_joint_folder(ucla, name):
    ds = open_prepared(ucla, "train")
    model = build(
        name, num_classes=ds.num_classes, num_joints=ds.skeleton.num_joints, num_persons=1,
        skeleton=ds.skeleton.name,
    )  # fmt: skip
    x = torch.from_numpy(np.ascontiguousarray(ds.x[:, :, :8]))  # (N, C, T, V, M)
    y = torch.from_numpy(ds.y)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    before = [p.detach().clone() for p in model.parameters()]

    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()

    assert torch.isfinite(loss)
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))


def test_model_built_for_25_joints_refuses_the_20_joint_layout(ucla):
    ds = open_prepared(ucla, "train")

    with pytest.raises(ModelConfigError, match="'ntu25' graph has 25 joints") as err:
        build("ctrgcn", num_classes=10, num_joints=ds.skeleton.num_joints, num_persons=1)
    assert "skeleton='nwucla20'" in str(err.value)


@pytest.fixture
def coco_arrays(tmp_path: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(0)
    d = tmp_path / "poses"
    d.mkdir()
    rows = ["file,label,split"]
    for i, (label, split, t) in enumerate([("wave", "train", 5), ("sit", "train", 8),
                                           ("wave", "test", 3)]):  # fmt: skip
        np.save(d / f"c{i}.npy", rng.uniform(0.1, 1.0, (t, 17, 3)).astype(np.float32))
        rows.append(f"c{i}.npy,{label},{split}")
    csv = tmp_path / "labels.csv"
    csv.write_text("\n".join(rows) + "\n")
    return d, csv


def test_arrays_import_with_a_named_layout_and_class_names(coco_arrays, tmp_path):
    d, csv = coco_arrays

    out = import_arrays(d, csv, tmp_path / "out", skeleton=get_skeleton("coco17"), normalise="none")

    train = open_prepared(out, "train")
    assert train.skeleton.name == "coco17" and train.storage.shape == (2, 8, 3, 17, 1)
    assert train.y.tolist() == [0, 1]  # class names numbered in order of appearance
    assert read_meta(out)["class_names"] == ["wave", "sit"]
    assert train.class_names == ("wave", "sit")
    first = np.load(d / "c0.npy").transpose(0, 2, 1)  # (T, C, V)
    np.testing.assert_array_equal(train.storage[0, :5, :, :, 0], first)


def test_arrays_import_rejects_a_joint_count_the_layout_does_not_have(coco_arrays, tmp_path):
    d, csv = coco_arrays

    with pytest.raises(DataFormatError, match=r"expected \(T, V=18, C\) for layout 'openpose18'"):
        import_arrays(d, csv, tmp_path / "out", skeleton=get_skeleton("openpose18"))


def test_cli_imports_arrays_with_an_edge_list_layout(coco_arrays, tmp_path, capsys):
    d, csv = coco_arrays
    edges = tmp_path / "edges.txt"
    edges.write_text("# child parent\n" + "\n".join(f"{i} {i - 1}" for i in range(1, 17)) + "\n")

    code = main(["data", "import-arrays", str(d), str(csv), str(tmp_path / "out"),
                 "--edges", str(edges), "--center", "0", "--name", "chain17"])  # fmt: skip

    assert code == 0
    ds = open_prepared(tmp_path / "out", "test")
    layout = ds.skeleton
    assert (layout.name, layout.num_joints, len(layout.inward)) == ("chain17", 17, 16)
    assert "layout chain17, 17 joints" in capsys.readouterr().out


def _clip(frames: list[list[tuple[float, list[float]]]]) -> dict:
    """A Kinetics-Skeleton clip: per frame, people as (score, pose of 36 numbers)."""
    data = [
        {"frame_index": t, "skeleton": [{"pose": pose, "score": [s] * 18} for s, pose in people]}
        for t, people in enumerate(frames)
    ]
    return {"data": data, "label": "x", "label_index": 0}


def test_kinetics_import_keeps_the_two_best_scored_people_and_centres_xy(tmp_path):
    clips = tmp_path / "kinetics_train"
    clips.mkdir()
    people = [(0.2, [0.1] * 36), (0.9, [0.7] * 36), (0.5, [0.6] * 36)]
    (clips / "a.json").write_text(json.dumps(_clip([people, people[:1]])))
    labels = tmp_path / "train_label.json"
    labels.write_text(json.dumps({"a": {"has_skeleton": True, "label_index": 7},
                                  "b": {"has_skeleton": False, "label_index": 1}}))  # fmt: skip

    out = import_kinetics({"train": clips}, {"train": labels}, tmp_path / "out")

    ds = open_prepared(out, "train")
    assert ds.skeleton.name == "openpose18" and ds.storage.shape == (1, 300, 3, 18, 2)
    assert ds.y.tolist() == [7] and ds.lengths.tolist() == [2]
    frame0 = np.asarray(ds.storage[0, 0])  # (C, V, M): best score first
    np.testing.assert_allclose(frame0[:, 0, 0], [0.2, 0.2, 0.9], atol=1e-6)
    np.testing.assert_allclose(frame0[:, 0, 1], [0.1, 0.1, 0.5], atol=1e-6)
    frame1 = np.asarray(ds.storage[0, 1, :, 0, :]).T  # (M, C) of joint 0
    np.testing.assert_allclose(frame1, [[-0.4, -0.4, 0.2], [0, 0, 0]], atol=1e-6)

"""Layout, people and classes come from a prepared folder's meta.json (`skelab.engine.fromdata`)."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from skelab.data.importers import import_arrays
from skelab.engine.build import build_model, check_pairing
from skelab.engine.configfile import from_dict
from skelab.engine.fromdata import class_names_of
from skelab.engine.presets import load_config
from skelab.errors import ConfigError
from skelab.skeletons import COCO17, NTU25, skeleton_from_edges

NAMES = ("wave", "sway", "squat", "clap")


def _folder(tmp_path: Path, skeleton=COCO17, name: str = "coco", frames: int = 6) -> Path:
    """A 4-class, one-person folder of 2-D clips in `skeleton`'s layout."""
    rng = np.random.default_rng(0)
    d = tmp_path / f"{name}_poses"
    d.mkdir()
    rows = ["file,label,split"]
    for i in range(8):
        x = rng.normal(300, 40, (frames, skeleton.num_joints, 3)).astype(np.float32)
        x[..., 2] = 0.9
        np.save(d / f"c{i}.npy", x)
        rows.append(f"c{i}.npy,{NAMES[i % 4]},{'train' if i < 4 else 'test'}")
    (tmp_path / f"{name}.csv").write_text("\n".join(rows) + "\n")
    return import_arrays(
        d, tmp_path / f"{name}.csv", tmp_path / name, skeleton=skeleton, coords="2d"
    )


@pytest.fixture
def coco(tmp_path: Path) -> Path:
    return _folder(tmp_path)


@pytest.mark.parametrize("preset", ["ntu60-xsub/stgcn-lite-joint", "ntu60-xsub/ctrgcn-joint"])
def test_preset_on_a_coco17_folder_takes_layout_people_and_classes(coco, preset, caplog):
    with caplog.at_level(logging.INFO, logger="skelab"):
        cfg = load_config(preset, [f"data.path={coco}"])

    assert cfg.data.num_classes == 4 and cfg.data.class_names == NAMES
    assert cfg.model.options["skeleton"] == "coco17"
    assert (cfg.model.options["num_joints"], cfg.model.options["num_persons"]) == (17, 1)
    assert "model.options.skeleton" in cfg.data.from_meta
    assert "from_meta" in cfg.to_yaml() and "skeleton: coco17" in cfg.to_yaml()
    [line] = [r.getMessage() for r in caplog.records if "meta.json" in r.getMessage()]
    assert "layout coco17" in line and "data.num_classes=4" in line
    model = build_model(cfg)
    logits = model(torch.zeros(2, 3, 8, 17, 1))
    assert logits.shape == (2, 4)


def test_ntu_only_model_is_refused_naming_the_models_that_take_the_layout(coco):
    with pytest.raises(ConfigError, match=r"(?s)hypergcn reads NTU.*coco17.*ctrgcn.*stgcn-lite"):
        load_config("ntu60-xsub/hypergcn-joint", [f"data.path={coco}"])


def test_partial_override_is_completed_from_the_data(coco):
    cfg = load_config(
        "ntu60-xsub/stgcn-lite-joint", [f"data.path={coco}", "model.options.num_joints=17"]
    )

    assert cfg.model.options["skeleton"] == "coco17"
    assert "model.options.num_joints" not in cfg.data.from_meta


def test_override_that_contradicts_the_data_names_the_exact_set(coco):
    with pytest.raises(ConfigError, match=r"(?s)model\.options\.skeleton.*nwucla20.*coco17") as e:
        load_config(
            "ntu60-xsub/stgcn-lite-joint",
            [f"data.path={coco}", "model.options.skeleton=nwucla20"],
        )
    assert "fix: --set model.options.skeleton=coco17" in str(e.value)


def test_explicit_class_count_is_kept(coco):
    cfg = load_config("ntu60-xsub/stgcn-lite-joint", [f"data.path={coco}", "data.num_classes=6"])

    assert cfg.data.num_classes == 6 and "data.num_classes" not in cfg.data.from_meta


def test_run_config_reloads_to_the_same_config(coco, tmp_path):
    cfg = load_config("ntu60-xsub/ctrgcn-joint", [f"data.path={coco}"])
    saved = tmp_path / "config.yaml"
    saved.write_text(cfg.to_yaml())

    again = load_config(saved)

    assert again.model == cfg.model and again.data == cfg.data


def test_custom_layout_travels_as_a_dict_and_builds(tmp_path):
    chain = skeleton_from_edges([(i, i - 1) for i in range(1, 6)], center=0, name="chain6")
    folder = _folder(tmp_path, chain, "chain")

    cfg = load_config("ntu60-xsub/stgcn-lite-joint", [f"data.path={folder}"])

    assert cfg.model.options["skeleton"]["name"] == "chain6"
    assert build_model(cfg)(torch.zeros(1, 3, 8, 6, 1)).shape == (1, 4)


def test_ntu_folder_leaves_an_ntu_preset_unchanged(tmp_path):
    folder = _folder(tmp_path, NTU25, "ntu")

    cfg = load_config("ntu60-xsub/hypergcn-joint", [f"data.path={folder}"])

    assert "num_joints" not in cfg.model.options and cfg.model.options["num_persons"] == 1


def test_config_without_resolution_gets_the_exact_set_in_the_pairing_error():
    cfg = from_dict({"model": {"name": "ctrgcn"}}, where="test")

    with pytest.raises(ConfigError) as e:
        check_pairing(cfg, 17, where="data/coco", layout="coco17")
    assert "--set model.options.skeleton=coco17 --set model.options.num_joints=17" in str(e.value)


def test_class_names_of_falls_back_to_ntu_names_and_generic_names():
    ntu = from_dict({"data": {"num_classes": 60}}, where="test")
    small = from_dict({"data": {"num_classes": 3}}, where="test")

    assert class_names_of(ntu)[0] == "drink water"
    assert class_names_of(small) == ("class 0", "class 1", "class 2")


@pytest.mark.parametrize("model_name", ["stgcn", "stgcn-lite", "ctrgcn", "msg3d", "mlp"])
def test_every_any_layout_preset_runs_a_batch_of_a_coco17_folder(coco, model_name):
    from skelab.engine.build import build_run_loaders
    from skelab.models.registry import any_layout_models

    assert model_name in any_layout_models()
    small = ["data.window=16", "train.batch_size=2", "train.forward_batch_size=0"]
    cfg = load_config(f"ntu60-xsub/{model_name}-joint", [f"data.path={coco}", *small])
    loaders = build_run_loaders(cfg, device=torch.device("cpu"), train=True)
    batch = next(iter(loaders.train))

    assert tuple(batch.x.shape) == (2, 3, 16, 17, 1)
    assert build_model(cfg)(batch.x).shape == (2, 4)


def test_protogcn_on_2d_keypoints_names_the_style_that_takes_them(coco):
    """ProtoGCN takes any layout, but its preset's PYSKL pipeline is 3-D NTU only."""
    from skelab.engine.build import build_run_loaders
    from skelab.models.registry import any_layout_models

    assert "protogcn" in any_layout_models()
    cfg = load_config("ntu60-xsub/protogcn-joint", [f"data.path={coco}"])
    with pytest.raises(ConfigError, match=r"(?s)data\.style.*2-D.*--set data\.style=ctrgcn"):
        build_run_loaders(cfg, device=torch.device("cpu"), train=True)

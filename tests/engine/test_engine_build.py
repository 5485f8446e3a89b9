"""Building a run: bad labels and model/data mismatches are caught before the first step."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_engine_support import tiny_config

from skelab.engine.build import build_loaders, check_pairing, load_weights
from skelab.engine.presets import load_config
from skelab.engine.trainer import Trainer
from skelab.errors import CheckpointError, ConfigError


def _npz(path, *, train_labels, test_labels=(0, 1, 2, 3), frames=8, num_classes=None):
    """A 5-D layout NPZ; without `num_classes` the file's class count is inferred."""
    rng = np.random.default_rng(0)

    def x(n):
        return rng.standard_normal((n, 3, frames, 25, 2)).astype(np.float32)

    ytr, yte = np.asarray(train_labels, np.int64), np.asarray(test_labels, np.int64)
    extra = {} if num_classes is None else {"num_classes": np.int64(num_classes)}
    np.savez(path, x_train=x(len(ytr)), y_train=ytr, x_test=x(len(yte)), y_test=yte, **extra)
    return path


def test_a_train_label_above_num_classes_is_caught_with_file_split_label_and_fix(tmp_path):
    path = _npz(tmp_path / "bad.npz", train_labels=[0, 5, 99, 3])
    cfg = load_config("ntu60-xsub/mlp-joint", [f"data.path={path}", "train.device=cpu"])

    with pytest.raises(ConfigError) as err:
        build_loaders(cfg, device=torch.device("cpu"))

    text = str(err.value)
    assert str(path) in text and "train split" in text and "99" in text
    assert "data.num_classes" in text and "is 60" in text
    assert "fix: --set data.num_classes=100" in text


def test_the_trainer_refuses_bad_train_labels_before_training(tmp_path):
    path = _npz(tmp_path / "bad.npz", train_labels=[0, 1, 2, 7] * 4)
    cfg = tiny_config(data={"path": str(path)})

    with pytest.raises(ConfigError, match=r"(?s)train split holds labels up to 7.*fix:"):
        Trainer(cfg, work_dir=None, progress=False)


def test_labels_within_num_classes_build_both_loaders(tmp_path):
    path = _npz(tmp_path / "ok.npz", train_labels=[0, 1, 2, 3] * 4, num_classes=4)
    cfg = tiny_config(data={"path": str(path)})

    train, test, test_ds = build_loaders(cfg, device=torch.device("cpu"))

    assert train is not None and len(test_ds) == 4 and len(test) == 1


def test_skateformer_on_the_ctrgcn_feeder_fails_at_build_naming_the_style(tmp_path):
    path = _npz(tmp_path / "ok.npz", train_labels=[0, 1, 2, 3] * 4)
    cfg = load_config(
        "ntu60-xsub/skateformer-joint",
        [f"data.path={path}", "data.style=ctrgcn", "data.aug_method=", "data.inter_p=0"],
    )

    with pytest.raises(ConfigError, match=r"(?s)index_t.*fix: --set data\.style=skateformer"):
        build_loaders(cfg, device=torch.device("cpu"))


def test_a_25_joint_model_on_the_skateformer_style_is_told_to_use_ctrgcn(tmp_path):
    path = _npz(tmp_path / "ok.npz", train_labels=[0, 1, 2, 3] * 4)
    cfg = load_config(
        "ntu60-xsub/ctrgcn-joint",
        [f"data.path={path}", "data.style=skateformer", "train.device=cpu"],
    )

    with pytest.raises(ConfigError, match=r"(?s)reads 25 joints.*gives it 24.*data\.style=ctrgcn"):
        build_loaders(cfg, device=torch.device("cpu"))


def test_a_model_for_any_layout_on_20_joint_data_is_told_the_exact_set():
    cfg = load_config("ntu60-xsub/ctrgcn-joint")

    with pytest.raises(
        ConfigError,
        match=r"(?s)reads 25 joints.*20-joint data.*fix: --set model\.options\.skeleton=nwucla20 "
        r"--set model\.options\.num_joints=20",
    ):
        check_pairing(cfg, 20, where="ucla.npz")


def test_an_ntu_only_model_on_20_joint_data_names_the_models_for_any_layout():
    cfg = load_config("ntu60-xsub/hypergcn-joint")

    with pytest.raises(ConfigError, match=r"(?s)expects ntu25.*any layout \(.*ctrgcn.*stgcn-lite"):
        check_pairing(cfg, 20, where="ucla.npz")


def test_a_layout_free_model_is_told_its_joint_option():
    cfg = load_config("ntu60-xsub/mlp-joint")

    with pytest.raises(ConfigError, match=r"fix: --set model\.options\.num_joints=17"):
        check_pairing(cfg, 17, where="coco.npz")


def test_matching_model_and_data_pass_the_pairing_check():
    check_pairing(load_config("ntu60-xsub/skateformer-joint"), 25, where="ntu.npz")
    check_pairing(load_config("ntu60-xsub/ctrgcn-joint"), 25, where="ntu.npz")


def test_load_weights_lists_the_keys_that_do_not_fit(tmp_path):
    torch.save({"model": {"fc.weight": torch.zeros(2, 2)}}, tmp_path / "w.pt")
    model = torch.nn.Sequential()
    model.add_module("fc", torch.nn.Linear(3, 2))

    with pytest.raises(CheckpointError, match=r"(?s)w\.pt.*missing: fc\.bias.*fc\.weight"):
        load_weights(model, tmp_path / "w.pt")

"""Prediction: named top-5 per sample, equal to evaluation, on NPZs and real NTU recordings."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from shared_refs import REAL_DATA, require
from skelab.apps.predict import predict, resolve_model
from skelab.cli.main import main
from skelab.engine.build import build_model
from skelab.engine.evaluate import evaluate_weights
from skelab.engine.presets import load_config
from skelab.errors import SkelabError
from skelab.skeletons import NTU60_CLASSES

RECORDING = REAL_DATA / "ntu" / "S001C001P001R001A001.skeleton"
SMALL = ["train.device=cpu", "model.options={segments: 2, hidden: [16]}", "data.window=16"]


@pytest.fixture
def weights(tmp_path):
    """An untrained 60-class MLP saved as a training checkpoint carries (weights + config)."""
    cfg = load_config("ntu60-xsub/mlp-joint", SMALL)
    torch.manual_seed(0)
    path = tmp_path / "mlp60.pt"
    torch.save({"model": build_model(cfg).state_dict(), "config": cfg.to_dict()}, path)
    return path


def test_a_real_ntu_recording_gets_five_named_classes_with_probabilities(weights):
    require(RECORDING)
    cfg, path = resolve_model(weights)

    (pred,) = predict(cfg, path, [RECORDING])

    assert pred.sample == RECORDING.name and pred.label == 0  # A001: drink water
    probs = [p for _, _, p in pred.top]
    assert len(pred.top) == 5 and probs == sorted(probs, reverse=True) and sum(probs) <= 1.0
    assert all(name == NTU60_CLASSES[c] for c, name, _ in pred.top)


def test_predictions_follow_the_evaluation_scores_of_the_same_clips(tmp_path, weights):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6, 3, 20, 25, 2)).astype(np.float32)
    y = np.arange(6, dtype=np.int64)
    npz = tmp_path / "d.npz"
    np.savez(npz, x_train=x, y_train=y, x_test=x, y_test=y, num_classes=np.int64(60))
    cfg = load_config("ntu60-xsub/mlp-joint", [*SMALL, f"data.path={npz}"])

    preds = predict(cfg, weights, [npz])
    result, _ = evaluate_weights(cfg, weights, work_dir=None, progress=False)

    assert [p.sample for p in preds] == [str(i) for i in range(6)]
    assert [p.label for p in preds] == list(range(6))
    probs = torch.softmax(torch.from_numpy(result.scores).double(), 1).numpy()
    for p, row in zip(preds, probs, strict=True):
        assert [c for c, _, _ in p.top] == list(np.argsort(-row, kind="stable")[:5])
        assert p.top[0][2] == pytest.approx(row.max())


def test_weights_without_a_config_ask_for_one(tmp_path):
    torch.save({"fc.weight": torch.zeros(2, 2)}, tmp_path / "bare.pt")

    with pytest.raises(SkelabError, match=r"(?s)carries no config.*--config"):
        resolve_model(tmp_path / "bare.pt")


def test_cli_predict_prints_json_per_sample(weights, capsys):
    require(RECORDING)
    assert main(["predict", str(weights), str(RECORDING), "--json", "--no-progress"]) == 0

    out = json.loads(capsys.readouterr().out)
    assert out["sample"] == RECORDING.name and len(out["top5"]) == 5
    assert out["top5"][0]["name"] in NTU60_CLASSES


def test_data_with_more_classes_than_the_model_still_gets_predictions(tmp_path, weights):
    x = np.random.default_rng(1).standard_normal((2, 3, 20, 25, 2)).astype(np.float32)
    y = np.array([5, 99], np.int64)  # NTU120 labels, a 60-class model
    npz = tmp_path / "d120.npz"
    np.savez(npz, x_train=x, y_train=y, x_test=x, y_test=y, num_classes=np.int64(120))
    cfg, path = resolve_model(weights)

    preds = predict(cfg, path, [npz])

    assert [p.label for p in preds] == [5, 99] and all(len(p.top) == 5 for p in preds)

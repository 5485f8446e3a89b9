"""skelab's test-split transforms reproduce the upstream feeders' outputs (golden fixtures)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import skelab.data as sd

CTR = {"joint": "joint", "bone": "bone", "motion": "motion", "bone_motion": "bone_motion"}
SKATE = {"joint": "j", "bone": "b", "motion": "jm", "bone_motion": "bm"}


def _input(golden_dir):
    ds = sd.load(golden_dir / "feeder_ctrgcn" / "feeder_input.npz", split="test")
    return ds, torch.from_numpy(np.ascontiguousarray(ds.x))


def test_golden_valid_lengths_match_fixture(golden_dir):
    import json

    meta = json.loads((golden_dir / "feeder_ctrgcn" / "feeder.json").read_text())

    ds, _ = _input(golden_dir)

    assert ds.lengths.tolist() == meta["valid_lengths"]


@pytest.mark.golden
@pytest.mark.parametrize("modality", sorted(CTR))
def test_ctrgcn_test_transform_matches_upstream_feeder(golden_dir, modality):
    ds, x = _input(golden_dir)
    expected = np.load(golden_dir / "feeder_ctrgcn" / "feeder_expected_test_p095_w64.npz")
    t = sd.BatchTransform(style="ctrgcn", window=64, modality=modality, train=False)

    out = t(x, ds.lengths)

    assert out.index_t is None
    assert np.abs(out.x.numpy() - expected[CTR[modality]]).max() < 1e-5
    assert ds.y.tolist() == expected["labels"].tolist()


@pytest.mark.golden
@pytest.mark.parametrize("modality", sorted(SKATE))
def test_skateformer_test_transform_matches_upstream_feeder(golden_dir, modality):
    ds, x = _input(golden_dir)
    expected = np.load(golden_dir / "feeder_skateformer" / "feeder_expected_test_p095_w64.npz")
    t = sd.BatchTransform(style="skateformer", window=64, modality=modality, train=False)

    out = t(x, ds.lengths)

    key = SKATE[modality]
    assert out.x.shape == (8, 3, 64, 24, 2)
    assert np.abs(out.x.numpy() - expected[key]).max() < 1e-5
    assert np.abs(out.index_t.numpy() - expected[f"{key}_index_t"]).max() < 1e-5


@pytest.mark.golden
@pytest.mark.parametrize("style", ["ctrgcn", "skateformer"])
def test_loader_from_prepared_folder_matches_upstream_feeder(golden_dir, tmp_path, style):
    folder = sd.prepare(golden_dir / "feeder_ctrgcn" / "feeder_input.npz", tmp_path / "p")
    ds = sd.load(folder, split="test")
    name = "feeder_ctrgcn" if style == "ctrgcn" else "feeder_skateformer"
    expected = np.load(golden_dir / name / "feeder_expected_test_p095_w64.npz")
    t = sd.BatchTransform(style=style, window=64, modality="bone_motion", train=False)

    (batch,) = list(sd.BatchLoader(ds, batch_size=8, train=False, transform=t))

    key = "bone_motion" if style == "ctrgcn" else "bm"
    assert batch.index.tolist() == list(range(8))
    assert np.abs(batch.x.numpy() - expected[key]).max() < 1e-5

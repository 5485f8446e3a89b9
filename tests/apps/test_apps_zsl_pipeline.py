"""The staged pipeline: resumable VAE stage, cycle selection on validation, result format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from skelab.apps import zsl_pipeline as pl
from skelab.errors import ConfigError
from skelab.zeroshot import methods
from skelab.zeroshot.features import FeatureFolder
from skelab.zeroshot.methods import MethodConfig
from skelab.zeroshot.splits import ZeroShotSplit

SPLIT = ZeroShotSplit(name="tiny", num_classes=8, unseen=(6, 7), val_unseen=(4, 5))


class Bar:
    def __init__(self):
        self.n = 0

    def update(self, k):
        self.n += k


def _folder(rng, labels_train, labels_z) -> FeatureFolder:
    arrays = {
        "train": rng.random((len(labels_train), 6)).astype(np.float32),
        "train_label": np.asarray(labels_train, np.int64),
        "ztest": rng.random((len(labels_z), 6)).astype(np.float32),
        "z_label": np.asarray(labels_z, np.int64),
        "gtest": rng.random((len(labels_z), 6)).astype(np.float32),
    }
    return FeatureFolder(Path("feats"), arrays)


def _vae(out: Path, folder: FeatureFolder, bar: Bar) -> list[dict[str, np.ndarray]]:
    mcfg = MethodConfig.for_method(
        "msf", cycles=2, steps_per_cycle=6, cls_samples=8, cls_steps=5, latent=4, batch_size=8
    )
    text = np.random.default_rng(1).standard_normal((8, 5)).astype(np.float32)
    return pl.stage_vae(
        folder, val=False, unseen=SPLIT.unseen, text=text, mcfg=mcfg, seed=5, device="cpu",
        out=out, digest="d1", bar=bar,
    )  # fmt: skip


def test_vae_stage_resumed_after_a_cycle_equals_an_uninterrupted_run(tmp_path, monkeypatch):
    folder = _folder(np.random.default_rng(0), [0, 1, 2, 3] * 5, [6, 7, 6, 7])
    whole = _vae(tmp_path / "a", folder, Bar())
    real_cycle = methods.ZSLTrainer.train_cycle

    def killed_in_cycle_2(self, progress=None):
        if self.cycles_done == 1:
            raise KeyboardInterrupt
        return real_cycle(self, progress)

    with monkeypatch.context() as m:
        m.setattr(methods.ZSLTrainer, "train_cycle", killed_in_cycle_2)
        with pytest.raises(KeyboardInterrupt):
            _vae(tmp_path / "b", folder, Bar())

    bar = Bar()
    resumed = _vae(tmp_path / "b", folder, bar)

    assert bar.n == 12  # one cycle counted as done, one trained
    for a, b in zip(whole, resumed, strict=True):
        assert float(a["zsl"]) == float(b["zsl"])
        np.testing.assert_array_equal(a["gtest"], b["gtest"])


def test_vae_stage_is_skipped_when_every_cycle_is_saved(tmp_path):
    folder = _folder(np.random.default_rng(0), [0, 1, 2, 3] * 5, [6, 7, 6, 7])
    _vae(tmp_path, folder, Bar())
    stamp = (tmp_path / "cycle_1.npz").stat().st_mtime_ns

    _vae(tmp_path, folder, Bar())

    assert (tmp_path / "cycle_1.npz").stat().st_mtime_ns == stamp


def _records(accs, key_shapes, rng):
    return [{"zsl": np.float64(a), **{k: rng.random(s) for k, s in key_shapes.items()}}
            for a in accs]  # fmt: skip


def test_skelab_figure_takes_the_validation_best_cycle_and_upstream_the_test_best():
    rng = np.random.default_rng(0)
    test = FeatureFolder(Path("t"), {"gtest_out": rng.random((12, 8)),
                                     "g_label": np.arange(12) % 8})  # fmt: skip
    val = FeatureFolder(Path("v"), {"ztest_out": rng.random((10, 8)),
                                    "val_out": rng.random((10, 8))})  # fmt: skip
    test_recs = _records([0.3, 0.9, 0.5], {"gtest": (12, 2)}, rng)
    val_recs = _records([0.2, 0.4, 0.8], {"ztest": (10, 2), "val": (10, 2)}, rng)

    r = pl.select_and_evaluate(test_recs, val_recs, test, val, SPLIT, seed=5)

    assert (r.cycle, r.zsl) == (3, 0.5)
    assert (r.upstream["cycle"], r.upstream["zsl"]) == (2, 0.9)
    assert r.upstream_gate["temperature"] == 2.0 and r.upstream_gate["threshold"] == 0.5
    assert r.cycles == [0.3, 0.9, 0.5] and r.val_cycles == [0.2, 0.4, 0.8]


def _seed_result(seed, zsl):
    return pl.SeedResult(
        seed=seed, zsl=zsl, seen=0.5, unseen=0.4, h=0.44, cycle=1,
        upstream={"zsl": zsl + 0.1, "seen": 0.5, "unseen": 0.5, "h": 0.5, "cycle": 2},
        cycles=[zsl, zsl + 0.1], val_cycles=[0.6, 0.5],
        gate={"temperature": 3.0, "threshold": 0.6},
    )  # fmt: skip


def test_result_json_has_the_figures_upstream_figures_and_cycles():
    result = pl.RunResult(pl.RunOptions(), [_seed_result(5, 0.4)], "feats", 1700)

    d = result.to_dict()

    assert {"zsl", "seen", "unseen", "h", "upstream", "cycles"} <= set(d)
    assert set(d["upstream"]) == {"zsl", "seen", "unseen", "h"}
    assert d["cycles"] == pytest.approx([0.4, 0.5]) and "spread" not in d
    assert "chosen on validation" in result.to_text() and "upstream rule" in result.to_text()


def test_several_seeds_report_mean_and_spread():
    result = pl.RunResult(
        pl.RunOptions(seeds=2), [_seed_result(5, 0.4), _seed_result(6, 0.6)], "feats", 1700
    )

    d = result.to_dict()

    assert d["zsl"] == pytest.approx(0.5)
    assert d["spread"]["zsl"] == pytest.approx(np.std([0.4, 0.6], ddof=1))
    assert d["upstream"]["zsl"] == pytest.approx(0.6) and len(d["runs"]) == 2
    assert "±" in result.to_text()


def test_run_without_features_or_backbone_config_says_how_to_get_them(tmp_path):
    with pytest.raises(ConfigError, match=r"(?s)--config.*fix:.*--features DIR"):
        pl.stage_features(SPLIT, tmp_path, features=None, backbone_cfg=None, progress=False)


def test_text_table_is_encoded_once_per_encoder_and_mode(tmp_path, monkeypatch):
    calls = []

    def fake_table(mode, n, **kw):
        calls.append(mode)
        return np.eye(n, 4, dtype=np.float32)

    monkeypatch.setattr("skelab.zeroshot.text_encoders.build_text_table", fake_table)
    opts = pl.RunOptions(text_mode="lb_md")

    first = pl.stage_text(opts, 8, tmp_path)
    again = pl.stage_text(opts, 8, tmp_path)

    assert calls == ["lb_md"]
    np.testing.assert_array_equal(first, again)

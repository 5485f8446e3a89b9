"""Method config, training cycles, zero-shot scoring and input checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from skelab.errors import ConfigError, DataFormatError
from skelab.zeroshot.methods import (
    MethodConfig,
    ZSLTrainer,
    train,
    zsl_accuracy,
    zsl_predict,
    zsl_scores,
)
from skelab.zeroshot.training import sample_batch

UNSEEN = [1, 4]


def tiny_data(seed: int = 0, classes: int = 6, dim: int = 10) -> dict:
    rng = np.random.default_rng(seed)
    text = rng.normal(size=(classes, 7)).astype(np.float32)
    text /= np.linalg.norm(text, axis=1, keepdims=True)
    labels = np.repeat([c for c in range(classes) if c not in UNSEEN], 5)
    return {
        "feats": rng.random((len(labels), dim), dtype=np.float32),
        "labels": labels,
        "text": text,
        "unseen": UNSEEN,
    }


def tiny_config(method: str = "msf", **kw) -> MethodConfig:
    opts = dict(cycles=2, steps_per_cycle=3, batch_size=8, latent=4, cls_samples=5, cls_steps=3)
    return MethodConfig.for_method(method, **{**opts, **kw})


def test_for_method_gives_ntu120_settings_for_large_label_sets():
    cfg = MethodConfig.for_method("fsvae", num_classes=120)

    assert (cfg.latent, cfg.steps_per_cycle, cfg.alpha) == (200, 1900, 0.1)
    assert MethodConfig.for_method("fsvae").alpha == 0.5


def test_unknown_method_suggests_the_near_name():
    with pytest.raises(ConfigError, match=r"(?s)did you mean 'fsvae'.*fix:"):
        MethodConfig(method="fsave")


def test_unknown_option_is_named():
    with pytest.raises(ConfigError, match=r"zeroshot\.cylces.*did you mean 'cycles'"):
        MethodConfig.for_method("msf", cylces=3)


def test_config_round_trips_through_a_dict():
    cfg = tiny_config("fsvae", cross_start=2)

    assert MethodConfig.from_dict(cfg.to_dict()) == cfg


def test_sample_batch_draws_distinct_indices():
    gen = torch.Generator().manual_seed(0)

    big = sample_batch(10_000, 64, gen)
    small = sample_batch(20, 64, gen)

    assert len(big.unique()) == 64 and int(big.max()) < 10_000
    assert sorted(small.tolist()) == list(range(20))


@pytest.mark.parametrize("method", ["msf", "fsvae"])
def test_train_returns_one_snapshot_per_cycle_scoring_the_unseen_classes(method):
    data = tiny_data()

    models = train(tiny_config(method), **data, seed=3)
    scores = zsl_scores(models[-1], data["feats"][:4])

    assert [m.cycle for m in models] == [1, 2]
    assert scores.shape == (4, 2) and np.allclose(scores.sum(axis=1), 1, atol=1e-6)
    assert set(zsl_predict(models[-1], data["feats"])) <= set(UNSEEN)


def test_same_seed_gives_identical_models():
    data = tiny_data()

    a = train(tiny_config("fsvae"), **data, seed=1)[-1]
    b = train(tiny_config("fsvae"), **data, seed=1)[-1]

    assert np.array_equal(zsl_scores(a, data["feats"]), zsl_scores(b, data["feats"]))


def test_snapshots_are_independent_of_further_training():
    data = tiny_data()
    trainer = ZSLTrainer(tiny_config(), **data, seed=0)
    first = trainer.train_cycle()
    before = zsl_scores(first, data["feats"])

    trainer.train_cycle()

    assert np.array_equal(zsl_scores(first, data["feats"]), before)


def test_resume_from_state_dict_continues_exactly():
    data = tiny_data()
    straight = ZSLTrainer(tiny_config("fsvae"), **data, seed=2)
    straight.train_cycle()
    expected = zsl_scores(straight.train_cycle(), data["feats"])
    interrupted = ZSLTrainer(tiny_config("fsvae"), **data, seed=2)
    interrupted.train_cycle()
    state = interrupted.state_dict()

    resumed = ZSLTrainer(tiny_config("fsvae"), **data, seed=99)
    resumed.load_state_dict(state)
    got = zsl_scores(resumed.train_cycle(), data["feats"])

    assert resumed.cycles_done == 2
    assert np.array_equal(got, expected)


def test_resume_with_another_config_is_refused():
    data = tiny_data()
    state = ZSLTrainer(tiny_config(), **data).state_dict()

    with pytest.raises(ConfigError, match="another method config"):
        ZSLTrainer(tiny_config(lr=1e-3), **data).load_state_dict(state)


def test_progress_counts_every_step():
    data = tiny_data()
    done = []

    ZSLTrainer(tiny_config(steps_per_cycle=120), **data).train_cycle(progress=done.append)

    assert sum(done) == 120


def test_nan_features_are_rejected_with_a_fix():
    data = tiny_data()
    data["feats"][3, 2] = np.nan

    with pytest.raises(DataFormatError, match=r"(?s)feats.*NaN.*fix:"):
        ZSLTrainer(tiny_config(), **data)


def test_label_out_of_range_names_the_range():
    data = tiny_data()
    data["labels"][0] = 6

    with pytest.raises(DataFormatError, match=r"outside 0\.\.5"):
        ZSLTrainer(tiny_config(), **data)


def test_training_on_unseen_class_samples_is_refused():
    data = tiny_data()
    data["labels"][0] = UNSEEN[0]

    with pytest.raises(DataFormatError, match="include unseen classes"):
        ZSLTrainer(tiny_config(), **data)


def test_scoring_features_of_another_width_is_an_error():
    data = tiny_data()
    model = train(tiny_config(cycles=1), **data)[0]

    with pytest.raises(DataFormatError, match=r"(?s)12-d, the model expects 10-d.*fix:"):
        zsl_scores(model, np.zeros((3, 12), np.float32))


def test_accuracy_counts_matches_with_global_ids():
    data = tiny_data()
    model = train(tiny_config(cycles=1), **data)[0]
    pred = zsl_predict(model, data["feats"][:6])

    acc = zsl_accuracy(model, data["feats"][:6], pred)

    assert acc == 1.0


@pytest.mark.slow
@pytest.mark.parametrize("method", ["msf", "fsvae"])
def test_zero_shot_accuracy_is_above_chance_when_text_predicts_features(method):
    rng = np.random.default_rng(0)
    proto = rng.normal(size=(20, 48))
    mix = rng.normal(size=(48, 128)) / np.sqrt(48)
    unseen = [2, 7, 9, 13]

    def samples(classes: list[int], n: int) -> tuple[np.ndarray, np.ndarray]:
        y = np.repeat(classes, n)
        x = np.maximum(proto[y] @ mix + 0.3 * rng.normal(size=(len(y), 128)), 0)
        return x.astype(np.float32), y

    x, y = samples([c for c in range(20) if c not in unseen], 60)
    xz, yz = samples(unseen, 40)
    text = proto / np.linalg.norm(proto, axis=1, keepdims=True)
    cfg = MethodConfig.for_method(method, cycles=3, steps_per_cycle=800, latent=32)

    models = train(cfg, feats=x, labels=y, text=text, unseen=unseen, seed=1)

    assert max(zsl_accuracy(m, xz, yz) for m in models) > 0.4  # chance: 0.25


def test_input_errors_name_the_callers_files():
    data = tiny_data()
    data["feats"] = data["feats"][:, :, None]
    model = train(tiny_config(cycles=1), **tiny_data())[0]

    with pytest.raises(DataFormatError, match=r"shift_5_r/: feats: .*2-D"):
        ZSLTrainer(tiny_config(), **data, where="shift_5_r/")
    with pytest.raises(DataFormatError, match=r"ztest\.npy: .*NaN"):
        zsl_scores(model, np.full((2, 10), np.nan, np.float32), name="ztest.npy")


def test_negative_or_non_integer_test_labels_are_rejected():
    data = tiny_data()
    model = train(tiny_config(cycles=1), **data)[0]
    x = data["feats"][:2]

    with pytest.raises(DataFormatError, match="outside 0 and above"):
        zsl_accuracy(model, x, np.array([-1, 1]))
    with pytest.raises(DataFormatError, match="not integers"):
        zsl_accuracy(model, x, np.array([1.5, 1.0]))

"""DeGCN's presets against the numbers of upstream's four NTU configs and main.py
(WoominM/DeGCN_pytorch@a0a261f config/*/default.yaml)."""

from __future__ import annotations

import math

import pytest

from skelab.engine.presets import load_config
from skelab.engine.schedule import learning_rate

# config/<folder>/default.yaml: the values every config shares, then what differs.
UPSTREAM = {
    "base_lr": 0.1,
    "weight_decay": 0.0004,
    "step": [35, 60, 75],
    "warm_up_epoch": 5,
    "cosine_epoch": 60,
    "num_epoch": 80,
    "batch_size": 64,
    "test_batch_size": 64,
    "nesterov": True,
    "window_size": 64,
    "p_interval_train": [0.5, 1],
    "p_interval_test": 0.95,
    "random_rot": True,
    "num_stream": 2,
    "eta": 4,
}
BENCHMARKS = {  # skelab benchmark: (upstream config folder, num_class)
    "ntu60-xsub": ("nturgbd-cross-subject", 60),
    "ntu60-xview": ("nturgbd-cross-view", 60),
    "ntu120-xsub": ("nturgbd120-cross-subject", 120),
    "ntu120-xset": ("nturgbd120-cross-set", 120),
}
STREAMS = {  # preset stream: feeder flags (bone, vel) -> skelab data.modality
    "joint": "joint",
    "bone": "bone",
    "joint-motion": "motion",
    "bone-motion": "bone_motion",
}


def _upstream_lr(epoch: int) -> float:
    """main.py adjust_learning_rate (SGD branch), written out for the configs' numbers."""
    warm, cos_end = UPSTREAM["warm_up_epoch"], UPSTREAM["warm_up_epoch"] + UPSTREAM["cosine_epoch"]
    base = UPSTREAM["base_lr"]
    lr_cos = base * 0.5 * (math.cos((epoch - warm) / (cos_end - warm) * math.pi) + 1)
    if epoch < warm:
        return base * (epoch + 1) / warm
    if epoch < cos_end and lr_cos > 0.01:
        return lr_cos
    return base * 0.1 ** sum(epoch >= s for s in UPSTREAM["step"])


@pytest.mark.parametrize("benchmark", sorted(BENCHMARKS))
def test_degcn_presets_equal_upstream_configs(benchmark):
    _, num_class = BENCHMARKS[benchmark]

    for stream, modality in STREAMS.items():
        cfg = load_config(f"{benchmark}/degcn-{stream}")

        assert cfg.model.name == "degcn" and cfg.data.modality == modality
        assert cfg.model.options == {"num_stream": UPSTREAM["num_stream"], "eta": UPSTREAM["eta"]}
        assert cfg.data.num_classes == num_class
        assert (cfg.optim.name, cfg.optim.lr, cfg.optim.momentum) == (
            "sgd",
            UPSTREAM["base_lr"],
            0.9,
        )
        assert cfg.optim.nesterov is UPSTREAM["nesterov"]
        assert cfg.optim.weight_decay == UPSTREAM["weight_decay"]
        assert cfg.train.epochs == UPSTREAM["num_epoch"]
        assert cfg.train.batch_size == UPSTREAM["batch_size"]
        assert cfg.train.test_batch_size == UPSTREAM["test_batch_size"]
        assert cfg.train.forward_batch_size == 0
        assert cfg.data.style == "ctrgcn" and cfg.data.window == UPSTREAM["window_size"]
        assert list(cfg.data.p_interval) == UPSTREAM["p_interval_train"]
        assert cfg.data.test_p_interval == UPSTREAM["p_interval_test"]
        assert cfg.data.random_rot is UPSTREAM["random_rot"]
        assert cfg.loss.label_smoothing == 0.1  # main.py's LabelSmoothingCrossEntropy
        assert cfg.train.precision == "fp16"  # main.py's --half defaults to true (apex O1)
        assert {"upstream", "lab"} == {
            v for e in cfg.info.differences.values() for v in e["versus"]
        }


def test_degcn_learning_rate_follows_upstream_main_for_every_epoch():
    cfg = load_config("ntu60-xsub/degcn-joint")

    ours = [
        learning_rate(
            cfg.sched, cfg.optim.lr, epoch=e, step_in_epoch=0, steps_per_epoch=10, epochs=80
        )
        for e in range(UPSTREAM["num_epoch"])
    ]

    assert ours == pytest.approx([_upstream_lr(e) for e in range(UPSTREAM["num_epoch"])], rel=1e-12)
    assert ours[52] > 0.01 and ours[53] == pytest.approx(0.01)  # the cosine hands over at 53


def test_cosine_step_without_a_cosine_length_is_a_config_error():
    from skelab.engine.config import SchedConfig
    from skelab.errors import ConfigError

    with pytest.raises(ConfigError, match=r"(?s)sched\.cosine_epochs.*fix:"):
        SchedConfig(name="cosine_step", warmup_epochs=5)

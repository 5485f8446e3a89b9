"""BlockGCN presets equal the upstream configs (numbers read from ZhouYuxuanYX/BlockGCN @7b45971
config/<benchmark>/{default,bone,vel,bone_vel}.yaml, train.sh and main.py)."""

from __future__ import annotations

import pytest

from skelab.engine.presets import load_config

# benchmark -> (upstream config folder, num_class)
UPSTREAM = {
    "ntu60-xsub": ("nturgbd-cross-subject", 60),
    "ntu60-xview": ("nturgbd-cross-view", 60),
    "ntu120-xsub": ("nturgbd120-cross-subject", 120),
    "ntu120-xset": ("nturgbd120-cross-set", 120),
}
# skelab stream -> upstream file and the feeder flags (bone, vel) it sets
STREAM_FILES = {
    "joint": ("default.yaml", "joint"),
    "bone": ("bone.yaml", "bone"),
    "joint-motion": ("vel.yaml", "motion"),
    "bone-motion": ("bone_vel.yaml", "bone_motion"),
}


@pytest.mark.parametrize("benchmark", sorted(UPSTREAM))
@pytest.mark.parametrize("stream", sorted(STREAM_FILES))
def test_blockgcn_preset_equals_upstream_config(benchmark, stream):
    cfg = load_config(f"{benchmark}/blockgcn-{stream}")

    assert cfg.model.name == "blockgcn"
    assert cfg.data.num_classes == UPSTREAM[benchmark][1]
    assert cfg.data.modality == STREAM_FILES[stream][1]
    assert cfg.data.style == "blockgcn"  # feeders/feeder_ntu.py: centred joints, raw joints too
    assert cfg.data.window == 64  # window_size
    assert tuple(cfg.data.p_interval) == (0.5, 1.0)  # train p_interval [0.5, 1]
    assert cfg.data.test_p_interval == 0.95  # test p_interval [0.95]
    assert cfg.data.random_rot is True
    assert (cfg.optim.name, cfg.optim.lr, cfg.optim.momentum) == ("sgd", 0.05, 0.9)
    assert cfg.optim.nesterov is True and cfg.optim.weight_decay == 4e-4
    assert cfg.sched.name == "step"  # adjust_learning_rate: per epoch
    assert cfg.sched.warmup_epochs == 5 and tuple(cfg.sched.milestones) == (110, 120)
    assert cfg.sched.gamma == 0.1  # lr_decay_rate
    assert cfg.train.epochs == 140 and cfg.train.batch_size == 64
    assert cfg.train.seed == 1 and cfg.train.eval_every == 1
    assert cfg.loss.label_smoothing == 0.0  # nn.CrossEntropyLoss
    # two GPUs (train.sh --device 0 1): 32 samples per forward pass, in training and test
    assert cfg.train.forward_batch_size == 32 and cfg.train.test_batch_size == 32
    assert {"gpus", "precision", "draws", "lab"} <= set(cfg.info.differences)


def test_blockgcn_streams_carry_upstream_ensemble_weights_in_stream_order():
    from skelab.apps.ensemble import stream_presets

    names = stream_presets("ntu120-xset/blockgcn-joint")

    weights = [load_config(n).info.fusion_weight for n in names]

    # ensemble.py: arg.alpha = [0.6, 0.7, 0.35, 0.2] (joint, bone, joint motion, bone motion)
    assert [load_config(n).preset.stream for n in names] == list(STREAM_FILES)
    assert weights == [0.6, 0.7, 0.35, 0.2]


def test_blockgcn_on_another_data_style_is_refused_before_training():
    from skelab.engine.build import check_pairing
    from skelab.errors import ConfigError

    ok = load_config("ntu60-xsub/blockgcn-bone")
    wrong = load_config("ntu60-xsub/blockgcn-bone", ["data.style=ctrgcn"])

    check_pairing(ok, 25, where="ntu.npz")
    with pytest.raises(
        ConfigError, match=r"(?s)data\.style.*raw joints.*fix: --set data\.style=blockgcn"
    ):
        check_pairing(wrong, 25, where="ntu.npz")

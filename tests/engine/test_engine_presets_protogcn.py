"""ProtoGCN presets equal the upstream configs (numbers read from firework8/ProtoGCN @ddf7f27
configs/<benchmark>/{j,b,k,jm,bm,km}.py)."""

from __future__ import annotations

import pytest

from skelab.engine.presets import load_config

# benchmark -> (upstream config folder, num_classes)
UPSTREAM = {
    "ntu60-xsub": ("ntu60_xsub", 60),
    "ntu60-xview": ("ntu60_xview", 60),
    "ntu120-xsub": ("ntu120_xsub", 120),
    "ntu120-xset": ("ntu120_xset", 120),
}
# skelab stream -> (config file, GenSkeFeat feat as data.modality, num_prototype, cls_head.weight)
STREAMS = {
    "joint": ("j.py", "joint", 400, 0.2),
    "bone": ("b.py", "bone", 100, 0.3),
    "k-bone": ("k.py", "k_bone", 100, 0.1),
    "joint-motion": ("jm.py", "motion", 400, 0.2),
    "bone-motion": ("bm.py", "bone_motion", 100, 0.3),
    "k-bone-motion": ("km.py", "k_bone_motion", 100, 0.1),
}
# the "Effective Augmentation" line of each train_pipeline: Spatial_Flip(p=0.5) or Part_Drop(p=0.2)
FLIP = {
    "ntu60-xsub": {"bone", "k-bone", "bone-motion", "k-bone-motion"},
    "ntu60-xview": set(),
    "ntu120-xsub": {"joint", "bone", "joint-motion", "bone-motion"},
    "ntu120-xset": {"bone", "k-bone", "bone-motion", "k-bone-motion"},
}
PART_DROP = {
    "ntu60-xsub": set(),
    "ntu60-xview": {"k-bone", "k-bone-motion"},
    "ntu120-xsub": {"k-bone", "k-bone-motion"},
    "ntu120-xset": set(),
}


@pytest.mark.parametrize("benchmark", sorted(UPSTREAM))
@pytest.mark.parametrize("stream", sorted(STREAMS))
def test_protogcn_preset_equals_upstream_config(benchmark, stream):
    _, modality, prototypes, weight = STREAMS[stream]

    cfg = load_config(f"{benchmark}/protogcn-{stream}")

    assert cfg.model.name == "protogcn"
    assert cfg.data.num_classes == UPSTREAM[benchmark][1]  # cls_head num_classes
    assert cfg.model.options["num_prototype"] == prototypes  # backbone num_prototype
    assert cfg.model.options["loss_weight"] == weight  # cls_head weight
    assert cfg.data.modality == modality  # GenSkeFeat(feats=[modality])
    assert cfg.data.style == "pyskl"  # PreNormalize3D, GenSkeFeat, UniformSampleDecode
    assert cfg.data.window == 100  # UniformSampleDecode clip_len
    assert cfg.data.random_rot is True and cfg.data.rot_theta == 0.2  # RandomRot(theta=0.2)
    assert cfg.data.flip_p == (0.5 if stream in FLIP[benchmark] else 0.0)
    assert cfg.data.part_drop_p == (0.2 if stream in PART_DROP[benchmark] else 0.0)
    # optimizer = SGD(lr=0.025, momentum=0.9, weight_decay=0.0005, nesterov=True)
    assert (cfg.optim.name, cfg.optim.lr, cfg.optim.momentum) == ("sgd", 0.025, 0.9)
    assert cfg.optim.nesterov is True and cfg.optim.weight_decay == 5e-4
    # lr_config = CosineAnnealing(min_lr=0, by_epoch=False): per iteration, no warm-up
    assert (cfg.sched.name, cfg.sched.min_lr, cfg.sched.warmup_epochs) == ("cosine", 0.0, 0)
    assert cfg.train.epochs == 150 and cfg.train.batch_size == 16  # videos_per_gpu 16, 1 GPU
    assert cfg.train.forward_batch_size == 0 and cfg.train.eval_every == 1
    assert cfg.train.clip_grad == 0  # optimizer_config grad_clip=None
    assert cfg.loss.label_smoothing == 0.0  # CrossEntropyLoss
    # tools/ensemble.py, 6M: comb([j, b, k, jm, bm, km], [2, 2, 2, 1, 1, 1])
    assert cfg.info.fusion_weight == (1 if stream.endswith("motion") else 2)
    assert {"test_clips", "prenormalize", "fusion", "memory", "draws", "lab"} <= set(
        cfg.info.differences
    )


def test_protogcn_streams_do_not_leak_k_bone_into_other_models():
    from skelab.engine.presets import list_presets

    k_presets = [
        p for p in list_presets() if p.split("/")[1].endswith(("-k-bone", "-k-bone-motion"))
    ]

    assert k_presets and all("/protogcn-" in p for p in k_presets)

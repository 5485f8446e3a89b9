"""SkateFormer's augmentations and the minimum crop are config keys the run's transform obeys."""

from __future__ import annotations

import pytest
import torch

from skelab.engine.build import build_transform
from skelab.engine.configfile import from_dict
from skelab.engine.presets import load_config
from skelab.errors import ConfigError
from skelab.skeletons import NTU25

PRESET = "ntu60-xsub/skateformer-joint"
OFF = ["data.aug_method=''", "data.inter_p=0"]


def _whole_clips(n=8, window=64, seed=0):
    """Clips exactly `window` frames long: crop and sampling keep every frame, no randomness."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, 100, 25, 2, generator=g)  # (N, C, T, V, M)
    x[:, :, window:] = 0
    return x, torch.full((n,), window), torch.arange(n) % 2


def test_skateformer_preset_lists_upstreams_augmentations():
    d = load_config(PRESET).data

    assert (d.aug_method, d.intra_p, d.inter_p) == ("a123489", 0.5, 0.2)


def test_run_transform_takes_the_keys():
    cfg = load_config(PRESET, ["data.aug_method=a12", "data.intra_p=0.3", "data.thres=40"])

    t = build_transform(cfg, train=True, skeleton=NTU25)

    assert (t.augment, t.intra_p, t.inter_p, t.min_crop) == ("a12", 0.3, 0.2, 40)


def test_training_batches_with_augmentations_off_are_deterministic():
    x, lengths, labels = _whole_clips()
    off = build_transform(load_config(PRESET, OFF), train=True, skeleton=NTU25)
    on = build_transform(load_config(PRESET), train=True, skeleton=NTU25)

    a = off(x, lengths, torch.Generator().manual_seed(1), labels)
    b = off(x, lengths, torch.Generator().manual_seed(2), labels)
    c = on(x, lengths, torch.Generator().manual_seed(1), labels)
    d = on(x, lengths, torch.Generator().manual_seed(2), labels)

    assert torch.equal(a.x, b.x) and torch.equal(a.index_t, b.index_t)
    assert not torch.equal(c.x, d.x)  # the same clips, augmented differently per seed


def test_training_batches_with_augmentations_off_equal_the_plain_clips():
    x, lengths, labels = _whole_clips()
    off = build_transform(load_config(PRESET, OFF), train=True, skeleton=NTU25)
    test = build_transform(
        load_config(PRESET, ["data.test_p_interval=1.0"]), train=False, skeleton=NTU25
    )

    a = off(x, lengths, torch.Generator().manual_seed(3), labels)

    assert torch.equal(a.x, test(x, lengths).x)


@pytest.mark.parametrize(
    ("data", "pattern"),
    [
        ({"style": "skateformer", "aug_method": "a1x"}, r"data\.aug_method: has unknown codes 'x'"),
        ({"style": "skateformer", "aug_method": "a11"}, r"data\.aug_method: repeats a code"),
        ({"style": "ctrgcn", "aug_method": "a1"}, r"data\.aug_method: .*need data\.style"),
        ({"style": "ctrgcn", "inter_p": 0.2}, r"data\.inter_p: .*need data\.style"),
        ({"style": "skateformer", "intra_p": 0.9, "inter_p": 0.2}, r"data\.inter_p: .*over 1"),
        ({"thres": 0}, r"data\.thres: must be in \[1"),
    ],
)
def test_bad_augmentation_keys_name_key_and_fix(data, pattern):
    with pytest.raises(ConfigError, match=rf"(?s){pattern}.*fix: "):
        from_dict({"data": data})


def test_config_without_the_keys_trains_with_upstreams_augmentations():
    # an own YAML, or the config.yaml of a run made before these keys existed
    cfg = from_dict({"model": {"name": "skateformer"}, "data": {"style": "skateformer"}})

    t = build_transform(cfg, train=True, skeleton=NTU25)

    assert (t.augment, t.intra_p, t.inter_p, t.min_crop) == ("a123489", 0.5, 0.2, 64)


def test_other_styles_have_no_augmentation_by_default():
    t = build_transform(from_dict({"data": {"style": "ctrgcn"}}), train=True, skeleton=NTU25)

    assert (t.augment, t.inter_p) == ("", 0.0)

"""train.precision (fp32|bf16|fp16) and its deprecated name train.amp (none|bf16|fp16)."""

import logging

import pytest

from skelab.engine import configfile
from skelab.engine.configfile import from_dict
from skelab.engine.presets import load_config
from skelab.errors import ConfigError


def test_old_key_amp_sets_precision_with_a_warning(caplog, monkeypatch):
    monkeypatch.setattr(configfile, "_warned", set())
    with caplog.at_level(logging.WARNING):
        cfg = load_config("ntu60-xsub/mlp-joint", ["train.amp=bf16"])

    assert cfg.train.precision == "bf16"
    assert cfg.train.amp == "bf16"  # what the training step reads
    assert "train.amp is deprecated; use train.precision" in caplog.text


def test_amp_none_in_a_file_is_fp32():
    cfg = from_dict({"model": {"name": "mlp"}, "train": {"amp": "none"}})

    assert cfg.train.precision == "fp32" and cfg.train.amp == "none"
    assert "amp" not in cfg.to_dict()["train"]


def test_precision_rejects_an_unknown_value():
    with pytest.raises(ConfigError, match="train.precision"):
        load_config("ntu60-xsub/mlp-joint", ["train.precision=fp8"])

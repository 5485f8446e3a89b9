"""Every shipped preset validates and builds its model at the preset's window."""

from __future__ import annotations

import pytest

from skelab.engine.build import build_model
from skelab.engine.presets import STREAMS, list_presets, load_config, preset_parts
from skelab.models import get_card, list_models

PRESETS = list_presets()


def build_model_for(model: str, window: int, options: dict):
    from skelab.models import build

    return build(model, num_classes=60, window=window, **options)


@pytest.mark.parametrize("name", PRESETS)
def test_preset_validates_and_names_a_registered_model(name):
    cfg = load_config(name)

    assert cfg.model.name in list_models()
    assert cfg.info.description
    _, model, stream = preset_parts(name)
    assert stream in STREAMS
    if get_card(cfg.model.name).needs_index_t:
        assert cfg.data.style == "skateformer"


def test_every_distinct_preset_model_config_builds():
    seen = set()
    for name in PRESETS:
        cfg = load_config(name)
        key = (cfg.model.name, cfg.data.window, repr(sorted(cfg.model.options.items(), key=str)))
        if key in seen:
            continue
        seen.add(key)
        options = dict(cfg.model.options)
        build_model_for(cfg.model.name, cfg.data.window, options)
    assert seen


def test_build_model_passes_the_data_window_to_the_model(monkeypatch):
    seen = {}

    def fake_build(name, **options):
        seen.update(options)
        return None

    monkeypatch.setattr("skelab.models.build", fake_build)
    cfg = load_config("ntu60-xsub/stgcn-lite-joint", ["data.window=48"])

    build_model(cfg)

    assert seen["window"] == 48

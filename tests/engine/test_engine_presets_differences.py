"""Every preset lists how it differs from the upstream recipe and from the original lab's config."""

from __future__ import annotations

import pytest

from skelab.cli.main import main
from skelab.engine.configfile import valid_keys
from skelab.engine.presets import list_presets, load_config

BENCH = "ntu60-xsub"
# low-memory / tiny variants and the full preset each one shrinks
VARIANTS = {
    f"{model}-{size}": model
    for model in ("ctrgcn", "msg3d", "freqmixformer", "hypergcn", "skateformer")
    for size in ("lowmem", "tiny")
}


def _recipe(cfg) -> dict[str, object]:
    """Dotted recipe keys of a config (model options one by one; the name, info and the preset
    record are the config's identity, not its recipe)."""
    out = {}
    for section, body in cfg.to_dict().items():
        if section in ("name", "info", "preset"):
            continue
        for key, value in body.items():
            if section == "model" and key == "options":
                out.update({f"model.options.{k}": v for k, v in value.items()})
            else:
                out[f"{section}.{key}"] = value
    return out


def _own_upstream_keys(cfg, parent) -> set[str]:
    """Keys named by the variant's own upstream entries (not the ones the full preset has)."""
    inherited = parent.info.differences
    return {
        key
        for ident, entry in cfg.info.differences.items()
        if "upstream" in entry["versus"] and inherited.get(ident) != entry
        for key in entry["keys"]
    }


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_variant_names_every_recipe_key_it_changes(variant):
    stream = "joint"
    cfg = load_config(f"{BENCH}/{variant}-{stream}")
    full = load_config(f"{BENCH}/{VARIANTS[variant]}-{stream}")
    mine, theirs = _recipe(cfg), _recipe(full)

    changed = {k for k in mine.keys() | theirs.keys() if mine.get(k) != theirs.get(k)}

    assert changed, variant  # a variant that changes nothing would not need to exist
    assert changed <= _own_upstream_keys(cfg, full), changed - _own_upstream_keys(cfg, full)


def test_check_fails_for_an_unlisted_change():
    cfg = load_config(f"{BENCH}/ctrgcn-lowmem-joint", ["train.test_batch_size=8"])
    full = load_config(f"{BENCH}/ctrgcn-joint")
    mine, theirs = _recipe(cfg), _recipe(full)

    changed = {k for k in mine if mine[k] != theirs.get(k)}

    assert not changed <= _own_upstream_keys(cfg, full)


@pytest.mark.parametrize("name", [n for n in list_presets() if n.startswith(BENCH + "/")])
def test_every_preset_compares_itself_with_upstream_and_the_lab(name):
    diffs = load_config(name).info.differences
    recipe = _recipe(load_config(name))

    versus = {v for entry in diffs.values() for v in entry["versus"]}
    assert versus == {"upstream", "lab"}
    for entry in diffs.values():
        assert entry["note"]
        for key in entry["keys"]:
            assert key in valid_keys() or key in recipe, key


def test_the_three_recipe_cases_of_the_issue_are_stated():
    msg3d = load_config(f"{BENCH}/msg3d-lowmem-joint").info.differences
    hyper = load_config(f"{BENCH}/hypergcn-lowmem-joint").info.differences
    tiny = load_config(f"{BENCH}/skateformer-tiny-joint")
    lowmem = load_config(f"{BENCH}/skateformer-lowmem-joint")

    note = msg3d["memory-friendly"]["note"]
    assert "--memory-friendly" in note and "batch 16" in note
    assert "BatchNorm" in hyper["forward-passes"]["note"]
    lab_keys = set(tiny.info.differences["lab"]["keys"])
    assert {"model.options.drop_path", "data.p_interval"} <= lab_keys
    assert tiny.data.thres == 32 and lowmem.data.thres == 48
    assert (
        "(25, 3, 2)"
        in load_config(f"{BENCH}/msg3d-joint").info.differences["kaggle-feeder"]["note"]
    )


def test_configs_show_prints_the_differences(capsys):
    code = main(["configs", "show", f"{BENCH}/hypergcn-lowmem-joint"])

    out = capsys.readouterr().out
    assert code == 0
    assert "# How this preset differs" in out
    assert "forward-passes [train.forward_batch_size]" in out
    assert "from the original lab's config" in out

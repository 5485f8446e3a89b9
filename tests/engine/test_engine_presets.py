"""Presets generated from blocks: the same names and configs as the files they replaced."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from skelab.engine import presets
from skelab.engine.config import RENAMED_KEYS
from skelab.engine.configfile import valid_keys
from skelab.engine.presets import is_generated, list_presets, load_config, load_raw, memory_table
from skelab.errors import ConfigError

FIXTURE = json.loads(
    (Path(__file__).parent / "fixtures" / "presets_before_generation.json").read_text()
)


MEMORY_KEYS = ("expected_peak_memory_gb", "memory_source")  # come from _memory.json now


def _as_before(cfg_dict: dict) -> dict:
    """A resolved config cut to the keys the fixture knew, without the memory figure and its
    source (the bench command regenerates them; their own tests follow)."""
    keys = set(FIXTURE["keys"])
    out = {"name": cfg_dict["name"]}
    sections = {k.split(".")[0] for k in keys}  # a section added since (preset) is left out
    for section, body in cfg_dict.items():
        if section != "name" and section in sections:
            body = _under_old_names(section, body)
            out[section] = {k: v for k, v in body.items() if f"{section}.{k}" in keys}
    for key in MEMORY_KEYS:
        out["info"].pop(key, None)
    return out


def _under_old_names(section: str, body: dict) -> dict:
    """A renamed key under the name the fixture knew (train.precision fp32 was train.amp none)."""
    out = dict(body)
    for old, (new, values) in RENAMED_KEYS.items():
        old_section, old_key = old.split(".")
        new_section, new_key = new.split(".")
        if section == new_section == old_section and new_key in out:
            back = {v: k for k, v in values.items()}
            out[old_key] = back.get(out[new_key], out[new_key])
    return out


def _digest(cfg_dict: dict) -> str:
    text = json.dumps(_as_before(cfg_dict), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def test_presets_are_exactly_the_names_listed_before_generation():
    assert list_presets() == sorted(FIXTURE["sha256"])


def test_every_preset_resolves_to_the_config_it_had_before_generation():
    changed = [
        name
        for name in list_presets()
        if _digest(load_config(name).to_dict()) != FIXTURE["sha256"][name]
    ]

    assert changed == []


@pytest.mark.parametrize("name", sorted(FIXTURE["full"]))
def test_stored_full_configs_match_key_by_key(name):
    before = dict(FIXTURE["full"][name])
    before["info"] = {k: v for k, v in before["info"].items() if k not in MEMORY_KEYS}

    assert _as_before(load_config(name).to_dict()) == before


def test_fixture_digest_detects_a_changed_value():
    cfg = load_config("ntu60-xsub/ctrgcn-joint", ["optim.lr=0.2"])

    assert _digest(cfg.to_dict()) != FIXTURE["sha256"]["ntu60-xsub/ctrgcn-joint"]


def test_only_blocks_and_real_exceptions_are_on_disk():
    root = Path(presets.configs_root())
    on_disk = sorted(
        str(p.relative_to(root)) for p in root.rglob("*.yaml") if not p.name.startswith("_")
    )
    presets_on_disk = [p for p in on_disk if not p.startswith("_")]

    assert presets_on_disk == ["synth-demo/stgcn-lite-joint.yaml"]
    assert is_generated("ntu60-xsub/ctrgcn-joint")
    assert not is_generated("synth-demo/stgcn-lite-joint")


def test_generated_preset_can_be_extended_by_a_user_file(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("extends: ntu120-xset/msg3d-bone\ntrain:\n  epochs: 3\n")

    cfg = load_config(path)

    assert cfg.train.epochs == 3 and cfg.sched.milestones == (30, 50)
    assert cfg.data.modality == "bone" and cfg.data.num_classes == 120


def test_preset_section_of_a_block_is_not_a_config_key():
    raw, _ = load_raw("_base/msg3d.yaml")

    assert "preset" not in raw and raw["model"]["name"] == "msg3d"


def test_a_blocks_preset_keys_in_a_user_file_are_unknown_keys(tmp_path):
    # in a config, `preset` is the record of the preset it is (benchmark, model, variant,
    # stream); a shipped block's generator keys (title, streams, ...) mean nothing there
    path = tmp_path / "mine.yaml"
    path.write_text("extends: _base/ctrgcn.yaml\npreset:\n  title: mine\n")

    with pytest.raises(ConfigError, match=r"mine\.yaml: preset\.title: unknown key"):
        load_config(path)


def test_a_file_extending_a_preset_keeps_its_record(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("extends: ntu60-xsub/ctrgcn-lowmem-bone\ntrain:\n  epochs: 3\n")

    record = load_config(path).preset

    assert (record.benchmark, record.model, record.variant, record.stream) == (
        "ntu60-xsub", "ctrgcn", "lowmem", "bone",
    )  # fmt: skip


def test_every_preset_that_had_a_memory_figure_still_has_one():
    had = [name for name, gb in FIXTURE["memory_gb"].items() if gb is not None]

    lost = [name for name in had if load_config(name).info.expected_peak_memory_gb is None]

    assert had and lost == []


def test_memory_figures_come_from_the_generated_file():
    table = memory_table()
    entry = table["presets"]["ntu60-xsub/ctrgcn-joint"]

    cfg = load_config("ntu60-xsub/ctrgcn-joint")

    assert table["format"] == 1 and table["generated_by"]
    assert set(entry) == {"fp32_gb", "bf16_gb", "batch", "window"}
    assert cfg.info.expected_peak_memory_gb == entry["fp32_gb"]
    assert "_memory.json" in cfg.info.memory_source


def test_memory_figure_is_dropped_when_an_override_changes_what_it_was_made_for():
    cfg = load_config("ntu60-xsub/ctrgcn-joint", ["train.batch_size=16"])

    assert cfg.info.expected_peak_memory_gb is None and cfg.info.memory_source == ""


def test_memory_figure_set_in_yaml_wins_over_the_file():
    cfg = load_config("ntu60-xsub/ctrgcn-joint", ["info.expected_peak_memory_gb=1.5"])

    assert cfg.info.expected_peak_memory_gb == 1.5


def test_no_block_types_a_memory_figure_by_hand():
    root = Path(presets.configs_root())

    typed = [str(p) for p in root.rglob("*.yaml") if "expected_peak_memory_gb" in p.read_text()]

    assert typed == []


def test_every_key_of_the_fixture_still_exists():
    assert set(FIXTURE["keys"]) <= set(valid_keys()) | set(RENAMED_KEYS)


def test_key_reference_lists_every_key_with_its_dataclass_default():
    from skelab.engine.config import DataConfig, OptimConfig
    from skelab.engine.configfile import key_reference

    ref = {row["key"]: row for row in key_reference()}

    assert set(ref) == set(valid_keys()) - {"name"}
    assert ref["data.window"]["default"] == DataConfig().window
    assert ref["optim.betas"]["default"] == list(OptimConfig().betas)
    assert all(row["doc"] for row in ref.values())


def test_configs_keys_prints_the_reference(capsys):
    from skelab.cli.main import main

    code = main(["configs", "keys", "--filter", "data.thres"])

    out = capsys.readouterr().out
    assert code == 0 and "data.thres" in out and "64" in out and "upstream `thres`" in out


@pytest.mark.parametrize(("batch", "filled"), [(16, True), (64, True), (32, False)])
def test_memory_figure_is_for_the_batch_per_step_or_per_forward_pass(monkeypatch, batch, filled):
    name = "ntu60-xsub/ctrgcn-lowmem-joint"  # batch 64 in forward passes of 16
    table = json.loads(json.dumps(memory_table()))
    table["presets"][name]["batch"] = batch
    monkeypatch.setattr(presets, "memory_table", lambda: table)

    cfg = load_config(name)

    assert (cfg.info.expected_peak_memory_gb is not None) is filled


def test_damaged_memory_entry_names_the_file(monkeypatch, tmp_path):
    bad = tmp_path / "_memory.json"
    bad.write_text(json.dumps({"format": 1, "generated_by": "x", "presets": {"a/b": {"gb": 1}}}))
    monkeypatch.setattr(presets, "configs_root", lambda: tmp_path)
    presets.memory_table.cache_clear()
    try:
        with pytest.raises(ConfigError, match=r"(?s)_memory\.json: presets\.a/b: needs .*fix:"):
            presets.memory_table()
    finally:
        presets.memory_table.cache_clear()


def test_every_preset_carries_the_record_of_its_own_name():
    for name in list_presets():
        record = load_config(name).preset

        assert record.name == name and record.model and record.benchmark, name

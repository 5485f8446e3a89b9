"""Config schema, presets, inheritance and `--set` overrides."""

from __future__ import annotations

import pytest

from skelab.engine.config import Config, DataConfig, TrainConfig
from skelab.engine.configfile import from_dict
from skelab.engine.presets import list_presets, load_config, preset_parts
from skelab.engine.schedule import learning_rate
from skelab.errors import ConfigError, UnknownNameError


def test_every_model_stream_and_benchmark_has_a_preset():
    presets = set(list_presets())

    for bench in ("ntu60-xsub", "ntu60-xview", "ntu120-xsub", "ntu120-xset"):
        for model in ("mlp", "stgcn", "stgcn-lite"):
            for stream in ("joint", "bone", "joint-motion", "bone-motion"):
                assert f"{bench}/{model}-{stream}" in presets


def test_every_preset_loads_and_names_its_source():
    for name in list_presets():
        cfg = load_config(name)

        assert cfg.name == name and cfg.info.description, name


def test_preset_inherits_dataset_and_model_bases():
    cfg = load_config("ntu120-xset/stgcn-bone-motion")

    assert cfg.data.num_classes == 120 and cfg.data.path.endswith("NTU120_CSet.npz")
    assert cfg.data.modality == "bone_motion"
    assert cfg.model.name == "stgcn" and cfg.sched.milestones == (10, 50)
    assert cfg.train.epochs == 80 and cfg.optim.weight_decay == pytest.approx(1e-4)


def test_overrides_are_parsed_as_yaml():
    cfg = load_config(
        "ntu60-xsub/stgcn-lite-joint",
        [
            "optim.lr=0.05",
            "data.window=48",
            "data.p_interval=[0.9, 1]",
            "train.compile=true",
            "model.options.dropout=0.2",
        ],
    )

    assert cfg.optim.lr == 0.05 and cfg.data.window == 48
    assert cfg.data.p_interval == (0.9, 1.0) and cfg.train.compile is True
    assert cfg.model.options == {"dropout": 0.2}


def test_unknown_override_names_the_closest_key():
    with pytest.raises(
        ConfigError,
        match=r"(?s)optim\.lrr: unknown key; did you mean 'optim\.lr'"
        r".*fix: use 'optim\.lr'",
    ):
        load_config("ntu60-xsub/stgcn-lite-joint", ["optim.lrr=0.1"])


def test_known_key_under_the_wrong_section_is_pointed_to_its_section():
    with pytest.raises(ConfigError, match=r"did you mean 'train\.batch_size'"):
        load_config("ntu60-xsub/stgcn-lite-joint", ["optim.batch_size=8"])


def test_unknown_key_in_a_file_names_the_file(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("extends: ntu60-xsub/mlp-joint\ntrain:\n  epoch: 3\n")

    with pytest.raises(
        ConfigError,
        match=r"(?s)run\.yaml: train\.epoch: unknown key; "
        r"did you mean 'train\.epochs'",
    ):
        load_config(path)


def test_mistyped_value_is_rejected_with_the_expected_type():
    with pytest.raises(
        ConfigError,
        match=r"(?s)train\.batch_size: expected an integer, got str"
        r".*fix:",
    ):
        load_config("ntu60-xsub/stgcn-lite-joint", ["train.batch_size=big"])
    with pytest.raises(ConfigError, match=r"train\.compile: expected true or false"):
        from_dict({"train": {"compile": "yes"}})


@pytest.mark.parametrize(
    ("raw", "pattern"),
    [
        ({"train": {"epochs": 0}}, r"train\.epochs: must be in \[1, inf\]"),
        ({"optim": {"lr": 0}}, r"optim\.lr: must be in \(0"),
        ({"data": {"p_interval": [1.0, 0.5]}}, r"data\.p_interval: needs 0 < low <= high <= 1"),
        ({"data": {"modality": "bones"}}, r"data\.modality: 'bones' .*did you mean 'bone'"),
        ({"train": {"batch_size": 8, "forward_batch_size": 16}}, r"train\.forward_batch_size"),
        ({"sched": {"milestones": [50, 30]}}, r"sched\.milestones: must be increasing"),
        ({"model": {"options": {"num_class": 60}}}, r"model\.options\.num_classes"),
        ({"train": {"device": "gpu"}}, r"train\.device"),
    ],
)
def test_out_of_range_values_name_key_and_fix(raw, pattern):
    with pytest.raises(ConfigError, match=rf"(?s){pattern}.*fix: "):
        from_dict(raw)


def test_short_smoke_run_inside_the_warm_up_is_allowed_with_a_warning():
    cfg = load_config("ntu60-xsub/ctrgcn-joint", ["train.epochs=2"])

    assert cfg.train.epochs == 2
    assert any("sched.warmup_epochs=5 is longer than train.epochs=2" in w for w in cfg.warnings())


def test_dataclasses_validate_on_their_own():
    with pytest.raises(ConfigError, match=r"data\.window"):
        DataConfig(window=0)
    assert TrainConfig(batch_size=32, forward_batch_size=0).chunk_size == 32


def test_resolved_config_round_trips_through_yaml():
    cfg = load_config("ntu60-xsub/stgcn-joint", ["data.path=/tmp/x.npz"])

    import yaml

    again = from_dict(yaml.safe_load(cfg.to_yaml()))

    assert again == cfg and isinstance(again, Config)


def test_inheritance_merges_mappings_and_replaces_lists(tmp_path):
    (tmp_path / "base.yaml").write_text(
        "extends: _base/stgcn.yaml\nsched:\n  milestones: [1, 2, 3]\n  gamma: 0.5\n"
    )
    (tmp_path / "child.yaml").write_text("extends: ./base.yaml\nsched:\n  milestones: [4]\n")

    cfg = load_config(tmp_path / "child.yaml")

    assert cfg.sched.milestones == (4,) and cfg.sched.gamma == 0.5
    assert cfg.model.name == "stgcn" and cfg.name == "child"


def test_inheritance_cycle_is_an_error(tmp_path):
    (tmp_path / "a.yaml").write_text("extends: ./b.yaml\n")
    (tmp_path / "b.yaml").write_text("extends: ./a.yaml\n")

    with pytest.raises(ConfigError, match=r"(?s)inheritance cycle.*fix:"):
        load_config(tmp_path / "a.yaml")


def test_unknown_preset_suggests_close_names():
    with pytest.raises(UnknownNameError, match=r"did you mean 'ntu60-xsub/stgcn-joint'"):
        load_config("ntu60-xsub/stgcn-jiont")


def test_preset_name_splits_into_benchmark_model_and_stream():
    assert preset_parts("ntu60-xsub/stgcn-lite-bone-motion") == (
        "ntu60-xsub",
        "stgcn-lite",
        "bone-motion",
    )


def test_step_schedule_follows_ctrgcn_warmup_and_milestones():
    sched = from_dict({"sched": {"warmup_epochs": 5, "milestones": [35, 55]}}).sched
    lrs = [
        learning_rate(sched, 0.1, epoch=e, step_in_epoch=0, steps_per_epoch=10, epochs=65)
        for e in (0, 1, 4, 5, 34, 35, 55)
    ]

    assert lrs == pytest.approx([0.02, 0.04, 0.1, 0.1, 0.1, 0.01, 0.001])


def test_cosine_schedule_warms_up_inside_the_cosine_per_step():
    sched = from_dict(
        {"sched": {"name": "cosine", "warmup_epochs": 1, "min_lr": 1e-5, "warmup_lr": 1e-7}}
    ).sched

    def lr(e, i):
        return learning_rate(sched, 1e-3, epoch=e, step_in_epoch=i, steps_per_epoch=4, epochs=10)

    assert lr(0, 0) == pytest.approx(1e-7)
    assert lr(0, 2) == pytest.approx(1e-7 + (1e-3 - 1e-7) / 2)
    assert lr(1, 0) == pytest.approx(1e-5 + 0.5 * (1e-3 - 1e-5) * (1 + 0.9510565163))
    assert lr(9, 3) > 1e-5 and lr(9, 3) < lr(5, 0)

"""`skelab fit` flags: pasting them into `skelab train` gives the config that was fitted."""

from __future__ import annotations

import json
import shlex

from skelab.cli.main import main
from skelab.engine.presets import load_config


def _config_from_flags(flags: str):
    tokens = shlex.split(flags)
    preset, rest = tokens[0], tokens[1:]
    overrides = [rest[i + 1] for i in range(0, len(rest), 2) if rest[i] == "--set"]
    assert all(rest[i] == "--set" for i in range(0, len(rest), 2)), flags
    return load_config(preset, overrides)


def test_fit_window_is_in_the_flags_and_pasting_them_gives_the_same_window(capsys):
    code = main(["fit", "--memory", "8GiB", "--model", "mlp", "--window", "128", "--json"])

    row = json.loads(capsys.readouterr().out)[0]
    assert code == 0
    assert "--set data.window=128" in row["flags"]
    assert _config_from_flags(row["flags"]).data.window == 128


def test_fit_flags_for_a_preset_at_its_own_window_set_nothing_extra(capsys):
    code = main(["fit", "--memory", "8GiB", "--preset", "ntu60-xsub/mlp-joint", "--json"])

    row = json.loads(capsys.readouterr().out)[0]
    assert code == 0
    assert "data.window" not in row["flags"]
    assert (
        _config_from_flags(row["flags"]).to_dict() == load_config("ntu60-xsub/mlp-joint").to_dict()
    )

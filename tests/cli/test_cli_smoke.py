"""`skelab smoke`, run in-process."""

from __future__ import annotations

import json

import pytest

from skelab.bench import smoke
from skelab.cli.main import main


def test_smoke_passes_a_model_and_prints_the_table(capsys):
    code = main(["smoke", "--model", "mlp", "--no-presets"])

    out = capsys.readouterr().out
    assert code == 0
    assert "pass" in out and "peak MiB" in out and "seconds" in out


def test_smoke_exits_1_when_a_case_fails(monkeypatch, capsys):
    def broken(device):
        raise ValueError("bad shape")

    monkeypatch.setattr(smoke, "model_cases", lambda models, presets: {"broken": broken})

    code = main(["smoke", "--model", "mlp", "--json"])

    rows = json.loads(capsys.readouterr().out)
    assert code == 1
    assert rows[0]["result"] == "FAIL" and "ValueError: bad shape" in rows[0]["error"]


@pytest.mark.slow
def test_smoke_passes_every_model_and_preset_option(capsys):
    code = main(["smoke", "--model", "all", "--json"])

    rows = json.loads(capsys.readouterr().out)
    assert code == 0, [r for r in rows if r["result"] != "pass"]

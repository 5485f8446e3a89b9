"""`skelab fit`, run in-process."""

from __future__ import annotations

import json

import pytest

from skelab.cli.main import main


def test_fit_json_rows_have_the_documented_keys(capsys):
    code = main(["fit", "--memory", "8GiB", "--model", "mlp", "--json"])

    rows = json.loads(capsys.readouterr().out)
    assert code == 0
    row = rows[0]
    assert {"model", "preset", "precision", "batch", "forward_batch", "estimated_bytes"} <= set(row)
    assert row["model"] == "mlp" and row["preset"] == "ntu60-xsub/mlp-joint"
    assert row["batch"] > 0 and row["forward_batch"] > 0 and row["estimated_bytes"] > 0
    assert "measured_bytes" not in row


def test_fit_table_names_the_preset_to_use(capsys):
    code = main(["fit", "--memory", "1GiB", "--preset", "ntu60-xsub/mlp-joint"])

    out = capsys.readouterr().out
    assert code == 0
    assert "10% kept as a safety margin" in out and "ntu60-xsub/mlp-joint" in out


def test_fit_rejects_a_budget_that_is_not_a_size(capsys):
    code = main(["fit", "--memory", "lots", "--model", "mlp"])  # refused while parsing

    assert code == 2
    assert "--memory: 'lots' is not a memory size; e.g. 8GiB" in capsys.readouterr().err


def test_fit_measure_needs_cuda(capsys):
    code = main(["fit", "--memory", "8GiB", "--model", "mlp", "--measure", "--device", "cpu"])

    assert code == 2
    assert "--measure" in capsys.readouterr().err


@pytest.mark.slow
def test_fit_answers_every_registered_model(capsys):
    code = main(["fit", "--memory", "8GiB", "--json"])

    rows = json.loads(capsys.readouterr().out)
    assert code == 0
    assert all(r["estimated_bytes"] > 0 for r in rows)

"""Every command that takes a trained model takes a run folder (or a checkpoint) the same way:
`skelab eval RUN`, `export RUN`, `predict RUN`, `viz run RUN`, `ensemble RUN RUN`."""

from __future__ import annotations

import json
import logging

import pytest

from skelab.cli.main import main
from skelab.engine.rundir import RunDir


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


def test_eval_takes_a_run_folder_and_reproduces_its_chosen_epoch(
    trained_runs, tmp_path, capsys, caplog
):
    run = RunDir(trained_runs[0])
    epoch = run.chosen_epoch("best")
    record = next(r for r in run.records() if r["epoch"] == epoch)

    with caplog.at_level(logging.INFO, logger="skelab"):
        code = main(["eval", str(run.path), "--out", str(tmp_path), "--json",
                     "--no-progress"])  # fmt: skip

    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["top1"] == pytest.approx(record["test_top1"])
    assert (
        out["chosen_by"] == f"epoch {epoch}, chosen by best test top-1 (upstream's rule) "
        "(train.select=test)"
    )
    assert f"using checkpoint {run.best}" in caplog.text


def test_eval_checkpoint_last_picks_last_pt(trained_runs, tmp_path, capsys):
    run = RunDir(trained_runs[0])

    code = main(["eval", str(run.path), "--checkpoint", "last", "--out", str(tmp_path),
                 "--json", "--no-progress"])  # fmt: skip

    out = capsys.readouterr()
    assert code == 0 and json.loads(out.out)["weights"] == str(run.last)
    assert json.loads(out.out)["top1"] == pytest.approx(run.records()[-1]["test_top1"])


def test_old_eval_preset_weights_form_still_works_with_one_warning(trained_runs, tmp_path, capsys):
    run = RunDir(trained_runs[0])

    code = main(["eval", str(run.config), "--weights", str(run.best), "--out", str(tmp_path),
                 "--json", "--no-progress"])  # fmt: skip

    out = capsys.readouterr()
    assert code == 0 and json.loads(out.out)["weights"] == str(run.best)
    assert out.err.count("is deprecated") == 1


def test_export_takes_a_run_folder(trained_runs, tmp_path, capsys):
    target = tmp_path / "m.ts.pt"

    code = main(["export", str(trained_runs[0]), "--format", "torchscript", "--out", str(target),
                 "--json"])  # fmt: skip

    assert code == 0 and _json(capsys)["ok"] and target.is_file()


def test_predict_takes_a_run_folder(trained_runs, tiny_data, capsys):
    code = main(["predict", str(trained_runs[0]), str(tiny_data), "--json", "--no-progress"])

    lines = capsys.readouterr().out.splitlines()
    assert code == 0 and len(lines) == 16
    assert len(json.loads(lines[0])["top5"]) == 4  # 4 classes: top-5 holds them all


def test_viz_run_takes_a_run_folder(trained_runs, tmp_path, capsys):
    pytest.importorskip("matplotlib")

    code = main(["viz", "run", str(trained_runs[0]), "--out", str(tmp_path), "--clips", "1",
                 "--json"])  # fmt: skip

    out = _json(capsys)
    assert code == 0 and out["report"] == str(tmp_path / "report.html")
    assert out["epoch"] == RunDir(trained_runs[0]).chosen_epoch()
    assert "train.select=test" in out["chosen_by"]


def test_ensemble_takes_run_folders_and_names_the_rule_that_chose_each_checkpoint(
    trained_runs, capsys
):
    code = main(["ensemble", *map(str, trained_runs), "--search", "--json"])

    out = _json(capsys)
    assert code == 0 and out["weights_from"] == "held-out part of the training split"
    assert [r["select"] for r in out["runs"]] == ["test", "test"]
    assert out["test_chose_checkpoints"] is True
    assert [r["epoch"] for r in out["runs"]] == [RunDir(r).chosen_epoch() for r in trained_runs]


def test_ensemble_summary_warns_when_test_chose_the_checkpoints(trained_runs, capsys):
    code = main(["ensemble", *map(str, trained_runs)])

    text = capsys.readouterr().out
    assert code == 0 and "best test top-1 (upstream's rule) (train.select=test)" in text
    assert "not untouched" in text


def test_ensemble_checkpoint_last_fuses_the_last_epoch(trained_runs, capsys):
    code = main(["ensemble", *map(str, trained_runs), "--checkpoint", "last", "--json"])

    out = _json(capsys)
    assert code == 0 and [r["epoch"] for r in out["runs"]] == [2, 2]
    assert out["test_chose_checkpoints"] is False
    assert all(r["chosen_by"].startswith("last epoch") for r in out["runs"])


def test_fine_tuning_starts_from_a_run_folders_best_checkpoint(trained_runs, tiny_config, caplog):
    from skelab.engine.trainer import Trainer

    cfg = tiny_config(f"train.weights={trained_runs[0]}", "train.epochs=1")

    with caplog.at_level(logging.INFO, logger="skelab"):
        Trainer(cfg, work_dir=None, progress=False).fit()

    assert f"started from {RunDir(trained_runs[0]).best}" in caplog.text

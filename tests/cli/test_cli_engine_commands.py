"""`skelab train / eval / configs / doctor / demo`, run in-process on tiny data."""

from __future__ import annotations

import json

import numpy as np
import pytest

from skelab.cli.main import main
from skelab.engine.metrics import load_scores, read_metrics


@pytest.fixture
def tiny_npz(tmp_path):
    """A 5-D layout NPZ: 4 separable classes, 40 train and 16 test clips of 12 frames."""
    rng = np.random.default_rng(0)

    def split(n):
        y = np.arange(n) % 4
        x = 0.2 * rng.standard_normal((n, 3, 12, 25, 2)).astype(np.float32)
        x[:, 0] += (y - 1.5)[:, None, None, None]
        return x, y.astype(np.int64)

    (xtr, ytr), (xte, yte) = split(40), split(16)
    path = tmp_path / "tiny.npz"
    np.savez(path, x_train=xtr, y_train=ytr, x_test=xte, y_test=yte, num_classes=np.int64(4))
    return path


@pytest.fixture
def tiny_yaml(tmp_path, tiny_npz):
    path = tmp_path / "tiny.yaml"
    path.write_text(
        "extends: ntu60-xsub/mlp-joint\n"
        "model:\n  options: {segments: 2, hidden: [16]}\n"
        f"data:\n  path: {tiny_npz}\n  num_classes: 4\n  window: 8\n"
        "train:\n  epochs: 2\n  batch_size: 8\n  test_batch_size: 8\n  device: cpu\n"
    )
    return path


def test_train_then_eval_reproduces_the_training_scores(tmp_path, tiny_yaml, capsys):
    run = tmp_path / "run"

    assert main(["train", str(tiny_yaml), "--work-dir", str(run), "--no-progress"]) == 0
    assert (
        main(
            [
                "eval",
                str(run / "config.yaml"),
                "--weights",
                str(run / "checkpoints/last.pt"),
                "--no-progress",
                "--json",
            ]
        )
        == 0
    )

    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    evaluated = load_scores(out["scores"])
    saved = load_scores(run / "scores/epoch_2_test.npz")
    np.testing.assert_array_equal(evaluated["scores"], saved["scores"])
    np.testing.assert_array_equal(evaluated["index"], saved["index"])
    assert out["top1"] == pytest.approx(read_metrics(run)[-1]["test_top1"])


def test_train_resume_continues_to_more_epochs(tmp_path, tiny_yaml):
    run = tmp_path / "run"
    main(["train", str(tiny_yaml), "--work-dir", str(run), "--no-progress"])

    code = main(
        [
            "train",
            str(tiny_yaml),
            "--work-dir",
            str(run),
            "--resume",
            "--no-progress",
            "--set",
            "train.epochs=3",
        ]
    )

    assert code == 0 and [r["epoch"] for r in read_metrics(run)] == [1, 2, 3]


def test_train_with_a_bad_override_exits_2_with_the_fix(tiny_yaml, capsys):
    code = main(["train", str(tiny_yaml), "--set", "optim.learning_rate=0.1"])

    err = capsys.readouterr().err
    assert code == 2
    assert "optim.learning_rate: unknown key" in err and "fix:" in err


def test_train_without_data_path_says_how_to_set_it(capsys):
    code = main(
        ["train", "ntu60-xsub/mlp-joint", "--set", "data.path=", "--set", "train.device=cpu"]
    )

    assert code == 2 and "--set data.path=" in capsys.readouterr().err


def test_configs_lists_presets_with_descriptions(capsys):
    assert main(["configs", "--filter", "ntu60-xsub/stgcn-lite"]) == 0

    out = capsys.readouterr().out
    assert "ntu60-xsub/stgcn-lite-bone-motion" in out and "ST-GCN-lite" in out


def test_configs_show_prints_the_resolved_yaml(capsys):
    assert main(["configs", "show", "ntu60-xsub/stgcn-joint", "--set", "optim.lr=0.05"]) == 0

    out = capsys.readouterr().out
    assert "lr: 0.05" in out and "milestones: [10, 50]" in out and "extends" not in out


def test_doctor_reports_versions_and_extras(capsys):
    assert main(["doctor", "--json"]) == 0

    report = json.loads(capsys.readouterr().out)
    assert report["torch"] and report["cpu_cores"] >= 1
    assert "tensorboard" in report["extras"]


def test_doctor_advertises_only_features_whose_modules_import():
    import importlib

    from skelab.apps.doctor import OPTIONAL, optional_features

    advertised = optional_features()

    for package, (_extra, text) in advertised.items():
        for module, feature in OPTIONAL[package][1]:
            if feature in text:
                importlib.import_module(module)  # raises if the report points at missing code


def test_doctor_does_not_advertise_a_feature_whose_module_is_missing(monkeypatch):
    from skelab.apps import doctor

    monkeypatch.setitem(doctor.OPTIONAL, "yaml", ("ghost", (("skelab.no_such_module", "x"),)))

    assert "yaml" not in doctor.optional_features()
    assert "yaml" not in doctor.environment_report()["extras"]


def test_doctor_says_whether_the_compiled_cpu_kernels_can_run(monkeypatch, tmp_path):
    from skelab.apps import doctor

    monkeypatch.setenv("SKELAB_CACHE", str(tmp_path))
    report = doctor.environment_report()
    assert report["cpu_kernels"]["built"] == []  # an empty cache: nothing built yet
    assert "window_attention" in report["cpu_kernels"]["kernels"]
    assert "CPU kernels" in doctor.report_text(report)

    monkeypatch.setenv("SKELAB_NATIVE", "0")
    assert "SKELAB_NATIVE=0" in doctor.report_text(doctor.environment_report())


@pytest.mark.slow  # four tiny trainings, about 15 s on 2 cores
def test_train_streams_all_trains_each_stream_then_fuses_on_held_out_samples(
    tmp_path, tiny_npz, capsys
):
    sets = [
        f"data.path={tiny_npz}",
        "data.num_classes=4",
        "data.window=8",
        "model.options={segments: 2, hidden: [16]}",
        "train.epochs=1",
        "train.batch_size=8",
        "train.test_batch_size=8",
        "train.device=cpu",
    ]
    run = tmp_path / "run"  # tmp_path holds the data
    args = ["train", "ntu60-xsub/mlp-joint", "--streams", "all", "--out", str(run)]

    assert main([*args, *[a for s in sets for a in ("--set", s)], "--no-progress"]) == 0

    out = capsys.readouterr().out
    streams = ["joint", "bone", "joint-motion", "bone-motion"]
    for stream in streams:
        assert (run / stream / "scores/epoch_1_holdout.npz").is_file()
        assert (
            f"modality: {stream.replace('joint-', '').replace('-', '_')}"
            in (run / stream / "config.yaml").read_text()
        )
    assert "fused 4 streams" in out and "not on the test split" in out


def test_eval_observe_at_1_equals_plain_eval_and_draws_the_curve(tmp_path, tiny_yaml, capsys):
    run = tmp_path / "run"
    main(
        [
            "train",
            str(tiny_yaml),
            "--work-dir",
            str(run),
            "--no-progress",
            "--set",
            "train.epochs=1",
        ]
    )
    weights = str(run / "checkpoints/last.pt")
    base = ["eval", str(run / "config.yaml"), "--weights", weights, "--no-progress", "--json"]
    capsys.readouterr()

    assert main(base) == 0
    plain = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert main([*base, "--observe", "0.25,1.0"]) == 0
    early = json.loads(capsys.readouterr().out.strip().splitlines()[-1])

    assert [r["observe"] for r in early["observe"]] == [0.25, 1.0]
    assert early["observe"][1]["top1"] == plain["top1"]
    assert early["observe"][1]["top5"] == plain["top5"]
    png = run / "early_action_last.png"
    assert early["curve"] == str(png) and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_eval_observe_rejects_a_ratio_above_one(tmp_path, tiny_yaml, capsys):
    code = main(["eval", str(tiny_yaml), "--weights", str(tmp_path / "w.pt"), "--observe", "1.5"])

    assert code == 2 and "--observe: ratios must be in (0, 1]" in capsys.readouterr().err

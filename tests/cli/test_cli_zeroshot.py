"""`skelab zeroshot ...` in-process: the tiny end-to-end run, its JSON, and stage resume."""

from __future__ import annotations

import json

import pytest

from skelab.cli.main import main

TINY_BACKBONE = [
    "--config", "ntu60-xsub/mlp-joint",
    "--set", "train.epochs=1", "--set", "train.device=cpu", "--set", "data.window=8",
    "--set", "model.options.hidden=[16]", "--set", "train.batch_size=32",
]  # fmt: skip
TINY_VAE = [
    "--cycles", "2", "--steps-per-cycle", "5", "--text-mode", "lb", "--text-encoder", "npy",
    "--method-set", "latent=8", "--method-set", "cls_samples=10", "--method-set", "cls_steps=10",
    "--no-progress", "--json",
]  # fmt: skip


@pytest.fixture(scope="module")
def tiny_npz(tmp_path_factory):
    path = tmp_path_factory.mktemp("zs") / "tiny.npz"
    code = main(["data", "synth", "--out", str(path), "--classes", "60", "--train", "120",
                 "--test", "60", "--frames", "30", "--seed", "1"])  # fmt: skip
    assert code == 0
    return path


@pytest.fixture
def lb_dir(tmp_path):
    """Class-name text features: a one-hot row per class is enough to exercise the pipeline."""
    import numpy as np

    np.save(tmp_path / "lb_60.npy", np.eye(60, dtype=np.float32))
    return tmp_path


def test_zeroshot_run_end_to_end_writes_json_and_resumes(tiny_npz, lb_dir, tmp_path, capsys):
    work = tmp_path / "work"
    argv = ["zeroshot", "run", "--method", "fsvae", "--split", "ntu60-55/5",
            "--work-dir", str(work), "--text-dir", str(lb_dir), *TINY_VAE,
            *TINY_BACKBONE, "--set", f"data.path={tiny_npz}"]  # fmt: skip

    assert main(argv) == 0
    first = json.loads(capsys.readouterr().out)
    stamps = {p: p.stat().st_mtime_ns for p in work.rglob("*.npy")} | {
        p: p.stat().st_mtime_ns for p in work.rglob("cycle_*.npz")
    }
    assert main(argv) == 0
    second = json.loads(capsys.readouterr().out)

    assert {"zsl", "seen", "unseen", "h", "upstream", "cycles"} <= set(first)
    assert set(first["upstream"]) == {"zsl", "seen", "unseen", "h"}
    assert len(first["cycles"]) == 2 and all(0.0 <= c <= 1.0 for c in first["cycles"])
    assert (work / "features/shift_5_r/gtest_out.npy").is_file()
    assert (work / "features/shift_val_5_r/val_out.npy").is_file()
    assert second["zsl"] == first["zsl"] and second["h"] == first["h"]
    assert all(p.stat().st_mtime_ns == t for p, t in stamps.items())  # every stage skipped


def test_zeroshot_run_on_existing_features_folder(tiny_npz, lb_dir, tmp_path, capsys):
    feats = tmp_path / "feats"
    assert main(["zeroshot", "features", "ntu60-xsub/mlp-joint", "--split", "ntu60-55/5",
                 "--out", str(feats), "--no-progress", "--json",
                 *TINY_BACKBONE[2:], "--set", f"data.path={tiny_npz}"]) == 0  # fmt: skip
    sizes = json.loads(capsys.readouterr().out)

    work = tmp_path / "w"
    code = main(["zeroshot", "run", "--method", "msf", "--features", str(feats),
                 "--work-dir", str(work), "--text-dir", str(lb_dir), *TINY_VAE])  # fmt: skip

    assert code == 0
    assert sizes[str(feats / "shift_5_r")]["gtest"] == 60
    assert json.loads(capsys.readouterr().out)["options"]["method"] == "msf"


def test_zeroshot_run_without_features_or_config_is_a_usage_error(tmp_path, capsys):
    code = main(["zeroshot", "run", "--work-dir", str(tmp_path)])

    err = capsys.readouterr().err
    assert code == 2 and "--config" in err and "fix:" in err


def test_zeroshot_text_reads_the_lab_clip_features(real_data_dir, capsys):
    text_dir = real_data_dir / "zeroshot" / "text_feats" / "ViT-B" / "32"

    code = main(["zeroshot", "text", "--encoder", "npy", "--text-dir", str(text_dir), "--json"])

    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["table"]["shape"] == [60, 1536]
    assert out["parts"]["lb"]["mean_norm"] > 5  # raw CLIP projections, not normalised


def test_zeroshot_help_texts_have_examples(capsys):
    for action in ("run", "features", "text"):
        assert main(["zeroshot", action, "--help"]) == 0
        assert "example:" in capsys.readouterr().out
